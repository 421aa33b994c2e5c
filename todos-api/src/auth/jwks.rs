//! The issuer's signing keys: OpenID Connect discovery, the JWK Set, and an isolate-wide cache
//! whose refreshes are rate-bounded.
//!
//! Cache rules (the pure [`KeyCache`] decides, the fetch half below acts):
//! - a `kid` in the cache is used as is; a set older than [`KEY_SET_MAX_AGE_MS`] is refreshed
//!   first when a refresh is allowed (keys retired at the issuer stop being trusted);
//! - an unknown `kid` triggers one refresh (key rotation), but refreshes start at most once per
//!   [`MIN_REFRESH_INTERVAL_MS`] however many unknown `kid`s arrive, so forged tokens cannot turn
//!   this worker into a request amplifier against the issuer;
//! - while a refresh is in flight, other requests that need it wait for it (polling a timer of
//!   their own: a request never awaits a promise created by another request); one still in
//!   flight after [`IN_FLIGHT_TIMEOUT_MS`] was abandoned with its request, and the next request
//!   starts another;
//! - when no usable key can be fetched, the answer is 503 with `Retry-After`, never 500;
//! - each fetched set is a new generation: tokens remembered as verified (`auth::verified`)
//!   count only while their key is usable in the generation they were verified under.

use std::cell::RefCell;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{self, Config, KeySource, LogLevel};
use crate::fetch_url::FetchUrl;
use crate::outbound;
use crate::runtime::{self, crypto::Rs256VerifyKey};

/// Refreshes of the key set start at most this often (30 s).
pub const MIN_REFRESH_INTERVAL_MS: f64 = 30_000.0;

/// A key set older than this (10 min) is refreshed before use when a refresh is allowed.
pub const KEY_SET_MAX_AGE_MS: f64 = 600_000.0;

/// A refresh still marked in flight after this long was abandoned (its request went away);
/// two outbound deadlines plus margin.
pub const IN_FLIGHT_TIMEOUT_MS: f64 = 12_000.0;

/// An RSA public key from the issuer's JWK Set, fit for RS256 verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicJwk {
    /// Key id (RFC 7517 §4.5).
    pub kid: String,
    /// Modulus, base64url (RFC 7518 §6.3.1.1).
    pub n: String,
    /// Exponent, base64url (RFC 7518 §6.3.1.2).
    pub e: String,
}

/// The members of a JWK this worker looks at (RFC 7517 §4).
#[derive(Debug, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    public_key_use: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// Smallest modulus accepted, in base64url characters: 2048 bits (RFC 7518 §3.3 requires a key
/// of 2048 bits or larger for RS256). 256 bytes encode to 342 characters.
const MIN_MODULUS_CHARS: usize = 342;

/// Picks the keys usable for RS256 verification out of a JWK Set document (RFC 7517 §5).
/// Keys of other types or uses, without `kid`, or too short are skipped; one odd key does not
/// spoil the set.
pub fn usable_keys(document: &str) -> Result<Vec<RsaPublicJwk>, String> {
    #[derive(Deserialize)]
    struct JwkSet {
        keys: Vec<Value>,
    }
    let set: JwkSet = serde_json::from_str(document)
        .map_err(|err| format!("the key set is not a JWK Set: {err}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
        .filter_map(|jwk| {
            let usable = jwk.kty == "RSA"
                && jwk.public_key_use.as_deref().is_none_or(|u| u == "sig")
                && jwk
                    .alg
                    .as_deref()
                    .is_none_or(|a| a == super::jwt::ALGORITHM)
                && jwk
                    .key_ops
                    .as_ref()
                    .is_none_or(|ops| ops.iter().any(|op| op == "verify"));
            match (usable, jwk.kid, jwk.n, jwk.e) {
                (true, Some(kid), Some(n), Some(e))
                    if !kid.is_empty() && n.len() >= MIN_MODULUS_CHARS && !e.is_empty() =>
                {
                    Some(RsaPublicJwk { kid, n, e })
                }
                _ => None,
            }
        })
        .collect())
}

/// Reads `jwks_uri` from a discovery document after checking that its `issuer` is exactly the
/// configured one (OpenID Connect Discovery 1.0 §4.3).
pub fn jwks_uri_from_discovery(document: &str, issuer: &str) -> Result<FetchUrl, String> {
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let discovery: Discovery = serde_json::from_str(document)
        .map_err(|err| format!("the discovery document is malformed: {err}"))?;
    if discovery.issuer != issuer {
        return Err(format!(
            "the discovery document names issuer {} instead of {issuer}",
            discovery.issuer
        ));
    }
    config::parse_fetchable_url("jwks_uri", &discovery.jwks_uri).map_err(|err| err.to_string())
}

/// What to do about a `kid`.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<K> {
    /// Verify with this key.
    Found(K),
    /// Fetch the key set now, then look again.
    Refresh,
    /// Another request is fetching the key set: wait a moment, then look again.
    Wait,
    /// The key set was fetched recently and does not have this key.
    Unknown,
    /// No usable key set could be fetched; try again after this many seconds.
    Unavailable {
        /// Seconds until the next refresh may start.
        retry_after_seconds: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    InFlight,
    Succeeded,
    Failed,
}

/// The isolate's key cache, generic over the key type so its rules run in host tests.
/// All times are milliseconds since the Unix epoch.
#[derive(Debug)]
pub struct KeyCache<K> {
    keys: Vec<(String, K)>,
    keys_fetched_at: f64,
    last_refresh: Option<(f64, RefreshState)>,
    /// Counts the key sets fetched: what was verified under one generation is not trusted under
    /// the next (`auth::verified`).
    generation: u64,
}

impl<K> Default for KeyCache<K> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            keys_fetched_at: 0.0,
            last_refresh: None,
            generation: 0,
        }
    }
}

