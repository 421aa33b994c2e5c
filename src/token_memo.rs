//! Access tokens the OAuth library accepted on `/mcp` and `/sse`, remembered per isolate for a
//! few seconds.
//!
//! An MCP client sends the same access token on every call, and the library checks it afresh each
//! time: a KV read of the token record (a network round trip when deployed), then the grant's
//! props unwrapped with a key derived from the token and decrypted (WebCrypto). For a few seconds
//! after one such check, this isolate answers the same token from memory, with the props and
//! token facts the check produced ([`Caller`]).
//!
//! The rules (SECURITY.md: the attacks on remembered tokens, and the residual risk they leave):
//! - an entry is made only in `api_fetch`, which the library calls after it accepted the token for
//!   this resource (found, not expired, bound to this origin: RFC 6750 §3.1, RFC 8707 §2), so
//!   what an attacker sends cannot enter the memo;
//! - the key is the whole bearer token, read from `Authorization` exactly as the library reads it
//!   ([`bearer_token`]), compared in full (the workspace's `token-cache`);
//! - an entry answers only requests to the origin it was accepted on (the library's audience
//!   check compares the request's origin with the token's audience);
//! - an entry answers until the earlier of the token's own expiry (the library refuses a token
//!   after its `expiresAt`) and `ACCESS_TOKEN_MEMO_SECONDS` after the check (default 30, at most
//!   60: Workers KV may itself show a deletion in other locations up to 60 s late, so a revoked
//!   token is never usable longer than KV alone allows. RFC 7009 §2.1 allows such a
//!   propagation delay and asks implementations to keep it short; RFC 7662 §4 weighs caching a
//!   token's check against revocation the same way, never past the token's expiry);
//! - every event in this isolate that may revoke a token forgets the whole memo at once
//!   ([`forget_all`]): any `POST /token` (RFC 7009 revocation, a replayed code, the upstream
//!   `invalid_grant` that ends a grant), `/callback` (the library may revoke the client's
//!   earlier grants), a revocation from `/account` or the operators' API, the purge;
//! - a check that began before such an event is not remembered when it ends after it: each
//!   forgetting starts a new epoch, a request notes the epoch it arrived in ([`epoch`]), and
//!   [`Memo::remember`] refuses a verdict from an earlier one (the library may have read the token
//!   record just before the revocation deleted it).

use std::cell::RefCell;
use std::rc::Rc;

use token_cache::TokenCache;

use crate::grant::Caller;

/// Tokens remembered per isolate: far more than the clients one isolate serves in a memo's
/// lifetime.
pub const CAPACITY: usize = 256;

/// Longer bearer values are not looked up or remembered: the library's tokens are three short
/// parts (`user:grant:secret`), and fingerprinting a long header on every request buys nothing.
pub const MAX_TOKEN_BYTES: usize = 1024;

/// What one check of the library concluded.
#[derive(Debug)]
pub struct Accepted {
    caller: Rc<Caller>,
    /// `scheme://host[:port]` of the request the token was accepted on.
    origin: String,
}

/// One check by the library that accepted a token.
#[derive(Debug)]
pub struct Check {
    /// Who is calling, as the check found it.
    pub caller: Rc<Caller>,
    /// When the token expires (`ctx.auth.expiresAt`), seconds since the epoch.
    pub expires_at: i64,
    /// When the check was made, seconds since the epoch.
    pub at: i64,
    /// The memo's epoch when the request arrived ([`epoch`]).
    pub arrived_in: u64,
}

/// The memo, apart from the isolate and its clock, so that its rules run in host tests.
#[derive(Debug)]
pub struct Memo {
    table: TokenCache<Accepted>,
    /// How many times everything was forgotten.
    epoch: u64,
}

