//! Transport rules for HTTP, kept pure: which protocol version a POST speaks, which headers it
//! must carry, whether its `Origin` is allowed, which HTTP status a reply gets, and the RFC 6750
//! challenges. The worker glue (`streamable`, `sse`) only moves bytes and headers.

use base64ct::{Base64, Encoding};
use serde_json::{Value, json};

use super::dispatch::{HttpFailure, META_PROTOCOL_VERSION, Reply};
use super::jsonrpc::{ErrorCode, Incoming, RequestId, RpcError, error_response};
use super::version::ProtocolVersion;
use crate::web_url::WebUrl;

/// The MCP headers of a POST, as sent (names are case-insensitive, values are not).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct McpHeaders {
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<String>,
    /// `Mcp-Method` (MCP 2026-07-28 basic/transports §Standard Request Headers).
    pub method: Option<String>,
    /// `Mcp-Name`, possibly `=?base64?…?=` encoded.
    pub name: Option<String>,
}

/// A POST refused before dispatch: an HTTP status and a JSON-RPC error body.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// The JSON-RPC error response.
    pub body: Value,
}

impl Rejection {
    fn new(status: u16, id: Option<&RequestId>, error: RpcError) -> Self {
        Self {
            status,
            body: error_response(id, &error),
        }
    }
}

/// `400` + `UnsupportedProtocolVersion` listing what is supported (MCP 2026-07-28
/// basic/versioning §Protocol Version Negotiation; earlier revisions ask only for the 400).
pub fn unsupported_version(id: Option<&RequestId>, requested: &str) -> Rejection {
    let error = RpcError::new(
        ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
        format!("Unsupported protocol version: {requested}"),
    )
    .with_data(
        json!({ "supported": ProtocolVersion::supported_strings(), "requested": requested }),
    );
    Rejection::new(400, id, error)
}

fn header_mismatch(id: Option<&RequestId>, detail: String) -> Rejection {
    Rejection::new(
        400,
        id,
        RpcError::new(
            ErrorCode::HEADER_MISMATCH,
            format!("Header mismatch: {detail}"),
        ),
    )
}

/// The version one (non-batch) message on the Streamable HTTP endpoint speaks.
///
/// - A request whose `_meta` names a version is a 2026-07-28-style request: `MCP-Protocol-Version`
///   must equal it, `Mcp-Method` must equal the method and, for `tools/call`, `Mcp-Name` the tool
///   (MCP 2026-07-28 basic/transports §Server Validation).
/// - `initialize` negotiates its version in its params; the header is not consulted.
/// - Otherwise the header decides (400 when unsupported), and its absence means 2025-03-26
///   (MCP 2025-06-18 basic/transports §Protocol Version Header). A header of 2026-07-28 without
///   `_meta` is accepted as 2026-07-28: a client that negotiated it through `initialize` sends that.
pub fn message_version(
    headers: &McpHeaders,
    message: &Incoming,
) -> Result<ProtocolVersion, Rejection> {
    let (id, method, params) = match message {
        Incoming::Request(request) => (
            Some(&request.id),
            request.method.as_str(),
            request.params.as_ref(),
        ),
        Incoming::Notification(notification) => (
            None,
            notification.method.as_str(),
            notification.params.as_ref(),
        ),
        _ => return header_version(headers, None),
    };
    let meta_version = params
        .and_then(|params| params.get("_meta"))
        .and_then(|meta| meta.get(META_PROTOCOL_VERSION))
        .and_then(Value::as_str);
    if let Some(meta_version) = meta_version {
        match headers.protocol_version.as_deref() {
            Some(header) if header == meta_version => {}
            Some(header) => {
                return Err(header_mismatch(
                    id,
                    format!(
                        "MCP-Protocol-Version header `{header}` does not match `_meta` `{meta_version}`"
                    ),
                ));
            }
            None => {
                return Err(header_mismatch(
                    id,
                    "the MCP-Protocol-Version header is missing".into(),
                ));
            }
        }
        let Some(version) = ProtocolVersion::parse(meta_version) else {
            return Err(unsupported_version(id, meta_version));
        };
        if version.is_modern() {
            check_standard_headers(headers, id, method, params)?;
        }
        return Ok(version);
    }
    if method == "initialize" {
        return Ok(ProtocolVersion::HTTP_DEFAULT);
    }
    header_version(headers, id)
}

