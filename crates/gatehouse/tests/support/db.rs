//! Fresh databases per test: a SQLite file in a temporary directory, or a PostgreSQL
//! database created on the shared server and dropped afterwards (even when the test fails).

use sqlx::{Connection, Executor, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("GATEHOUSE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether PostgreSQL tests can run. Without a server the test is skipped loudly — or,
/// with `GATEHOUSE_TEST_REQUIRE_POSTGRES=1` (as in CI), fails.
pub async fn postgres_available(test: &str) -> bool {
    match PgConnection::connect(&postgres_admin_url()).await {
        Ok(c) => {
            let _ = c.close().await;
            true
        }
        Err(e) => {
            if std::env::var("GATEHOUSE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!(
                    "PostgreSQL is required but not reachable at {}: {e}",
                    postgres_admin_url()
                );
            }
            eprintln!(
                "SKIPPED ({test}): PostgreSQL not reachable at {}: {e}",
                postgres_admin_url()
            );
            false
        }
    }
}

pub struct TestDb {
    pub kind: DbKind,
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn create(kind: DbKind) -> TestDb {
        match kind {
            DbKind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("gatehouse.db").display()
                );
                TestDb {
                    kind,
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            DbKind::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                let name = format!(
                    "gh_test_{}_{}",
                    std::process::id(),
                    gatehouse::crypto::random::random_base62(10).to_lowercase()
                );
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create database");
                let _ = conn.close().await;
                let mut url: url::Url = admin.parse().unwrap();
                url.set_path(&format!("/{name}"));
                TestDb {
                    kind,
                    url: url.to_string(),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin_url();
        // Drop runs outside any async context we can borrow: use a small runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}
