//! The ToDos API client: the only code that talks to the resource server.
//!
//! Calls go through the `TODOS_API` Service Binding (no public hop; `wrangler dev` resolves it
//! locally), or to `TODOS_API_URL` when that variable is set. Each call carries the user's
//! *upstream* access token, the one the identity provider issued for the ToDos API, and never the
//! MCP client's token (MCP 2025-11-25 basic/security_best_practices §Token Passthrough). Each
//! call has a deadline, so a slow API becomes a tool error instead of a hung request.
//!
//! A 401 is recorded before it reaches the tool (`upstream::rejection`), so the refresh the client
//! makes on it renews the upstream token.
//!
//! Tools see only the [`TodosApi`] trait, so host tests hand them a fake and no token.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::bindings::{FetchFailure, fetch_text};
use crate::config::{self, ConfigError};
use crate::web_url::WebUrl;

/// A boxed future that need not be `Send` (Workers run one thread per isolate).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The HTTP methods the ToDos API routes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

/// One call to the ToDos API: method, path under the API's origin (`/api/...`), JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiCall {
    /// The HTTP method.
    pub method: ApiMethod,
    /// The path, `/api/...` (segments already percent-encoded).
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl ApiCall {
    /// A `GET` of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: ApiMethod::Get,
            path: path.into(),
            body: None,
        }
    }
}

/// Why a ToDos API call did not give a usable answer.
#[derive(Clone, Debug, PartialEq)]
pub enum TodosError {
    /// The API could not be reached (binding or network failure).
    Unreachable(String),
    /// No answer within the deadline (milliseconds).
    Timeout(u64),
    /// 401: the upstream token expired or was revoked (RFC 6750 §3.1 `invalid_token`).
    Unauthorized,
    /// 403: the upstream token lacks a scope (RFC 6750 §3.1 `insufficient_scope`).
    Forbidden(Option<String>),
    /// 404: no such item.
    NotFound,
    /// Another 4xx: the API refused the request; its message when it gave one.
    Rejected(u16, String),
    /// 5xx.
    Server(u16),
    /// A 2xx whose body is not JSON.
    BadResponse,
}

impl TodosError {
    /// The message a tool result shows for this failure (never a token).
    pub fn user_message(&self) -> String {
        match self {
            Self::Unreachable(detail) => {
                format!("The ToDos API could not be reached ({detail}). Try again later.")
            }
            Self::Timeout(ms) => {
                format!("The ToDos API did not answer within {ms} ms. Try again later.")
            }
            Self::Unauthorized => "The ToDos API rejected the user's access token.".into(),
            Self::Forbidden(Some(scope)) => {
                format!(
                    "The ToDos API refused the call: the user's token lacks the `{scope}` scope."
                )
            }
            Self::Forbidden(None) => "The ToDos API refused the call (HTTP 403).".into(),
            Self::NotFound => "The ToDos API found no such item.".into(),
            Self::Rejected(status, message) if message.is_empty() => {
                format!("The ToDos API rejected the request (HTTP {status}).")
            }
            Self::Rejected(status, message) => {
                format!("The ToDos API rejected the request (HTTP {status}): {message}")
            }
            Self::Server(status) => {
                format!("The ToDos API failed (HTTP {status}). Try again later.")
            }
            Self::BadResponse => "The ToDos API sent a response that could not be read.".into(),
        }
    }
}

/// The ToDos API as tools see it.
pub trait TodosApi {
    /// Makes one call; a 2xx answer's JSON body (or `null` when empty).
    fn call(&self, call: ApiCall) -> LocalFuture<'_, Result<Value, TodosError>>;
}

/// Turns an HTTP answer into the call's outcome (pure, so it is tested on the host).
pub fn classify(
    status: u16,
    www_authenticate: Option<&str>,
    body: &str,
) -> Result<Value, TodosError> {
    match status {
        200..=299 if body.trim().is_empty() => Ok(Value::Null),
        200..=299 => crate::json::parse(body).map_err(|_| TodosError::BadResponse),
        401 => Err(TodosError::Unauthorized),
        403 => Err(TodosError::Forbidden(
            www_authenticate.and_then(challenge_scope),
        )),
        404 => Err(TodosError::NotFound),
        400..=499 => Err(TodosError::Rejected(status, error_message(body))),
        _ => Err(TodosError::Server(status)),
    }
}

/// The `scope` parameter of an RFC 6750 challenge.
fn challenge_scope(header: &str) -> Option<String> {
    let start = header.find("scope=\"")? + "scope=\"".len();
    let end = header[start..].find('"')? + start;
    Some(header[start..end].to_string())
}

/// A short message from an error body: `error_description`, `message` or `error`, else nothing.
fn error_message(body: &str) -> String {
    let Ok(Value::Object(object)) = crate::json::parse(body) else {
        return String::new();
    };
    ["error_description", "message", "error"]
        .iter()
        .find_map(|key| object.get(*key).and_then(Value::as_str))
        .map(|text| text.chars().take(200).collect())
        .unwrap_or_default()
}

/// Percent-encodes one path segment (RFC 3986 §3.3 unreserved characters pass through).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Binding and variable names.
pub const TODOS_API_BINDING: &str = "TODOS_API";
/// When set and not empty, calls go to this base URL instead of the binding.
pub const TODOS_API_URL_VAR: &str = "TODOS_API_URL";
/// Deadline of each call, in milliseconds (`TODOS_API_TIMEOUT_MS`, default below).
pub const TODOS_API_TIMEOUT_VAR: &str = "TODOS_API_TIMEOUT_MS";
const DEFAULT_TIMEOUT_MS: u64 = 8_000;

