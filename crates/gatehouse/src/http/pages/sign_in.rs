//! `/sign-in`: the identifier first, then the factors the sign-in offers (password,
//! codes, a magic link whose "check your email" state finishes by itself when the link
//! is opened elsewhere), the password reset, and the second factor. Every step is the
//! Frontend API's sign-in object (rendered by the same code) shown as a form; every
//! form posts to a handler that calls the same domain flow as the API and then
//! redirects (`303`) to the step the attempt is at, or to where the sign-in goes.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::{App, AppRef};
use crate::domain::model::SignInAttempt;
use crate::domain::saml;
use crate::domain::sign_in::{self, FactorSecret, PrepareParams, SignInParams};
use crate::domain::sign_up::{self, SignUpParams};
use crate::error::Error;
use crate::http::frontend::environment::get_environment;
use crate::http::frontend::sign_ins::render_attempt;

use super::layout::View;
use super::request::{Page, PagePost};

const CODE_STRATEGIES: [&str; 3] = ["email_code", "phone_code", "reset_password_email_code"];

/// `GET /sign-in`: the step of `?attempt=` (polling it, so a link opened elsewhere
/// finishes here), else the identifier form.
pub async fn show(State(app): State<AppRef>, mut page: Page) -> Response {
    if !app.config.session.multi_session && page.is_signed_in(&app).await {
        let target = page.destination(&app, &app.config.pages.after_sign_in_url);
        return page.see_other(&app, &target).await;
    }
    if let Some(response) = back_from_provider(&app, &mut page).await {
        return response;
    }
    let Some(id) = page.query("attempt").map(String::from) else {
        // Back from a link or a social provider that did not sign the browser in.
        let error = match page.query("__gatehouse_status") {
            Some("expired") => Some(Error::new(
                "link_expired",
                "That link has expired. Sign in again to get a new one.",
            )),
            Some("failed") => Some(Error::new(
                "sign_in_failed",
                "That sign-in could not be completed. Please try again.",
            )),
            _ => None,
        };
        return identifier_view(&app, &page, None, error).await;
    };
    match sign_in::poll(&app, &mut page.fe.ctx, &id).await {
        Ok(a) => step(&app, &page, &a, None).await,
        Err(e) => identifier_view(&app, &page, None, Some(restart_error(e))).await,
    }
}

/// Back from a social provider (`redirect_url` of the trip is this page) with the
/// sign-in not finished here: on to its second factor, or — for an account that is new
/// here (`transferable`) — a sign-up from the provider's account, as a person who chose
/// "Continue with …" expects; a sign-up still missing something continues on `/sign-up`.
async fn back_from_provider(app: &AppRef, page: &mut Page) -> Option<Response> {
    let status = page.query("__gatehouse_status")?.to_string();
    let client = page.fe.ctx.client.clone()?;
    match status.as_str() {
        "needs_second_factor" => {
            let id = client.sign_in_id?;
            Some(page.redirect(app, &format!("/sign-in?attempt={id}")).await)
        }
        "transferable" => {
            let params = SignUpParams {
                transfer: Some(true),
                ..Default::default()
            };
            Some(match sign_up::create(app, &mut page.fe.ctx, params).await {
                Ok(a) => {
                    page.redirect(app, &format!("/sign-up?attempt={}", a.id))
                        .await
                }
                Err(e) => identifier_view(app, page, None, Some(e)).await,
            })
        }
        "missing_requirements" => {
            let id = client.sign_up_id?;
            Some(page.redirect(app, &format!("/sign-up?attempt={id}")).await)
        }
        _ => None,
    }
}

/// A missing or foreign attempt id reads as "start again".
fn restart_error(e: Error) -> Error {
    if e.code == "resource_not_found" || e.code == "authentication_invalid" {
        Error::new("sign_in_expired", "This sign-in has expired.")
    } else {
        e
    }
}

#[derive(Deserialize)]
pub struct IdentifierForm {
    identifier: Option<String>,
}

