//! Bearer tokens already checked, remembered per isolate.
//!
//! Both workers see the same access token on every call a client makes during the token's
//! lifetime, and both pay for its check: the ToDos API an RS256 signature, the MCP worker the
//! OAuth library's KV read and decryption of the grant's props. This table holds what such a check
//! concluded, keyed by the whole token. What an entry is worth, and for how long, is the caller's
//! policy (`todos-api/src/auth/verified.rs`, `src/token_memo.rs`); the table only keeps:
//!
//! - entries made by the caller after a check passed, so what an attacker sends cannot fill or
//!   poison it;
//! - the whole token as the key, compared in full and in constant time (a token differing in any
//!   byte is another key);
//! - a deadline per entry after which [`TokenCache::get`] no longer answers it;
//! - at most `capacity` entries: a full table drops the entries past their deadline, then the
//!   oldest.
//!
//! A `Vec` in the order the tokens entered, searched by a 64-bit fingerprint and then compared in
//! full: at a few hundred entries the search costs about a microsecond, and a map type would add
//! its own code to each Wasm module (a `HashMap` 4 KB gzip, a `BTreeMap` more).

use std::rc::Rc;

/// The tokens remembered, with what the caller concluded about each (`T`).
#[derive(Debug)]
pub struct TokenCache<T> {
    entries: Vec<Entry<T>>,
    capacity: usize,
}

struct Entry<T> {
    fingerprint: u64,
    token: Box<str>,
    value: Rc<T>,
    /// Seconds since the epoch after which the entry is not answered.
    until: i64,
}

/// Written by hand so that a token never reaches a log through `{:?}`.
impl<T: std::fmt::Debug> std::fmt::Debug for Entry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("token", &"[redacted]")
            .field("value", &self.value)
            .field("until", &self.until)
            .finish()
    }
}

/// FNV-1a: a fast filter before the full comparison (not a security boundary: a collision only
/// costs one more comparison).
fn fingerprint(token: &str) -> u64 {
    token.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only: how much of a
/// remembered token a guess matches must not show in how long the lookup takes.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |differ, (x, y)| differ | (x ^ y))
            == 0
}

impl<T> TokenCache<T> {
    /// An empty table holding at most `capacity` tokens.
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
            .position(|entry| entry.fingerprint == wanted && same_token(&entry.token, token))
    }

    /// What was remembered for `token`, unless its deadline has passed at `now` (seconds).
    pub fn get(&self, token: &str, now: i64) -> Option<Rc<T>> {
        let entry = &self.entries[self.position(token)?];
        (now <= entry.until).then(|| Rc::clone(&entry.value))
    }

    /// Remembers `value` for `token` until `until` (seconds; inclusive). A token already there is
    /// updated in place and keeps its place in the eviction order. `now` decides which entries
    /// are past their deadline when room must be made.
    pub fn insert(&mut self, token: &str, value: Rc<T>, until: i64, now: i64) {
        if let Some(at) = self.position(token) {
            let known = &mut self.entries[at];
            known.value = value;
            known.until = until;
            return;
        }
        if self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.push(Entry {
            fingerprint: fingerprint(token),
            token: token.into(),
            value,
            until,
        });
    }

    /// Forgets every token.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops the entries past their deadline, then the oldest (the front) until one more fits.
    fn make_room(&mut self, now: i64) {
        self.entries.retain(|entry| entry.until >= now);
        let excess = (self.entries.len() + 1).saturating_sub(self.capacity);
        self.entries.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_token_is_answered_until_its_deadline_and_not_after() {
        let mut cache = TokenCache::new(4);
        cache.insert("a.b.c", Rc::new(1), NOW + 60, NOW);
        assert_eq!(cache.get("a.b.c", NOW).as_deref(), Some(&1));
        assert_eq!(cache.get("a.b.c", NOW + 60).as_deref(), Some(&1));
        assert_eq!(cache.get("a.b.c", NOW + 61), None);
    }

    #[test]
    fn tokens_are_compared_whole() {
        let mut cache = TokenCache::new(4);
        cache.insert("h.p.sig", Rc::new(1), NOW + 60, NOW);
        for other in ["h.p.si", "h.p.sigX", "h.P.sig", "H.p.sig", "h.p.siG", ""] {
            assert_eq!(cache.get(other, NOW), None, "{other}");
        }
        assert!(same_token("h.p.sig", "h.p.sig"));
        assert!(!same_token("h.p.sig", "h.p.sih"));
        assert!(!same_token("h.p.sig", "h.p.sig "));
    }

    #[test]
    fn inserting_a_known_token_updates_it_in_place() {
        let mut cache = TokenCache::new(2);
        cache.insert("first", Rc::new(1), NOW + 600, NOW);
        cache.insert("second", Rc::new(2), NOW + 600, NOW);
        cache.insert("first", Rc::new(10), NOW + 900, NOW);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("first", NOW + 700).as_deref(), Some(&10));
        // It kept its place: still the oldest, so the first to go.
        cache.insert("third", Rc::new(3), NOW + 600, NOW);
        assert!(cache.get("first", NOW).is_none());
        assert!(cache.get("second", NOW).is_some());
        assert!(cache.get("third", NOW).is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_before_the_oldest() {
        let mut cache = TokenCache::new(3);
        cache.insert("old", Rc::new(1), NOW + 600, NOW);
        cache.insert("expired", Rc::new(2), NOW - 1, NOW);
        cache.insert("new", Rc::new(3), NOW + 600, NOW);
        cache.insert("newest", Rc::new(4), NOW + 600, NOW);
        assert_eq!(cache.len(), 3);
        for kept in ["old", "new", "newest"] {
            assert!(cache.get(kept, NOW).is_some(), "{kept}");
        }
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let mut cache = TokenCache::new(8);
        for i in 0..100 {
            cache.insert(&format!("t{i}"), Rc::new(i), NOW + 600, NOW);
            assert!(cache.len() <= 8);
        }
        assert!(cache.get("t99", NOW).is_some());
        assert!(cache.get("t91", NOW).is_none());
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let mut cache = TokenCache::new(2);
        cache.insert("secret-token-value", Rc::new(1), NOW + 60, NOW);
        assert!(!format!("{cache:?}").contains("secret-token-value"));
    }

    #[test]
    fn clear_forgets_every_token() {
        let mut cache = TokenCache::new(8);
        cache.insert("u1:g1:a", Rc::new(1), NOW + 600, NOW);
        cache.insert("u2:g3:c", Rc::new(3), NOW + 600, NOW);
        cache.clear();
        assert!(cache.is_empty());
    }
}
