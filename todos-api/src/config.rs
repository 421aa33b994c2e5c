//! Configuration: the worker's vars, read once into a typed [`Config`].
//!
//! Every value is checked here, so a missing or malformed var fails with a message that names
//! it instead of surfacing later as a confusing token rejection.

use std::fmt;

use crate::fetch_url::FetchUrl;

/// Names of the vars this worker reads (`[vars]` in `wrangler.toml`).
pub mod vars {
    /// Auth0 tenant domain (`tenant.us.auth0.com`); the issuer becomes `https://<domain>/`.
    pub const AUTH0_DOMAIN: &str = "AUTH0_DOMAIN";
    /// The API identifier that access tokens must carry in `aud`.
    pub const AUTH0_AUDIENCE: &str = "AUTH0_AUDIENCE";
    /// Full issuer URL of any OpenID provider; wins over `AUTH0_DOMAIN`.
    pub const OIDC_ISSUER: &str = "OIDC_ISSUER";
    /// Optional JWKS URL; without it the `jwks_uri` of the issuer's discovery document is used.
    pub const JWKS_URL: &str = "JWKS_URL";
    /// `info` (default) or `debug` (one JSON line per request decision).
    pub const LOG_LEVEL: &str = "LOG_LEVEL";
}

/// How much the worker logs, least first: the MCP worker's levels, so one `LOG_LEVEL` fits both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Only failures that an operator must see (key fetch errors, internal errors).
    Error,
    /// Also keys skipped in the issuer's key set.
    Warn,
    /// As `warn`: this worker has no start-up or sweep lines of its own.
    Info,
    /// Also one JSON line per request decision (route, subject, scope decision, outcome).
    Debug,
}

/// Where the issuer's signing keys are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// OpenID Connect Discovery 1.0 §4: this document's `jwks_uri` names the key set.
    Discovery(FetchUrl),
    /// A key set URL configured directly (`JWKS_URL`).
    KeySet(FetchUrl),
}

/// The worker's configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The issuer exactly as tokens must carry it in `iss` (RFC 7519 §4.1.1 compares strings).
    pub issuer: String,
    /// The audience this resource server identifies itself with (RFC 7519 §4.1.3).
    pub audience: String,
    /// Where the signing keys come from.
    pub keys: KeySource,
    /// How much to log.
    pub log_level: LogLevel,
}

/// A missing or malformed var, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The var at fault.
    pub var: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration variable {} {}", self.var, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the configuration through `lookup` (var name → value). Empty values count as unset,
    /// so an environment can blank out a default from `wrangler.toml`.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };

        let issuer = match (get(vars::OIDC_ISSUER), get(vars::AUTH0_DOMAIN)) {
            (Some(issuer), _) => {
                parse_issuer(vars::OIDC_ISSUER, &issuer)?;
                issuer
            }
            (None, Some(domain)) => issuer_from_auth0_domain(&domain)?,
            (None, None) => {
                return Err(ConfigError::new(
                    vars::OIDC_ISSUER,
                    format!("is not set (set it, or {})", vars::AUTH0_DOMAIN),
                ));
            }
        };

        let audience = get(vars::AUTH0_AUDIENCE)
            .ok_or_else(|| ConfigError::new(vars::AUTH0_AUDIENCE, "is not set"))?;

        let keys = match get(vars::JWKS_URL) {
            Some(jwks_url) => KeySource::KeySet(parse_fetchable_url(vars::JWKS_URL, &jwks_url)?),
            None => KeySource::Discovery(discovery_url(&issuer)?),
        };

        let log_level = match get(vars::LOG_LEVEL).map(|level| level.to_ascii_lowercase()) {
            None => LogLevel::Info,
            Some(level) if level == "error" => LogLevel::Error,
            Some(level) if level == "warn" => LogLevel::Warn,
            Some(level) if level == "info" => LogLevel::Info,
            Some(level) if level == "debug" => LogLevel::Debug,
            Some(level) => {
                return Err(ConfigError::new(
                    vars::LOG_LEVEL,
                    format!("must be `error`, `warn`, `info` or `debug`, not `{level}`"),
                ));
            }
        };

        Ok(Self {
            issuer,
            audience,
            keys,
            log_level,
        })
    }
}

/// Parses a URL this worker will fetch from: `https`, or `http` only on a loopback host, so keys
/// are never fetched in the clear across a network (RFC 8725 §3.10 warns about key URLs).
pub fn parse_fetchable_url(var: &'static str, value: &str) -> Result<FetchUrl, ConfigError> {
    FetchUrl::parse(value).map_err(|problem| ConfigError::new(var, problem.to_string()))
}

/// Checks an issuer identifier: a fetchable URL without query or fragment
/// (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
fn parse_issuer(var: &'static str, value: &str) -> Result<FetchUrl, ConfigError> {
    let url = parse_fetchable_url(var, value)?;
    if url.has_query_or_fragment() {
        return Err(ConfigError::new(var, "must not have a query or fragment"));
    }
    Ok(url)
}

/// Auth0 issuers are `https://<domain>/`, trailing slash included.
fn issuer_from_auth0_domain(domain: &str) -> Result<String, ConfigError> {
    let var = vars::AUTH0_DOMAIN;
    let bare_host = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !bare_host {
        return Err(ConfigError::new(
            var,
            format!("must be a bare host name such as `tenant.us.auth0.com`, not `{domain}`"),
        ));
    }
    let issuer = format!("https://{domain}/");
    parse_issuer(var, &issuer)?;
    Ok(issuer)
}

