//! Configuration: the worker's vars and secrets, read once per request into a typed [`Config`].
//!
//! Every value is checked here, so a missing or malformed setting fails with a message that
//! names it (never its value, which may be a secret) instead of surfacing later as a confusing
//! upstream rejection. This module is pure: it reads through a lookup function, so host tests
//! cover it without a Workers runtime.

use std::fmt;

use crate::web_url::{WebUrl, is_loopback_host};

use crate::log::Level;

/// Names of the settings this worker reads (`[vars]` in `wrangler.toml`, secrets in `.dev.vars`
/// locally and `wrangler secret put` when deployed).
pub mod vars {
    /// Auth0 tenant domain (`tenant.us.auth0.com`); the issuer becomes `https://<domain>/`.
    pub const AUTH0_DOMAIN: &str = "AUTH0_DOMAIN";
    /// The client id of this worker's application at the identity provider.
    pub const AUTH0_CLIENT_ID: &str = "AUTH0_CLIENT_ID";
    /// Secret: the client secret of that application.
    pub const AUTH0_CLIENT_SECRET: &str = "AUTH0_CLIENT_SECRET";
    /// Auth0's `audience` parameter: the API identifier of the ToDos API. Optional.
    pub const AUTH0_AUDIENCE: &str = "AUTH0_AUDIENCE";
    /// The scopes this worker may ask the identity provider for (space separated).
    pub const AUTH0_SCOPE: &str = "AUTH0_SCOPE";
    /// Full issuer URL of any OpenID provider; wins over `AUTH0_DOMAIN`.
    pub const OIDC_ISSUER: &str = "OIDC_ISSUER";
    /// `client_secret_post` (default) or `client_secret_basic`.
    pub const OIDC_TOKEN_AUTH_METHOD: &str = "OIDC_TOKEN_AUTH_METHOD";
    /// The origin this worker is reached at; the protected resource and the issuer.
    pub const PUBLIC_URL: &str = "PUBLIC_URL";
    /// Secret: HMAC key (32+ characters) of the remembered-consent cookie.
    pub const CONSENT_SECRET: &str = "CONSENT_SECRET";
    /// `error`, `warn`, `info` (default) or `debug`.
    pub const LOG_LEVEL: &str = "LOG_LEVEL";
    /// Deadline of each call to the identity provider, in milliseconds.
    pub const UPSTREAM_TIMEOUT_MS: &str = "UPSTREAM_TIMEOUT_MS";
    /// How long an isolate may answer an access token the OAuth library accepted without asking
    /// it again, in seconds (0: ask on every request). See `src/token_memo.rs`.
    pub const ACCESS_TOKEN_MEMO_SECONDS: &str = "ACCESS_TOKEN_MEMO_SECONDS";
}

/// The scopes requested upstream when `AUTH0_SCOPE` is unset: OpenID Connect's, refresh, and the
/// ToDos API's.
pub const DEFAULT_SCOPE: &str =
    "openid email profile offline_access read:todos read:billing write:todos";

/// Where `PUBLIC_URL` points when unset: `wrangler dev` on its default port.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8788";

/// The deadline of each call to the identity provider when `UPSTREAM_TIMEOUT_MS` is unset: long
/// enough for a slow provider, short enough that the user sees an answer.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 10_000;

/// `ACCESS_TOKEN_MEMO_SECONDS` when unset. A revocation reaches every isolate within this time.
pub const DEFAULT_ACCESS_TOKEN_MEMO_SECONDS: u32 = 30;

/// The longest `ACCESS_TOKEN_MEMO_SECONDS` accepted: what Workers KV itself may take to show a
/// deletion in other locations (its cached reads live 60 s), so remembering a token never widens
/// the window in which a revoked token can still be used elsewhere.
pub const MAX_ACCESS_TOKEN_MEMO_SECONDS: u32 = 60;

/// The shortest `CONSENT_SECRET` accepted (the library refuses shorter HMAC keys).
pub const MIN_CONSENT_SECRET_CHARS: usize = 32;

/// A secret string. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// How this worker authenticates to the identity provider's token endpoint (RFC 6749 §2.3.1,
/// OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuthMethod {
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// HTTP Basic with the form-urlencoded id and secret.
    ClientSecretBasic,
}

