//! The MCP side of the worker: what a client reaches with a valid access token.
//!
//! `OAuthProvider` validates the bearer token for `/mcp` and `/sse…` and the API handler calls
//! [`serve`] with the verified [`Caller`]. From there:
//!
//! - [`jsonrpc`] parses the envelope, [`version`] knows the protocol revisions, [`rules`] decides
//!   the HTTP-level questions (version headers, origin, statuses, challenges) — all pure;
//! - [`dispatch`] answers one message (`initialize`, `tools/list`, `tools/call`, …) with the
//!   tools of `crate::tools`, which reach the ToDos API through `crate::todos_client`;
//! - [`streamable`] is the Streamable HTTP transport on `/mcp`, [`sse`] the 2024-11-05 HTTP+SSE
//!   transport on `/sse`, whose open streams live in the [`session`] Durable Object.

pub mod dispatch;
pub mod jsonrpc;
pub mod rules;
pub mod session;
pub mod sse;
pub mod streamable;
pub mod version;

use std::cell::Cell;

use serde_json::{Value, json};
use worker::Env;

use crate::config::{ConfigError, whole_number};
use crate::grant::Caller;
use crate::log;
use jsonrpc::{ErrorCode, RpcError, error_response};

/// The Streamable HTTP endpoint.
pub const MCP_PATH: &str = "/mcp";
/// The HTTP+SSE stream endpoint.
pub const SSE_PATH: &str = "/sse";
/// Where HTTP+SSE clients POST their messages (the `endpoint` event names it).
pub const SSE_MESSAGE_PATH: &str = "/sse/message";

/// Variable names this module reads.
pub mod vars {
    /// Origins (comma separated) allowed to call the MCP endpoints from a browser; `*` allows any.
    pub const ALLOWED_ORIGINS: &str = "ALLOWED_ORIGINS";
    /// The largest POST body accepted, in bytes.
    pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
    /// Seconds without a POST after which an SSE session ends (default 1800).
    pub const SSE_IDLE_TIMEOUT_SECONDS: &str = "SSE_IDLE_TIMEOUT_SECONDS";
    /// Seconds between SSE keep-alive comments (default 20).
    pub const SSE_KEEPALIVE_SECONDS: &str = "SSE_KEEPALIVE_SECONDS";
    /// Open SSE sessions one user may hold at once (default 10).
    pub const SSE_MAX_SESSIONS_PER_USER: &str = "SSE_MAX_SESSIONS_PER_USER";
}

/// Default `MAX_BODY_BYTES`: 1 MiB, far above any message these tools take.
const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// The largest `MAX_BODY_BYTES` accepted: 100 MiB, the request body limit of Cloudflare's Free and
/// Pro plans (a larger limit could never be reached).
const MAX_MAX_BODY_BYTES: usize = 100 << 20;
/// Default and bounds of the SSE session's timers (`session.rs` reads them in the object).
pub const DEFAULT_SSE_IDLE_SECONDS: u64 = 1800;
pub const DEFAULT_SSE_KEEPALIVE_SECONDS: u64 = 20;
const SSE_SECONDS_RANGE: std::ops::RangeInclusive<u64> = 1..=86_400;
/// Default and bounds of `SSE_MAX_SESSIONS_PER_USER`. Opening a session at the cap asks every one
/// of the user's session objects in turn (`sse::open`), so the bound stays small.
const DEFAULT_SSE_MAX_SESSIONS: u8 = 10;
const SSE_MAX_SESSIONS_RANGE: std::ops::RangeInclusive<u8> = 1..=32;

/// An SSE timer setting, by the one rule both its readers use: `Settings::from_lookup` at start,
/// and the session object, which reads its own (`session.rs`).
pub fn sse_seconds(
    name: &'static str,
    default: u64,
    raw: Option<&str>,
) -> Result<u64, ConfigError> {
    whole_number(name, raw, SSE_SECONDS_RANGE, "seconds", default)
}

/// The settings of the MCP endpoints: part of `Config`, so read once per isolate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `ALLOWED_ORIGINS`, parsed.
    pub allowed_origins: Vec<String>,
    /// `MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `SSE_MAX_SESSIONS_PER_USER`.
    pub sse_max_sessions: u8,
    /// Without a trailing slash.
    pub public_url: String,
    /// Where the tools' ToDos API is.
    pub todos_api: crate::todos_client::Settings,
}

