//! Enterprise SSO over HTTP against a real SAML identity provider (`saml_support`:
//! Python with signxml, on 127.0.0.1), on SQLite and PostgreSQL: SP-initiated sign-in of
//! a new user (just-in-time), a returning user, linking by an owned domain and refusing
//! a foreign one; the attack corpus (signature wrapping XSW1–XSW8, comments, foreign
//! keys, unsigned or misreferenced signatures, time, audience, recipient, destination,
//! InResponseTo, status, replay, two assertions, DOCTYPE and entities, SHA-1), each
//! refused with no session; the completion bound to the browser's client; unsolicited
//! responses; connections through the Backend API with bad input; signed requests.

mod pages_support;
mod process_support;
mod saml_support;
mod support;

use gatehouse::saml::keys::{parse_certificates, SignatureAlgorithm};
use process_support::{ProcEnv, Server};
use saml_support::{IdpPost, IdpUser, TestIdp};
use serde_json::{json, Value};
use support::{assert_error_shape, Browser, DbKind, TestDb, TestServer, PASSWORD};

const APP: &str = "http://app.test";

fn sso_callback() -> String {
    format!("{APP}/sso-callback")
}

fn dashboard() -> String {
    format!("{APP}/dashboard")
}

async fn server(db: DbKind) -> TestServer {
    let toml = format!(
        "allowed_origins = [\"{APP}\"]\n[rate_limits]\nenabled = false\n[auth]\nverify_email_at_sign_up = false\n"
    );
    TestServer::start_with(db, &toml).await
}

/// A connection for `domains` made from the IdP's metadata, with `extra` fields.
async fn connection(server: &TestServer, idp: &TestIdp, domains: &[&str], extra: Value) -> Value {
    let mut body = json!({
        "name": "Acme Corp",
        "domains": domains,
        "idp_metadata": idp.metadata().await,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = server.admin().post("/v1/saml_connections", body).await;
    assert_eq!(r.status, 200, "create connection: {}", r.body);
    r.body
}

/// Starts an enterprise SSO sign-in; returns the identity provider URL.
async fn start(b: &Browser, email: &str) -> String {
    let r = b
        .post(
            "/v1/client/sign_ins",
            json!({
                "strategy": "enterprise_sso",
                "identifier": email,
                "redirect_url": sso_callback(),
                "action_complete_redirect_url": dashboard(),
            }),
        )
        .await;
    assert_eq!(r.status, 200, "start: {}", r.body);
    let ff = &r.body["response"]["first_factor_verification"];
    assert_eq!(ff["strategy"], "enterprise_sso", "{}", r.body);
    assert_eq!(ff["status"], "unverified");
    ff["external_verification_redirect_url"]
        .as_str()
        .expect("an identity provider URL")
        .to_string()
}

/// The identity provider's cross-site POST: no cookies, the IdP's Origin. Returns the
/// status and `Location`.
async fn post_acs(idp: &TestIdp, post: &IdpPost) -> (u16, String) {
    post_acs_at(idp, &post.acs_url, post).await
}

/// [`post_acs`] to another address (a second process behind the same public URL).
async fn post_acs_at(idp: &TestIdp, acs_url: &str, post: &IdpPost) -> (u16, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(acs_url)
        .header("origin", &idp.url)
        .form(&post.form())
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), location)
}

/// The browser follows a `303` to the server (its cookies go along); returns the next
/// `Location`.
async fn follow(b: &Browser, location: &str) -> String {
    let path = location
        .strip_prefix(&b.base)
        .unwrap_or_else(|| panic!("{location} is not on the server"));
    let r = b.send(b.request(reqwest::Method::GET, path)).await;
    assert_eq!(r.status, 303, "{path}: {}", r.body);
    r.headers["location"].to_str().unwrap().to_string()
}

/// A whole SP-initiated trip; returns where the browser ends up.
async fn round_trip(
    b: &Browser,
    idp: &TestIdp,
    email: &str,
    user: &IdpUser,
    controls: &[(&str, &str)],
) -> String {
    let url = start(b, email).await;
    let post = idp.sign_in(&url, user, controls).await;
    let (status, location) = post_acs(idp, &post).await;
    assert_eq!(status, 303, "ACS answered {status}");
    if location.starts_with(&format!("{}/v1/saml/complete", b.base)) {
        follow(b, &location).await
    } else {
        location
    }
}

