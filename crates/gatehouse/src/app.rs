//! The running instance: configuration, storage, keys and shared services, built once
//! at start and handed to every request.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::digest::token_hash;
use crate::crypto::password::HashPool;
use crate::crypto::sealed::MasterKey;
use crate::crypto::{ids, random};
use crate::delivery::Delivery;
use crate::domain::jwt_templates::TemplateCache;
use crate::domain::keys::KeyRing;
use crate::domain::password_policy::PasswordPolicy;
use crate::domain::session_claims::SessionClaims;
use crate::http::client_ip::Cidr;
use crate::store::Store;

#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: SharedClock,
    pub master_key: MasterKey,
    pub keys: KeyRing,
    pub hashes: HashPool,
    pub password_policy: PasswordPolicy,
    /// Message templates, senders and the outbox worker's wake-up signal.
    pub delivery: Delivery,
    /// `ins_...`: this instance's id, created with the database.
    pub instance_id: String,
    /// The social sign-in providers of `[oauth.<name>]`.
    pub oauth: crate::oauth::Providers,
    /// The custom session claims in effect (configured, or set through the Backend API).
    pub session_claims: SessionClaims,
    /// JWT templates compiled and their keys parsed, for minting.
    pub jwt_templates: TemplateCache,
    /// `[rate_limits] trusted_proxies`, parsed once (the configuration was validated).
    pub trusted_proxies: Vec<Cidr>,
}

pub type AppRef = Arc<App>;

/// What start-up created that the operator must be told about once.
#[derive(Debug, Default)]
pub struct StartupNotes {
    /// A master key was generated into this file.
    pub generated_master_key: Option<std::path::PathBuf>,
}

const MASTER_KEY_FILE: &str = "master.key";
const MASTER_KEY_CHECK: &str = "master_key_check";
const CHECK_PLAINTEXT: &[u8] = b"gatehouse master key check";

impl App {
    /// Opens the database (migrating it) and loads or creates the signing keys.
    pub async fn start(
        config: Config,
        clock: SharedClock,
    ) -> anyhow::Result<(AppRef, StartupNotes)> {
        let mut notes = StartupNotes::default();
        let delivery = Delivery::from_config(&config)?;
        let oauth = crate::oauth::Providers::from_config(&config)?;
        let store = Store::open(&config.effective_database_url())
            .await
            .with_context(|| {
                format!(
                    "could not open the database {}",
                    redact_url(&config.effective_database_url())
                )
            })?;
        let master_key = load_master_key(&config, &mut notes)?;
        check_master_key(&store, &master_key).await?;
        let now = clock.now_ms();
        let keys =
            KeyRing::load_or_create(&store, &master_key, config.tokens.algorithm, now).await?;
        let password_policy = PasswordPolicy {
            min_length: config.auth.password.min_length,
            max_length: config.auth.password.max_length,
            min_strength: config.auth.password.min_strength,
            reject_breached: config.auth.password.reject_breached,
        };
        let instance_id = store
            .setting_insert_if_absent("instance_id", &ids::new_id("ins"))
            .await?;
        let hashes = HashPool::new(config.hash_concurrency(), config.hash_queue());
        let session_claims = SessionClaims::load(&store, &config.session.claims).await?;
        let trusted_proxies = config
            .rate_limits
            .trusted_proxies
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .collect();
        let app = App {
            config: Arc::new(config),
            store,
            clock,
            master_key,
            keys,
            hashes,
            password_policy,
            delivery,
            instance_id,
            oauth,
            session_claims,
            jwt_templates: TemplateCache::default(),
            trusted_proxies,
        };
        Ok((Arc::new(app), notes))
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The inactivity timeout in milliseconds, if configured.
    pub fn inactivity_ms(&self) -> Option<i64> {
        self.config.session.inactivity_timeout.as_millis()
    }
}

fn load_master_key(config: &Config, notes: &mut StartupNotes) -> anyhow::Result<MasterKey> {
    if let Some(encoded) = &config.master_key {
        return MasterKey::from_base64(encoded).map_err(|e| anyhow::anyhow!("master_key: {e}"));
    }
    let path = config.data_dir.join(MASTER_KEY_FILE);
    if path.exists() {
        let encoded = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return MasterKey::from_base64(encoded.trim())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let key = MasterKey::generate();
    write_private_file(&path, &key.to_base64())?;
    notes.generated_master_key = Some(path);
    Ok(key)
}

fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Refuses to start with a master key other than the one the database was sealed with.
async fn check_master_key(store: &Store, key: &MasterKey) -> anyhow::Result<()> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let candidate = b64.encode(key.seal(CHECK_PLAINTEXT, MASTER_KEY_CHECK.as_bytes()));
    let stored = store
        .setting_insert_if_absent(MASTER_KEY_CHECK, &candidate)
        .await?;
    let opened = b64
        .decode(stored)
        .ok()
        .and_then(|sealed| key.open(&sealed, MASTER_KEY_CHECK.as_bytes()).ok());
    if opened.as_deref() != Some(CHECK_PLAINTEXT) {
        anyhow::bail!(
            "the master key does not match this database: set GATEHOUSE_MASTER_KEY to the key the instance was created with"
        );
    }
    Ok(())
}

/// Makes sure a Backend API key exists: the configured one, or a generated one that is
/// returned so it can be printed once.
pub async fn bootstrap_secret_key(
    store: &Store,
    config: &Config,
    now: i64,
) -> anyhow::Result<Option<String>> {
    if let Some(key) = &config.secret_key {
        let hash = token_hash(key);
        if store.secret_key_by_hash(&hash).await?.is_none() {
            store
                .insert_secret_key(&ids::new_id("sk"), &hash, "configured", now)
                .await
                .ok();
        }
        return Ok(None);
    }
    if store.secret_key_count().await? > 0 {
        return Ok(None);
    }
    // Several processes may start together on a fresh database: one of them generates.
    let marker = ids::new_id("sk");
    if store
        .setting_insert_if_absent("bootstrap_secret_key", &marker)
        .await?
        != marker
    {
        return Ok(None);
    }
    let key = new_secret_key();
    store
        .insert_secret_key(&marker, &token_hash(&key), "bootstrap", now)
        .await?;
    Ok(Some(key))
}

/// A fresh Backend API secret key: `sk_live_` and 43 base62 characters (256 bits).
pub fn new_secret_key() -> String {
    format!("sk_live_{}", random::random_base62(43))
}

/// A database URL with any password removed, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
