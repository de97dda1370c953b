//! `GET /v1/verify?token=...`: opening a magic link. The browser is sent to the
//! attempt's `redirect_url` with `__gatehouse_status=verified`, `expired` or `failed`
//! (a link used before, replaced by a newer one, or whose attempt can no longer go
//! on); a token that names no link goes to the hosted sign-in page with `failed`.

use crate::app::App;
use crate::domain::clients::ClientCtx;
use crate::domain::links::{self, Redeemed, FLOW_SIGN_UP};
use crate::domain::{sign_in, sign_up};
use crate::error::Error;

/// Opens the link holding `token` for the request of `ctx`; returns where to send the
/// browser.
pub async fn open(app: &App, ctx: &mut ClientCtx, token: &str) -> Result<String, Error> {
    let (link, status) = match links::redeem(app, token).await? {
        Redeemed::Unknown => {
            let sign_in_page = format!("{}/sign-in", app.config.public_url);
            return Ok(links::with_status(&sign_in_page, "failed"));
        }
        Redeemed::Used(link) => (link, "failed"),
        Redeemed::Expired(link) => (link, "expired"),
        Redeemed::Verified(link) => {
            let opened = if link.flow == FLOW_SIGN_UP {
                sign_up::link_opened(app, ctx, &link).await
            } else {
                sign_in::link_opened(app, ctx, &link).await
            };
            let status = match opened {
                Ok(()) => "verified",
                Err(e) if e.status() >= 500 => return Err(e),
                Err(e) => {
                    tracing::info!(flow = %link.flow, code = e.code, "a magic link was opened for a flow that cannot go on");
                    "failed"
                }
            };
            (link, status)
        }
    };
    Ok(links::with_status(&link.redirect_url, status))
}