/// `POST /sign-in`: starts a sign-in with the identifier; an email address on a domain
/// with an enterprise SSO connection starts that instead of asking for a password.
pub async fn identify(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<IdentifierForm>,
) -> Response {
    let identifier = form.identifier.clone().unwrap_or_default();
    let sso = saml::connections::for_email(&app, &identifier)
        .await
        .ok()
        .flatten();
    let params = match sso {
        Some(_) => SignInParams {
            identifier: Some(identifier),
            strategy: Some(saml::STRATEGY.into()),
            redirect_url: Some(page.with_redirect(&format!("{}/sign-in", app.config.public_url))),
            action_complete_redirect_url: Some(
                page.destination(&app, &app.config.pages.after_sign_in_url),
            ),
            ..Default::default()
        },
        None => SignInParams {
            identifier: Some(identifier),
            ..Default::default()
        },
    };
    if form.identifier.is_none() {
        let e = Error::param_missing("identifier");
        return identifier_view(&app, &page, None, Some(e)).await;
    }
    match sign_in::create(&app, &mut page.fe.ctx, params).await {
        Ok(a) => {
            page.redirect(&app, &format!("/sign-in?attempt={}", a.id))
                .await
        }
        Err(e) => identifier_view(&app, &page, form.identifier.as_deref(), Some(e)).await,
    }
}

#[derive(Deserialize)]
pub struct FactorForm {
    attempt: Option<String>,
    strategy: Option<String>,
    password: Option<String>,
    code: Option<String>,
    email_address_id: Option<String>,
    phone_number_id: Option<String>,
    #[serde(default)]
    sign_out_of_other_sessions: Option<String>,
    view: Option<String>,
}

/// `POST /sign-in/password`.
pub async fn password(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<FactorForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let secret = FactorSecret {
        password: form.password.clone(),
        code: None,
    };
    let result =
        sign_in::attempt_first_factor(&app, &mut page.fe.ctx, &id, "password", secret).await;
    after(&app, page, &id, result, Some("password")).await
}

/// `POST /sign-in/code`: a code sent by `prepare` (sign-in or password reset).
pub async fn code(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<FactorForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let strategy = form.strategy.clone().unwrap_or_default();
    let secret = FactorSecret {
        password: None,
        code: form.code.clone(),
    };
    let result =
        sign_in::attempt_first_factor(&app, &mut page.fe.ctx, &id, &strategy, secret).await;
    after(&app, page, &id, result, None).await
}

/// `POST /sign-in/prepare`: sends a code or a magic link (or a password reset code).
pub async fn prepare(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<FactorForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let strategy = form.strategy.clone();
    let redirect_url = (strategy.as_deref() == Some("email_link")).then(|| {
        let landing = format!("{}/verify?flow=sign_in&attempt={id}", app.config.public_url);
        page.with_redirect(&landing)
    });
    let params = PrepareParams {
        strategy,
        email_address_id: form.email_address_id.clone(),
        phone_number_id: form.phone_number_id.clone(),
        redirect_url,
        ..Default::default()
    };
    match sign_in::prepare_first_factor(&app, &page.fe.ctx, &id, params).await {
        Ok(a) => {
            page.redirect(&app, &format!("/sign-in?attempt={}", a.id))
                .await
        }
        Err(e) => reshow(&app, &page, &id, e, form.view.as_deref()).await,
    }
}

/// `POST /sign-in/new-password`: after a reset code.
pub async fn new_password(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<FactorForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let others = form.sign_out_of_other_sessions.is_some();
    let result = sign_in::reset_password(
        &app,
        &mut page.fe.ctx,
        &id,
        Some(form.password.as_deref().unwrap_or("")),
        others,
    )
    .await;
    after(&app, page, &id, result, None).await
}

/// `POST /sign-in/second-factor`: TOTP, backup or SMS code.
pub async fn second_factor(
    State(app): State<AppRef>,
    PagePost { mut page, form }: PagePost<FactorForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let strategy = form.strategy.clone().unwrap_or_default();
    let result = match form.code.as_deref() {
        Some(code) => {
            sign_in::attempt_second_factor(&app, &mut page.fe.ctx, &id, &strategy, code).await
        }
        None => Err(Error::param_missing("code")),
    };
    let view = match strategy.as_str() {
        "backup_code" => Some("backup"),
        "phone_code" => Some("phone"),
        _ => None,
    };
    after(&app, page, &id, result, view).await
}

