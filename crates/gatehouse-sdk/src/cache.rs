//! A bounded cache of already-verified tokens, keyed by the SHA-256 of the token (the
//! token itself is never kept) and honouring each token's `exp`.
//!
//! A page load that fires twenty API calls with the same token pays for one signature
//! check; a hit costs a hash, a lock and an `Arc` clone, and allocates nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{digest, SHA256};

use crate::claims::Claims;

const SHARDS: usize = 16;

pub(crate) type TokenHash = [u8; 32];

pub(crate) fn token_hash(token: &str) -> TokenHash {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    hash
}

pub(crate) struct TokenCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

type Shard = HashMap<TokenHash, Arc<Claims>, BuildHasherDefault<FirstBytes>>;

impl TokenCache {
    /// `capacity` 0 disables caching.
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard::with_capacity_and_hasher(
                    per_shard,
                    Default::default(),
                ))
            })
            .collect();
        Self { shards, per_shard }
    }

    /// The claims of a token verified before whose `exp` is still after
    /// `now_minus_skew` (the verifier's clock minus its skew).
    pub(crate) fn get(&self, hash: &TokenHash, now_minus_skew: i64) -> Option<Arc<Claims>> {
        if self.per_shard == 0 {
            return None;
        }
        let shard = self.shard(hash).lock().unwrap_or_else(|e| e.into_inner());
        shard
            .get(hash)
            .filter(|claims| claims.exp > now_minus_skew)
            .cloned()
    }

    pub(crate) fn insert(&self, hash: TokenHash, claims: Arc<Claims>, now_minus_skew: i64) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(&hash).lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            shard.retain(|_, cached| cached.exp > now_minus_skew);
        }
        if shard.len() >= self.per_shard {
            // Still full of live tokens: drop an arbitrary eighth (hash order is random).
            let drop: Vec<TokenHash> = shard.keys().take(self.per_shard / 8 + 1).copied().collect();
            for key in drop {
                shard.remove(&key);
            }
        }
        shard.insert(hash, claims);
    }

    fn shard(&self, hash: &TokenHash) -> &Mutex<Shard> {
        &self.shards[hash[31] as usize % SHARDS]
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

/// The key is already a uniform hash: its first eight bytes are a fine `u64` hash.
#[derive(Default)]
struct FirstBytes(u64);

impl Hasher for FirstBytes {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 |= (*b as u64) << (8 * i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        let json = format!(r#"{{"iss":"i","sub":"s","exp":{exp}}}"#);
        Arc::new(Claims::parse(json.into_bytes()).unwrap())
    }

    #[test]
    fn hits_until_the_token_expires() {
        let cache = TokenCache::new(100);
        let hash = token_hash("a.b.c");
        cache.insert(hash, claims(100), 50);
        assert!(cache.get(&hash, 99).is_some());
        assert!(cache.get(&hash, 100).is_none());
        assert!(cache.get(&token_hash("a.b.d"), 0).is_none());
    }

    #[test]
    fn stays_within_its_capacity() {
        let cache = TokenCache::new(64);
        for i in 0..10_000 {
            cache.insert(token_hash(&i.to_string()), claims(1_000), 0);
        }
        assert!(cache.len() <= 64, "{}", cache.len());
    }

    #[test]
    fn expired_entries_make_room_first() {
        let cache = TokenCache::new(16);
        for i in 0..16 {
            cache.insert(token_hash(&i.to_string()), claims(10), 0);
        }
        let live = token_hash("live");
        cache.insert(live, claims(1_000), 20);
        assert!(cache.get(&live, 20).is_some());
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let cache = TokenCache::new(0);
        let hash = token_hash("a.b.c");
        cache.insert(hash, claims(100), 0);
        assert!(cache.get(&hash, 0).is_none());
    }
}
