//! JSON-RPC 2.0 envelopes as MCP uses them (MCP 2025-11-25 basic §Messages; JSON-RPC 2.0 §4–§6).
//!
//! The envelope is parsed first, into [`Incoming`] messages, without looking at any method's
//! params; each method then parses its own typed params (see `dispatch`). A body that is not JSON
//! is a parse error; JSON that is not a request, notification or response is an invalid request.

use serde::Serialize;
use serde_json::{Map, Value};

/// A JSON-RPC error code (JSON-RPC 2.0 §5.1, MCP 2026-07-28 basic §Error Codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// Invalid method parameters.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// The session named by the request does not exist or has ended: an implementation-defined
    /// server error (JSON-RPC 2.0 §5.1 reserves -32000 to -32099), the code the MCP TypeScript
    /// SDK's transports answer with their 404.
    pub const SESSION_NOT_FOUND: Self = Self(-32001);
    /// The caller already holds as many open sessions as the server allows (implementation-defined,
    /// JSON-RPC 2.0 §5.1; the digits recall HTTP 429, which carries it).
    pub const TOO_MANY_SESSIONS: Self = Self(-32029);
    /// HTTP headers disagree with the body, or a required header is missing
    /// (MCP 2026-07-28 basic/transports §Server Validation).
    pub const HEADER_MISMATCH: Self = Self(-32020);
    /// The requested protocol version is not supported (MCP 2026-07-28 basic/versioning).
    pub const UNSUPPORTED_PROTOCOL_VERSION: Self = Self(-32022);
}

/// A request id: a string or an integer, never `null` (MCP basic §Requests).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct RequestId(Value);

impl RequestId {
    /// Accepts a string or an integer; anything else is not a valid MCP request id. MCP basic
    /// §Requests: the id MUST be a string or an integer; JSON-RPC 2.0 §4: numbers SHOULD NOT
    /// contain fractional parts. A number the parser could not hold as an `i64` or `u64` (`1.5`,
    /// `1e3`, `-0`, `18446744073709551616`) is read as a float, and would be echoed changed.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(_) => Some(Self(value.clone())),
            Value::Number(number) if !number.is_f64() => Some(Self(value.clone())),
            _ => None,
        }
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RpcError {
    /// The error code.
    pub code: ErrorCode,
    /// A short description.
    pub message: String,
    /// Details, such as the supported versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with a code and a message, no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` to the error.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// A request from the client (has an id, expects a response).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The id the response must carry.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// `params`, always an object in MCP; `None` when absent.
    pub params: Option<Map<String, Value>>,
}

/// A notification from the client (no id, no response).
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// `params`, when present.
    pub params: Option<Map<String, Value>>,
}

/// One message of a POST body, or why it is not one.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A request: answered with a response.
    Request(Request),
    /// A notification: never answered.
    Notification(Notification),
    /// A response or error from the client to a server request. This server sends no requests,
    /// so these are accepted and dropped (MCP basic/transports: answered with 202).
    Response,
    /// Not a valid message: answered with this error, under this id when one could be read
    /// (JSON-RPC 2.0 §5: `id` is null when it cannot be determined).
    Invalid(Option<RequestId>, RpcError),
}

impl Incoming {
    /// Whether this message expects a JSON-RPC response.
    pub fn expects_response(&self) -> bool {
        matches!(self, Incoming::Request(_) | Incoming::Invalid(..))
    }
}

/// The most messages one batch may hold. Every item of a batch is answered in the one request,
/// one after the other, each possibly a `tools/call` making a ToDos API subrequest (a Worker on
/// the Free plan may make 50 per request), and each gets a reply object of its own: without a
/// cap, a 1 MiB body of `[1,1,…]` asks for half a million error replies. No MCP client needs
/// more: batches exist only in MCP 2025-03-26, and its clients send a handful at most.
pub const MAX_BATCH_MESSAGES: usize = 32;

