//! User management shared by the Backend API and `/v1/me`.

use serde_json::{Map, Value};

use crate::app::App;
use crate::crypto::ids;
use crate::crypto::password::{validate_digest, DigestKind};
use crate::domain::identifiers::{parse_email, parse_phone, parse_username};
use crate::domain::model::{UserRecord, KIND_EMAIL, KIND_PHONE, SESSION_REVOKED};
use crate::domain::passwords;
use crate::domain::sign_up::{clean_name, metadata_object};
use crate::error::Error;
use crate::store::{NewIdentifier, NewUser, StoreError, UserFlag, UserUpdate};

/// `POST /v1/users` (Backend API).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[serde(default)]
    pub email_address: Vec<String>,
    #[serde(default)]
    pub phone_number: Vec<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_digest: Option<String>,
    pub password_hasher: Option<String>,
    #[serde(default)]
    pub skip_password_checks: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
    pub unsafe_metadata: Option<Value>,
}

pub async fn create(app: &App, p: CreateUser) -> Result<UserRecord, Error> {
    let now = app.now();
    let mut identifiers = Vec::new();
    for (kind, values) in [
        (KIND_EMAIL, &p.email_address),
        (KIND_PHONE, &p.phone_number),
    ] {
        for v in values {
            let parsed = if kind == KIND_EMAIL {
                parse_email(v)?
            } else {
                parse_phone(v)?
            };
            if identifiers
                .iter()
                .any(|i: &NewIdentifier| i.normalized == parsed.normalized)
            {
                return Err(Error::identifier_exists(kind));
            }
            // Identifiers created by an administrator are trusted as verified.
            identifiers.push(NewIdentifier {
                id: ids::new_id("idn"),
                kind,
                value: parsed.display,
                normalized: parsed.normalized,
                verified: true,
                strategy: Some("admin".into()),
            });
        }
    }
    let username = p
        .username
        .as_deref()
        .map(parse_username)
        .transpose()?
        .map(|u| u.display);
    if identifiers.is_empty() && username.is_none() {
        return Err(Error::param_missing("email_address")
            .with_long("A user needs an email address, phone number or username."));
    }
    let first_name = p
        .first_name
        .as_deref()
        .map(|v| clean_name("first_name", v))
        .transpose()?
        .flatten();
    let last_name = p
        .last_name
        .as_deref()
        .map(|v| clean_name("last_name", v))
        .transpose()?
        .flatten();
    let (digest, hasher) = match (&p.password, &p.password_digest) {
        (Some(_), Some(_)) => {
            return Err(Error::param_invalid(
                "password_digest",
                "Give either password or password_digest, not both.",
            ))
        }
        (Some(password), None) => {
            let inputs: Vec<&str> = identifiers
                .iter()
                .map(|i| i.value.as_str())
                .chain(username.as_deref())
                .chain(first_name.as_deref())
                .chain(last_name.as_deref())
                .collect();
            let digest =
                passwords::hash_new(app, password, &inputs, p.skip_password_checks).await?;
            (Some(digest), Some("argon2id".to_string()))
        }
        (None, Some(digest)) => {
            let hasher = p
                .password_hasher
                .as_deref()
                .ok_or_else(|| Error::param_missing("password_hasher"))?;
            let kind: DigestKind = hasher.parse().map_err(|_| {
                Error::param_invalid(
                    "password_hasher",
                    "password_hasher must be one of bcrypt, argon2id, argon2i, pbkdf2_sha256, pbkdf2_sha256_django, scrypt_firebase.",
                )
            })?;
            validate_digest(kind, digest)
                .map_err(|e| Error::param_invalid("password_digest", e.to_string()))?;
            (Some(digest.clone()), Some(hasher.to_string()))
        }
        (None, None) => (None, None),
    };
    let meta = |name: &str, v: &Option<Value>| {
        v.as_ref()
            .map(|v| metadata_object(name, v))
            .transpose()
            .map(|m| m.unwrap_or_else(|| "{}".into()))
    };
    let user = NewUser {
        id: ids::new_id("user"),
        username,
        first_name,
        last_name,
        password_digest: digest,
        password_hasher: hasher,
        public_metadata: meta("public_metadata", &p.public_metadata)?,
        private_metadata: meta("private_metadata", &p.private_metadata)?,
        unsafe_metadata: meta("unsafe_metadata", &p.unsafe_metadata)?,
        identifiers,
        now,
    };
    let mut tx = app.store.begin().await?;
    match app.store.insert_user(&mut tx, &user).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(taken_identifier(app, &user).await),
        Err(e) => return Err(e.into()),
    }
    tx.commit().await.map_err(StoreError::from)?;
    get(app, &user.id).await
}