/// The worker's configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The upstream issuer, exactly as its ID tokens carry it in `iss` (OIDC Core §3.1.3.7 step 2
    /// compares it exactly, so the trailing slash matters: Auth0's issuers end in `/`).
    pub issuer: String,
    /// This worker's client id at the identity provider.
    pub client_id: String,
    /// This worker's client secret at the identity provider.
    pub client_secret: Secret,
    /// Auth0's `audience` parameter, when set.
    pub audience: Option<String>,
    /// The scopes this worker may request upstream: the consent page offers these.
    pub scope: Vec<String>,
    /// How to authenticate at the token endpoint.
    pub token_auth_method: TokenAuthMethod,
    /// The canonical origin of this worker, without a trailing slash (`http://localhost:8788`).
    pub public_url: String,
    /// HMAC key of the remembered-consent cookie.
    pub consent_secret: Secret,
    /// How much to log.
    pub log_level: Level,
    /// Deadline of each outbound call to the identity provider (discovery, JWKS, token), ms.
    pub upstream_timeout_ms: u64,
    /// How long an accepted access token is remembered in the isolate, seconds (0: never).
    pub access_token_memo_seconds: u32,
    /// The MCP endpoints' own settings (origins, body limit, the ToDos API, the SSE sessions).
    pub mcp: crate::mcp::Settings,
}

/// A missing or malformed setting, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting at fault.
    pub var: &'static str,
    /// What is wrong with it (never its value).
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {} {}", self.var, self.problem)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn error(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

