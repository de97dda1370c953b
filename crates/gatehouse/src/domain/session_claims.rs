//! The instance's custom session claims: one claims template (`domain::templates`)
//! rendered into every session token.
//!
//! They come from `[session] claims` in the configuration, unless claims were set through
//! the Backend API: those are stored in the database and win over the configuration in
//! every process sharing it — each process re-reads them every few seconds, like the
//! signing keys — until they are removed again, which brings back the configured ones.
//!
//! The token path asks [`SessionClaims::template`], which costs one atomic load while no
//! claims are in effect (the default).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::App;
use crate::domain::templates::{self, CompiledClaims, TemplateError, SESSION_RESERVED};
use crate::error::Error;
use crate::store::{Store, StoreResult};

/// The `instance_settings` entry holding claims set through the Backend API.
pub const SETTING: &str = "session_claims";

/// Where the claims in effect come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `[session] claims`.
    Config,
    /// Set through the Backend API at this time (ms).
    Api { updated_at: i64 },
}

/// The claims in effect, as written and compiled.
#[derive(Debug)]
pub struct InEffect {
    pub claims: Map<String, Value>,
    pub compiled: CompiledClaims,
    pub source: Source,
    /// The stored setting this was read from (`None`: nothing stored).
    stored: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    claims: Map<String, Value>,
    updated_at: i64,
}

/// The custom session claims of this process, kept current.
#[derive(Debug)]
pub struct SessionClaims {
    /// Whether the claims in effect are not empty; read without the lock.
    active: AtomicBool,
    current: RwLock<Arc<InEffect>>,
    configured: Arc<InEffect>,
}

/// Checks a claims object for session tokens.
pub fn compile(claims: &Map<String, Value>) -> Result<CompiledClaims, TemplateError> {
    templates::compile(claims, SESSION_RESERVED)
}

impl SessionClaims {
    /// The configured claims (checked again here; the configuration checked them at
    /// start), then whatever the database holds.
    pub async fn load(store: &Store, configured: &Map<String, Value>) -> anyhow::Result<Self> {
        let compiled =
            compile(configured).map_err(|e| anyhow::anyhow!("{}", e.at("session.claims")))?;
        let configured = Arc::new(InEffect {
            claims: configured.clone(),
            compiled,
            source: Source::Config,
            stored: None,
        });
        let claims = SessionClaims {
            active: AtomicBool::new(false),
            current: RwLock::new(configured.clone()),
            configured,
        };
        claims.install(store.setting(SETTING).await?);
        Ok(claims)
    }

    /// The template to render into a session token; `None` when there are no claims.
    pub fn template(&self) -> Option<Arc<InEffect>> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        Some(self.in_effect())
    }

    /// The claims in effect, empty or not.
    pub fn in_effect(&self) -> Arc<InEffect> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the stored claims; cheap when they did not change.
    pub async fn refresh(&self, store: &Store) -> StoreResult<()> {
        let stored = store.setting(SETTING).await?;
        if stored != self.in_effect().stored {
            self.install(stored);
        }
        Ok(())
    }

    /// Puts stored claims (or, without any, the configured ones) in effect. Stored claims
    /// that no longer compile are logged and the configured ones apply.
    fn install(&self, stored: Option<String>) {
        let next = match stored.as_deref().map(parse_stored) {
            None => self.configured.clone(),
            Some(Ok((claims, compiled, updated_at))) => Arc::new(InEffect {
                claims,
                compiled,
                source: Source::Api { updated_at },
                stored,
            }),
            Some(Err(e)) => {
                tracing::error!(error = %e, "stored session claims are invalid; using [session] claims");
                Arc::new(InEffect {
                    claims: self.configured.claims.clone(),
                    compiled: self.configured.compiled.clone(),
                    source: Source::Config,
                    stored,
                })
            }
        };
        let active = !next.compiled.is_empty();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next;
        self.active.store(active, Ordering::Release);
    }
}

fn parse_stored(text: &str) -> Result<(Map<String, Value>, CompiledClaims, i64), String> {
    let stored: Stored = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let compiled = compile(&stored.claims).map_err(|e| e.at("session_claims"))?;
    Ok((stored.claims, compiled, stored.updated_at))
}

/// `PUT /v1/session_claims`: stores `claims` (after checking them) and puts them in
/// effect in this process at once; others follow within seconds.
pub async fn set(app: &App, claims: Option<Value>) -> Result<Arc<InEffect>, Error> {
    let claims = claims.ok_or_else(|| Error::param_missing("claims"))?;
    let Value::Object(claims) = claims else {
        return Err(Error::param_invalid(
            "claims",
            "claims must be a JSON object.",
        ));
    };
    compile(&claims).map_err(|e| Error::param_invalid("claims", e.at("claims")))?;
    let text = serde_json::to_string(&Stored {
        claims,
        updated_at: app.now(),
    })
    .map_err(|_| Error::internal())?;
    app.store.setting_put(SETTING, &text).await?;
    app.session_claims.install(Some(text));
    Ok(app.session_claims.in_effect())
}

/// `DELETE /v1/session_claims`: removes the stored claims; the configured ones apply.
pub async fn reset(app: &App) -> Result<Arc<InEffect>, Error> {
    app.store.setting_delete(SETTING).await?;
    app.session_claims.install(None);
    Ok(app.session_claims.in_effect())
}
