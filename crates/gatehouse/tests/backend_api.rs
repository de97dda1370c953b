//! The Backend API on SQLite and on PostgreSQL: listing and searching users,
//! creating them (also from password digests imported from other systems, rehashed to
//! argon2id at the first sign-in), reading, updating, deleting, metadata merges, ban and
//! lock, password checks, sessions and server-side tokens, the JWKS, uniqueness of
//! identifiers, and the sign-in protections (lockout, enumeration).

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{assert_error_shape, claims, shape, DbKind, Resp, TestServer, PASSWORD};

both_dbs!(
    list_users_search_filters_order_and_pages,
    create_user_with_every_field,
    imported_password_digests_sign_in_and_are_rehashed,
    malformed_password_digests_are_refused,
    get_update_and_delete_users,
    metadata_patch_deep_merges_and_null_removes,
    ban_unban_lock_unlock,
    verify_password_answers_true_or_false,
    sessions_list_get_revoke_and_mint,
    backend_jwks_equals_public_jwks,
    private_metadata_never_reaches_the_frontend_api,
    unique_identifiers_are_422_never_500,
    emails_are_trimmed_and_case_insensitive,
    invalid_identifier_values_are_422_with_param_name,
    unknown_ids_are_404,
    lockout_after_consecutive_failed_passwords,
    admin_unlock_clears_a_failed_password_lockout,
    enumeration_protection_makes_unknown_identifiers_indistinguishable,
    unknown_identifier_without_protection_is_identifier_not_found,
);

const MINUTE: i64 = 60_000;

// ---------------------------------------------------------------------------------------
// Helpers

#[track_caller]
fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.error_code(), code, "{}", r.body);
    assert_error_shape(&r.body);
}

#[track_caller]
fn assert_param_error(r: &Resp, code: &str, param: &str) {
    assert_error(r, 422, code);
    assert_eq!(
        r.body["errors"][0]["meta"]["param_name"], param,
        "{}",
        r.body
    );
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

async fn create(server: &TestServer, body: Value) -> Value {
    let r = server.admin().post("/v1/users", body.clone()).await;
    assert_eq!(r.status, 200, "create {body}: {}", r.body);
    r.body
}

/// The stored row of a user, read straight from the database.
async fn stored(server: &TestServer, id: &str) -> gatehouse::domain::model::User {
    server
        .app
        .store
        .get_user(id)
        .await
        .unwrap()
        .expect("user row")
        .user
}

fn is_id(v: &Value, prefix: &str) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix(prefix))
        .and_then(|s| s.strip_prefix('_'))
        .is_some_and(|rest| rest.len() == 27 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

// ---------------------------------------------------------------------------------------
// Users: list, search, filters, order, pages

async fn list_users_search_filters_order_and_pages(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let mut made = Vec::new();
    for body in [
        json!({"email_address": ["alice@example.com"], "username": "alice_w", "first_name": "Alice", "last_name": "Walker"}),
        json!({"email_address": ["bob@example.org"], "username": "bobby", "first_name": "Robert", "last_name": "Smith"}),
        json!({"email_address": ["carol@example.com"], "username": "axb", "first_name": "Carol"}),
        json!({"phone_number": ["+14155550123"], "first_name": "Dan"}),
    ] {
        made.push(
            create(&server, body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        server.clock.advance(1000);
    }
    let [alice, bob, carol, dan] = [0, 1, 2, 3].map(|i| made[i].as_str());
    let upper_alice = alice.to_uppercase();

    // Default: newest first, 10 per page, with the total.
    let r = admin.get("/v1/users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total_count"], 4);
    assert_eq!(ids(&r.body), [dan, carol, bob, alice]);
    assert!(r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["object"] == "user"));
    for order in ["-created_at", "created_at", "+created_at"] {
        let r = admin
            .get(&format!("/v1/users?order_by={}", order.replace('+', "%2B")))
            .await;
        assert_eq!(r.status, 200, "{order}: {}", r.body);
        let expected = if order.starts_with('-') {
            vec![dan, carol, bob, alice]
        } else {
            vec![alice, bob, carol, dan]
        };
        assert_eq!(ids(&r.body), expected, "{order}");
    }

    // Pages.
    let r = admin.get("/v1/users?limit=2").await;
    assert_eq!(ids(&r.body), [dan, carol]);
    assert_eq!(r.body["total_count"], 4);
    let r = admin.get("/v1/users?limit=2&offset=2").await;
    assert_eq!(ids(&r.body), [bob, alice]);
    let r = admin.get("/v1/users?limit=3&offset=3").await;
    assert_eq!(ids(&r.body), [alice]);
    let r = admin.get("/v1/users?offset=10").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"], json!([]));
    assert_eq!(r.body["total_count"], 4);
    assert_eq!(admin.get("/v1/users?limit=500").await.status, 200);
    assert_eq!(
        admin.get("/v1/users?limit=1").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for bad in [
        "limit=501",
        "limit=100000",
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=99999999999999999999",
    ] {
        assert_param_error(
            &admin.get(&format!("/v1/users?{bad}")).await,
            "form_param_format_invalid",
            "limit",
        );
    }
    for bad in ["offset=-1", "offset=x"] {
        assert_param_error(
            &admin.get(&format!("/v1/users?{bad}")).await,
            "form_param_format_invalid",
            "offset",
        );
    }
    for bad in [
        "bogus",
        "-password_digest",
        "created_at;DROP TABLE users",
        "--created_at",
    ] {
        let r = admin
            .get(&format!("/v1/users?order_by={}", urlencode(bad)))
            .await;
        assert_param_error(&r, "form_param_format_invalid", "order_by");
    }

    // `query` matches email, username, first and last name, phone and id; case-insensitively.
    let search = |q: &str| format!("/v1/users?query={}", urlencode(q));
    for (q, expected) in [
        ("walker", vec![alice]),
        ("WALKER", vec![alice]),
        ("EXAMPLE.COM", vec![carol, alice]),
        ("bob", vec![bob]),
        ("robert", vec![bob]),
        ("4155550123", vec![dan]),
        (alice, vec![alice]),
        (upper_alice.as_str(), vec![alice]),
        // LIKE wildcards are literal: `a_b` does not match the username `axb`.
        ("a_b", vec![]),
        ("%", vec![]),
        ("nobody-at-all", vec![]),
    ] {
        let r = admin.get(&search(q)).await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(ids(&r.body), expected, "query={q}");
        assert_eq!(r.body["total_count"], expected.len(), "query={q}");
    }
    let r = admin.get(&format!("{}&limit=1", search("example"))).await;
    assert_eq!(ids(&r.body), [carol]);
    assert_eq!(r.body["total_count"], 3);

    // Exact filters, several values separated by commas, combined with AND.
    for (filter, expected) in [
        ("email_address=ALICE%40example.com", vec![alice]),
        ("email_address=%20alice%40example.com%20", vec![alice]),
        (
            "email_address=alice%40example.com,bob%40example.org",
            vec![bob, alice],
        ),
        ("username=BOBBY", vec![bob]),
        ("username=bobby,alice_w", vec![bob, alice]),
        ("email_address=alice%40example.com&username=bobby", vec![]),
        (
            "email_address=alice%40example.com&username=alice_w",
            vec![alice],
        ),
        ("email_address=nobody%40example.com", vec![]),
        ("username=bob", vec![]),
    ] {
        let r = admin.get(&format!("/v1/users?{filter}")).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(ids(&r.body), expected, "{filter}");
        assert_eq!(r.body["total_count"], expected.len(), "{filter}");
    }
    let r = admin.get("/v1/users?email_address=not-an-email").await;
    assert_param_error(&r, "form_param_format_invalid", "email_address");

    // Ordering by username: users without one come last in both directions, on both databases.
    let r = admin.get("/v1/users?order_by=username").await;
    assert_eq!(ids(&r.body), [alice, carol, bob, dan]);
    let r = admin.get("/v1/users?order_by=-username").await;
    assert_eq!(ids(&r.body), [bob, carol, alice, dan]);

    // last_sign_in_at: after Bob signs in he is first, newest sign-in first.
    server
        .admin()
        .patch(&format!("/v1/users/{bob}"), json!({"password": PASSWORD}))
        .await;
    server.browser().sign_in("bob@example.org", PASSWORD).await;
    let r = admin
        .get("/v1/users?order_by=-last_sign_in_at&limit=1")
        .await;
    assert_eq!(ids(&r.body), [bob]);
    server.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------
// Users: create

async fn create_user_with_every_field(db: DbKind) {
    let server = TestServer::start(db).await;
    let before = server.app.now();
    let u = create(
        &server,
        json!({
            "email_address": ["ada@example.com", "ada.lovelace@example.org"],
            "phone_number": ["+44 20 7946 0958"],
            "username": "Ada_L",
            "password": PASSWORD,
            "first_name": "  Ada ",
            "last_name": "Lovelace",
            "public_metadata": {"role": "admin", "nested": {"a": [1, 2]}},
            "private_metadata": {"stripe_id": "cus_123"},
            "unsafe_metadata": {"theme": "dark"},
        }),
    )
    .await;
    assert_eq!(u["object"], "user");
    assert!(is_id(&u["id"], "user"), "{}", u["id"]);
    for field in [
        "id",
        "username",
        "first_name",
        "last_name",
        "primary_email_address_id",
        "primary_phone_number_id",
        "email_addresses",
        "phone_numbers",
        "external_accounts",
        "saml_accounts",
        "password_enabled",
        "totp_enabled",
        "backup_code_enabled",
        "two_factor_enabled",
        "public_metadata",
        "private_metadata",
        "unsafe_metadata",
        "banned",
        "locked",
        "lockout_expires_in_seconds",
        "last_sign_in_at",
        "last_active_at",
        "created_at",
        "updated_at",
    ] {
        assert!(u.get(field).is_some(), "user lacks {field}: {u}");
    }
    assert_eq!(u["username"], "Ada_L");
    assert_eq!(u["first_name"], "Ada");
    assert_eq!(u["last_name"], "Lovelace");
    assert_eq!(u["password_enabled"], true);
    assert_eq!(u["two_factor_enabled"], false);
    assert_eq!(u["totp_enabled"], false);
    assert_eq!(u["backup_code_enabled"], false);
    assert_eq!(u["banned"], false);
    assert_eq!(u["locked"], false);
    assert_eq!(u["lockout_expires_in_seconds"], Value::Null);
    assert_eq!(u["last_sign_in_at"], Value::Null);
    assert_eq!(
        u["public_metadata"],
        json!({"role": "admin", "nested": {"a": [1, 2]}})
    );
    assert_eq!(u["private_metadata"], json!({"stripe_id": "cus_123"}));
    assert_eq!(u["unsafe_metadata"], json!({"theme": "dark"}));
    assert_eq!(u["external_accounts"], json!([]));
    assert_eq!(u["saml_accounts"], json!([]));
    assert!(u["created_at"].as_i64().unwrap() >= before);
    assert_eq!(u["created_at"], u["updated_at"]);

    let emails = u["email_addresses"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0]["object"], "email_address");
    assert!(is_id(&emails[0]["id"], "idn"), "{}", emails[0]);
    // (The order of the list is not specified; the first address given is the primary one.)
    let ada = emails
        .iter()
        .find(|e| e["email_address"] == "ada@example.com")
        .expect("first address");
    assert!(emails
        .iter()
        .any(|e| e["email_address"] == "ada.lovelace@example.org"));
    assert_eq!(u["primary_email_address_id"], ada["id"]);
    // Email addresses created through the Backend API are verified.
    for e in emails {
        assert_eq!(e["verification"]["status"], "verified", "{e}");
        assert!(e["linked_to"].is_array());
    }
    let phones = u["phone_numbers"].as_array().unwrap();
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0]["object"], "phone_number");
    assert_eq!(phones[0]["phone_number"], "+442079460958");
    assert_eq!(u["primary_phone_number_id"], phones[0]["id"]);

    // The created user is durable and signs in with the password, by email or username.
    let r = server
        .admin()
        .get(&format!("/v1/users/{}", u["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, u);
    server
        .browser()
        .sign_in("ada.lovelace@example.org", PASSWORD)
        .await;
    server.browser().sign_in("ada_l", PASSWORD).await;

    // Minimal users: one identifier of any kind, no password.
    for body in [
        json!({"email_address": ["min@example.com"]}),
        json!({"phone_number": ["+14155550199"]}),
        json!({"username": "only_a_name"}),
    ] {
        let u = create(&server, body.clone()).await;
        assert_eq!(u["password_enabled"], false, "{body}");
        assert_eq!(u["public_metadata"], json!({}));
        assert_eq!(u["private_metadata"], json!({}));
        assert_eq!(u["unsafe_metadata"], json!({}));
    }
    // No identifier at all.
    let r = server
        .admin()
        .post("/v1/users", json!({"first_name": "Nobody"}))
        .await;
    assert_error(&r, 422, "form_param_missing");
    let r = server.admin().post("/v1/users", json!({})).await;
    assert_error(&r, 422, "form_param_missing");

    // Password policy: too short always; weak or breached unless skipped.
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["p1@example.com"], "password": "short"}),
        )
        .await;
    assert_param_error(&r, "form_password_length_too_short", "password");
    let r = server
        .admin()
        .post("/v1/users", json!({"email_address": ["p2@example.com"], "password": "short", "skip_password_checks": true}))
        .await;
    assert_param_error(&r, "form_password_length_too_short", "password");
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["p3@example.com"], "password": "password"}),
        )
        .await;
    assert_error(&r, 422, r.error_code());
    assert!(
        ["form_password_pwned", "form_password_not_strong_enough"].contains(&r.error_code()),
        "{}",
        r.body
    );
    let u = create(&server, json!({"email_address": ["p4@example.com"], "password": "password", "skip_password_checks": true})).await;
    assert_eq!(u["password_enabled"], true);
    server.browser().sign_in("p4@example.com", "password").await;
    // Nothing half-created by the refused requests.
    let r = server
        .admin()
        .get("/v1/users?email_address=p1@example.com,p2@example.com,p3@example.com")
        .await;
    assert_eq!(r.body["total_count"], 0, "{}", r.body);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Users: imported password digests

