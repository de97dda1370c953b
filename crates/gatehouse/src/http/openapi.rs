//! The OpenAPI 3.1 documents of both listeners, generated from one route table each so
//! they cannot drift from what is served (a test compares them with the routers).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::app::AppRef;

/// (method, path, summary, request body fields)
type Operation = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const SAML_CONNECTION_FIELDS: &[&str] = &[
    "name",
    "domains",
    "idp_entity_id",
    "idp_sso_url",
    "idp_certificate",
    "idp_certificates",
    "idp_metadata",
    "idp_metadata_url",
    "attribute_mapping",
    "allow_idp_initiated",
    "sign_authn_requests",
    "allow_sha1",
    "active",
];

pub const PUBLIC_OPERATIONS: &[Operation] = &[
    (
        "get",
        "/v1/environment",
        "Public configuration of this instance",
        &[],
    ),
    (
        "get",
        "/v1/client",
        "The current client (created when absent)",
        &[],
    ),
    (
        "delete",
        "/v1/client/sessions",
        "Sign out every session of this client",
        &[],
    ),
    (
        "get",
        "/v1/client/handshake",
        "Refresh __session and redirect (query: redirect_url)",
        &[],
    ),
    (
        "post",
        "/v1/client/sign_ups",
        "Start a sign-up (fields, strategy oauth_<provider> with redirect_url and action_complete_redirect_url, or transfer: true after a transferable social sign-in)",
        &[
            "email_address",
            "username",
            "phone_number",
            "password",
            "first_name",
            "last_name",
            "unsafe_metadata",
            "strategy",
            "redirect_url",
            "action_complete_redirect_url",
            "transfer",
        ],
    ),
    (
        "get",
        "/v1/client/sign_ups/{id}",
        "A sign-up of this client",
        &[],
    ),
    (
        "patch",
        "/v1/client/sign_ups/{id}",
        "Add fields to a sign-up",
        &[
            "email_address",
            "username",
            "phone_number",
            "password",
            "first_name",
            "last_name",
            "unsafe_metadata",
        ],
    ),
    (
        "post",
        "/v1/client/sign_ups/{id}/prepare_verification",
        "Send a verification code or magic link (email_code, email_link, phone_code)",
        &["strategy", "redirect_url"],
    ),
    (
        "post",
        "/v1/client/sign_ups/{id}/attempt_verification",
        "Check a verification code",
        &["strategy", "code"],
    ),
    (
        "post",
        "/v1/client/sign_ins",
        "Start a sign-in (identifier and password, strategy oauth_<provider>, or strategy enterprise_sso with an email identifier; the last two with redirect_url and action_complete_redirect_url)",
        &[
            "identifier",
            "strategy",
            "password",
            "redirect_url",
            "action_complete_redirect_url",
        ],
    ),
    (
        "get",
        "/v1/client/sign_ins/{id}",
        "A sign-in of this client (polling it finishes one whose magic link was opened elsewhere)",
        &[],
    ),
    (
        "post",
        "/v1/client/sign_ins/{id}/prepare_first_factor",
        "Send a code or magic link (email_code, email_link, phone_code, reset_password_email_code), or start a social sign-in (oauth_<provider>)",
        &[
            "strategy",
            "email_address_id",
            "phone_number_id",
            "redirect_url",
            "action_complete_redirect_url",
        ],
    ),
    (
        "post",
        "/v1/client/sign_ins/{id}/attempt_first_factor",
        "Attempt the first factor (password, email_code, phone_code, reset_password_email_code)",
        &["strategy", "password", "code"],
    ),
    (
        "post",
        "/v1/client/sign_ins/{id}/reset_password",
        "Set a new password after a reset code",
        &["password", "sign_out_of_other_sessions"],
    ),
    (
        "post",
        "/v1/client/sign_ins/{id}/prepare_second_factor",
        "Send a second-factor code by SMS (phone_code)",
        &["strategy", "phone_number_id"],
    ),
    (
        "post",
        "/v1/client/sign_ins/{id}/attempt_second_factor",
        "Attempt the second factor (totp, backup_code, phone_code)",
        &["strategy", "code"],
    ),
    (
        "get",
        "/v1/verify",
        "Magic-link target: verifies, then 303 to redirect_url with __gatehouse_status (query: token)",
        &[],
    ),
    (
        "get",
        "/v1/oauth_callback",
        "Social sign-in callback: 303 to action_complete_redirect_url, or to redirect_url with __gatehouse_status and __gatehouse_reason (query: code, state, error)",
        &[],
    ),
    (
        "post",
        "/v1/oauth_callback",
        "Social sign-in callback for response_mode=form_post: 303 to the GET callback",
        &["code", "state", "error"],
    ),
    (
        "get",
        "/v1/saml/metadata/{id}",
        "SAML SP metadata of a connection (also its SP entity id)",
        &[],
    ),
    (
        "post",
        "/v1/saml/acs/{id}",
        "SAML assertion consumer service (HTTP-POST binding): 303 to /v1/saml/complete, or to redirect_url with __gatehouse_status=failed",
        &["SAMLResponse", "RelayState"],
    ),
    (
        "get",
        "/v1/saml/complete",
        "Enterprise SSO completion for the client that started it: 303 to action_complete_redirect_url, or to redirect_url with __gatehouse_status and __gatehouse_reason (query: token)",
        &[],
    ),
    (
        "post",
        "/v1/client/sessions/{sid}/tokens",
        "Mint a session token (sets __session)",
        &[],
    ),
    (
        "post",
        "/v1/client/sessions/{sid}/tokens/{template}",
        "Mint a token from the JWT template named {template}",
        &[],
    ),
    (
        "post",
        "/v1/client/sessions/{sid}/touch",
        "Mark a session active",
        &["active_organization_id"],
    ),
    (
        "post",
        "/v1/client/sessions/{sid}/end",
        "Sign out one session",
        &[],
    ),
    ("get", "/v1/me", "The signed-in user", &[]),
    (
        "patch",
        "/v1/me",
        "Update the signed-in user",
        &[
            "username",
            "first_name",
            "last_name",
            "primary_email_address_id",
            "primary_phone_number_id",
            "unsafe_metadata",
        ],
    ),
    ("delete", "/v1/me", "Delete the signed-in user", &[]),
    (
        "post",
        "/v1/me/change_password",
        "Change the password",
        &[
            "current_password",
            "new_password",
            "sign_out_of_other_sessions",
        ],
    ),
    (
        "get",
        "/v1/me/sessions",
        "Active sessions of the signed-in user",
        &[],
    ),
    (
        "post",
        "/v1/me/totp",
        "Start authenticator-app enrollment",
        &[],
    ),
    (
        "delete",
        "/v1/me/totp",
        "Remove the authenticator app and backup codes",
        &[],
    ),
    (
        "post",
        "/v1/me/totp/attempt_verification",
        "Finish enrollment with a code; returns the backup codes once",
        &["code"],
    ),
    (
        "post",
        "/v1/me/backup_codes",
        "Replace the backup codes",
        &[],
    ),
    (
        "post",
        "/v1/me/reverify",
        "Verify the password again (changing MFA needs a recent one)",
        &["password"],
    ),
    (
        "post",
        "/v1/me/sessions/{id}/revoke",
        "Revoke one of the user's sessions",
        &[],
    ),
    (
        "post",
        "/v1/me/external_accounts",
        "Link a social provider account: the verification's external_verification_redirect_url",
        &["strategy", "redirect_url"],
    ),
    (
        "delete",
        "/v1/me/external_accounts/{id}",
        "Unlink a social provider account (never the last way to sign in)",
        &[],
    ),
    (
        "post",
        "/v1/me/email_addresses",
        "Add an email address (unverified)",
        &["email_address"],
    ),
    (
        "post",
        "/v1/me/email_addresses/{id}/prepare_verification",
        "Send a verification code (email_code)",
        &["strategy"],
    ),
    (
        "post",
        "/v1/me/email_addresses/{id}/attempt_verification",
        "Check a verification code",
        &["code"],
    ),
    (
        "delete",
        "/v1/me/email_addresses/{id}",
        "Remove an email address (not the last way to sign in)",
        &[],
    ),
    (
        "post",
        "/v1/me/phone_numbers",
        "Add a phone number (unverified)",
        &["phone_number"],
    ),
    (
        "post",
        "/v1/me/phone_numbers/{id}/prepare_verification",
        "Send a verification code (phone_code)",
        &["strategy"],
    ),
    (
        "post",
        "/v1/me/phone_numbers/{id}/attempt_verification",
        "Check a verification code",
        &["code"],
    ),
    (
        "delete",
        "/v1/me/phone_numbers/{id}",
        "Remove a phone number (not the last way to sign in)",
        &[],
    ),
    (
        "get",
        "/v1/gatehouse.js",
        "The browser client (an ES module; ?v=<version> is cached for a year)",
        &[],
    ),
    (
        "get",
        "/sign-in",
        "Hosted sign-in page (HTML; its forms post to /sign-in/...)",
        &[],
    ),
    (
        "get",
        "/sign-up",
        "Hosted sign-up page (HTML; its forms post to /sign-up/...)",
        &[],
    ),
    (
        "get",
        "/verify",
        "Magic-link landing page (HTML)",
        &[],
    ),
    (
        "get",
        "/user",
        "Hosted account page (HTML; its forms post to /user/...)",
        &[],
    ),
    ("get", "/sign-out", "Sign-out page (HTML)", &[]),
    ("get", "/.well-known/jwks.json", "Public signing keys", &[]),
    (
        "get",
        "/.well-known/openid-configuration",
        "Issuer discovery",
        &[],
    ),
    ("get", "/healthz", "Liveness", &[]),
    ("get", "/readyz", "Readiness (database reachable)", &[]),
    ("get", "/openapi.json", "This document", &[]),
];

