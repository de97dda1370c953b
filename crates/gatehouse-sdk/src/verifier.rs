//! [`Verifier`]: checks session tokens without a network round trip.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache::{token_hash, TokenCache};
use crate::claims::Claims;
use crate::error::{ConfigError, Error};
use crate::http_client::HttpClient;
use crate::jwks::{KeySource, RemoteJwks};
use crate::keys::{Algorithm, PublicKey};
use crate::token::{decode_into, parse_header, split};

/// Seconds since the Unix epoch, as the verifier's clock reads it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Verifies Gatehouse session tokens (and any JWT signed by keys it is given).
///
/// Cheap to clone: clones share the keys and the cache. Build one at start-up with
/// [`Verifier::builder`] and hand it to [`with_auth`](crate::with_auth) or
/// [`require_auth`](crate::require_auth), or call [`verify_token`](Self::verify_token).
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    keys: KeySource,
    algorithms: Vec<Algorithm>,
    authorized_parties: Vec<String>,
    skew: i64,
    cache: TokenCache,
    clock: Clock,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("authorized_parties", &self.inner.authorized_parties)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Starts configuring a verifier for tokens issued by `issuer`, the Gatehouse public
    /// URL (for example `https://auth.example.com`). Keys come from
    /// `{issuer}/.well-known/jwks.json` unless [`public_key_pem`](VerifierBuilder::public_key_pem)
    /// or [`jwks_url`](VerifierBuilder::jwks_url) says otherwise.
    pub fn builder(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
            jwks_url: None,
            pem_keys: Vec::new(),
            algorithms: Algorithm::ALL.to_vec(),
            authorized_parties: Vec::new(),
            clock_skew: Duration::from_secs(5),
            cache_capacity: 10_000,
            refetch_interval: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(600),
            http_timeout: Duration::from_secs(5),
            clock: None,
        }
    }

    /// The issuer tokens must name in `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Verifies `token` and returns its claims.
    ///
    /// Checks, in order: size and shape, the header's `alg` against the allow-list, the
    /// key named by `kid` (refetching the JWKS once per refetch interval when it is
    /// unknown), the signature, `exp` and `nbf` with the clock skew, `iss`, and `azp`
    /// against the authorized parties (a token without `azp`, minted for a non-browser
    /// client, passes). A token verified before and not yet expired comes from the cache
    /// without another signature check. The only `await` is a JWKS fetch.
    pub async fn verify_token(&self, token: &str) -> Result<Arc<Claims>, Error> {
        let inner = &*self.inner;
        let parts = split(token)?;
        let earliest_valid_exp = (inner.clock)() - inner.skew;
        let hash = token_hash(token);
        if let Some(claims) = inner.cache.get(&hash, earliest_valid_exp) {
            return Ok(claims);
        }

        let mut header_json = Vec::with_capacity(parts.header.len());
        decode_into(parts.header, &mut header_json, "header is not base64url")?;
        let header = parse_header(&header_json)?;
        let alg = Algorithm::from_name(&header.alg)
            .filter(|alg| inner.algorithms.contains(alg))
            .ok_or_else(|| Error::AlgorithmNotAllowed(header.alg.chars().take(32).collect()))?;
        let mut buffer = Vec::with_capacity(parts.payload.len());
        decode_into(parts.signature, &mut buffer, "signature is not base64url")?;

        let keys = inner.keys.keys_for(header.kid.as_deref()).await?;
        let key = select_key(&keys, header.kid.as_deref()).ok_or(Error::UnknownKey)?;
        if key.alg != alg {
            return Err(Error::AlgorithmMismatch);
        }
        if !key.verify(parts.signing_input.as_bytes(), &buffer) {
            return Err(Error::InvalidSignature);
        }

        decode_into(parts.payload, &mut buffer, "payload is not base64url")?;
        let claims = Claims::parse(buffer).map_err(Error::InvalidClaims)?;
        let now = earliest_valid_exp + inner.skew;
        self.check_claims(&claims, now)?;
        let claims = Arc::new(claims);
        inner.cache.insert(hash, claims.clone(), earliest_valid_exp);
        Ok(claims)
    }

    fn check_claims(&self, claims: &Claims, now: i64) -> Result<(), Error> {
        let inner = &*self.inner;
        if claims.exp <= now - inner.skew {
            return Err(Error::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + inner.skew) {
            return Err(Error::NotYetValid);
        }
        if claims.iss.trim_end_matches('/') != inner.issuer {
            return Err(Error::InvalidIssuer);
        }
        if let Some(azp) = &claims.azp {
            if !inner.authorized_parties.is_empty()
                && !inner.authorized_parties.iter().any(|party| party == azp)
            {
                return Err(Error::UnauthorizedParty);
            }
        }
        Ok(())
    }

    /// Fetches the JWKS now rather than on the first request, so that a backend can fail
    /// at start-up when the issuer is unreachable. Does nothing for PEM keys.
    pub async fn prefetch(&self) -> Result<(), Error> {
        match &self.inner.keys {
            KeySource::Fixed(_) => Ok(()),
            KeySource::Remote(remote) => remote.refresh().await,
        }
    }
}

