//! Signing algorithms, key rotation, and secrets at rest.

mod support;

use sqlx::Row;
use support::{claims, verify_with_node_jose, DbKind, TestServer, PASSWORD};

both_dbs!(
    es256_and_eddsa_tokens_verify_with_jose,
    rotation_publishes_both_keys_and_signs_with_the_new_one,
    secrets_are_stored_hashed_or_sealed,
);

async fn es256_and_eddsa_tokens_verify_with_jose(db: DbKind) {
    for (alg, kty) in [("ES256", "EC"), ("EdDSA", "OKP")] {
        let toml = format!(
            "{}[tokens]\nalgorithm = \"{alg}\"\n",
            support::DEFAULT_TEST_TOML
        );
        let server = TestServer::start_with(db, &toml).await;
        let browser = server.browser();
        let (user, session) = browser.sign_up("alg@example.com", PASSWORD).await;
        let jwt = browser.mint(&session).await.body["jwt"]
            .as_str()
            .unwrap()
            .to_string();
        let verified =
            verify_with_node_jose(&server, &jwt).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified["header"]["alg"], alg);
        assert_eq!(verified["claims"]["sub"], user.as_str());
        let jwks: serde_json::Value =
            reqwest::get(format!("{}/.well-known/jwks.json", server.public_url))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(jwks["keys"][0]["kty"], kty);
        assert_eq!(jwks["keys"][0]["alg"], alg);
        assert!(
            jwks["keys"][0].get("d").is_none(),
            "no private parts in the JWKS"
        );
        server.stop().await;
    }
}

async fn rotation_publishes_both_keys_and_signs_with_the_new_one(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (_, session) = browser.sign_up("rotate@example.com", PASSWORD).await;
    let old_jwt = browser.mint(&session).await.body["jwt"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kid = gatehouse::crypto::jws::decode_unverified(&old_jwt)
        .unwrap()
        .0
        .kid
        .clone()
        .unwrap();

    let app = &server.app;
    let keep = gatehouse::cli::keep_previous_key_ms(&app.config);
    let new_kid = gatehouse::domain::keys::rotate(
        &app.store,
        &app.master_key,
        app.config.tokens.algorithm,
        app.now(),
        keep,
    )
    .await
    .unwrap();
    assert_ne!(new_kid, old_kid);
    // Every process re-reads keys every few seconds; wait for this one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let new_jwt = loop {
        let jwt = browser.mint(&session).await.body["jwt"]
            .as_str()
            .unwrap()
            .to_string();
        if gatehouse::crypto::jws::decode_unverified(&jwt)
            .unwrap()
            .0
            .kid
            .as_deref()
            == Some(new_kid.as_str())
        {
            break jwt;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new key not used within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let jwks: serde_json::Value =
        reqwest::get(format!("{}/.well-known/jwks.json", server.public_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![new_kid.as_str(), old_kid.as_str()],
        "newest first, previous still published"
    );
    // Tokens in flight keep verifying; new ones verify too.
    verify_with_node_jose(&server, &old_jwt).expect("old token still verifies");
    verify_with_node_jose(&server, &new_jwt).expect("new token verifies");
    assert_eq!(claims(&new_jwt)["sid"], session.as_str());

    // After the publish window the previous key leaves the JWKS.
    server.clock.advance(keep + 1000);
    app.keys
        .refresh(&app.store, &app.master_key, app.now())
        .await
        .unwrap();
    let jwks: serde_json::Value = reqwest::get(format!("{}/v1/jwks", server.admin_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or_default();
    let r = server.admin().get("/v1/jwks").await;
    assert_eq!(r.status, 200);
    let kids: Vec<String> = r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids, vec![new_kid.clone()]);
    assert!(
        jwks.get("keys").is_none(),
        "the Backend API JWKS needs the secret key"
    );
    server.stop().await;
}

async fn secrets_are_stored_hashed_or_sealed(db: DbKind) {
    let server = TestServer::start(db).await;
    let browser = server.browser();
    let (_, session) = browser.sign_up("atrest@example.com", PASSWORD).await;
    browser.mint(&session).await;
    let cookie = browser.cookie("__client").unwrap();
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&server.db.url)
        .await
        .unwrap();

    let hashes: Vec<String> = sqlx::query("SELECT token_hash FROM clients")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        !hashes.iter().any(|h| h.contains(&cookie)),
        "client cookie values are stored hashed"
    );
    assert!(hashes.contains(&gatehouse::crypto::digest::token_hash(&cookie)));

    let keys: Vec<String> = sqlx::query("SELECT key_hash FROM secret_keys")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        !keys.iter().any(|k| k.contains(&server.secret_key)),
        "secret keys are stored hashed"
    );

    let digest: String = sqlx::query("SELECT password_digest FROM users")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert!(
        digest.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{digest}"
    );
    assert!(!digest.contains(PASSWORD));

    let row = sqlx::query("SELECT kid, sealed_private_key FROM signing_keys")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let kid: String = row.get(0);
    let sealed: String = row.get(1);
    use base64::Engine;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .unwrap();
    let der = server
        .app
        .master_key
        .open(&sealed, kid.as_bytes())
        .expect("sealed with the master key, bound to its kid");
    assert!(gatehouse::crypto::jws::SigningKey::from_pkcs8(
        server.app.config.tokens.algorithm,
        kid.clone(),
        &der
    )
    .is_ok());
    assert!(
        !sealed
            .windows(der.len().min(64))
            .any(|w| w == &der[..der.len().min(64)]),
        "no plaintext key material"
    );
    let other = gatehouse::crypto::sealed::MasterKey::generate();
    assert!(
        other.open(&sealed, kid.as_bytes()).is_err(),
        "another master key cannot open it"
    );
    assert!(server.app.master_key.open(&sealed, b"another kid").is_err());
    server.stop().await;
}
