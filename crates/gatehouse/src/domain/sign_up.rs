//! The sign-up state machine: `missing_requirements` until every required field is
//! present and every field that needs verifying is verified, then `complete` (a user and a
//! session are created in one transaction). `abandoned` once past `abandon_at`.
//! Verifying the email address or phone number is in `verification`.

mod oauth;
mod verification;

pub use oauth::{oauth_failed, oauth_verified};
pub use verification::{attempt_verification, link_opened, poll, prepare_verification};

use serde_json::Value;

use crate::app::App;
use crate::config::{IdentifierKind, SignUpMode};
use crate::crypto::ids;
use crate::domain::clients::ClientCtx;
use crate::domain::identifiers::{parse_email, parse_phone, parse_username};
use crate::domain::model::{parse_verification, SignUpAttempt, Verification};
use crate::domain::sessions::{self, FactorTimes};
use crate::domain::{passwords, policy, rate_limit, sign_in, social};
use crate::error::Error;
use crate::store::{NewIdentifier, NewUser, StoreError};

pub const STATUS_MISSING: &str = "missing_requirements";
pub const STATUS_COMPLETE: &str = "complete";
pub const STATUS_ABANDONED: &str = "abandoned";
const ATTEMPT_LIFETIME_MS: i64 = 24 * 3600 * 1000;
const MAX_NAME_CHARS: usize = 256;
pub const MAX_METADATA_BYTES: usize = 8 * 1024;

/// Fields a sign-up may carry; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignUpParams {
    pub email_address: Option<String>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub unsafe_metadata: Option<Value>,
    /// `oauth_<provider>`: sign up with a social provider (with `redirect_url` and
    /// `action_complete_redirect_url`).
    pub strategy: Option<String>,
    pub redirect_url: Option<String>,
    pub action_complete_redirect_url: Option<String>,
    /// Take over the account of this client's `transferable` social sign-in.
    pub transfer: Option<bool>,
}

/// The required, missing and unverified fields of an attempt as of now.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub required: Vec<&'static str>,
    pub missing: Vec<&'static str>,
    pub unverified: Vec<&'static str>,
}

pub fn requirements(app: &App, a: &SignUpAttempt) -> Requirements {
    let auth = &app.config.auth;
    let mut required = Vec::new();
    if auth.identifiers.contains(&IdentifierKind::EmailAddress) {
        required.push("email_address");
    } else if auth.identifiers.contains(&IdentifierKind::PhoneNumber) {
        required.push("phone_number");
    } else {
        required.push("username");
    }
    // A sign-up through a social provider needs no password.
    if policy::first_factor_enabled(app, policy::PASSWORD) && !oauth::has_external(a) {
        required.push("password");
    }
    let present = |f: &str| match f {
        "email_address" => a.email_address.is_some(),
        "phone_number" => a.phone_number.is_some(),
        "username" => a.username.is_some(),
        "password" => a.password_digest.is_some(),
        _ => false,
    };
    if a.status == STATUS_COMPLETE {
        // The password digest is dropped from a completed attempt; nothing is missing.
        return Requirements {
            required,
            missing: Vec::new(),
            unverified: Vec::new(),
        };
    }
    let missing = required.iter().copied().filter(|f| !present(f)).collect();
    let mut unverified = Vec::new();
    let verified = |v: &Option<String>| parse_verification(v).is_some_and(|v| v.is_verified());
    if auth.verify_email_at_sign_up && a.email_address.is_some() && !verified(&a.email_verification)
    {
        unverified.push("email_address");
    }
    if auth.verify_phone_at_sign_up && a.phone_number.is_some() && !verified(&a.phone_verification)
    {
        unverified.push("phone_number");
    }
    Requirements {
        required,
        missing,
        unverified,
    }
}

