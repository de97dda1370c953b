//! JWT templates and custom session claims, end to end: the Backend API that manages
//! them, what is stored, the tokens minted through both APIs, verification with Node's
//! `jose` (instance JWKS, shared HS256 secrets, PEM public keys) and Hasura's and
//! Supabase's formats, and session claims changed through one process reaching another.

mod process_support;
mod support;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use sqlx::Row;
use support::{
    assert_error_shape, claims, verify_template_with_node_jose, Browser, DbKind, Resp, TestServer,
    DEFAULT_TEST_TOML, PASSWORD,
};

both_dbs!(
    templates_are_managed_and_checked,
    signing_keys_are_sealed_and_never_shown,
    template_tokens_render_claims_through_both_apis,
    template_tokens_need_an_active_session,
    custom_keys_sign_and_verify_with_jose,
    presets_match_hasura_and_supabase,
    session_claims_from_the_configuration,
    session_claims_through_the_backend_api,
);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");
const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

fn header(jwt: &str) -> Value {
    let (h, _) = gatehouse::crypto::jws::decode_unverified(jwt).expect("a JWS");
    serde_json::to_value(h).unwrap()
}

fn jwt(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["jwt"].as_str().expect("a jwt").to_string()
}

#[track_caller]
fn assert_refused(r: &Resp, code: &str, param: &str) {
    assert_eq!(r.status, 422, "{}", r.body);
    assert_error_shape(&r.body);
    assert_eq!(r.error_code(), code, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["meta"]["param_name"], param,
        "{}",
        r.body
    );
}

