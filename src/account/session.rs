//! The `/account` page's two cookies, pure: the signed session and the signed sign-in
//! transaction, their `Set-Cookie` attributes, and the checks made on every state-changing POST
//! (CSRF token, `Origin`). The MAC itself is computed by the caller (WebCrypto in the worker), so
//! every rule here is tested on the host.
//!
//! A sealed value is `BASE64URL(JSON payload) "." BASE64URL(HMAC-SHA256(key, first part))`. The
//! key is derived per purpose ([`Purpose`]), so a value sealed for one cookie never verifies as
//! another, nor as the library's remembered-consent cookie, which shares the root secret.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Serialize;

use crate::json::{Fields, FromFields};
use crate::upstream::pkce::CodeVerifier;

/// The session cookie. RFC 6265bis §4.1.3.2: a `__Host-` cookie is only accepted when it is
/// `Secure`, has `Path=/` and no `Domain`, so no sibling subdomain or plain-http page can set or
/// overwrite it (cookie tossing).
pub const SESSION_COOKIE: &str = "__Host-account-session";
/// The sign-in transaction cookie (state, nonce and PKCE verifier between the redirect to the
/// identity provider and `/account/callback`), with the same prefix rules.
pub const SIGN_IN_COOKIE: &str = "__Host-account-signin";
/// How long a session lasts: short, because it can revoke access (OWASP Session Management
/// Cheat Sheet, "Session Expiration": idle and absolute timeouts of minutes for high-value
/// actions). There is no renewal: signing in again is one redirect.
pub const SESSION_SECONDS: u64 = 15 * 60;
/// How long a sign-in transaction may take (the same ten minutes as the OAuth `state`).
pub const SIGN_IN_SECONDS: u64 = 10 * 60;

/// What a key is for; each purpose gets its own HMAC key derived from the root secret
/// (`HMAC(root, label)`, the PRF step of HKDF-Expand, RFC 5869 §2.3, used as a KDF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Session,
    SignIn,
}

impl Purpose {
    /// The derivation label: distinct per purpose and versioned.
    pub fn label(self) -> &'static [u8] {
        match self {
            Purpose::Session => b"mcp-worker/account/session/v1",
            Purpose::SignIn => b"mcp-worker/account/sign-in/v1",
        }
    }
}

/// A signed-in user of the `/account` page. The MAC makes every field trustworthy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Session {
    /// Random id of this session: what sign-out records as ended.
    pub sid: String,
    /// The grant user id, derived from the upstream `sub` exactly as `/callback` derives it
    /// ([`crate::upstream::user_id_for_subject`]): the key to the user's grants.
    pub uid: String,
    /// What the page calls the user (email, or name, or `sub`).
    pub name: String,
    /// The synchronizer token for this session's forms (OWASP CSRF Prevention Cheat Sheet,
    /// "Synchronizer Token Pattern"): random, bound to the session by the MAC.
    pub csrf: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// The sign-in in progress, between `/account/login` and `/account/callback`.
#[derive(Serialize)]
pub struct SignIn {
    /// RFC 6749 §10.12: binds the provider's answer to this browser.
    pub state: String,
    /// OIDC Core §3.1.2.1: binds the ID token to this sign-in.
    pub nonce: String,
    /// RFC 7636 §4.1: only the holder of this cookie can redeem the code.
    pub verifier: CodeVerifier,
    pub exp: u64,
}

impl FromFields for Session {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(Session {
            sid: fields.string("sid")?,
            uid: fields.string("uid")?,
            name: fields.string("name")?,
            csrf: fields.string("csrf")?,
            exp: fields.u64("exp")?,
        })
    }
}

impl FromFields for SignIn {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(SignIn {
            state: fields.string("state")?,
            nonce: fields.string("nonce")?,
            verifier: CodeVerifier::from_stored(fields.string("verifier")?),
            exp: fields.u64("exp")?,
        })
    }
}

/// Anything sealed in a cookie carries its expiry.
pub trait Expiring {
    fn expires_at(&self) -> u64;
}

impl Expiring for Session {
    fn expires_at(&self) -> u64 {
        self.exp
    }
}

impl Expiring for SignIn {
    fn expires_at(&self) -> u64 {
        self.exp
    }
}

/// The first part of a sealed value: the payload, what the MAC is computed over.
pub fn encode_payload<T: Serialize>(value: &T) -> String {
    Base64UrlUnpadded::encode_string(crate::json::write(value).as_bytes())
}

/// `payload "." mac`.
pub fn seal(payload: &str, mac: &[u8]) -> String {
    format!("{payload}.{}", Base64UrlUnpadded::encode_string(mac))
}

/// Splits a sealed value into its payload (to MAC again) and the MAC it carries.
pub fn unseal(value: &str) -> Option<(&str, Vec<u8>)> {
    let (payload, mac) = value.split_once('.')?;
    if payload.is_empty() || mac.contains('.') {
        return None;
    }
    let mac = Base64UrlUnpadded::decode_vec(mac).ok()?;
    (mac.len() == 32).then_some((payload, mac))
}

/// Reads a payload whose MAC has verified, refusing it once expired.
pub fn open<T: FromFields + Expiring>(payload: &str, now: u64) -> Option<T> {
    let json = Base64UrlUnpadded::decode_vec(payload).ok()?;
    let value = T::from_json_bytes(&json).ok()?;
    (now < value.expires_at()).then_some(value)
}

