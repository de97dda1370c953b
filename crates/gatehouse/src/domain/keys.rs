//! The instance's token signing keys: loaded from the database, unsealed with the master
//! key, kept parsed in memory (signing never re-parses a key), and re-read periodically so
//! a rotation made by any process reaches every process within seconds.

use std::sync::{Arc, RwLock};

use crate::crypto::jws::{Algorithm, SigningKey, VerifyingKey};
use crate::crypto::sealed::MasterKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::crypto::ids;
use crate::store::{Store, StoredSigningKey};

/// How often every process re-reads the published keys (rotation must be visible within 10 s).
pub const KEY_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

/// The signing key in use and the JWKS document to publish.
#[derive(Debug)]
pub struct KeyRing {
    state: RwLock<KeyState>,
}

#[derive(Debug, Clone)]
struct KeyState {
    current: Arc<SigningKey>,
    jwks: Arc<serde_json::Value>,
    verifying: Arc<Vec<VerifyingKey>>,
    kids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("a signing key could not be unsealed; is GATEHOUSE_MASTER_KEY the key this database was created with?")]
    Unseal,
    #[error("signing key error: {0}")]
    Key(String),
    #[error("the database has no current signing key")]
    Missing,
}

impl KeyRing {
    /// Loads the published keys, creating the first one when the instance has none.
    pub async fn load_or_create(
        store: &Store,
        master: &MasterKey,
        alg: Algorithm,
        now: i64,
    ) -> Result<KeyRing, KeyError> {
        if store.published_signing_keys(now).await?.is_empty() {
            let key = new_sealed_key(master, alg, now)?;
            store.rotate_signing_key(&key, now, true).await?;
        }
        let state = load_state(store, master, now).await?;
        Ok(KeyRing {
            state: RwLock::new(state),
        })
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> Arc<SigningKey> {
        self.state.read().expect("key ring lock").current.clone()
    }

    /// `{"keys": [...]}`: the current key and any previous one still published.
    pub fn jwks(&self) -> Arc<serde_json::Value> {
        self.state.read().expect("key ring lock").jwks.clone()
    }

    /// The published public keys, for checking tokens this instance issued.
    pub fn verifying_keys(&self) -> Arc<Vec<VerifyingKey>> {
        self.state.read().expect("key ring lock").verifying.clone()
    }

    /// Re-reads the published keys; cheap when nothing changed.
    pub async fn refresh(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<(), KeyError> {
        let rows = store.published_signing_keys(now).await?;
        let kids: Vec<String> = rows.iter().map(|r| r.kid.clone()).collect();
        if kids == self.state.read().expect("key ring lock").kids {
            return Ok(());
        }
        let state = state_from_rows(master, rows)?;
        *self.state.write().expect("key ring lock") = state;
        Ok(())
    }
}

/// Generates a new key and makes it current; the previous one stays published for
/// `keep_previous_ms`. Returns the new key id.
pub async fn rotate(
    store: &Store,
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
    keep_previous_ms: i64,
) -> Result<String, KeyError> {
    let key = new_sealed_key(master, alg, now)?;
    store
        .rotate_signing_key(&key, now + keep_previous_ms, false)
        .await?;
    Ok(key.kid)
}

fn new_sealed_key(
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
) -> Result<StoredSigningKey, KeyError> {
    let kid = ids::new_id("ins_key");
    let key = SigningKey::generate(alg, kid.clone()).map_err(|e| KeyError::Key(e.to_string()))?;
    let sealed = master.seal(&key.pkcs8_der(), kid.as_bytes());
    Ok(StoredSigningKey {
        kid,
        algorithm: alg.as_str().to_string(),
        sealed_private_key: B64.encode(sealed),
        public_jwk: key.public_jwk().to_string(),
        status: crate::store::KEY_CURRENT.into(),
        publish_until: None,
        created_at: now,
    })
}

async fn load_state(store: &Store, master: &MasterKey, now: i64) -> Result<KeyState, KeyError> {
    state_from_rows(master, store.published_signing_keys(now).await?)
}

fn state_from_rows(master: &MasterKey, rows: Vec<StoredSigningKey>) -> Result<KeyState, KeyError> {
    let current_row = rows
        .iter()
        .find(|r| r.status == crate::store::KEY_CURRENT)
        .ok_or(KeyError::Missing)?;
    let alg: Algorithm = current_row
        .algorithm
        .parse()
        .map_err(|_| KeyError::Key(format!("unknown algorithm {}", current_row.algorithm)))?;
    let sealed = B64
        .decode(&current_row.sealed_private_key)
        .map_err(|_| KeyError::Unseal)?;
    let der = master
        .open(&sealed, current_row.kid.as_bytes())
        .map_err(|_| KeyError::Unseal)?;
    let current = SigningKey::from_pkcs8(alg, current_row.kid.clone(), &der)
        .map_err(|e| KeyError::Key(e.to_string()))?;
    let keys: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.public_jwk).ok())
        .collect();
    let verifying = keys
        .iter()
        .filter_map(|k| VerifyingKey::from_jwk(k).ok())
        .collect();
    Ok(KeyState {
        current: Arc::new(current),
        jwks: Arc::new(serde_json::json!({ "keys": keys })),
        verifying: Arc::new(verifying),
        kids: rows.iter().map(|r| r.kid.clone()).collect(),
    })
}
