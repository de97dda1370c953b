//! The tower layers and axum extractors as an app uses them: lax, strict, the signed-in
//! extractor, and the handshake redirect for server-rendered pages.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_sdk::{require_auth, with_auth, Algorithm, Auth, SignedIn, Verifier};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use support::{now, Signer, ISSUER};
use tower::ServiceExt;

const APP_URL: &str = "https://app.example.com";

fn app(signer: &Signer) -> Router {
    let verifier = Verifier::builder(ISSUER)
        .public_key_pem(signer.pem(), Algorithm::RS256)
        .build()
        .unwrap();
    let lax = Router::new()
        .route("/api/me", get(|auth: Auth| async move { Json(auth) }))
        .route(
            "/api/orders",
            get(|SignedIn(auth): SignedIn| async move { auth.user_id.unwrap() }),
        )
        .layer(with_auth(verifier.clone()));
    let strict = Router::new()
        .route(
            "/api/strict",
            get(|auth: Auth| async move { auth.user_id.unwrap() }),
        )
        .layer(require_auth(verifier.clone()));
    let pages = Router::new()
        .route(
            "/page",
            get(|auth: Auth| async move { format!("signed in: {}", auth.is_signed_in()) }),
        )
        .layer(with_auth(verifier).handshake(APP_URL));
    lax.merge(strict).merge(pages)
}

async fn send(
    app: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, String) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn lax_gives_every_request_an_auth() {
    let signer = Signer::generate("k1");
    let app = app(&signer);
    let (status, _, body) = send(&app, "/api/me", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let auth: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(auth["user_id"], Value::Null);
    assert_eq!(auth["claims"], Value::Null);

    let token = signer.token(
        now(),
        json!({"o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": ["read"]}}),
    );
    let bearer = format!("Bearer {token}");
    let (_, _, body) = send(&app, "/api/me", &[("authorization", &bearer)]).await;
    let auth: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(auth["user_id"], "user_1");
    assert_eq!(auth["session_id"], "sess_1");
    assert_eq!(
        (
            auth["org_id"].clone(),
            auth["org_slug"].clone(),
            auth["org_role"].clone()
        ),
        (json!("org_1"), json!("acme"), json!("admin"))
    );
    assert_eq!(auth["org_permissions"], json!(["read"]));
    assert_eq!(auth["claims"]["sub"], "user_1");

    // The same from the __session cookie; a bad token is just signed out.
    let cookie = format!("theme=dark; __session={token}");
    let (_, _, body) = send(&app, "/api/me", &[("cookie", &cookie)]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["user_id"],
        "user_1"
    );
    let (status, _, body) = send(&app, "/api/me", &[("authorization", "Bearer not.a.token")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["user_id"],
        Value::Null
    );
}

#[tokio::test]
async fn strict_and_signed_in_refuse_with_the_error_body() {
    let signer = Signer::generate("k1");
    let app = app(&signer);
    let expired = format!("Bearer {}", signer.token(now() - 3600, json!({})));
    for (path, headers) in [
        ("/api/strict", vec![]),
        ("/api/strict", vec![("authorization", expired.as_str())]),
        ("/api/orders", vec![]),
        ("/api/orders", vec![("authorization", expired.as_str())]),
    ] {
        let (status, response_headers, body) = send(&app, path, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {headers:?}");
        assert_eq!(response_headers[header::CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["errors"][0]["code"], "authentication_invalid",
            "{body}"
        );
        assert!(body["errors"][0]["message"].is_string());
    }
    let (_, _, body) = send(&app, "/api/strict", &[("authorization", &expired)]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["errors"][0]["meta"]["reason"],
        "expired"
    );

    let good = format!("Bearer {}", signer.token(now(), json!({})));
    for path in ["/api/strict", "/api/orders"] {
        let (status, _, body) = send(&app, path, &[("authorization", &good)]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "user_1"));
    }
}

#[tokio::test]
async fn an_expired_page_navigation_goes_through_the_handshake_once() {
    let signer = Signer::generate("k1");
    let app = app(&signer);
    let expired = format!(
        "__client_uat=1700000000; __session={}",
        signer.token(now() - 3600, json!({}))
    );
    let navigation = [("cookie", expired.as_str()), ("sec-fetch-dest", "document")];
    let (status, headers, _) = send(&app, "/page?tab=2", &navigation).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "https://auth.example.com/v1/client/handshake?redirect_url=https%3A%2F%2Fapp%2Eexample%2Ecom%2Fpage%3Ftab%3D2"
    );
    assert!(headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .starts_with("__gatehouse_handshake=1"));

    // Back from the handshake still without a fresh token: no second round trip.
    let guarded = format!("{expired}; __gatehouse_handshake=1");
    let (status, _, body) = send(
        &app,
        "/page",
        &[("cookie", &guarded), ("sec-fetch-dest", "document")],
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "signed in: false")
    );

    // Not for API calls, signed-out browsers, or tokens refused for other reasons.
    let api_call = [("cookie", expired.as_str()), ("sec-fetch-dest", "empty")];
    assert_eq!(send(&app, "/page", &api_call).await.0, StatusCode::OK);
    let signed_out = [("cookie", "__client_uat=0"), ("sec-fetch-dest", "document")];
    assert_eq!(send(&app, "/page", &signed_out).await.0, StatusCode::OK);
    let forged = format!(
        "__client_uat=1700000000; __session={}",
        Signer::generate("k1").token(now(), json!({}))
    );
    assert_eq!(
        send(
            &app,
            "/page",
            &[("cookie", &forged), ("sec-fetch-dest", "document")]
        )
        .await
        .0,
        StatusCode::OK
    );
    // A fresh token is simply signed in.
    let fresh = format!(
        "__client_uat=1700000000; __session={}",
        signer.token(now(), json!({}))
    );
    let (status, _, body) = send(
        &app,
        "/page",
        &[("cookie", &fresh), ("sec-fetch-dest", "document")],
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "signed in: true"));
}

#[tokio::test]
async fn auth_without_the_layer_is_a_loud_500() {
    let app: Router = Router::new().route("/", get(|auth: Auth| async move { Json(auth) }));
    let (status, _, body) = send(&app, "/", &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("with_auth"), "{body}");
}