/// A whole number within `range` from the setting `var`, or `default` when it is unset.
pub(crate) fn whole_number<T>(
    var: &'static str,
    raw: Option<&str>,
    range: std::ops::RangeInclusive<T>,
    unit: &str,
    default: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .parse::<T>()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| {
                error(
                    var,
                    format!(
                        "must be a whole number of {unit} from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

impl Config {
    /// Reads and validates every setting through `lookup` (a var or secret by name; empty
    /// strings count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let issuer = match (get(vars::OIDC_ISSUER), get(vars::AUTH0_DOMAIN)) {
            (Some(issuer), _) => parse_issuer(vars::OIDC_ISSUER, &issuer)?,
            (None, Some(domain)) => issuer_from_domain(&domain)?,
            (None, None) => {
                return Err(error(
                    vars::AUTH0_DOMAIN,
                    format!(
                        "is not set (set it, or {} for another OpenID provider)",
                        vars::OIDC_ISSUER
                    ),
                ));
            }
        };
        let client_id =
            get(vars::AUTH0_CLIENT_ID).ok_or_else(|| error(vars::AUTH0_CLIENT_ID, "is not set"))?;
        let client_secret = Secret(get(vars::AUTH0_CLIENT_SECRET).ok_or_else(|| {
            error(
                vars::AUTH0_CLIENT_SECRET,
                "is not set (a secret: .dev.vars locally, `wrangler secret put` when deployed)",
            )
        })?);
        let scope = parse_scope(get(vars::AUTH0_SCOPE).as_deref().unwrap_or(DEFAULT_SCOPE))?;
        let token_auth_method = match get(vars::OIDC_TOKEN_AUTH_METHOD).as_deref() {
            None | Some("client_secret_post") => TokenAuthMethod::ClientSecretPost,
            Some("client_secret_basic") => TokenAuthMethod::ClientSecretBasic,
            Some(_) => {
                return Err(error(
                    vars::OIDC_TOKEN_AUTH_METHOD,
                    "must be client_secret_post or client_secret_basic",
                ));
            }
        };
        // The local default only beside a local provider: a deployed worker that forgot its own
        // URL would advertise `localhost` as its issuer and resource (RFC 8414 §2, RFC 9728 §2).
        let public_url = match get(vars::PUBLIC_URL) {
            Some(raw) => parse_public_url(&raw)?,
            None if WebUrl::parse(&issuer).is_some_and(|url| is_loopback(&url)) => {
                parse_public_url(DEFAULT_PUBLIC_URL)?
            }
            None => {
                return Err(error(
                    vars::PUBLIC_URL,
                    "is not set (only a worker beside a loopback issuer may leave it unset)",
                ));
            }
        };
        let consent_secret = get(vars::CONSENT_SECRET).ok_or_else(|| {
            error(vars::CONSENT_SECRET, "is not set (a secret of 32+ characters: .dev.vars locally, `wrangler secret put` when deployed)")
        })?;
        if consent_secret.chars().count() < MIN_CONSENT_SECRET_CHARS {
            return Err(error(
                vars::CONSENT_SECRET,
                format!("must be at least {MIN_CONSENT_SECRET_CHARS} characters"),
            ));
        }
        let log_level = match get(vars::LOG_LEVEL) {
            None => Level::Info,
            Some(level) => Level::parse(&level)
                .ok_or_else(|| error(vars::LOG_LEVEL, "must be error, warn, info or debug"))?,
        };
        let upstream_timeout_ms = whole_number(
            vars::UPSTREAM_TIMEOUT_MS,
            get(vars::UPSTREAM_TIMEOUT_MS).as_deref(),
            1..=60_000,
            "milliseconds",
            DEFAULT_UPSTREAM_TIMEOUT_MS,
        )?;
        let access_token_memo_seconds = whole_number(
            vars::ACCESS_TOKEN_MEMO_SECONDS,
            get(vars::ACCESS_TOKEN_MEMO_SECONDS).as_deref(),
            0..=MAX_ACCESS_TOKEN_MEMO_SECONDS,
            "seconds",
            DEFAULT_ACCESS_TOKEN_MEMO_SECONDS,
        )?;
        Ok(Config {
            issuer,
            client_id,
            client_secret,
            audience: get(vars::AUTH0_AUDIENCE),
            scope,
            token_auth_method,
            consent_secret: Secret(consent_secret),
            log_level,
            upstream_timeout_ms,
            access_token_memo_seconds,
            mcp: crate::mcp::Settings::from_lookup(get, &public_url)?,
            public_url,
        })
    }

    /// The redirect URI registered at the identity provider: `<PUBLIC_URL>/callback`.
    pub fn callback_url(&self) -> String {
        format!("{}/callback", self.public_url)
    }
}

/// Whether `url` may use plain `http`: only on a loopback host (OAuth 2.1 §1.5 requires TLS
/// everywhere else; RFC 8252 §8.3 names the loopback exception).
fn is_loopback(url: &WebUrl) -> bool {
    is_loopback_host(&url.hostname())
}

pub(crate) fn check_scheme(var: &'static str, url: &WebUrl) -> Result<(), ConfigError> {
    match url.scheme().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(error(
            var,
            "must use https (http only on a loopback host such as localhost)",
        )),
        _ => Err(error(var, "must be an https URL")),
    }
}

/// An issuer URL: https (or http on loopback), no query or fragment (OIDC Discovery §3,
/// RFC 8414 §2). Kept exactly as written, since `iss` is compared as a string.
fn parse_issuer(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = WebUrl::parse(raw).ok_or_else(|| error(var, "is not a valid URL"))?;
    check_scheme(var, &url)?;
    if url.has_query_fragment_or_userinfo() {
        return Err(error(var, "must not have a query, fragment or user info"));
    }
    Ok(raw.to_owned())
}

/// Auth0's issuer for a tenant domain: `https://<domain>/` (with the slash, as Auth0 writes it).
fn issuer_from_domain(domain: &str) -> Result<String, ConfigError> {
    let domain = domain.trim_start_matches("https://").trim_end_matches('/');
    if domain.is_empty() || domain.contains(['/', '?', '#', '@', ' ']) {
        return Err(error(
            vars::AUTH0_DOMAIN,
            "must be a host name such as tenant.us.auth0.com",
        ));
    }
    parse_issuer(vars::AUTH0_DOMAIN, &format!("https://{domain}/"))
}

/// `PUBLIC_URL`: an origin (scheme, host, port), which is both the protected resource and the
/// issuer of this authorization server. The library requires a canonical spelling (RFC 9728 §2:
/// lowercase scheme and host), so the origin is re-serialised and a trailing slash dropped.
fn parse_public_url(raw: &str) -> Result<String, ConfigError> {
    let url = WebUrl::parse(raw).ok_or_else(|| error(vars::PUBLIC_URL, "is not a valid URL"))?;
    check_scheme(vars::PUBLIC_URL, &url)?;
    if url.path() != "/" || url.has_query_fragment_or_userinfo() {
        return Err(error(
            vars::PUBLIC_URL,
            "must be an origin such as https://mcp.example.com (no path, query or fragment)",
        ));
    }
    Ok(url.origin())
}

/// A space-separated scope list (RFC 6749 §3.3): each token printable ASCII without `"` or `\`.
fn parse_scope(raw: &str) -> Result<Vec<String>, ConfigError> {
    let mut scopes: Vec<String> = Vec::new();
    for token in raw.split_ascii_whitespace() {
        if !token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(error(
                vars::AUTH0_SCOPE,
                "holds a character RFC 6749 §3.3 does not allow in a scope",
            ));
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(error(
            vars::AUTH0_SCOPE,
            "must include openid (the sign-in needs an ID token)",
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn local() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            (vars::OIDC_ISSUER, "http://localhost:8790/"),
            (vars::AUTH0_CLIENT_ID, "mcp-worker-local"),
            (vars::AUTH0_CLIENT_SECRET, "local-dev-secret-change-me"),
            (vars::CONSENT_SECRET, "0123456789abcdef0123456789abcdef"),
        ])
    }

    fn load(vars: &HashMap<&'static str, &'static str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn local_defaults_are_accepted() {
        let config = load(&local()).unwrap();
        assert_eq!(config.issuer, "http://localhost:8790/");
        assert_eq!(config.public_url, "http://localhost:8788");
        assert_eq!(config.callback_url(), "http://localhost:8788/callback");
        assert_eq!(config.token_auth_method, TokenAuthMethod::ClientSecretPost);
        assert_eq!(config.scope.len(), 7);
        assert_eq!(config.log_level, Level::Info);
    }

    #[test]
    fn auth0_domain_becomes_https_issuer_and_oidc_issuer_wins() {
        let mut vars = local();
        vars.remove(vars::OIDC_ISSUER);
        vars.insert(vars::AUTH0_DOMAIN, "tenant.us.auth0.com");
        // Beside a provider that is not on loopback, the worker must be told its own URL.
        assert_eq!(load(&vars).unwrap_err().var, vars::PUBLIC_URL);
        vars.insert(vars::PUBLIC_URL, "https://mcp.example.com");
        assert_eq!(load(&vars).unwrap().issuer, "https://tenant.us.auth0.com/");
        vars.insert(vars::OIDC_ISSUER, "https://idp.example.com/realms/x");
        assert_eq!(
            load(&vars).unwrap().issuer,
            "https://idp.example.com/realms/x"
        );
    }

    #[test]
    fn the_sse_session_cap_defaults_to_10_and_stays_within_1_to_32() {
        let cap = crate::mcp::vars::SSE_MAX_SESSIONS_PER_USER;
        let mut vars = local();
        assert_eq!(load(&vars).unwrap().mcp.sse_max_sessions, 10);
        for good in ["1", "32"] {
            vars.insert(cap, good);
            assert_eq!(load(&vars).unwrap().mcp.sse_max_sessions.to_string(), good);
        }
        for bad in ["0", "33", "ten", "-1"] {
            vars.insert(cap, bad);
            assert_eq!(load(&vars).unwrap_err().var, cap, "{bad}");
        }
    }

    #[test]
    fn http_issuer_is_refused_off_loopback() {
        let mut vars = local();
        vars.insert(vars::OIDC_ISSUER, "http://idp.example.com/");
        assert_eq!(load(&vars).unwrap_err().var, vars::OIDC_ISSUER);
        vars.insert(vars::OIDC_ISSUER, "http://127.0.0.1:8790/");
        assert!(load(&vars).is_ok());
    }

    #[test]
    fn missing_settings_are_named_without_values() {
        for var in [
            vars::AUTH0_CLIENT_ID,
            vars::AUTH0_CLIENT_SECRET,
            vars::CONSENT_SECRET,
        ] {
            let mut vars = local();
            vars.remove(var);
            let err = load(&vars).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var));
        }
        let mut vars = local();
        vars.remove(vars::OIDC_ISSUER);
        assert_eq!(load(&vars).unwrap_err().var, vars::AUTH0_DOMAIN);
    }

    #[test]
    fn short_consent_secret_is_refused_and_not_echoed() {
        let mut vars = local();
        vars.insert(vars::CONSENT_SECRET, "too-short-secret");
        let err = load(&vars).unwrap_err();
        assert_eq!(err.var, vars::CONSENT_SECRET);
        assert!(!err.to_string().contains("too-short-secret"));
    }

    #[test]
    fn public_url_must_be_an_origin_and_is_canonicalised() {
        let mut vars = local();
        vars.insert(vars::PUBLIC_URL, "HTTPS://MCP.Example.com/");
        assert_eq!(load(&vars).unwrap().public_url, "https://mcp.example.com");
        vars.insert(vars::PUBLIC_URL, "https://mcp.example.com/mcp");
        assert_eq!(load(&vars).unwrap_err().var, vars::PUBLIC_URL);
        vars.insert(vars::PUBLIC_URL, "http://mcp.example.com");
        assert_eq!(load(&vars).unwrap_err().var, vars::PUBLIC_URL);
    }

    #[test]
    fn scope_must_hold_openid_and_valid_tokens() {
        let mut vars = local();
        vars.insert(vars::AUTH0_SCOPE, "email read:todos");
        assert_eq!(load(&vars).unwrap_err().var, vars::AUTH0_SCOPE);
        vars.insert(vars::AUTH0_SCOPE, "openid \"bad\"");
        assert_eq!(load(&vars).unwrap_err().var, vars::AUTH0_SCOPE);
        vars.insert(vars::AUTH0_SCOPE, "openid openid read:todos");
        assert_eq!(load(&vars).unwrap().scope, vec!["openid", "read:todos"]);
    }

    #[test]
    fn upstream_timeout_has_a_default_and_a_bounded_range() {
        let mut vars = local();
        assert_eq!(
            load(&vars).unwrap().upstream_timeout_ms,
            DEFAULT_UPSTREAM_TIMEOUT_MS
        );
        vars.insert(vars::UPSTREAM_TIMEOUT_MS, "2500");
        assert_eq!(load(&vars).unwrap().upstream_timeout_ms, 2500);
        for bad in ["0", "-1", "2s", "60001"] {
            vars.insert(vars::UPSTREAM_TIMEOUT_MS, bad);
            assert_eq!(load(&vars).unwrap_err().var, vars::UPSTREAM_TIMEOUT_MS);
        }
    }

    #[test]
    fn access_token_memo_has_a_default_and_never_outlasts_kv_propagation() {
        let mut vars = local();
        assert_eq!(
            load(&vars).unwrap().access_token_memo_seconds,
            DEFAULT_ACCESS_TOKEN_MEMO_SECONDS
        );
        for (value, seconds) in [("0", 0), ("60", 60), ("5", 5)] {
            vars.insert(vars::ACCESS_TOKEN_MEMO_SECONDS, value);
            assert_eq!(load(&vars).unwrap().access_token_memo_seconds, seconds);
        }
        for bad in ["61", "-1", "30s", "1.5"] {
            vars.insert(vars::ACCESS_TOKEN_MEMO_SECONDS, bad);
            assert_eq!(
                load(&vars).unwrap_err().var,
                vars::ACCESS_TOKEN_MEMO_SECONDS
            );
        }
    }

    #[test]
    fn token_auth_method_and_log_level_are_checked() {
        let mut vars = local();
        vars.insert(vars::OIDC_TOKEN_AUTH_METHOD, "client_secret_basic");
        vars.insert(vars::LOG_LEVEL, "DEBUG");
        let config = load(&vars).unwrap();
        assert_eq!(config.token_auth_method, TokenAuthMethod::ClientSecretBasic);
        assert_eq!(config.log_level, Level::Debug);
        vars.insert(vars::OIDC_TOKEN_AUTH_METHOD, "private_key_jwt");
        assert_eq!(load(&vars).unwrap_err().var, vars::OIDC_TOKEN_AUTH_METHOD);
    }

    #[test]
    fn secret_debug_is_redacted() {
        let config = load(&local()).unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("local-dev-secret-change-me"));
        assert!(!text.contains("0123456789abcdef"));
    }
}
