//! `/user`: the account page — profile, email addresses and phone numbers (add, verify,
//! make primary, remove), password, two-step verification (enroll with a QR code and a
//! key to type, backup codes shown once, disable; a password check first when the
//! sign-in is not recent), the devices signed in (revoke one, or sign out everywhere),
//! and deleting the account. Every change is the same domain call as the `/v1/me` API.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppRef;
use crate::config::IdentifierKind;
use crate::domain::model::{Identifier, Session};
use crate::domain::user_agent::Activity;
use crate::domain::user_identifiers::{self, Kind};
use crate::domain::users::{self, UpdateUser};
use crate::domain::{mfa, policy, sessions};
use crate::error::Error;
use crate::http::extract::SignedIn;
use crate::http::frontend::me_identifiers;

use super::account;
use super::layout::View;
use super::request::{Page, PagePost};

/// `GET /user`.
pub async fn show(State(app): State<AppRef>, page: Page) -> Response {
    let notice = page.query("done").and_then(done_message).map(String::from);
    match page.signed_in_user(&app).await {
        Some(me) => {
            let verify = page.query("verify").map(String::from);
            user_view(&app, &page, &me, notice, None, verify).await
        }
        None => to_sign_in(&app, &page).await,
    }
}

async fn to_sign_in(app: &AppRef, page: &Page) -> Response {
    let back: String =
        url::form_urlencoded::byte_serialize(format!("{}/user", app.config.public_url).as_bytes())
            .collect();
    page.see_other(
        app,
        &format!("{}/sign-in?redirect_url={back}", app.config.public_url),
    )
    .await
}

/// The fixed sentences a finished change shows (`?done=`).
fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "profile" => "Profile saved.",
        "added" => "Added. We sent a code to verify it.",
        "sent" => "We sent a new code.",
        "verified" => "Verified.",
        "primary" => "Primary address changed.",
        "removed" => "Removed.",
        "password" => "Password changed.",
        "reverified" => "Thanks. You can now change two-step verification.",
        "mfa_on" => "Two-step verification is on.",
        "mfa_off" => "Two-step verification is off.",
        "revoked" => "That device was signed out.",
        _ => return None,
    })
}

async fn user_view(
    app: &AppRef,
    page: &Page,
    me: &SignedIn,
    notice: Option<String>,
    error: Option<Error>,
    verify_id: Option<String>,
) -> Response {
    let c = &app.config;
    let user = &me.user.user;
    let devices = match devices(app, me).await {
        Ok(d) => d,
        Err(e) => return page.render(app, View::error_page(e)).await,
    };
    let recent = app.now() - me.session.first_factor_at <= mfa::REVERIFY_WINDOW_MS;
    let must_enroll = mfa::require_enrolled(app, &me.user).is_err();
    let name = [&user.first_name, &user.last_name]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let shown_as = if name.is_empty() {
        me.user
            .primary_email()
            .map(|e| e.value.clone())
            .or_else(|| user.username.clone())
            .unwrap_or_default()
    } else {
        name
    };
    let notice = if must_enroll {
        Some("This application requires two-step verification: set it up below.".into())
    } else {
        notice
    };
    let needs_reverify = !recent && user.password_enabled();
    let passwords = policy::first_factor_enabled(app, policy::PASSWORD);
    let username_enabled = c.auth.identifiers.contains(&IdentifierKind::Username);
    // The fields on the page now, so an error about one shows next to it.
    let mut fields = vec!["first_name", "last_name"];
    for (shown, field) in [
        (username_enabled, "username"),
        (Kind::Email.allowed(app), "email_address"),
        (Kind::Phone.allowed(app), "phone_number"),
        (verify_id.is_some(), "code"),
        (passwords && user.password_enabled(), "current_password"),
        (passwords, "new_password"),
        (needs_reverify, "password"),
    ] {
        if shown {
            fields.push(field);
        }
    }
    let identifiers = |kind: Kind, list: Vec<&Identifier>| {
        let items = list
            .into_iter()
            .map(|i| account::Identifier {
                id: i.id.clone(),
                value: i.value.clone(),
                verified: i.is_verified(),
                primary: me.user.is_primary(i),
                verifying: !i.is_verified() && verify_id.as_deref() == Some(i.id.as_str()),
                code_label: format!("Code sent to {}", i.value),
            })
            .collect();
        account::IdentifierGroup::new(kind, kind.allowed(app), items)
    };
    let body = account::AccountPage {
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        username: user.username.clone(),
        username_enabled,
        emails: identifiers(Kind::Email, me.user.emails().collect()),
        phones: identifiers(Kind::Phone, me.user.phones().collect()),
        password_enabled: user.password_enabled(),
        passwords_allowed: passwords,
        totp_allowed: policy::second_factor_enabled(app, "totp"),
        totp_enabled: user.totp_enabled(),
        backup_code_enabled: user.backup_code_enabled(),
        needs_reverify,
        devices,
        allow_delete: c.pages.allow_delete_account,
    };
    let mut view = View::compiled(body, "Your account")
        .sub(format!("Signed in as {shown_as}"))
        .fields(&fields)
        .notice(notice)
        .maybe_error(error);
    view.wide = true;
    page.render(app, view).await
}