pub const ADMIN_OPERATIONS: &[Operation] = &[
    (
        "get",
        "/v1/users",
        "List users (query, email_address, username, user_id, order_by, limit, offset)",
        &[],
    ),
    (
        "post",
        "/v1/users",
        "Create a user",
        &[
            "email_address",
            "phone_number",
            "username",
            "password",
            "password_digest",
            "password_hasher",
            "skip_password_checks",
            "first_name",
            "last_name",
            "public_metadata",
            "private_metadata",
            "unsafe_metadata",
        ],
    ),
    ("get", "/v1/users/{id}", "A user", &[]),
    (
        "patch",
        "/v1/users/{id}",
        "Update a user",
        &[
            "username",
            "first_name",
            "last_name",
            "primary_email_address_id",
            "primary_phone_number_id",
            "public_metadata",
            "private_metadata",
            "unsafe_metadata",
            "password",
            "skip_password_checks",
        ],
    ),
    (
        "delete",
        "/v1/users/{id}",
        "Delete a user (ends all sessions)",
        &[],
    ),
    (
        "patch",
        "/v1/users/{id}/metadata",
        "Deep-merge metadata (null removes a key)",
        &["public_metadata", "private_metadata", "unsafe_metadata"],
    ),
    (
        "post",
        "/v1/users/{id}/ban",
        "Ban a user (revokes every session)",
        &[],
    ),
    ("post", "/v1/users/{id}/unban", "Unban a user", &[]),
    ("post", "/v1/users/{id}/lock", "Lock a user", &[]),
    (
        "post",
        "/v1/users/{id}/unlock",
        "Unlock a user (clears failed attempts)",
        &[],
    ),
    (
        "delete",
        "/v1/users/{id}/mfa",
        "Remove TOTP and backup codes",
        &[],
    ),
    (
        "get",
        "/v1/users/{id}/oauth_access_tokens/{provider}",
        "The user's access tokens at a social provider (oauth_<name> or <name>), refreshed when expired",
        &[],
    ),
    (
        "post",
        "/v1/users/{id}/verify_password",
        "Check a user's password",
        &["password"],
    ),
    (
        "get",
        "/v1/sessions",
        "List sessions (user_id, client_id, status, limit, offset)",
        &[],
    ),
    ("get", "/v1/sessions/{id}", "A session", &[]),
    ("post", "/v1/sessions/{id}/revoke", "Revoke a session", &[]),
    (
        "post",
        "/v1/sessions/{id}/tokens",
        "Mint a session token server-side",
        &[],
    ),
    (
        "post",
        "/v1/sessions/{id}/tokens/{template}",
        "Mint a token from the JWT template named {template} server-side",
        &[],
    ),
    (
        "get",
        "/v1/jwt_templates",
        "List JWT templates (limit, offset)",
        &[],
    ),
    (
        "post",
        "/v1/jwt_templates",
        "Create a JWT template (or from a preset: hasura, supabase)",
        &[
            "name",
            "claims",
            "preset",
            "lifetime",
            "allowed_clock_skew",
            "signing_algorithm",
            "signing_key",
        ],
    ),
    ("get", "/v1/jwt_templates/{id}", "A JWT template", &[]),
    (
        "patch",
        "/v1/jwt_templates/{id}",
        "Update a JWT template (signing_key: null goes back to the instance key)",
        &[
            "name",
            "claims",
            "lifetime",
            "allowed_clock_skew",
            "signing_algorithm",
            "signing_key",
        ],
    ),
    (
        "delete",
        "/v1/jwt_templates/{id}",
        "Delete a JWT template",
        &[],
    ),
    (
        "get",
        "/v1/saml_connections",
        "List enterprise SSO (SAML) connections",
        &[],
    ),
    (
        "post",
        "/v1/saml_connections",
        "Create a SAML connection (IdP from idp_metadata, idp_metadata_url or explicit fields)",
        SAML_CONNECTION_FIELDS,
    ),
    ("get", "/v1/saml_connections/{id}", "A SAML connection", &[]),
    (
        "patch",
        "/v1/saml_connections/{id}",
        "Update a SAML connection (fields not given keep their values)",
        SAML_CONNECTION_FIELDS,
    ),
    (
        "delete",
        "/v1/saml_connections/{id}",
        "Delete a SAML connection and the accounts it vouched for",
        &[],
    ),
    (
        "get",
        "/v1/session_claims",
        "The custom session claims in effect (source: config or api)",
        &[],
    ),
    (
        "put",
        "/v1/session_claims",
        "Set the custom session claims (wins over [session] claims in every process)",
        &["claims"],
    ),
    (
        "delete",
        "/v1/session_claims",
        "Remove the claims set here ([session] claims applies again)",
        &[],
    ),
    ("get", "/v1/jwks", "Public signing keys", &[]),
    (
        "get",
        "/v1/dev/outbox",
        "Messages kept by the log transport (to, limit, offset)",
        &[],
    ),
    ("get", "/healthz", "Liveness", &[]),
    ("get", "/readyz", "Readiness (database reachable)", &[]),
    ("get", "/metrics", "Prometheus metrics", &[]),
    ("get", "/openapi.json", "This document", &[]),
];