/// Configures a [`Verifier`]; see [`Verifier::builder`].
#[must_use]
pub struct VerifierBuilder {
    issuer: String,
    jwks_url: Option<String>,
    pem_keys: Vec<(String, Algorithm)>,
    algorithms: Vec<Algorithm>,
    authorized_parties: Vec<String>,
    clock_skew: Duration,
    cache_capacity: usize,
    refetch_interval: Duration,
    refresh_interval: Duration,
    http_timeout: Duration,
    clock: Option<Clock>,
}

impl VerifierBuilder {
    /// Fetch keys from this URL instead of `{issuer}/.well-known/jwks.json`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Verify with this PEM public key (`-----BEGIN PUBLIC KEY-----`) for `alg` instead
    /// of a JWKS: no network at all. May be given several times (key rollover); tokens
    /// then need no `kid` only when there is exactly one key.
    pub fn public_key_pem(mut self, pem: impl Into<String>, alg: Algorithm) -> Self {
        self.pem_keys.push((pem.into(), alg));
        self
    }

    /// The `azp` values (browser Origins, such as `https://app.example.com`) accepted.
    /// Without any, every `azp` is accepted and a warning is logged once at build time.
    pub fn authorized_parties<I, S>(mut self, parties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorized_parties = parties.into_iter().map(Into::into).collect();
        self
    }

    /// Tolerance for `exp` and `nbf` (default 5 s, at most 5 minutes).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The algorithms accepted (default RS256, ES256 and EdDSA). `none` and HMAC cannot
    /// be allowed.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How many verified tokens to remember (default 10,000; 0 turns the cache off).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// A token with an unknown `kid` refetches the JWKS at most this often (default 30 s).
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// The JWKS is refetched in the background this often (default 10 minutes).
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Limit for one JWKS fetch, connection included (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Replaces the system clock (seconds since the Unix epoch), for tests.
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the configuration. Keys are fetched on first use (or by
    /// [`Verifier::prefetch`]).
    pub fn build(self) -> Result<Verifier, ConfigError> {
        let issuer = self.issuer.trim_end_matches('/').to_string();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(ConfigError(format!(
                "the issuer must be an http(s) URL, got {issuer:?}"
            )));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError("at least one algorithm must be allowed".into()));
        }
        if self.clock_skew > Duration::from_secs(300) {
            return Err(ConfigError(
                "the clock skew must be at most 5 minutes".into(),
            ));
        }
        if self.refetch_interval.is_zero() || self.refresh_interval.is_zero() {
            return Err(ConfigError("JWKS intervals must be positive".into()));
        }
        let keys = if self.pem_keys.is_empty() {
            let url = self
                .jwks_url
                .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
            KeySource::Remote(RemoteJwks::new(
                url,
                HttpClient::new(self.http_timeout),
                self.refetch_interval,
                self.refresh_interval,
            ))
        } else {
            let keys = self
                .pem_keys
                .iter()
                .map(|(pem, alg)| PublicKey::from_pem(pem, *alg))
                .collect::<Result<Vec<_>, _>>()?;
            KeySource::Fixed(keys.into())
        };
        if self.authorized_parties.is_empty() {
            tracing::warn!(
                issuer,
                "no authorized parties configured: tokens minted for any origin are accepted"
            );
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                issuer,
                keys,
                algorithms: self.algorithms,
                authorized_parties: self.authorized_parties,
                skew: self.clock_skew.as_secs() as i64,
                cache: TokenCache::new(self.cache_capacity),
                clock: self.clock.unwrap_or_else(|| Arc::new(system_now)),
            }),
        })
    }
}

/// The key named by `kid`; a single key without a `kid` of its own (a PEM key) verifies
/// any token, and a token without `kid` needs a single key.
fn select_key<'k>(keys: &'k [PublicKey], kid: Option<&str>) -> Option<&'k PublicKey> {
    if let Some(kid) = kid {
        if let Some(key) = keys.iter().find(|key| key.kid.as_deref() == Some(kid)) {
            return Some(key);
        }
    }
    match keys {
        [only] if kid.is_none() || only.kid.is_none() => Some(only),
        _ => None,
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}