/// A parsed POST body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body<'a> {
    /// One message.
    Single(Incoming),
    /// A JSON-RPC batch (JSON-RPC 2.0 §6; only MCP 2025-03-26 allows it), not parsed yet: the
    /// transport decides first whether it takes batches at all, so refusing one builds nothing.
    Batch(RawBatch<'a>),
}

/// The bytes of a body that is a JSON array (a batch), before anything is built from them.
#[derive(Clone, Debug, PartialEq)]
pub struct RawBatch<'a>(&'a [u8]);

impl RawBatch<'_> {
    /// Parses the batch: `Err` is the one error that answers it whole (JSON-RPC 2.0 §6): more
    /// than [`MAX_BATCH_MESSAGES`] items (counted on the bytes, before any item is parsed), not
    /// JSON (-32700), or empty (-32600).
    pub fn parse(self) -> Result<Vec<Incoming>, RpcError> {
        if top_level_items(self.0) > MAX_BATCH_MESSAGES {
            return Err(RpcError::new(
                ErrorCode::INVALID_REQUEST,
                format!("Invalid Request: a batch may hold at most {MAX_BATCH_MESSAGES} messages"),
            ));
        }
        match parse_json(self.0)? {
            // JSON-RPC 2.0 §6: an empty array is an invalid request, answered with one error.
            Value::Array(items) if items.is_empty() => Err(RpcError::new(
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: empty batch",
            )),
            Value::Array(items) => Ok(items.into_iter().map(parse_message).collect()),
            // Unreachable: the body starts with `[`, so it is an array or not JSON.
            other => Ok(vec![parse_message(other)]),
        }
    }
}

/// Parses a body. One message is parsed at once (`Err` is the parse error, -32700); a batch
/// (JSON-RPC 2.0 §6: a body that is a JSON array) is only recognised, by its first byte, and
/// left for the transport to refuse or to [`RawBatch::parse`].
pub fn parse_body(bytes: &[u8]) -> Result<Body<'_>, RpcError> {
    // RFC 8259 §2: JSON text may start with white space (space, tab, line feed, carriage return).
    let first = bytes
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'));
    if first == Some(&b'[') {
        return Ok(Body::Batch(RawBatch(bytes)));
    }
    Ok(Body::Single(parse_message(parse_json(bytes)?)))
}

fn parse_json(bytes: &[u8]) -> Result<Value, RpcError> {
    crate::json::parse_bytes(bytes).map_err(|_| not_json())
}

/// The parse error (-32700) of a body that is not JSON text.
pub fn not_json() -> RpcError {
    RpcError::new(
        ErrorCode::PARSE_ERROR,
        "Parse error: the body is not valid JSON",
    )
}

/// How many items the JSON array `bytes` holds at its top level, counted without parsing them:
/// the commas outside any string or nested value, plus one (`[]` counts as one; the parser
/// tells it apart). Only a count for the cap: whether the text is JSON is the parser's to say.
fn top_level_items(bytes: &[u8]) -> usize {
    let (mut depth, mut commas) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            b',' if depth == 1 => commas += 1,
            _ => {}
        }
    }
    commas + 1
}