impl Settings {
    /// Reads and checks the settings (`var` gives a set, trimmed, non-empty value); `public_url`
    /// is `Config`'s, already checked and in its origin form. A malformed value is an error
    /// naming it, as every other setting's (`crate::config`), never a silent default.
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        public_url: &str,
    ) -> Result<Self, ConfigError> {
        // The SSE session object reads its timers itself; they are checked here, so that a worker
        // with a malformed one refuses every request rather than run on a default.
        for (name, default) in [
            (vars::SSE_IDLE_TIMEOUT_SECONDS, DEFAULT_SSE_IDLE_SECONDS),
            (vars::SSE_KEEPALIVE_SECONDS, DEFAULT_SSE_KEEPALIVE_SECONDS),
        ] {
            sse_seconds(name, default, var(name).as_deref())?;
        }
        Ok(Self {
            todos_api: crate::todos_client::Settings::from_lookup(&var)?,
            allowed_origins: rules::parse_origins(
                var(vars::ALLOWED_ORIGINS).as_deref().unwrap_or_default(),
            )
            .map_err(|problem| crate::config::error(vars::ALLOWED_ORIGINS, problem))?,
            max_body_bytes: whole_number(
                vars::MAX_BODY_BYTES,
                var(vars::MAX_BODY_BYTES).as_deref(),
                1..=MAX_MAX_BODY_BYTES,
                "bytes",
                DEFAULT_MAX_BODY_BYTES,
            )?,
            sse_max_sessions: whole_number(
                vars::SSE_MAX_SESSIONS_PER_USER,
                var(vars::SSE_MAX_SESSIONS_PER_USER).as_deref(),
                SSE_MAX_SESSIONS_RANGE,
                "sessions",
                DEFAULT_SSE_MAX_SESSIONS,
            )?,
            public_url: public_url.to_owned(),
        })
    }

    /// The protected-resource metadata URL named in challenges (RFC 9728 §5.1).
    pub fn resource_metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.public_url)
    }
}

/// An incoming request to an MCP endpoint: the runtime's own, read directly, since the `worker`
/// crate's `Request` reads its `cf` object, URL and method up front on every conversion.
pub type McpRequest = worker::worker_sys::web_sys::Request;

/// The request header `name`, if sent.
pub fn header(req: &McpRequest, name: &str) -> worker::Result<Option<String>> {
    Ok(req.headers().get(name)?)
}

/// Serves one authenticated request to `/mcp`, `/sse` or `/sse/message`.
pub async fn serve(
    req: McpRequest,
    env: &Env,
    caller: &Caller,
    settings: &Settings,
) -> worker::Result<McpResponse> {
    log_tools_registered_once();
    let url = req.url();
    let path = crate::path_of(&url);
    let origin = header(&req, "Origin")?;
    // MCP 2025-06-18 basic/transports §Security Warning: validate Origin (DNS rebinding); an
    // invalid one is a 403 whose body MAY be a JSON-RPC error without id.
    if !rules::origin_allowed(
        origin.as_deref(),
        &settings.allowed_origins,
        &settings.public_url,
    ) {
        log::debug!("mcp.origin_refused", "origin" => origin, "path" => path);
        let error = RpcError::new(
            ErrorCode::INVALID_REQUEST,
            "Forbidden: this Origin may not use the MCP endpoint",
        );
        return json_response(403, &error_response(None, &error));
    }
    // Each endpoint serves one method; any other is a 405 naming it (RFC 9110 §15.5.6).
    let allow = match path {
        MCP_PATH | SSE_MESSAGE_PATH => "POST",
        SSE_PATH => "GET",
        _ => return empty_response(404),
    };
    if req.method() != allow {
        return method_not_allowed(allow);
    }
    match path {
        MCP_PATH => streamable::handle(req, env, caller, settings).await,
        SSE_PATH => sse::open(env, caller, settings).await,
        _ => sse::post(req, env, caller, settings).await,
    }
}

thread_local! {
    static TOOLS_LOGGED: Cell<bool> = const { Cell::new(false) };
}

/// Logs the registered tools once per isolate.
fn log_tools_registered_once() {
    if TOOLS_LOGGED.with(|logged| logged.replace(true)) {
        return;
    }
    let tools: Vec<Value> = crate::tools::all()
        .iter()
        .map(|tool| json!({ "name": tool.name(), "scope": tool.required_scope() }))
        .collect();
    log::debug!("mcp.tools_registered", "tools" => tools);
}

