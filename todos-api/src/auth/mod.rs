//! Who is calling: the bearer token read (`bearer`), its header checked (`jwt`), its signing
//! key found (`jwks`), its signature verified (WebCrypto), and its claims checked (`jwt`).
//! Failures become RFC 6750 challenges (`challenge`).

pub mod bearer;
pub mod challenge;
pub mod jwks;
pub mod jwt;

use crate::config::Config;
use crate::runtime;

use self::jwks::KeyError;
use self::jwt::{ClaimsPolicy, TokenError, UnverifiedToken, VerifiedToken};

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
) -> Result<VerifiedToken, AuthError> {
    let token = bearer::bearer_token(authorization)
        .map_err(|malformed| AuthError::MalformedHeader(malformed.0))?
        .ok_or(AuthError::NoCredentials)?;
    let token = UnverifiedToken::parse(token)?;

    let key = jwks::verification_key(token.key_id(), config)
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

    let now_seconds = (runtime::now_ms() / 1000.0).floor() as i64;
    let policy = ClaimsPolicy {
        issuer: &config.issuer,
        audience: &config.audience,
    };
    Ok(token.claims_after_signature_check(policy, now_seconds)?)
}
