//! The store under concurrent writers: never `database is locked`, nothing lost, and
//! counters exact — within one process and across two handles on one database. Write
//! batches commit all their statements or none.

mod support;

use gatehouse::domain::model::{Client, SignInAttempt};
use gatehouse::store::{Batch, Store, StoreError};
use support::{DbKind, TestDb};

both_dbs!(
    concurrent_writers_from_two_handles_lose_nothing,
    a_batch_commits_all_its_writes_or_none
);

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

/// A sign-in attempt of `client_id` with `status`.
fn attempt(id: &str, client_id: &str, status: &str) -> SignInAttempt {
    SignInAttempt {
        id: id.into(),
        client_id: client_id.into(),
        status: status.into(),
        identifier: Some("ada@example.com".into()),
        user_id: None,
        first_factor: None,
        second_factor: None,
        created_session_id: None,
        abandon_at: 9_000,
        created_at: 1_000,
        updated_at: 1_000,
        first_factor_at: None,
    }
}

async fn client_exists(store: &Store, id: &str) -> bool {
    store.client_by_id(id).await.unwrap().is_some()
}

async fn a_batch_commits_all_its_writes_or_none(db: DbKind) {
    let test_db = TestDb::create(db).await;
    let store = Store::open(&test_db.url).await.unwrap();
    let client = |id: &str| Client::new(id.into(), format!("hash_{id}"), 1_000);

    // Every statement lands, visible to reads at once.
    let mut batch = Batch::default();
    store
        .insert_client_tx(&mut batch, &client("client_a"))
        .await
        .unwrap();
    let done = attempt("sia_1", "client_a", "complete");
    store
        .save_completing_sign_in_tx(&mut batch, &done)
        .await
        .unwrap();
    store.commit_batch(batch).await.unwrap();
    assert!(client_exists(&store, "client_a").await);
    let stored = store
        .get_sign_in("sia_1")
        .await
        .unwrap()
        .expect("attempt stored");
    assert_eq!(stored.status, "complete");
    assert_eq!(stored.identifier.as_deref(), Some("ada@example.com"));
    assert_eq!(stored.abandon_at, 9_000);

    // A unique violation is a Conflict and takes the batch's earlier writes with it.
    let mut batch = Batch::default();
    store
        .insert_client_tx(&mut batch, &client("client_b"))
        .await
        .unwrap();
    store
        .insert_client_tx(&mut batch, &client("client_a"))
        .await
        .unwrap();
    let err = store.commit_batch(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
    assert!(!client_exists(&store, "client_b").await, "rolled back");

    // A write that must change a row and changes none rolls the batch back too: an
    // attempt that is complete already cannot be completed again.
    let mut batch = Batch::default();
    store
        .insert_client_tx(&mut batch, &client("client_c"))
        .await
        .unwrap();
    let again = attempt("sia_1", "client_a", "complete");
    store
        .save_completing_sign_in_tx(&mut batch, &again)
        .await
        .unwrap();
    let err = store.commit_batch(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Unchanged), "got {err:?}");
    assert!(!client_exists(&store, "client_c").await, "rolled back");

    // Saving a complete attempt outside a completion is a no-op, not an error.
    let mut batch = Batch::default();
    store
        .save_sign_in_tx(
            &mut batch,
            &attempt("sia_1", "client_a", "needs_first_factor"),
        )
        .await
        .unwrap();
    store.commit_batch(batch).await.unwrap();
    let stored = store.get_sign_in("sia_1").await.unwrap().unwrap();
    assert_eq!(
        stored.status, "complete",
        "a complete attempt never changes"
    );

    // An empty batch commits nothing and succeeds.
    store.commit_batch(Batch::default()).await.unwrap();
    store.close().await;
}
