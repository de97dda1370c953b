//! Which user a verified SAML identity is. Identities are namespaced by connection
//! (connection id + NameID). A known identity is its user. A new one is linked to the
//! user with its email address, or provisioned as a new user (just in time), only when
//! that address is on one of the connection's domains: an identity provider vouches
//! for its own domains and nobody else's.

use super::connections::Connection;
use crate::app::App;
use crate::crypto::ids;
use crate::domain::identifiers::parse_email;
use crate::domain::model::{SamlAccount, KIND_EMAIL};
use crate::domain::sign_up::clean_name;
use crate::error::Error;
use crate::saml::response::Verified;
use crate::store::{NewIdentifier, NewUser, StoreError};

/// The user, or why the identity signs nobody in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    User(String),
    Refused(&'static str),
}

pub async fn resolve(
    app: &App,
    connection: &Connection,
    v: &Verified,
) -> Result<Resolution, Error> {
    let now = app.now();
    let connection_id = &connection.row.id;
    let first_name = v
        .first_name
        .as_deref()
        .and_then(|n| clean_name("first_name", n).ok().flatten());
    let last_name = v
        .last_name
        .as_deref()
        .and_then(|n| clean_name("last_name", n).ok().flatten());
    if let Some(mut account) = app.store.saml_account(connection_id, &v.name_id).await? {
        account.email_address = v.email.clone();
        account.first_name = first_name;
        account.last_name = last_name;
        account.updated_at = now;
        app.store.update_saml_account(&account).await?;
        return Ok(Resolution::User(account.user_id));
    }
    let Some(email) = v.email.as_deref().and_then(|e| parse_email(e).ok()) else {
        return Ok(Resolution::Refused("email_missing"));
    };
    let domain = email
        .normalized
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("");
    if !connection.domains.iter().any(|d| d == domain) {
        return Ok(Resolution::Refused("email_domain_not_owned"));
    }
    let mut account = SamlAccount {
        id: ids::new_id("samlacc"),
        user_id: String::new(),
        connection_id: connection_id.clone(),
        name_id: v.name_id.clone(),
        email_address: Some(email.display.clone()),
        first_name: first_name.clone(),
        last_name: last_name.clone(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.store.begin().await?;
    match app
        .store
        .find_user_id_by_identifier(KIND_EMAIL, &email.normalized)
        .await?
    {
        Some(user_id) => {
            if let Some(user) = app.store.get_user(&user_id).await? {
                if user.user.is_banned() {
                    return Ok(Resolution::Refused("user_banned"));
                }
            }
            account.user_id = user_id;
        }
        None => {
            let user = NewUser {
                id: ids::new_id("user"),
                username: None,
                first_name,
                last_name,
                password_digest: None,
                password_hasher: None,
                public_metadata: "{}".into(),
                private_metadata: "{}".into(),
                unsafe_metadata: "{}".into(),
                identifiers: vec![NewIdentifier {
                    id: ids::new_id("idn"),
                    kind: KIND_EMAIL,
                    value: email.display.clone(),
                    normalized: email.normalized.clone(),
                    verified: true,
                    strategy: Some(super::STRATEGY.into()),
                }],
                now,
            };
            match app.store.insert_user(&mut tx, &user).await {
                Ok(()) => {}
                // Someone took the address since the lookup.
                Err(StoreError::Conflict) => return Ok(Resolution::Refused("identifier_exists")),
                Err(e) => return Err(e.into()),
            }
            account.user_id = user.id;
        }
    }
    match app.store.insert_saml_account(&mut tx, &account).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Ok(Resolution::Refused("identity_exists")),
        Err(e) => return Err(e.into()),
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(connection = %connection_id, "a SAML identity was linked to a user by an email address on its connection's domains");
    Ok(Resolution::User(account.user_id))
}
