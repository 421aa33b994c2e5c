//! ID token parsing and claims validation (OIDC Core §3.1.3.7), pure.
//!
//! The signature is checked by the caller against the issuer's JWKS through WebCrypto
//! ([`crate::upstream::client`]); everything else, every claim rule, lives here and is tested on
//! the host.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;

use crate::grant::UserClaims;

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;

/// How old an ID token's `iat` may be at the callback (OIDC Core §3.1.3.7 step 10 lets the client
/// bound it): ten minutes, the life of the `state` it answers.
pub const MAX_AGE_SECONDS: u64 = 600;

/// Why an ID token was refused. The text names the rule, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenError(pub &'static str);

impl std::fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ID token refused: {}", self.0)
    }
}

/// The JOSE header fields that matter here (RFC 7515 §4.1).
#[derive(Debug, Clone)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
}

/// A compact JWS split into its parts, not yet trusted.
pub struct UntrustedJwt {
    pub header: Header,
    pub claims: Value,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, what the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS (RFC 7515 §7.1). Only `RS256` and `ES256` are accepted:
/// `none` and symmetric algorithms are refused (OIDC Core §3.1.3.7 step 7, RFC 8725 §3.1).
pub fn parse(token: &str) -> Result<UntrustedJwt, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError("not a compact JWS"));
    };
    let decode = |part: &str| {
        Base64UrlUnpadded::decode_vec(part).map_err(|_| IdTokenError("a segment is not base64url"))
    };
    let mut fields = crate::json::Fields::parse_bytes(&decode(header)?)
        .map_err(|_| IdTokenError("the header is not a JSON object"))?;
    let header = Header {
        alg: fields
            .string("alg")
            .map_err(|_| IdTokenError("the header has no alg"))?,
        kid: fields
            .opt_string("kid")
            .map_err(|_| IdTokenError("the header's kid is not a string"))?,
    };
    if header.alg != "RS256" && header.alg != "ES256" {
        return Err(IdTokenError(
            "signing algorithm not accepted (RS256 or ES256 only)",
        ));
    }
    let claims: Value = crate::json::parse_bytes(&decode(payload)?)
        .map_err(|_| IdTokenError("the payload is not JSON"))?;
    if !claims.is_object() {
        return Err(IdTokenError("the payload is not a JSON object"));
    }
    let signature = decode(signature)?;
    let signing_input =
        token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1].to_owned();
    Ok(UntrustedJwt {
        header,
        claims,
        signing_input,
        signature,
    })
}

/// What the claims must match.
pub struct Expected<'a> {
    /// The issuer from configuration (= discovery `issuer`).
    pub issuer: &'a str,
    /// This worker's client id at the provider.
    pub client_id: &'a str,
    /// The `nonce` sent with the authorization request; `None` for a refreshed ID token, which
    /// OIDC Core §12.2 does not require to carry one.
    pub nonce: Option<&'a str>,
    /// For a refreshed ID token: the `sub` it must keep (OIDC Core §12.2).
    pub subject: Option<&'a str>,
    /// Now, in seconds since the epoch.
    pub now: u64,
}

fn string_claim<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

fn number_claim(claims: &Value, name: &str) -> Option<u64> {
    claims
        .get(name)
        .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
}

