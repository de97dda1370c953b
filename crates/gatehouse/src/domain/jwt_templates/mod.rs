//! JWT templates: named claims templates (`domain::templates`) that mint tokens for other
//! systems — a database, a GraphQL engine — from an active session. This module is the
//! resource the Backend API manages: checking what is saved, presets, and the optional
//! custom signing key, which is stored only sealed with the master key. `cache` loads a
//! template ready to mint; `domain::tokens` mints.

mod cache;
mod presets;

pub use cache::{ready_for_mint, MintReady, TemplateCache};
pub use presets::Preset;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::app::App;
use crate::crypto::ids;
use crate::crypto::jws::{CustomKey, JwsError, CUSTOM_ALGORITHMS};
use crate::domain::templates::{self, TEMPLATE_RESERVED};
use crate::error::Error;
use crate::store::{StoreError, StoredJwtTemplate};

/// Token lifetimes, in seconds: 30 s to 10 years, 60 s unless given.
pub const MIN_LIFETIME_SECS: i64 = 30;
pub const MAX_LIFETIME_SECS: i64 = 10 * 365 * 86_400;
pub const DEFAULT_LIFETIME_SECS: i64 = 60;
/// `nbf` is `iat` minus this many seconds: 0 to 300, 5 unless given.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 5;
const MAX_NAME_CHARS: usize = 64;
const MAX_SIGNING_KEY_BYTES: usize = 16 * 1024;

/// `POST /v1/jwt_templates`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    pub name: Option<String>,
    pub claims: Option<Value>,
    pub preset: Option<String>,
    pub lifetime: Option<i64>,
    pub allowed_clock_skew: Option<i64>,
    pub signing_algorithm: Option<String>,
    pub signing_key: Option<String>,
}

/// `PATCH /v1/jwt_templates/{id}`: absent fields stay as they are; `signing_key: null`
/// goes back to the instance key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    pub name: Option<String>,
    pub claims: Option<Value>,
    pub lifetime: Option<i64>,
    pub allowed_clock_skew: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    pub signing_algorithm: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub signing_key: Option<Option<String>>,
}

/// `Some(value)` for a field that is there, also when it is `null`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A whole template as it would be saved, before it is checked.
struct Draft {
    name: String,
    claims: Value,
    lifetime: i64,
    allowed_clock_skew: i64,
    algorithm: Option<String>,
    /// The custom key's material (HS256 secret or PEM), in the clear.
    key: Option<String>,
}

/// A checked draft, in the form it is stored.
struct Checked {
    claims: String,
    /// The custom key's algorithm; `None` signs with the instance key.
    algorithm: Option<String>,
}

pub async fn create(app: &App, p: CreateTemplate) -> Result<StoredJwtTemplate, Error> {
    let preset = p
        .preset
        .as_deref()
        .map(|name| {
            Preset::parse(name).ok_or_else(|| {
                Error::param_invalid("preset", "preset must be `hasura` or `supabase`.")
            })
        })
        .transpose()?;
    let claims = match (preset, p.claims) {
        (Some(_), Some(_)) => {
            return Err(Error::param_invalid(
                "claims",
                "Give either claims or a preset, not both.",
            ))
        }
        (Some(preset), None) => preset.claims(),
        (None, Some(claims)) => claims,
        (None, None) => Value::Object(Map::new()),
    };
    let mut algorithm = p.signing_algorithm;
    if let Some(preset) = preset {
        if let Some(required) = preset.algorithm() {
            if p.signing_key.is_none() {
                return Err(Error::param_missing("signing_key").with_long(format!(
                    "The {} preset signs with {required} and the project's JWT secret: give that secret as signing_key.",
                    preset.name()
                )));
            }
            match algorithm.as_deref() {
                None => algorithm = Some(required.to_string()),
                Some(given) if given == required => {}
                Some(_) => {
                    return Err(Error::param_invalid(
                        "signing_algorithm",
                        format!("The {} preset signs with {required}.", preset.name()),
                    ))
                }
            }
        }
    }
    let name = match (p.name, preset) {
        (Some(name), _) => name,
        (None, Some(preset)) => preset.name().to_string(),
        (None, None) => return Err(Error::param_missing("name")),
    };
    let draft = Draft {
        name,
        claims,
        lifetime: p.lifetime.unwrap_or(DEFAULT_LIFETIME_SECS),
        allowed_clock_skew: p.allowed_clock_skew.unwrap_or(DEFAULT_CLOCK_SKEW_SECS),
        algorithm,
        key: p.signing_key,
    };
    let checked = check(app, &draft)?;
    let now = app.now();
    let id = ids::new_id("jtmp");
    let row = StoredJwtTemplate {
        sealed_signing_key: draft.key.as_deref().map(|k| seal(app, &id, k)),
        id,
        name_normalized: draft.name.to_ascii_lowercase(),
        name: draft.name,
        claims: checked.claims,
        lifetime: draft.lifetime,
        allowed_clock_skew: draft.allowed_clock_skew,
        signing_algorithm: checked.algorithm,
        created_at: now,
        updated_at: now,
    };
    app.store
        .insert_jwt_template(&row)
        .await
        .map_err(|e| stored(e, &row.name))?;
    Ok(row)
}

