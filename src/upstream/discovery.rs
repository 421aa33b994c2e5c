//! The identity provider's OpenID Connect Discovery document (OIDC Discovery 1.0 §3), pure.

use crate::json::{Fields, FromFields};
use crate::web_url::WebUrl;

/// The fields of the discovery document this worker uses.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: Option<String>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Whether the provider names itself in `iss` on every authorization response (RFC 9207 §3);
    /// if so, a response without it is refused (RFC 9207 §2.4).
    pub authorization_response_iss_parameter_supported: bool,
}

/// The document's fields (OIDC Discovery §3: the first four are required).
impl FromFields for Discovery {
    fn from_fields(doc: &mut Fields) -> Result<Self, String> {
        Ok(Discovery {
            issuer: doc.string("issuer")?,
            authorization_endpoint: doc.string("authorization_endpoint")?,
            token_endpoint: doc.string("token_endpoint")?,
            jwks_uri: doc.string("jwks_uri")?,
            revocation_endpoint: doc.opt_string("revocation_endpoint")?,
            code_challenge_methods_supported: doc
                .opt_strings("code_challenge_methods_supported")?,
            authorization_response_iss_parameter_supported: doc
                .opt_bool("authorization_response_iss_parameter_supported")?
                .unwrap_or(false),
        })
    }
}

/// Why a discovery document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryError(pub String);

impl std::fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "discovery document refused: {}", self.0)
    }
}

/// Where the discovery document of `issuer` lives (OIDC Discovery §4.1: the issuer, without a
/// trailing slash, plus `/.well-known/openid-configuration`).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

fn endpoint_ok(raw: &str, issuer: &WebUrl) -> bool {
    let Some(url) = WebUrl::parse(raw) else {
        return false;
    };
    // TLS everywhere (OAuth 2.1 §1.5); an http issuer (loopback only, checked in config) may
    // have http endpoints on its own host.
    url.scheme() == "https"
        || (url.scheme() == "http"
            && issuer.scheme() == "http"
            && url.hostname() == issuer.hostname())
}

/// Parses and checks a discovery document: its `issuer` must equal the configured one exactly
/// (OIDC Discovery §4.3, the mix-up defence of RFC 9700 §4.4), its endpoints must be https, and
/// if it lists PKCE methods, S256 must be one (RFC 7636 §4.2).
pub fn parse(body: &str, configured_issuer: &str) -> Result<Discovery, DiscoveryError> {
    let doc = Discovery::from_json(body)
        .map_err(|e| DiscoveryError(format!("not the expected JSON: {e}")))?;
    if doc.issuer != configured_issuer {
        return Err(DiscoveryError(
            "its issuer differs from the configured issuer".into(),
        ));
    }
    let issuer = WebUrl::parse(configured_issuer)
        .ok_or_else(|| DiscoveryError("the issuer is not a URL".into()))?;
    for (name, endpoint) in [
        ("authorization_endpoint", &doc.authorization_endpoint),
        ("token_endpoint", &doc.token_endpoint),
        ("jwks_uri", &doc.jwks_uri),
    ] {
        if !endpoint_ok(endpoint, &issuer) {
            return Err(DiscoveryError(format!("{name} is not an https URL")));
        }
    }
    if let Some(methods) = &doc.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(DiscoveryError(
            "the provider does not support PKCE S256".into(),
        ));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"issuer":"https://t.auth0.com/","authorization_endpoint":"https://t.auth0.com/authorize",
        "token_endpoint":"https://t.auth0.com/oauth/token","jwks_uri":"https://t.auth0.com/.well-known/jwks.json",
        "code_challenge_methods_supported":["S256","plain"]}"#;

    #[test]
    fn url_and_valid_document() {
        assert_eq!(
            discovery_url("https://t.auth0.com/"),
            "https://t.auth0.com/.well-known/openid-configuration"
        );
        assert_eq!(
            parse(DOC, "https://t.auth0.com/").unwrap().token_endpoint,
            "https://t.auth0.com/oauth/token"
        );
        assert!(
            !parse(DOC, "https://t.auth0.com/")
                .unwrap()
                .authorization_response_iss_parameter_supported
        );
        let with_iss = DOC.replace(
            "\"code_challenge",
            "\"authorization_response_iss_parameter_supported\":true,\"code_challenge",
        );
        assert!(
            parse(&with_iss, "https://t.auth0.com/")
                .unwrap()
                .authorization_response_iss_parameter_supported
        );
    }

    #[test]
    fn issuer_mismatch_and_plain_endpoints_are_refused() {
        assert!(parse(DOC, "https://t.auth0.com").is_err());
        let http = DOC.replace("https://t.auth0.com/oauth", "http://t.auth0.com/oauth");
        assert!(parse(&http, "https://t.auth0.com/").is_err());
        let no_s256 = DOC.replace("\"S256\",", "");
        assert!(parse(&no_s256, "https://t.auth0.com/").is_err());
    }
}