/// OpenID Connect Discovery 1.0 §4: the issuer, without a trailing `/`, followed by
/// `/.well-known/openid-configuration`.
fn discovery_url(issuer: &str) -> Result<FetchUrl, ConfigError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    parse_fetchable_url(vars::OIDC_ISSUER, &url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(move |name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn local_defaults_give_a_discovery_url_on_the_loopback_issuer() {
        let config = config(&[
            ("OIDC_ISSUER", "http://localhost:8790/"),
            ("AUTH0_AUDIENCE", "urn:todos-api"),
        ])
        .expect("valid");
        assert_eq!(config.issuer, "http://localhost:8790/");
        assert_eq!(config.audience, "urn:todos-api");
        assert_eq!(config.log_level, LogLevel::Info);
        assert_eq!(
            config.keys,
            KeySource::Discovery(
                FetchUrl::parse("http://localhost:8790/.well-known/openid-configuration")
                    .expect("url")
            )
        );
    }

    #[test]
    fn auth0_domain_becomes_an_https_issuer_with_trailing_slash() {
        let config = config(&[
            ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
            ("AUTH0_AUDIENCE", "urn:todos-api"),
            ("LOG_LEVEL", "DEBUG"),
        ])
        .expect("valid");
        assert_eq!(config.issuer, "https://tenant.us.auth0.com/");
        assert_eq!(config.log_level, LogLevel::Debug);
    }

    #[test]
    fn log_levels_are_the_mcp_workers_own() {
        for (name, level) in [
            ("error", LogLevel::Error),
            ("warn", LogLevel::Warn),
            ("info", LogLevel::Info),
            ("debug", LogLevel::Debug),
        ] {
            let config = config(&[
                ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
                ("AUTH0_AUDIENCE", "urn:todos-api"),
                ("LOG_LEVEL", name),
            ])
            .expect("valid");
            assert_eq!(config.log_level, level, "{name}");
        }
        let refused = config(&[
            ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
            ("AUTH0_AUDIENCE", "urn:todos-api"),
            ("LOG_LEVEL", "verbose"),
        ]);
        assert!(refused.is_err());
    }

    #[test]
    fn oidc_issuer_wins_over_auth0_domain() {
        let config = config(&[
            ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
            ("OIDC_ISSUER", "https://idp.example.com/realms/x"),
            ("AUTH0_AUDIENCE", "a"),
        ])
        .expect("valid");
        assert_eq!(config.issuer, "https://idp.example.com/realms/x");
        assert_eq!(
            config.keys,
            KeySource::Discovery(
                FetchUrl::parse(
                    "https://idp.example.com/realms/x/.well-known/openid-configuration"
                )
                .expect("url")
            )
        );
    }

    #[test]
    fn empty_oidc_issuer_falls_back_to_auth0_domain() {
        let config = config(&[
            ("OIDC_ISSUER", ""),
            ("AUTH0_DOMAIN", "t.eu.auth0.com"),
            ("AUTH0_AUDIENCE", "a"),
        ])
        .expect("valid");
        assert_eq!(config.issuer, "https://t.eu.auth0.com/");
    }

    #[test]
    fn http_issuer_is_accepted_only_on_loopback_hosts() {
        for ok in [
            "http://localhost:8790/",
            "http://127.0.0.1:1/",
            "http://127.8.9.10/",
            "http://[::1]:8790/",
        ] {
            assert!(
                config(&[("OIDC_ISSUER", ok), ("AUTH0_AUDIENCE", "a")]).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
        ] {
            let err = config(&[("OIDC_ISSUER", bad), ("AUTH0_AUDIENCE", "a")]).expect_err(bad);
            assert_eq!(err.var, "OIDC_ISSUER");
            assert!(err.to_string().contains("OIDC_ISSUER"));
        }
    }

    #[test]
    fn missing_or_malformed_values_name_the_variable() {
        assert_eq!(
            config(&[("AUTH0_AUDIENCE", "a")])
                .expect_err("no issuer")
                .var,
            "OIDC_ISSUER"
        );
        assert_eq!(
            config(&[("OIDC_ISSUER", "https://x/")])
                .expect_err("no audience")
                .var,
            "AUTH0_AUDIENCE"
        );
        assert_eq!(
            config(&[
                ("AUTH0_DOMAIN", "https://t.auth0.com"),
                ("AUTH0_AUDIENCE", "a")
            ])
            .expect_err("scheme in domain")
            .var,
            "AUTH0_DOMAIN"
        );
        assert_eq!(
            config(&[
                ("OIDC_ISSUER", "https://x/"),
                ("AUTH0_AUDIENCE", "a"),
                ("JWKS_URL", "ftp://x/jwks")
            ])
            .expect_err("scheme")
            .var,
            "JWKS_URL"
        );
        assert_eq!(
            config(&[
                ("OIDC_ISSUER", "https://x/"),
                ("AUTH0_AUDIENCE", "a"),
                ("LOG_LEVEL", "trace")
            ])
            .expect_err("level")
            .var,
            "LOG_LEVEL"
        );
        assert_eq!(
            config(&[("OIDC_ISSUER", "https://x/?a=b"), ("AUTH0_AUDIENCE", "a")])
                .expect_err("query")
                .var,
            "OIDC_ISSUER"
        );
        assert_eq!(
            config(&[("OIDC_ISSUER", "not a url"), ("AUTH0_AUDIENCE", "a")])
                .expect_err("relative")
                .var,
            "OIDC_ISSUER"
        );
    }

    #[test]
    fn jwks_url_replaces_discovery() {
        let config = config(&[
            ("OIDC_ISSUER", "https://x.example/"),
            ("AUTH0_AUDIENCE", "a"),
            ("JWKS_URL", "https://x.example/.well-known/jwks.json"),
        ])
        .expect("valid");
        assert_eq!(
            config.keys,
            KeySource::KeySet(
                FetchUrl::parse("https://x.example/.well-known/jwks.json").expect("url")
            )
        );
    }
}