/// `POST /sign-in/second-factor/prepare`: a code by SMS as the second factor.
pub async fn prepare_second_factor(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<FactorForm>,
) -> Response {
    let id = form.attempt.clone().unwrap_or_default();
    let phone = form.phone_number_id.as_deref();
    match sign_in::prepare_second_factor(&app, &page.fe.ctx, &id, "phone_code", phone).await {
        Ok(a) => {
            let path = format!("/sign-in?attempt={}&view=phone", a.id);
            page.redirect(&app, &path).await
        }
        Err(e) => reshow(&app, &page, &id, e, Some("phone")).await,
    }
}

/// `GET /sign-in/social?strategy=oauth_<name>`: starts a social sign-in and sends the
/// browser to the provider. A link, not a form: the policy's `form-action` would stop a
/// form's redirect to the provider, and starting one signs nobody in.
pub async fn social(State(app): State<AppRef>, mut page: Page) -> Response {
    let strategy = page.query("strategy").unwrap_or_default().to_string();
    if !strategy.starts_with("oauth_") {
        let e = Error::param_invalid("strategy", "strategy must be a social provider.");
        return identifier_view(&app, &page, None, Some(e)).await;
    }
    let back = page.with_redirect(&format!("{}/sign-in", app.config.public_url));
    let done = page.destination(&app, &app.config.pages.after_sign_in_url);
    // Read as the API reads its body, so the fields social sign-in takes are passed on.
    let params: SignInParams = serde_json::from_value(json!({
        "strategy": strategy,
        "redirect_url": back,
        "action_complete_redirect_url": done,
    }))
    .unwrap_or_default();
    let result = match sign_in::create(&app, &mut page.fe.ctx, params).await {
        Ok(a) => render_attempt(&app, &a).await,
        Err(e) => Err(e),
    };
    let target = result.ok().and_then(|v| {
        v["first_factor_verification"]["external_verification_redirect_url"]
            .as_str()
            .map(String::from)
    });
    match target {
        Some(url) => page.see_other(&app, &url).await,
        None => {
            let e = Error::new(
                "strategy_unavailable",
                "That sign-in method is not available right now.",
            );
            identifier_view(&app, &page, None, Some(e)).await
        }
    }
}

/// After a step was attempted: on success, on to the next step (or where the sign-in
/// goes); on failure the same step again with the error.
async fn after(
    app: &AppRef,
    page: Page,
    id: &str,
    result: Result<SignInAttempt, Error>,
    view: Option<&str>,
) -> Response {
    match result {
        Ok(a) if a.status == sign_in::COMPLETE => finish(app, &page, &a).await,
        Ok(a) => {
            page.redirect(app, &format!("/sign-in?attempt={}", a.id))
                .await
        }
        Err(e) => reshow(app, &page, id, e, view).await,
    }
}

async fn finish(app: &AppRef, page: &Page, a: &SignInAttempt) -> Response {
    let session = a.created_session_id.as_deref();
    page.signed_in(app, session, &app.config.pages.after_sign_in_url)
        .await
}

/// The attempt's current step with `e` shown; the identifier form when the attempt
/// cannot be read.
async fn reshow(app: &AppRef, page: &Page, id: &str, e: Error, view: Option<&str>) -> Response {
    match sign_in::load(app, &page.fe.ctx, id).await {
        Ok(a) => render_step(app, page, &a, Some(e), view).await,
        Err(load_error) => identifier_view(app, page, None, Some(restart_error(load_error))).await,
    }
}

async fn step(app: &AppRef, page: &Page, a: &SignInAttempt, error: Option<Error>) -> Response {
    let view = page.query("view").map(String::from);
    render_step(app, page, a, error, view.as_deref()).await
}

