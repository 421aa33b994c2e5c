//! Talking to the identity provider: discovery (cached per isolate), the JWKS (cached, refetched
//! on an unknown `kid`), the code exchange, the refresh, and ID token verification.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;

use super::discovery::{self, Discovery};
use super::id_token::{self, Expected};
use super::token::{self, TokenOutcome, TokenRequest};
use crate::bindings;
use crate::config::Config;
use crate::grant::UserClaims;
use crate::web_url::WebUrl;

/// How long a discovery document is reused before it is fetched again.
const DISCOVERY_TTL_SECONDS: u64 = 3600;
/// How long a JWKS is reused; an unknown `kid` refetches sooner, at most this often:
const JWKS_TTL_SECONDS: u64 = 3600;
const JWKS_REFETCH_MIN_SECONDS: u64 = 30;

/// A failure talking to the identity provider.
#[derive(Debug, Clone)]
pub enum UpstreamError {
    /// The provider could not be reached or answered with a server error: try again later.
    Unavailable(String),
    /// The provider answered with something that must not be trusted (a bad ID token, a
    /// discovery document for another issuer).
    Invalid(String),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Unavailable(m) => write!(f, "identity provider unavailable: {m}"),
            UpstreamError::Invalid(m) => write!(f, "identity provider answer refused: {m}"),
        }
    }
}

struct Cached<T> {
    key: String,
    value: Rc<T>,
    fetched_at: u64,
}

thread_local! {
    static DISCOVERY: RefCell<Option<Cached<Discovery>>> = const { RefCell::new(None) };
    static JWKS: RefCell<Option<Cached<Vec<Value>>>> = const { RefCell::new(None) };
}

/// `http://localhost…` as `http://127.0.0.1…`: workerd may resolve `localhost` to `::1` only,
/// while local identity providers usually listen on IPv4. Other hosts are left alone.
fn loopback_v4(url: &str) -> String {
    match WebUrl::parse(url) {
        Some(mut parsed) if parsed.scheme() == "http" && parsed.hostname() == "localhost" => {
            parsed.set_hostname("127.0.0.1");
            parsed.href()
        }
        _ => url.to_owned(),
    }
}

/// One HTTP exchange with the identity provider, bounded by `timeout_ms`: the runtime aborts the
/// request or the reading of its body at the deadline (every outbound call has one: a hung
/// provider must become a clear `Unavailable`, never a hung request).
async fn send(
    method: &str,
    url: &str,
    request: Option<&TokenRequest>,
    timeout_ms: u64,
) -> Result<(u16, String), UpstreamError> {
    let mut headers = vec![("Accept", "application/json")];
    if let Some(request) = request {
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        if let Some(authorization) = &request.authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
    }
    let body = request.map(|request| request.body.as_str());
    let answer = bindings::fetch_text(None, method, &loopback_v4(url), &headers, body, timeout_ms)
        .await
        .map_err(|failure| {
            UpstreamError::Unavailable(match failure {
                bindings::FetchFailure::TimedOut => {
                    format!("no answer within {timeout_ms} ms")
                }
                bindings::FetchFailure::Failed(message) => message,
            })
        })?;
    Ok((answer.status, answer.body))
}

/// The identity provider, as configured.
pub struct Upstream<'a> {
    config: &'a Config,
    /// Where the provider sends the browser back (`<PUBLIC_URL>/callback` for MCP grants).
    redirect_uri: String,
    /// Auth0's `audience`: set for MCP grants (the ToDos API), not for identity-only sign-ins.
    audience: Option<&'a str>,
}

impl<'a> Upstream<'a> {
    /// The sign-in behind an MCP grant: back to `/callback`, with the ToDos API audience.
    pub fn new(config: &'a Config) -> Self {
        Upstream {
            config,
            redirect_uri: config.callback_url(),
            audience: config.audience.as_deref(),
        }
    }

    /// A sign-in that only establishes who the user is (the `/account` page): back to
    /// `redirect_uri`, without an API audience, so no API access token is asked for.
    pub fn identity_only(config: &'a Config, redirect_uri: String) -> Self {
        Upstream {
            config,
            redirect_uri,
            audience: None,
        }
    }

    /// The discovery document, fetched once per isolate and hour.
    pub async fn discovery(&self) -> Result<Rc<Discovery>, UpstreamError> {
        let now = bindings::now_seconds();
        let cached = DISCOVERY.with(|cell| {
            cell.borrow()
                .as_ref()
                .filter(|c| {
                    c.key == self.config.issuer && now < c.fetched_at + DISCOVERY_TTL_SECONDS
                })
                .map(|c| c.value.clone())
        });
        if let Some(doc) = cached {
            return Ok(doc);
        }
        let url = discovery::discovery_url(&self.config.issuer);
        let (status, body) = send("GET", &url, None, self.config.upstream_timeout_ms).await?;
        if status != 200 {
            return Err(UpstreamError::Unavailable(format!(
                "discovery answered HTTP {status}"
            )));
        }
        let doc = Rc::new(
            discovery::parse(&body, &self.config.issuer)
                .map_err(|e| UpstreamError::Invalid(e.to_string()))?,
        );
        DISCOVERY.with(|cell| {
            *cell.borrow_mut() = Some(Cached {
                key: self.config.issuer.clone(),
                value: doc.clone(),
                fetched_at: now,
            })
        });
        crate::log::debug!("upstream.discovered", "issuer" => doc.issuer);
        Ok(doc)
    }

