//! Multi-factor authentication: TOTP enrollment (secret sealed with the master key,
//! `otpauth://` URI and QR code), second-factor checks with replay protection, backup
//! codes, and the re-verification that changing MFA requires.

use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::{ids, random, totp};
use crate::domain::model::{Identifier, Session, User, UserRecord, KIND_PHONE};
use crate::domain::{passwords, policy};
use crate::error::Error;

/// Changing MFA needs a first factor verified this recently on the session.
pub const REVERIFY_WINDOW_MS: i64 = 10 * 60 * 1000;
pub const BACKUP_CODE_COUNT: usize = 10;
const SECRET_BYTES: usize = 20;

/// What an authenticator app needs to enroll.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

fn sealing_context(user_id: &str) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// Whether sign-in asks this user for a second factor: an authenticator app, or a
/// verified phone number when `phone_code` is a second factor.
pub fn two_factor_enabled(app: &App, user: &UserRecord) -> bool {
    user.user.totp_enabled() || !second_factor_phones(app, user).is_empty()
}

/// The phone numbers a `phone_code` second factor may go to: the verified ones, the
/// primary first; none unless `phone_code` is an enabled second factor.
pub fn second_factor_phones<'a>(app: &App, user: &'a UserRecord) -> Vec<&'a Identifier> {
    if !policy::second_factor_enabled(app, policy::PHONE_CODE) {
        return Vec::new();
    }
    let mut phones: Vec<&Identifier> = user
        .identifiers
        .iter()
        .filter(|i| i.kind == KIND_PHONE && i.is_verified())
        .collect();
    phones.sort_by_key(|i| !user.is_primary(i));
    phones
}

/// With `require_mfa`, a user without a second factor may only enroll: everything else
/// (tokens, profile changes) answers `403 mfa_enrollment_required`.
pub fn require_enrolled(app: &App, user: &UserRecord) -> Result<(), Error> {
    if app.config.auth.require_mfa && !two_factor_enabled(app, user) {
        return Err(Error::new(
            "mfa_enrollment_required",
            "Set up two-step verification to continue.",
        )
        .with_long("This instance requires two-step verification: enroll an authenticator app with POST /v1/me/totp."));
    }
    Ok(())
}

/// Refuses MFA changes unless the session's first factor is recent.
pub fn require_recent_first_factor(app: &App, session: &Session) -> Result<(), Error> {
    if app.now() - session.first_factor_at > REVERIFY_WINDOW_MS {
        return Err(Error::new(
            "session_reverification_required",
            "Please verify your password again to change two-step verification.",
        )
        .with_long("Changing two-step verification needs a recent sign-in: POST /v1/me/reverify with your password."));
    }
    Ok(())
}

/// `POST /v1/me/reverify`: a fresh first factor for this session.
pub async fn reverify(
    app: &App,
    session: &Session,
    user: &User,
    password: &str,
) -> Result<(), Error> {
    if !passwords::verify(app, user, password).await? {
        passwords::record_failure(app, &user.id).await?;
        return Err(Error::password_incorrect());
    }
    app.store
        .set_session_factor_times(&session.id, Some(app.now()), None, app.now())
        .await?;
    Ok(())
}

/// `POST /v1/me/totp`: a fresh pending secret (replacing a pending one).
pub async fn start_enrollment(
    app: &App,
    session: &Session,
    record: &UserRecord,
) -> Result<Enrollment, Error> {
    require_recent_first_factor(app, session)?;
    let user = &record.user;
    if user.totp_enabled() {
        return Err(Error::new(
            "totp_already_enabled",
            "An authenticator app is already set up. Remove it first.",
        ));
    }
    let secret = random::random_bytes::<SECRET_BYTES>();
    let sealed = app.master_key.seal(&secret, &sealing_context(&user.id));
    use base64::Engine;
    let sealed = base64::engine::general_purpose::STANDARD.encode(sealed);
    if !app
        .store
        .put_pending_totp(&user.id, &sealed, app.now())
        .await?
    {
        return Err(Error::new(
            "totp_already_enabled",
            "An authenticator app is already set up. Remove it first.",
        ));
    }
    let secret = totp::base32_encode(&secret);
    let account = record
        .primary_email()
        .map(|e| e.value.clone())
        .or_else(|| user.username.clone())
        .unwrap_or_else(|| user.id.clone());
    let uri = otpauth_uri(&app.config.application_name, &account, &secret);
    let qr_svg = qr_svg(&uri)?;
    Ok(Enrollment {
        secret,
        uri,
        qr_svg,
    })
}

