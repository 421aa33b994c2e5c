//! Reading the access token out of the `Authorization` request header (RFC 6750 §2.1).
//!
//! Only the header method is supported: RFC 6750 §2.3 says the URI query method SHOULD NOT be
//! used, and §5.3 asks clients not to put tokens in page URLs, where they end up in logs.

/// Why an `Authorization: Bearer …` header could not be read: its token is malformed, which
/// RFC 6750 §3.1 answers as `invalid_token` (HTTP 401), like any other unusable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedAuthorization(pub &'static str);

/// Returns the bearer token from an `Authorization` header value.
///
/// - No header, or a header for another scheme (`Basic …`): `Ok(None)`; the request carries no
///   bearer credentials, so the answer is a bare challenge (RFC 6750 §3.1, last paragraph).
/// - `Bearer` without a token, or with a token outside the `b64token` syntax (this includes two
///   headers joined by a comma): `Err`, answered with `invalid_token` (RFC 6750 §3.1).
/// - Otherwise the token, still unchecked.
pub fn bearer_token(header: Option<&str>) -> Result<Option<&str>, MalformedAuthorization> {
    let Some(value) = header.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    // RFC 7235 §2.1: credentials = auth-scheme [ 1*SP token68 ]; the scheme is case-insensitive.
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(MalformedAuthorization(
            "the Bearer authorization header has no token",
        ));
    }
    if !is_b64token(token) {
        return Err(MalformedAuthorization(
            "the bearer token is not in b64token syntax (RFC 6750 section 2.1)",
        ));
    }
    Ok(Some(token))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_header_means_no_credentials() {
        assert_eq!(bearer_token(None), Ok(None));
        assert_eq!(bearer_token(Some("   ")), Ok(None));
    }

    #[test]
    fn another_scheme_means_no_bearer_credentials() {
        assert_eq!(bearer_token(Some("Basic YWxpY2U6c2VjcmV0")), Ok(None));
    }

    #[test]
    fn scheme_is_case_insensitive_and_token_is_returned() {
        assert_eq!(
            bearer_token(Some("Bearer abc.def.ghi")),
            Ok(Some("abc.def.ghi"))
        );
        assert_eq!(
            bearer_token(Some("bearer  abc.def-_~+/==")),
            Ok(Some("abc.def-_~+/=="))
        );
    }

    #[test]
    fn bearer_without_a_token_is_malformed() {
        assert!(bearer_token(Some("Bearer")).is_err());
        assert!(bearer_token(Some("Bearer    ")).is_err());
    }

    #[test]
    fn tokens_outside_b64token_are_malformed() {
        assert!(bearer_token(Some("Bearer a b")).is_err());
        assert!(bearer_token(Some("Bearer a.b.c, Bearer d.e.f")).is_err());
        assert!(bearer_token(Some("Bearer \"quoted\"")).is_err());
        assert!(bearer_token(Some("Bearer ===")).is_err());
        assert!(bearer_token(Some("Bearer a=b")).is_err());
    }
}