/// Where the API is, from the environment (part of `Config`, so read once per isolate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `TODOS_API_URL` without a trailing slash, or `None` for the Service Binding.
    pub url: Option<String>,
    /// `TODOS_API_TIMEOUT_MS`.
    pub timeout_ms: u64,
}

impl Settings {
    /// Reads and checks the settings (`var` gives a set, trimmed, non-empty value): unset, the
    /// Service Binding and the default deadline. The user's upstream access token travels to
    /// `TODOS_API_URL`, so it must be https (http on a loopback host only; OAuth 2.1 §1.5, RFC
    /// 6750 §5.3) and carry no query, fragment or user info.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = match var(TODOS_API_URL_VAR) {
            None => None,
            Some(raw) => {
                let parsed = WebUrl::parse(&raw)
                    .ok_or_else(|| config::error(TODOS_API_URL_VAR, "is not a valid URL"))?;
                config::check_scheme(TODOS_API_URL_VAR, &parsed)?;
                if parsed.has_query_fragment_or_userinfo() {
                    return Err(config::error(
                        TODOS_API_URL_VAR,
                        "must not have a query, fragment or user info",
                    ));
                }
                Some(raw.trim_end_matches('/').to_owned())
            }
        };
        let timeout_ms = config::whole_number(
            TODOS_API_TIMEOUT_VAR,
            var(TODOS_API_TIMEOUT_VAR).as_deref(),
            1..=60_000,
            "milliseconds",
            DEFAULT_TIMEOUT_MS,
        )?;
        Ok(Self { url, timeout_ms })
    }
}

/// The real client, built per request with the caller's upstream tokens.
pub struct TodosClient<'a> {
    env: &'a worker::Env,
    settings: &'a Settings,
    upstream: &'a crate::grant::UpstreamTokens,
}

impl<'a> TodosClient<'a> {
    /// A client for the ToDos API `settings` name; it sends the user's upstream access token.
    /// The Service Binding is looked up only when a tool calls the API.
    pub fn new(
        env: &'a worker::Env,
        settings: &'a Settings,
        upstream: &'a crate::grant::UpstreamTokens,
    ) -> Self {
        Self {
            env,
            settings,
            upstream,
        }
    }

    /// One call, bounded by its deadline (`bindings::fetch_text`).
    async fn send(&self, call: &ApiCall) -> Result<Value, TodosError> {
        let timeout_ms = self.settings.timeout_ms;
        let (binding, url) = match &self.settings.url {
            Some(base) => (None, format!("{base}{}", call.path)),
            None => match crate::bindings::service_binding(self.env, TODOS_API_BINDING) {
                // The host of a Service Binding URL is ignored; the path is what the API routes on.
                Some(binding) => (Some(binding), format!("https://todos-api{}", call.path)),
                None => {
                    return Err(TodosError::Unreachable(format!(
                        "neither {TODOS_API_BINDING} nor {TODOS_API_URL_VAR} is configured"
                    )));
                }
            },
        };
        let authorization = format!("Bearer {}", self.upstream.access_token);
        let body = call.body.as_ref().map(crate::json::write);
        let mut headers = vec![
            ("Authorization", authorization.as_str()),
            ("Accept", "application/json"),
        ];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let answer = fetch_text(
            binding,
            call.method.as_str(),
            &url,
            &headers,
            body.as_deref(),
            timeout_ms,
        )
        .await
        .map_err(|failure| match failure {
            FetchFailure::TimedOut => TodosError::Timeout(timeout_ms),
            FetchFailure::Failed(message) => TodosError::Unreachable(message),
        })?;
        let outcome = classify(
            answer.status,
            answer.www_authenticate.as_deref(),
            &answer.body,
        );
        // The tool call answers 401 and the client refreshes (RFC 6750 §3.1): recorded first, so
        // that refresh renews the token rather than keep it (`upstream::rejection`).
        if matches!(outcome, Err(TodosError::Unauthorized)) {
            crate::upstream::rejection::record(self.env, self.upstream).await;
        }
        outcome
    }
}

impl ApiMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl TodosApi for TodosClient<'_> {
    fn call(&self, call: ApiCall) -> LocalFuture<'_, Result<Value, TodosError>> {
        Box::pin(async move { self.send(&call).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_bodies_are_json_and_empty_is_null() {
        assert_eq!(classify(200, None, r#"{"a":1}"#), Ok(json!({"a":1})));
        assert_eq!(classify(204, None, ""), Ok(Value::Null));
        assert_eq!(classify(200, None, "<html>"), Err(TodosError::BadResponse));
    }

    #[test]
    fn statuses_map_to_errors() {
        assert_eq!(
            classify(401, Some("Bearer error=\"invalid_token\""), ""),
            Err(TodosError::Unauthorized)
        );
        assert_eq!(
            classify(
                403,
                Some("Bearer error=\"insufficient_scope\", scope=\"read:billing\""),
                ""
            ),
            Err(TodosError::Forbidden(Some("read:billing".into())))
        );
        assert_eq!(classify(404, None, ""), Err(TodosError::NotFound));
        assert_eq!(
            classify(
                422,
                None,
                r#"{"error":"invalid_request","error_description":"title is empty"}"#
            ),
            Err(TodosError::Rejected(422, "title is empty".into()))
        );
        assert_eq!(classify(503, None, "down"), Err(TodosError::Server(503)));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("abc-1_2.3~"), "abc-1_2.3~");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_segment("../x"), "..%2Fx");
    }

    #[test]
    fn messages_never_are_empty() {
        for error in [
            TodosError::Unreachable("x".into()),
            TodosError::Timeout(5),
            TodosError::Server(500),
            TodosError::BadResponse,
            TodosError::Rejected(400, String::new()),
        ] {
            assert!(error.user_message().contains("ToDos API"));
        }
    }
}