/// `otpauth://totp/Issuer:account?secret=...` (the Key Uri Format authenticators read).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={}&period={}",
        percent_encode(account),
        totp::DIGITS,
        totp::STEP_SECONDS
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn qr_svg(uri: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|_| Error::internal())?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// `POST /v1/me/totp/attempt_verification`: a current code turns TOTP on; returns the
/// backup codes (shown once).
pub async fn confirm_enrollment(
    app: &App,
    session: &Session,
    user: &User,
    code: &str,
) -> Result<Vec<String>, Error> {
    require_recent_first_factor(app, session)?;
    let stored = app.store.totp_of(&user.id).await?;
    let stored = match stored {
        Some(t) if t.verified == 0 => t,
        Some(_) => {
            return Err(Error::new(
                "totp_already_enabled",
                "An authenticator app is already set up.",
            ))
        }
        None => {
            return Err(Error::new(
                "totp_not_started",
                "Start the set-up first: POST /v1/me/totp.",
            ))
        }
    };
    let secret = unseal(app, &user.id, &stored.sealed_secret)?;
    let now = app.now();
    let step = totp::matching_step(&secret, code, now / 1000).ok_or_else(incorrect)?;
    let (codes, hashed) = new_backup_codes(&user.id);
    if !app
        .store
        .accept_totp_step(&user.id, step, Some(&hashed), now)
        .await?
    {
        return Err(incorrect());
    }
    // Entering a code is a second-factor verification for this session.
    app.store
        .set_session_factor_times(&session.id, None, Some(now), now)
        .await?;
    Ok(codes)
}

/// `DELETE /v1/me/totp`.
pub async fn disable(app: &App, session: &Session, user: &User) -> Result<(), Error> {
    require_recent_first_factor(app, session)?;
    app.store.delete_mfa(&user.id, app.now()).await?;
    Ok(())
}

/// `POST /v1/me/backup_codes`: ten new codes; the old ones stop working.
pub async fn regenerate_backup_codes(
    app: &App,
    session: &Session,
    user: &User,
) -> Result<Vec<String>, Error> {
    require_recent_first_factor(app, session)?;
    if !user.totp_enabled() {
        return Err(Error::new(
            "totp_not_enabled",
            "Set up an authenticator app before creating backup codes.",
        ));
    }
    let (codes, hashed) = new_backup_codes(&user.id);
    app.store
        .replace_backup_codes(&user.id, &hashed, app.now())
        .await?;
    Ok(codes)
}

/// Checks a second factor for `user`. Both kinds are single use: a TOTP step is
/// accepted once, and never an earlier one; a backup code once.
pub async fn verify_second_factor(
    app: &App,
    user: &User,
    strategy: &str,
    code: &str,
) -> Result<bool, Error> {
    let now = app.now();
    match strategy {
        "totp" => {
            let Some(stored) = app
                .store
                .totp_of(&user.id)
                .await?
                .filter(|t| t.verified != 0)
            else {
                return Ok(false);
            };
            let secret = unseal(app, &user.id, &stored.sealed_secret)?;
            match totp::matching_step(&secret, code, now / 1000) {
                Some(step) => Ok(app
                    .store
                    .accept_totp_step(&user.id, step, None, now)
                    .await?),
                None => Ok(false),
            }
        }
        "backup_code" => {
            let hash = backup_code_hash(&user.id, code);
            Ok(app.store.use_backup_code(&user.id, &hash, now).await?)
        }
        _ => Err(Error::param_invalid(
            "strategy",
            "strategy must be totp or backup_code.",
        )),
    }
}

fn unseal(app: &App, user_id: &str, sealed: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| Error::internal())?;
    app.master_key
        .open(&bytes, &sealing_context(user_id))
        .map_err(|_| {
            tracing::error!("a TOTP secret could not be unsealed");
            Error::internal()
        })
}

fn incorrect() -> Error {
    Error::new("form_code_incorrect", "Incorrect code.").with_param("code")
}

/// Ten codes to show once, and their (id, hash) rows to store.
fn new_backup_codes(user_id: &str) -> (Vec<String>, Vec<(String, String)>) {
    let codes: Vec<String> = (0..BACKUP_CODE_COUNT)
        .map(|_| random::random_readable(10))
        .collect();
    let hashed = codes
        .iter()
        .map(|c| (ids::new_id("bkc"), backup_code_hash(user_id, c)))
        .collect();
    (codes, hashed)
}

/// Codes are compared case-insensitively, ignoring spaces and dashes people type.
fn backup_code_hash(user_id: &str, code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_lowercase();
    token_hash(&format!("backup:{user_id}:{normalized}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otpauth_uri_encodes_the_label() {
        assert_eq!(
            otpauth_uri("Acme Corp", "ada@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Acme%20Corp:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn backup_codes_normalise_what_people_type() {
        assert_eq!(
            backup_code_hash("u", "abcd-efgh 23"),
            backup_code_hash("u", "ABCDEFGH23")
        );
        assert_ne!(
            backup_code_hash("u", "abcdefgh23"),
            backup_code_hash("v", "abcdefgh23")
        );
    }
}
