//! The API's JSON objects, rendered from records.

use serde_json::{json, Value};

use crate::app::App;
use crate::domain::model::{
    parse_verification, ExternalAccount, Identifier, SamlAccount, Session, SignInAttempt,
    SignUpAttempt, UserRecord, Verification,
};
use crate::domain::saml::connections::Connection;
use crate::domain::session_claims::{InEffect, Source};
use crate::domain::{jwt_templates, mfa, saml, sign_in, sign_up, social};
use crate::store::StoredJwtTemplate;

fn json_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| json!({}))
}

/// An email address or phone number; while a verification is pending, its state.
pub fn identifier(app: &App, i: &Identifier) -> Value {
    let pending = parse_verification(&i.verification).filter(|_| !i.is_verified());
    let verification = match pending {
        Some(v) => verification_of(app, &v),
        None if i.is_verified() => {
            json!({"status": "verified", "strategy": i.verification_strategy, "attempts": null, "expire_at": null})
        }
        None => {
            json!({"status": "unverified", "strategy": null, "attempts": null, "expire_at": null})
        }
    };
    json!({
        "object": i.kind,
        "id": i.id,
        i.kind.as_str(): i.value,
        "verification": verification,
        "linked_to": [],
        "created_at": i.created_at,
        "updated_at": i.updated_at,
    })
}

/// An account at a social sign-in provider linked to a user.
pub fn external_account(a: &ExternalAccount) -> Value {
    let strategy = format!("oauth_{}", a.provider);
    json!({
        "object": "external_account",
        "id": a.id,
        "provider": strategy,
        "provider_user_id": a.provider_user_id,
        "email_address": a.email_address,
        "first_name": a.first_name,
        "last_name": a.last_name,
        "username": a.username,
        "avatar_url": a.avatar_url,
        "approved_scopes": a.scopes,
        "verification": {"status": "verified", "strategy": strategy},
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    })
}

/// A social sign-in verification started from `/v1/me` (`POST /v1/me/external_accounts`).
pub fn external_account_link(app: &App, provider: &str, v: &Verification) -> Value {
    json!({
        "object": "external_account",
        "id": null,
        "provider": format!("oauth_{provider}"),
        "verification": verification_of(app, v),
    })
}

/// A user; `private_metadata` only for the Backend API.
pub fn saml_account(a: &SamlAccount) -> Value {
    json!({
        "object": "saml_account",
        "id": a.id,
        "saml_connection_id": a.connection_id,
        "name_id": a.name_id,
        "email_address": a.email_address,
        "first_name": a.first_name,
        "last_name": a.last_name,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    })
}

