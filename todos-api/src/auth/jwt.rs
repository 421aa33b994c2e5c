//! Access-token checks that need no key: the JOSE header, then the claims once the signature
//! has been verified elsewhere (see `auth::authenticate`).
//!
//! The rules follow RFC 8725 (JWT Best Current Practices), RFC 7519 §7.2 (validating a JWT) and
//! RFC 9068 (JWT profile for OAuth 2.0 access tokens).

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use jwt_compact::{Claims, TimeOptions, UntrustedToken, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scopes::Scopes;

/// The only accepted signature algorithm. RFC 8725 §3.1: verify the algorithm against an
/// allow-list; this excludes `none` and every HMAC (`HS256` keyed with the RSA public key is the
/// classic confusion attack, RFC 8725 §2.1).
pub const ALGORITHM: &str = "RS256";

/// Clock skew tolerated on `exp` and `nbf` (RFC 7519 §4.1.4/§4.1.5 allow "a small leeway").
pub const LEEWAY_SECONDS: i64 = 60;

/// Longest token accepted; anything larger is rejected before decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Longest `sub` accepted: it becomes part of a storage key, and real subjects are short
/// (`auth0|…`, `google-oauth2|…`).
pub const MAX_SUBJECT_BYTES: usize = 255;

/// Why a token was rejected. Each becomes an RFC 6750 `invalid_token` with this description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not a compact JWS, or its header does not decode.
    Malformed(String),
    /// The header names an algorithm outside the allow-list.
    Algorithm(String),
    /// The header has no `kid`, so no key can be chosen.
    MissingKeyId,
    /// `typ` says this is some other kind of JWT.
    WrongType(String),
    /// The header has `crit` extensions this server does not understand.
    CriticalHeader,
    /// The issuer's key set has no usable key with this `kid`.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// The claims set does not decode as a JSON object of the expected shape.
    MalformedClaims(String),
    /// `iss` is missing or differs from the configured issuer.
    Issuer,
    /// `aud` is missing or does not include this API.
    Audience,
    /// `exp` is missing.
    MissingExpiry,
    /// `exp` has passed.
    Expired,
    /// `nbf` is still in the future.
    NotYetValid,
    /// `sub` is missing, empty or too long.
    Subject,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Malformed(why) => write!(f, "the token is not a valid JWS: {why}"),
            TokenError::Algorithm(alg) => {
                write!(
                    f,
                    "the signing algorithm {alg} is not accepted ({ALGORITHM} only)"
                )
            }
            TokenError::MissingKeyId => f.write_str("the token header has no kid"),
            TokenError::WrongType(typ) => write!(f, "a token of type {typ} is not an access token"),
            TokenError::CriticalHeader => f.write_str("the token has critical header extensions"),
            TokenError::UnknownKey => f.write_str("the token was signed with an unknown key"),
            TokenError::BadSignature => f.write_str("the token signature is invalid"),
            TokenError::MalformedClaims(why) => write!(f, "the token claims are malformed: {why}"),
            TokenError::Issuer => f.write_str("the token was issued by another issuer"),
            TokenError::Audience => f.write_str("the token is not meant for this API"),
            TokenError::MissingExpiry => f.write_str("the token has no expiry"),
            TokenError::Expired => f.write_str("the token has expired"),
            TokenError::NotYetValid => f.write_str("the token is not valid yet"),
            TokenError::Subject => f.write_str("the token has no usable subject"),
        }
    }
}

/// Header parameters beyond those jwt-compact reads itself.
#[derive(Debug, Default, Deserialize)]
struct HeaderExtras {
    /// RFC 7515 §4.1.11: extensions the recipient MUST understand, or reject the token.
    #[serde(default)]
    crit: Option<Value>,
}

/// The `aud` claim: one string or an array (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    fn includes(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims an access token carries; everything else is kept in `other` for `/api/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject: the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Space-separated scopes (RFC 9068 §2.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Every other claim, untouched.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// What the claims must say for this API.
#[derive(Debug, Clone, Copy)]
pub struct ClaimsPolicy<'a> {
    /// The exact `iss`.
    pub issuer: &'a str,
    /// The audience that `aud` must include.
    pub audience: &'a str,
}

/// A token whose signature and claims were checked.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The user (`sub`).
    pub subject: String,
    /// The granted scopes.
    pub scopes: Scopes,
    /// All claims, as the token carried them (see [`Self::claims_json`]).
    pub claims: Claims<AccessClaims>,
}

