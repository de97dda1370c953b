//! The store under concurrent writers: never `database is locked`, nothing lost, and
//! counters exact — within one process and across two handles on one database.

mod support;

use gatehouse::domain::model::Client;
use gatehouse::store::Store;
use support::{DbKind, TestDb};

both_dbs!(concurrent_writers_from_two_handles_lose_nothing);

async fn concurrent_writers_from_two_handles_lose_nothing(db: DbKind) {
    let test_db = TestDb::create(db).await;
    let a = Store::open(&test_db.url).await.unwrap();
    let b = Store::open(&test_db.url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store.hit_rate_counter("shared-bucket", 1_000).await?;
            let client = Client::new(format!("client_{i}"), format!("hash_{i}"), 1_000);
            store.insert_client(&client).await?;
            Ok::<_, gatehouse::store::StoreError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("no write fails under contention");
    }
    let hits = a.hit_rate_counter("shared-bucket", 1_000).await.unwrap();
    assert_eq!(hits, 201, "every increment counted exactly once");
    for i in [0, 99, 199] {
        assert!(b
            .client_by_token_hash(&format!("hash_{i}"))
            .await
            .unwrap()
            .is_some());
    }
    a.close().await;
    b.close().await;
}
