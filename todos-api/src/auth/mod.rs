//! Who is calling: the bearer token read (`bearer`), its header checked (`jwt`), its signing
//! key found (`jwks`), its signature verified (WebCrypto), and its claims checked (`jwt`).
//! A token already verified in this isolate skips the decoding and the signature check, never
//! the claims (`verified`). Failures become RFC 6750 challenges (`challenge`).

pub mod bearer;
pub mod challenge;
pub mod jwks;
pub mod jwt;
pub mod verified;

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::Config;
use crate::runtime;

use self::jwks::KeyError;
use self::jwt::{ClaimsPolicy, TokenError, UnverifiedToken, VerifiedToken};
use self::verified::VerifiedCache;

thread_local! {
    /// The tokens verified in this isolate (see [`verified`] for the rules).
    static VERIFIED: RefCell<VerifiedCache<VerifiedToken>> =
        RefCell::new(VerifiedCache::new(verified::CAPACITY));
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No bearer credentials at all (RFC 6750 §3.1: bare challenge).
    NoCredentials,
    /// The `Authorization` header's bearer token is malformed (RFC 6750 §3.1 `invalid_token`).
    MalformedHeader(&'static str),
    /// The token is not acceptable (RFC 6750 §3.1 `invalid_token`).
    InvalidToken(TokenError),
    /// The issuer's keys cannot be fetched now: the token can be neither accepted nor refused.
    KeysUnavailable {
        /// Seconds until it is worth trying again.
        retry_after_seconds: u32,
    },
}

impl From<TokenError> for AuthError {
    fn from(error: TokenError) -> Self {
        AuthError::InvalidToken(error)
    }
}

/// Authenticates a request from its `Authorization` header value.
pub async fn authenticate(
    authorization: Option<&str>,
    config: &Config,
) -> Result<Rc<VerifiedToken>, AuthError> {
    let raw = bearer::bearer_token(authorization)
        .map_err(|malformed| AuthError::MalformedHeader(malformed.0))?
        .ok_or(AuthError::NoCredentials)?;
    let policy = ClaimsPolicy {
        issuer: &config.issuer,
        audience: &config.audience,
    };

    // Verified before in this isolate, under the key set in use now: the claims are checked
    // again (expiry above all), the signature is not. A token too large to be valid is not even
    // looked up (it is refused, unread, by `UnverifiedToken::parse`).
    let now = now_seconds();
    let known = (raw.len() <= jwt::MAX_TOKEN_BYTES)
        .then(|| VERIFIED.with_borrow(|cache| cache.get(raw, now, jwks::usable_generation)))
        .flatten();
    if let Some(known) = known {
        known.recheck(policy, now)?;
        return Ok(known);
    }

    let token = UnverifiedToken::parse(raw)?;
    let (key, generation) = jwks::verification_key(token.key_id(), config)
        .await
        .map_err(|error| match error {
            KeyError::Unknown => AuthError::InvalidToken(TokenError::UnknownKey),
            KeyError::Unavailable {
                retry_after_seconds,
            } => AuthError::KeysUnavailable {
                retry_after_seconds,
            },
        })?;
    // RFC 7515 §5.2 step 8 / RFC 7519 §7.2 step 6: the signature must verify before any claim
    // is believed.
    let valid = runtime::crypto::verify_rs256(&key, token.signature(), token.signing_input())
        .await
        .unwrap_or(false);
    if !valid {
        return Err(TokenError::BadSignature.into());
    }

    let now = now_seconds();
    let kid = token.key_id().to_owned();
    let verified = Rc::new(token.claims_after_signature_check(policy, now)?);
    VERIFIED.with_borrow_mut(|cache| {
        let until = verified.accepted_until();
        cache.insert(raw, Rc::clone(&verified), &kid, generation, until, now);
    });
    Ok(verified)
}

/// Whole seconds since the Unix epoch, from the runtime's clock.
fn now_seconds() -> i64 {
    (runtime::now_ms() / 1000.0).floor() as i64
}