impl Memo {
    /// An empty memo of at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            table: TokenCache::new(capacity),
            epoch: 0,
        }
    }

    /// The current epoch: a request notes it when it arrives, to hand it to [`Memo::remember`].
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The caller remembered for the bearer token of `authorization` on `origin`, if any is
    /// still answered at `now` (seconds).
    pub fn recall(&self, authorization: &str, origin: &str, now: i64) -> Option<Rc<Caller>> {
        let token = memo_key(authorization)?;
        let accepted = self.table.get(token, now)?;
        (accepted.origin == origin).then(|| Rc::clone(&accepted.caller))
    }

    /// Remembers what the library concluded about the bearer token of `authorization` on
    /// `origin`: answered until the earlier of the token's expiry and `memo_seconds` after the
    /// check (0: not remembered), and not at all if everything was forgotten since the request
    /// arrived.
    pub fn remember(&mut self, authorization: &str, origin: &str, check: Check, memo_seconds: u32) {
        let Some(token) = memo_key(authorization) else {
            return;
        };
        let Check {
            caller,
            expires_at,
            at: now,
            arrived_in,
        } = check;
        if memo_seconds == 0 || expires_at < now || arrived_in != self.epoch {
            return;
        }
        let until = expires_at.min(now + i64::from(memo_seconds));
        let accepted = Accepted {
            caller,
            origin: origin.to_owned(),
        };
        self.table.insert(token, Rc::new(accepted), until, now);
    }

    /// Forgets every token, and starts a new epoch.
    pub fn clear(&mut self) {
        self.table.clear();
        self.epoch += 1;
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

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::new(CAPACITY));
}

/// [`Memo::recall`] on this isolate's memo.
pub fn recall(authorization: &str, origin: &str, now: i64) -> Option<Rc<Caller>> {
    MEMO.with_borrow(|memo| memo.recall(authorization, origin, now))
}

/// The epoch of this isolate's memo ([`Memo::epoch`]).
pub fn epoch() -> u64 {
    MEMO.with_borrow(Memo::epoch)
}

/// Runs `change` on this isolate's memo ([`Memo::remember`]).
pub fn with_memo<R>(change: impl FnOnce(&mut Memo) -> R) -> R {
    MEMO.with_borrow_mut(change)
}

/// Forgets every token this isolate remembers: called after anything that may have revoked one.
pub fn forget_all() {
    with_memo(Memo::clear);
}

/// The key an `Authorization` header is remembered under: its bearer token, unless oversize.
fn memo_key(authorization: &str) -> Option<&str> {
    bearer_token(authorization).filter(|token| token.len() <= MAX_TOKEN_BYTES)
}

/// The token of an `Authorization` header, exactly as the library's `/^Bearer[\t ]+([^\s,]+)$/i`
/// reads it, so that the memo never answers a header the library would refuse.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let scheme = authorization.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = &authorization[6..];
    let token = rest.trim_start_matches(['\t', ' ']);
    let token_chars = |c: char| !is_js_space(c) && c != ',';
    (token.len() < rest.len() && !token.is_empty() && token.chars().all(token_chars))
        .then_some(token)
}

