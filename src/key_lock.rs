//! One request per key at a time, within this isolate: the token-endpoint requests of one grant,
//! the consent decisions of one consent handle, the callbacks of one upstream `state`.
//!
//! The library keeps grants and pending authorizations in KV, which has no compare-and-swap: it
//! reads, decides, then writes or deletes. Two overlapping requests for the same key both read
//! the old value, so
//! - two refreshes of one grant both present the same upstream refresh token; the identity
//!   provider sees the second as refresh-token reuse (RFC 9700 §4.14.2), revokes the sign-in, and
//!   the worker ends the grant: a client that retries a refresh, or two windows of one app, would
//!   lose the user's session;
//! - one consent handle or one upstream `state` could be used more than once, though both must be
//!   single use (MCP security best practices, confused deputy; RFC 9700 §4.7).
//!
//! Serialising them makes each later request see the earlier one's write. Waiters poll a timer
//! instead of being woken by the holder: in Workers a request must not resume another request's
//! task (its I/O objects belong to it). The lock is per isolate; requests that land on two
//! isolates at the same instant can still race (SECURITY.md, residual risks).

use std::cell::RefCell;
use std::collections::HashSet;
use std::time::Duration;

thread_local! {
    static HELD: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// How often a waiter looks again.
const POLL: Duration = Duration::from_millis(5);
/// After this long a waiter goes ahead unlocked (a stuck holder must not hang every later
/// request; the library's own checks still apply).
const MAX_WAIT: Duration = Duration::from_secs(15);

/// The grant a code or refresh token belongs to: the library's tokens are
/// `<userId>:<grantId>:<secret>`, so the first two segments name the grant. `None` for anything
/// else (the library refuses those without touching a grant).
pub fn grant_key(token: &str) -> Option<String> {
    let mut parts = token.splitn(3, ':');
    let (user, grant, secret) = (parts.next()?, parts.next()?, parts.next()?);
    if user.is_empty() || grant.is_empty() || secret.is_empty() || secret.contains(':') {
        return None;
    }
    Some(format!("grant:{user}:{grant}"))
}

/// Held while one request for a key runs.
pub struct KeyGuard {
    key: Option<String>,
}

fn try_take(key: &str) -> bool {
    HELD.with(|held| held.borrow_mut().insert(key.to_owned()))
}

/// Waits until no other request of this isolate holds `key`, then holds it.
pub async fn lock(key: String) -> KeyGuard {
    let mut waited = Duration::ZERO;
    while !try_take(&key) {
        if waited >= MAX_WAIT {
            crate::log::warning!("lock.timeout", "waited_ms" => waited.as_millis() as u64);
            return KeyGuard { key: None };
        }
        worker::Delay::from(POLL).await;
        waited += POLL;
    }
    KeyGuard { key: Some(key) }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            HELD.with(|held| held.borrow_mut().remove(&key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_key_is_user_and_grant_of_a_library_token() {
        assert_eq!(
            grant_key("alice:g1:secret").as_deref(),
            Some("grant:alice:g1")
        );
        assert_eq!(
            grant_key("urn%3Ax:g1:s3cr3t").as_deref(),
            Some("grant:urn%3Ax:g1")
        );
        for bad in ["", "abc", "a:b", "a::c", ":b:c", "a:b:", "a:b:c:d"] {
            assert_eq!(grant_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_key_is_held_once_and_free_again_when_its_guard_drops() {
        assert!(try_take("k"));
        assert!(!try_take("k"), "a held key cannot be taken twice");
        drop(KeyGuard {
            key: Some("k".into()),
        });
        assert!(try_take("k"));
        drop(KeyGuard {
            key: Some("k".into()),
        });
    }
}
