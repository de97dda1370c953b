//! A typed client for the Gatehouse Backend API (the admin listener, authenticated with a
//! secret key): users, their metadata, sessions, and server-side tokens.
//!
//! ```no_run
//! # async fn run() -> Result<(), gatehouse_sdk::backend::ApiError> {
//! use gatehouse_sdk::backend::{BackendClient, ListUsers};
//!
//! let api = BackendClient::new("http://127.0.0.1:3001", std::env::var("GATEHOUSE_SECRET_KEY").unwrap());
//! let page = api.list_users(&ListUsers { query: Some("ada".into()), ..Default::default() }).await?;
//! for user in page.data {
//!     println!("{} {:?}", user.id, user.public_metadata);
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use http::Method;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http_client::HttpClient;

/// The Backend API client. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct BackendClient {
    base: String,
    authorization: String,
    http: HttpClient,
}

impl fmt::Debug for BackendClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret key.
        f.debug_struct("BackendClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A user, as the Backend API shows it (private metadata included).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct User {
    /// `user_...`
    pub id: String,
    /// Username, when the instance uses them.
    pub username: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Id of the primary email address.
    pub primary_email_address_id: Option<String>,
    /// Email addresses.
    #[serde(default)]
    pub email_addresses: Vec<EmailAddress>,
    /// Metadata readable by the frontend, writable only here.
    #[serde(default)]
    pub public_metadata: Value,
    /// Metadata only the backend sees.
    #[serde(default)]
    pub private_metadata: Value,
    /// Metadata the user may write.
    #[serde(default)]
    pub unsafe_metadata: Value,
    /// Whether the user is banned.
    #[serde(default)]
    pub banned: bool,
    /// Whether the user is locked out.
    #[serde(default)]
    pub locked: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// Milliseconds since the Unix epoch, when the user ever signed in.
    pub last_sign_in_at: Option<i64>,
}

impl User {
    /// The primary email address, when there is one.
    pub fn primary_email_address(&self) -> Option<&str> {
        let primary = self.primary_email_address_id.as_deref()?;
        self.email_addresses
            .iter()
            .find(|address| address.id == primary)
            .map(|address| address.email_address.as_str())
    }
}

/// One of a user's email addresses.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EmailAddress {
    /// `idn_...`
    pub id: String,
    /// The address.
    pub email_address: String,
    /// Its verification, if any.
    pub verification: Option<Value>,
}

/// A session, as the Backend API shows it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Session {
    /// `sess_...`
    pub id: String,
    /// The browser or app it belongs to.
    pub client_id: String,
    /// Its user.
    pub user_id: String,
    /// `active`, `ended`, `expired`, `abandoned`, `removed` or `revoked`.
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub last_active_at: i64,
    /// Milliseconds since the Unix epoch.
    pub expire_at: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A token minted server-side.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Token {
    /// The JWT.
    pub jwt: String,
}

/// A page of a list: `data` and the `total_count` across all pages.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct List<T> {
    /// This page.
    pub data: Vec<T>,
    /// How many match in all.
    pub total_count: u64,
}

/// Filters and paging for [`BackendClient::list_users`].
#[derive(Debug, Clone, Default)]
pub struct ListUsers {
    /// Matches email, username, name or id.
    pub query: Option<String>,
    /// Exact email address.
    pub email_address: Option<String>,
    /// Exact username.
    pub username: Option<String>,
    /// `created_at` or `-created_at` (the default).
    pub order_by: Option<String>,
    /// Page size (server default 10, max 500).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// Filters and paging for [`BackendClient::list_sessions`].
#[derive(Debug, Clone, Default)]
pub struct ListSessions {
    /// Sessions of this user.
    pub user_id: Option<String>,
    /// Sessions of this client.
    pub client_id: Option<String>,
    /// Sessions in this status.
    pub status: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// A metadata deep-merge for [`BackendClient::update_user_metadata`]: keys set to `null`
/// are removed, objects are merged, anything else replaces.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetadataUpdate {
    /// Merged into `public_metadata`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_metadata: Option<Value>,
    /// Merged into `private_metadata`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_metadata: Option<Value>,
    /// Merged into `unsafe_metadata`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsafe_metadata: Option<Value>,
}

/// A failed Backend API call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ApiError {
    /// The server answered with an error status and the Gatehouse error body.
    Status {
        /// The HTTP status.
        status: u16,
        /// The first error's `code` (`resource_not_found`, `authentication_invalid`, ...).
        code: String,
        /// The first error's `long_message`.
        message: String,
    },
    /// The request did not complete (connection, timeout) or the answer was not JSON of
    /// the expected shape.
    Transport(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                status,
                code,
                message,
            } => write!(f, "Backend API answered {status} {code}: {message}"),
            Self::Transport(why) => write!(f, "Backend API call failed: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl BackendClient {
    /// A client for the Backend API at `admin_url` (for example `http://127.0.0.1:3001`),
    /// authenticated with `secret_key`.
    pub fn new(admin_url: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            base: admin_url.into().trim_end_matches('/').to_string(),
            authorization: format!("Bearer {}", secret_key.into()),
            http: HttpClient::new(Duration::from_secs(10)),
        }
    }

