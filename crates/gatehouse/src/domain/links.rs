//! Magic links: `{public_url}/v1/verify?token=<token>` with a 256-bit random token,
//! stored only as its hash, valid 15 minutes, single use, bound to the sign-in or
//! sign-up attempt and the client that asked for it. A newer link for the same attempt
//! replaces the older one; a new link within 30 s of the last is `rate_limit_exceeded`.

use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::{ids, random};
use crate::delivery::{self, Queued};
use crate::domain::clients::ClientCtx;
use crate::domain::codes;
use crate::domain::model::{parse_verification, Verification, VERIFIED};
use crate::domain::policy::EMAIL_LINK;
use crate::error::Error;
use crate::store::StoredLink;

pub const LINK_LIFETIME_MS: i64 = 15 * 60 * 1000;
pub const FLOW_SIGN_IN: &str = "sign_in";
pub const FLOW_SIGN_UP: &str = "sign_up";
/// Longest `redirect_url` accepted.
const MAX_REDIRECT_URL: usize = 2048;
/// Longer tokens are not ours (ours are 43 characters).
const MAX_TOKEN: usize = 128;

/// A link to send.
#[derive(Debug, Clone, Copy)]
pub struct LinkRequest<'a> {
    pub flow: &'static str,
    /// The attempt id.
    pub subject: &'a str,
    pub client_id: &'a str,
    pub to: &'a str,
    pub redirect_url: &'a str,
    /// False for an identifier that matches no account under enumeration protection:
    /// the link is stored and answered for like any other, and no email is sent.
    pub deliver: bool,
}

/// The `redirect_url` of a link flow: present, at most 2048 characters, and on the
/// public or an allowed origin.
pub fn check_redirect(app: &App, url: Option<&str>) -> Result<String, Error> {
    check_redirect_param(app, "redirect_url", url)
}

/// A trip's `redirect_url` (required) and `action_complete_redirect_url` (defaults to
/// `redirect_url`), both checked.
pub fn check_redirect_pair(
    app: &App,
    redirect_url: Option<&str>,
    action_complete_redirect_url: Option<&str>,
) -> Result<(String, String), Error> {
    let redirect_url = check_redirect(app, redirect_url)?;
    let complete_url = match action_complete_redirect_url {
        Some(u) if !u.trim().is_empty() => {
            check_redirect_param(app, "action_complete_redirect_url", Some(u))?
        }
        _ => redirect_url.clone(),
    };
    Ok((redirect_url, complete_url))
}

/// A redirect URL given as `param`: present, at most 2048 characters, and on the public
/// or an allowed origin.
pub fn check_redirect_param(app: &App, param: &str, url: Option<&str>) -> Result<String, Error> {
    let url = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::param_missing(param))?;
    if url.len() > MAX_REDIRECT_URL || !app.config.redirect_allowed(url) {
        return Err(Error::param_invalid(
            param,
            format!("{param} must be an absolute URL on an allowed origin."),
        ));
    }
    Ok(url.to_string())
}

/// Stores a new link and queues the email carrying it, in one transaction; returns the
/// link's expiry.
pub async fn send(app: &App, req: LinkRequest<'_>) -> Result<i64, Error> {
    let now = app.now();
    if let Some(previous) = app.store.current_link(req.subject).await? {
        let unused_to_target = previous.target == req.to && previous.consumed_at.is_none();
        codes::check_cooldown(now, previous.created_at, unused_to_target)?;
    }
    let token = random::random_token();
    let expire_at = now + LINK_LIFETIME_MS;
    let mut tx = app.store.begin().await?;
    app.store
        .replace_link(
            &mut tx,
            &StoredLink {
                id: ids::new_id("mlink"),
                token_hash: token_hash(&token),
                flow: req.flow.into(),
                subject: req.subject.into(),
                client_id: req.client_id.into(),
                target: req.to.into(),
                redirect_url: req.redirect_url.into(),
                expire_at,
                consumed_at: None,
                created_at: now,
            },
        )
        .await?;
    let queued = if req.deliver {
        let url = format!("{}/v1/verify?token={token}", app.config.public_url);
        delivery::enqueue_link_email(app, &mut tx, req.to, &url, expire_at).await?
    } else {
        Queued::nothing()
    };
    queued.commit(tx).await?;
    Ok(expire_at)
}

/// What opening a link came to.
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// Used now, for the first time.
    Verified(StoredLink),
    Expired(StoredLink),
    /// Used before, or replaced by a newer link.
    Used(StoredLink),
    /// No such link.
    Unknown,
}

/// Uses the link holding `token`, once even under concurrent requests.
pub async fn redeem(app: &App, token: &str) -> Result<Redeemed, Error> {
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Ok(Redeemed::Unknown);
    }
    let Some(link) = app.store.link_by_token_hash(&token_hash(token)).await? else {
        return Ok(Redeemed::Unknown);
    };
    let now = app.now();
    if link.consumed_at.is_some() {
        return Ok(Redeemed::Used(link));
    }
    if link.expire_at <= now {
        return Ok(Redeemed::Expired(link));
    }
    if !app.store.consume_link(&link.id, now).await? {
        return Ok(Redeemed::Used(link));
    }
    Ok(Redeemed::Verified(link))
}

pub const SAME_CLIENT: &str = "same_client";
pub const OTHER_CLIENT: &str = "other_client";

/// Records on the verification a link carried that it was opened by the request of
/// `ctx`; returns whether that is the client that asked for the link.
pub fn mark_opened(v: &mut Verification, ctx: &ClientCtx, link: &StoredLink) -> bool {
    let same = ctx.client.as_ref().is_some_and(|c| c.id == link.client_id);
    v.status = VERIFIED.into();
    v.verified_at_client = Some(if same { SAME_CLIENT } else { OTHER_CLIENT }.into());
    same
}

/// A stored verification that waits for its link to be opened.
pub fn awaiting(v: &Option<String>) -> Option<Verification> {
    parse_verification(v).filter(|v| v.strategy == EMAIL_LINK && !v.is_verified())
}

/// Whether a stored verification was verified by opening its link.
pub fn was_opened(v: &Option<String>) -> bool {
    parse_verification(v).is_some_and(|v| v.strategy == EMAIL_LINK && v.is_verified())
}

/// `url` with `__gatehouse_status=<status>` added to its query.
pub fn with_status(url: &str, status: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("__gatehouse_status", status);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_status;

    #[test]
    fn status_joins_the_query() {
        assert_eq!(
            with_status("https://app.example.com/done", "verified"),
            "https://app.example.com/done?__gatehouse_status=verified"
        );
        assert_eq!(
            with_status("https://app.example.com/done?next=%2Fa#top", "expired"),
            "https://app.example.com/done?next=%2Fa&__gatehouse_status=expired#top"
        );
    }
}