/// A SAML connection (never its request-signing key).
pub fn saml_connection(app: &App, c: &Connection) -> Value {
    let r = &c.row;
    json!({
        "object": "saml_connection",
        "id": r.id,
        "name": r.name,
        "domains": c.domains,
        "idp_entity_id": r.idp_entity_id,
        "idp_sso_url": r.idp_sso_url,
        "idp_certificates": c.certificates(),
        "attribute_mapping": c.mapping(),
        "allow_idp_initiated": r.allow_idp_initiated == 1,
        "sign_authn_requests": r.sign_authn_requests == 1,
        "allow_sha1": r.allow_sha1 == 1,
        "active": r.active == 1,
        "sp_entity_id": saml::sp_entity_id(app, &r.id),
        "acs_url": saml::acs_url(app, &r.id),
        "sp_metadata_url": saml::sp_entity_id(app, &r.id),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

pub fn user(app: &App, r: &UserRecord, with_private: bool) -> Value {
    let u = &r.user;
    let now = app.now();
    let mut v = json!({
        "object": "user",
        "id": u.id,
        "username": u.username,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "primary_email_address_id": u.primary_email_address_id,
        "primary_phone_number_id": u.primary_phone_number_id,
        "email_addresses": r.emails().map(|i| identifier(app, i)).collect::<Vec<_>>(),
        "phone_numbers": r.phones().map(|i| identifier(app, i)).collect::<Vec<_>>(),
        "external_accounts": r.external_accounts.iter().map(external_account).collect::<Vec<_>>(),
        "saml_accounts": r.saml_accounts.iter().map(saml_account).collect::<Vec<_>>(),
        "password_enabled": u.password_enabled(),
        "totp_enabled": u.totp_enabled(),
        "backup_code_enabled": u.backup_code_enabled(),
        "two_factor_enabled": mfa::two_factor_enabled(app, r),
        "public_metadata": json_text(&u.public_metadata),
        "unsafe_metadata": json_text(&u.unsafe_metadata),
        "banned": u.is_banned(),
        "locked": u.is_locked(now),
        "lockout_expires_in_seconds": u.lockout_expires_in_seconds(now),
        "last_sign_in_at": u.last_sign_in_at,
        "last_active_at": u.last_active_at,
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    });
    if with_private {
        v["private_metadata"] = json_text(&u.private_metadata);
    }
    v
}

pub fn session(app: &App, s: &Session, user: Option<Value>) -> Value {
    let inactivity = app.inactivity_ms();
    let mut v = json!({
        "object": "session",
        "id": s.id,
        "client_id": s.client_id,
        "user_id": s.user_id,
        "status": s.status_at(app.now(), inactivity),
        "last_active_at": s.last_active_at,
        "expire_at": s.expire_at,
        "abandon_at": s.abandon_at(inactivity),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "last_active_organization_id": s.last_active_organization_id,
        "actor": s.actor.as_deref().map(json_text),
        "latest_activity": json_text(&s.latest_activity),
    });
    if let Some(u) = user {
        v["user"] = u;
    }
    v
}

fn verification(app: &App, v: &Option<String>) -> Value {
    match parse_verification(v) {
        Some(v) => verification_of(app, &v),
        None => Value::Null,
    }
}

/// A verification as the API shows it (a pending one past its expiry is `expired`).
fn verification_of(app: &App, v: &Verification) -> Value {
    json!({
        "status": v.status_at(app.now()),
        "strategy": v.strategy,
        "attempts": v.attempts,
        "expire_at": v.expire_at,
        "verified_at_client": v.verified_at_client,
        "external_verification_redirect_url": social::pending_redirect_url(app, v),
    })
}

pub fn sign_in(app: &App, a: &SignInAttempt, user: Option<&UserRecord>) -> Value {
    let status = if a.status != sign_in::COMPLETE && a.abandon_at <= app.now() {
        "abandoned"
    } else {
        a.status.as_str()
    };
    json!({
        "object": "sign_in",
        "id": a.id,
        "status": status,
        "identifier": a.identifier,
        "supported_first_factors": sign_in::supported_first_factors(app, a, user),
        "supported_second_factors": sign_in::supported_second_factors(app, a, user),
        "first_factor_verification": verification(app, &a.first_factor),
        "second_factor_verification": verification(app, &a.second_factor),
        "created_session_id": a.created_session_id,
        // Names would tell a known identifier from an unknown one.
        "user_data": user
            .filter(|_| !app.config.auth.protect_against_enumeration)
            .map(|u| json!({"first_name": u.user.first_name, "last_name": u.user.last_name})),
        "abandon_at": a.abandon_at,
    })
}

pub fn sign_up(app: &App, a: &SignUpAttempt) -> Value {
    let req = sign_up::requirements(app, a);
    json!({
        "object": "sign_up",
        "id": a.id,
        "status": sign_up::status_at(a, app.now()),
        "required_fields": req.required,
        "optional_fields": optional_fields(app),
        "missing_fields": req.missing,
        "unverified_fields": req.unverified,
        "email_address": a.email_address,
        "username": a.username,
        "phone_number": a.phone_number,
        "first_name": a.first_name,
        "last_name": a.last_name,
        "password_enabled": a.password_digest.is_some() || a.created_user_id.is_some(),
        "unsafe_metadata": json_text(&a.unsafe_metadata),
        "verifications": {
            "email_address": verification(app, &a.email_verification),
            "phone_number": verification(app, &a.phone_verification),
            "external_account": verification(app, &a.external_verification),
        },
        "created_user_id": a.created_user_id,
        "created_session_id": a.created_session_id,
        "abandon_at": a.abandon_at,
    })
}

fn optional_fields(app: &App) -> Vec<&'static str> {
    use crate::config::IdentifierKind;
    let mut v = vec!["first_name", "last_name"];
    if app
        .config
        .auth
        .identifiers
        .contains(&IdentifierKind::Username)
    {
        v.push("username");
    }
    if app
        .config
        .auth
        .identifiers
        .contains(&IdentifierKind::PhoneNumber)
    {
        v.push("phone_number");
    }
    v
}

/// A token response, `{"object":"token","jwt":"..."}` (bare, on both APIs), with
/// `warnings` when there are any.
pub fn token(jwt: &str, warnings: &[String]) -> String {
    if warnings.is_empty() {
        // The JWT is base64url and dots: nothing in it needs JSON escaping.
        const OPEN: &str = r#"{"object":"token","jwt":""#;
        let mut body = String::with_capacity(OPEN.len() + jwt.len() + 2);
        body.push_str(OPEN);
        body.push_str(jwt);
        body.push_str(r#""}"#);
        body
    } else {
        json!({"object": "token", "jwt": jwt, "warnings": warnings}).to_string()
    }
}

/// A JWT template; its signing key is never shown, only whether it has one.
pub fn jwt_template(app: &App, t: &StoredJwtTemplate) -> Value {
    json!({
        "object": "jwt_template",
        "id": t.id,
        "name": t.name,
        "claims": json_text(&t.claims),
        "lifetime": t.lifetime,
        "allowed_clock_skew": t.allowed_clock_skew,
        "signing_algorithm": jwt_templates::signing_algorithm(app, t),
        "custom_signing_key": t.sealed_signing_key.is_some(),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

/// The custom session claims in effect, and where they come from.
pub fn session_claims(claims: &InEffect) -> Value {
    let (source, updated_at) = match claims.source {
        Source::Config => ("config", None),
        Source::Api { updated_at } => ("api", Some(updated_at)),
    };
    json!({
        "object": "session_claims",
        "claims": claims.claims,
        "source": source,
        "updated_at": updated_at,
    })
}