/// The version a request speaks by its `MCP-Protocol-Version` header alone.
pub fn header_version(
    headers: &McpHeaders,
    id: Option<&RequestId>,
) -> Result<ProtocolVersion, Rejection> {
    match headers.protocol_version.as_deref().map(str::trim) {
        None => Ok(ProtocolVersion::HTTP_DEFAULT),
        Some(text) => ProtocolVersion::parse(text).ok_or_else(|| unsupported_version(id, text)),
    }
}

/// The version a batch speaks, or why batches are refused: only 2025-03-26 had them
/// (MCP 2025-06-18 changelog §1).
pub fn batch_version(headers: &McpHeaders) -> Result<ProtocolVersion, Rejection> {
    let version = header_version(headers, None)?;
    if version.allows_batches() {
        Ok(version)
    } else {
        Err(Rejection::new(
            400,
            None,
            RpcError::new(
                ErrorCode::INVALID_REQUEST,
                format!("Invalid Request: JSON-RPC batches are not part of MCP {version}"),
            ),
        ))
    }
}

fn check_standard_headers(
    headers: &McpHeaders,
    id: Option<&RequestId>,
    method: &str,
    params: Option<&serde_json::Map<String, Value>>,
) -> Result<(), Rejection> {
    match headers.method.as_deref() {
        Some(header) if header == method => {}
        Some(header) => {
            return Err(header_mismatch(
                id,
                format!("Mcp-Method header `{header}` does not match body `{method}`"),
            ));
        }
        None => {
            return Err(header_mismatch(
                id,
                "the Mcp-Method header is missing".into(),
            ));
        }
    }
    let name_field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return Ok(()),
    };
    let body_name = params
        .and_then(|params| params.get(name_field))
        .and_then(Value::as_str);
    let header_name = headers.name.as_deref().map(decode_header_value);
    match (header_name, body_name) {
        (Some(Some(header)), Some(body)) if header == body => Ok(()),
        (None, _) => Err(header_mismatch(id, "the Mcp-Name header is missing".into())),
        (Some(None), _) => Err(header_mismatch(
            id,
            "the Mcp-Name header is not valid".into(),
        )),
        (Some(Some(header)), body) => Err(header_mismatch(
            id,
            format!(
                "Mcp-Name header `{header}` does not match body `{}`",
                body.unwrap_or_default()
            ),
        )),
    }
}

/// Decodes a header value that may use the `=?base64?…?=` sentinel (MCP 2026-07-28
/// basic/transports §Value Encoding); `None` when the encoding is broken.
pub fn decode_header_value(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(Base64::decode_vec(encoded).ok()?).ok(),
        None => Some(value.to_string()),
    }
}

/// Whether a request's `Origin` may reach the MCP endpoints (MCP 2025-06-18 basic/transports
/// §Security Warning: validate `Origin` against DNS rebinding). No `Origin` (native clients) is
/// fine; the server's own origin is always allowed; `*` in the list allows any. The list holds
/// origins in their serialised form (`parse_origins`).
pub fn origin_allowed(origin: Option<&str>, allowed: &[String], public_url: &str) -> bool {
    let Some(origin) = origin else { return true };
    let origin = origin.trim_end_matches('/');
    origin == public_url.trim_end_matches('/')
        || allowed.iter().any(|entry| entry == "*" || entry == origin)
}