/// Parses one message of a body (JSON-RPC 2.0 §4). Takes the message by value: the method and
/// params move out of it, uncopied.
pub fn parse_message(value: Value) -> Incoming {
    let Value::Object(mut object) = value else {
        return Incoming::Invalid(None, invalid("a message must be a JSON object"));
    };
    let has_id = object.contains_key("id");
    // The id is echoed in the error when it can be read, even if the rest is broken.
    let id = object.get("id").and_then(RequestId::from_value);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Incoming::Invalid(id, invalid("\"jsonrpc\" must be \"2.0\""));
    }
    if let Some(method) = object.remove("method") {
        let Value::String(method) = method else {
            return Incoming::Invalid(id, invalid("\"method\" must be a string"));
        };
        let params = match object.remove("params") {
            None => None,
            Some(Value::Object(params)) => Some(params),
            // MCP params are always objects (MCP basic §Requests); JSON-RPC allows arrays, which
            // makes an array a valid envelope with invalid params, anything else an invalid request.
            Some(Value::Array(_)) => {
                return match id {
                    Some(id) => Incoming::Invalid(
                        Some(id),
                        RpcError::new(
                            ErrorCode::INVALID_PARAMS,
                            "Invalid params: \"params\" must be an object",
                        ),
                    ),
                    None => Incoming::Notification(Notification {
                        method,
                        params: None,
                    }),
                };
            }
            Some(_) => return Incoming::Invalid(id, invalid("\"params\" must be an object")),
        };
        return match (has_id, id) {
            (false, _) => Incoming::Notification(Notification { method, params }),
            (true, Some(id)) => Incoming::Request(Request { id, method, params }),
            // MCP basic §Requests: the id MUST be a string or an integer, and not null.
            (true, None) => {
                Incoming::Invalid(None, invalid("\"id\" must be a string or an integer"))
            }
        };
    }
    if id.is_some() && (object.contains_key("result") || object.contains_key("error")) {
        return Incoming::Response;
    }
    Incoming::Invalid(
        id,
        invalid("a message needs a \"method\", or a \"result\" or \"error\""),
    )
}

fn invalid(detail: &str) -> RpcError {
    RpcError::new(
        ErrorCode::INVALID_REQUEST,
        format!("Invalid Request: {detail}"),
    )
}

/// A message `{"jsonrpc":"2.0","id":…,key:value}`, built by moving `value` in (`json!` would
/// copy it through `serde_json::to_value`).
fn response(id: Option<&RequestId>, key: &str, value: Value) -> Value {
    let mut message = Map::new();
    message.insert("jsonrpc".to_owned(), Value::from("2.0"));
    message.insert("id".to_owned(), id.map_or(Value::Null, |id| id.0.clone()));
    message.insert(key.to_owned(), value);
    Value::Object(message)
}

/// A success response.
pub fn result_response(id: &RequestId, result: Value) -> Value {
    response(Some(id), "result", result)
}