/// Validates the claims of a signature-checked ID token (OIDC Core §3.1.3.7 steps 2-11) and
/// returns the user's identity claims.
pub fn validate_claims(
    claims: &Value,
    expected: &Expected<'_>,
) -> Result<UserClaims, IdTokenError> {
    // Step 2: the issuer must match exactly.
    if string_claim(claims, "iss") != Some(expected.issuer) {
        return Err(IdTokenError("iss does not match the configured issuer"));
    }
    // Step 3: aud must contain our client id, and the token is refused if it "contains
    // additional audiences not trusted by the Client". This client trusts no other audience (an
    // ID token is for its client alone; Auth0 and most providers write one), so every entry must
    // be us, and steps 4-5 (azp with several audiences) have nothing left to decide. An entry
    // that is not a string is another audience too.
    let ours = |aud: &Value| aud.as_str() == Some(expected.client_id);
    match claims.get("aud") {
        Some(aud @ Value::String(_)) if ours(aud) => {}
        Some(Value::Array(list)) if !list.is_empty() && list.iter().all(ours) => {}
        Some(Value::String(_) | Value::Array(_)) => {
            return Err(IdTokenError("aud is not this client alone"));
        }
        None => return Err(IdTokenError("aud is missing")),
        Some(_) => return Err(IdTokenError("aud is malformed")),
    }
    // Step 5: azp, when present, must be us (a string: OIDC Core §2).
    match claims.get("azp") {
        None => {}
        Some(Value::String(azp)) if azp == expected.client_id => {}
        Some(Value::String(_)) => return Err(IdTokenError("azp is another client")),
        Some(_) => return Err(IdTokenError("azp is malformed")),
    }
    // Step 9: not expired (with leeway for clock skew).
    let exp = number_claim(claims, "exp").ok_or(IdTokenError("exp is missing"))?;
    // Saturating throughout: the claims are the provider's numbers, and must not wrap around.
    if exp.saturating_add(LEEWAY_SECONDS) <= expected.now {
        return Err(IdTokenError("expired"));
    }
    // Step 10: iat present, not in the future, not too old.
    let iat = number_claim(claims, "iat").ok_or(IdTokenError("iat is missing"))?;
    if iat > expected.now.saturating_add(LEEWAY_SECONDS) {
        return Err(IdTokenError("iat is in the future"));
    }
    if expected.nonce.is_some()
        && iat.saturating_add(MAX_AGE_SECONDS + LEEWAY_SECONDS) < expected.now
    {
        return Err(IdTokenError("iat is too old"));
    }
    // Step 11: the nonce must be the one this browser's sign-in sent (replay defence, §15.5.2).
    if let Some(nonce) = expected.nonce
        && string_claim(claims, "nonce") != Some(nonce)
    {
        return Err(IdTokenError("nonce does not match"));
    }
    let sub = string_claim(claims, "sub")
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError("sub is missing"))?;
    if let Some(subject) = expected.subject
        && sub != subject
    {
        return Err(IdTokenError("sub changed on refresh"));
    }
    Ok(UserClaims {
        sub: sub.to_owned(),
        email: string_claim(claims, "email").map(str::to_owned),
        email_verified: claims.get("email_verified").and_then(Value::as_bool),
        name: string_claim(claims, "name").map(str::to_owned),
        nickname: string_claim(claims, "nickname").map(str::to_owned),
        picture: string_claim(claims, "picture").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://idp.example.com/",
            client_id: "client-1",
            nonce: Some("n-1"),
            subject: None,
            now: NOW,
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://idp.example.com/", "aud": "client-1", "sub": "auth0|dave", "exp": NOW + 3600, "iat": NOW - 5,
               "nonce": "n-1", "email": "dave@example.com", "email_verified": true, "name": "Dave"})
    }

    fn refused(mutate: impl FnOnce(&mut Value)) -> &'static str {
        let mut c = claims();
        mutate(&mut c);
        validate_claims(&c, &expected()).unwrap_err().0
    }

    #[test]
    fn valid_claims_give_the_user() {
        let user = validate_claims(&claims(), &expected()).unwrap();
        assert_eq!(user.sub, "auth0|dave");
        assert_eq!(user.email.as_deref(), Some("dave@example.com"));
        assert_eq!(user.email_verified, Some(true));
        let mut far = claims();
        far["exp"] = json!(u64::MAX);
        assert!(validate_claims(&far, &expected()).is_ok(), "no overflow");
    }

    #[test]
    fn each_claim_rule_refuses() {
        assert!(refused(|c| c["iss"] = json!("https://evil.example.com/")).contains("iss"));
        assert!(refused(|c| c["aud"] = json!("other")).contains("aud"));
        assert!(refused(|c| c["aud"] = json!(["client-1", "other"])).contains("aud"));
        assert!(refused(|c| c["aud"] = json!([])).contains("aud"));
        assert!(refused(|c| c["aud"] = json!(["client-1", 7])).contains("aud"));
        assert_eq!(refused(|c| c["aud"] = json!(7)), "aud is malformed");
        assert_eq!(
            refused(|c| {
                c.as_object_mut().map(|o| o.remove("aud"));
            }),
            "aud is missing"
        );
        assert_eq!(refused(|c| c["azp"] = json!(7)), "azp is malformed");
        assert_eq!(refused(|c| c["azp"] = json!(null)), "azp is malformed");
        assert!(refused(|c| c["azp"] = json!("other")).contains("azp"));
        assert!(refused(|c| c["exp"] = json!(NOW - 61)).contains("expired"));
        assert!(refused(|c| c["iat"] = json!(NOW + 120)).contains("future"));
        assert!(refused(|c| c["iat"] = json!(NOW - 3600)).contains("old"));
        assert!(refused(|c| c["iat"] = json!(u64::MAX)).contains("future"));
        assert!(refused(|c| c["nonce"] = json!("n-2")).contains("nonce"));
        assert!(
            refused(|c| c
                .as_object_mut()
                .unwrap()
                .remove("nonce")
                .map(|_| ())
                .unwrap_or(()))
            .contains("nonce")
        );
        assert!(refused(|c| c["sub"] = json!("")).contains("sub"));
    }

    #[test]
    fn another_audience_is_refused_even_with_our_azp() {
        // OIDC Core §3.1.3.7 step 3: an ID token also meant for another party (here the API) is
        // refused; azp naming us does not make the other audience trusted.
        let mut c = claims();
        c["aud"] = json!(["client-1", "urn:todos-api"]);
        c["azp"] = json!("client-1");
        assert!(
            validate_claims(&c, &expected())
                .unwrap_err()
                .0
                .contains("aud")
        );
    }

    #[test]
    fn our_client_id_as_a_list_passes() {
        let mut c = claims();
        c["aud"] = json!(["client-1"]);
        assert!(validate_claims(&c, &expected()).is_ok());
        c["azp"] = json!("client-1");
        assert!(validate_claims(&c, &expected()).is_ok());
    }

    #[test]
    fn refreshed_token_needs_same_sub_but_no_nonce() {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("nonce");
        let e = Expected {
            nonce: None,
            subject: Some("auth0|dave"),
            ..expected()
        };
        assert!(validate_claims(&c, &e).is_ok());
        let e = Expected {
            nonce: None,
            subject: Some("alice"),
            ..expected()
        };
        assert!(validate_claims(&c, &e).is_err());
    }

    #[test]
    fn parse_refuses_none_and_hs256_and_splits_signing_input() {
        let enc = |v: &Value| Base64UrlUnpadded::encode_string(v.to_string().as_bytes());
        let payload = enc(&claims());
        for alg in ["none", "HS256"] {
            let token = format!("{}.{}.", enc(&json!({"alg": alg})), payload);
            assert!(parse(&token).is_err());
        }
        let header = enc(&json!({"alg": "RS256", "kid": "k1"}));
        let token = format!("{header}.{payload}.AQID");
        let jwt = parse(&token).unwrap();
        assert_eq!(jwt.signing_input, format!("{header}.{payload}"));
        assert_eq!(jwt.signature, vec![1, 2, 3]);
        assert_eq!(jwt.header.kid.as_deref(), Some("k1"));
        assert!(parse("a.b").is_err());
    }
}