    async fn jwks(&self, jwks_uri: &str, force: bool) -> Result<Rc<Vec<Value>>, UpstreamError> {
        let now = bindings::now_seconds();
        let cached = JWKS.with(|cell| {
            cell.borrow()
                .as_ref()
                .filter(|c| c.key == jwks_uri)
                .map(|c| (c.value.clone(), c.fetched_at))
        });
        if let Some((keys, fetched_at)) = cached {
            let fresh = now < fetched_at + JWKS_TTL_SECONDS;
            let may_refetch = now >= fetched_at + JWKS_REFETCH_MIN_SECONDS;
            if fresh && !(force && may_refetch) {
                return Ok(keys);
            }
        }
        let (status, body) = send("GET", jwks_uri, None, self.config.upstream_timeout_ms).await?;
        if status != 200 {
            return Err(UpstreamError::Unavailable(format!(
                "JWKS answered HTTP {status}"
            )));
        }
        let set: Value = crate::json::parse(&body)
            .map_err(|_| UpstreamError::Invalid("the JWKS is not JSON".into()))?;
        let keys = Rc::new(
            set.get("keys")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        JWKS.with(|cell| {
            *cell.borrow_mut() = Some(Cached {
                key: jwks_uri.to_owned(),
                value: keys.clone(),
                fetched_at: now,
            })
        });
        Ok(keys)
    }

    /// The authorization request URL (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) with PKCE S256
    /// (RFC 7636 §4.3), `nonce`, and Auth0's `audience` when configured.
    pub async fn authorize_url(
        &self,
        state: &str,
        challenge: &str,
        nonce: &str,
        scope: &[String],
    ) -> Result<String, UpstreamError> {
        let doc = self.discovery().await?;
        let mut url = WebUrl::parse(&doc.authorization_endpoint)
            .ok_or_else(|| UpstreamError::Invalid("bad authorization_endpoint".into()))?;
        let scope = scope.join(" ");
        // Parameters the endpoint URL already carries are kept (RFC 6749 §3.1).
        let existing = url.query_pairs();
        let mut query: Vec<(&str, &str)> = existing
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        query.extend([
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", scope.as_str()),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
        if let Some(audience) = self.audience {
            query.push(("audience", audience));
        }
        url.set_query_pairs(&query);
        Ok(url.href())
    }

    async fn token(&self, request: TokenRequest) -> Result<TokenOutcome, UpstreamError> {
        let doc = self.discovery().await?;
        let (status, body) = send(
            "POST",
            &doc.token_endpoint,
            Some(&request),
            self.config.upstream_timeout_ms,
        )
        .await?;
        Ok(token::parse_response(status, &body))
    }

    /// Exchanges the authorization code (RFC 6749 §4.1.3) with the PKCE verifier.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
    ) -> Result<TokenOutcome, UpstreamError> {
        let c = self.config;
        self.token(token::code_request(
            code,
            &self.redirect_uri,
            verifier,
            c.token_auth_method,
            &c.client_id,
            c.client_secret.expose(),
        ))
        .await
    }

    /// Refreshes the upstream access token (RFC 6749 §6).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenOutcome, UpstreamError> {
        let c = self.config;
        self.token(token::refresh_request(
            refresh_token,
            c.token_auth_method,
            &c.client_id,
            c.client_secret.expose(),
        ))
        .await
    }

    /// Verifies an ID token: the signature against the issuer's JWKS (OIDC Core §3.1.3.7 step 6,
    /// §10.1.1), then every claim rule ([`id_token::validate_claims`]).
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
        subject: Option<&str>,
    ) -> Result<UserClaims, UpstreamError> {
        let jwt = id_token::parse(token).map_err(|e| UpstreamError::Invalid(e.to_string()))?;
        let doc = self.discovery().await?;
        let kty = if jwt.header.alg == "RS256" {
            "RSA"
        } else {
            "EC"
        };
        let find = |keys: &[Value]| -> Option<Value> {
            let candidates: Vec<&Value> = keys
                .iter()
                .filter(|k| k.get("kty").and_then(Value::as_str) == Some(kty))
                .filter(|k| {
                    k.get("use")
                        .and_then(Value::as_str)
                        .is_none_or(|u| u == "sig")
                })
                // A key published for one algorithm is used with that one only (RFC 8725 §3.1,
                // RFC 7517 §4.4), and only for what its `key_ops` allow (RFC 7517 §4.3).
                .filter(|k| {
                    k.get("alg")
                        .is_none_or(|alg| alg.as_str() == Some(jwt.header.alg.as_str()))
                })
                .filter(|k| {
                    k.get("key_ops").is_none_or(|ops| {
                        ops.as_array()
                            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")))
                    })
                })
                .collect();
            match &jwt.header.kid {
                Some(kid) => candidates
                    .into_iter()
                    .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid.as_str()))
                    .cloned(),
                None if candidates.len() == 1 => Some(candidates[0].clone()),
                None => None,
            }
        };
        let mut key = find(&self.jwks(&doc.jwks_uri, false).await?);
        if key.is_none() {
            // The provider may have rotated its keys since the set was cached (OIDC Core §10.1.1).
            key = find(&self.jwks(&doc.jwks_uri, true).await?);
        }
        let key = key
            .ok_or_else(|| UpstreamError::Invalid("no signing key matches the ID token".into()))?;
        let valid = bindings::verify_signature(
            &jwt.header.alg,
            &key,
            jwt.signing_input.as_bytes(),
            &jwt.signature,
        )
        .await
        .map_err(UpstreamError::Invalid)?;
        if !valid {
            return Err(UpstreamError::Invalid(
                "the ID token signature does not verify".into(),
            ));
        }
        let expected = Expected {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce,
            subject,
            now: bindings::now_seconds(),
        };
        id_token::validate_claims(&jwt.claims, &expected)
            .map_err(|e| UpstreamError::Invalid(e.to_string()))
    }
}
