//! The persisted records. Times are epoch milliseconds; JSON columns stay text here and
//! are parsed where they are rendered or merged.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password_digest: Option<String>,
    pub password_hasher: Option<String>,
    pub public_metadata: String,
    pub private_metadata: String,
    pub unsafe_metadata: String,
    pub banned: i64,
    pub admin_locked: i64,
    pub failed_password_attempts: i64,
    pub lockout_until: Option<i64>,
    pub primary_email_address_id: Option<String>,
    pub primary_phone_number_id: Option<String>,
    pub last_sign_in_at: Option<i64>,
    pub last_active_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub totp_enabled: i64,
    pub backup_code_enabled: i64,
}

impl User {
    pub fn is_banned(&self) -> bool {
        self.banned != 0
    }

    /// Locked by an administrator, or by too many failed passwords until `lockout_until`.
    pub fn is_locked(&self, now: i64) -> bool {
        self.admin_locked != 0 || self.lockout_until.is_some_and(|t| t > now)
    }

    /// Seconds until a failed-password lockout ends; `None` when not in one.
    pub fn lockout_expires_in_seconds(&self, now: i64) -> Option<i64> {
        self.lockout_until
            .filter(|&t| t > now)
            .map(|t| (t - now + 999) / 1000)
    }

    pub fn password_enabled(&self) -> bool {
        self.password_digest.is_some()
    }

    pub fn totp_enabled(&self) -> bool {
        self.totp_enabled != 0
    }

    /// Unused backup codes remain.
    pub fn backup_code_enabled(&self) -> bool {
        self.backup_code_enabled != 0
    }
}

/// An email address or phone number owned by a user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Identifier {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub value: String,
    pub value_normalized: String,
    pub verified: i64,
    pub verification_strategy: Option<String>,
    /// The pending verification (a [`Verification`] as JSON) while unverified.
    pub verification: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Identifier {
    pub fn is_verified(&self) -> bool {
        self.verified != 0
    }
}

pub const KIND_EMAIL: &str = "email_address";
pub const KIND_PHONE: &str = "phone_number";

/// A user with the identifiers and external accounts it owns.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub identifiers: Vec<Identifier>,
    pub external_accounts: Vec<ExternalAccount>,
    pub saml_accounts: Vec<SamlAccount>,
}

/// An enterprise SSO connection: one SAML identity provider and the email domains
/// routed to it. JSON columns: `idp_certificates` (PEM array), `attribute_mapping`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SamlConnection {
    pub id: String,
    pub name: String,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub idp_certificates: String,
    pub attribute_mapping: String,
    pub allow_idp_initiated: i64,
    pub sign_authn_requests: i64,
    pub allow_sha1: i64,
    pub active: i64,
    /// PKCS#8, sealed with the master key; present when requests are signed.
    pub sealed_sp_key: Option<String>,
    /// Base64 DER of the certificate published for that key.
    pub sp_certificate: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user's identity at one SAML connection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SamlAccount {
    pub id: String,
    pub user_id: String,
    pub connection_id: String,
    pub name_id: String,
    pub email_address: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One trip to a SAML identity provider (see migration `0008_saml.sql`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SamlRequest {
    /// The AuthnRequest ID.
    pub id: String,
    pub relay_state_hash: String,
    pub connection_id: String,
    /// `None` for an unsolicited (IdP-initiated) response.
    pub sign_in_id: Option<String>,
    pub client_id: Option<String>,
    pub redirect_url: String,
    pub action_complete_redirect_url: String,
    pub expire_at: i64,
    pub responded_at: Option<i64>,
    pub completion_hash: Option<String>,
    pub sealed_result: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
}

/// An account at a social sign-in provider, linked to a user. The provider's tokens are
/// stored sealed with the master key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExternalAccount {
    pub id: String,
    pub user_id: String,
    /// The provider's name in the configuration (`google`, ...).
    pub provider: String,
    pub provider_user_id: String,
    pub email_address: Option<String>,
    pub email_verified: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    pub sealed_access_token: Option<String>,
    pub sealed_refresh_token: Option<String>,
    pub token_expire_at: Option<i64>,
    pub scopes: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One trip to a provider: the hashed `state` and nonce, the sealed PKCE verifier, the
/// flow and client it belongs to, and where the browser goes afterwards.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthState {
    pub id: String,
    pub state_hash: String,
    /// `sign_in`, `sign_up` or `link`.
    pub flow: String,
    /// The attempt id, or the user id for `link`.
    pub subject: String,
    pub client_id: String,
    pub provider: String,
    pub sealed_verifier: String,
    pub nonce_hash: Option<String>,
    pub redirect_url: String,
    pub action_complete_redirect_url: String,
    pub expire_at: i64,
    pub consumed_at: Option<i64>,
    /// The verified profile and tokens (sealed JSON), kept while a sign-in waits to be
    /// transferred to a sign-up.
    pub sealed_result: Option<String>,
    pub created_at: i64,
}

