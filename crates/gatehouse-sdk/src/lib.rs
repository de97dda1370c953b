//! Verify Gatehouse session tokens in a Rust backend, without a network round trip.
//!
//! A [`Verifier`] fetches the issuer's JWKS once (or takes a PEM public key, for no
//! network at all), then checks each token's signature, `alg`, `exp`/`nbf` with clock
//! skew, `iss` and `azp` in memory; a token seen before comes from a bounded cache
//! without another signature check. Protecting an axum (or any tower) service is one
//! layer:
//!
//! ```no_run
//! use axum::{routing::get, Json, Router};
//! use gatehouse_sdk::{require_auth, with_auth, Auth, SignedIn, Verifier};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder("https://auth.example.com")
//!     .authorized_parties(["https://app.example.com"])
//!     .build()?;
//!
//! let app = Router::new()
//!     // Lax: every handler gets an `Auth`, empty when signed out.
//!     .route("/api/me", get(|auth: Auth| async move { Json(auth) }))
//!     // A handler that needs a user: signed-out requests get 401.
//!     .route("/api/orders", get(|SignedIn(auth): SignedIn| async move {
//!         format!("orders of {}", auth.user_id.unwrap())
//!     }))
//!     .layer(with_auth(verifier.clone()))
//!     // Strict for a whole router: 401 before any handler runs.
//!     .nest("/api/strict", Router::new()
//!         .route("/", get(|| async { "signed in" }))
//!         .layer(require_auth(verifier)));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Any other framework calls [`Verifier::verify_token`] with the token from
//! [`session_token`] (the `Authorization: Bearer` header or the `__session` cookie):
//!
//! ```
//! # async fn run(verifier: gatehouse_sdk::Verifier, headers: http::HeaderMap) {
//! match gatehouse_sdk::session_token(&headers) {
//!     Some(token) => match verifier.verify_token(token).await {
//!         Ok(claims) => println!("user {}", claims.sub),
//!         Err(error) => println!("refused: {error}"),
//!     },
//!     None => println!("signed out"),
//! }
//! # }
//! ```
//!
//! Features: `axum` (default) makes [`Auth`] and [`SignedIn`] axum extractors;
//! `backend-api` adds [`backend::BackendClient`], a typed Backend API client.
#![warn(missing_docs)]

mod auth;
#[cfg(feature = "backend-api")]
pub mod backend;
mod cache;
mod claims;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod http_client;
mod jwks;
mod keys;
mod layer;
mod request;
mod token;
mod verifier;

pub use auth::Auth;
pub use claims::{ActorClaims, Claims, OrgClaims};
pub use error::{ConfigError, Error};
#[cfg(feature = "axum")]
pub use extract::{MissingLayer, SignedIn};
pub use keys::Algorithm;
pub use layer::{require_auth, with_auth, AuthLayer, AuthService};
pub use request::{cookie, session_token};
pub use token::MAX_TOKEN_LEN;
pub use verifier::{Clock, Verifier, VerifierBuilder};
