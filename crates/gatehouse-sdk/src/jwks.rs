//! Where verification keys come from: fixed keys given in code, or the issuer's JWKS
//! fetched once, cached, refreshed in the background and refetched (rate limited) when a
//! token names a key the cache does not hold.

use std::sync::{Arc, Once, RwLock, Weak};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use crate::error::Error;
use crate::http_client::HttpClient;
use crate::keys::{parse_jwks, PublicKey};

/// With no keys cached, a failed fetch is retried at most this often.
const NO_KEYS_RETRY: Duration = Duration::from_secs(1);

pub(crate) type KeySet = Arc<[PublicKey]>;

pub(crate) enum KeySource {
    Fixed(KeySet),
    Remote(Arc<RemoteJwks>),
}

impl KeySource {
    /// The key set to verify a token with `kid`: the cached one, or a freshly fetched
    /// one when nothing is cached yet or `kid` is unknown and the last fetch is older
    /// than the refetch interval.
    pub(crate) async fn keys_for(&self, kid: Option<&str>) -> Result<KeySet, Error> {
        match self {
            Self::Fixed(keys) => Ok(keys.clone()),
            Self::Remote(remote) => remote.keys_for(kid).await,
        }
    }
}

pub(crate) struct RemoteJwks {
    url: String,
    client: HttpClient,
    keys: RwLock<Option<KeySet>>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<FetchTimes>,
    refresh_started: Once,
    refetch_interval: Duration,
    refresh_interval: Duration,
}

#[derive(Default)]
struct FetchTimes {
    /// The last fetch of any kind.
    any: Option<Instant>,
    /// The last fetch made for an unknown `kid` (the initial and background fetches do
    /// not count, so a rotation right after start-up is picked up at once).
    unknown_kid: Option<Instant>,
}

impl RemoteJwks {
    pub(crate) fn new(
        url: String,
        client: HttpClient,
        refetch_interval: Duration,
        refresh_interval: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            url,
            client,
            keys: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(FetchTimes::default()),
            refresh_started: Once::new(),
            refetch_interval,
            refresh_interval,
        })
    }

    fn cached(&self) -> Option<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn keys_for(self: &Arc<Self>, kid: Option<&str>) -> Result<KeySet, Error> {
        if let Some(keys) = self.cached() {
            if holds(&keys, kid) {
                return Ok(keys);
            }
        }
        let mut times = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let cached = self.cached();
        match &cached {
            Some(keys) if holds(keys, kid) => return Ok(keys.clone()),
            Some(keys) => {
                if times
                    .unknown_kid
                    .is_some_and(|at| at.elapsed() < self.refetch_interval)
                {
                    return Ok(keys.clone());
                }
                times.unknown_kid = Some(Instant::now());
            }
            None => {
                if times.any.is_some_and(|at| at.elapsed() < NO_KEYS_RETRY) {
                    // Nothing cached and the last fetch failed moments ago: do not hammer it.
                    return Err(Error::KeysUnavailable(format!(
                        "fetching {} failed less than {NO_KEYS_RETRY:?} ago",
                        self.url
                    )));
                }
            }
        }
        times.any = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                self.store(keys.clone());
                Ok(keys)
            }
            Err(why) => {
                tracing::warn!(url = %self.url, %why, "fetching the JWKS failed");
                // Cached keys keep verifying while the JWKS is unreachable.
                cached.ok_or(Error::KeysUnavailable(why))
            }
        }
    }

    /// Fetches now, whatever the rate limits (the background refresh and `prefetch`).
    pub(crate) async fn refresh(self: &Arc<Self>) -> Result<(), Error> {
        let mut times = self.fetching.lock().await;
        times.any = Some(Instant::now());
        let keys = self.fetch().await.map_err(Error::KeysUnavailable)?;
        self.store(keys);
        Ok(())
    }

    fn store(self: &Arc<Self>, keys: KeySet) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(keys);
        self.refresh_started.call_once(|| self.spawn_refresh());
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .client
            .send(
                Method::GET,
                &self.url,
                &[("accept", "application/json")],
                None,
            )
            .await?;
        if response.status != StatusCode::OK {
            return Err(format!("{} answered {}", self.url, response.status));
        }
        Ok(parse_jwks(&response.body)?.into())
    }

    /// Refreshes every `refresh_interval` for as long as the verifier lives.
    fn spawn_refresh(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        let interval = self.refresh_interval;
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(jwks) = weak.upgrade() else { return };
                if let Err(why) = jwks.refresh().await {
                    tracing::warn!(url = %jwks.url, %why, "refreshing the JWKS failed; keeping the cached keys");
                }
            }
        });
    }
}

/// Whether `keys` can verify a token with `kid` (without a kid: exactly one key).
fn holds(keys: &[PublicKey], kid: Option<&str>) -> bool {
    match kid {
        Some(kid) => keys.iter().any(|key| key.kid.as_deref() == Some(kid)),
        None => keys.len() == 1,
    }
}