/// The CORS headers `OAuthProvider` puts on every answer of an API route to a request with an
/// `Origin` (its `withCorsHeaders`): the answers given for a remembered token
/// (`crate::token_memo`) must not differ from the ones the library wraps. `existing` reads the
/// answer's header; returns each header to set, with its whole new value.
pub fn provider_cors_headers(
    origin: &str,
    existing: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    let mut set = Vec::new();
    for (name, value) in [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", "*"),
        ("Access-Control-Allow-Headers", "Authorization, *"),
        ("Access-Control-Max-Age", "86400"),
    ] {
        if existing(name).is_none() {
            set.push((name, value.to_owned()));
        }
    }
    // A comma-separated list gains each value it lacks (compared case-insensitively).
    for (name, values) in [
        ("Vary", &["Origin"][..]),
        (
            "Access-Control-Expose-Headers",
            &["WWW-Authenticate", "Retry-After"][..],
        ),
    ] {
        let current = existing(name).unwrap_or_default();
        let mut items: Vec<&str> = current
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect();
        for value in values {
            if !items.iter().any(|item| item.eq_ignore_ascii_case(value)) {
                items.push(value);
            }
        }
        set.push((name, items.join(", ")));
    }
    set
}

/// Parses `ALLOWED_ORIGINS`: comma or space separated origins.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            if entry == "*" {
                return Ok(entry.to_owned());
            }
            // Browsers send an origin serialised (RFC 6454 §6.2): scheme and host lower-cased, no
            // default port, no path. An entry written otherwise would never match, silently.
            match WebUrl::parse(entry) {
                Some(url)
                    if matches!(url.scheme().as_str(), "http" | "https")
                        && url.path() == "/"
                        && !url.has_query_fragment_or_userinfo() =>
                {
                    Ok(url.origin())
                }
                _ => Err(
                    "must be origins such as https://app.example.com (no path), or *".to_owned(),
                ),
            }
        })
        .collect()
}

/// The HTTP status of a JSON-RPC reply to one message on the Streamable HTTP endpoint: 400 for
/// a message that could not be parsed or is not a valid request, 404 for an unknown method in
/// 2026-07-28 (MCP 2026-07-28 basic/transports §Protocol Version Header), else 200.
pub fn status_for(reply: &Reply, version: ProtocolVersion) -> u16 {
    match reply.error_code() {
        Some(-32700) | Some(-32600) => 400,
        Some(-32601) if version.is_modern() => 404,
        _ => 200,
    }
}

/// The `WWW-Authenticate` value and status for an HTTP-level failure (RFC 6750 §3; MCP
/// 2025-11-25 basic/authorization §Runtime Insufficient Scope Errors).
pub fn challenge(failure: &HttpFailure, resource_metadata: &str) -> (u16, String, Value) {
    match failure {
        HttpFailure::InsufficientScope {
            needed,
            challenge_scope,
        } => (
            403,
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"{challenge_scope}\", resource_metadata=\"{resource_metadata}\", error_description=\"This tool needs the {needed} scope\""
            ),
            json!({ "error": "insufficient_scope", "error_description": format!("This tool needs the {needed} scope"), "scope": challenge_scope }),
        ),
        HttpFailure::UpstreamTokenRejected => (
            401,
            format!(
                "Bearer error=\"invalid_token\", resource_metadata=\"{resource_metadata}\", error_description=\"The ToDos API rejected the user's upstream token; refresh the access token\""
            ),
            json!({ "error": "invalid_token", "error_description": "The ToDos API rejected the user's upstream token; refresh the access token" }),
        ),
    }
}

/// Whether a request's `Content-Length` already says its body is over `max` bytes (RFC 9110
/// §15.5.14: 413). Read as a u64: on wasm32 a usize cannot hold 4 GiB or more, and such a length
/// must be refused, not ignored. A malformed value is the runtime's to refuse; the body is
/// counted while it is read anyway.
pub fn declared_length_exceeds(content_length: Option<&str>, max: usize) -> bool {
    content_length
        .and_then(|length| length.trim().parse::<u64>().ok())
        .is_some_and(|length| length > max as u64)
}