impl<K: Clone> KeyCache<K> {
    /// Decides what a request holding a token with `kid` does next.
    pub fn lookup(&self, kid: &str, now: f64) -> Lookup<K> {
        match self.decide(kid, now) {
            Lookup::Found(key) => Lookup::Found(key.clone()),
            Lookup::Refresh => Lookup::Refresh,
            Lookup::Wait => Lookup::Wait,
            Lookup::Unknown => Lookup::Unknown,
            Lookup::Unavailable {
                retry_after_seconds,
            } => Lookup::Unavailable {
                retry_after_seconds,
            },
        }
    }

    /// The current key set's generation, when [`Self::lookup`] would verify a `kid` token with
    /// it as it stands (the key is in the set and the set is not due for a refresh).
    pub fn usable_generation(&self, kid: &str, now: f64) -> Option<u64> {
        matches!(self.decide(kid, now), Lookup::Found(_)).then_some(self.generation)
    }

    /// The generation of the key set [`Self::lookup`] answers from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn decide(&self, kid: &str, now: f64) -> Lookup<&K> {
        let since_refresh = self
            .last_refresh
            .map(|(started, state)| (now - started, state));
        let in_flight = matches!(since_refresh, Some((age, RefreshState::InFlight)) if age < IN_FLIGHT_TIMEOUT_MS);
        // A refresh whose request went away (the caller hung up or gave up on its deadline) never
        // finished: the next request may start one at once, rather than every request of a cold
        // isolate answering 503 until the interval ends. Refreshes still start at most once per
        // `IN_FLIGHT_TIMEOUT_MS` this way.
        let abandoned = matches!(since_refresh, Some((_, RefreshState::InFlight))) && !in_flight;
        let may_refresh =
            abandoned || since_refresh.is_none_or(|(age, _)| age >= MIN_REFRESH_INTERVAL_MS);

        if let Some((_, key)) = self.keys.iter().find(|(id, _)| id == kid) {
            let stale = now - self.keys_fetched_at >= KEY_SET_MAX_AGE_MS;
            return if stale && may_refresh {
                Lookup::Refresh
            } else {
                Lookup::Found(key)
            };
        }
        if in_flight {
            return Lookup::Wait;
        }
        match since_refresh {
            None => Lookup::Refresh,
            Some(_) if may_refresh => Lookup::Refresh,
            Some((_, RefreshState::Succeeded)) => Lookup::Unknown,
            Some((age, _)) => Lookup::Unavailable {
                retry_after_seconds: retry_after(age),
            },
        }
    }

    /// Records that a refresh started now.
    pub fn refresh_started(&mut self, now: f64) {
        self.last_refresh = Some((now, RefreshState::InFlight));
    }

    /// Replaces the key set with a freshly fetched one.
    pub fn refresh_succeeded(&mut self, keys: Vec<(String, K)>, now: f64) {
        self.keys = keys;
        self.keys_fetched_at = now;
        self.generation += 1;
        if let Some((_, state)) = &mut self.last_refresh {
            *state = RefreshState::Succeeded;
        }
    }

    /// Records a failed refresh; cached keys stay usable.
    pub fn refresh_failed(&mut self) {
        if let Some((_, state)) = &mut self.last_refresh {
            *state = RefreshState::Failed;
        }
    }
}