/// A user with names, metadata of every kind, and a signed-in browser.
async fn ada(server: &TestServer) -> (String, Browser, String) {
    let r = server
        .admin()
        .post(
            "/v1/users",
            json!({
                "email_address": ["ada@example.com"],
                "password": PASSWORD,
                "username": "ada",
                "first_name": "Ada",
                "public_metadata": {
                    "level": 7,
                    "beta": true,
                    "team": {"name": "core", "tags": ["a", "b"]},
                    "roles": ["editor", "viewer"],
                },
                "private_metadata": {"secret": "hunter2-private-value"},
                "unsafe_metadata": {"theme": "dark"},
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user = r.body["id"].as_str().unwrap().to_string();
    let browser = server.browser();
    let session = browser.sign_in("ada@example.com", PASSWORD).await;
    (user, browser, session)
}

/// The id of the template named `name`.
async fn template_id(server: &TestServer, name: &str) -> String {
    let list = server.admin().get("/v1/jwt_templates?limit=500").await.body;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name}: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn create(server: &TestServer, body: Value) -> Value {
    let r = server.admin().post("/v1/jwt_templates", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn templates_are_managed_and_checked(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();

    // Create, read, list, update, delete.
    let t = create(
        &server,
        json!({"name": "backend", "claims": {"role": "{{user.public_metadata.role || 'user'}}"}}),
    )
    .await;
    let id = t["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("jtmp_") && id.len() == 5 + 27, "{id}");
    assert_eq!(t["object"], "jwt_template");
    assert_eq!(t["name"], "backend");
    assert_eq!(
        t["claims"],
        json!({"role": "{{user.public_metadata.role || 'user'}}"})
    );
    assert_eq!(t["lifetime"], 60);
    assert_eq!(t["allowed_clock_skew"], 5);
    assert_eq!(
        t["signing_algorithm"], "RS256",
        "the instance key's algorithm"
    );
    assert_eq!(t["custom_signing_key"], false);
    assert!(t["created_at"].is_i64() && t["updated_at"] == t["created_at"]);
    assert!(t.get("signing_key").is_none());

    assert_eq!(admin.get(&format!("/v1/jwt_templates/{id}")).await.body, t);
    let list = admin.get("/v1/jwt_templates").await;
    assert_eq!(list.body["total_count"], 1);
    assert_eq!(list.body["data"][0], t);

    server.clock.advance(1000);
    let r = admin
        .patch(
            &format!("/v1/jwt_templates/{id}"),
            json!({"name": "backend-v2", "lifetime": 30, "allowed_clock_skew": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "backend-v2");
    assert_eq!(r.body["lifetime"], 30);
    assert_eq!(r.body["allowed_clock_skew"], 0);
    assert_eq!(r.body["claims"], t["claims"], "absent fields stay");
    assert_eq!(r.body["created_at"], t["created_at"]);
    assert!(r.body["updated_at"].as_i64() > t["updated_at"].as_i64());
    let r = admin
        .patch(
            &format!("/v1/jwt_templates/{id}"),
            json!({"claims": {"a": 1}, "lifetime": 315_360_000, "allowed_clock_skew": 300}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["claims"], json!({"a": 1}));
    assert_eq!(r.body["lifetime"], 315_360_000, "ten years is the most");

    // Names are unique, case-insensitively.
    let r = admin
        .post(
            "/v1/jwt_templates",
            json!({"name": "Backend-V2", "claims": {}}),
        )
        .await;
    assert_refused(&r, "duplicate_record", "name");
    let other = create(&server, json!({"name": "other"})).await;
    assert_eq!(other["claims"], json!({}), "claims default to none");
    let r = admin
        .patch(
            &format!("/v1/jwt_templates/{}", other["id"].as_str().unwrap()),
            json!({"name": "backend-v2"}),
        )
        .await;
    assert_refused(&r, "duplicate_record", "name");

    // Presets.
    let hasura = create(&server, json!({"preset": "hasura"})).await;
    assert_eq!(hasura["name"], "hasura", "named after the preset");
    assert_eq!(
        hasura["claims"],
        json!({"https://hasura.io/jwt/claims": {
            "x-hasura-user-id": "{{user.id}}",
            "x-hasura-default-role": "user",
            "x-hasura-allowed-roles": ["user"],
        }})
    );
    assert_eq!(hasura["signing_algorithm"], "RS256");
    let r = admin
        .post(
            "/v1/jwt_templates",
            json!({"name": "sb", "preset": "supabase"}),
        )
        .await;
    assert_refused(&r, "form_param_missing", "signing_key");
    let r = admin
        .post(
            "/v1/jwt_templates",
            json!({"name": "sb", "preset": "supabase", "signing_key": SECRET, "signing_algorithm": "RS256"}),
        )
        .await;
    assert_refused(&r, "form_param_format_invalid", "signing_algorithm");
    let supabase = create(
        &server,
        json!({"name": "supabase", "preset": "supabase", "signing_key": SECRET, "lifetime": 3600}),
    )
    .await;
    assert_eq!(supabase["signing_algorithm"], "HS256");
    assert_eq!(supabase["custom_signing_key"], true);
    assert_eq!(supabase["claims"]["role"], "authenticated");
    assert_eq!(supabase["claims"]["aud"], "authenticated");
    assert_eq!(supabase["lifetime"], 3600);
    let r = admin
        .post("/v1/jwt_templates", json!({"name": "x", "preset": "auth0"}))
        .await;
    assert_refused(&r, "form_param_format_invalid", "preset");
    let r = admin
        .post(
            "/v1/jwt_templates",
            json!({"name": "x", "preset": "hasura", "claims": {"a": 1}}),
        )
        .await;
    assert_refused(&r, "form_param_format_invalid", "claims");

    // Reserved claims, bad shortcodes, private metadata, claims that are not an object.
    for reserved in ["iss", "sub", "iat", "exp", "nbf", "sid", "azp", "jti"] {
        let r = admin
            .post(
                "/v1/jwt_templates",
                json!({"name": "r", "claims": {reserved: "x"}}),
            )
            .await;
        assert_refused(&r, "form_param_format_invalid", "claims");
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`claims.{reserved}`")) && message.contains("reserved"),
            "{message}"
        );
    }
    for (claims, words) in [
        (
            json!({"role": "{{user.public_metadata.role || 'user'"}),
            "`claims.role`: at character 1: this shortcode is not closed",
        ),
        (
            json!({"n": {"list": ["ok", "x {{user.id ||}}"]}}),
            "`claims.n.list[1]`: at character 15: expected a value after `||`",
        ),
        (
            json!({"u": "{{user.nickname}}"}),
            "unknown field `user.nickname`",
        ),
        (
            json!({"p": "{{user.private_metadata.secret}}"}),
            "private_metadata",
        ),
        (
            json!(["not", "an", "object"]),
            "claims must be a JSON object",
        ),
        (json!("{{user.id}}"), "claims must be a JSON object"),
    ] {
        let r = admin
            .post(
                "/v1/jwt_templates",
                json!({"name": "bad", "claims": claims}),
            )
            .await;
        assert_refused(&r, "form_param_format_invalid", "claims");
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{claims}: {message}");
    }
    let r = admin
        .patch(
            &format!("/v1/jwt_templates/{id}"),
            json!({"claims": {"exp": 1}}),
        )
        .await;
    assert_refused(&r, "form_param_format_invalid", "claims");

    // Out-of-range and mistyped numbers, and bad names.
    for (field, value) in [
        ("lifetime", json!(29)),
        ("lifetime", json!(315_360_001)),
        ("lifetime", json!(-60)),
        ("lifetime", json!("60")),
        ("lifetime", json!(1.5)),
        ("allowed_clock_skew", json!(-1)),
        ("allowed_clock_skew", json!(301)),
        ("allowed_clock_skew", json!(true)),
    ] {
        let mut body = json!({"name": "range"});
        body[field] = value.clone();
        let r = admin.post("/v1/jwt_templates", body).await;
        assert_refused(&r, "form_param_format_invalid", field);
        let mut patch = json!({});
        patch[field] = value;
        let r = admin.patch(&format!("/v1/jwt_templates/{id}"), patch).await;
        assert_refused(&r, "form_param_format_invalid", field);
    }
    let r = admin.post("/v1/jwt_templates", json!({"claims": {}})).await;
    assert_refused(&r, "form_param_missing", "name");
    for name in [
        json!(""),
        json!("has space"),
        json!("slash/name"),
        json!("é"),
        json!("-dash-first"),
        json!("n".repeat(65)),
        json!(7),
    ] {
        let r = admin.post("/v1/jwt_templates", json!({"name": name})).await;
        assert_refused(&r, "form_param_format_invalid", "name");
    }
    create(&server, json!({"name": "n".repeat(64)})).await;
    let r = admin
        .post("/v1/jwt_templates", json!({"name": "x", "unknown": 1}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);

    // Signing keys and algorithms that cannot work.
    for (body, code, param, words) in [
        (
            json!({"signing_algorithm": "HS256"}),
            "form_param_missing",
            "signing_key",
            "",
        ),
        (
            json!({"signing_algorithm": "ES256"}),
            "form_param_format_invalid",
            "signing_algorithm",
            "instance key (RS256)",
        ),
        (
            json!({"signing_algorithm": "none", "signing_key": SECRET}),
            "form_param_format_invalid",
            "signing_algorithm",
            "must be one of",
        ),
        (
            json!({"signing_algorithm": "HS512", "signing_key": SECRET}),
            "form_param_format_invalid",
            "signing_algorithm",
            "must be one of",
        ),
        (
            json!({"signing_key": ""}),
            "form_param_format_invalid",
            "signing_key",
            "empty",
        ),
        (
            json!({"signing_algorithm": "HS256", "signing_key": ""}),
            "form_param_format_invalid",
            "signing_key",
            "empty",
        ),
        (
            json!({"signing_key": "too-short"}),
            "form_param_format_invalid",
            "signing_key",
            "at least 32 bytes",
        ),
        (
            json!({"signing_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
            "form_param_format_invalid",
            "signing_key",
            "private key",
        ),
        (
            json!({"signing_key": fixture("rsa2048.pub.pem")}),
            "form_param_format_invalid",
            "signing_key",
            "not a PEM private key",
        ),
        (
            json!({"signing_algorithm": "RS256", "signing_key": fixture("p256.sec1.pem")}),
            "form_param_format_invalid",
            "signing_key",
            "RSA",
        ),
        (
            json!({"signing_algorithm": "ES256", "signing_key": fixture("rsa2048.pkcs8.pem")}),
            "form_param_format_invalid",
            "signing_key",
            "P-256",
        ),
        (
            json!({"signing_algorithm": "HS256", "signing_key": fixture("rsa2048.pkcs8.pem")}),
            "form_param_format_invalid",
            "signing_key",
            "not a PEM key",
        ),
        (
            json!({"signing_algorithm": "RS256", "signing_key": SECRET}),
            "form_param_format_invalid",
            "signing_key",
            "PEM private key",
        ),
        (
            json!({"signing_key": fixture("rsa1024.pkcs8.pem")}),
            "form_param_format_invalid",
            "signing_key",
            "2048",
        ),
        (
            json!({"signing_key": fixture("p384.sec1.pem")}),
            "form_param_format_invalid",
            "signing_key",
            "P-256",
        ),
    ] {
        let mut body = body;
        body["name"] = json!("keyed");
        let r = admin.post("/v1/jwt_templates", body.clone()).await;
        assert_refused(&r, code, param);
        let text = r.body.to_string();
        assert!(text.contains(words), "{body}: {text}");
        assert!(!text.contains("BEGIN"), "errors never echo a key: {text}");
    }
    // Naming the instance's own algorithm without a key is the instance key.
    let same = create(
        &server,
        json!({"name": "same", "signing_algorithm": "RS256"}),
    )
    .await;
    assert_eq!(same["custom_signing_key"], false);

    // Delete.
    let r = admin.delete(&format!("/v1/jwt_templates/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"object": "jwt_template", "id": id, "deleted": true})
    );
    for r in [
        admin.get(&format!("/v1/jwt_templates/{id}")).await,
        admin.delete(&format!("/v1/jwt_templates/{id}")).await,
        admin
            .patch(&format!("/v1/jwt_templates/{id}"), json!({"lifetime": 60}))
            .await,
    ] {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.error_code(), "resource_not_found");
    }
    let list = admin.get("/v1/jwt_templates?limit=2&offset=1").await;
    assert_eq!(list.body["total_count"], 5, "{}", list.body);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    assert_refused(
        &admin.get("/v1/jwt_templates?limit=501").await,
        "form_param_format_invalid",
        "limit",
    );
    let r = reqwest::Client::new()
        .get(format!("{}/v1/jwt_templates", server.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the Backend API needs the secret key");
    server.stop().await;
}

async fn signing_keys_are_sealed_and_never_shown(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let pem = fixture("rsa2048.pkcs8.pem");
    // Every base64 line of the PEM is key material.
    let pem_lines: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    let hs = create(&server, json!({"name": "hs", "signing_key": SECRET})).await;
    let rs = create(&server, json!({"name": "rs", "signing_key": pem})).await;
    assert_eq!(hs["signing_algorithm"], "HS256", "a secret is HS256");
    assert_eq!(rs["signing_algorithm"], "RS256", "an RSA key is RS256");
    let hs_id = hs["id"].as_str().unwrap().to_string();
    let rs_id = rs["id"].as_str().unwrap().to_string();

    let shown = [
        hs.to_string(),
        rs.to_string(),
        admin.get("/v1/jwt_templates").await.body.to_string(),
        admin
            .get(&format!("/v1/jwt_templates/{hs_id}"))
            .await
            .body
            .to_string(),
        admin
            .patch(
                &format!("/v1/jwt_templates/{rs_id}"),
                json!({"lifetime": 90}),
            )
            .await
            .body
            .to_string(),
    ];
    for text in &shown {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&B64.encode(SECRET)), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        for line in &pem_lines {
            assert!(!text.contains(line), "{text}");
        }
        assert!(text.contains("\"custom_signing_key\":true"), "{text}");
    }

    // In the database: sealed with the master key, bound to the template's row.
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&server.db.url)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT id, name, name_normalized, claims, COALESCE(signing_algorithm, ''), \
         COALESCE(sealed_signing_key, '') FROM jwt_templates ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let master = gatehouse::crypto::MasterKey::from_base64(support::TEST_MASTER_KEY).unwrap();
    for (row, plain) in rows.iter().zip([SECRET, pem.as_str()]) {
        let id: String = row.get(0);
        let columns: Vec<String> = (0..6).map(|i| row.get::<String, _>(i)).collect();
        let all = columns.join("\n");
        assert!(!all.contains(SECRET), "{all}");
        assert!(!all.contains("PRIVATE KEY"), "{all}");
        for line in &pem_lines {
            assert!(!all.contains(line), "{all}");
        }
        let sealed = B64.decode(&columns[5]).expect("base64");
        let aad = format!("jwt_template:{id}:signing_key");
        assert_eq!(
            master.open(&sealed, aad.as_bytes()).unwrap(),
            plain.as_bytes(),
            "sealed with the master key"
        );
        assert!(
            master
                .open(&sealed, b"jwt_template:other:signing_key")
                .is_err(),
            "bound to its row"
        );
    }

    // Back to the instance key: the sealed key is gone.
    let r = admin
        .patch(
            &format!("/v1/jwt_templates/{hs_id}"),
            json!({"signing_key": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["custom_signing_key"], false);
    assert_eq!(r.body["signing_algorithm"], "RS256");
    let sealed: Option<String> =
        sqlx::query("SELECT sealed_signing_key FROM jwt_templates WHERE id = $1")
            .bind(&hs_id)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
    assert_eq!(sealed, None);
    server.stop().await;
}

async fn template_tokens_render_claims_through_both_apis(db: DbKind) {
    let server = TestServer::start(db).await;
    let (user, browser, session) = ada(&server).await;
    create(
        &server,
        json!({
            "name": "rich",
            "lifetime": 3600,
            "allowed_clock_skew": 17,
            "claims": {
                "uid": "{{user.id}}",
                "email": "{{user.primary_email_address}}",
                "verified": "{{user.email_verified}}",
                "level": "{{user.public_metadata.level}}",
                "beta": "{{user.public_metadata.beta}}",
                "team": "{{user.public_metadata.team}}",
                "roles": "{{user.public_metadata.roles}}",
                "deep": "{{user.public_metadata.team.tags.1}}",
                "greeting": "Hi {{user.first_name}} ({{user.username}}) of {{user.public_metadata.team}}",
                "role": "{{user.public_metadata.role || 'user'}}",
                "tier": "{{user.public_metadata.tier || 3}}",
                "trial": "{{user.public_metadata.trial || true}}",
                "named": "{{user.last_name || user.first_name}}",
                "missing": "{{user.public_metadata.nope}}",
                "last": "{{user.last_name}}",
                "org": "{{org.id}}",
                "session": "{{session.id}}",
                "theme": "{{user.unsafe_metadata.theme}}",
                "nested": {"list": ["{{user.id}}", 1, {"deeper": "{{user.public_metadata.level}}"}]},
                "static": "no shortcode here }}",
            },
        }),
    )
    .await;

    let r = browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/rich"),
            json!({}),
        )
        .await;
    let token = jwt(&r);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        2,
        "the bare token object: {}",
        r.body
    );
    assert_eq!(r.body["object"], "token");
    assert!(
        r.set_cookie("__session").is_none(),
        "a template token is not the session token"
    );
    assert!(r.set_cookie("__client_uat").is_some());

    let c = claims(&token);
    let iat = server.app.now() / 1000;
    assert_eq!(c["iss"], server.public_url.as_str());
    assert_eq!(c["sub"], user.as_str());
    assert_eq!(c["iat"], iat);
    assert_eq!(c["nbf"], iat - 17, "nbf = iat - allowed_clock_skew");
    assert_eq!(c["exp"], iat + 3600, "exp = iat + lifetime");
    assert_eq!(c["jti"].as_str().unwrap().len(), 20);
    assert_eq!(
        c["azp"],
        server.public_url.as_str(),
        "the requesting Origin"
    );
    for absent in ["sid", "v", "sts", "fva"] {
        assert!(c.get(absent).is_none(), "{absent} in {c}");
    }
    assert_eq!(c["uid"], user.as_str());
    assert_eq!(c["email"], "ada@example.com");
    assert_eq!(c["verified"], true);
    assert_eq!(c["level"], 7);
    assert_eq!(c["beta"], true);
    assert_eq!(c["team"], json!({"name": "core", "tags": ["a", "b"]}));
    assert_eq!(c["roles"], json!(["editor", "viewer"]));
    assert_eq!(c["deep"], "b");
    assert_eq!(
        c["greeting"],
        r#"Hi Ada (ada) of {"name":"core","tags":["a","b"]}"#
    );
    assert_eq!(c["role"], "user");
    assert_eq!(c["tier"], 3);
    assert_eq!(c["trial"], true);
    assert_eq!(c["named"], "Ada");
    for null in ["missing", "last", "org"] {
        assert!(c.get(null).is_some_and(Value::is_null), "{null}: {c}");
    }
    assert_eq!(c["session"], session.as_str());
    assert_eq!(c["theme"], "dark");
    assert_eq!(c["nested"], json!({"list": [user, 1, {"deeper": 7}]}));
    assert_eq!(c["static"], "no shortcode here }}");
    assert!(
        !c.to_string().contains("hunter2"),
        "private metadata never reaches a token"
    );

    // Signed with the instance key, verifiable against the JWKS by any JOSE library.
    let jwks = server.admin().get("/v1/jwks").await.body;
    let h = header(&token);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["kid"], jwks["keys"][0]["kid"]);
    let verified = verify_template_with_node_jose(
        &server.public_url,
        &token,
        &format!("jwks:{}/.well-known/jwks.json", server.public_url),
        false,
    )
    .expect("jose verifies the template token");
    assert_eq!(verified["claims"], c);

    // The Backend API mints the same claims, without azp; names match case-insensitively.
    let r = server
        .admin()
        .post(&format!("/v1/sessions/{session}/tokens/RICH"), json!({}))
        .await;
    let backend = claims(&jwt(&r));
    assert_eq!(r.body.as_object().unwrap().len(), 2, "{}", r.body);
    assert!(backend.get("azp").is_none());
    assert_ne!(backend["jti"], c["jti"]);
    let strip = |v: &Value| {
        let mut v = v.clone();
        for k in ["jti", "azp"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    assert_eq!(strip(&backend), strip(&c));

    // Changes to the user and to the template show in the next token.
    let r = server
        .admin()
        .patch(
            &format!("/v1/users/{user}/metadata"),
            json!({"public_metadata": {"role": "admin", "level": null}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/rich"),
            json!({}),
        )
        .await;
    let c = claims(&jwt(&r));
    assert_eq!(c["role"], "admin");
    assert_eq!(c["level"], Value::Null);
    let id = template_id(&server, "rich").await;
    let r = server
        .admin()
        .patch(
            &format!("/v1/jwt_templates/{id}"),
            json!({"claims": {"only": "{{user.username}}"}, "lifetime": 45}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/rich"),
            json!({}),
        )
        .await;
    let c = claims(&jwt(&r));
    assert_eq!(c["only"], "ada");
    assert!(c.get("uid").is_none());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 45);

    // A template that reads no user field, and one with no claims at all.
    create(
        &server,
        json!({"name": "sess", "claims": {"s": "{{session.id}}"}}),
    )
    .await;
    create(&server, json!({"name": "bare"})).await;
    let c = claims(&jwt(&browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/sess"),
            json!({}),
        )
        .await));
    assert_eq!(c["s"], session.as_str());
    let c = claims(&jwt(&browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/bare"),
            json!({}),
        )
        .await));
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["azp", "exp", "iat", "iss", "jti", "nbf", "sub"]);

    // The session token is not affected by templates.
    let s = claims(&jwt(&browser.mint(&session).await));
    assert!(s.get("only").is_none() && s.get("uid").is_none());
    assert_eq!(s["sid"], session.as_str());
    server.stop().await;
}

async fn template_tokens_need_an_active_session(db: DbKind) {
    let server = TestServer::start(db).await;
    let (_, browser, session) = ada(&server).await;
    create(&server, json!({"name": "t", "claims": {"a": 1}})).await;
    let path = format!("/v1/client/sessions/{session}/tokens/t");

    // Unknown templates, on both APIs.
    for r in [
        browser
            .post(
                &format!("/v1/client/sessions/{session}/tokens/nope"),
                json!({}),
            )
            .await,
        server
            .admin()
            .post(&format!("/v1/sessions/{session}/tokens/nope"), json!({}))
            .await,
    ] {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_error_shape(&r.body);
        assert_eq!(r.error_code(), "resource_not_found");
    }

    // The Origin rule, as for session tokens.
    let mut no_origin = Browser::new(&server.public_url, &server.public_url);
    no_origin.jar = browser.jar.clone();
    no_origin.http = browser.http.clone();
    no_origin.origin = None;
    let r = no_origin.post(&path, json!({})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error_code(), "origin_invalid");
    no_origin.origin = Some("https://evil.example".into());
    let r = no_origin.post(&path, json!({})).await;
    assert_eq!(r.error_code(), "origin_invalid");

    // Another client's session, and no client at all.
    let stranger = server.browser();
    stranger.get("/v1/client").await;
    let r = stranger.post(&path, json!({})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error_code(), "session_not_found");
    let r = reqwest::Client::new()
        .post(format!("{}{path}", server.public_url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    // An ended session mints nothing, on either API.
    let r = browser
        .post(&format!("/v1/client/sessions/{session}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = browser.post(&path, json!({})).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error_code(), "authentication_invalid");
    assert!(r
        .set_cookie("__client_uat")
        .is_some_and(|c| c.starts_with("__client_uat=0")));
    let r = server
        .admin()
        .post(&format!("/v1/sessions/{session}/tokens/t"), json!({}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_code(), "session_not_active");
    let r = server
        .admin()
        .post("/v1/sessions/sess_unknown/tokens/t", json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    server.stop().await;
}

async fn custom_keys_sign_and_verify_with_jose(db: DbKind) {
    let server = TestServer::start(db).await;
    let (user, browser, session) = ada(&server).await;
    let pub_pem = |name: &str| format!("{FIXTURES}/{name}");
    for (name, key, alg, verify_with) in [
        (
            "hs",
            SECRET.to_string(),
            "HS256",
            format!("secret:{SECRET}"),
        ),
        (
            "rs",
            fixture("rsa2048.pkcs1.pem"),
            "RS256",
            format!("spki:RS256:{}", pub_pem("rsa2048.pub.pem")),
        ),
        (
            "es",
            fixture("p256.sec1.pem"),
            "ES256",
            format!("spki:ES256:{}", pub_pem("p256.pub.pem")),
        ),
        (
            "ed",
            fixture("ed25519.pkcs8.pem"),
            "EdDSA",
            format!("spki:EdDSA:{}", pub_pem("ed25519.pub.pem")),
        ),
    ] {
        let t = create(
            &server,
            json!({
                "name": name,
                "signing_algorithm": alg,
                "signing_key": key,
                "claims": {"email": "{{user.primary_email_address}}"},
            }),
        )
        .await;
        assert_eq!(t["signing_algorithm"], alg);
        for r in [
            browser
                .post(
                    &format!("/v1/client/sessions/{session}/tokens/{name}"),
                    json!({}),
                )
                .await,
            server
                .admin()
                .post(&format!("/v1/sessions/{session}/tokens/{name}"), json!({}))
                .await,
        ] {
            let token = jwt(&r);
            let h = header(&token);
            assert_eq!(h, json!({"alg": alg, "typ": "JWT"}), "no instance kid");
            let verified =
                verify_template_with_node_jose(&server.public_url, &token, &verify_with, false)
                    .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(verified["claims"]["sub"], user.as_str());
            assert_eq!(verified["claims"]["email"], "ada@example.com");
            assert!(
                verify_template_with_node_jose(
                    &server.public_url,
                    &token,
                    &format!("jwks:{}/.well-known/jwks.json", server.public_url),
                    false,
                )
                .is_err(),
                "{alg}: the instance keys do not verify a custom key's token"
            );
        }
    }

    // A new secret takes effect at the next mint; the old one no longer verifies.
    let hs_id = template_id(&server, "hs").await;
    let new_secret = "another-shared-secret-of-more-than-32-bytes";
    let r = server
        .admin()
        .patch(
            &format!("/v1/jwt_templates/{hs_id}"),
            json!({"signing_key": new_secret}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = jwt(&browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/hs"),
            json!({}),
        )
        .await);
    verify_template_with_node_jose(
        &server.public_url,
        &token,
        &format!("secret:{new_secret}"),
        false,
    )
    .expect("the new secret verifies");
    assert!(verify_template_with_node_jose(
        &server.public_url,
        &token,
        &format!("secret:{SECRET}"),
        false
    )
    .is_err());

    // Back to the instance key: its kid, verifiable against the JWKS.
    let r = server
        .admin()
        .patch(
            &format!("/v1/jwt_templates/{hs_id}"),
            json!({"signing_key": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = jwt(&browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/hs"),
            json!({}),
        )
        .await);
    assert_eq!(header(&token)["alg"], "RS256");
    assert!(header(&token)["kid"].is_string());
    verify_template_with_node_jose(
        &server.public_url,
        &token,
        &format!("jwks:{}/.well-known/jwks.json", server.public_url),
        false,
    )
    .expect("the instance key verifies");
    server.stop().await;
}

async fn presets_match_hasura_and_supabase(db: DbKind) {
    let server = TestServer::start(db).await;
    let (user, browser, session) = ada(&server).await;
    create(&server, json!({"name": "hasura", "preset": "hasura"})).await;
    create(
        &server,
        json!({"name": "supabase", "preset": "supabase", "signing_key": SECRET}),
    )
    .await;

    // Hasura: its documented claims, verified against the JWKS like Hasura's jwt_secret
    // {"jwk_url": ".../.well-known/jwks.json"} does.
    let token = jwt(&browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/hasura"),
            json!({}),
        )
        .await);
    let verified = verify_template_with_node_jose(
        &server.public_url,
        &token,
        &format!("jwks:{}/.well-known/jwks.json", server.public_url),
        true,
    )
    .unwrap_or_else(|e| panic!("Hasura's format: {e}"));
    let ns = &verified["claims"]["https://hasura.io/jwt/claims"];
    assert_eq!(ns["x-hasura-user-id"], user.as_str());
    assert_eq!(ns["x-hasura-default-role"], "user");
    assert_eq!(ns["x-hasura-allowed-roles"], json!(["user"]));
    let allowed = ns["x-hasura-allowed-roles"].as_array().unwrap();
    assert!(allowed.contains(&ns["x-hasura-default-role"]));

    // The format check itself refuses what Hasura refuses.
    let id = template_id(&server, "hasura").await;
    let r = server
        .admin()
        .patch(
            &format!("/v1/jwt_templates/{id}"),
            json!({"claims": {"https://hasura.io/jwt/claims": {
                "x-hasura-user-id": "{{user.id}}",
                "x-hasura-default-role": "admin",
                "x-hasura-allowed-roles": ["user"],
            }}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bad = jwt(&browser
        .post(
            &format!("/v1/client/sessions/{session}/tokens/hasura"),
            json!({}),
        )
        .await);
    let e = verify_template_with_node_jose(
        &server.public_url,
        &bad,
        &format!("jwks:{}/.well-known/jwks.json", server.public_url),
        true,
    )
    .expect_err("a default role outside the allowed roles");
    assert!(e.contains("x-hasura-default-role"), "{e}");

    // Supabase: HS256 with the project's JWT secret, as PostgREST verifies it.
    let r = server
        .admin()
        .post(
            &format!("/v1/sessions/{session}/tokens/supabase"),
            json!({}),
        )
        .await;
    let token = jwt(&r);
    assert_eq!(header(&token), json!({"alg": "HS256", "typ": "JWT"}));
    let verified = verify_template_with_node_jose(
        &server.public_url,
        &token,
        &format!("secret:{SECRET}"),
        false,
    )
    .unwrap_or_else(|e| panic!("Supabase's secret: {e}"));
    let c = &verified["claims"];
    assert_eq!(c["sub"], user.as_str());
    assert_eq!(c["role"], "authenticated");
    assert_eq!(c["aud"], "authenticated");
    assert_eq!(c["email"], "ada@example.com");
    assert_eq!(c["phone"], "");
    assert_eq!(c["app_metadata"], json!({}));
    assert_eq!(c["user_metadata"], json!({}));
    assert!(verify_template_with_node_jose(
        &server.public_url,
        &token,
        "secret:a-different-secret-that-is-32-bytes-long",
        false
    )
    .is_err());
    server.stop().await;
}

async fn session_claims_from_the_configuration(db: DbKind) {
    let toml = format!(
        "{DEFAULT_TEST_TOML}[session]\nclaims = {{ role = \"{{{{user.public_metadata.role || 'user'}}}}\", \
         app = \"gatehouse\", uid = \"{{{{user.id}}}}\", sess = \"{{{{session.id}}}}\", \
         nested = {{ email = \"{{{{user.primary_email_address}}}}\" }} }}\n"
    );
    let server = TestServer::start_with(db, &toml).await;
    let (user, browser, session) = ada(&server).await;
    let c = claims(&jwt(&browser.mint(&session).await));
    assert_eq!(c["role"], "user");
    assert_eq!(c["app"], "gatehouse");
    assert_eq!(c["uid"], user.as_str());
    assert_eq!(c["sess"], session.as_str());
    assert_eq!(c["nested"], json!({"email": "ada@example.com"}));
    assert_eq!(c["sid"], session.as_str(), "the standard claims stay");
    assert_eq!(c["v"], 2);

    // The user is read at each mint: a new role shows in the next token.
    let r = server
        .admin()
        .patch(
            &format!("/v1/users/{user}/metadata"),
            json!({"public_metadata": {"role": "admin"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = claims(&jwt(&browser.mint(&session).await));
    assert_eq!(c["role"], "admin");
    let r = server
        .admin()
        .post(&format!("/v1/sessions/{session}/tokens"), json!({}))
        .await;
    assert_eq!(claims(&jwt(&r))["role"], "admin", "Backend API mints too");

    let r = server.admin().get("/v1/session_claims").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "session_claims");
    assert_eq!(r.body["source"], "config");
    assert_eq!(r.body["updated_at"], Value::Null);
    assert_eq!(
        r.body["claims"]["role"],
        "{{user.public_metadata.role || 'user'}}"
    );
    server.stop().await;
}

async fn session_claims_through_the_backend_api(db: DbKind) {
    let server = TestServer::start(db).await;
    let admin = server.admin();
    let (_, browser, session) = ada(&server).await;

    // By default: no claims, nothing read, the standard claims only.
    let r = admin.get("/v1/session_claims").await;
    assert_eq!(
        r.body,
        json!({"object": "session_claims", "claims": {}, "source": "config", "updated_at": null})
    );
    let r = browser.mint(&session).await;
    assert!(r.body.get("warnings").is_none(), "{}", r.body);
    let mut keys: Vec<String> = claims(&jwt(&r))
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["azp", "exp", "fva", "iat", "iss", "jti", "nbf", "sid", "sts", "sub", "v"]
    );

    // Set through the API: in effect in this process at once.
    let r = admin
        .put(
            "/v1/session_claims",
            json!({"claims": {"role": "{{user.public_metadata.role || 'member'}}", "level": "{{user.public_metadata.level}}"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["source"], "api");
    assert!(r.body["updated_at"].is_i64());
    assert_eq!(admin.get("/v1/session_claims").await.body, r.body);
    let c = claims(&jwt(&browser.mint(&session).await));
    assert_eq!(c["role"], "member");
    assert_eq!(c["level"], 7);

    // Refused: reserved claims, bad shortcodes, private metadata, wrong shapes.
    for reserved in [
        "iss", "sub", "iat", "exp", "nbf", "sid", "azp", "jti", "v", "sts", "fva", "act", "o",
    ] {
        let r = admin
            .put("/v1/session_claims", json!({"claims": {reserved: 1}}))
            .await;
        assert_refused(&r, "form_param_format_invalid", "claims");
        assert!(r.body.to_string().contains("reserved"), "{}", r.body);
    }
    for (body, code, words) in [
        (
            json!({"claims": {"role": "{{user.public_metadata.role"}}),
            "form_param_format_invalid",
            "`claims.role`: at character 1",
        ),
        (
            json!({"claims": {"p": "{{user.private_metadata}}"}}),
            "form_param_format_invalid",
            "private_metadata",
        ),
        (
            json!({"claims": [1]}),
            "form_param_format_invalid",
            "JSON object",
        ),
        (
            json!({"claims": "x"}),
            "form_param_format_invalid",
            "JSON object",
        ),
        (json!({}), "form_param_missing", "claims"),
    ] {
        let r = admin.put("/v1/session_claims", body.clone()).await;
        assert_refused(&r, code, "claims");
        assert!(r.body.to_string().contains(words), "{body}: {}", r.body);
    }
    let r = admin
        .put("/v1/session_claims", json!({"claims": {}, "extra": 1}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        claims(&jwt(&browser.mint(&session).await))["role"],
        "member",
        "refused changes change nothing"
    );

    // Larger than a cookie: issued, with a warning, on both APIs.
    let r = admin
        .put(
            "/v1/session_claims",
            json!({"claims": {"blob": "x".repeat(5000)}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = browser.mint(&session).await;
    let token = jwt(&r);
    assert!(token.len() > 4096);
    assert_eq!(r.body["object"], "token");
    let warnings = r.body["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].as_str().unwrap().contains("4096"),
        "{warnings:?}"
    );
    assert!(r.set_cookie("__session").is_some(), "still set");
    assert_eq!(claims(&token)["blob"].as_str().unwrap().len(), 5000);
    let r = admin
        .post(&format!("/v1/sessions/{session}/tokens"), json!({}))
        .await;
    assert!(jwt(&r).len() > 4096);
    assert_eq!(r.body["warnings"].as_array().map(Vec::len), Some(1));

    // Removed: back to the configured claims (none).
    let r = admin.delete("/v1/session_claims").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["source"], "config");
    assert_eq!(r.body["claims"], json!({}));
    let r = browser.mint(&session).await;
    assert!(r.body.get("warnings").is_none());
    assert!(claims(&jwt(&r)).get("blob").is_none());
    server.stop().await;
}

// ---------------------------------------------------------------- two processes

/// A caller without cookies: the client travels as `Authorization: Client`.
async fn call(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    client: Option<&str>,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = http.post(format!("{base}{path}")).json(&body);
    if let Some(c) = client {
        rb = rb.header("authorization", format!("Client {c}"));
    }
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_claims_set_through_one_process_reach_another() {
    use process_support::{ProcEnv, Server};
    if !support::db::postgres_available("jwt_templates").await {
        return;
    }
    let db = support::TestDb::create(DbKind::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    let (a, b) = tokio::join!(Server::start(&env), Server::start(&env));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r = a
        .admin()
        .post(
            "/v1/users",
            json!({"email_address": ["two@example.com"], "password": PASSWORD,
                   "public_metadata": {"role": "editor"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, headers, body) = call(
        &http,
        &a.public_url,
        "/v1/client/sign_ins",
        None,
        json!({"identifier": "two@example.com", "strategy": "password", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let client = headers["gatehouse-client"].to_str().unwrap().to_string();
    let session = body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mint = |server: &Server| {
        let (http, base, client, path) = (
            http.clone(),
            server.public_url.clone(),
            client.clone(),
            format!("/v1/client/sessions/{session}/tokens"),
        );
        async move {
            let (status, _, body) = call(&http, &base, &path, Some(&client), json!({})).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let role_of = |body: &Value| claims(body["jwt"].as_str().unwrap())["role"].clone();
    assert_eq!(role_of(&mint(&b).await), Value::Null);

    // Set through A: A at once, B within a few seconds.
    let r = a
        .admin()
        .put(
            "/v1/session_claims",
            json!({"claims": {"role": "{{user.public_metadata.role || 'user'}}"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = Instant::now();
    assert_eq!(role_of(&mint(&a).await), "editor");
    loop {
        if role_of(&mint(&b).await) == "editor" {
            break;
        }
        assert!(
            set.elapsed() < Duration::from_secs(10),
            "B does not use the claims set through A after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.admin().get("/v1/session_claims").await.body["source"],
        "api"
    );

    // Removed through B: A goes back to its configuration (no claims).
    let r = b.admin().delete("/v1/session_claims").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let removed = Instant::now();
    loop {
        if role_of(&mint(&a).await).is_null() {
            break;
        }
        assert!(
            removed.elapsed() < Duration::from_secs(10),
            "A still uses removed claims after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A token too large for a cookie is logged (without the token), and issued.
    let r = a
        .admin()
        .put(
            "/v1/session_claims",
            json!({"claims": {"blob": "y".repeat(5000)}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = mint(&a).await;
    let token = body["jwt"].as_str().unwrap().to_string();
    assert_eq!(body["warnings"].as_array().map(Vec::len), Some(1), "{body}");
    let logged = Instant::now();
    let line = loop {
        let out = a.stdout();
        if let Some(line) = out
            .lines()
            .find(|l| l.contains("larger than a browser keeps in a cookie"))
        {
            break line.to_string();
        }
        assert!(
            logged.elapsed() < Duration::from_secs(5),
            "no warning logged:\n{out}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let entry: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(entry["level"], "WARN", "{line}");
    assert!(!a.output().contains(&token), "the token is never logged");
    assert!(!a.output().contains(&"y".repeat(100)), "nor its claims");
}