/// The ToDos API client for one authenticated request: the caller's upstream tokens, the API
/// `settings` name.
fn todos_client<'a>(
    env: &'a Env,
    settings: &'a Settings,
    caller: &'a Caller,
) -> crate::todos_client::TodosClient<'a> {
    crate::todos_client::TodosClient::new(env, &settings.todos_api, &caller.props.upstream)
}

/// What the MCP endpoints answer with: the runtime's `Response`, built in one call
/// ([`crate::bindings::cached_response`]).
pub type McpResponse = worker::worker_sys::web_sys::Response;

/// Headers every MCP response carries. Browser clients must read `WWW-Authenticate` (discovery,
/// step-up) and, on servers with sessions, `Mcp-Session-Id`; `OAuthProvider` adds the rest of CORS.
const EXPOSE: (&str, &str) = (
    "Access-Control-Expose-Headers",
    "Mcp-Session-Id, WWW-Authenticate",
);
const NO_STORE: (&str, &str) = ("Cache-Control", "no-store");
static JSON_HEADERS: [(&str, &str); 3] = [("Content-Type", "application/json"), NO_STORE, EXPOSE];
static EMPTY_HEADERS: [(&str, &str); 2] = [NO_STORE, EXPOSE];
/// A one-event SSE answer (`X-Accel-Buffering: no` keeps proxies from holding it back).
pub static EVENT_STREAM_HEADERS: [(&str, &str); 4] = [
    ("Content-Type", "text/event-stream"),
    NO_STORE,
    EXPOSE,
    ("X-Accel-Buffering", "no"),
];

/// A response with `status`, `headers` and `body`.
pub fn reply(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&str>,
) -> worker::Result<McpResponse> {
    crate::bindings::cached_response(status, headers, body).map_err(worker::Error::RustError)
}

/// A JSON response with `status`.
pub fn json_response(status: u16, body: &Value) -> worker::Result<McpResponse> {
    reply(status, &JSON_HEADERS, Some(&crate::json::write(body)))
}

/// An empty response with `status` (202 for accepted notifications, 405, 413, …).
pub fn empty_response(status: u16) -> worker::Result<McpResponse> {
    reply(status, &EMPTY_HEADERS, None)
}

/// 405 for a method the endpoint does not serve, naming the one it does (RFC 9110 §15.5.6).
fn method_not_allowed(allow: &str) -> worker::Result<McpResponse> {
    let response = empty_response(405)?;
    response.headers().set("Allow", allow)?;
    Ok(response)
}

/// Reads a POST body of JSON-RPC: the media type first (415), then the size (413), by
/// `Content-Length` before reading and by what arrives while reading, so a body is refused once
/// it passes `max` bytes, whether it declared its length or not (chunked).
pub async fn read_json_body(
    req: &McpRequest,
    max: usize,
) -> worker::Result<Result<Vec<u8>, McpResponse>> {
    // MCP basic/transports: messages are JSON-RPC, UTF-8 encoded, POSTed as `application/json`
    // (RFC 9110 §15.5.16: 415 for any other media type, or none).
    if !rules::is_json_media_type(header(req, "Content-Type")?.as_deref()) {
        let error = RpcError::new(
            ErrorCode::INVALID_REQUEST,
            "Unsupported Media Type: Content-Type must be application/json",
        );
        return Ok(Err(json_response(415, &error_response(None, &error))?));
    }
    if rules::declared_length_exceeds(header(req, "Content-Length")?.as_deref(), max) {
        return Ok(Err(too_large(max)?));
    }
    match crate::bindings::read_body(req, max)
        .await
        .map_err(worker::Error::RustError)?
    {
        Some(bytes) => Ok(Ok(bytes)),
        None => Ok(Err(too_large(max)?)),
    }
}

fn too_large(max: usize) -> worker::Result<McpResponse> {
    let error = RpcError::new(
        ErrorCode::INVALID_REQUEST,
        format!("Request body larger than {max} bytes"),
    );
    json_response(413, &error_response(None, &error))
}

/// Answers an HTTP-level failure with its RFC 6750 challenge.
pub fn failure_response(
    failure: &dispatch::HttpFailure,
    settings: &Settings,
) -> worker::Result<McpResponse> {
    let (status, challenge, body) = rules::challenge(failure, &settings.resource_metadata_url());
    let response = json_response(status, &body)?;
    response.headers().set("WWW-Authenticate", &challenge)?;
    Ok(response)
}

/// Milliseconds since the epoch, from the JS clock.
pub fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}
