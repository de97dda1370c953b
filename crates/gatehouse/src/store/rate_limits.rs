//! Fixed-window rate counters in the database, so every process of an instance shares them.

use super::{Store, StoreResult};

impl Store {
    /// Counts one hit in `bucket` for the window starting at `window_start`; returns the
    /// hits in that window including this one. One atomic upsert.
    pub async fn hit_rate_counter(&self, bucket: &str, window_start: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
             hits = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.hits + 1 ELSE 1 END, \
             window_start = excluded.window_start \
             RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(self.writer())
        .await?)
    }

    /// Drops counters whose window ended before `before` (housekeeping).
    pub async fn prune_rate_counters(&self, before: i64) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(r.rows_affected())
    }
}