/// An error response; `id` is `null` when it could not be read (JSON-RPC 2.0 §5).
pub fn error_response(id: Option<&RequestId>, error: &RpcError) -> Value {
    let mut object = Map::new();
    object.insert("code".to_owned(), Value::from(error.code.0));
    object.insert("message".to_owned(), Value::from(error.message.as_str()));
    if let Some(data) = &error.data {
        object.insert("data".to_owned(), data.clone());
    }
    response(id, "error", Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn single(text: &str) -> Incoming {
        match parse_body(text.as_bytes()) {
            Ok(Body::Single(message)) => message,
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn non_json_is_a_parse_error() {
        assert_eq!(
            parse_body(b"{not json").unwrap_err().code,
            ErrorCode::PARSE_ERROR
        );
    }

    fn batch(text: &str) -> Result<Vec<Incoming>, RpcError> {
        match parse_body(text.as_bytes()) {
            Ok(Body::Batch(batch)) => batch.parse(),
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[test]
    fn empty_batch_is_an_invalid_request() {
        assert_eq!(batch("[]").unwrap_err().code, ErrorCode::INVALID_REQUEST);
        assert_eq!(
            batch(" \n[ ]").unwrap_err().code,
            ErrorCode::INVALID_REQUEST
        );
    }

    #[test]
    fn a_body_is_a_batch_by_its_first_byte_and_is_not_parsed_until_asked() {
        // Not JSON, yet recognised as a batch: the transport may refuse it unparsed.
        assert!(matches!(parse_body(b"\r\n\t [1,"), Ok(Body::Batch(_))));
        assert_eq!(batch("[1,").unwrap_err().code, ErrorCode::PARSE_ERROR);
        assert!(matches!(
            parse_body(br#" {"jsonrpc":"2.0","method":"x"}"#),
            Ok(Body::Single(Incoming::Notification(_)))
        ));
    }

    #[test]
    fn a_batch_over_the_cap_is_refused_whole_before_its_items_are_parsed() {
        let items = |n: usize| format!("[{}]", vec!["1"; n].join(","));
        assert_eq!(
            batch(&items(MAX_BATCH_MESSAGES)).unwrap().len(),
            MAX_BATCH_MESSAGES
        );
        let refused = batch(&items(MAX_BATCH_MESSAGES + 1)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::INVALID_REQUEST);
        assert!(
            refused.message.contains(&MAX_BATCH_MESSAGES.to_string()),
            "{}",
            refused.message
        );
        // Half a million items in 1 MiB: one error, and no item is ever parsed.
        assert_eq!(
            batch(&items(1 << 19)).unwrap_err().code,
            ErrorCode::INVALID_REQUEST
        );
    }

    #[test]
    fn batch_items_are_counted_at_the_top_level_only() {
        assert_eq!(top_level_items(b"[1]"), 1);
        assert_eq!(
            top_level_items(br#"[{"a":[1,2,3],"b":{"c":1,"d":2}}, [4,5], "x,y"]"#),
            3
        );
        assert_eq!(top_level_items(br#"["a\",b", "c\\", 2]"#), 3);
        assert_eq!(
            top_level_items(b"[1,2] ,3,4"),
            2,
            "nothing after the array counts"
        );
    }

    #[test]
    fn request_notification_and_response_are_told_apart() {
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Incoming::Request(Request { ref method, .. }) if method == "ping"
        ));
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Incoming::Notification(_)
        ));
        assert_eq!(
            single(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            Incoming::Response
        );
    }

    #[test]
    fn wrong_version_keeps_the_id_in_the_error() {
        let Incoming::Invalid(id, error) = single(r#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#)
        else {
            panic!("expected invalid");
        };
        assert_eq!(id, RequestId::from_value(&json!(7)));
        assert_eq!(error.code, ErrorCode::INVALID_REQUEST);
    }

    #[test]
    fn null_id_and_non_string_method_are_invalid_requests() {
        for text in [
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"42"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}"#,
        ] {
            assert!(
                matches!(
                    single(text),
                    Incoming::Invalid(
                        _,
                        RpcError {
                            code: ErrorCode::INVALID_REQUEST,
                            ..
                        }
                    )
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn string_and_integer_ids_are_echoed_as_sent() {
        for id in [
            r#""abc""#,
            "0",
            "-7",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
        ] {
            let text = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            let Incoming::Request(request) = single(&text) else {
                panic!("{id}: expected a request");
            };
            assert_eq!(crate::json::write(&request.id), id);
        }
    }

    #[test]
    fn a_numeric_id_that_is_not_an_integer_is_an_invalid_request_without_id() {
        for id in [
            "1.5",
            "1.0",
            "1e3",
            "-0",
            "18446744073709551616",
            "-9223372036854775809",
        ] {
            let text = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            let Incoming::Invalid(None, error) = single(&text) else {
                panic!("{id}: expected an invalid request without id");
            };
            assert_eq!(error.code, ErrorCode::INVALID_REQUEST, "{id}");
            assert!(error.message.contains("integer"), "{id}: {}", error.message);
        }
    }

    #[test]
    fn array_params_are_invalid_params() {
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}"#),
            Incoming::Invalid(
                Some(_),
                RpcError {
                    code: ErrorCode::INVALID_PARAMS,
                    ..
                }
            )
        ));
    }

    #[test]
    fn batch_keeps_each_message() {
        let items =
            batch(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},1,{"jsonrpc":"2.0","method":"x"}]"#)
                .unwrap();
        assert_eq!(items.len(), 3);
        assert!(matches!(items[1], Incoming::Invalid(None, _)));
    }

    #[test]
    fn error_response_without_id_has_null_id() {
        let body = error_response(None, &RpcError::new(ErrorCode::PARSE_ERROR, "x"));
        assert_eq!(body["id"], Value::Null);
        assert_eq!(body["error"]["code"], json!(-32700));
    }
}