/// Shows the step the attempt is at.
async fn render_step(
    app: &AppRef,
    page: &Page,
    a: &SignInAttempt,
    error: Option<Error>,
    view: Option<&str>,
) -> Response {
    let json = match render_attempt(app, a).await {
        Ok(v) => v,
        Err(e) => return page.render(app, View::error_page(e)).await,
    };
    let identifier = json["identifier"].as_str().unwrap_or("").to_string();
    let base = |heading: &str| {
        View::new("sign_in.html", heading)
            .set("attempt", &a.id)
            .set("identifier", &identifier)
            .set("change_url", page.with_redirect("/sign-in"))
            .set(
                "methods_url",
                page.with_redirect(&format!("/sign-in?attempt={}&view=methods", a.id)),
            )
    };
    let view_result = match json["status"].as_str().unwrap_or("") {
        "complete" => return finish(app, page, a).await,
        "needs_first_factor" => first_factor_view(page, a, &json, view, base),
        "needs_new_password" => base("Set a new password")
            .sub("Choose a new password for your account.")
            .set("step", "new_password")
            .set("password_hint", password_hint(app))
            .fields(&["password"]),
        "needs_second_factor" => second_factor_view(page, a, &json, view, base),
        _ => {
            let e = Error::new("sign_in_expired", "This sign-in has expired.");
            return identifier_view(app, page, None, Some(e)).await;
        }
    };
    page.render(app, view_result.maybe_error(error)).await
}

fn first_factor_view(
    page: &Page,
    a: &SignInAttempt,
    json: &Value,
    view: Option<&str>,
    base: impl Fn(&str) -> View,
) -> View {
    let factors: Vec<&Value> = json["supported_first_factors"]
        .as_array()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let identifier = json["identifier"].as_str().unwrap_or("");
    let shown = |f: &Value| {
        f["safe_identifier"]
            .as_str()
            .unwrap_or(identifier)
            .to_string()
    };
    let has = |s: &str| factors.iter().any(|f| f["strategy"] == s);
    let ffv = &json["first_factor_verification"];
    let pending = ffv["strategy"].as_str().unwrap_or("");
    let pending_status = ffv["status"].as_str().unwrap_or("");
    let reset = factors
        .iter()
        .find(|f| f["strategy"] == "reset_password_email_code")
        .map(|f| json!({"email_address_id": f["email_address_id"]}));
    let methods: Vec<Value> = factors
        .iter()
        .filter_map(|f| {
            let strategy = f["strategy"].as_str()?;
            let label = match strategy {
                "password" => "Use your password".to_string(),
                "email_code" => format!("Email a code to {}", shown(f)),
                "email_link" => format!("Email a sign-in link to {}", shown(f)),
                "phone_code" => format!("Text a code to {}", shown(f)),
                _ => return None,
            };
            Some(json!({
                "strategy": strategy,
                "label": label,
                "email_address_id": f["email_address_id"],
                "phone_number_id": f["phone_number_id"],
                "password_url": page.with_redirect(&format!("/sign-in?attempt={}&view=password", a.id)),
            }))
        })
        .collect();
    let sent_to = factors
        .iter()
        .find(|f| f["strategy"] == pending)
        .map(|f| shown(f))
        .unwrap_or_else(|| identifier.to_string());
    let wants = |v: &str| view == Some(v);
    let waiting = pending_status != "verified" && !pending.is_empty();
    if pending == saml::STRATEGY {
        // A link, not a redirect: the policy's `form-action` would stop a form's
        // redirect to the identity provider.
        let url = ffv["external_verification_redirect_url"].as_str();
        let notice = url
            .is_none()
            .then(|| "Your organization's sign-in did not complete. Try again.".to_string());
        return base("Continue with your organization")
            .sub(format!(
                "{identifier} signs in through your organization's single sign-on."
            ))
            .set("step", "sso")
            .set("sso_url", url)
            .notice(notice);
    }
    if wants("methods") || (!has("password") && !waiting && !wants("password")) {
        return base("Choose how to sign in")
            .sub(format!("Signing in as {identifier}"))
            .set("step", "methods")
            .set("methods", methods);
    }
    if !wants("password") && waiting && CODE_STRATEGIES.contains(&pending) {
        let (heading, sub) = match pending {
            "phone_code" => (
                "Check your phone",
                format!("We texted a 6-digit code to {sent_to}."),
            ),
            "reset_password_email_code" => (
                "Reset your password",
                format!("We emailed a 6-digit code to {sent_to}. Enter it to set a new password."),
            ),
            _ => (
                "Check your email",
                format!("We emailed a 6-digit code to {sent_to}."),
            ),
        };
        let resend = factors.iter().find(|f| f["strategy"] == pending).map(|f| {
            json!({"email_address_id": f["email_address_id"], "phone_number_id": f["phone_number_id"]})
        });
        let notice = (pending_status == "expired")
            .then(|| "That code has expired. Send a new one.".to_string());
        return base(heading)
            .sub(sub)
            .set("step", "code")
            .set("strategy", pending)
            .set("resend", resend)
            .notice(notice)
            .fields(&["code"]);
    }
    if !wants("password") && waiting && pending == "email_link" {
        let resend = factors
            .iter()
            .find(|f| f["strategy"] == "email_link")
            .map(|f| json!({"email_address_id": f["email_address_id"]}));
        let expired = pending_status == "expired";
        let mut v = base("Check your email")
            .sub(format!(
                "We emailed a sign-in link to {sent_to}. Open it on any device: this page continues by itself."
            ))
            .set("step", "link")
            .set("expired", expired)
            .set("resend", resend)
            .set("poll_url", format!("/v1/client/sign_ins/{}", a.id));
        if !expired {
            v.refresh = Some(5);
        } else {
            v = v.notice(Some("That link has expired. Send a new one.".into()));
        }
        return v;
    }
    base("Enter your password")
        .sub(format!("Signing in as {identifier}"))
        .set("step", "password")
        .set("reset", reset)
        .set("other_methods", methods.len() > 1)
        .fields(&["password"])
}

