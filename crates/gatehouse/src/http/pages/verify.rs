//! `/verify`: where a magic link lands after `GET /v1/verify` (which adds
//! `__gatehouse_status`). The states: signed in here (the link was opened in the
//! browser that asked for it), verified — return to your other tab (opened elsewhere:
//! that tab finishes by itself), expired, and failed.

use axum::extract::State;
use axum::response::Response;

use crate::app::AppRef;
use crate::domain::{sign_in, sign_up};

use super::layout::View;
use super::request::Page;

pub async fn show(State(app): State<AppRef>, mut page: Page) -> Response {
    let status = page
        .query("__gatehouse_status")
        .unwrap_or("failed")
        .to_string();
    let attempt = page.query("attempt").unwrap_or("").to_string();
    let sign_up_flow = page.query("flow") == Some("sign_up");
    let (state, heading, sub) = match status.as_str() {
        "verified" => {
            // Only the browser that asked for the link can read its attempt.
            let done = if sign_up_flow {
                sign_up::poll(&app, &mut page.fe.ctx, &attempt)
                    .await
                    .ok()
                    .map(|a| (a.status == sign_up::STATUS_COMPLETE, false))
            } else {
                sign_in::poll(&app, &mut page.fe.ctx, &attempt)
                    .await
                    .ok()
                    .map(|a| {
                        (
                            a.status == sign_in::COMPLETE,
                            a.status == sign_in::NEEDS_SECOND_FACTOR,
                        )
                    })
            };
            match done {
                Some((_, true)) => {
                    let path = format!("/sign-in?attempt={attempt}");
                    return page.redirect(&app, &path).await;
                }
                Some((true, _)) => (
                    "signed_in",
                    "You're signed in",
                    "Your email address is verified and you're signed in on this device.",
                ),
                _ => (
                    "verified",
                    "Email verified",
                    "Return to the tab where you started: it continues by itself. You can close this one.",
                ),
            }
        }
        "expired" => (
            "expired",
            "This link has expired",
            "Links work for 15 minutes. Go back to where you started and send a new one.",
        ),
        _ => (
            "failed",
            "This link can't be used",
            "It was already used, replaced by a newer link, or its sign-in ended. Start again to get a new one.",
        ),
    };
    let (continue_url, restart_url) = if sign_up_flow {
        let c = page.with_redirect(&format!("/sign-up?attempt={attempt}"));
        (c, page.with_redirect("/sign-up"))
    } else {
        let c = page.with_redirect(&format!("/sign-in?attempt={attempt}"));
        (c, page.with_redirect("/sign-in"))
    };
    let view = View::new("verify.html", heading)
        .sub(sub)
        .set("state", state)
        .set("continue_url", continue_url)
        .set("restart_url", restart_url);
    page.render(&app, view).await
}