pub async fn update(app: &App, id: &str, p: UpdateTemplate) -> Result<StoredJwtTemplate, Error> {
    let row = get(app, id).await?;
    let key_replaced = p.signing_key.is_some();
    let key = match p.signing_key {
        Some(new) => new,
        None => open(app, &row)?,
    };
    let algorithm = match p.signing_algorithm {
        Some(given) => given,
        // A new key brings its own algorithm; so does going back to the instance key.
        None if key_replaced => None,
        None => row.signing_algorithm.clone(),
    };
    let claims = match p.claims {
        Some(claims) => claims,
        None => serde_json::from_str(&row.claims).map_err(|_| corrupt(&row.id))?,
    };
    let draft = Draft {
        name: p.name.unwrap_or_else(|| row.name.clone()),
        claims,
        lifetime: p.lifetime.unwrap_or(row.lifetime),
        allowed_clock_skew: p.allowed_clock_skew.unwrap_or(row.allowed_clock_skew),
        algorithm,
        key,
    };
    let checked = check(app, &draft)?;
    let updated = StoredJwtTemplate {
        id: row.id.clone(),
        name_normalized: draft.name.to_ascii_lowercase(),
        name: draft.name,
        claims: checked.claims,
        lifetime: draft.lifetime,
        allowed_clock_skew: draft.allowed_clock_skew,
        signing_algorithm: checked.algorithm,
        sealed_signing_key: draft.key.as_deref().map(|k| seal(app, &row.id, k)),
        created_at: row.created_at,
        updated_at: app.now(),
    };
    let found = app
        .store
        .update_jwt_template(&updated)
        .await
        .map_err(|e| stored(e, &updated.name))?;
    if !found {
        return Err(Error::not_found("JWT template"));
    }
    Ok(updated)
}

pub async fn get(app: &App, id: &str) -> Result<StoredJwtTemplate, Error> {
    app.store
        .jwt_template(id)
        .await?
        .ok_or_else(|| Error::not_found("JWT template"))
}

pub async fn delete(app: &App, id: &str) -> Result<(), Error> {
    if !app.store.delete_jwt_template(id).await? {
        return Err(Error::not_found("JWT template"));
    }
    Ok(())
}

/// The algorithm a template's tokens are signed with: its key's, or the instance key's.
pub fn signing_algorithm(app: &App, row: &StoredJwtTemplate) -> String {
    row.signing_algorithm
        .clone()
        .unwrap_or_else(|| app.keys.current().alg().as_str().to_string())
}