fn second_factor_view(
    page: &Page,
    a: &SignInAttempt,
    json: &Value,
    view: Option<&str>,
    base: impl Fn(&str) -> View,
) -> View {
    let factors: Vec<&Value> = json["supported_second_factors"]
        .as_array()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let has = |s: &str| factors.iter().any(|f| f["strategy"] == s);
    let phones: Vec<Value> = factors
        .iter()
        .filter(|f| f["strategy"] == "phone_code")
        .map(|f| json!({"id": f["phone_number_id"], "safe": f["safe_identifier"]}))
        .collect();
    let sfv = &json["second_factor_verification"];
    let phone_sent = sfv["strategy"] == "phone_code" && sfv["status"] != "verified";
    let chosen = match view {
        Some("backup") if has("backup_code") => "backup_code",
        Some("phone") if !phones.is_empty() => "phone_code",
        _ if has("totp") => "totp",
        _ if !phones.is_empty() => "phone_code",
        _ => "backup_code",
    };
    let (heading, sub) = match chosen {
        "totp" => (
            "Two-step verification",
            "Enter the 6-digit code from your authenticator app.".to_string(),
        ),
        "phone_code" if phone_sent => (
            "Two-step verification",
            "Enter the 6-digit code we texted you.".to_string(),
        ),
        "phone_code" => (
            "Two-step verification",
            "We'll text a code to your phone.".to_string(),
        ),
        _ => (
            "Use a backup code",
            "Enter one of the backup codes you saved when you set up two-step verification."
                .to_string(),
        ),
    };
    let link = |v: &str| page.with_redirect(&format!("/sign-in?attempt={}&view={v}", a.id));
    base(heading)
        .sub(sub)
        .set("step", "second_factor")
        .set("strategy", chosen)
        .set("phone_sent", phone_sent)
        .set("phones", phones)
        .set("totp_url", has("totp").then(|| link("totp")))
        .set("backup_url", has("backup_code").then(|| link("backup")))
        .set("phone_url", has("phone_code").then(|| link("phone")))
        .fields(&["code"])
}

/// The identifier form, with the social providers the environment lists.
async fn identifier_view(
    app: &AppRef,
    page: &Page,
    value: Option<&str>,
    error: Option<Error>,
) -> Response {
    use crate::config::IdentifierKind::*;
    let kinds = &app.config.auth.identifiers;
    let names: Vec<&str> = [
        (EmailAddress, "email address"),
        (PhoneNumber, "phone number"),
        (Username, "username"),
    ]
    .iter()
    .filter(|(k, _)| kinds.contains(k))
    .map(|(_, n)| *n)
    .collect();
    let label = capitalize(&join_or(&names));
    let input_type = if kinds.as_slice() == [EmailAddress] {
        "email"
    } else {
        "text"
    };
    let social = social_links(app, page).await;
    let view = View::new("sign_in.html", "Sign in")
        .sub(format!("to continue to {}", app.config.application_name))
        .set("step", "identifier")
        .set("identifier_label", label)
        .set("identifier_type", input_type)
        .set("value", value)
        .set("social", social)
        .set("sign_up_url", page.with_redirect("/sign-up"))
        .fields(&["identifier"])
        .maybe_error(error);
    page.render(app, view).await
}

