//! External accounts: which user a provider's account is, linking it (never on an
//! unverified email address), keeping the provider's tokens sealed, handing them to the
//! Backend API (refreshed when expired), and unlinking.

use sqlx::{Any, Transaction};

use super::VerifiedResult;
use crate::app::App;
use crate::crypto::ids;
use crate::domain::identifiers::parse_email;
use crate::domain::model::{ExternalAccount, UserRecord, KIND_EMAIL};
use crate::error::Error;
use crate::store::StoreError;

/// Which user an external account belongs to.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Linked before, to this account.
    Known(Box<ExternalAccount>),
    /// Not linked, and the provider verified an email address this user signs in with:
    /// it may be linked to them.
    ByVerifiedEmail(String),
    /// Not linked, and its email address belongs to an account but the provider did not
    /// verify it (or the account holds it unverified): no linking, no sign-up.
    EmailTaken { provider_verified: bool },
    /// Nobody: a new user.
    New,
}

pub async fn resolve(app: &App, r: &VerifiedResult) -> Result<Resolution, Error> {
    if let Some(account) = app
        .store
        .external_account_by_provider_id(&r.provider, &r.profile.provider_user_id)
        .await?
    {
        return Ok(Resolution::Known(Box::new(account)));
    }
    let Some(email) = normalized_email(r) else {
        return Ok(Resolution::New);
    };
    let Some(owner) = app
        .store
        .find_user_id_by_identifier(KIND_EMAIL, &email)
        .await?
    else {
        return Ok(Resolution::New);
    };
    let signs_in = app.store.find_sign_in_user_id(KIND_EMAIL, &email).await?;
    if r.profile.email_verified && signs_in.as_deref() == Some(owner.as_str()) {
        return Ok(Resolution::ByVerifiedEmail(owner));
    }
    Ok(Resolution::EmailTaken {
        provider_verified: r.profile.email_verified,
    })
}

/// The provider's email address in its normal form, when it is a valid address.
pub fn normalized_email(r: &VerifiedResult) -> Option<String> {
    let email = r.profile.email_address.as_deref()?;
    parse_email(email).ok().map(|e| e.normalized)
}

/// The reason shown for `Resolution::EmailTaken`.
pub fn email_taken_reason(provider_verified: bool) -> &'static str {
    if provider_verified {
        "identifier_exists"
    } else {
        "email_not_verified"
    }
}

fn token_aad(account_id: &str, field: &str) -> String {
    format!("external_account:{account_id}:{field}")
}

/// An external account record for `user_id` from a verified result (tokens sealed).
pub fn new_account(app: &App, user_id: &str, r: &VerifiedResult) -> ExternalAccount {
    let now = app.now();
    let mut account = ExternalAccount {
        id: ids::new_id("eac"),
        user_id: user_id.to_string(),
        provider: r.provider.clone(),
        provider_user_id: r.profile.provider_user_id.clone(),
        email_address: None,
        email_verified: 0,
        first_name: None,
        last_name: None,
        username: None,
        avatar_url: None,
        sealed_access_token: None,
        sealed_refresh_token: None,
        token_expire_at: None,
        scopes: None,
        created_at: now,
        updated_at: now,
    };
    refresh_from(app, &mut account, r);
    account
}

/// Copies the latest profile and tokens onto an account.
pub fn refresh_from(app: &App, a: &mut ExternalAccount, r: &VerifiedResult) {
    let p = &r.profile;
    a.email_address = p.email_address.clone();
    a.email_verified = p.email_verified as i64;
    a.first_name = p.first_name.clone();
    a.last_name = p.last_name.clone();
    a.username = p.username.clone();
    a.avatar_url = p.avatar_url.clone();
    seal_tokens(
        app,
        a,
        &r.access_token,
        r.refresh_token.as_deref(),
        r.expires_at,
    );
    a.scopes = r.scope.clone();
    a.updated_at = app.now();
}

fn seal_tokens(
    app: &App,
    a: &mut ExternalAccount,
    access: &str,
    refresh: Option<&str>,
    expires_at: Option<i64>,
) {
    a.sealed_access_token = Some(
        app.master_key
            .seal_text(access, &token_aad(&a.id, "access")),
    );
    a.sealed_refresh_token =
        refresh.map(|t| app.master_key.seal_text(t, &token_aad(&a.id, "refresh")));
    a.token_expire_at = expires_at;
}

/// Links a new external account inside `tx`; one linked meanwhile is
/// `external_account_exists`.
pub async fn link_in_tx(
    app: &App,
    tx: &mut Transaction<'static, Any>,
    account: &ExternalAccount,
) -> Result<(), Error> {
    match app.store.insert_external_account(tx, account).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(account_exists()),
        Err(e) => Err(e.into()),
    }
}

/// Links a new external account.
pub async fn link(app: &App, account: &ExternalAccount) -> Result<(), Error> {
    let mut tx = app.store.begin().await?;
    link_in_tx(app, &mut tx, account).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

pub fn account_exists() -> Error {
    Error::new(
        "external_account_exists",
        "This account at the provider is already linked to another user.",
    )
}

/// One provider access token as the Backend API shows it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub account: ExternalAccount,
    pub token: String,
    pub expires_at: Option<i64>,
}

/// The access tokens of a user's accounts at `provider` (`google` or `oauth_google`),
/// each refreshed with its refresh token when it has expired.
pub async fn access_tokens(
    app: &App,
    user: &UserRecord,
    provider: &str,
) -> Result<Vec<AccessToken>, Error> {
    let name = provider.strip_prefix("oauth_").unwrap_or(provider);
    let configured = app.oauth.get(name).cloned();
    let mut out = Vec::new();
    for account in user.external_accounts.iter().filter(|a| a.provider == name) {
        let mut account = account.clone();
        let Some(sealed) = account.sealed_access_token.as_deref() else {
            continue;
        };
        let now = app.now();
        let open = |sealed: &str, field: &str| {
            app.master_key
                .open_text(sealed, &token_aad(&account.id, field))
                .map_err(|_| Error::internal())
        };
        let mut token = open(sealed, "access")?;
        let expired = account.token_expire_at.is_some_and(|t| t <= now);
        let refresh = match account.sealed_refresh_token.as_deref() {
            Some(s) if expired => Some(open(s, "refresh")?),
            _ => None,
        };
        if let (Some(refresh), Some(p)) = (refresh, configured.as_ref()) {
            let refreshed = match p.endpoints(now).await {
                Ok(e) => p.refresh(&e, &refresh, now).await,
                Err(e) => Err(e),
            };
            match refreshed {
                Ok(t) => {
                    seal_tokens(
                        app,
                        &mut account,
                        &t.access_token,
                        t.refresh_token.as_deref(),
                        t.expires_at,
                    );
                    if t.scope.is_some() {
                        account.scopes = t.scope.clone();
                    }
                    account.updated_at = now;
                    app.store.update_external_account(&account).await?;
                    token = t.access_token;
                }
                Err(e) => {
                    tracing::warn!(provider = %name, reason = e.reason, detail = %e.detail, "could not refresh a provider access token");
                    return Err(Error::new(
                        "oauth_token_refresh_failed",
                        "The provider's access token expired and could not be refreshed.",
                    ));
                }
            }
        }
        out.push(AccessToken {
            expires_at: account.token_expire_at,
            token,
            account,
        });
    }
    Ok(out)
}
