//! `/sign-up`: the fields the instance asks for (the password rules explained next to
//! the password), then a code for each address that must be verified. The same sign-up
//! flow as `POST /v1/client/sign_ups`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use crate::app::AppRef;
use crate::config::{IdentifierKind, SignUpMode};
use crate::domain::model::SignUpAttempt;
use crate::domain::policy;
use crate::domain::sign_up::{self, SignUpParams};
use crate::error::Error;
use crate::http::render;

use super::layout::{compiled_body, View};
use super::request::{Page, PagePost};
use super::sign_in::{password_hint, social_links, SocialLink};

const FIELDS: &[&str] = &[
    "email_address",
    "phone_number",
    "username",
    "first_name",
    "last_name",
    "password",
];

/// `GET /sign-up`: the form, or the verification step of `?attempt=`.
pub async fn show(State(app): State<AppRef>, mut page: Page) -> Response {
    if !app.config.session.multi_session && page.is_signed_in(&app).await {
        let target = page.destination(&app, &app.config.pages.after_sign_up_url);
        return page.see_other(&app, &target).await;
    }
    let Some(id) = page.query("attempt").map(String::from) else {
        return form_view(&app, &page, &Form::default(), None).await;
    };
    match sign_up::poll(&app, &mut page.fe.ctx, &id).await {
        Ok(a) => step(&app, page, a, None).await,
        Err(_) => {
            let e = Error::new("sign_up_abandoned", "This sign-up has expired.");
            form_view(&app, &page, &Form::default(), Some(e)).await
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct Form {
    email_address: Option<String>,
    phone_number: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    password: Option<String>,
}

/// `POST /sign-up`.
pub async fn create(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<Form>,
) -> Response {
    if let Some(missing) = first_missing(&app, &form) {
        let e = Error::param_missing(missing);
        return form_view(&app, &page, &form, Some(e)).await;
    }
    let params = SignUpParams {
        email_address: form.email_address.clone(),
        username: form.username.clone(),
        phone_number: form.phone_number.clone(),
        password: form.password.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        ..Default::default()
    };
    match sign_up::create(&app, &mut page.fe.ctx, params).await {
        Ok(a) => step(&app, page, a, None).await,
        Err(e) => form_view(&app, &page, &form, Some(e)).await,
    }
}

/// The first field the instance requires that the form left empty.
fn first_missing(app: &AppRef, form: &Form) -> Option<&'static str> {
    let kinds = &app.config.auth.identifiers;
    let primary = if kinds.contains(&IdentifierKind::EmailAddress) {
        ("email_address", &form.email_address)
    } else if kinds.contains(&IdentifierKind::PhoneNumber) {
        ("phone_number", &form.phone_number)
    } else {
        ("username", &form.username)
    };
    if primary.1.is_none() {
        return Some(primary.0);
    }
    (policy::first_factor_enabled(app, policy::PASSWORD) && form.password.is_none())
        .then_some("password")
}

#[derive(Deserialize)]
pub struct VerifyForm {
    attempt: Option<String>,
    strategy: Option<String>,
    code: Option<String>,
}

/// `POST /sign-up/verify`: the code sent to the address being verified.
pub async fn verify(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<VerifyForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let strategy = form.strategy.clone().unwrap_or_default();
    let result = match form.code.as_deref() {
        Some(code) => {
            sign_up::attempt_verification(&app, &mut page.fe.ctx, &id, &strategy, code).await
        }
        None => Err(Error::param_missing("code")),
    };
    match result {
        Ok(a) => step(&app, page, a, None).await,
        Err(e) => reshow(&app, page, &id, e).await,
    }
}

/// `POST /sign-up/resend`: a new code.
pub async fn resend(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<VerifyForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let strategy = form.strategy.clone().unwrap_or_default();
    match sign_up::prepare_verification(&app, &page.fe.ctx, &id, &strategy, None).await {
        Ok(a) => {
            let path = format!("/sign-up?attempt={}", a.id);
            page.redirect(&app, &path).await
        }
        Err(e) => reshow(&app, page, &id, e).await,
    }
}

async fn reshow(app: &AppRef, page: Page, id: &str, e: Error) -> Response {
    match sign_up::load(app, &page.fe.ctx, id).await {
        Ok(a) => step(app, page, a, Some(e)).await,
        Err(_) => {
            let e = Error::new("sign_up_abandoned", "This sign-up has expired.");
            form_view(app, &page, &Form::default(), Some(e)).await
        }
    }
}

/// Where an attempt stands: complete (on to where sign-ups go), a field to verify (a
/// code is sent when none is on its way yet), or back to the form.
async fn step(app: &AppRef, page: Page, a: SignUpAttempt, error: Option<Error>) -> Response {
    let json = render::sign_up(app, &a);
    match json["status"].as_str().unwrap_or("") {
        "complete" => {
            let session = a.created_session_id.as_deref();
            return page
                .signed_in(app, session, &app.config.pages.after_sign_up_url)
                .await;
        }
        "missing_requirements" => {}
        _ => {
            let e = Error::new("sign_up_abandoned", "This sign-up has expired.");
            return form_view(app, &page, &Form::default(), Some(e)).await;
        }
    }
    let unverified: Vec<&str> = json["unverified_fields"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(field) = unverified.first().copied() else {
        let e = json["missing_fields"][0]
            .as_str()
            .map(Error::param_missing)
            .or(error);
        return form_view(app, &page, &from_attempt(&a), e).await;
    };
    let strategy = if field == "phone_number" {
        "phone_code"
    } else {
        "email_code"
    };
    let v = &json["verifications"][field];
    let never_sent = v.is_null() || v["strategy"] != strategy;
    if never_sent && error.is_none() {
        // Send the first code as soon as the form is in (no extra click).
        return match sign_up::prepare_verification(app, &page.fe.ctx, &a.id, strategy, None).await {
            Ok(a) => {
                page.redirect(app, &format!("/sign-up?attempt={}", a.id))
                    .await
            }
            Err(e) => verify_view(app, &page, &a, field, strategy, Some(e)).await,
        };
    }
    let error = error.or_else(|| {
        (v["status"] == "expired")
            .then(|| Error::new("verification_expired", "That code has expired."))
    });
    verify_view(app, &page, &a, field, strategy, error).await
}

async fn verify_view(
    app: &AppRef,
    page: &Page,
    a: &SignUpAttempt,
    field: &str,
    strategy: &str,
    error: Option<Error>,
) -> Response {
    let (heading, to) = match field {
        "phone_number" => ("Verify your phone number", a.phone_number.clone()),
        _ => ("Verify your email address", a.email_address.clone()),
    };
    let how = if field == "phone_number" {
        "texted"
    } else {
        "emailed"
    };
    let body = VerifyStep {
        attempt: a.id.clone(),
        strategy: strategy.to_string(),
        start_over_url: page.with_redirect("/sign-up"),
    };
    let view = View::compiled(body, heading)
        .sub(format!(
            "We {how} a 6-digit code to {}. Enter it below.",
            to.unwrap_or_default()
        ))
        .fields(&["code"])
        .maybe_error(error);
    page.render(app, view).await
}

fn from_attempt(a: &SignUpAttempt) -> Form {
    Form {
        email_address: a.email_address.clone(),
        phone_number: a.phone_number.clone(),
        username: a.username.clone(),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        password: None,
    }
}

/// The sign-up form with the instance's fields; the password is never sent back.
async fn form_view(app: &AppRef, page: &Page, form: &Form, error: Option<Error>) -> Response {
    let c = &app.config;
    if !matches!(c.auth.sign_up, SignUpMode::Public) {
        let e = Error::new("sign_up_disabled", "Sign-ups are closed.");
        return page.render(app, View::error_page(e)).await;
    }
    let kinds = &c.auth.identifiers;
    let email = kinds.contains(&IdentifierKind::EmailAddress);
    let phone = kinds.contains(&IdentifierKind::PhoneNumber);
    let username = kinds.contains(&IdentifierKind::Username);
    let p = &c.auth.password;
    let body = FormStep {
        social: social_links(app, page).await,
        values: Form {
            password: None,
            ..form.clone()
        },
        email_address: email,
        phone_number: phone,
        // A phone number is optional when email is the primary identifier.
        phone_required: phone && !email,
        username,
        username_required: !email && !phone,
        password: policy::first_factor_enabled(app, policy::PASSWORD),
        password_hint: password_hint(app),
        min_length: p.min_length.to_string(),
        max_length: p.max_length.to_string(),
        sign_in_url: page.with_redirect("/sign-in"),
    };
    let view = View::compiled(body, "Create your account")
        .sub(format!("to continue to {}", c.application_name))
        .fields(FIELDS)
        .maybe_error(error);
    page.render(app, view).await
}

/// The sign-up form: the fields the instance asks for, filled in again after an error.
struct FormStep {
    social: Vec<SocialLink>,
    values: Form,
    email_address: bool,
    phone_number: bool,
    phone_required: bool,
    username: bool,
    username_required: bool,
    password: bool,
    password_hint: String,
    min_length: String,
    max_length: String,
    sign_in_url: String,
}

compiled_body!(FormStep, "sign_up_form.html");

/// The code step: the code sent to the address being verified.
struct VerifyStep {
    attempt: String,
    strategy: String,
    start_over_url: String,
}

compiled_body!(VerifyStep, "sign_up_verify.html");