/// The password of every digest below but the Firebase one. Generated with Python 3.11:
/// `bcrypt` 5.0.0, `argon2-cffi` 25.1.0, `hashlib.pbkdf2_hmac`, Django 5.2.19's
/// `PBKDF2PasswordHasher().encode(pw, salt, iterations=30000)`.
const IMPORTED_PASSWORD: &str = "legacy import passphrase 7";
const BCRYPT_2B: &str = "$2b$04$LOW6V1y0BPy9vi.03PlZaeK5byvrISKf6MeCsrNMJsjYSRDuUmjpG";
const BCRYPT_2A: &str = "$2a$05$iRkF.yXXIS3mOoeOoK4s/us.Ixb8I0eR5Xbd6EkG/Q49pOlqpfetm";
/// PHP's `$2y$` prefix on the `$2b$` digest (the same algorithm).
const BCRYPT_2Y: &str = "$2y$04$LOW6V1y0BPy9vi.03PlZaeK5byvrISKf6MeCsrNMJsjYSRDuUmjpG";
/// Weaker than our parameters: must be rehashed.
const ARGON2ID_WEAK: &str =
    "$argon2id$v=19$m=1024,t=1,p=1$rNgmvFECutv9WaKGM/hyPg$nYbginYEDNrbF47ETnDhVJgCNQSfwdF46vY+i5Dsq20";
/// Exactly our parameters: kept as it is.
const ARGON2ID_STRONG: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$uimOCZbPFf1nKWEW5gkeGg$4tyERrwKZBXKQqU8cH60YvbDD65MLUnuGYuUNz6QBDY";
const ARGON2I: &str =
    "$argon2i$v=19$m=4096,t=3,p=1$8GwCVbX/Yw2nD4LzKBWP7Q$bKgIfDkLioE2jfO6ATM8PQusbvGVJZaFlO1+zzQHkok";
const PBKDF2: &str =
    "pbkdf2_sha256$25000$ntk3n52nwQENhxhAAnObRA==$wmU3gtWua1kwu+30TzuWPiGzNAXWm3g55Ir2ysKCKMQ=";
const DJANGO: &str =
    "pbkdf2_sha256$30000$U5V1eiTV0ZQnaSvOWgz9ZU$Xu/FqErmOlOjeejALHax/gj3u5i/E0qM9RiVJSHJgkg=";