impl VerifiedToken {
    /// Checks the claims again at `now`: a token remembered since its signature verified
    /// (`auth::verified`) passes exactly when it would pass if it arrived for the first time.
    pub fn recheck(&self, policy: ClaimsPolicy<'_>, now: i64) -> Result<(), TokenError> {
        check_claims(&self.claims, policy, now)
    }

    /// The last second (since the epoch) at which the claims can pass: `exp` plus the leeway.
    pub fn accepted_until(&self) -> i64 {
        self.claims.expiration.map_or(i64::MIN, |exp| {
            exp.timestamp().saturating_add(LEEWAY_SECONDS)
        })
    }

    /// All claims as one JSON object with its members sorted by name, `exp`/`nbf`/`iat` as whole
    /// seconds. Built only for the routes that answer with the claims.
    pub fn claims_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(&self.claims)
    }
}

/// A token that parsed as a compact JWS with an acceptable header, not yet verified.
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    token: UntrustedToken<'a, HeaderExtras>,
    signing_input: &'a str,
    key_id: String,
}

impl<'a> UnverifiedToken<'a> {
    /// Decodes the token and checks its header: size, `alg` allow-list, `kid`, `typ`, `crit`.
    ///
    /// `jku`, `x5u` and `jwk` header parameters are never followed: keys come only from the
    /// configured issuer (RFC 8725 §3.10).
    pub fn parse(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("it is too large".to_owned()));
        }
        let parsed = UntrustedToken::<HeaderExtras>::try_from(token)
            .map_err(|err| TokenError::Malformed(err.to_string()))?;
        // RFC 8725 §3.1 / RFC 7515 §4.1.1: `alg` compared exactly against the allow-list.
        if parsed.algorithm() != ALGORITHM {
            return Err(TokenError::Algorithm(parsed.algorithm().to_owned()));
        }
        let header = parsed.header();
        if header.other_fields.crit.is_some() {
            return Err(TokenError::CriticalHeader);
        }
        // RFC 8725 §3.11 / RFC 9068 §2.1: when a type is declared it must be an access token's
        // (Auth0 writes `JWT`; RFC 9068 issuers write `at+jwt`), so an ID or logout token
        // cannot stand in for one.
        if let Some(typ) = &header.token_type {
            let bare = typ
                .strip_prefix("application/")
                .unwrap_or(typ)
                .to_ascii_lowercase();
            if bare != "jwt" && bare != "at+jwt" {
                return Err(TokenError::WrongType(typ.clone()));
            }
        }
        let key_id = header
            .key_id
            .clone()
            .filter(|kid| !kid.is_empty())
            .ok_or(TokenError::MissingKeyId)?;
        // RFC 7515 §5.2: the signature covers `BASE64URL(header) || '.' || BASE64URL(payload)`.
        let signing_input = token
            .rsplit_once('.')
            .map(|(input, _)| input)
            .ok_or_else(|| TokenError::Malformed("it has no signature part".to_owned()))?;
        Ok(Self {
            token: parsed,
            signing_input,
            key_id,
        })
    }

    /// The `kid` that selects the verification key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        self.token.signature_bytes()
    }

    /// Checks the claims. Call this only after the signature verified with the key chosen by
    /// [`Self::key_id`]: claims of an unverified token are attacker-controlled.
    ///
    /// `now` is the current time in seconds since the Unix epoch.
    pub fn claims_after_signature_check(
        self,
        policy: ClaimsPolicy<'_>,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let claims: Claims<AccessClaims> = self
            .token
            .deserialize_claims_unchecked()
            .map_err(|err| TokenError::MalformedClaims(err.to_string()))?;
        check_claims(&claims, policy, now)?;
        let subject = claims.custom.sub.clone().ok_or(TokenError::Subject)?;
        // The `scope` claim alone: Auth0's `permissions` lists what the user holds, not what
        // this token was granted (`crate::scopes`).
        let scopes = Scopes::from_claims(claims.custom.scope.as_deref());
        Ok(VerifiedToken {
            subject,
            scopes,
            claims,
        })
    }
}