async fn sessions(b: &Browser) -> Vec<Value> {
    let r = b.get("/v1/client").await;
    r.body["response"]["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn user(server: &TestServer, id: &str) -> Value {
    let r = server.admin().get(&format!("/v1/users/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn user_count(server: &TestServer) -> u64 {
    server.admin().get("/v1/users").await.body["total_count"]
        .as_u64()
        .unwrap()
}

/// (name, IdP controls, the refusal reason the browser is shown)
type AttackCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

fn failed(reason: &str) -> String {
    format!("{APP}/sso-callback?__gatehouse_status=failed&__gatehouse_reason={reason}")
}

async fn new_user_then_returning_user(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    let c = connection(&server, &idp, &["acme.test"], json!({})).await;
    let connection_id = c["id"].as_str().unwrap();
    assert!(connection_id.starts_with("samlc_"), "{c}");
    assert_eq!(c["object"], "saml_connection");
    assert_eq!(c["idp_entity_id"], idp.entity_id.as_str());
    assert_eq!(c["idp_sso_url"], idp.sso_url.as_str());
    assert_eq!(
        c["acs_url"],
        format!("{}/v1/saml/acs/{connection_id}", server.public_url)
    );
    assert_eq!(
        c["sp_entity_id"],
        format!("{}/v1/saml/metadata/{connection_id}", server.public_url)
    );

    let b = server.browser();
    let ada = IdpUser::new("ada@acme.test");
    let landed = round_trip(&b, &idp, "Ada@Acme.test", &ada, &[]).await;
    assert_eq!(landed, dashboard());
    let active = sessions(&b).await;
    assert_eq!(active.len(), 1, "signed in");
    let user_id = active[0]["user_id"].as_str().unwrap().to_string();
    let u = user(&server, &user_id).await;
    assert_eq!(u["email_addresses"][0]["email_address"], "ada@acme.test");
    assert_eq!(
        u["email_addresses"][0]["verification"]["status"],
        "verified"
    );
    assert_eq!(u["first_name"], "Ada");
    assert_eq!(u["last_name"], "Lovelace");
    assert_eq!(u["password_enabled"], false);
    let account = &u["saml_accounts"][0];
    assert_eq!(account["object"], "saml_account");
    assert_eq!(account["saml_connection_id"], connection_id);
    assert_eq!(account["name_id"], "ada@acme.test");
    assert_eq!(account["email_address"], "ada@acme.test");
    // A token minted from the session names the user.
    let sid = active[0]["id"].as_str().unwrap();
    let t = b
        .post(&format!("/v1/client/sessions/{sid}/tokens"), json!({}))
        .await;
    assert_eq!(t.status, 200, "{}", t.body);

    // Returning: the same identity signs the same user in, nothing new is created.
    let users_before = user_count(&server).await;
    let b2 = server.browser();
    let landed = round_trip(&b2, &idp, "ada@acme.test", &ada, &[]).await;
    assert_eq!(landed, dashboard());
    let again = sessions(&b2).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["user_id"], user_id.as_str());
    assert_eq!(user_count(&server).await, users_before);
    assert_eq!(
        user(&server, &user_id).await["saml_accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn links_an_owned_domain_and_refuses_a_foreign_one(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    connection(&server, &idp, &["acme.test", "acme-labs.test"], json!({})).await;
    let grace = server.create_user("grace@acme-labs.test", PASSWORD).await;
    let victim = server.create_user("victim@other.test", PASSWORD).await;

    // An existing user on a domain the connection owns is linked and signed in.
    let b = server.browser();
    let mut user = IdpUser::new("grace@acme-labs.test");
    user.name_id = "00u1grace".into();
    let landed = round_trip(&b, &idp, "grace@acme-labs.test", &user, &[]).await;
    assert_eq!(landed, dashboard());
    let active = sessions(&b).await;
    assert_eq!(active[0]["user_id"], grace.as_str());
    let g = crate::user(&server, &grace).await;
    assert_eq!(g["saml_accounts"][0]["name_id"], "00u1grace");
    assert_eq!(g["password_enabled"], true);

    // The IdP of acme asserting an address at other.test gets nobody: neither the
    // existing user there nor a new one.
    let users_before = user_count(&server).await;
    let b2 = server.browser();
    let mut foreign = IdpUser::new("victim@other.test");
    foreign.name_id = "00u2victim".into();
    let landed = round_trip(&b2, &idp, "someone@acme.test", &foreign, &[]).await;
    assert_eq!(landed, failed("email_domain_not_owned"));
    assert!(sessions(&b2).await.is_empty());
    assert_eq!(user_count(&server).await, users_before);
    assert_eq!(
        crate::user(&server, &victim).await["saml_accounts"],
        json!([])
    );
    // The sign-in shows the failure.
    let client = b2.get("/v1/client").await;
    assert_eq!(
        client.body["response"]["sign_in"]["first_factor_verification"]["status"], "failed",
        "{}",
        client.body
    );

    // Identities are namespaced by connection: the same NameID at another connection
    // is another identity.
    let idp2 = TestIdp::start();
    let c2 = connection(&server, &idp2, &["globex.test"], json!({})).await;
    let b3 = server.browser();
    let mut same_name = IdpUser::new("hank@globex.test");
    same_name.name_id = "00u1grace".into();
    let landed = round_trip(&b3, &idp2, "hank@globex.test", &same_name, &[]).await;
    assert_eq!(landed, dashboard());
    let hank = sessions(&b3).await[0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(hank, grace);
    assert_eq!(
        crate::user(&server, &hank).await["saml_accounts"][0]["saml_connection_id"],
        c2["id"]
    );
}

async fn unknown_domains_and_inactive_connections(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    let c = connection(&server, &idp, &["acme.test"], json!({})).await;
    let b = server.browser();
    for (identifier, code) in [
        ("bob@nowhere.test", "form_identifier_not_found"),
        ("not an email", "form_param_format_invalid"),
        ("", "form_param_missing"),
    ] {
        let r = b
            .post(
                "/v1/client/sign_ins",
                json!({"strategy": "enterprise_sso", "identifier": identifier, "redirect_url": sso_callback()}),
            )
            .await;
        assert_eq!(r.status, 422, "{identifier}: {}", r.body);
        assert_error_shape(&r.body);
        assert_eq!(r.error_code(), code);
        assert_eq!(r.body["errors"][0]["meta"]["param_name"], "identifier");
    }
    let r = b
        .post(
            "/v1/client/sign_ins",
            json!({"strategy": "enterprise_sso", "identifier": "ada@acme.test", "redirect_url": "https://evil.test/x"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "redirect_url");

    // A trip started before the connection was turned off comes back to a refusal.
    let url = start(&b, "ada@acme.test").await;
    let post = idp.sign_in(&url, &IdpUser::new("ada@acme.test"), &[]).await;
    let id = c["id"].as_str().unwrap();
    let r = server
        .admin()
        .patch(
            &format!("/v1/saml_connections/{id}"),
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let (status, location) = post_acs(&idp, &post).await;
    assert_eq!(
        (status, location.as_str()),
        (303, failed("saml_response_invalid").as_str())
    );
    assert!(sessions(&b).await.is_empty());
    let r = b
        .post(
            "/v1/client/sign_ins",
            json!({"strategy": "enterprise_sso", "identifier": "ada@acme.test", "redirect_url": sso_callback()}),
        )
        .await;
    assert_eq!(r.error_code(), "form_identifier_not_found");
}

/// Every attack: the ACS refuses (a `303` to the failure URL, never to the completion),
/// and no session or user appears.
async fn the_attack_corpus_is_refused(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    connection(&server, &idp, &["acme.test", "evil.test"], json!({})).await;
    // The baseline works, so each refusal below is the attack's doing.
    let baseline = server.browser();
    let ada = IdpUser::new("ada@acme.test");
    assert_eq!(
        round_trip(&baseline, &idp, "ada@acme.test", &ada, &[]).await,
        dashboard()
    );
    let users = user_count(&server).await;

    let expired = "-180";
    let cases: Vec<AttackCase> = vec![
        ("xsw1", vec![("attack", "xsw1")], "saml_response_invalid"),
        ("xsw2", vec![("attack", "xsw2")], "saml_response_invalid"),
        ("xsw3", vec![("attack", "xsw3")], "saml_response_invalid"),
        ("xsw4", vec![("attack", "xsw4")], "saml_response_invalid"),
        ("xsw5", vec![("attack", "xsw5")], "saml_response_invalid"),
        ("xsw6", vec![("attack", "xsw6")], "saml_response_invalid"),
        ("xsw7", vec![("attack", "xsw7")], "saml_response_invalid"),
        ("xsw8", vec![("attack", "xsw8")], "saml_response_invalid"),
        (
            "comment in NameID",
            vec![("attack", "comment_in_name_id")],
            "saml_response_invalid",
        ),
        (
            "key in KeyInfo",
            vec![("attack", "keyinfo_key")],
            "saml_response_invalid",
        ),
        (
            "unsigned",
            vec![("attack", "unsigned")],
            "saml_response_invalid",
        ),
        (
            "reference elsewhere",
            vec![("attack", "ref_elsewhere")],
            "saml_response_invalid",
        ),
        (
            "two assertions",
            vec![("attack", "two_assertions")],
            "saml_response_invalid",
        ),
        (
            "two assertions, one unsigned",
            vec![("attack", "two_assertions"), ("second_signed", "0")],
            "saml_response_invalid",
        ),
        (
            "DOCTYPE",
            vec![("attack", "doctype")],
            "saml_response_invalid",
        ),
        (
            "external entity",
            vec![("attack", "external_entity")],
            "saml_response_invalid",
        ),
        (
            "entity expansion",
            vec![("attack", "entity_expansion")],
            "saml_response_invalid",
        ),
        ("SHA-1", vec![("attack", "sha1")], "saml_response_invalid"),
        (
            "tampered",
            vec![("attack", "tamper_after_sign")],
            "saml_response_invalid",
        ),
        (
            "expired",
            vec![("not_on_or_after_offset", expired)],
            "expired",
        ),
        (
            "not yet valid",
            vec![("not_before_offset", "300")],
            "saml_response_invalid",
        ),
        (
            "wrong Audience",
            vec![("audience", "https://other-sp.test/metadata")],
            "saml_response_invalid",
        ),
        (
            "wrong Recipient",
            vec![("recipient", "https://other-sp.test/acs")],
            "saml_response_invalid",
        ),
        (
            "wrong Destination",
            vec![("destination", "https://other-sp.test/acs")],
            "saml_response_invalid",
        ),
        (
            "wrong InResponseTo",
            vec![("in_response_to", "_someone_else")],
            "saml_response_invalid",
        ),
        (
            "no InResponseTo",
            vec![("in_response_to", "")],
            "saml_response_invalid",
        ),
        (
            "wrong Issuer",
            vec![("issuer", "https://evil-idp.test")],
            "saml_response_invalid",
        ),
        (
            "non-success Status",
            vec![("status", "urn:oasis:names:tc:SAML:2.0:status:Requester")],
            "saml_status_not_success",
        ),
        (
            "response signed, wrapped",
            vec![("attack", "tamper_after_sign"), ("sign", "response")],
            "saml_response_invalid",
        ),
    ];
    for (name, controls, reason) in cases {
        let b = server.browser();
        let url = start(&b, "ada@acme.test").await;
        let post = idp.sign_in(&url, &ada, &controls).await;
        let (status, location) = post_acs(&idp, &post).await;
        assert_eq!(status, 303, "{name}");
        assert_eq!(location, failed(reason), "{name}");
        assert!(sessions(&b).await.is_empty(), "{name}: no session");
        let client = b.get("/v1/client").await;
        assert_eq!(
            client.body["response"]["sign_in"]["first_factor_verification"]["status"], "failed",
            "{name}"
        );
    }
    assert_eq!(user_count(&server).await, users, "no user was created");

    // Replay: a valid response, used once, is refused the second time.
    let b = server.browser();
    let url = start(&b, "ada@acme.test").await;
    let post = idp.sign_in(&url, &ada, &[]).await;
    let (_, location) = post_acs(&idp, &post).await;
    assert_eq!(follow(&b, &location).await, dashboard());
    let sid = sessions(&b).await[0]["id"].as_str().unwrap().to_string();
    let r = b
        .post(&format!("/v1/client/sessions/{sid}/end"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, location) = post_acs(&idp, &post).await;
    assert_eq!((status, location), (303, failed("saml_response_invalid")));
    assert!(sessions(&b).await.is_empty(), "the replay signed nobody in");

    // SHA-1 is accepted only where the connection allows it.
    let idp2 = TestIdp::start();
    connection(
        &server,
        &idp2,
        &["legacy.test"],
        json!({"allow_sha1": true}),
    )
    .await;
    let b = server.browser();
    let old = IdpUser::new("old@legacy.test");
    let landed = round_trip(&b, &idp2, "old@legacy.test", &old, &[("attack", "sha1")]).await;
    assert_eq!(landed, dashboard());
}

/// The completion token only works for the client that started the trip, and once.
async fn the_result_belongs_to_the_starting_client(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    connection(&server, &idp, &["acme.test"], json!({})).await;
    let b = server.browser();
    let url = start(&b, "ada@acme.test").await;
    let post = idp.sign_in(&url, &IdpUser::new("ada@acme.test"), &[]).await;
    let (status, complete) = post_acs(&idp, &post).await;
    assert_eq!(status, 303);
    assert!(complete.starts_with(&format!("{}/v1/saml/complete?token=", server.public_url)));

    // Another browser (with or without a client of its own) gets nothing.
    let other = server.browser();
    other.get("/v1/client").await;
    assert_eq!(follow(&other, &complete).await, failed("client_mismatch"));
    assert!(sessions(&other).await.is_empty());
    let stranger = server.browser();
    assert_eq!(
        follow(&stranger, &complete).await,
        failed("client_mismatch")
    );

    // The right browser still completes, once.
    assert_eq!(follow(&b, &complete).await, dashboard());
    assert_eq!(sessions(&b).await.len(), 1);
    assert_eq!(follow(&b, &complete).await, failed("response_used"));
    let unknown = format!("{}/v1/saml/complete?token=nope", server.public_url);
    assert_eq!(
        follow(&b, &unknown).await,
        format!(
            "{}/sign-in?__gatehouse_status=failed&__gatehouse_reason=saml_response_invalid",
            server.public_url
        )
    );
}

/// Unsolicited responses: refused unless the connection allows them, then signed in on
/// whichever browser completes, once.
async fn idp_initiated_only_when_allowed(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    let c = connection(&server, &idp, &["acme.test"], json!({})).await;
    assert_eq!(c["allow_idp_initiated"], false);
    let acs = c["acs_url"].as_str().unwrap();
    let audience = c["sp_entity_id"].as_str().unwrap();
    let ada = IdpUser::new("ada@acme.test");
    let post = idp.unsolicited(acs, audience, &ada, &[]).await;
    let (status, _) = post_acs(&idp, &post).await;
    assert_eq!(status, 404, "no request, no sign-in");

    let id = c["id"].as_str().unwrap();
    let r = server
        .admin()
        .patch(
            &format!("/v1/saml_connections/{id}"),
            json!({"allow_idp_initiated": true}),
        )
        .await;
    assert_eq!(r.body["allow_idp_initiated"], true);
    let b = server.browser();
    let post = idp.unsolicited(acs, audience, &ada, &[]).await;
    let (status, complete) = post_acs(&idp, &post).await;
    assert_eq!(status, 303);
    assert_eq!(
        follow(&b, &complete).await,
        format!("{}/user", server.public_url)
    );
    assert_eq!(sessions(&b).await.len(), 1);
    // The same response again: the assertion was used.
    let (status, location) = post_acs(&idp, &post).await;
    assert_eq!(status, 303);
    assert!(location.contains("__gatehouse_status=failed"), "{location}");
    // A response to a request is not accepted as unsolicited.
    let answered = idp
        .unsolicited(acs, audience, &ada, &[("in_response_to", "_some_request")])
        .await;
    let (_, location) = post_acs(&idp, &answered).await;
    assert!(location.contains("__gatehouse_status=failed"), "{location}");
}

async fn connections_through_the_backend_api(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    let admin = server.admin();
    // Explicit fields instead of metadata, several certificates (a rollover).
    let both = format!("{}{}", idp.certificate, idp.attacker_certificate);
    let r = admin
        .post(
            "/v1/saml_connections",
            json!({
                "name": "  Okta  ",
                "domains": ["Example.COM", "@example.org"],
                "idp_entity_id": idp.entity_id,
                "idp_sso_url": idp.sso_url,
                "idp_certificate": both,
                "attribute_mapping": {"email": "mail", "first_name": "givenName"},
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["name"], "Okta");
    assert_eq!(r.body["domains"], json!(["example.com", "example.org"]));
    assert_eq!(r.body["idp_certificates"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.body["attribute_mapping"],
        json!({"email": "mail", "first_name": "givenName", "last_name": null})
    );
    assert_eq!(r.body["sign_authn_requests"], false);
    assert_eq!(r.body["allow_sha1"], false);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["sp_metadata_url"], r.body["sp_entity_id"]);
    for key in ["sealed_sp_key", "sp_certificate"] {
        assert!(r.body.get(key).is_none(), "{key} is never shown");
    }

    // The SP metadata.
    let meta = reqwest::get(r.body["sp_metadata_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(meta.status(), 200);
    assert_eq!(
        meta.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = meta.text().await.unwrap();
    assert!(xml.contains(&format!(
        "entityID=\"{}\"",
        r.body["sp_entity_id"].as_str().unwrap()
    )));
    assert!(xml.contains(&format!(
        "Location=\"{}\"",
        r.body["acs_url"].as_str().unwrap()
    )));
    assert!(xml.contains("AuthnRequestsSigned=\"false\""));

    let list = admin.get("/v1/saml_connections").await;
    assert_eq!(list.body["total_count"], 1);
    assert_eq!(list.body["data"][0]["id"], id.as_str());
    let got = admin.get(&format!("/v1/saml_connections/{id}")).await;
    assert_eq!(got.body, r.body);

    // PATCH keeps what it does not name.
    let p = admin
        .patch(
            &format!("/v1/saml_connections/{id}"),
            json!({"domains": ["example.net"], "idp_certificate": idp.certificate}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["domains"], json!(["example.net"]));
    assert_eq!(p.body["idp_certificates"].as_array().unwrap().len(), 1);
    assert_eq!(p.body["name"], "Okta");

    // Bad input: each names its field, none is a 500.
    let base = json!({"name": "X", "domains": ["x.test"], "idp_entity_id": "urn:x", "idp_sso_url": "https://idp.x.test/sso", "idp_certificate": idp.certificate});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v;
        }
        b
    };
    let cases = vec![
        (with("name", Value::Null), "name", "form_param_missing"),
        (with("name", json!("")), "name", "form_param_format_invalid"),
        (
            with("domains", json!([])),
            "domains",
            "form_param_format_invalid",
        ),
        (
            with("domains", json!(["not a domain"])),
            "domains",
            "form_param_format_invalid",
        ),
        (
            with("domains", json!(["localhost"])),
            "domains",
            "form_param_format_invalid",
        ),
        (
            with("domains", json!(["example.net"])),
            "domains",
            "saml_domain_taken",
        ),
        (
            with("idp_certificate", json!("hello")),
            "idp_certificate",
            "form_param_format_invalid",
        ),
        (
            with(
                "idp_certificate",
                json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            ),
            "idp_certificate",
            "form_param_format_invalid",
        ),
        (
            with("idp_certificate", Value::Null),
            "idp_certificate",
            "form_param_missing",
        ),
        (
            with("idp_sso_url", json!("http://idp.x.test/sso")),
            "idp_sso_url",
            "form_param_format_invalid",
        ),
        (
            with("idp_sso_url", json!("javascript:alert(1)")),
            "idp_sso_url",
            "form_param_format_invalid",
        ),
        (
            with("idp_entity_id", Value::Null),
            "idp_entity_id",
            "form_param_missing",
        ),
        (
            with("idp_metadata", json!("<nope")),
            "idp_metadata",
            "form_param_format_invalid",
        ),
        (
            with(
                "idp_metadata",
                json!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"),
            ),
            "idp_metadata",
            "form_param_format_invalid",
        ),
        (
            with("idp_metadata_url", json!("https://127.0.0.1:1/metadata")),
            "idp_metadata_url",
            "form_param_format_invalid",
        ),
    ];
    for (body, param, code) in cases {
        let r = admin.post("/v1/saml_connections", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_error_shape(&r.body);
        assert_eq!(r.error_code(), code, "{body}");
        assert_eq!(r.body["errors"][0]["meta"]["param_name"], param, "{body}");
    }
    // Unknown fields, at the top and in the mapping.
    let r = admin
        .post("/v1/saml_connections", with("surprise", json!(1)))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "surprise");
    let r = admin
        .post(
            "/v1/saml_connections",
            with("attribute_mapping", json!({"phone": "x"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_error_shape(&r.body);

    // Metadata fetched from its URL.
    let r = admin
        .post(
            "/v1/saml_connections",
            json!({"name": "By URL", "domains": ["byurl.test"], "idp_metadata_url": idp.metadata_url}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["idp_entity_id"], idp.entity_id.as_str());

    // Unknown ids, a missing key.
    assert_eq!(
        admin.get("/v1/saml_connections/samlc_nope").await.status,
        404
    );
    assert_eq!(
        admin
            .patch("/v1/saml_connections/samlc_nope", json!({"name": "x"}))
            .await
            .status,
        404
    );
    let anonymous = reqwest::get(format!("{}/v1/saml_connections", server.admin_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        reqwest::get(format!("{}/v1/saml/metadata/samlc_nope", server.public_url))
            .await
            .unwrap()
            .status(),
        404
    );

    // Deleting a connection removes its accounts (and routing).
    let d = admin.delete(&format!("/v1/saml_connections/{id}")).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["deleted"], true);
    assert_eq!(
        admin
            .delete(&format!("/v1/saml_connections/{id}"))
            .await
            .status,
        404
    );
}

/// With `sign_authn_requests`, the redirect carries `SigAlg` and `Signature`, which
/// verify with the certificate the SP metadata publishes.
async fn signed_requests(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    let c = connection(
        &server,
        &idp,
        &["acme.test"],
        json!({"sign_authn_requests": true}),
    )
    .await;
    assert_eq!(c["sign_authn_requests"], true);
    let xml = reqwest::get(c["sp_metadata_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("AuthnRequestsSigned=\"true\""));
    let cert = xml
        .split("<ds:X509Certificate>")
        .nth(1)
        .and_then(|s| s.split("</ds:X509Certificate>").next())
        .expect("the signing certificate in the SP metadata");
    let (_, key) = parse_certificates(cert).unwrap().remove(0);

    let b = server.browser();
    let url = start(&b, "ada@acme.test").await;
    let query = url.split_once('?').unwrap().1;
    let (signed, signature) = query.split_once("&Signature=").expect("a Signature");
    assert!(signed.starts_with("SAMLRequest="));
    assert!(
        signed.ends_with("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256")
    );
    let signature: String = url::form_urlencoded::parse(format!("s={signature}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, signature).unwrap();
    assert!(key.verifies(SignatureAlgorithm::RsaSha256, signed.as_bytes(), &signature));
    assert!(!key.verifies(
        SignatureAlgorithm::RsaSha256,
        b"SAMLRequest=other",
        &signature
    ));
    // The IdP accepts it and the trip completes.
    let post = idp.sign_in(&url, &IdpUser::new("ada@acme.test"), &[]).await;
    let (_, location) = post_acs(&idp, &post).await;
    assert_eq!(follow(&b, &location).await, dashboard());
}

/// The same corpus checked by the response verifier directly: each attack is refused
/// by the rule meant to catch it, and the untouched response passes.
#[tokio::test]
async fn each_attack_is_refused_by_its_rule() {
    use gatehouse::saml::dsig::Trust;
    use gatehouse::saml::response::{verify, AttributeMapping, Expected, Refusal};

    let idp = TestIdp::start();
    let acs = "https://id.example.com/v1/saml/acs/samlc_1";
    let audience = "https://id.example.com/v1/saml/metadata/samlc_1";
    let keys: Vec<_> = parse_certificates(&idp.certificate)
        .unwrap()
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let mapping = AttributeMapping::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let expected = Expected {
        idp_entity_id: &idp.entity_id,
        sp_entity_id: audience,
        acs_url: acs,
        in_response_to: Some("_req1"),
        now_ms,
        trust: Trust {
            keys: &keys,
            allow_sha1: false,
        },
        mapping: &mapping,
    };
    let ada = IdpUser::new("ada@acme.test");
    let check = |xml: String| verify(&xml, &expected);

    for sign in ["assertion", "response", "both"] {
        let post = idp
            .unsolicited(
                acs,
                audience,
                &ada,
                &[("in_response_to", "_req1"), ("sign", sign)],
            )
            .await;
        let v = check(post.xml()).unwrap_or_else(|r| panic!("{sign}: {r:?}"));
        assert_eq!(v.name_id, "ada@acme.test");
        assert_eq!(v.email.as_deref(), Some("ada@acme.test"));
        assert_eq!(v.first_name.as_deref(), Some("Ada"));
    }

    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("attack", "xsw1")], "not_exactly_one_assertion"),
        (&[("attack", "xsw2")], "not_exactly_one_assertion"),
        (&[("attack", "xsw3")], "not_exactly_one_assertion"),
        (&[("attack", "xsw4")], "not_exactly_one_assertion"),
        (&[("attack", "xsw5")], "not_exactly_one_assertion"),
        (&[("attack", "xsw6")], "not_exactly_one_assertion"),
        (&[("attack", "xsw7")], "not_exactly_one_assertion"),
        (&[("attack", "xsw8")], "not_exactly_one_assertion"),
        (&[("attack", "comment_in_name_id")], "comment_in_value"),
        (&[("attack", "keyinfo_key")], "signature_invalid"),
        (&[("attack", "unsigned")], "unsigned"),
        (
            &[("attack", "ref_elsewhere")],
            "reference_not_to_signed_element",
        ),
        (&[("attack", "two_assertions")], "not_exactly_one_assertion"),
        (&[("attack", "doctype")], "doctype_refused"),
        (&[("attack", "external_entity")], "doctype_refused"),
        (&[("attack", "entity_expansion")], "doctype_refused"),
        (&[("attack", "sha1")], "sha1_refused"),
        (&[("attack", "tamper_after_sign")], "digest_mismatch"),
        (
            &[("attack", "tamper_after_sign"), ("sign", "response")],
            "digest_mismatch",
        ),
        (&[("not_on_or_after_offset", "-180")], "expired"),
        (&[("not_before_offset", "300")], "not_yet_valid"),
        (
            &[("audience", "https://other-sp.test/metadata")],
            "audience_mismatch",
        ),
        (
            &[("recipient", "https://other-sp.test/acs")],
            "recipient_mismatch",
        ),
        (
            &[("destination", "https://other-sp.test/acs")],
            "destination_mismatch",
        ),
        (
            &[("in_response_to", "_someone_else")],
            "in_response_to_mismatch",
        ),
        (&[("issuer", "https://evil-idp.test")], "issuer_mismatch"),
        (
            &[("status", "urn:oasis:names:tc:SAML:2.0:status:Requester")],
            "status_not_success",
        ),
    ];
    for (controls, reason) in cases {
        // The IdP reads the first of repeated fields: the defaults go last.
        let mut all: Vec<(&str, &str)> = controls.to_vec();
        if !controls.iter().any(|(k, _)| *k == "in_response_to") {
            all.push(("in_response_to", "_req1"));
        }
        let audience = controls
            .iter()
            .find(|(k, _)| *k == "audience")
            .map_or(audience, |(_, v)| *v);
        let post = idp.unsolicited(acs, audience, &ada, &all).await;
        assert_eq!(check(post.xml()), Err(Refusal(reason)), "{controls:?}");
    }
    // An unsolicited response is accepted only where no request is expected, and one
    // answering a request is not accepted as unsolicited.
    let unsolicited = Expected {
        in_response_to: None,
        ..expected
    };
    let post = idp
        .unsolicited(acs, audience, &ada, &[("in_response_to", "")])
        .await;
    assert!(verify(&post.xml(), &unsolicited).is_ok());
    assert_eq!(check(post.xml()), Err(Refusal("in_response_to_mismatch")));
    let post = idp
        .unsolicited(acs, audience, &ada, &[("in_response_to", "_req1")])
        .await;
    assert_eq!(
        verify(&post.xml(), &unsolicited),
        Err(Refusal("unexpected_in_response_to"))
    );
    // A certificate rollover: the old key still verifies while listed.
    let both: Vec<_> =
        parse_certificates(&format!("{}{}", idp.attacker_certificate, idp.certificate))
            .unwrap()
            .into_iter()
            .map(|(_, k)| k)
            .collect();
    let rollover = Expected {
        trust: Trust {
            keys: &both,
            allow_sha1: false,
        },
        ..expected
    };
    let post = idp
        .unsolicited(acs, audience, &ada, &[("in_response_to", "_req1")])
        .await;
    assert!(verify(&post.xml(), &rollover).is_ok());
}

/// Two processes behind one public URL on one PostgreSQL database: a response used
/// through one is refused by the other, whether it answers a request (the trip is in
/// the database) or is unsolicited (so are the assertion ids).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_is_refused_across_processes() {
    if !support::db::postgres_available("saml replay across processes").await {
        return;
    }
    let db = TestDb::create(DbKind::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let env = ProcEnv::instance(dir.path(), &db.url);
    let a = Server::start(&env).await;
    let b = Server::start_as(&env, Some(&a.public_url)).await;
    let idp = TestIdp::start();
    let r = b
        .admin()
        .post(
            "/v1/saml_connections",
            json!({
                "name": "Acme", "domains": ["acme.test"], "idp_metadata": idp.metadata().await,
                "allow_idp_initiated": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let acs = r.body["acs_url"].as_str().unwrap().to_string();
    let audience = r.body["sp_entity_id"].as_str().unwrap().to_string();
    assert!(acs.starts_with(&a.public_url));
    let through_b = acs.replace(&a.public_url, &b.public_url);
    let ada = IdpUser::new("ada@acme.test");

    // Started through A, answered through B, completed through A; replayed through A.
    let browser = a.browser();
    let started = browser
        .post(
            "/v1/client/sign_ins",
            json!({"strategy": "enterprise_sso", "identifier": "ada@acme.test",
                   "redirect_url": format!("{}/sign-in", a.public_url)}),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let url = started.body["response"]["first_factor_verification"]
        ["external_verification_redirect_url"]
        .as_str()
        .unwrap()
        .to_string();
    let solicited = idp.sign_in(&url, &ada, &[]).await;
    let (status, complete) = post_acs_at(&idp, &through_b, &solicited).await;
    assert_eq!(status, 303);
    assert!(complete.contains("/v1/saml/complete?token="), "{complete}");
    follow(&browser, &complete).await;
    assert_eq!(sessions(&browser).await.len(), 1);
    let (status, location) = post_acs_at(&idp, &acs, &solicited).await;
    assert_eq!(status, 303);
    assert!(location.contains("__gatehouse_status=failed"), "{location}");

    // Unsolicited: accepted by A, the same response refused by B.
    let post = idp.unsolicited(&acs, &audience, &ada, &[]).await;
    let (status, complete) = post_acs_at(&idp, &acs, &post).await;
    assert_eq!(status, 303);
    assert!(complete.contains("/v1/saml/complete?token="), "{complete}");
    let (status, location) = post_acs_at(&idp, &through_b, &post).await;
    assert_eq!(status, 303);
    assert!(location.contains("__gatehouse_status=failed"), "{location}");
    assert!(
        b.output().contains("assertion_replayed"),
        "B says why: {}",
        b.output()
    );
    // The logs name reasons, never what the response or the browser carried.
    let completion_token = complete.split("token=").nth(1).unwrap();
    for server in [&a, &b] {
        let logs = server.output();
        for secret in [
            &post.saml_response[..48],
            completion_token,
            solicited.relay_state.as_deref().unwrap(),
            &solicited.saml_response[..48],
            "ada@acme.test",
            "Lovelace",
        ] {
            assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        }
    }
}

/// The hosted sign-in page: an email on an SSO domain is sent to its identity
/// provider instead of being asked for a password; a refusal comes back to the page
/// with an error.
async fn hosted_sign_in_goes_to_the_identity_provider(db: DbKind) {
    let server = server(db).await;
    let idp = TestIdp::start();
    connection(&server, &idp, &["acme.test"], json!({})).await;
    let page = pages_support::FormBrowser::new(&server);
    let r = page
        .submit("/sign-in", "/sign-in", &[("identifier", "ada@acme.test")])
        .await;
    let step = page.follow(&r).await;
    assert_eq!(step.status, 200);
    assert!(
        step.body.contains("Continue to single sign-on"),
        "{}",
        step.body
    );
    assert!(
        !step.body.contains("type=\"password\""),
        "no password asked"
    );
    let link = step
        .body
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.starts_with(&idp.sso_url))
        .map(pages_support::unescape)
        .expect("a link to the identity provider");

    let ada = IdpUser::new("ada@acme.test");
    let post = idp.sign_in(&link, &ada, &[]).await;
    let (status, complete) = post_acs(&idp, &post).await;
    assert_eq!(status, 303);
    let landed = follow(&page.inner, &complete).await;
    assert_eq!(landed, format!("{}/user", server.public_url));
    let profile = page.get("/user").await;
    assert_eq!(profile.status, 200);
    assert!(profile.body.contains("ada@acme.test"), "{}", profile.body);

    // A refused response: back on the sign-in page with an error, signed out.
    let other = pages_support::FormBrowser::new(&server);
    let r = other
        .submit("/sign-in", "/sign-in", &[("identifier", "ada@acme.test")])
        .await;
    let step = other.follow(&r).await;
    let link = step
        .body
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.starts_with(&idp.sso_url))
        .map(pages_support::unescape)
        .unwrap();
    let post = idp.sign_in(&link, &ada, &[("attack", "xsw3")]).await;
    let (_, back) = post_acs(&idp, &post).await;
    assert!(
        back.starts_with(&format!("{}/sign-in?", server.public_url)),
        "{back}"
    );
    let path = back.strip_prefix(&server.public_url).unwrap();
    let shown = other.get(path).await;
    assert!(shown.has_error(), "{}", shown.body);
    assert!(sessions(&other.inner).await.is_empty());

    // Other domains still get the password step.
    let plain = pages_support::FormBrowser::new(&server);
    server.create_user("bob@plain.test", PASSWORD).await;
    let r = plain
        .submit("/sign-in", "/sign-in", &[("identifier", "bob@plain.test")])
        .await;
    let step = plain.follow(&r).await;
    assert!(step.body.contains("type=\"password\""), "{}", step.body);
}

both_dbs!(
    hosted_sign_in_goes_to_the_identity_provider,
    new_user_then_returning_user,
    links_an_owned_domain_and_refuses_a_foreign_one,
    unknown_domains_and_inactive_connections,
    the_attack_corpus_is_refused,
    the_result_belongs_to_the_starting_client,
    idp_initiated_only_when_allowed,
    connections_through_the_backend_api,
    signed_requests,
);
