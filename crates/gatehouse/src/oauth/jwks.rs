//! A provider's signing keys, fetched from its JWKS when first needed, kept, and fetched
//! again when a token names a key id not among them (a rotation) — at most once a
//! minute, so tokens with made-up key ids cannot make us hammer the provider.

use std::future::Future;

use serde_json::Value;
use tokio::sync::Mutex;

use super::OAuthError;
use crate::crypto::jws::VerifyingKey;

/// The shortest time between two fetches prompted by an unknown key id.
const REFETCH_INTERVAL_MS: i64 = 60 * 1000;
/// Keys are fetched again after this even when every token finds its key.
const MAX_AGE_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Default)]
pub struct JwksCache {
    inner: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    keys: Vec<VerifyingKey>,
    fetched_at: i64,
}

impl JwksCache {
    /// The keys to verify a token whose header names `kid`: the cached ones, or freshly
    /// fetched ones when none are cached, they are old, or `kid` is unknown and the
    /// last fetch is more than a minute ago.
    pub async fn keys_for<F, Fut>(
        &self,
        kid: Option<&str>,
        now: i64,
        fetch: F,
    ) -> Result<Vec<VerifyingKey>, OAuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, OAuthError>>,
    {
        let mut cached = self.inner.lock().await;
        let stale = match cached.as_ref() {
            None => true,
            Some(c) => {
                let unknown = kid.is_some_and(|k| !c.keys.iter().any(|key| key.kid() == Some(k)));
                now - c.fetched_at >= MAX_AGE_MS
                    || (unknown && now - c.fetched_at >= REFETCH_INTERVAL_MS)
            }
        };
        if stale {
            match fetch().await {
                Ok(doc) => {
                    *cached = Some(Cached {
                        keys: parse_jwks(&doc)?,
                        fetched_at: now,
                    })
                }
                // Keep serving the keys we have if the provider is briefly away.
                Err(e) if cached.is_none() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "could not refresh a provider's JWKS"),
            }
        }
        Ok(cached.as_ref().map(|c| c.keys.clone()).unwrap_or_default())
    }
}

/// The usable signing keys of a JWKS document; keys we cannot use (encryption keys,
/// other algorithms) are skipped.
pub fn parse_jwks(doc: &Value) -> Result<Vec<VerifyingKey>, OAuthError> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| OAuthError::new("jwks", "the document has no keys"))?;
    Ok(keys
        .iter()
        .filter_map(|k| VerifyingKey::from_jwk(k).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jws::{Algorithm, SigningKey};
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn jwks(keys: &[&SigningKey]) -> Value {
        json!({"keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()})
    }

    #[tokio::test]
    async fn refetches_on_an_unknown_kid_at_most_once_a_minute() {
        let a = SigningKey::generate(Algorithm::ES256, "a".into()).unwrap();
        let b = SigningKey::generate(Algorithm::ES256, "b".into()).unwrap();
        let cache = JwksCache::default();
        let fetches = AtomicUsize::new(0);
        let served = std::sync::Mutex::new(jwks(&[&a]));
        let fetch = || {
            fetches.fetch_add(1, Ordering::SeqCst);
            let doc = served.lock().unwrap().clone();
            async move { Ok(doc) }
        };
        let keys = cache.keys_for(Some("a"), 0, fetch).await.unwrap();
        assert_eq!(keys.len(), 1);
        cache.keys_for(Some("a"), 1000, fetch).await.unwrap();
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "a known kid is served from the cache"
        );
        // The provider rotates to b.
        *served.lock().unwrap() = jwks(&[&a, &b]);
        let keys = cache.keys_for(Some("b"), 2000, fetch).await.unwrap();
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "not within a minute of the last fetch"
        );
        assert!(keys.iter().all(|k| k.kid() != Some("b")));
        let keys = cache.keys_for(Some("b"), 61_000, fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        assert!(keys.iter().any(|k| k.kid() == Some("b")));
        // Made-up kids do not make it fetch again within the minute.
        for t in 0..10 {
            cache
                .keys_for(Some("zzz"), 62_000 + t, fetch)
                .await
                .unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let a = SigningKey::generate(Algorithm::RS256, "a".into()).unwrap();
        let doc = json!({"keys": [a.public_jwk(), {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}, {"kty": "oct", "k": "AAAA"}]});
        assert_eq!(parse_jwks(&doc).unwrap().len(), 1);
        assert!(parse_jwks(&json!({"nokeys": []})).is_err());
    }
}