/// "Continue with …" links, one per provider the environment lists (a new account is
/// signed up on the way back, see `back_from_provider`).
/// A "Continue with …" button.
#[derive(Serialize)]
pub struct SocialLink {
    pub name: String,
    pub url: String,
}

pub(super) async fn social_links(app: &AppRef, page: &Page) -> Vec<SocialLink> {
    social_providers(app)
        .await
        .into_iter()
        .map(|(strategy, name)| SocialLink {
            name,
            url: page.with_redirect(&format!("/sign-in/social?strategy={strategy}")),
        })
        .collect()
}

/// `(strategy, display name)` of every social sign-in the environment lists.
async fn social_providers(app: &AppRef) -> Vec<(String, String)> {
    let env = get_environment(State(app.clone())).await.0;
    listed_providers(&env["response"]["auth_config"])
}

/// The `oauth_<provider>` strategies of an environment's `auth_config`: among its first
/// factors, and in `social_providers` (names or objects with `strategy`, `provider` or
/// `name`). No provider is known by name here: whatever is listed gets a button.
fn listed_providers(auth: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let listed = auth["first_factors"]
        .as_array()
        .into_iter()
        .chain(auth["social_providers"].as_array())
        .flatten();
    for entry in listed {
        let (strategy, name) = match entry {
            Value::String(s) => (s.clone(), None),
            Value::Object(o) => {
                let s = o
                    .get("strategy")
                    .or_else(|| o.get("provider"))
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let name = o.get("name").and_then(Value::as_str).map(String::from);
                (s, name)
            }
            _ => continue,
        };
        let strategy = if strategy.starts_with("oauth_") {
            strategy
        } else if entry.is_object() && !strategy.is_empty() {
            format!("oauth_{strategy}")
        } else {
            continue;
        };
        let provider = &strategy["oauth_".len()..];
        let valid = !provider.is_empty()
            && strategy.len() <= 64
            && provider
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid || out.iter().any(|(s, _)| *s == strategy) {
            continue;
        }
        let name = name
            .filter(|n| !n.starts_with("oauth_") && !n.is_empty())
            .unwrap_or_else(|| capitalize(provider));
        out.push((strategy, name));
    }
    out
}

/// The password rules as a sentence.
pub fn password_hint(app: &App) -> String {
    let p = &app.config.auth.password;
    let mut hint = format!("At least {} characters", p.min_length);
    if p.reject_breached {
        hint.push_str(", not a common or leaked password");
    }
    if p.min_strength > 0 {
        hint.push_str(", hard to guess (a few unrelated words work well)");
    }
    hint.push('.');
    hint
}

fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::listed_providers;
    use serde_json::json;

    #[test]
    fn every_listed_oauth_strategy_gets_a_button() {
        let auth = json!({
            "first_factors": ["password", "email_code", "oauth_google", "oauth_acme_sso"],
            "social_providers": [
                "oauth_google",
                {"strategy": "oauth_github", "name": "GitHub"},
                {"provider": "gitlab"},
                {"name": "oauth_discord"},
                "not_oauth",
                {"strategy": "oauth_<script>"},
                "oauth_",
                42
            ],
        });
        let got = listed_providers(&auth);
        assert_eq!(
            got,
            [
                ("oauth_google", "Google"),
                ("oauth_acme_sso", "Acme_sso"),
                ("oauth_github", "GitHub"),
                ("oauth_gitlab", "Gitlab"),
                ("oauth_discord", "Discord"),
            ]
            .map(|(s, n)| (s.to_string(), n.to_string()))
        );
        assert!(
            listed_providers(&json!({"first_factors": ["password"], "social_providers": []}))
                .is_empty()
        );
        assert!(listed_providers(&json!(null)).is_empty());
    }
}