/// Whether a `Content-Type` is JSON: the media type `application/json` in any case (RFC 9110
/// §8.3.1), with any parameters but a `charset` other than UTF-8 (MCP basic/transports: messages
/// are UTF-8 encoded; RFC 8259 §8.1). A missing header is not JSON.
pub fn is_json_media_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mut parts = content_type.split(';').map(str::trim);
    parts
        .next()
        .is_some_and(|essence| essence.eq_ignore_ascii_case("application/json"))
        && parts.all(|parameter| match parameter.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => true,
        })
}

/// How the reply to a POST on `/mcp` is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyFormat {
    /// `application/json`.
    Json,
    /// The same JSON as one SSE `message` event, for a client that accepts only that.
    EventStream,
}

/// The format of a POST's reply by its `Accept` header, or `None` when the header admits neither
/// (406, RFC 9110 §15.5.7). Clients must list both types (MCP 2025-06-18 basic/transports
/// §Sending Messages), but being lenient costs nothing: a missing (or empty) `Accept`, or one
/// that admits JSON, gets `application/json`; one that admits only `text/event-stream`, one SSE
/// event.
pub fn reply_format(accept: Option<&str>) -> Option<ReplyFormat> {
    let Some(accept) = accept.filter(|accept| !accept.trim().is_empty()) else {
        return Some(ReplyFormat::Json);
    };
    if accepts(accept, "application/json") {
        Some(ReplyFormat::Json)
    } else if accepts(accept, "text/event-stream") {
        Some(ReplyFormat::EventStream)
    } else {
        None
    }
}