async fn taken_identifier(app: &App, user: &NewUser) -> Error {
    for i in &user.identifiers {
        if let Ok(Some(_)) = app
            .store
            .find_user_id_by_identifier(i.kind, &i.normalized)
            .await
        {
            return Error::identifier_exists(i.kind);
        }
    }
    Error::identifier_exists("username")
}

pub async fn get(app: &App, id: &str) -> Result<UserRecord, Error> {
    app.store
        .get_user(id)
        .await?
        .ok_or_else(|| Error::not_found("user"))
}

/// Profile changes allowed to the user themself (`PATCH /v1/me`) and, with more
/// fields, to an administrator.
#[derive(Debug, Default, serde::Deserialize)]
pub struct UpdateUser {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub primary_email_address_id: Option<String>,
    pub primary_phone_number_id: Option<String>,
    pub unsafe_metadata: Option<Value>,
    // Backend API only:
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
    pub password: Option<String>,
    #[serde(default)]
    pub skip_password_checks: bool,
}

pub async fn update(app: &App, id: &str, p: UpdateUser, admin: bool) -> Result<UserRecord, Error> {
    let record = get(app, id).await?;
    let mut u = UserUpdate::default();
    if let Some(v) = &p.username {
        u.username = Some(if v.trim().is_empty() {
            None
        } else {
            Some(parse_username(v)?.display)
        });
    }
    if let Some(v) = &p.first_name {
        u.first_name = Some(clean_name("first_name", v)?);
    }
    if let Some(v) = &p.last_name {
        u.last_name = Some(clean_name("last_name", v)?);
    }
    for (param, wanted, kind) in [
        (
            "primary_email_address_id",
            &p.primary_email_address_id,
            KIND_EMAIL,
        ),
        (
            "primary_phone_number_id",
            &p.primary_phone_number_id,
            KIND_PHONE,
        ),
    ] {
        if let Some(wanted) = wanted {
            let ok = record
                .identifiers
                .iter()
                .any(|i| &i.id == wanted && i.kind == kind && i.verified != 0);
            if !ok {
                return Err(Error::param_invalid(
                    param,
                    format!("{param} must be a verified {kind} of this user."),
                ));
            }
        }
    }
    u.primary_email_address_id = p.primary_email_address_id.clone();
    u.primary_phone_number_id = p.primary_phone_number_id.clone();
    if let Some(v) = &p.unsafe_metadata {
        u.unsafe_metadata = Some(metadata_object("unsafe_metadata", v)?);
    }
    if !admin
        && (p.public_metadata.is_some() || p.private_metadata.is_some() || p.password.is_some())
    {
        let param = if p.password.is_some() {
            "password"
        } else {
            "public_metadata"
        };
        return Err(Error::new(
            "form_param_unknown",
            format!("{param} cannot be changed here."),
        )
        .with_param(param));
    }
    if let Some(v) = &p.public_metadata {
        u.public_metadata = Some(metadata_object("public_metadata", v)?);
    }
    if let Some(v) = &p.private_metadata {
        u.private_metadata = Some(metadata_object("private_metadata", v)?);
    }
    if let Some(password) = &p.password {
        let digest =
            passwords::hash_new(app, password, &user_inputs(&record), p.skip_password_checks)
                .await?;
        u.password = Some((digest, "argon2id".into()));
    }
    match app.store.update_user(id, &u, app.now()).await {
        Ok(_) => {}
        Err(StoreError::Conflict) => return Err(Error::identifier_exists("username")),
        Err(e) => return Err(e.into()),
    }
    get(app, id).await
}

fn user_inputs(record: &UserRecord) -> Vec<&str> {
    record
        .identifiers
        .iter()
        .map(|i| i.value.as_str())
        .chain(record.user.username.as_deref())
        .chain(record.user.first_name.as_deref())
        .chain(record.user.last_name.as_deref())
        .collect()
}

/// `PATCH /v1/users/{id}/metadata`: deep merge; `null` removes a key.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataPatch {
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
    pub unsafe_metadata: Option<Value>,
}