/// The public vector of Firebase's scrypt README (password `user1password`), as in
/// `src/crypto/password/tests.rs`.
const FIREBASE: &str = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==\
$42xEC+ixf3L2lw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$Bw==$8$14";
const FIREBASE_PASSWORD: &str = "user1password";
const OUR_ARGON2ID_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

async fn imported_password_digests_sign_in_and_are_rehashed(db: DbKind) {
    let server = TestServer::start(db).await;
    let cases: [(&str, &str, &str); 9] = [
        ("bcrypt", BCRYPT_2B, IMPORTED_PASSWORD),
        ("bcrypt", BCRYPT_2A, IMPORTED_PASSWORD),
        ("bcrypt", BCRYPT_2Y, IMPORTED_PASSWORD),
        ("argon2id", ARGON2ID_WEAK, IMPORTED_PASSWORD),
        ("argon2i", ARGON2I, IMPORTED_PASSWORD),
        ("pbkdf2_sha256", PBKDF2, IMPORTED_PASSWORD),
        ("pbkdf2_sha256_django", DJANGO, IMPORTED_PASSWORD),
        ("scrypt_firebase", FIREBASE, FIREBASE_PASSWORD),
        ("argon2id", ARGON2ID_STRONG, IMPORTED_PASSWORD),
    ];
    for (i, (hasher, digest, password)) in cases.into_iter().enumerate() {
        let email = format!("import{i}-{hasher}@example.com");
        let u = create(
            &server,
            json!({"email_address": [email], "password_digest": digest, "password_hasher": hasher}),
        )
        .await;
        let id = u["id"].as_str().unwrap().to_string();
        assert_eq!(u["password_enabled"], true, "{hasher}");
        assert!(
            !u.to_string().contains(digest),
            "the digest is never rendered"
        );
        let row = stored(&server, &id).await;
        assert_eq!(
            row.password_digest.as_deref(),
            Some(digest),
            "{hasher}: stored as given"
        );
        assert_eq!(row.password_hasher.as_deref(), Some(hasher));

        // A wrong password fails and changes nothing.
        let r = server
            .browser()
            .sign_in_raw(&email, "not the password at all")
            .await;
        assert_param_error(&r, "form_password_incorrect", "password");
        assert_eq!(
            stored(&server, &id).await.password_digest.as_deref(),
            Some(digest),
            "{hasher}"
        );

        // The right one signs in through the Frontend API ...
        server.browser().sign_in(&email, password).await;
        let row = stored(&server, &id).await;
        let new_digest = row.password_digest.clone().unwrap();
        assert_eq!(
            row.password_hasher.as_deref(),
            Some("argon2id"),
            "{hasher}: rehashed to argon2id"
        );
        assert!(
            new_digest.starts_with(OUR_ARGON2ID_PREFIX),
            "{hasher}: {new_digest}"
        );
        if digest == ARGON2ID_STRONG {
            assert_eq!(new_digest, digest, "a digest as strong as ours is kept");
        } else {
            assert_ne!(new_digest, digest, "{hasher}: transparently rehashed");
        }
        // ... and again with the new digest; wrong passwords still fail.
        server.browser().sign_in(&email, password).await;
        assert_eq!(
            stored(&server, &id).await.password_digest.unwrap(),
            new_digest,
            "no rehash of our own digest"
        );
        let r = server
            .browser()
            .sign_in_raw(&email, "not the password at all")
            .await;
        assert_param_error(&r, "form_password_incorrect", "password");
        let verify = |p: &str| {
            let path = format!("/v1/users/{id}/verify_password");
            let admin = server.admin();
            let body = json!({ "password": p });
            async move { admin.post(&path, body).await }
        };
        assert_eq!(
            verify(password).await.body,
            json!({"verified": true}),
            "{hasher}"
        );
        assert_eq!(
            verify("not the password at all").await.body,
            json!({"verified": false}),
            "{hasher}"
        );
    }

    // verify_password on a not-yet-rehashed import also works (and is a trusted check).
    let u = create(&server, json!({"username": "fresh_import", "password_digest": BCRYPT_2B, "password_hasher": "bcrypt"})).await;
    let id = u["id"].as_str().unwrap();
    let r = server
        .admin()
        .post(
            &format!("/v1/users/{id}/verify_password"),
            json!({"password": IMPORTED_PASSWORD}),
        )
        .await;
    assert_eq!(r.body, json!({"verified": true}));
    let r = server
        .admin()
        .post(
            &format!("/v1/users/{id}/verify_password"),
            json!({"password": "nope nope nope"}),
        )
        .await;
    assert_eq!(r.body, json!({"verified": false}));
    server
        .browser()
        .sign_in("fresh_import", IMPORTED_PASSWORD)
        .await;
    server.stop().await;
}