/// `POST /v1/client/sign_ups`.
pub async fn create(
    app: &App,
    ctx: &mut ClientCtx,
    params: SignUpParams,
) -> Result<SignUpAttempt, Error> {
    match app.config.auth.sign_up {
        SignUpMode::Public => {}
        SignUpMode::Restricted | SignUpMode::Disabled => {
            return Err(Error::new(
                "sign_up_disabled",
                "Sign-ups are not open on this instance.",
            ))
        }
    }
    rate_limit::per_ip(
        app,
        "sign_up_create",
        &ctx.request.ip,
        app.config.rate_limits.sign_up_create,
    )
    .await?;
    sessions::ensure_can_sign_in(app, ctx).await?;
    let social_strategy = params
        .strategy
        .clone()
        .filter(|s| social::is_oauth_strategy(s));
    if let Some(s) = social_strategy.as_deref() {
        social::provider_for(app, s)?;
    }
    let transferred = match params.transfer {
        Some(true) => Some(sign_in::transferable(app, ctx).await?),
        _ => None,
    };
    if params.password.is_some() {
        passwords::refuse_early_if_overloaded(app)?;
    }
    let client = ctx.ensure(app).await?;
    let now = app.now();
    let mut attempt = SignUpAttempt {
        id: ids::new_id("sua"),
        client_id: client.id.clone(),
        status: STATUS_MISSING.into(),
        email_address: None,
        username: None,
        phone_number: None,
        first_name: None,
        last_name: None,
        password_digest: None,
        unsafe_metadata: "{}".into(),
        email_verification: None,
        phone_verification: None,
        external_verification: None,
        created_user_id: None,
        created_session_id: None,
        abandon_at: now + ATTEMPT_LIFETIME_MS,
        created_at: now,
        updated_at: now,
    };
    let (redirect_url, complete_url) = (
        params.redirect_url.clone(),
        params.action_complete_redirect_url.clone(),
    );
    apply(app, &mut attempt, params).await?;
    if let Some((state_id, result)) = &transferred {
        oauth::apply_external(app, &mut attempt, state_id, result).await?;
    } else if let Some(strategy) = social_strategy.as_deref() {
        let (redirect, complete) = (redirect_url.as_deref(), complete_url.as_deref());
        oauth::begin(app, &mut attempt, strategy, redirect, complete).await?;
        app.store.save_sign_up_for_client(&attempt).await?;
        ctx.reload(app).await?;
        return Ok(attempt);
    }
    if is_ready(app, &attempt) {
        // Saved by the transaction that creates the user: one commit instead of three.
        complete_if_ready(app, ctx, &mut attempt).await?;
    } else {
        app.store.save_sign_up_for_client(&attempt).await?;
        ctx.reload(app).await?;
    }
    Ok(attempt)
}

/// Loads an attempt of this client that can still change.
pub async fn load_open(app: &App, ctx: &ClientCtx, id: &str) -> Result<SignUpAttempt, Error> {
    let attempt = load(app, ctx, id).await?;
    if attempt.status == STATUS_COMPLETE {
        return Err(Error::new(
            "sign_up_complete",
            "This sign-up is already complete.",
        ));
    }
    if attempt.abandon_at <= app.now() {
        return Err(Error::new(
            "sign_up_abandoned",
            "This sign-up has expired. Please start again.",
        ));
    }
    Ok(attempt)
}

/// Loads an attempt that belongs to this client (another client's id is not found).
pub async fn load(app: &App, ctx: &ClientCtx, id: &str) -> Result<SignUpAttempt, Error> {
    let client = ctx.require()?;
    match app.store.get_sign_up(id).await? {
        Some(a) if a.client_id == client.id => Ok(a),
        _ => Err(Error::not_found("sign_up")),
    }
}

/// The attempt's status as of now.
pub fn status_at(a: &SignUpAttempt, now: i64) -> &str {
    if a.status == STATUS_MISSING && a.abandon_at <= now {
        STATUS_ABANDONED
    } else {
        &a.status
    }
}

/// `PATCH /v1/client/sign_ups/{id}`.
pub async fn update(
    app: &App,
    ctx: &mut ClientCtx,
    id: &str,
    params: SignUpParams,
) -> Result<SignUpAttempt, Error> {
    let mut attempt = load_open(app, ctx, id).await?;
    apply(app, &mut attempt, params).await?;
    attempt.updated_at = app.now();
    app.store.save_sign_up(&attempt).await?;
    complete_if_ready(app, ctx, &mut attempt).await?;
    Ok(attempt)
}

async fn apply(app: &App, a: &mut SignUpAttempt, p: SignUpParams) -> Result<(), Error> {
    let enabled = |k: IdentifierKind| app.config.auth.identifiers.contains(&k);
    if let Some(email) = p.email_address {
        if !enabled(IdentifierKind::EmailAddress) {
            return Err(not_enabled("email_address"));
        }
        let email = parse_email(&email)?;
        ensure_free(app, "email_address", &email.normalized).await?;
        if a.email_address.as_deref() != Some(&email.display) {
            a.email_verification = None;
        }
        a.email_address = Some(email.display);
    }
    if let Some(username) = p.username {
        if !enabled(IdentifierKind::Username) {
            return Err(not_enabled("username"));
        }
        let username = parse_username(&username)?;
        ensure_free(app, "username", &username.normalized).await?;
        a.username = Some(username.display);
    }
    if let Some(phone) = p.phone_number {
        if !enabled(IdentifierKind::PhoneNumber) {
            return Err(not_enabled("phone_number"));
        }
        let phone = parse_phone(&phone)?;
        ensure_free(app, "phone_number", &phone.normalized).await?;
        if a.phone_number.as_deref() != Some(&phone.display) {
            a.phone_verification = None;
        }
        a.phone_number = Some(phone.display);
    }
    if let Some(v) = p.first_name {
        a.first_name = clean_name("first_name", &v)?;
    }
    if let Some(v) = p.last_name {
        a.last_name = clean_name("last_name", &v)?;
    }
    if let Some(meta) = p.unsafe_metadata {
        a.unsafe_metadata = metadata_object("unsafe_metadata", &meta)?;
    }
    if let Some(password) = p.password {
        let inputs: Vec<&str> = [&a.email_address, &a.username, &a.first_name, &a.last_name]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect();
        a.password_digest = Some(passwords::hash_new(app, &password, &inputs, false).await?);
    }
    Ok(())
}

