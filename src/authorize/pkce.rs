//! The PKCE rule for MCP clients, and OAuth error redirects to a validated redirect URI. Pure.

use crate::web_url::WebUrl;

/// Checks the client's PKCE parameters: present, `S256`, and a well-formed challenge
/// (OAuth 2.1 §4.1.1 requires PKCE and forbids `plain` where S256 is possible; RFC 7636 §4.2:
/// the S256 challenge is 43 base64url characters; RFC 9700 §2.1.1).
pub fn check(method: Option<&str>, challenge: Option<&str>) -> Result<(), &'static str> {
    let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
        return Err("code_challenge is required (PKCE)");
    };
    if method != Some("S256") {
        return Err("code_challenge_method must be S256");
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("code_challenge is not an S256 challenge");
    }
    Ok(())
}

/// An authorization error response (RFC 6749 §4.1.2.1) with `iss` (RFC 9207 §2). Only for a
/// redirect URI the library validated.
pub fn error_redirect(
    redirect_uri: &str,
    code: &str,
    description: &str,
    state: Option<&str>,
    issuer: Option<&str>,
) -> String {
    let Some(mut url) = WebUrl::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    let existing = url.query_pairs();
    let mut query: Vec<(&str, &str)> = existing
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "error" | "error_description" | "error_uri" | "state" | "iss"
            )
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    query.extend([("error", code), ("error_description", description)]);
    if let Some(state) = state {
        query.push(("state", state));
    }
    if let Some(issuer) = issuer {
        query.push(("iss", issuer));
    }
    url.set_query_pairs(&query);
    url.href()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_passes_and_missing_or_plain_fail() {
        assert!(check(Some("S256"), Some(CHALLENGE)).is_ok());
        assert!(check(None, None).is_err());
        assert!(check(Some("S256"), None).is_err());
        assert!(check(Some("plain"), Some(CHALLENGE)).is_err());
        assert!(check(None, Some(CHALLENGE)).is_err());
        assert!(check(Some("S256"), Some("short")).is_err());
    }

    #[test]
    fn error_redirect_carries_state_and_iss_and_keeps_client_query() {
        let url = error_redirect(
            "http://127.0.0.1:9/cb?x=1&state=old",
            "invalid_request",
            "PKCE",
            Some("s 1"),
            Some("http://localhost:8788"),
        );
        assert_eq!(
            url,
            "http://127.0.0.1:9/cb?x=1&error=invalid_request&error_description=PKCE&state=s+1&iss=http%3A%2F%2Flocalhost%3A8788"
        );
    }
}
