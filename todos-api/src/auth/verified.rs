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
//!   key, and goes through the full check); the table is the workspace's `token-cache`;
//! - an entry holds the `kid` and key-set generation it was verified under (`jwks`), and counts
//!   only while that `kid` is usable in that same generation: once the key set is refreshed (a
//!   key rotated or retired at the issuer, at the latest after `jwks::KEY_SET_MAX_AGE_MS`), the
//!   token is verified again against the keys of the new set;
//! - at most [`CAPACITY`] entries; a full cache drops the expired entries, then the oldest.

use std::rc::Rc;

use token_cache::TokenCache;

/// Tokens remembered per isolate: room for every token a busy isolate sees in an hour of a few
/// hundred users, a few hundred KB at most.
pub const CAPACITY: usize = 512;

/// The verified tokens, generic over what is remembered so that its rules run in host tests.
/// The table itself (whole-token keys, deadlines, eviction) is the workspace's `token-cache`.
#[derive(Debug)]
pub struct VerifiedCache<T> {
    table: TokenCache<Verified<T>>,
}

/// One verified token: what was concluded, and the key it was verified with.
#[derive(Debug)]
struct Verified<T> {
    value: Rc<T>,
    kid: String,
    generation: u64,
}

impl<T> VerifiedCache<T> {
    /// An empty cache holding at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            table: TokenCache::new(capacity),
        }
    }

    /// What was remembered for `token`, if no check could have accepted it later than `now` is
    /// not yet passed, and it was verified under the generation that `usable_generation` reports
    /// for its `kid` now (`None`: the key is gone or due for a refresh, so the token must be
    /// verified again).
    pub fn get(
        &self,
        token: &str,
        now: i64,
        usable_generation: impl FnOnce(&str) -> Option<u64>,
    ) -> Option<Rc<T>> {
        let entry = self.table.get(token, now)?;
        (usable_generation(&entry.kid) == Some(entry.generation)).then(|| Rc::clone(&entry.value))
    }

    /// Remembers `token`, whose signature verified with the key `kid` of key-set `generation`
    /// and whose claims passed, until `expires_at` (seconds: after it no check can accept the
    /// token). Verified again under a new generation, it keeps its place in the eviction order.
    pub fn insert(
        &mut self,
        token: &str,
        value: Rc<T>,
        kid: &str,
        generation: u64,
        expires_at: i64,
        now: i64,
    ) {
        let verified = Verified {
            value,
            kid: kid.to_owned(),
            generation,
        };
        self.table.insert(token, Rc::new(verified), expires_at, now);
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
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
        assert_eq!(cache.get("a.b.c", NOW, usable(7)).as_deref(), Some(&1));
        // The key set was refreshed: verify again.
        assert_eq!(cache.get("a.b.c", NOW, usable(8)), None);
        // The key is gone or due for a refresh.
        assert_eq!(cache.get("a.b.c", NOW, |_| None), None);
        // Verified again under the new generation: found again.
        cache.insert("a.b.c", Rc::new(2), "k1", 8, NOW + 60, NOW);
        assert_eq!(cache.get("a.b.c", NOW, usable(8)).as_deref(), Some(&2));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_token_is_not_answered_past_the_time_no_check_could_accept_it() {
        let mut cache = VerifiedCache::new(4);
        cache.insert("a.b.c", Rc::new(1), "k1", 7, NOW + 60, NOW);
        assert!(cache.get("a.b.c", NOW + 60, usable(7)).is_some());
        assert!(cache.get("a.b.c", NOW + 61, usable(7)).is_none());
    }
}