/// Whether `accept` admits `media` (`type/subtype`): the most specific range that matches it
/// decides, `type/subtype` over `type/*` over `*/*`, and a range with `q=0` refuses
/// (RFC 9110 §12.5.1, §12.4.2).
fn accepts(accept: &str, media: &str) -> bool {
    let kind = media.split('/').next().unwrap_or_default();
    let mut best: Option<(u8, bool)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let specificity = if name.eq_ignore_ascii_case(media) {
            3
        } else if name
            .strip_suffix("/*")
            .is_some_and(|range_kind| range_kind.eq_ignore_ascii_case(kind))
        {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        // A qvalue has at most three decimals (RFC 9110 §12.4.2), so zero is `0`, `0.`, `0.000`.
        let refused = parts.any(|parameter| {
            parameter.split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("q")
                    && value
                        .trim()
                        .bytes()
                        .all(|byte| byte == b'0' || byte == b'.')
            })
        });
        if best.is_none_or(|(most, _)| specificity > most) {
            best = Some((specificity, !refused));
        }
    }
    best.is_some_and(|(_, acceptable)| acceptable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::jsonrpc::parse_message;
    use ProtocolVersion as V;

    #[test]
    fn provider_cors_headers_fill_what_is_missing_and_extend_lists() {
        let existing = |name: &str| match name {
            "Access-Control-Expose-Headers" => Some("Mcp-Session-Id, WWW-Authenticate".to_owned()),
            "Access-Control-Max-Age" => Some("600".to_owned()),
            _ => None,
        };
        let set = provider_cors_headers("http://localhost:6274", existing);
        let value = |name: &str| {
            set.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            value("Access-Control-Allow-Origin"),
            Some("http://localhost:6274")
        );
        assert_eq!(value("Access-Control-Allow-Methods"), Some("*"));
        assert_eq!(
            value("Access-Control-Allow-Headers"),
            Some("Authorization, *")
        );
        assert_eq!(value("Access-Control-Max-Age"), None, "kept as it was");
        assert_eq!(value("Vary"), Some("Origin"));
        assert_eq!(
            value("Access-Control-Expose-Headers"),
            Some("Mcp-Session-Id, WWW-Authenticate, Retry-After")
        );
    }

    fn headers(version: Option<&str>, method: Option<&str>, name: Option<&str>) -> McpHeaders {
        McpHeaders {
            protocol_version: version.map(String::from),
            method: method.map(String::from),
            name: name.map(String::from),
        }
    }

    fn message(value: Value) -> Incoming {
        parse_message(value)
    }

    #[test]
    fn absent_header_means_2025_03_26_and_unsupported_is_400() {
        let ping = message(json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
        assert_eq!(
            message_version(&headers(None, None, None), &ping),
            Ok(V::V2025_03_26)
        );
        assert_eq!(
            message_version(&headers(Some("2025-06-18"), None, None), &ping),
            Ok(V::V2025_06_18)
        );
        let rejection =
            message_version(&headers(Some("2030-01-01"), None, None), &ping).unwrap_err();
        assert_eq!(rejection.status, 400);
        assert_eq!(rejection.body["error"]["code"], -32022);
        assert_eq!(rejection.body["error"]["data"]["requested"], "2030-01-01");
    }

    #[test]
    fn initialize_ignores_the_header() {
        let init = message(
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}),
        );
        assert!(message_version(&headers(Some("bogus"), None, None), &init).is_ok());
    }

    #[test]
    fn modern_requests_must_mirror_version_method_and_name_in_headers() {
        let call = message(
            json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","_meta":{META_PROTOCOL_VERSION:"2026-07-28"}}}),
        );
        let ok = headers(Some("2026-07-28"), Some("tools/call"), Some("whoami"));
        assert_eq!(message_version(&ok, &call), Ok(V::V2026_07_28));
        let encoded = headers(
            Some("2026-07-28"),
            Some("tools/call"),
            Some("=?base64?d2hvYW1p?="),
        );
        assert_eq!(message_version(&encoded, &call), Ok(V::V2026_07_28));
        for bad in [
            headers(None, Some("tools/call"), Some("whoami")),
            headers(Some("2025-11-25"), Some("tools/call"), Some("whoami")),
            headers(Some("2026-07-28"), None, Some("whoami")),
            headers(Some("2026-07-28"), Some("tools/list"), Some("whoami")),
            headers(Some("2026-07-28"), Some("tools/call"), None),
            headers(Some("2026-07-28"), Some("tools/call"), Some("list-todos")),
        ] {
            let rejection = message_version(&bad, &call).unwrap_err();
            assert_eq!(
                (rejection.status, rejection.body["error"]["code"].as_i64()),
                (400, Some(-32020)),
                "{bad:?}"
            );
        }
        let future = message(
            json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{META_PROTOCOL_VERSION:"2099-01-01"}}}),
        );
        let rejection = message_version(
            &headers(Some("2099-01-01"), Some("tools/list"), None),
            &future,
        )
        .unwrap_err();
        assert_eq!(rejection.body["error"]["code"], -32022);
    }

    #[test]
    fn batches_only_for_2025_03_26() {
        assert_eq!(
            batch_version(&headers(None, None, None)),
            Ok(V::V2025_03_26)
        );
        assert_eq!(
            batch_version(&headers(Some("2025-06-18"), None, None))
                .unwrap_err()
                .body["error"]["code"],
            -32600
        );
    }

    #[test]
    fn origins() {
        let allowed = parse_origins("http://localhost:6274, http://127.0.0.1:6274").unwrap();
        assert!(origin_allowed(None, &allowed, "http://localhost:8788"));
        assert!(origin_allowed(
            Some("http://localhost:6274"),
            &allowed,
            "http://localhost:8788"
        ));
        assert!(origin_allowed(
            Some("http://localhost:8788"),
            &allowed,
            "http://localhost:8788/"
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            &allowed,
            "http://localhost:8788"
        ));
        assert!(origin_allowed(
            Some("https://any.example"),
            &parse_origins("*").unwrap(),
            "http://localhost:8788"
        ));
        assert!(!origin_allowed(Some("null"), &[], "http://localhost:8788"));
    }

    #[test]
    fn allowed_origins_are_read_in_their_serialised_form_or_refused() {
        assert_eq!(
            parse_origins("HTTPS://App.Example.com:443/, http://localhost:6274\n*").unwrap(),
            ["https://app.example.com", "http://localhost:6274", "*"]
        );
        for entry in [
            "https://app.example.com/mcp",
            "https://app.example.com/?x",
            "app.example.com",
            "ftp://app.example.com",
            "https://user@app.example.com",
        ] {
            assert!(parse_origins(entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let (status, header, _) = challenge(
            &HttpFailure::InsufficientScope {
                needed: "read:billing",
                challenge_scope: "read:todos read:billing".into(),
            },
            "http://localhost:8788/.well-known/oauth-protected-resource",
        );
        assert_eq!(status, 403);
        assert!(header.starts_with("Bearer error=\"insufficient_scope\", scope=\"read:todos read:billing\", resource_metadata=\"http://localhost:8788/.well-known/oauth-protected-resource\""));
        let (status, header, _) = challenge(&HttpFailure::UpstreamTokenRejected, "x");
        assert_eq!(status, 401);
        assert!(header.contains("error=\"invalid_token\""));
    }

    #[test]
    fn json_is_sent_to_any_client_that_accepts_it_or_says_nothing() {
        for accept in [
            None,
            Some(""),
            Some("application/json, text/event-stream"),
            Some("application/json"),
            Some("*/*"),
            Some("application/*;q=0.5"),
            Some("Application/JSON"),
            Some("text/event-stream;q=1, application/json;q=0.1"),
        ] {
            assert_eq!(reply_format(accept), Some(ReplyFormat::Json), "{accept:?}");
        }
    }

    #[test]
    fn a_client_that_accepts_only_event_streams_gets_one_sse_event() {
        for accept in [
            "text/event-stream",
            "text/*",
            "text/event-stream, application/json;q=0",
            "*/*, application/json;q=0",
        ] {
            assert_eq!(
                reply_format(Some(accept)),
                Some(ReplyFormat::EventStream),
                "{accept}"
            );
        }
    }

    #[test]
    fn an_accept_that_admits_neither_format_is_not_acceptable() {
        for accept in [
            "text/html",
            "application/xml, image/*",
            "application/jsonx",
            "application/json;q=0, text/event-stream;q=0.000",
            "*/*;q=0",
            "*/*, application/*;q=0, text/event-stream;q=0",
        ] {
            assert_eq!(reply_format(Some(accept)), None, "{accept}");
        }
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_even_past_4_gib() {
        assert!(!declared_length_exceeds(None, 1024));
        assert!(!declared_length_exceeds(Some("1024"), 1024));
        assert!(declared_length_exceeds(Some(" 1025 "), 1024));
        assert!(declared_length_exceeds(Some("4294967298"), 1024));
        assert!(declared_length_exceeds(
            Some("18446744073709551615"),
            usize::MAX >> 1
        ));
        assert!(
            !declared_length_exceeds(Some("-1"), 1024),
            "malformed: left to the count"
        );
    }

    #[test]
    fn only_the_json_media_type_is_json() {
        for ok in [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
            " application/json ; foo=bar",
        ] {
            assert!(is_json_media_type(Some(ok)), "{ok}");
        }
        for refused in [
            None,
            Some(""),
            Some("application/jsonx"),
            Some("application/json-patch+json"),
            Some("text/plain"),
            Some("application/json; charset=latin1"),
            Some("text/json"),
        ] {
            assert!(!is_json_media_type(refused), "{refused:?}");
        }
    }

    #[test]
    fn statuses() {
        let error = |code: i64| {
            Reply::Message(json!({"jsonrpc":"2.0","id":1,"error":{"code":code,"message":"x"}}))
        };
        assert_eq!(status_for(&error(-32700), V::V2025_06_18), 400);
        assert_eq!(status_for(&error(-32601), V::V2025_06_18), 200);
        assert_eq!(status_for(&error(-32601), V::V2026_07_28), 404);
        assert_eq!(status_for(&error(-32602), V::V2026_07_28), 200);
    }
}