fn not_enabled(param: &str) -> Error {
    Error::new(
        "form_param_unknown",
        format!("{param} is not enabled on this instance."),
    )
    .with_param(param)
}

/// Trims a name; empty means none; at most 256 characters.
pub fn clean_name(param: &str, v: &str) -> Result<Option<String>, Error> {
    let v = v.trim();
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(Error::param_invalid(
            param,
            format!("{param} must be at most {MAX_NAME_CHARS} characters."),
        ));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// A metadata value must be a JSON object of bounded size; returns its text.
pub fn metadata_object(param: &str, v: &Value) -> Result<String, Error> {
    if !v.is_object() {
        return Err(Error::param_invalid(
            param,
            format!("{param} must be a JSON object."),
        ));
    }
    let text = v.to_string();
    if text.len() > MAX_METADATA_BYTES {
        return Err(Error::param_invalid(
            param,
            format!("{param} must be at most {MAX_METADATA_BYTES} bytes."),
        ));
    }
    Ok(text)
}

async fn ensure_free(app: &App, kind: &str, normalized: &str) -> Result<(), Error> {
    if app
        .store
        .find_user_id_by_identifier(kind, normalized)
        .await?
        .is_some()
    {
        return Err(Error::identifier_exists(kind));
    }
    Ok(())
}

/// Nothing is missing or unverified.
fn is_ready(app: &App, a: &SignUpAttempt) -> bool {
    let req = requirements(app, a);
    req.missing.is_empty() && req.unverified.is_empty()
}

/// Creates the user and session once nothing is missing or unverified.
async fn complete_if_ready(
    app: &App,
    ctx: &mut ClientCtx,
    a: &mut SignUpAttempt,
) -> Result<(), Error> {
    if !is_ready(app, a) {
        return Ok(());
    }
    let now = app.now();
    // The strategy that verified a field, if one did.
    let verified_by = |v: &Option<String>| {
        parse_verification(v)
            .filter(Verification::is_verified)
            .map(|v| v.strategy)
    };
    let mut identifiers = Vec::new();
    if let Some(email) = &a.email_address {
        let strategy = verified_by(&a.email_verification);
        identifiers.push(NewIdentifier {
            id: ids::new_id("idn"),
            kind: "email_address",
            value: email.clone(),
            normalized: email.to_lowercase(),
            verified: strategy.is_some(),
            strategy,
        });
    }
    if let Some(phone) = &a.phone_number {
        let strategy = verified_by(&a.phone_verification);
        identifiers.push(NewIdentifier {
            id: ids::new_id("idn"),
            kind: "phone_number",
            value: phone.clone(),
            normalized: phone.clone(),
            verified: strategy.is_some(),
            strategy,
        });
    }
    let user = NewUser {
        id: ids::new_id("user"),
        username: a.username.clone(),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        password_digest: a.password_digest.clone(),
        password_hasher: a.password_digest.as_ref().map(|_| "argon2id".to_string()),
        public_metadata: "{}".into(),
        private_metadata: "{}".into(),
        unsafe_metadata: a.unsafe_metadata.clone(),
        identifiers,
        now,
    };
    let pending = oauth::pending_account(app, a).await?;
    let mut tx = app.store.begin().await?;
    if let Err(e) = app.store.insert_user(&mut tx, &user).await {
        drop(tx);
        return Err(match e {
            StoreError::Conflict => conflict_param(app, a).await,
            other => other.into(),
        });
    }
    oauth::link_in_tx(app, &mut tx, pending.as_ref(), &user.id).await?;
    let session = sessions::create_in_tx(
        app,
        &mut tx,
        ctx,
        &user.id,
        FactorTimes {
            first: now,
            second: None,
        },
    )
    .await?;
    a.status = STATUS_COMPLETE.into();
    a.created_user_id = Some(user.id.clone());
    a.created_session_id = Some(session.id.clone());
    a.password_digest = None;
    a.updated_at = now;
    app.store.save_sign_up_tx(&mut tx, a).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    if let Some((state_id, _)) = &pending {
        oauth::forget(app, state_id).await?;
    }
    ctx.reload(app).await?;
    metrics::counter!("gatehouse_sign_ups_total", "outcome" => "complete").increment(1);
    Ok(())
}

/// Which identifier another sign-up took while this one was in progress.
async fn conflict_param(app: &App, a: &SignUpAttempt) -> Error {
    let checks = [
        (
            "email_address",
            a.email_address.as_ref().map(|e| e.to_lowercase()),
        ),
        ("username", a.username.as_ref().map(|u| u.to_lowercase())),
        ("phone_number", a.phone_number.clone()),
    ];
    for (kind, value) in checks {
        if let Some(v) = value {
            if let Ok(Some(_)) = app.store.find_user_id_by_identifier(kind, &v).await {
                return Error::identifier_exists(kind);
            }
        }
    }
    Error::identifier_exists("email_address")
}