/// The user's active sessions, this one first, as the device list shows them.
async fn devices(app: &AppRef, me: &SignedIn) -> Result<Vec<account::Device>, Error> {
    let now = app.now();
    let mut list: Vec<Session> = app
        .store
        .user_sessions(&me.user.user.id)
        .await?
        .into_iter()
        .filter(|s| s.is_active_at(now, app.inactivity_ms()))
        .collect();
    list.sort_by_key(|s| (s.id != me.session.id, -s.last_active_at));
    Ok(list
        .into_iter()
        .map(|s| {
            let a: Activity = serde_json::from_str(&s.latest_activity).unwrap_or_default();
            let browser = match (&a.browser_name, &a.browser_version) {
                (Some(n), Some(v)) => format!("{n} {}", v.split('.').next().unwrap_or(v)),
                (Some(n), None) => n.clone(),
                _ => "Unknown browser".into(),
            };
            account::Device {
                current: s.id == me.session.id,
                browser,
                os: a.os_name.unwrap_or_else(|| "unknown system".into()),
                ip: a.ip_address,
                last_active: ago(now - s.last_active_at),
                signed_in: ago(now - s.created_at),
                id: s.id,
            }
        })
        .collect())
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
fn ago(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match minutes {
        0 => "just now".into(),
        m if m < 60 => plural(m, "minute"),
        m if m < 48 * 60 => plural(m / 60, "hour"),
        m => plural(m / (24 * 60), "day"),
    }
}

/// Runs a change for the signed-in user; on success `303` to the path it returns (or
/// `/user?done=<key>`), on failure the page again with the error.
async fn change<F, Fut>(app: &AppRef, page: Page, enrolled: bool, done: &str, f: F) -> Response
where
    F: FnOnce(AppRef, SignedIn, Page) -> Fut,
    Fut: std::future::Future<Output = (Page, Result<Option<String>, Error>)>,
{
    let me = match signed_in(app, &page, enrolled).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let (page, result) = f(app.clone(), me, page).await;
    match result {
        Ok(path) => {
            let path = path.unwrap_or_else(|| format!("/user?done={done}"));
            go(app, &page, &path).await
        }
        Err(e) => reshow(app, page, e).await,
    }
}

/// `303` to a path here (keeping `redirect_url`) or to a configured URL.
async fn go(app: &AppRef, page: &Page, path: &str) -> Response {
    if path.starts_with("/user") {
        page.redirect(app, path).await
    } else {
        page.see_other(app, &app.config.page_url(path)).await
    }
}

/// The signed-in user; `enrolled` also requires MFA when the instance does. Otherwise
/// the answer to give: the account page with the error, or the sign-in page.
async fn signed_in(app: &AppRef, page: &Page, enrolled: bool) -> Result<SignedIn, Response> {
    let me = if enrolled {
        SignedIn::enrolled(app, &page.fe).await
    } else {
        SignedIn::from_frontend(app, &page.fe).await
    };
    match me {
        Ok(me) => Ok(me),
        Err(e) => Err(refused(app, page, e).await),
    }
}

/// A change refused before it started: MFA enrollment first, or sign in.
async fn refused(app: &AppRef, page: &Page, e: Error) -> Response {
    if e.code == "mfa_enrollment_required" {
        if let Ok(me) = SignedIn::from_frontend(app, &page.fe).await {
            return user_view(app, page, &me, None, Some(e), None).await;
        }
    }
    to_sign_in(app, page).await
}

async fn reshow(app: &AppRef, page: Page, e: Error) -> Response {
    reshow_verifying(app, page, e, None).await
}

/// The page with `e`, and the code form of identifier `verify` open.
async fn reshow_verifying(app: &AppRef, page: Page, e: Error, verify: Option<String>) -> Response {
    match SignedIn::from_frontend(app, &page.fe).await {
        Ok(me) => user_view(app, &page, &me, None, Some(e), verify).await,
        Err(_) => to_sign_in(app, &page).await,
    }
}

#[derive(Deserialize, Default)]
pub struct UserForm {
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
    kind: Option<String>,
    id: Option<String>,
    value: Option<String>,
    code: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    password: Option<String>,
    sign_out_of_other_sessions: Option<String>,
    confirm: Option<String>,
    secret: Option<String>,
}

/// `POST /user/profile`: names (an emptied name is removed) and the username.
pub async fn profile(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    change(&app, page, true, "profile", |app, me, page| async move {
        let p = UpdateUser {
            first_name: Some(form.first_name.unwrap_or_default()),
            last_name: Some(form.last_name.unwrap_or_default()),
            username: form.username,
            ..Default::default()
        };
        let result = users::update(&app, &me.user.user.id, p, false).await;
        (page, result.map(|_| None))
    })
    .await
}

fn kind_of(form_kind: Option<&str>) -> Result<Kind, Error> {
    match form_kind {
        Some("email_address") => Ok(Kind::Email),
        Some("phone_number") => Ok(Kind::Phone),
        _ => Err(Error::param_invalid(
            "kind",
            "kind must be email_address or phone_number.",
        )),
    }
}

/// Runs an identifier change with the access rule of `/v1/me/email_addresses` and
/// `/v1/me/phone_numbers` (phone numbers stay open to users enrolling them as a
/// second factor).
async fn identifier_change<F, Fut>(
    app: &AppRef,
    page: Page,
    form_kind: Option<String>,
    verify: Option<String>,
    done: &str,
    f: F,
) -> Response
where
    F: FnOnce(AppRef, SignedIn, Kind, String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, Error>>,
{
    let kind = match kind_of(form_kind.as_deref()) {
        Ok(k) => k,
        Err(e) => return reshow(app, page, e).await,
    };
    let me = match me_identifiers::me(app, &page.fe, kind).await {
        Ok(me) => me,
        Err(e) => return refused(app, &page, e).await,
    };
    let ip = page.fe.ctx.request.ip.clone();
    match f(app.clone(), me, kind, ip).await {
        Ok(path) => {
            let path = path.unwrap_or_else(|| format!("/user?done={done}"));
            go(app, &page, &path).await
        }
        Err(e) => reshow_verifying(app, page, e, verify).await,
    }
}

/// `POST /user/identifiers/add`: adds one and sends it a code.
pub async fn add_identifier(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let value = form.value.clone();
    identifier_change(
        &app,
        page,
        form.kind.clone(),
        None,
        "added",
        |app, me, kind, ip| async move {
            let value = value.ok_or_else(|| Error::param_missing(kind.name()))?;
            let id = user_identifiers::add(&app, &me.user, kind, Some(&value))
                .await
                .map_err(|e| e.with_param(kind.name()))?;
            let me = SignedIn {
                user: users::get(&app, &me.user.user.id).await?,
                session: me.session,
            };
            user_identifiers::prepare_verification(&app, &ip, &me.user, kind, &id, None).await?;
            Ok::<_, Error>(Some(format!("/user?verify={id}&done=added#identifiers")))
        },
    )
    .await
}

/// `POST /user/identifiers/send`: a new code for an unverified one.
pub async fn send_code(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let id = form.id.clone().unwrap_or_default();
    identifier_change(
        &app,
        page,
        form.kind.clone(),
        form.id.clone(),
        "sent",
        |app, me, kind, ip| async move {
            user_identifiers::prepare_verification(&app, &ip, &me.user, kind, &id, None).await?;
            Ok::<_, Error>(Some(format!("/user?verify={id}&done=sent#identifiers")))
        },
    )
    .await
}

/// `POST /user/identifiers/verify`.
pub async fn verify_identifier(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let id = form.id.clone().unwrap_or_default();
    let code = form.code.clone();
    identifier_change(
        &app,
        page,
        form.kind.clone(),
        form.id.clone(),
        "verified",
        |app, me, kind, ip| async move {
            user_identifiers::attempt_verification(&app, &ip, &me.user, kind, &id, code.as_deref())
                .await?;
            Ok::<_, Error>(None)
        },
    )
    .await
}

/// `POST /user/identifiers/primary`.
pub async fn make_primary(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let id = form.id.clone();
    let kind = form.kind.clone();
    change(&app, page, true, "primary", |app, me, page| async move {
        let result: Result<Option<String>, Error> = async {
            let p = match kind_of(kind.as_deref())? {
                Kind::Email => UpdateUser {
                    primary_email_address_id: id,
                    ..Default::default()
                },
                Kind::Phone => UpdateUser {
                    primary_phone_number_id: id,
                    ..Default::default()
                },
            };
            users::update(&app, &me.user.user.id, p, false).await?;
            Ok(None)
        }
        .await;
        (page, result)
    })
    .await
}

/// `POST /user/identifiers/remove`.
pub async fn remove_identifier(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let id = form.id.clone().unwrap_or_default();
    identifier_change(
        &app,
        page,
        form.kind.clone(),
        None,
        "removed",
        |app, me, kind, _| async move {
            user_identifiers::remove(&app, &me.session, &me.user, kind, &id).await?;
            Ok::<_, Error>(None)
        },
    )
    .await
}

/// `POST /user/password`.
pub async fn password(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    change(&app, page, true, "password", |app, me, page| async move {
        let result: Result<Option<String>, Error> = async {
            let new = form
                .new_password
                .ok_or_else(|| Error::param_missing("new_password"))?;
            users::change_password(
                &app,
                &me.user.user.id,
                &me.session.id,
                form.current_password.as_deref(),
                &new,
                form.sign_out_of_other_sessions.is_some(),
            )
            .await?;
            Ok(None)
        }
        .await;
        (page, result)
    })
    .await
}

/// `POST /user/reverify`: the password again, for changes that need a recent sign-in.
pub async fn reverify(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    change(
        &app,
        page,
        false,
        "reverified",
        |app, me, page| async move {
            let result: Result<Option<String>, Error> = async {
                let password = form
                    .password
                    .ok_or_else(|| Error::param_missing("password"))?;
                mfa::reverify(&app, &me.session, &me.user.user, &password).await?;
                Ok(Some("/user?done=reverified#mfa".into()))
            }
            .await;
            (page, result)
        },
    )
    .await
}

/// `POST /user/mfa/start`: a new authenticator secret, shown as a QR code and as text.
/// The answer is the page itself (the secret is shown once, never stored in a URL).
pub async fn mfa_start(
    State(app): State<AppRef>,
    PagePost { page, form: _ }: PagePost<UserForm>,
) -> Response {
    let me = match signed_in(&app, &page, false).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    match mfa::start_enrollment(&app, &me.session, &me.user).await {
        Ok(e) => enroll_view(&app, &page, &e.secret, Some(e.qr_svg.as_str()), None).await,
        Err(e) => user_view(&app, &page, &me, None, Some(e), None).await,
    }
}

async fn enroll_view(
    app: &AppRef,
    page: &Page,
    secret: &str,
    qr_svg: Option<&str>,
    error: Option<Error>,
) -> Response {
    // The key as people type it: groups of four.
    let grouped = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let view = View::new("mfa.html", "Set up two-step verification")
        .sub("Scan the QR code with your authenticator app, or type the key, then enter the 6-digit code it shows.")
        .set("step", "enroll")
        .set("secret", secret)
        .set("secret_grouped", grouped)
        .set("qr_svg", qr_svg.and_then(|s| s.find("<svg").map(|i| &s[i..])))
        .fields(&["code"])
        .maybe_error(error);
    page.render(app, view).await
}

/// `POST /user/mfa/confirm`: the first code turns TOTP on; the backup codes are shown
/// this once.
pub async fn mfa_confirm(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let me = match signed_in(&app, &page, false).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let secret: String = form
        .secret
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    let result = match form.code.as_deref() {
        Some(code) => mfa::confirm_enrollment(&app, &me.session, &me.user.user, code).await,
        None => Err(Error::param_missing("code")),
    };
    match result {
        Ok(codes) => backup_codes_view(&app, &page, codes, true).await,
        Err(e) if e.code == "form_code_incorrect" || e.code == "form_param_missing" => {
            enroll_view(&app, &page, &secret, None, Some(e)).await
        }
        Err(e) => user_view(&app, &page, &me, None, Some(e), None).await,
    }
}

async fn backup_codes_view(app: &AppRef, page: &Page, codes: Vec<String>, new: bool) -> Response {
    let heading = if new {
        "Two-step verification is on"
    } else {
        "New backup codes"
    };
    let view = View::new("mfa.html", heading)
        .sub("Save these backup codes somewhere safe. Each works once if you lose your authenticator app. They will not be shown again.")
        .set("step", "backup_codes")
        .set("codes", codes);
    page.render(app, view).await
}

/// `POST /user/mfa/disable`.
pub async fn mfa_disable(
    State(app): State<AppRef>,
    PagePost { page, form: _ }: PagePost<UserForm>,
) -> Response {
    change(&app, page, false, "mfa_off", |app, me, page| async move {
        let result = mfa::disable(&app, &me.session, &me.user.user).await;
        (page, result.map(|_| None))
    })
    .await
}

/// `POST /user/mfa/backup-codes`: ten new codes, shown once.
pub async fn backup_codes(
    State(app): State<AppRef>,
    PagePost { page, form: _ }: PagePost<UserForm>,
) -> Response {
    let me = match signed_in(&app, &page, true).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    match mfa::regenerate_backup_codes(&app, &me.session, &me.user.user).await {
        Ok(codes) => backup_codes_view(&app, &page, codes, false).await,
        Err(e) => user_view(&app, &page, &me, None, Some(e), None).await,
    }
}

/// `POST /user/sessions/revoke`: signs one device out (this one: to the sign-in page).
pub async fn revoke_session(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    let id = form.id.clone().unwrap_or_default();
    change(
        &app,
        page,
        true,
        "revoked",
        |app, me, mut page| async move {
            let result =
                sessions::revoke_user_session(&app, &mut page.fe.ctx, &me.session, &id).await;
            let after = app.config.pages.after_sign_out_url.clone();
            (
                page,
                result.map(|s| (s.id == me.session.id).then_some(after)),
            )
        },
    )
    .await
}

/// `POST /user/sign-out-everywhere`.
pub async fn sign_out_everywhere(
    State(app): State<AppRef>,
    PagePost { page, form: _ }: PagePost<UserForm>,
) -> Response {
    change(&app, page, false, "", |app, me, mut page| async move {
        let result = sessions::sign_out_everywhere(&app, &mut page.fe.ctx, &me.session).await;
        let after = app.config.pages.after_sign_out_url.clone();
        (page, result.map(|_| Some(after)))
    })
    .await
}

/// `POST /user/delete`: deletes the account (when the instance allows it here).
pub async fn delete_account(
    State(app): State<AppRef>,
    PagePost { page, form }: PagePost<UserForm>,
) -> Response {
    change(&app, page, true, "", |app, me, mut page| async move {
        let result: Result<Option<String>, Error> = async {
            if !app.config.pages.allow_delete_account {
                return Err(Error::new(
                    "not_allowed",
                    "Deleting accounts is not enabled here.",
                ));
            }
            if form.confirm.as_deref() != Some("yes") {
                return Err(Error::new(
                    "confirmation_missing",
                    "Tick the box to confirm that you want to delete your account.",
                ));
            }
            users::delete(&app, &me.user.user.id).await?;
            let client = me.session.client_id.clone();
            sessions::after_client_sessions_changed(&app, &mut page.fe.ctx, &client).await?;
            Ok(Some(app.config.pages.after_sign_out_url.clone()))
        }
        .await;
        (page, result)
    })
    .await
}