impl UserRecord {
    pub fn emails(&self) -> impl Iterator<Item = &Identifier> {
        self.identifiers.iter().filter(|i| i.kind == KIND_EMAIL)
    }
    pub fn phones(&self) -> impl Iterator<Item = &Identifier> {
        self.identifiers.iter().filter(|i| i.kind == KIND_PHONE)
    }
    pub fn primary_email(&self) -> Option<&Identifier> {
        let id = self.user.primary_email_address_id.as_deref()?;
        self.identifiers.iter().find(|i| i.id == id)
    }

    /// Whether `i` is the user's primary email address or phone number.
    pub fn is_primary(&self, i: &Identifier) -> bool {
        [
            &self.user.primary_email_address_id,
            &self.user.primary_phone_number_id,
        ]
        .into_iter()
        .any(|p| p.as_deref() == Some(i.id.as_str()))
    }

    /// Whether `i` identifies the user at sign-in: verified, or the primary one (an
    /// address given at sign-up on an instance that does not verify it). An address
    /// added to the account and not yet verified does not.
    pub fn signs_in_with(&self, i: &Identifier) -> bool {
        i.is_verified() || self.is_primary(i)
    }

    pub fn identifier(&self, id: &str) -> Option<&Identifier> {
        self.identifiers.iter().find(|i| i.id == id)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Client {
    pub id: String,
    pub token_hash: String,
    pub sign_in_id: Option<String>,
    pub sign_up_id: Option<String>,
    pub last_active_session_id: Option<String>,
    pub last_auth_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    /// A client created now, with nothing begun on it yet.
    pub fn new(id: String, token_hash: String, now: i64) -> Client {
        Client {
            id,
            token_hash,
            sign_in_id: None,
            sign_up_id: None,
            last_active_session_id: None,
            last_auth_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The `__client_uat` value: seconds of the last sign-in (or of creation).
    pub fn uat(&self) -> i64 {
        client_uat(self.last_auth_at, self.created_at)
    }
}

/// Seconds of a client's last sign-in, else of its creation.
pub fn client_uat(last_auth_at: Option<i64>, created_at: i64) -> i64 {
    last_auth_at.unwrap_or(created_at) / 1000
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub status: String,
    pub first_factor_at: i64,
    pub second_factor_at: Option<i64>,
    pub last_active_at: i64,
    pub expire_at: i64,
    pub ended_at: Option<i64>,
    pub last_active_organization_id: Option<String>,
    pub actor: Option<String>,
    pub latest_activity: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Stored statuses; `expired` and `abandoned` are derived from time (see `Session::status_at`).
pub const SESSION_ACTIVE: &str = "active";
pub const SESSION_ENDED: &str = "ended";
pub const SESSION_REVOKED: &str = "revoked";
pub const SESSION_REMOVED: &str = "removed";

impl Session {
    /// The status as of `now` (see [`session_status_at`]).
    pub fn status_at(&self, now: i64, inactivity_ms: Option<i64>) -> &str {
        session_status_at(
            &self.status,
            self.expire_at,
            self.last_active_at,
            now,
            inactivity_ms,
        )
    }

    pub fn is_active_at(&self, now: i64, inactivity_ms: Option<i64>) -> bool {
        self.status_at(now, inactivity_ms) == SESSION_ACTIVE
    }

    /// When inactivity would abandon the session (its expiry when there is no timeout).
    pub fn abandon_at(&self, inactivity_ms: Option<i64>) -> i64 {
        match inactivity_ms {
            Some(idle) => (self.last_active_at + idle).min(self.expire_at),
            None => self.expire_at,
        }
    }
}

impl Session {
    pub fn token_subject(&self) -> TokenSubject<'_> {
        TokenSubject {
            session_id: &self.id,
            user_id: &self.user_id,
            first_factor_at: self.first_factor_at,
            second_factor_at: self.second_factor_at,
            actor: self.actor.as_deref(),
        }
    }
}

/// A session's status as of `now` from its stored fields: an active session past its
/// lifetime is `expired`, one idle past the inactivity timeout is `abandoned`.
pub fn session_status_at(
    status: &str,
    expire_at: i64,
    last_active_at: i64,
    now: i64,
    inactivity_ms: Option<i64>,
) -> &str {
    if status != SESSION_ACTIVE {
        return status;
    }
    if now >= expire_at {
        return "expired";
    }
    if let Some(idle) = inactivity_ms {
        if now >= last_active_at + idle {
            return "abandoned";
        }
    }
    SESSION_ACTIVE
}

/// What a session token says about its session.
#[derive(Debug, Clone, Copy)]
pub struct TokenSubject<'a> {
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub first_factor_at: i64,
    pub second_factor_at: Option<i64>,
    /// The impersonating actor (JSON), if any.
    pub actor: Option<&'a str>,
}

/// The state of one verification (a code, a link, or a password check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub status: String,
    pub strategy: String,
    pub attempts: i64,
    pub expire_at: Option<i64>,
    /// Magic links: `same_client` or `other_client`, once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at_client: Option<String>,
    /// The email address or phone number (its id) a code or link was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_id: Option<String>,
    /// The address or number itself, which the code is bound to. Never rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Social sign-in: the provider's authorization URL, sealed (it carries the
    /// `state`); rendered opened while the verification is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_verification_redirect_url: Option<String>,
    /// Social sign-in: the `oauth_states` row of this verification. Never rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_state_id: Option<String>,
    /// Enterprise SSO: the `saml_requests` row of this verification. Never rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_request_id: Option<String>,
}

pub const VERIFIED: &str = "verified";
pub const UNVERIFIED: &str = "unverified";
/// A social sign-in that found no account: a sign-up can take it over (`transfer`).
pub const TRANSFERABLE: &str = "transferable";
pub const FAILED: &str = "failed";

impl Verification {
    pub fn new(status: &str, strategy: &str, expire_at: Option<i64>) -> Self {
        Verification {
            status: status.into(),
            strategy: strategy.into(),
            attempts: 0,
            expire_at,
            verified_at_client: None,
            identifier_id: None,
            target: None,
            external_verification_redirect_url: None,
            oauth_state_id: None,
            saml_request_id: None,
        }
    }

    /// A code or link just sent to `target` (the identifier `identifier_id`).
    pub fn sent(strategy: &str, expire_at: i64, target: &str, identifier_id: Option<&str>) -> Self {
        Verification {
            target: Some(target.to_string()),
            identifier_id: identifier_id.map(String::from),
            ..Verification::new(UNVERIFIED, strategy, Some(expire_at))
        }
    }

    pub fn is_verified(&self) -> bool {
        self.status == VERIFIED
    }

    /// The status as of `now`: a pending one past its expiry is `expired`.
    pub fn status_at(&self, now: i64) -> &str {
        match self.expire_at {
            Some(t) if self.status == UNVERIFIED && t <= now => "expired",
            _ => &self.status,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignInAttempt {
    pub id: String,
    pub client_id: String,
    pub status: String,
    pub identifier: Option<String>,
    pub user_id: Option<String>,
    pub first_factor: Option<String>,
    pub second_factor: Option<String>,
    pub created_session_id: Option<String>,
    pub abandon_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the first factor was verified (the `fva` of the session it creates).
    pub first_factor_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignUpAttempt {
    pub id: String,
    pub client_id: String,
    pub status: String,
    pub email_address: Option<String>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password_digest: Option<String>,
    pub unsafe_metadata: String,
    pub email_verification: Option<String>,
    pub phone_verification: Option<String>,
    /// Social sign-up: the verification of the provider account (JSON).
    pub external_verification: Option<String>,
    pub created_user_id: Option<String>,
    pub created_session_id: Option<String>,
    pub abandon_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn parse_verification(json: &Option<String>) -> Option<Verification> {
    json.as_deref().and_then(|s| serde_json::from_str(s).ok())
}

pub fn verification_json(v: &Verification) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
