//! Templates ready to mint. Every mint reads the template's row (one indexed read, so a
//! change made through any process counts at once); the compiled claims and the parsed
//! custom key are kept per process and reused while that row is unchanged, so signing
//! never re-parses a key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::app::App;
use crate::crypto::jws::CustomKey;
use crate::domain::templates::{self, CompiledClaims, TEMPLATE_RESERVED};
use crate::error::Error;
use crate::store::StoredJwtTemplate;

/// Templates kept at most; the cache starts over beyond that.
const MAX_KEPT: usize = 256;

/// A template compiled and its key parsed.
#[derive(Debug)]
pub struct MintReady {
    row: StoredJwtTemplate,
    pub claims: CompiledClaims,
    /// `None`: the instance key signs.
    pub key: Option<CustomKey>,
    pub lifetime: i64,
    pub allowed_clock_skew: i64,
}

/// This process's ready templates, by id.
#[derive(Default)]
pub struct TemplateCache {
    ready: Mutex<HashMap<String, Arc<MintReady>>>,
}

impl std::fmt::Debug for TemplateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateCache").finish_non_exhaustive()
    }
}

impl TemplateCache {
    fn get(&self, row: &StoredJwtTemplate) -> Option<Arc<MintReady>> {
        let ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        ready.get(&row.id).filter(|r| r.row == *row).cloned()
    }

    fn keep(&self, ready: Arc<MintReady>) {
        let mut map = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEPT {
            map.clear();
        }
        map.insert(ready.row.id.clone(), ready);
    }
}

/// The template named `name` (case-insensitively), ready to mint; unknown is `404
/// resource_not_found`.
pub async fn ready_for_mint(app: &App, name: &str) -> Result<Arc<MintReady>, Error> {
    let row = app
        .store
        .jwt_template_by_name(&name.to_ascii_lowercase())
        .await?
        .ok_or_else(|| Error::not_found("JWT template"))?;
    if let Some(ready) = app.jwt_templates.get(&row) {
        return Ok(ready);
    }
    let ready = Arc::new(prepare(app, row)?);
    app.jwt_templates.keep(ready.clone());
    Ok(ready)
}

fn prepare(app: &App, row: StoredJwtTemplate) -> Result<MintReady, Error> {
    let claims: Map<String, Value> =
        serde_json::from_str(&row.claims).map_err(|_| super::corrupt(&row.id))?;
    let claims =
        templates::compile(&claims, TEMPLATE_RESERVED).map_err(|_| super::corrupt(&row.id))?;
    let key = match super::open(app, &row)? {
        Some(material) => Some(
            CustomKey::parse(row.signing_algorithm.as_deref(), &material)
                .map_err(|_| super::corrupt(&row.id))?,
        ),
        None => None,
    };
    Ok(MintReady {
        lifetime: row.lifetime,
        allowed_clock_skew: row.allowed_clock_skew,
        claims,
        key,
        row,
    })
}