/// Compares two byte strings in time that depends only on their lengths (no early exit on the
/// first differing byte), for MACs, CSRF tokens and admin-token digests.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` for `name`. RFC 6265bis §4.1.3.2 (`__Host-`: `Secure`, `Path=/`, no `Domain`);
/// `HttpOnly` keeps it from scripts; `SameSite=Lax` (§8.8) withholds it from cross-site POSTs
/// but still sends it on the top-level navigation back from the identity provider.
pub fn set_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
}

/// `Set-Cookie` that deletes `name` (RFC 6265bis §5.6: `Max-Age=0` expires it at once).
pub fn clear_cookie(name: &str) -> String {
    set_cookie(name, "", 0)
}

/// The value of cookie `name` in a `Cookie` request header (RFC 6265bis §5.7.4), the first one
/// if several are sent.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// Whether a form post carries this session's CSRF token (OWASP CSRF Prevention Cheat Sheet,
/// "Synchronizer Token Pattern"; compared in constant time).
pub fn csrf_matches(session: &Session, posted: Option<&str>) -> bool {
    posted.is_some_and(|token| constant_time_eq(token.as_bytes(), session.csrf.as_bytes()))
}

/// Whether a state-changing request comes from this worker's own pages (OWASP CSRF Prevention
/// Cheat Sheet, "Verifying Origin With Standard Headers"). The page sends
/// `Referrer-Policy: same-origin`, so browsers send the real `Origin` on its forms (Fetch
/// §3.1 "append a request `Origin` header"); a missing or `null` Origin is refused.
pub fn origin_allowed(origin: Option<&str>, public_url: &str) -> bool {
    let Some(origin) = origin else {
        return false;
    };
    crate::web_url::WebUrl::parse(public_url).is_some_and(|url| origin == url.origin())
}

/// A random token from `N` bytes, as base64url.
pub fn token_from_random<const N: usize>(bytes: [u8; N]) -> String {
    Base64UrlUnpadded::encode_string(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(exp: u64) -> Session {
        Session {
            sid: "sid".into(),
            uid: "auth0|alice".into(),
            name: "alice@example.com".into(),
            csrf: "csrf-token".into(),
            exp,
        }
    }

    #[test]
    fn sealed_value_round_trips_and_is_refused_after_expiry() {
        let payload = encode_payload(&session(1000));
        let sealed = seal(&payload, &[9u8; 32]);
        let (p, mac) = unseal(&sealed).expect("well formed");
        assert_eq!(p, payload);
        assert_eq!(mac, vec![9u8; 32]);
        assert_eq!(open::<Session>(p, 999), Some(session(1000)));
        assert_eq!(open::<Session>(p, 1000), None);
    }

    #[test]
    fn malformed_sealed_values_are_refused() {
        assert!(unseal("").is_none());
        assert!(unseal("no-dot").is_none());
        assert!(unseal(".AAAA").is_none());
        assert!(unseal("abc.def.ghi").is_none());
        // A MAC of the wrong length (a truncated cookie).
        assert!(unseal(&seal("abc", &[1u8; 16])).is_none());
        assert!(unseal("abc.!!!").is_none());
        assert!(open::<Session>("bm90IGpzb24", 0).is_none());
    }

    #[test]
    fn purposes_have_distinct_labels() {
        assert_ne!(Purpose::Session.label(), Purpose::SignIn.label());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn cookies_have_host_prefix_attributes() {
        let set = set_cookie(SESSION_COOKIE, "v", SESSION_SECONDS);
        assert_eq!(
            set,
            "__Host-account-session=v; Path=/; Max-Age=900; HttpOnly; Secure; SameSite=Lax"
        );
        assert!(!set.contains("Domain"));
        assert!(clear_cookie(SIGN_IN_COOKIE).contains("Max-Age=0"));
    }

    #[test]
    fn cookie_value_finds_the_named_cookie_only() {
        let header = "a=1; __Host-account-session=xyz.abc; __Host-account-sessionx=no";
        assert_eq!(cookie_value(header, SESSION_COOKIE), Some("xyz.abc"));
        assert_eq!(cookie_value(header, "b"), None);
        assert_eq!(cookie_value("x=1;y=2", "y"), Some("2"));
    }

    #[test]
    fn csrf_token_must_match_the_session() {
        let s = session(10);
        assert!(csrf_matches(&s, Some("csrf-token")));
        assert!(!csrf_matches(&s, Some("csrf-tokeN")));
        assert!(!csrf_matches(&s, Some("")));
        assert!(!csrf_matches(&s, None));
    }

    #[test]
    fn origin_must_be_this_worker() {
        let public = "http://localhost:8788";
        assert!(origin_allowed(Some("http://localhost:8788"), public));
        assert!(!origin_allowed(Some("http://evil.example"), public));
        assert!(!origin_allowed(Some("http://localhost:8789"), public));
        assert!(!origin_allowed(Some("null"), public));
        assert!(!origin_allowed(None, public));
        assert!(origin_allowed(
            Some("https://mcp.example.com"),
            "https://mcp.example.com"
        ));
    }

    #[test]
    fn random_tokens_are_base64url() {
        let token = token_from_random([0xffu8; 32]);
        assert_eq!(token.len(), 43);
        assert!(!token.contains(['+', '/', '=']));
    }
}