    /// `GET /v1/users/{id}`.
    pub async fn get_user(&self, user_id: &str) -> Result<User, ApiError> {
        self.call(
            Method::GET,
            &format!("/v1/users/{}", segment(user_id)),
            None,
        )
        .await
    }

    /// `GET /v1/users` with filters and paging.
    pub async fn list_users(&self, params: &ListUsers) -> Result<List<User>, ApiError> {
        let query = query_string(&[
            ("query", params.query.as_deref()),
            ("email_address", params.email_address.as_deref()),
            ("username", params.username.as_deref()),
            ("order_by", params.order_by.as_deref()),
            ("limit", params.limit.map(|n| n.to_string()).as_deref()),
            ("offset", params.offset.map(|n| n.to_string()).as_deref()),
        ]);
        self.call(Method::GET, &format!("/v1/users{query}"), None)
            .await
    }

    /// `PATCH /v1/users/{id}/metadata`: deep-merges the given metadata.
    pub async fn update_user_metadata(
        &self,
        user_id: &str,
        update: &MetadataUpdate,
    ) -> Result<User, ApiError> {
        let body = serde_json::to_vec(update).map_err(|e| ApiError::Transport(e.to_string()))?;
        self.call(
            Method::PATCH,
            &format!("/v1/users/{}/metadata", segment(user_id)),
            Some(body),
        )
        .await
    }

    /// `GET /v1/sessions` with filters and paging.
    pub async fn list_sessions(&self, params: &ListSessions) -> Result<List<Session>, ApiError> {
        let query = query_string(&[
            ("user_id", params.user_id.as_deref()),
            ("client_id", params.client_id.as_deref()),
            ("status", params.status.as_deref()),
            ("limit", params.limit.map(|n| n.to_string()).as_deref()),
            ("offset", params.offset.map(|n| n.to_string()).as_deref()),
        ]);
        self.call(Method::GET, &format!("/v1/sessions{query}"), None)
            .await
    }

    /// `POST /v1/sessions/{id}/revoke`: ends the session at once.
    pub async fn revoke_session(&self, session_id: &str) -> Result<Session, ApiError> {
        self.call(
            Method::POST,
            &format!("/v1/sessions/{}/revoke", segment(session_id)),
            None,
        )
        .await
    }

    /// `POST /v1/sessions/{id}/tokens[/{template}]`: a session token, or a token from a
    /// JWT template, minted server-side.
    pub async fn create_session_token(
        &self,
        session_id: &str,
        template: Option<&str>,
    ) -> Result<Token, ApiError> {
        let mut path = format!("/v1/sessions/{}/tokens", segment(session_id));
        if let Some(template) = template {
            path.push('/');
            path.push_str(&segment(template));
        }
        self.call(Method::POST, &path, None).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        let headers = [
            ("authorization", self.authorization.as_str()),
            ("accept", "application/json"),
        ];
        let response = self
            .http
            .send(method, &url, &headers, body)
            .await
            .map_err(ApiError::Transport)?;
        if !response.status.is_success() {
            return Err(status_error(response.status.as_u16(), &response.body));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| ApiError::Transport(format!("unexpected answer from {path}: {e}")))
    }
}

fn status_error(status: u16, body: &[u8]) -> ApiError {
    let first = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| body["errors"].get(0).cloned())
        .unwrap_or(Value::Null);
    let text = |name: &str| first[name].as_str().unwrap_or_default().to_string();
    ApiError::Status {
        status,
        code: text("code"),
        message: text("long_message"),
    }
}

fn segment(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let mut query = String::new();
    for (name, value) in pairs {
        if let Some(value) = value {
            query.push(if query.is_empty() { '?' } else { '&' });
            query.push_str(name);
            query.push('=');
            query.push_str(&segment(value));
        }
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_query_strings_with_encoding() {
        assert_eq!(query_string(&[("a", None)]), "");
        assert_eq!(
            query_string(&[("query", Some("a b&c")), ("x", None), ("limit", Some("5"))]),
            "?query=a%20b%26c&limit=5"
        );
        assert_eq!(segment("../x"), "%2E%2E%2Fx");
    }

    #[test]
    fn reads_the_error_body() {
        let body = br#"{"errors":[{"code":"resource_not_found","message":"m","long_message":"No such user"}]}"#;
        match status_error(404, body) {
            ApiError::Status {
                status,
                code,
                message,
            } => {
                assert_eq!(
                    (status, code.as_str(), message.as_str()),
                    (404, "resource_not_found", "No such user")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            status_error(502, b"<html>"),
            ApiError::Status { status: 502, .. }
        ));
    }
}