/// Whole seconds until the next refresh may start, at least 1.
fn retry_after(age_ms: f64) -> u32 {
    let remaining = ((MIN_REFRESH_INTERVAL_MS - age_ms) / 1000.0).ceil();
    if remaining.is_finite() && remaining >= 1.0 {
        // The interval bounds this to 30.
        remaining.min(MIN_REFRESH_INTERVAL_MS / 1000.0) as u32
    } else {
        1
    }
}

// ---- The fetching half: isolate state, outbound requests, WebCrypto imports. ----

/// How long a waiting request sleeps between looks at an in-flight refresh.
const WAIT_STEP: Duration = Duration::from_millis(25);

thread_local! {
    /// The isolate's key cache (Wasm isolates are single-threaded; this lives until the isolate
    /// is evicted).
    static KEYS: RefCell<KeyCache<Rs256VerifyKey>> = RefCell::new(KeyCache::default());
    /// `jwks_uri` from the discovery document, once read.
    static JWKS_URI: RefCell<Option<FetchUrl>> = const { RefCell::new(None) };
}

/// Why no verification key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// The current key set has no such `kid`.
    Unknown,
    /// The key set cannot be fetched now.
    Unavailable {
        /// Seconds until it is worth trying again.
        retry_after_seconds: u32,
    },
}

/// The verification key for `kid`, from the cache or after (at most) one refresh, and the
/// generation of the key set it came from.
pub async fn verification_key(
    kid: &str,
    config: &Config,
) -> Result<(Rs256VerifyKey, u64), KeyError> {
    let mut refreshed = false;
    loop {
        let now = runtime::now_ms();
        match KEYS.with_borrow(|cache| (cache.lookup(kid, now), cache.generation())) {
            (Lookup::Found(key), generation) => return Ok((key, generation)),
            (Lookup::Unknown, _) => return Err(KeyError::Unknown),
            (
                Lookup::Unavailable {
                    retry_after_seconds,
                },
                _,
            ) => {
                return Err(KeyError::Unavailable {
                    retry_after_seconds,
                });
            }
            (Lookup::Wait, _) => runtime::sleep(WAIT_STEP).await,
            (Lookup::Refresh, _) if refreshed => {
                return Err(KeyError::Unavailable {
                    retry_after_seconds: 1,
                });
            }
            (Lookup::Refresh, _) => {
                refreshed = true;
                KEYS.with_borrow_mut(|cache| cache.refresh_started(now));
                match fetch_key_set(config).await {
                    Ok(keys) => {
                        let now = runtime::now_ms();
                        KEYS.with_borrow_mut(|cache| cache.refresh_succeeded(keys, now));
                    }
                    Err(problem) => {
                        runtime::error(&log_line(&KeyEvent {
                            event: "jwks_refresh_failed",
                            kid: None,
                            problem: &problem,
                        }));
                        KEYS.with_borrow_mut(KeyCache::refresh_failed);
                    }
                }
            }
        }
    }
}

/// The generation of the isolate's key set, when a token with `kid` would be verified with it
/// now (see [`KeyCache::usable_generation`]).
pub fn usable_generation(kid: &str) -> Option<u64> {
    let now = runtime::now_ms();
    KEYS.with_borrow(|cache| cache.usable_generation(kid, now))
}

/// A log line about the key set (never a token).
#[derive(Serialize)]
struct KeyEvent<'a> {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    problem: &'a str,
}