pub async fn public_document(State(app): State<AppRef>) -> Json<Value> {
    Json(document(
        "Gatehouse Frontend API",
        &app.config.public_url,
        PUBLIC_OPERATIONS,
        false,
    ))
}

pub async fn admin_document(State(app): State<AppRef>) -> Json<Value> {
    Json(document(
        "Gatehouse Backend API",
        &format!("http://{}", app.config.admin_listen),
        ADMIN_OPERATIONS,
        true,
    ))
}

fn document(title: &str, server: &str, ops: &[Operation], secret_key: bool) -> Value {
    let mut paths = Map::new();
    for (method, path, summary, fields) in ops {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}},
                "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}},
            },
        });
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if !fields.is_empty() {
            let props: Map<String, Value> =
                fields.iter().map(|f| (f.to_string(), json!({}))).collect();
            let schema = json!({"type": "object", "properties": props});
            let mut content = json!({"application/json": {"schema": schema}});
            if !secret_key {
                content["application/x-www-form-urlencoded"] = json!({"schema": schema});
            }
            op["requestBody"] = json!({"required": false, "content": content});
        }
        if secret_key && path.starts_with("/v1/") {
            op["security"] = json!([{"secretKey": []}]);
        }
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": title, "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "securitySchemes": {"secretKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Errors": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {"errors": {"type": "array", "items": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "long_message": {"type": "string"},
                            "meta": {"type": "object"},
                        },
                    }}},
                },
            },
        },
    })
}