/// ECMAScript's `\s`: WhiteSpace and LineTerminator (ECMA-262 §12.2, §12.3), which is not
/// Rust's `char::is_whitespace` (that includes U+0085 and excludes U+FEFF).
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::{GrantProps, UpstreamTokens, UserClaims};

    const NOW: i64 = 1_800_000_000;
    const ORIGIN: &str = "https://mcp.example.com";
    const TOKEN: &str = "user-1:grant-1:s3cr3t";

    fn caller(user: &str) -> Rc<Caller> {
        let props = GrantProps {
            user: UserClaims {
                sub: user.to_owned(),
                ..UserClaims::default()
            },
            upstream: UpstreamTokens {
                access_token: "upstream-at".to_owned(),
                refresh_token: None,
                id_token: None,
                expires_at: 1_800_003_600,
                scope: vec!["read:todos".to_owned()],
                requested: vec![],
            },
        };
        Rc::new(Caller {
            props,
            user_id: user.to_owned(),
            client_id: "client-1".to_owned(),
            scopes: vec!["read:todos".to_owned()],
        })
    }

    fn check_at(expires_at: i64, arrived_in: u64) -> Check {
        Check {
            caller: caller("alice"),
            expires_at,
            at: NOW,
            arrived_in,
        }
    }

    fn memo_with(token: &str, expires_at: i64, memo_seconds: u32) -> Memo {
        let mut memo = Memo::new(8);
        let header = format!("Bearer {token}");
        let check = check_at(expires_at, memo.epoch());
        memo.remember(&header, ORIGIN, check, memo_seconds);
        memo
    }

    #[test]
    fn bearer_token_reads_what_the_library_reads() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER \t abc:d:e"), Some("abc:d:e"));
        for refused in [
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Bearer abc ",
            "Bearer abc def",
            "Bearer a,b",
            "Bearer abc\u{A0}",
            "Bearer abc\u{FEFF}",
            "Basic abc",
            " Bearer abc",
            "Bear",
            "",
        ] {
            assert_eq!(bearer_token(refused), None, "{refused:?}");
        }
        // U+0085 is not a space to ECMAScript, so it is part of the token there too.
        assert_eq!(bearer_token("Bearer a\u{85}"), Some("a\u{85}"));
    }

    #[test]
    fn a_token_is_answered_for_at_most_the_memo_time() {
        let memo = memo_with(TOKEN, NOW + 3600, 30);
        let header = format!("Bearer {TOKEN}");
        let found = memo.recall(&header, ORIGIN, NOW + 30).expect("remembered");
        assert_eq!(found.user_id, "alice");
        assert!(memo.recall(&header, ORIGIN, NOW + 31).is_none());
    }

    #[test]
    fn a_token_is_never_answered_past_its_own_expiry() {
        let memo = memo_with(TOKEN, NOW + 10, 30);
        let header = format!("Bearer {TOKEN}");
        assert!(memo.recall(&header, ORIGIN, NOW + 10).is_some());
        assert!(memo.recall(&header, ORIGIN, NOW + 11).is_none());
        // Already expired when the library accepted it (a clock step): not remembered at all.
        assert!(memo_with(TOKEN, NOW - 1, 30).is_empty());
    }

    #[test]
    fn a_memo_time_of_zero_remembers_nothing() {
        assert!(memo_with(TOKEN, NOW + 3600, 0).is_empty());
    }

    #[test]
    fn a_token_is_answered_only_on_the_origin_it_was_accepted_on() {
        let memo = memo_with(TOKEN, NOW + 3600, 30);
        let header = format!("Bearer {TOKEN}");
        for other in [
            "https://evil.example.com",
            "http://mcp.example.com",
            "https://mcp.example.com:8443",
        ] {
            assert!(memo.recall(&header, other, NOW).is_none(), "{other}");
        }
    }

    #[test]
    fn another_token_or_header_form_is_not_answered() {
        let memo = memo_with(TOKEN, NOW + 3600, 30);
        for header in [
            "Bearer user-1:grant-1:s3cr3T",
            "Bearer user-1:grant-1:s3cr3",
            "Bearer user-1:grant-1:s3cr3tt",
            "Bearer user-1:grant-1:s3cr3t extra",
            "Basic user-1:grant-1:s3cr3t",
            "user-1:grant-1:s3cr3t",
        ] {
            assert!(memo.recall(header, ORIGIN, NOW).is_none(), "{header}");
        }
        // The same token in another form the library accepts is the same token.
        assert!(
            memo.recall("bearer \tuser-1:grant-1:s3cr3t", ORIGIN, NOW)
                .is_some()
        );
    }

    #[test]
    fn oversize_tokens_are_neither_remembered_nor_looked_up() {
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        assert!(memo_with(&long, NOW + 3600, 30).is_empty());
    }

    #[test]
    fn a_check_that_began_before_a_forgetting_is_not_remembered() {
        let mut memo = Memo::new(8);
        let header = format!("Bearer {TOKEN}");
        let arrived_in = memo.epoch();
        // A revocation lands while the library is checking the token.
        memo.clear();
        memo.remember(&header, ORIGIN, check_at(NOW + 3600, arrived_in), 30);
        assert!(memo.is_empty());
        // A request that arrived after it is remembered.
        let later = memo.epoch();
        memo.remember(&header, ORIGIN, check_at(NOW + 3600, later), 30);
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn clear_forgets_every_token() {
        let mut memo = memo_with(TOKEN, NOW + 3600, 30);
        memo.clear();
        assert!(
            memo.recall(&format!("Bearer {TOKEN}"), ORIGIN, NOW)
                .is_none()
        );
    }
}