pub async fn merge_metadata(app: &App, id: &str, p: MetadataPatch) -> Result<UserRecord, Error> {
    let record = get(app, id).await?;
    let mut u = UserUpdate::default();
    let merged =
        |param: &str, current: &str, patch: &Option<Value>| -> Result<Option<String>, Error> {
            let Some(patch) = patch else { return Ok(None) };
            if !patch.is_object() {
                return Err(Error::param_invalid(
                    param,
                    format!("{param} must be a JSON object."),
                ));
            }
            let mut value: Value =
                serde_json::from_str(current).unwrap_or_else(|_| Value::Object(Map::new()));
            deep_merge(&mut value, patch);
            metadata_object(param, &value).map(Some)
        };
    u.public_metadata = merged(
        "public_metadata",
        &record.user.public_metadata,
        &p.public_metadata,
    )?;
    u.private_metadata = merged(
        "private_metadata",
        &record.user.private_metadata,
        &p.private_metadata,
    )?;
    u.unsafe_metadata = merged(
        "unsafe_metadata",
        &record.user.unsafe_metadata,
        &p.unsafe_metadata,
    )?;
    app.store.update_user(id, &u, app.now()).await?;
    get(app, id).await
}

/// Merges `patch` into `target`: objects merge key by key, `null` deletes, anything else replaces.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if v.is_object() {
                    // Merged into an empty object when new, so nested nulls are dropped too.
                    let slot = t.entry(k.clone()).or_insert(Value::Null);
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    deep_merge(slot, v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Deletes a user; every session ends at once.
pub async fn delete(app: &App, id: &str) -> Result<(), Error> {
    get(app, id).await?;
    app.store
        .end_user_sessions(id, SESSION_REVOKED, None, app.now())
        .await?;
    app.store.delete_user(id).await?;
    Ok(())
}

pub async fn set_banned(app: &App, id: &str, banned: bool) -> Result<UserRecord, Error> {
    get(app, id).await?;
    app.store
        .set_user_flag(id, UserFlag::Banned, banned, app.now())
        .await?;
    if banned {
        app.store
            .end_user_sessions(id, SESSION_REVOKED, None, app.now())
            .await?;
    }
    get(app, id).await
}

pub async fn set_locked(app: &App, id: &str, locked: bool) -> Result<UserRecord, Error> {
    get(app, id).await?;
    app.store
        .set_user_flag(id, UserFlag::AdminLocked, locked, app.now())
        .await?;
    get(app, id).await
}

/// `POST /v1/users/{id}/verify_password`: no lockout counting (a trusted backend asks).
pub async fn verify_password(app: &App, id: &str, password: &str) -> Result<bool, Error> {
    let record = get(app, id).await?;
    if record.user.password_digest.is_none() {
        return Ok(false);
    }
    passwords::verify(app, &record.user, password).await
}

/// `POST /v1/me/change_password`. Ends the user's other sessions when asked.
pub async fn change_password(
    app: &App,
    user_id: &str,
    current_session: &str,
    current: Option<&str>,
    new: &str,
    sign_out_others: bool,
) -> Result<UserRecord, Error> {
    let record = get(app, user_id).await?;
    if record.user.password_enabled() {
        let current = current.ok_or_else(|| Error::param_missing("current_password"))?;
        if !passwords::verify(app, &record.user, current).await? {
            passwords::record_failure(app, user_id).await?;
            return Err(Error::password_incorrect().with_param("current_password"));
        }
    }
    set_password(app, &record, new).await?;
    if sign_out_others {
        app.store
            .end_user_sessions(user_id, SESSION_REVOKED, Some(current_session), app.now())
            .await?;
    }
    get(app, user_id).await
}

/// Checks a new password against the policy (with the user's own names and
/// identifiers), hashes it with argon2id and stores it.
pub async fn set_password(app: &App, record: &UserRecord, new: &str) -> Result<(), Error> {
    let digest = passwords::hash_new(app, new, &user_inputs(record), false).await?;
    let update = UserUpdate {
        password: Some((digest, "argon2id".into())),
        ..Default::default()
    };
    app.store
        .update_user(&record.user.id, &update, app.now())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::deep_merge;
    use serde_json::json;

    #[test]
    fn deep_merge_merges_objects_and_null_deletes() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "d": 3, "e": [1]});
        deep_merge(
            &mut v,
            &json!({"a": {"b": 10, "c": null, "x": true}, "d": null, "e": [2]}),
        );
        assert_eq!(v, json!({"a": {"b": 10, "x": true}, "e": [2]}));
    }
}