async fn malformed_password_digests_are_refused(db: DbKind) {
    let server = TestServer::start(db).await;
    let bad: Vec<(&str, String)> = vec![
        ("bcrypt", String::new()),
        ("bcrypt", "not a digest".into()),
        ("bcrypt", BCRYPT_2B[..40].into()),
        ("bcrypt", BCRYPT_2B.replace("$2b$", "$2x$")),
        ("bcrypt", BCRYPT_2B.replace("$04$", "$99$")),
        ("bcrypt", ARGON2I.into()),
        ("argon2id", "$argon2id$".into()),
        ("argon2id", ARGON2I.into()),
        ("argon2id", ARGON2ID_WEAK.replace("m=1024", "m=99999999")),
        ("argon2id", ARGON2ID_WEAK.replace("t=1", "t=100000")),
        ("argon2i", ARGON2ID_WEAK.into()),
        ("pbkdf2_sha256", "pbkdf2_sha256$25000$AAAA".into()),
        ("pbkdf2_sha256", PBKDF2.replace("$25000$", "$999999999$")),
        ("pbkdf2_sha256", PBKDF2.replace("$25000$", "$-5$")),
        (
            "pbkdf2_sha256",
            PBKDF2.replace("pbkdf2_sha256$", "pbkdf2_sha1$"),
        ),
        ("pbkdf2_sha256", format!("{PBKDF2}$extra")),
        ("pbkdf2_sha256_django", "pbkdf2_sha256$30000$$AAAA".into()),
        ("pbkdf2_sha256_django", BCRYPT_2B.into()),
        ("scrypt_firebase", "a$b$c".into()),
        ("scrypt_firebase", FIREBASE.replace("$8$14", "$8$40")),
        ("scrypt_firebase", FIREBASE.replace("$8$14", "$0$14")),
        ("scrypt_firebase", FIREBASE.replace("lSrfV15cpx95", "AAAA")),
    ];
    for (i, (hasher, digest)) in bad.iter().enumerate() {
        let body = json!({"email_address": [format!("bad{i}@example.com")], "password_digest": digest, "password_hasher": hasher});
        let r = server.admin().post("/v1/users", body).await;
        assert_param_error(&r, "form_param_format_invalid", "password_digest");
        if digest.len() > 16 {
            assert!(
                !r.body.to_string().contains(digest.as_str()),
                "the digest is echoed: {}",
                r.body
            );
        }
    }
    // Unknown or missing hasher; password and digest together.
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"username": "hasher_1", "password_digest": BCRYPT_2B, "password_hasher": "md5"}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "password_hasher");
    let r = server.admin().post("/v1/users", json!({"username": "hasher_2", "password_digest": BCRYPT_2B, "password_hasher": "BCRYPT"})).await;
    assert_param_error(&r, "form_param_format_invalid", "password_hasher");
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"username": "hasher_3", "password_digest": BCRYPT_2B}),
        )
        .await;
    assert_param_error(&r, "form_param_missing", "password_hasher");
    let r = server
        .admin()
        .post("/v1/users", json!({"username": "hasher_4", "password": PASSWORD, "password_digest": BCRYPT_2B, "password_hasher": "bcrypt"}))
        .await;
    assert_error(&r, 422, "form_param_format_invalid");
    // Wrong types.
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"username": "hasher_5", "password_digest": 5, "password_hasher": "bcrypt"}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "password_digest");
    let r = server.admin().post("/v1/users", json!({"username": "hasher_6", "password_digest": BCRYPT_2B, "password_hasher": ["bcrypt"]})).await;
    assert_param_error(&r, "form_param_format_invalid", "password_hasher");
    assert_eq!(
        server.admin().get("/v1/users").await.body["total_count"],
        0,
        "nothing was created"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Users: read, update, delete

async fn get_update_and_delete_users(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let u = create(
        &server,
        json!({"email_address": ["grace@example.com", "hopper@example.org"], "username": "grace", "password": PASSWORD,
               "first_name": "Grace", "public_metadata": {"a": 1}}),
    )
    .await;
    let id = u["id"].as_str().unwrap().to_string();
    let r = admin.get(&format!("/v1/users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, u);

    // Update.
    server.clock.advance(MINUTE);
    let second_email = u["email_addresses"][1]["id"].clone();
    let r = admin
        .patch(
            &format!("/v1/users/{id}"),
            json!({"first_name": "Grace B.", "last_name": "Hopper", "username": "Admiral_Grace",
                   "public_metadata": {"b": 2}, "private_metadata": {"p": true}, "unsafe_metadata": {"u": "x"},
                   "primary_email_address_id": second_email}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["first_name"], "Grace B.");
    assert_eq!(r.body["last_name"], "Hopper");
    assert_eq!(r.body["username"], "Admiral_Grace");
    assert_eq!(
        r.body["public_metadata"],
        json!({"b": 2}),
        "PATCH replaces metadata"
    );
    assert_eq!(r.body["private_metadata"], json!({"p": true}));
    assert_eq!(r.body["unsafe_metadata"], json!({"u": "x"}));
    assert_eq!(r.body["primary_email_address_id"], second_email);
    assert_eq!(r.body["created_at"], u["created_at"]);
    assert_eq!(
        r.body["updated_at"].as_i64().unwrap(),
        u["updated_at"].as_i64().unwrap() + MINUTE
    );
    assert_eq!(
        admin.get(&format!("/v1/users/{id}")).await.body,
        r.body,
        "the update is durable"
    );
    // Fields left out stay; an empty string clears a name.
    let r = admin
        .patch(&format!("/v1/users/{id}"), json!({"last_name": ""}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["last_name"], Value::Null);
    assert_eq!(r.body["first_name"], "Grace B.");
    assert_eq!(r.body["username"], "Admiral_Grace");
    // An empty PATCH changes nothing.
    let r = admin.patch(&format!("/v1/users/{id}"), json!({})).await;
    assert_eq!(r.status, 200);
    // The new username signs in; the old one does not exist any more.
    let browser = server.browser();
    let session = browser.sign_in("ADMIRAL_GRACE", PASSWORD).await;
    let r = server.browser().sign_in_raw("grace", PASSWORD).await;
    assert_param_error(&r, "form_identifier_not_found", "identifier");
    // A new password through PATCH.
    let r = admin
        .patch(
            &format!("/v1/users/{id}"),
            json!({"password": "an entirely new passphrase 9"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_param_error(
        &server
            .browser()
            .sign_in_raw("grace@example.com", PASSWORD)
            .await,
        "form_password_incorrect",
        "password",
    );
    server
        .browser()
        .sign_in("grace@example.com", "an entirely new passphrase 9")
        .await;
    let r = admin
        .patch(&format!("/v1/users/{id}"), json!({"password": "2short"}))
        .await;
    assert_param_error(&r, "form_password_length_too_short", "password");
    // Invalid updates.
    let r = admin
        .patch(
            &format!("/v1/users/{id}"),
            json!({"primary_email_address_id": "idn_unknown"}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "primary_email_address_id");
    let r = admin
        .patch(
            &format!("/v1/users/{id}"),
            json!({"username": "no spaces allowed"}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "username");
    let r = admin
        .patch(
            &format!("/v1/users/{id}"),
            json!({"public_metadata": [1, 2]}),
        )
        .await;
    assert_param_error(&r, "form_param_format_invalid", "public_metadata");

    // Delete: every session ends at once, the user is gone, its identifiers are free again.
    assert_eq!(browser.mint(&session).await.status, 200);
    let other = server.browser();
    let other_session = other
        .sign_in("grace@example.com", "an entirely new passphrase 9")
        .await;
    let r = admin.delete(&format!("/v1/users/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"object": "user", "id": id, "deleted": true}));
    for (b, s) in [(&browser, &session), (&other, &other_session)] {
        assert_error(&b.mint(s).await, 401, "authentication_invalid");
        assert_error(&b.get("/v1/me").await, 401, "authentication_invalid");
        let r = admin.get(&format!("/v1/sessions/{s}")).await;
        assert_ne!(r.body["status"], "active", "{}", r.body);
    }
    assert_error(
        &admin.get(&format!("/v1/users/{id}")).await,
        404,
        "resource_not_found",
    );
    assert_error(
        &admin.delete(&format!("/v1/users/{id}")).await,
        404,
        "resource_not_found",
    );
    assert_eq!(
        admin.get("/v1/users?query=grace").await.body["total_count"],
        0
    );
    let r = server
        .browser()
        .sign_in_raw("grace@example.com", "an entirely new passphrase 9")
        .await;
    assert_param_error(&r, "form_identifier_not_found", "identifier");
    create(
        &server,
        json!({"email_address": ["grace@example.com"], "username": "admiral_grace"}),
    )
    .await;
    server.stop().await;
}

async fn metadata_patch_deep_merges_and_null_removes(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let u = create(
        &server,
        json!({"username": "meta_user",
               "public_metadata": {"role": "editor", "prefs": {"theme": "dark", "lang": "en"}, "tags": ["a"], "gone": 1},
               "private_metadata": {"plan": "pro", "ids": {"stripe": "cus_1"}},
               "unsafe_metadata": {"onboarded": false}}),
    )
    .await;
    let id = u["id"].as_str().unwrap();
    let path = format!("/v1/users/{id}/metadata");
    let r = admin
        .patch(
            &path,
            json!({"public_metadata": {"prefs": {"lang": "fr", "tz": "UTC"}, "tags": ["b"], "gone": null, "new": {"x": 1}},
                   "private_metadata": {"ids": {"stripe": null, "hubspot": 7}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["public_metadata"],
        json!({"role": "editor", "prefs": {"theme": "dark", "lang": "fr", "tz": "UTC"}, "tags": ["b"], "new": {"x": 1}})
    );
    assert_eq!(
        r.body["private_metadata"],
        json!({"plan": "pro", "ids": {"hubspot": 7}})
    );
    assert_eq!(
        r.body["unsafe_metadata"],
        json!({"onboarded": false}),
        "untouched when absent"
    );
    let fetched = admin.get(&format!("/v1/users/{id}")).await.body;
    assert_eq!(
        fetched["public_metadata"], r.body["public_metadata"],
        "durable"
    );
    assert_eq!(fetched["private_metadata"], r.body["private_metadata"]);

    // A null removes a key wherever it stands: no null is ever stored for it.
    let r = admin
        .patch(&path, json!({"unsafe_metadata": {"onboarded": null, "fresh": {"keep": 1, "drop": null}, "role": "x"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["unsafe_metadata"],
        json!({"fresh": {"keep": 1}, "role": "x"})
    );
    let r = admin
        .patch(
            &path,
            json!({"public_metadata": {"role": {"replaced": "by an object", "gone": null}}}),
        )
        .await;
    assert_eq!(
        r.body["public_metadata"]["role"],
        json!({"replaced": "by an object"})
    );
    // Removing a key that does not exist is fine; an empty patch changes nothing.
    let before = admin.get(&format!("/v1/users/{id}")).await.body;
    let r = admin
        .patch(&path, json!({"public_metadata": {"never_there": null}}))
        .await;
    assert_eq!(r.body["public_metadata"], before["public_metadata"]);
    let r = admin.patch(&path, json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["public_metadata"], before["public_metadata"]);
    assert_eq!(r.body["private_metadata"], before["private_metadata"]);

    // Not an object, too big, unknown user.
    for bad in [
        json!({"public_metadata": [1]}),
        json!({"public_metadata": "x"}),
        json!({"public_metadata": 3}),
    ] {
        assert_param_error(
            &admin.patch(&path, bad).await,
            "form_param_format_invalid",
            "public_metadata",
        );
    }
    let big = json!({"private_metadata": {"blob": "x".repeat(9 * 1024)}});
    assert_param_error(
        &admin.patch(&path, big).await,
        "form_param_format_invalid",
        "private_metadata",
    );
    assert_error(
        &admin
            .patch(
                "/v1/users/user_doesnotexist/metadata",
                json!({"public_metadata": {}}),
            )
            .await,
        404,
        "resource_not_found",
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Ban, lock, verify_password

async fn ban_unban_lock_unlock(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let id = server.create_user("flags@example.com", PASSWORD).await;
    let browser = server.browser();
    let session = browser.sign_in("flags@example.com", PASSWORD).await;

    // Lock: sign-in refused with 403 user_locked; unlock lets it in again.
    let r = admin.post(&format!("/v1/users/{id}/lock"), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["locked"], true);
    assert_eq!(
        r.body["lockout_expires_in_seconds"],
        Value::Null,
        "an admin lock has no end"
    );
    let r = server
        .browser()
        .sign_in_raw("flags@example.com", PASSWORD)
        .await;
    assert_error(&r, 403, "user_locked");
    server.clock.advance(48 * 60 * MINUTE);
    assert_error(
        &server
            .browser()
            .sign_in_raw("flags@example.com", PASSWORD)
            .await,
        403,
        "user_locked",
    );
    assert_eq!(
        admin.get(&format!("/v1/users/{id}")).await.body["locked"],
        true
    );
    let r = admin
        .post(&format!("/v1/users/{id}/unlock"), json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["locked"], false);
    server
        .browser()
        .sign_in("flags@example.com", PASSWORD)
        .await;
    // Lock and unlock are idempotent.
    assert_eq!(
        admin
            .post(&format!("/v1/users/{id}/unlock"), json!({}))
            .await
            .body["locked"],
        false
    );
    admin.post(&format!("/v1/users/{id}/lock"), json!({})).await;
    assert_eq!(
        admin
            .post(&format!("/v1/users/{id}/lock"), json!({}))
            .await
            .body["locked"],
        true
    );
    admin
        .post(&format!("/v1/users/{id}/unlock"), json!({}))
        .await;

    // Ban: every session revoked at once, sign-in refused; unban lets it in again.
    let session2 = server
        .browser()
        .sign_in("flags@example.com", PASSWORD)
        .await;
    let r = admin.post(&format!("/v1/users/{id}/ban"), json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["banned"], true);
    for s in [&session, &session2] {
        let status = admin.get(&format!("/v1/sessions/{s}")).await.body["status"].clone();
        assert!(status == "revoked" || status == "expired", "{s}: {status}");
    }
    assert_error(&browser.mint(&session).await, 401, "authentication_invalid");
    assert_error(
        &server
            .browser()
            .sign_in_raw("flags@example.com", PASSWORD)
            .await,
        403,
        "user_banned",
    );
    let r = admin
        .post(&format!("/v1/users/{id}/unban"), json!({}))
        .await;
    assert_eq!(r.body["banned"], false);
    server
        .browser()
        .sign_in("flags@example.com", PASSWORD)
        .await;
    for action in ["ban", "unban", "lock", "unlock"] {
        let r = admin
            .post(
                &format!("/v1/users/user_0000000000000000000000000/{action}"),
                json!({}),
            )
            .await;
        assert_error(&r, 404, "resource_not_found");
    }
    server.stop().await;
}

async fn verify_password_answers_true_or_false(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let id = server.create_user("verify@example.com", PASSWORD).await;
    let path = format!("/v1/users/{id}/verify_password");
    let r = admin.post(&path, json!({"password": PASSWORD})).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"verified": true}))
    );
    for wrong in [
        "wrong password",
        "",
        "correct horse battery stapl",
        "CORRECT HORSE BATTERY STAPLE",
    ] {
        let r = admin.post(&path, json!({ "password": wrong })).await;
        assert_eq!(
            (r.status.as_u16(), r.body.clone()),
            (200, json!({"verified": false})),
            "{wrong:?}"
        );
    }
    // A trusted backend's checks do not count towards the lockout.
    let toml = format!(
        "{}[auth.lockout]\nmax_failed_attempts = 2\n",
        support::DEFAULT_TEST_TOML
    );
    let locked_server = TestServer::start_with(db, &toml).await;
    let lid = locked_server.create_user("v2@example.com", PASSWORD).await;
    for _ in 0..4 {
        let r = locked_server
            .admin()
            .post(
                &format!("/v1/users/{lid}/verify_password"),
                json!({"password": "nope"}),
            )
            .await;
        assert_eq!(r.body, json!({"verified": false}));
    }
    locked_server
        .browser()
        .sign_in("v2@example.com", PASSWORD)
        .await;
    locked_server.stop().await;

    // No password, missing parameter, wrong type, unknown user.
    let nopw = create(&server, json!({"email_address": ["nopw@example.com"]})).await;
    let r = admin
        .post(
            &format!("/v1/users/{}/verify_password", nopw["id"].as_str().unwrap()),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"verified": false}))
    );
    assert_param_error(
        &admin.post(&path, json!({})).await,
        "form_param_missing",
        "password",
    );
    assert_param_error(
        &admin.post(&path, json!({"password": 5})).await,
        "form_param_format_invalid",
        "password",
    );
    let r = admin
        .post(
            "/v1/users/user_0000000000000000000000000/verify_password",
            json!({"password": PASSWORD}),
        )
        .await;
    assert_error(&r, 404, "resource_not_found");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Sessions

async fn sessions_list_get_revoke_and_mint(db: DbKind) {
    let toml = format!(
        "{}[session]\nlifetime = \"1d\"\n",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    let admin = server.admin();
    let ada = server.create_user("ada@example.com", PASSWORD).await;
    let bob = server.create_user("bob@example.com", PASSWORD).await;
    let (a1, a2, a3, b1) = (
        server.browser(),
        server.browser(),
        server.browser(),
        server.browser(),
    );
    let s_a1 = a1.sign_in("ada@example.com", PASSWORD).await;
    server.clock.advance(1000);
    let s_a2 = a2.sign_in("ada@example.com", PASSWORD).await;
    server.clock.advance(1000);
    let s_a3 = a3.sign_in("ada@example.com", PASSWORD).await;
    server.clock.advance(1000);
    let s_b1 = b1.sign_in("bob@example.com", PASSWORD).await;

    // a2 signs out; a3 is revoked by the admin.
    assert_eq!(
        a2.post(&format!("/v1/client/sessions/{s_a2}/end"), json!({}))
            .await
            .status,
        200
    );
    let r = admin
        .post(&format!("/v1/sessions/{s_a3}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "session");
    assert_eq!(r.body["status"], "revoked");
    assert_eq!(r.body["id"], s_a3.as_str());
    // The Frontend API refuses it at once.
    assert_error(&a3.mint(&s_a3).await, 401, "authentication_invalid");
    assert_error(&a3.get("/v1/me").await, 401, "authentication_invalid");
    let r = a3.get("/v1/client").await;
    assert_eq!(r.body["response"]["sessions"], json!([]));
    // Revoking again is harmless and keeps the first final status; an ended one stays ended.
    assert_eq!(
        admin
            .post(&format!("/v1/sessions/{s_a3}/revoke"), json!({}))
            .await
            .body["status"],
        "revoked"
    );
    assert_eq!(
        admin
            .post(&format!("/v1/sessions/{s_a2}/revoke"), json!({}))
            .await
            .body["status"],
        "ended"
    );

    // Get.
    let r = admin.get(&format!("/v1/sessions/{s_a1}")).await;
    assert_eq!(r.status, 200);
    let s = &r.body;
    assert_eq!(s["object"], "session");
    assert!(is_id(&s["id"], "sess"));
    assert!(is_id(&s["client_id"], "client"));
    assert_eq!(s["user_id"], ada.as_str());
    assert_eq!(s["status"], "active");
    for f in [
        "last_active_at",
        "expire_at",
        "abandon_at",
        "created_at",
        "updated_at",
    ] {
        assert!(s[f].is_i64(), "{f}: {s}");
    }
    for f in ["last_active_organization_id", "actor", "latest_activity"] {
        assert!(s.get(f).is_some(), "{f}: {s}");
    }
    assert_eq!(s["latest_activity"]["ip_address"], "127.0.0.1");
    assert_eq!(
        s["expire_at"].as_i64().unwrap() - s["created_at"].as_i64().unwrap(),
        24 * 60 * MINUTE
    );

    // List, newest first, with filters.
    let list = |q: &str| {
        let path = format!("/v1/sessions{q}");
        let admin = server.admin();
        async move { admin.get(&path).await }
    };
    let r = list("").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body),
        [&s_b1, &s_a3, &s_a2, &s_a1].map(|s| s.as_str())
    );
    assert_eq!(r.body["total_count"], 4);
    for (q, expected) in [
        (
            format!("?user_id={ada}"),
            vec![s_a3.as_str(), s_a2.as_str(), s_a1.as_str()],
        ),
        (format!("?user_id={bob}"), vec![s_b1.as_str()]),
        (format!("?user_id={ada}&status=active"), vec![s_a1.as_str()]),
        (format!("?user_id={ada}&status=ended"), vec![s_a2.as_str()]),
        (
            format!("?user_id={ada}&status=revoked"),
            vec![s_a3.as_str()],
        ),
        (
            "?status=active".to_string(),
            vec![s_b1.as_str(), s_a1.as_str()],
        ),
        ("?status=removed".to_string(), vec![]),
        ("?user_id=user_nobody".to_string(), vec![]),
        (
            format!("?client_id={}", s["client_id"].as_str().unwrap()),
            vec![s_a1.as_str()],
        ),
        ("?limit=1".to_string(), vec![s_b1.as_str()]),
        (
            "?limit=2&offset=1".to_string(),
            vec![s_a3.as_str(), s_a2.as_str()],
        ),
        (
            "?status=active&limit=1&offset=1".to_string(),
            vec![s_a1.as_str()],
        ),
    ] {
        let r = list(&q).await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(ids(&r.body), expected, "{q}");
        if !q.contains("limit") {
            assert_eq!(r.body["total_count"], expected.len(), "{q}");
        }
    }
    assert_eq!(list("?status=active&limit=1").await.body["total_count"], 2);
    assert_param_error(
        &list("?status=bogus").await,
        "form_param_format_invalid",
        "status",
    );
    assert_param_error(
        &list("?limit=501").await,
        "form_param_format_invalid",
        "limit",
    );
    assert_param_error(
        &list("?offset=-3").await,
        "form_param_format_invalid",
        "offset",
    );

    // Server-side tokens for an active session.
    let r = admin
        .post(&format!("/v1/sessions/{s_a1}/tokens"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "token");
    assert_eq!(
        r.body.as_object().unwrap().len(),
        2,
        "bare token object: {}",
        r.body
    );
    let jwt = r.body["jwt"].as_str().unwrap();
    let c = claims(jwt);
    assert_eq!(c["sub"], ada.as_str());
    assert_eq!(c["sid"], s_a1.as_str());
    assert_eq!(c["iss"], server.public_url.as_str());
    assert_eq!(c["sts"], "active");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    let keys = gatehouse::crypto::jws::verify_compact(jwt, &server.app.keys.verifying_keys());
    assert!(keys.is_ok(), "the token verifies against the instance keys");
    let jwks = admin.get("/v1/jwks").await.body;
    let (header, _) = gatehouse::crypto::jws::decode_unverified(jwt).unwrap();
    let kid = header.kid.expect("a kid");
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str()),
        "kid in the JWKS"
    );
    // A token for the Frontend API works as a Bearer token on /v1/me.
    let r = server
        .browser()
        .send(
            reqwest::Client::new()
                .get(format!("{}/v1/me", server.public_url))
                .bearer_auth(jwt),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["response"]["id"], ada.as_str());
    // No token for a session that is not active or does not exist.
    for s in [&s_a2, &s_a3] {
        let r = admin
            .post(&format!("/v1/sessions/{s}/tokens"), json!({}))
            .await;
        assert!(r.status.is_client_error(), "{s}: {} {}", r.status, r.body);
        assert_error_shape(&r.body);
    }
    let r = admin
        .post(
            "/v1/sessions/sess_0000000000000000000000000/tokens",
            json!({}),
        )
        .await;
    assert_error(&r, 404, "resource_not_found");

    // Expiry is derived from time and filterable.
    server.clock.advance(25 * 60 * MINUTE);
    let r = list("?status=expired").await;
    assert_eq!(ids(&r.body), [s_b1.as_str(), s_a1.as_str()]);
    assert_eq!(list("?status=active").await.body["total_count"], 0);
    assert_eq!(
        admin.get(&format!("/v1/sessions/{s_a1}")).await.body["status"],
        "expired"
    );
    let r = admin
        .post(&format!("/v1/sessions/{s_a1}/tokens"), json!({}))
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_error_shape(&r.body);
    server.stop().await;
}

async fn backend_jwks_equals_public_jwks(db: DbKind) {
    let server = TestServer::start(db).await;
    let backend = server.admin().get("/v1/jwks").await;
    assert_eq!(backend.status, 200);
    let public = server.browser().get("/.well-known/jwks.json").await;
    assert_eq!(public.status, 200);
    assert_eq!(backend.body, public.body);
    let keys = backend.body["keys"].as_array().expect("a JWK set");
    assert!(!keys.is_empty());
    for k in keys {
        assert!(k["kid"].is_string() && k["kty"].is_string(), "{k}");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                k.get(private).is_none(),
                "private JWK member {private}: {k}"
            );
        }
    }
    // The JWKS needs the secret key on the admin listener.
    let r = server
        .browser()
        .send(reqwest::Client::new().get(format!("{}/v1/jwks", server.admin_url)))
        .await;
    assert_error(&r, 401, "authentication_invalid");
    server.stop().await;
}

async fn private_metadata_never_reaches_the_frontend_api(db: DbKind) {
    let server = TestServer::start(db).await;
    let secret = "s3cr3t-private-value-42";
    let u = create(
        &server,
        json!({"email_address": ["priv@example.com"], "password": PASSWORD, "public_metadata": {"role": "admin"},
               "private_metadata": {"secret": secret}, "unsafe_metadata": {"theme": "dark"}}),
    )
    .await;
    assert_eq!(
        u["private_metadata"]["secret"], secret,
        "the Backend API shows it"
    );
    let browser = server.browser();
    let check = |r: &Resp, what: &str| {
        assert!(
            !r.body.to_string().contains(secret),
            "{what} leaks private metadata: {}",
            r.body
        );
        assert!(
            !r.body.to_string().contains("private_metadata"),
            "{what}: {}",
            r.body
        );
    };
    let r = browser.sign_in_raw("priv@example.com", PASSWORD).await;
    assert_eq!(r.status, 200);
    check(&r, "sign-in");
    let user = &r.body["client"]["sessions"][0]["user"];
    assert_eq!(user["public_metadata"], json!({"role": "admin"}));
    assert_eq!(user["unsafe_metadata"], json!({"theme": "dark"}));
    let session = r.body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = browser.get("/v1/me").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["response"]["id"], u["id"]);
    assert_eq!(
        r.body["response"]["public_metadata"],
        json!({"role": "admin"})
    );
    check(&r, "/v1/me");
    check(&browser.get("/v1/client").await, "/v1/client");
    check(
        &browser.patch("/v1/me", json!({"first_name": "Priv"})).await,
        "PATCH /v1/me",
    );
    check(&browser.get("/v1/me/sessions").await, "/v1/me/sessions");
    let jwt = browser.mint(&session).await.body["jwt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !claims(&jwt).to_string().contains(secret),
        "the token leaks private metadata"
    );
    let r = server
        .browser()
        .send(
            reqwest::Client::new()
                .get(format!("{}/v1/me", server.public_url))
                .bearer_auth(&jwt),
        )
        .await;
    assert_eq!(r.status, 200);
    check(&r, "Bearer /v1/me");
    // The user cannot set it either.
    let r = browser
        .patch("/v1/me", json!({"private_metadata": {"secret": "mine"}}))
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_error_shape(&r.body);
    assert_eq!(
        server
            .admin()
            .get(&format!("/v1/users/{}", u["id"].as_str().unwrap()))
            .await
            .body["private_metadata"]["secret"],
        secret
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Uniqueness and identifier syntax

async fn unique_identifiers_are_422_never_500(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let first = create(&server, json!({"email_address": ["Taken@Example.com"], "username": "Grace_H", "phone_number": ["+1 415 555 0123"]})).await;
    let dup = |body: Value| {
        let admin = server.admin();
        async move { admin.post("/v1/users", body).await }
    };
    for (body, param) in [
        (
            json!({"email_address": ["taken@example.com"]}),
            "email_address",
        ),
        (
            json!({"email_address": ["  TAKEN@EXAMPLE.COM  "]}),
            "email_address",
        ),
        (
            json!({"email_address": ["new@example.com", "taken@example.com"]}),
            "email_address",
        ),
        (json!({"username": "grace_h"}), "username"),
        (json!({"username": "GRACE_H"}), "username"),
        (
            json!({"email_address": ["free@example.com"], "username": "Grace_h"}),
            "username",
        ),
        (json!({"phone_number": ["+14155550123"]}), "phone_number"),
        (
            json!({"phone_number": ["+1 (415) 555-0123"]}),
            "phone_number",
        ),
        // Duplicates inside one request.
        (
            json!({"email_address": ["twice@example.com", "TWICE@example.com"]}),
            "email_address",
        ),
        (
            json!({"phone_number": ["+14155550100", "+1 415 555 0100"]}),
            "phone_number",
        ),
    ] {
        let r = dup(body.clone()).await;
        assert_param_error(&r, "form_identifier_exists", param);
    }
    // Nothing was half-created.
    assert_eq!(admin.get("/v1/users").await.body["total_count"], 1);
    for q in [
        "new%40example.com",
        "free%40example.com",
        "twice%40example.com",
    ] {
        assert_eq!(
            admin
                .get(&format!("/v1/users?email_address={q}"))
                .await
                .body["total_count"],
            0,
            "{q}"
        );
    }

    // Updates that would collide.
    let other = create(&server, json!({"username": "someone_else"})).await;
    let oid = other["id"].as_str().unwrap();
    for name in ["grace_h", "GRACE_H", " Grace_H "] {
        let r = admin
            .patch(&format!("/v1/users/{oid}"), json!({ "username": name }))
            .await;
        assert_param_error(&r, "form_identifier_exists", "username");
    }
    assert_eq!(
        admin.get(&format!("/v1/users/{oid}")).await.body["username"],
        "someone_else"
    );
    // Changing one's own username's case is not a collision.
    let fid = first["id"].as_str().unwrap();
    let r = admin
        .patch(&format!("/v1/users/{fid}"), json!({"username": "grace_h"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["username"], "grace_h");

    // The Frontend API sign-up sees the same uniqueness.
    for (body, param) in [
        (
            json!({"email_address": "TAKEN@example.COM", "password": PASSWORD}),
            "email_address",
        ),
        (
            json!({"email_address": "fresh@example.com", "username": "GRACE_H", "password": PASSWORD}),
            "username",
        ),
    ] {
        let r = server.browser().post("/v1/client/sign_ups", body).await;
        assert_param_error(&r, "form_identifier_exists", param);
    }

    // Concurrent creates of one email: exactly one wins, the others get 422, none a 500.
    let results = futures::future::join_all((0..6).map(|i| {
        let admin = server.admin();
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        };
        async move {
            admin
                .post("/v1/users", json!({ "email_address": [email] }))
                .await
        }
    }))
    .await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results
            .iter()
            .map(|r| (r.status, r.body.clone()))
            .collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 200) {
        assert_param_error(r, "form_identifier_exists", "email_address");
    }
    // And of one username.
    let results = futures::future::join_all((0..6).map(|i| {
        let admin = server.admin();
        async move {
            admin
                .post(
                    "/v1/users",
                    json!({ "username": if i % 2 == 0 { "racer" } else { "RACER" } }),
                )
                .await
        }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    for r in results.iter().filter(|r| r.status != 200) {
        assert_param_error(r, "form_identifier_exists", "username");
    }
    server.stop().await;
}

async fn emails_are_trimmed_and_case_insensitive(db: DbKind) {
    let server = TestServer::start(db).await;
    let u = create(
        &server,
        json!({"email_address": ["  Mixed.Case@Example.COM \t"], "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        u["email_addresses"][0]["email_address"], "Mixed.Case@Example.COM",
        "trimmed, case kept for display"
    );
    for identifier in [
        "mixed.case@example.com",
        "MIXED.CASE@EXAMPLE.COM",
        "  Mixed.Case@example.com  ",
    ] {
        server.browser().sign_in(identifier, PASSWORD).await;
    }
    let r = server
        .admin()
        .get("/v1/users?email_address=MIXED.case%40example.com")
        .await;
    assert_eq!(ids(&r.body), [u["id"].as_str().unwrap()]);
    let r = server.admin().get("/v1/users?query=mixed.CASE").await;
    assert_eq!(r.body["total_count"], 1);
    server.stop().await;
}

async fn invalid_identifier_values_are_422_with_param_name(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    for (body, param) in [
        (json!({"email_address": ["not-an-email"]}), "email_address"),
        (json!({"email_address": ["a@b"]}), "email_address"),
        (
            json!({"email_address": ["two@@example.com"]}),
            "email_address",
        ),
        (json!({"email_address": [""]}), "email_address"),
        (json!({"email_address": ["   "]}), "email_address"),
        (
            json!({"email_address": [format!("{}@example.com", "a".repeat(65))]}),
            "email_address",
        ),
        (
            json!({"email_address": ["ok@example.com", "bad"]}),
            "email_address",
        ),
        (json!({"phone_number": ["12345"]}), "phone_number"),
        (json!({"phone_number": ["4155550123"]}), "phone_number"),
        (json!({"phone_number": ["+1415abc0123"]}), "phone_number"),
        (json!({"phone_number": ["+0123456789"]}), "phone_number"),
        (json!({"phone_number": [""]}), "phone_number"),
        (json!({"username": "ab"}), "username"),
        (json!({"username": "has space"}), "username"),
        (json!({"username": "_leading"}), "username"),
        (json!({"username": "ünïcode"}), "username"),
        (json!({"username": "x".repeat(65)}), "username"),
        (
            json!({"username": "valid_name", "first_name": "n".repeat(300)}),
            "first_name",
        ),
        (
            json!({"username": "valid_name", "last_name": "n".repeat(300)}),
            "last_name",
        ),
        (
            json!({"username": "valid_name", "public_metadata": [1]}),
            "public_metadata",
        ),
        (
            json!({"username": "valid_name", "private_metadata": "x"}),
            "private_metadata",
        ),
        (
            json!({"username": "valid_name", "unsafe_metadata": 1}),
            "unsafe_metadata",
        ),
        (
            json!({"username": "valid_name", "public_metadata": {"big": "x".repeat(9000)}}),
            "public_metadata",
        ),
        // Wrong types.
        (
            json!({"email_address": "single@example.com"}),
            "email_address",
        ),
        (json!({"email_address": [5]}), "email_address"),
        (json!({"phone_number": {}}), "phone_number"),
        (json!({"username": 42}), "username"),
        (
            json!({"username": "valid_name", "first_name": ["A"]}),
            "first_name",
        ),
        (
            json!({"username": "valid_name", "password": 12345678}),
            "password",
        ),
        (
            json!({"username": "valid_name", "skip_password_checks": "yes"}),
            "skip_password_checks",
        ),
    ] {
        let r = admin.post("/v1/users", body.clone()).await;
        assert_param_error(&r, "form_param_format_invalid", param);
    }
    assert_eq!(
        admin.get("/v1/users").await.body["total_count"],
        0,
        "nothing was created"
    );
    server.stop().await;
}

async fn unknown_ids_are_404(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    for id in [
        "user_0000000000000000000000000",
        "nope",
        "sess_0000000000000000000000000",
        "user_%E2%9C%93",
    ] {
        assert_error(
            &admin.get(&format!("/v1/users/{id}")).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &admin
                .patch(&format!("/v1/users/{id}"), json!({"first_name": "x"}))
                .await,
            404,
            "resource_not_found",
        );
        assert_error(
            &admin.delete(&format!("/v1/users/{id}")).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &admin.get(&format!("/v1/sessions/{id}")).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &admin
                .post(&format!("/v1/sessions/{id}/revoke"), json!({}))
                .await,
            404,
            "resource_not_found",
        );
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Sign-in protections

async fn lockout_after_consecutive_failed_passwords(db: DbKind) {
    let toml = format!(
        "{}[auth.lockout]\nmax_failed_attempts = 3\nduration = \"10m\"\n",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    let admin = server.admin();
    let id = server.create_user("lock@example.com", PASSWORD).await;
    let wrong = || async {
        server
            .browser()
            .sign_in_raw("lock@example.com", "wrong password!")
            .await
    };

    // Failures must be consecutive: a success resets the count.
    for _ in 0..2 {
        assert_param_error(&wrong().await, "form_password_incorrect", "password");
    }
    server.browser().sign_in("lock@example.com", PASSWORD).await;
    for _ in 0..2 {
        assert_param_error(&wrong().await, "form_password_incorrect", "password");
    }
    assert_eq!(
        admin.get(&format!("/v1/users/{id}")).await.body["locked"],
        false
    );
    server.browser().sign_in("lock@example.com", PASSWORD).await;

    // Three in a row lock the account; the right password is then refused too.
    for _ in 0..3 {
        assert_param_error(&wrong().await, "form_password_incorrect", "password");
    }
    let r = server
        .browser()
        .sign_in_raw("lock@example.com", PASSWORD)
        .await;
    assert_error(&r, 403, "user_locked");
    assert!(!r.body.to_string().contains(PASSWORD));
    assert_error(&wrong().await, 403, "user_locked");
    let u = admin.get(&format!("/v1/users/{id}")).await.body;
    assert_eq!(u["locked"], true);
    assert_eq!(u["lockout_expires_in_seconds"], 600);
    // Also in the two-step flow.
    let browser = server.browser();
    let r = browser
        .post(
            "/v1/client/sign_ins",
            json!({"identifier": "lock@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sia = r.body["response"]["id"].as_str().unwrap().to_string();
    let r = browser
        .post(
            &format!("/v1/client/sign_ins/{sia}/attempt_first_factor"),
            json!({"strategy": "password", "password": PASSWORD}),
        )
        .await;
    assert_error(&r, 403, "user_locked");

    // The countdown follows the clock; after the duration the right password works.
    server.clock.advance(4 * MINUTE);
    let u = admin.get(&format!("/v1/users/{id}")).await.body;
    assert_eq!(u["lockout_expires_in_seconds"], 360);
    assert_error(
        &server
            .browser()
            .sign_in_raw("lock@example.com", PASSWORD)
            .await,
        403,
        "user_locked",
    );
    server.clock.advance(6 * MINUTE + 1000);
    let u = admin.get(&format!("/v1/users/{id}")).await.body;
    assert_eq!(u["locked"], false);
    assert_eq!(u["lockout_expires_in_seconds"], Value::Null);
    server.browser().sign_in("lock@example.com", PASSWORD).await;
    // The count started over: two failures do not lock again.
    for _ in 0..2 {
        assert_param_error(&wrong().await, "form_password_incorrect", "password");
    }
    server.browser().sign_in("lock@example.com", PASSWORD).await;
    server.stop().await;
}

async fn admin_unlock_clears_a_failed_password_lockout(db: DbKind) {
    let toml = format!(
        "{}[auth.lockout]\nmax_failed_attempts = 3\n",
        support::DEFAULT_TEST_TOML
    );
    let server = TestServer::start_with(db, &toml).await;
    let id = server.create_user("unlock@example.com", PASSWORD).await;
    for _ in 0..3 {
        let r = server
            .browser()
            .sign_in_raw("unlock@example.com", "wrong password!")
            .await;
        assert_param_error(&r, "form_password_incorrect", "password");
    }
    assert_error(
        &server
            .browser()
            .sign_in_raw("unlock@example.com", PASSWORD)
            .await,
        403,
        "user_locked",
    );
    let u = server.admin().get(&format!("/v1/users/{id}")).await.body;
    assert_eq!(
        u["lockout_expires_in_seconds"], 3600,
        "the default duration is one hour"
    );
    let r = server
        .admin()
        .post(&format!("/v1/users/{id}/unlock"), json!({}))
        .await;
    assert_eq!(r.body["locked"], false);
    assert_eq!(r.body["lockout_expires_in_seconds"], Value::Null);
    server
        .browser()
        .sign_in("unlock@example.com", PASSWORD)
        .await;
    server.stop().await;
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn enumeration_protection_makes_unknown_identifiers_indistinguishable(db: DbKind) {
    let toml = "[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = false\nprotect_against_enumeration = true\n";
    let server = TestServer::start_with(db, toml).await;
    server.create_user("known@example.com", PASSWORD).await;
    let wrong = "definitely not it";

    // One call: identical status and error body.
    let known = server
        .browser()
        .sign_in_raw("known@example.com", wrong)
        .await;
    let unknown = server
        .browser()
        .sign_in_raw("unknown@example.com", wrong)
        .await;
    assert_param_error(&known, "form_password_incorrect", "password");
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body, "same error body");
    // Usernames too.
    let unknown_name = server.browser().sign_in_raw("no_such_user", wrong).await;
    assert_eq!(
        (unknown_name.status, &unknown_name.body),
        (known.status, &known.body)
    );

    // Two steps: the sign-in object after the identifier, and after the password, look alike.
    let mut shapes = Vec::new();
    // A user with no password (created by an administrator) must look the same too.
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["nopass@example.com"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for identifier in [
        "known@example.com",
        "unknown@example.com",
        "nopass@example.com",
    ] {
        let browser = server.browser();
        let r = browser
            .post("/v1/client/sign_ins", json!({ "identifier": identifier }))
            .await;
        assert_eq!(r.status, 200, "{identifier}: {}", r.body);
        assert_eq!(
            r.body["response"]["status"], "needs_first_factor",
            "{identifier}"
        );
        let id = r.body["response"]["id"].as_str().unwrap().to_string();
        let r2 = browser
            .post(
                &format!("/v1/client/sign_ins/{id}/attempt_first_factor"),
                json!({"strategy": "password", "password": wrong}),
            )
            .await;
        let client = browser.get("/v1/client").await;
        let fetched = browser.get(&format!("/v1/client/sign_ins/{id}")).await;
        shapes.push((
            shape(&r.body),
            r2.status,
            r2.body.clone(),
            shape(&client.body["response"]["sign_in"]),
            shape(&fetched.body),
            r.body["response"]["supported_first_factors"].clone(),
        ));
    }
    assert_eq!(
        shapes[0], shapes[1],
        "a known and an unknown identifier must look alike"
    );
    assert_eq!(
        shapes[0], shapes[2],
        "a passwordless user looks like the others"
    );

    // Comparable time: argon2 dominates both.
    let known_browser = server.browser();
    let unknown_browser = server.browser();
    // Warm-up (the dummy digest is made on first use).
    known_browser.sign_in_raw("known@example.com", wrong).await;
    unknown_browser
        .sign_in_raw("unknown@example.com", wrong)
        .await;
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for i in 0..8 {
        let t = Instant::now();
        let r = unknown_browser
            .sign_in_raw(&format!("unknown{i}@example.com"), wrong)
            .await;
        unknown_times.push(t.elapsed());
        assert_eq!(r.status, 422);
        let t = Instant::now();
        let r = known_browser.sign_in_raw("known@example.com", wrong).await;
        known_times.push(t.elapsed());
        assert_eq!(r.status, 422);
    }
    let (k, u) = (median(known_times), median(unknown_times));
    assert!(
        u.as_secs_f64() >= 0.5 * k.as_secs_f64(),
        "unknown identifiers answer faster: {u:?} vs {k:?}"
    );

    // The real user still signs in.
    server
        .browser()
        .sign_in("known@example.com", PASSWORD)
        .await;
    server.stop().await;
}

async fn unknown_identifier_without_protection_is_identifier_not_found(db: DbKind) {
    let server = TestServer::start(db).await;
    server.create_user("known@example.com", PASSWORD).await;
    for identifier in ["unknown@example.com", "no_such_user", "+14155550000"] {
        let r = server.browser().sign_in_raw(identifier, PASSWORD).await;
        if identifier.starts_with('+') {
            // Phone numbers are not an identifier by default.
            assert_param_error(&r, "form_param_format_invalid", "identifier");
        } else {
            assert_param_error(&r, "form_identifier_not_found", "identifier");
        }
    }
    let r = server
        .browser()
        .post(
            "/v1/client/sign_ins",
            json!({"identifier": "unknown@example.com"}),
        )
        .await;
    assert_param_error(&r, "form_identifier_not_found", "identifier");
    let r = server
        .browser()
        .sign_in_raw("known@example.com", "wrong password")
        .await;
    assert_param_error(&r, "form_password_incorrect", "password");
    server.stop().await;
}