fn log_line(event: &KeyEvent<'_>) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Fetches the key set and imports every usable key into WebCrypto.
async fn fetch_key_set(config: &Config) -> Result<Vec<(String, Rs256VerifyKey)>, String> {
    let jwks_uri = match &config.keys {
        KeySource::KeySet(url) => url.clone(),
        KeySource::Discovery(discovery) => match JWKS_URI.with_borrow(Clone::clone) {
            Some(url) => url,
            None => {
                let document = outbound::get_json(discovery).await?;
                let url = jwks_uri_from_discovery(&document, &config.issuer)?;
                JWKS_URI.set(Some(url.clone()));
                url
            }
        },
    };
    let document = match outbound::get_json(&jwks_uri).await {
        Ok(document) => document,
        Err(problem) => {
            // The issuer may have moved its key set: discover again next time.
            JWKS_URI.set(None);
            return Err(problem);
        }
    };
    let mut imported = Vec::new();
    for jwk in usable_keys(&document)? {
        match runtime::crypto::import_rs256_key(&jwk.n, &jwk.e).await {
            Ok(key) => imported.push((jwk.kid, key)),
            Err(problem) if config.log_level >= LogLevel::Warn => {
                runtime::warn(&log_line(&KeyEvent {
                    event: "jwk_skipped",
                    kid: Some(&jwk.kid),
                    problem: &problem,
                }))
            }
            Err(_) => {}
        }
    }
    if imported.is_empty() {
        return Err(format!("{jwks_uri} has no usable RS256 key"));
    }
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_800_000_000_000.0;

    fn modulus() -> String {
        "x".repeat(MIN_MODULUS_CHARS)
    }

    #[test]
    fn only_rsa_signature_keys_with_kid_and_enough_bits_are_usable() {
        let n = modulus();
        let document = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "good", "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "no-alg-no-use", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ps256", "alg": "PS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "a", "y": "b"},
            {"kty": "RSA", "kid": "sign-only", "key_ops": ["sign"], "n": n, "e": "AQAB"},
            "not an object"
        ]})
        .to_string();
        let kids: Vec<String> = usable_keys(&document)
            .expect("a set")
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, ["good", "no-alg-no-use"]);
        assert!(usable_keys("{}").is_err());
        assert!(usable_keys("nonsense").is_err());
    }

    #[test]
    fn discovery_must_name_the_configured_issuer_and_a_fetchable_key_set() {
        let ok = r#"{"issuer":"http://localhost:8790/","jwks_uri":"http://localhost:8790/.well-known/jwks.json"}"#;
        assert_eq!(
            jwks_uri_from_discovery(ok, "http://localhost:8790/")
                .expect("ok")
                .as_str(),
            "http://localhost:8790/.well-known/jwks.json"
        );
        assert!(jwks_uri_from_discovery(ok, "http://localhost:8790").is_err());
        let insecure =
            r#"{"issuer":"https://idp.example/","jwks_uri":"http://idp.example/jwks.json"}"#;
        assert!(jwks_uri_from_discovery(insecure, "https://idp.example/").is_err());
    }

    #[test]
    fn key_events_are_one_json_line_each() {
        let failed = KeyEvent {
            event: "jwks_refresh_failed",
            kid: None,
            problem: "https://idp.example/jwks answered HTTP 503",
        };
        assert_eq!(
            log_line(&failed),
            r#"{"event":"jwks_refresh_failed","problem":"https://idp.example/jwks answered HTTP 503"}"#
        );
        let skipped = KeyEvent {
            event: "jwk_skipped",
            kid: Some("k\"1"),
            problem: "DataError",
        };
        assert_eq!(
            log_line(&skipped),
            r#"{"event":"jwk_skipped","kid":"k\"1","problem":"DataError"}"#
        );
    }

    #[test]
    fn an_empty_cache_asks_for_a_refresh() {
        let cache = KeyCache::<u8>::default();
        assert_eq!(cache.lookup("k1", T0), Lookup::Refresh);
    }

    #[test]
    fn a_fetched_key_is_found_and_an_unknown_kid_is_unknown_within_the_interval() {
        let mut cache = KeyCache::default();
        cache.refresh_started(T0);
        cache.refresh_succeeded(vec![("k1".to_owned(), 1u8)], T0 + 100.0);
        assert_eq!(cache.lookup("k1", T0 + 200.0), Lookup::Found(1));
        assert_eq!(cache.lookup("k2", T0 + 29_999.0), Lookup::Unknown);
        assert_eq!(cache.lookup("k2", T0 + 30_000.0), Lookup::Refresh);
    }

    #[test]
    fn each_fetched_key_set_is_a_new_generation_usable_only_while_its_key_is_found() {
        let mut cache = KeyCache::default();
        assert_eq!(cache.usable_generation("k1", T0), None);
        cache.refresh_started(T0);
        cache.refresh_succeeded(vec![("k1".to_owned(), 1u8)], T0);
        let first = cache.generation();
        assert_eq!(cache.usable_generation("k1", T0 + 1.0), Some(first));
        assert_eq!(cache.usable_generation("k2", T0 + 1.0), None);
        // Due for a refresh: what was verified under this set must be verified again.
        assert_eq!(cache.usable_generation("k1", T0 + KEY_SET_MAX_AGE_MS), None);
        cache.refresh_started(T0 + KEY_SET_MAX_AGE_MS);
        cache.refresh_succeeded(vec![("k2".to_owned(), 2u8)], T0 + KEY_SET_MAX_AGE_MS);
        assert_ne!(cache.generation(), first);
        // `k1` was retired at the issuer.
        assert_eq!(
            cache.usable_generation("k1", T0 + KEY_SET_MAX_AGE_MS + 1.0),
            None
        );
        assert_eq!(
            cache.usable_generation("k2", T0 + KEY_SET_MAX_AGE_MS + 1.0),
            Some(cache.generation())
        );
    }

    #[test]
    fn other_requests_wait_while_a_refresh_is_in_flight() {
        let mut cache = KeyCache::<u8>::default();
        cache.refresh_started(T0);
        assert_eq!(cache.lookup("k1", T0 + 1_000.0), Lookup::Wait);
        // An abandoned refresh stops blocking, and the next request starts another.
        assert_eq!(
            cache.lookup("k1", T0 + IN_FLIGHT_TIMEOUT_MS),
            Lookup::Refresh
        );
    }

    #[test]
    fn an_abandoned_refresh_does_not_shut_out_a_cold_isolate() {
        let mut cache = KeyCache::<u8>::default();
        cache.refresh_started(T0);
        assert_eq!(
            cache.lookup("k1", T0 + IN_FLIGHT_TIMEOUT_MS - 1.0),
            Lookup::Wait
        );
        let retry = T0 + IN_FLIGHT_TIMEOUT_MS;
        assert_eq!(cache.lookup("k1", retry), Lookup::Refresh);
        cache.refresh_started(retry);
        cache.refresh_succeeded(vec![("k1".to_owned(), 1u8)], retry + 50.0);
        assert_eq!(cache.lookup("k1", retry + 60.0), Lookup::Found(1));
        // After a refresh that finished, unknown `kid`s still wait for the whole interval.
        assert_eq!(cache.lookup("k2", retry + 60.0), Lookup::Unknown);
    }

    #[test]
    fn a_failed_refresh_with_no_key_is_unavailable_until_the_interval_ends() {
        let mut cache = KeyCache::<u8>::default();
        cache.refresh_started(T0);
        cache.refresh_failed();
        assert_eq!(
            cache.lookup("k1", T0 + 100.0),
            Lookup::Unavailable {
                retry_after_seconds: 30
            }
        );
        assert_eq!(
            cache.lookup("k1", T0 + 29_500.0),
            Lookup::Unavailable {
                retry_after_seconds: 1
            }
        );
        assert_eq!(cache.lookup("k1", T0 + 30_000.0), Lookup::Refresh);
    }

    #[test]
    fn a_stale_set_is_refreshed_when_allowed_and_used_when_not() {
        let mut cache = KeyCache::default();
        cache.refresh_started(T0);
        cache.refresh_succeeded(vec![("k1".to_owned(), 1u8)], T0);
        let later = T0 + KEY_SET_MAX_AGE_MS;
        assert_eq!(cache.lookup("k1", later), Lookup::Refresh);
        cache.refresh_started(later);
        assert_eq!(cache.lookup("k1", later + 1.0), Lookup::Found(1));
        cache.refresh_failed();
        assert_eq!(cache.lookup("k1", later + 2.0), Lookup::Found(1));
    }

    #[test]
    fn retry_after_is_between_one_and_thirty_seconds() {
        assert_eq!(retry_after(0.0), 30);
        assert_eq!(retry_after(29_001.0), 1);
        assert_eq!(retry_after(45_000.0), 1);
        assert_eq!(retry_after(f64::NAN), 1);
    }
}
