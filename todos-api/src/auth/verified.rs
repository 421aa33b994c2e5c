//! Access tokens whose signature has verified, remembered per isolate.
//!
//! A client sends the same access token on every call for the token's lifetime, and checking its
//! RS256 signature again proves nothing new: the decoding, the WebCrypto call and the promise it
//! costs are paid once per token and isolate. Only what is fixed by the token's bytes is kept
//! (the decoded claims, the signature's verdict); what depends on the moment is decided again on
//! every use: the claims are checked anew (`exp`, `nbf`, `iss`, `aud`, `sub`), so a remembered
//! token is refused the second an unremembered one would be.
//!
//! The rules:
//! - an entry is made only after the signature verified and the claims passed, so a forged or
//!   refused token never enters: what an attacker sends cannot fill or poison the cache;
//! - the key is the whole token, compared in full (a tampered payload or signature is another
//!   key, and goes through the full check);
//! - an entry holds the `kid` and key-set generation it was verified under (`jwks`), and counts
//!   only while that `kid` is usable in that same generation: once the key set is refreshed (a
//!   key rotated or retired at the issuer, at the latest after `jwks::KEY_SET_MAX_AGE_MS`), the
//!   token is verified again against the keys of the new set;
//! - at most [`CAPACITY`] entries; a full cache drops the expired entries, then the oldest.

use std::rc::Rc;

/// Tokens remembered per isolate: room for every token a busy isolate sees in an hour of a few
/// hundred users, a few hundred KB at most.
pub const CAPACITY: usize = 512;

/// The cache, generic over what is remembered so that its rules run in host tests. A `Vec` in
/// the order the tokens entered, searched by a 64-bit fingerprint and then compared in full: at
/// this size the search costs about a microsecond, and a map type would add its own code to the
/// module (a `HashMap` 4 KB gzip, a `BTreeMap` of this entry type more).
#[derive(Debug)]
pub struct VerifiedCache<T> {
    entries: Vec<Entry<T>>,
    capacity: usize,
}

#[derive(Debug)]
struct Entry<T> {
    fingerprint: u64,
    token: String,
    value: Rc<T>,
    kid: String,
    generation: u64,
    /// Seconds since the epoch after which no check can accept the token any more.
    expires_at: i64,
}

/// FNV-1a: a fast filter before the full comparison (not a security boundary: a collision only
/// costs one more string comparison).
fn fingerprint(token: &str) -> u64 {
    token.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl<T> VerifiedCache<T> {
    /// An empty cache holding at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    fn position(&self, token: &str) -> Option<usize> {
        let wanted = fingerprint(token);
        self.entries
            .iter()
            .position(|entry| entry.fingerprint == wanted && entry.token == token)
    }

    /// What was remembered for `token`, if it was verified under the generation that
    /// `usable_generation` reports for its `kid` now (`None`: the key is gone or due for a
    /// refresh, so the token must be verified again).
    pub fn get(
        &self,
        token: &str,
        usable_generation: impl FnOnce(&str) -> Option<u64>,
    ) -> Option<Rc<T>> {
        let entry = &self.entries[self.position(token)?];
        (usable_generation(&entry.kid) == Some(entry.generation)).then(|| Rc::clone(&entry.value))
    }

    /// Remembers `token`, whose signature verified with the key `kid` of key-set `generation`
    /// and whose claims passed, until `expires_at` (seconds). `now` decides which entries have
    /// expired when room must be made.
    pub fn insert(
        &mut self,
        token: &str,
        value: Rc<T>,
        kid: &str,
        generation: u64,
        expires_at: i64,
        now: i64,
    ) {
        if let Some(at) = self.position(token) {
            // Verified again under a new generation: same place in the eviction order.
            let known = &mut self.entries[at];
            known.value = value;
            known.kid = kid.to_owned();
            known.generation = generation;
            known.expires_at = expires_at;
            return;
        }
        if self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.push(Entry {
            fingerprint: fingerprint(token),
            token: token.to_owned(),
            value,
            kid: kid.to_owned(),
            generation,
            expires_at,
        });
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops the expired entries, then the oldest (the front) until one more fits.
    fn make_room(&mut self, now: i64) {
        self.entries.retain(|entry| entry.expires_at >= now);
        let excess = (self.entries.len() + 1).saturating_sub(self.capacity);
        self.entries.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn usable(generation: u64) -> impl Fn(&str) -> Option<u64> {
        move |kid| (kid == "k1").then_some(generation)
    }

    #[test]
    fn a_token_is_found_only_while_its_key_is_usable_in_the_generation_it_was_verified_under() {
        let mut cache = VerifiedCache::new(4);
        cache.insert("a.b.c", Rc::new(1), "k1", 7, NOW + 60, NOW);
        assert_eq!(cache.get("a.b.c", usable(7)).as_deref(), Some(&1));
        // The key set was refreshed: verify again.
        assert_eq!(cache.get("a.b.c", usable(8)), None);
        // The key is gone or due for a refresh.
        assert_eq!(cache.get("a.b.c", |_| None), None);
        // Verified again under the new generation: found again.
        cache.insert("a.b.c", Rc::new(2), "k1", 8, NOW + 60, NOW);
        assert_eq!(cache.get("a.b.c", usable(8)).as_deref(), Some(&2));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn tokens_are_compared_whole() {
        let mut cache = VerifiedCache::new(4);
        cache.insert("h.p.sig", Rc::new(1), "k1", 1, NOW + 60, NOW);
        for other in ["h.p.si", "h.p.sigX", "h.P.sig", "H.p.sig", ""] {
            assert_eq!(cache.get(other, usable(1)), None, "{other}");
        }
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_before_the_oldest() {
        let mut cache = VerifiedCache::new(3);
        cache.insert("old", Rc::new(1), "k1", 1, NOW + 600, NOW);
        cache.insert("expired", Rc::new(2), "k1", 1, NOW - 1, NOW);
        cache.insert("new", Rc::new(3), "k1", 1, NOW + 600, NOW);
        cache.insert("newest", Rc::new(4), "k1", 1, NOW + 600, NOW);
        assert_eq!(cache.len(), 3);
        assert!(cache.get("expired", usable(1)).is_none());
        for kept in ["old", "new", "newest"] {
            assert!(cache.get(kept, usable(1)).is_some(), "{kept}");
        }
    }

    #[test]
    fn a_full_cache_of_live_tokens_drops_the_oldest() {
        let mut cache = VerifiedCache::new(2);
        cache.insert("first", Rc::new(1), "k1", 1, NOW + 600, NOW);
        cache.insert("second", Rc::new(2), "k1", 1, NOW + 600, NOW);
        // Verified again: it keeps its place (still the oldest).
        cache.insert("first", Rc::new(1), "k1", 2, NOW + 600, NOW);
        cache.insert("third", Rc::new(3), "k1", 1, NOW + 600, NOW);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("first", usable(2)).is_none());
        assert!(cache.get("second", usable(1)).is_some());
        assert!(cache.get("third", usable(1)).is_some());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let mut cache = VerifiedCache::new(8);
        for i in 0..100 {
            cache.insert(&format!("t{i}"), Rc::new(i), "k1", 1, NOW + 600, NOW);
            assert!(cache.len() <= 8);
        }
        assert!(cache.get("t99", usable(1)).is_some());
        assert!(cache.get("t91", usable(1)).is_none());
    }
}