/// The claim checks of RFC 7519 §7.2 step 10 and RFC 9068 §4, in a fixed order.
fn check_claims(
    claims: &Claims<AccessClaims>,
    policy: ClaimsPolicy<'_>,
    now: i64,
) -> Result<(), TokenError> {
    // RFC 8725 §3.8, RFC 9068 §4: `iss` must exactly match the configured issuer.
    if claims.custom.iss.as_deref() != Some(policy.issuer) {
        return Err(TokenError::Issuer);
    }
    // RFC 7519 §4.1.3, RFC 8725 §3.9: reject unless this API is among the audiences.
    if !claims
        .custom
        .aud
        .as_ref()
        .is_some_and(|aud| aud.includes(policy.audience))
    {
        return Err(TokenError::Audience);
    }
    let now = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let options = TimeOptions::new(TimeDelta::seconds(LEEWAY_SECONDS), move || now);
    // RFC 9068 §2.2: `exp` is REQUIRED; RFC 7519 §4.1.4: reject at or after it (plus leeway).
    match claims.validate_expiration(&options) {
        Ok(_) => {}
        Err(ValidationError::NoClaim(_)) => return Err(TokenError::MissingExpiry),
        Err(_) => return Err(TokenError::Expired),
    }
    // RFC 7519 §4.1.5: `nbf` is optional; when present, reject before it (minus leeway).
    if claims.not_before.is_some() && claims.validate_maturity(&options).is_err() {
        return Err(TokenError::NotYetValid);
    }
    // RFC 9068 §2.2: `sub` is REQUIRED; it also keys the user's data here.
    match claims.custom.sub.as_deref() {
        Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUBJECT_BYTES => Ok(()),
        _ => Err(TokenError::Subject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const POLICY: ClaimsPolicy<'static> = ClaimsPolicy {
        issuer: "http://localhost:8790/",
        audience: "urn:todos-api",
    };

    fn b64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    fn token(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(b"not-a-real-signature")
        )
    }

    fn rs256_header() -> Value {
        serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1"})
    }

    fn good_claims() -> Value {
        serde_json::json!({
            "iss": "http://localhost:8790/",
            "sub": "auth0|dave",
            "aud": ["urn:todos-api", "http://localhost:8790/userinfo"],
            "exp": NOW + 300,
            "iat": NOW,
            "scope": "openid read:todos",
            "permissions": ["read:billing"],
            "client_id": "mcp"
        })
    }

    fn check(claims: Value) -> Result<VerifiedToken, TokenError> {
        let raw = token(rs256_header(), claims);
        UnverifiedToken::parse(&raw)?.claims_after_signature_check(POLICY, NOW)
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().map(|o| o.remove(key));
        claims
    }

    #[test]
    fn a_good_token_yields_subject_scopes_and_all_claims() {
        let verified = check(good_claims()).expect("valid");
        assert_eq!(verified.subject, "auth0|dave");
        assert!(verified.scopes.contains("read:todos"));
        // Auth0's `permissions` names what the user holds, not what the token was granted.
        assert!(!verified.scopes.contains("read:billing"));
        let claims = verified.claims_json().expect("serializes");
        assert_eq!(claims["client_id"], "mcp");
        assert_eq!(
            claims["permissions"][0], "read:billing",
            "kept among all claims"
        );
        assert_eq!(claims["exp"], NOW + 300);
        assert_eq!(claims["aud"][0], "urn:todos-api");
    }

    #[test]
    fn a_remembered_token_is_checked_again_like_a_new_one() {
        let verified = check(good_claims()).expect("valid");
        assert_eq!(verified.recheck(POLICY, NOW), Ok(()));
        // `exp` is NOW + 300; the leeway is 60 s.
        assert_eq!(verified.accepted_until(), NOW + 360);
        assert_eq!(verified.recheck(POLICY, NOW + 360), Ok(()));
        assert_eq!(
            verified.recheck(POLICY, NOW + 361),
            Err(TokenError::Expired)
        );
        let other_api = ClaimsPolicy {
            audience: "urn:other-api",
            ..POLICY
        };
        assert_eq!(verified.recheck(other_api, NOW), Err(TokenError::Audience));
    }

    #[test]
    fn header_exposes_kid_signature_and_signing_input() {
        let raw = token(rs256_header(), good_claims());
        let parsed = UnverifiedToken::parse(&raw).expect("parses");
        assert_eq!(parsed.key_id(), "k1");
        assert_eq!(parsed.signature(), b"not-a-real-signature");
        let dot = raw.rfind('.').expect("dot");
        assert_eq!(parsed.signing_input(), &raw.as_bytes()[..dot]);
    }

    #[test]
    fn only_rs256_is_accepted() {
        for alg in ["none", "HS256", "RS384", "PS256", "ES256", "rs256"] {
            let raw = token(serde_json::json!({"alg": alg, "kid": "k1"}), good_claims());
            assert_eq!(
                UnverifiedToken::parse(&raw).map(|_| ()),
                Err(TokenError::Algorithm(alg.to_owned())),
                "{alg}"
            );
        }
    }

    #[test]
    fn unsigned_token_with_empty_signature_is_rejected_for_its_algorithm() {
        let raw = format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(good_claims().to_string().as_bytes())
        );
        assert!(matches!(
            UnverifiedToken::parse(&raw),
            Err(TokenError::Algorithm(_))
        ));
    }

    #[test]
    fn header_without_kid_or_with_crit_or_foreign_typ_is_rejected() {
        let no_kid = token(serde_json::json!({"alg": "RS256"}), good_claims());
        assert_eq!(
            UnverifiedToken::parse(&no_kid).map(|_| ()),
            Err(TokenError::MissingKeyId)
        );
        let crit = token(
            serde_json::json!({"alg": "RS256", "kid": "k1", "crit": ["b64"], "b64": false}),
            good_claims(),
        );
        assert_eq!(
            UnverifiedToken::parse(&crit).map(|_| ()),
            Err(TokenError::CriticalHeader)
        );
        let id_token_type = token(
            serde_json::json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"}),
            good_claims(),
        );
        assert!(matches!(
            UnverifiedToken::parse(&id_token_type),
            Err(TokenError::WrongType(_))
        ));
        let auth0_type = token(
            serde_json::json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}),
            good_claims(),
        );
        assert!(UnverifiedToken::parse(&auth0_type).is_ok());
    }

    #[test]
    fn garbage_is_malformed() {
        for raw in ["garbage", "a.b", "a.b.c.d.e", "!!!.???.***", ""] {
            assert!(
                matches!(UnverifiedToken::parse(raw), Err(TokenError::Malformed(_))),
                "{raw}"
            );
        }
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            UnverifiedToken::parse(&huge),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn issuer_must_match_exactly() {
        for iss in ["http://localhost:8790", "https://localhost:8790/", "evil"] {
            assert_eq!(
                check(with(good_claims(), "iss", iss.into())).map(|_| ()),
                Err(TokenError::Issuer)
            );
        }
        assert_eq!(
            check(without(good_claims(), "iss")).map(|_| ()),
            Err(TokenError::Issuer)
        );
    }

    #[test]
    fn audience_may_be_a_string_or_an_array_but_must_include_the_api() {
        assert!(check(with(good_claims(), "aud", "urn:todos-api".into())).is_ok());
        for aud in [
            serde_json::json!("urn:other"),
            serde_json::json!(["urn:other"]),
            serde_json::json!([]),
            serde_json::json!(42),
        ] {
            let result = check(with(good_claims(), "aud", aud.clone())).map(|_| ());
            assert!(
                matches!(
                    result,
                    Err(TokenError::Audience | TokenError::MalformedClaims(_))
                ),
                "{aud}"
            );
        }
        assert_eq!(
            check(without(good_claims(), "aud")).map(|_| ()),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn expiry_is_required_and_has_sixty_seconds_of_leeway() {
        assert_eq!(
            check(without(good_claims(), "exp")).map(|_| ()),
            Err(TokenError::MissingExpiry)
        );
        assert!(check(with(good_claims(), "exp", (NOW - 59).into())).is_ok());
        assert_eq!(
            check(with(good_claims(), "exp", (NOW - 61).into())).map(|_| ()),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn not_before_is_honoured_with_leeway() {
        assert!(check(with(good_claims(), "nbf", (NOW + 59).into())).is_ok());
        assert_eq!(
            check(with(good_claims(), "nbf", (NOW + 61).into())).map(|_| ()),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn subject_is_required_and_bounded() {
        assert_eq!(
            check(without(good_claims(), "sub")).map(|_| ()),
            Err(TokenError::Subject)
        );
        assert_eq!(
            check(with(good_claims(), "sub", "".into())).map(|_| ()),
            Err(TokenError::Subject)
        );
        let long = "x".repeat(MAX_SUBJECT_BYTES + 1);
        assert_eq!(
            check(with(good_claims(), "sub", long.into())).map(|_| ()),
            Err(TokenError::Subject)
        );
    }

    #[test]
    fn claims_that_are_not_an_object_are_malformed() {
        let raw = format!(
            "{}.{}.{}",
            b64(rs256_header().to_string().as_bytes()),
            b64(b"[1,2,3]"),
            b64(b"sig")
        );
        let parsed = UnverifiedToken::parse(&raw).expect("header is fine");
        assert!(matches!(
            parsed.claims_after_signature_check(POLICY, NOW),
            Err(TokenError::MalformedClaims(_))
        ));
    }
}