fn check(app: &App, d: &Draft) -> Result<Checked, Error> {
    check_name(&d.name)?;
    let Value::Object(claims) = &d.claims else {
        return Err(Error::param_invalid(
            "claims",
            "claims must be a JSON object.",
        ));
    };
    templates::compile(claims, TEMPLATE_RESERVED)
        .map_err(|e| Error::param_invalid("claims", e.at("claims")))?;
    if !(MIN_LIFETIME_SECS..=MAX_LIFETIME_SECS).contains(&d.lifetime) {
        return Err(Error::param_invalid(
            "lifetime",
            format!(
                "lifetime must be between {MIN_LIFETIME_SECS} seconds and 10 years ({MAX_LIFETIME_SECS} seconds)."
            ),
        ));
    }
    if !(0..=MAX_CLOCK_SKEW_SECS).contains(&d.allowed_clock_skew) {
        return Err(Error::param_invalid(
            "allowed_clock_skew",
            format!("allowed_clock_skew must be between 0 and {MAX_CLOCK_SKEW_SECS} seconds."),
        ));
    }
    Ok(Checked {
        claims: d.claims.to_string(),
        algorithm: check_key(app, d.algorithm.as_deref(), d.key.as_deref())?,
    })
}

/// 1 to 64 characters from `A–Z a–z 0–9 _ - .`, starting with a letter or digit: the
/// name goes into token URLs as it is.
fn check_name(name: &str) -> Result<(), Error> {
    let valid = name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Error::param_invalid(
            "name",
            format!(
                "name must be 1 to {MAX_NAME_CHARS} characters from A-Z, a-z, 0-9, `_`, `-` and `.`, starting with a letter or digit."
            ),
        ))
    }
}

/// The algorithm stored for a template: a custom key's, or `None` for the instance key.
fn check_key(app: &App, alg: Option<&str>, key: Option<&str>) -> Result<Option<String>, Error> {
    if let Some(alg) = alg {
        if !CUSTOM_ALGORITHMS.contains(&alg) {
            return Err(Error::param_invalid(
                "signing_algorithm",
                format!(
                    "signing_algorithm must be one of {}.",
                    CUSTOM_ALGORITHMS.join(", ")
                ),
            ));
        }
    }
    let Some(material) = key else {
        let instance = app.keys.current().alg();
        return match alg {
            None => Ok(None),
            Some(alg) if alg == instance.as_str() => Ok(None),
            Some("HS256") => Err(Error::param_missing("signing_key")
                .with_long("HS256 signs with a shared secret: give it as signing_key.")),
            Some(alg) => Err(Error::param_invalid(
                "signing_algorithm",
                format!(
                    "Without a signing_key, tokens are signed with the instance key ({instance}); give a signing_key to sign with {alg}."
                ),
            )),
        };
    };
    if material.len() > MAX_SIGNING_KEY_BYTES {
        return Err(Error::param_invalid(
            "signing_key",
            format!("signing_key must be at most {MAX_SIGNING_KEY_BYTES} bytes."),
        ));
    }
    let parsed = CustomKey::parse(alg, material).map_err(|e| match e {
        JwsError::InvalidKey(why) => {
            Error::param_invalid("signing_key", format!("signing_key: {why}."))
        }
        _ => Error::param_invalid(
            "signing_algorithm",
            format!(
                "signing_algorithm must be one of {}.",
                CUSTOM_ALGORITHMS.join(", ")
            ),
        ),
    })?;
    Ok(Some(parsed.alg().to_string()))
}

/// The custom key's material sealed for this template's row.
fn seal(app: &App, id: &str, material: &str) -> String {
    app.master_key.seal_text(material, &aad(id))
}

/// The custom key's material, if the template has one.
fn open(app: &App, row: &StoredJwtTemplate) -> Result<Option<String>, Error> {
    let Some(sealed) = row.sealed_signing_key.as_deref() else {
        return Ok(None);
    };
    let plain = app
        .master_key
        .open_text(sealed, &aad(&row.id))
        .map_err(|_| corrupt(&row.id))?;
    Ok(Some(plain))
}

fn aad(id: &str) -> String {
    format!("jwt_template:{id}:signing_key")
}

/// A stored template that no longer opens or compiles (the master key changed, or a
/// newer version wrote it): logged, and an opaque 500.
fn corrupt(id: &str) -> Error {
    tracing::error!(template = %id, "a stored JWT template could not be read (master key changed?)");
    Error::internal()
}

fn stored(e: StoreError, name: &str) -> Error {
    match e {
        StoreError::Conflict => Error::new(
            "duplicate_record",
            format!("A JWT template named `{name}` already exists."),
        )
        .with_param("name"),
        other => other.into(),
    }
}
