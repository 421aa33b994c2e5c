//! The Streamable HTTP transport on `/mcp` (MCP 2025-03-26 … 2026-07-28 basic/transports
//! §Streamable HTTP), stateless: no `Mcp-Session-Id` is issued, so any isolate answers any POST.
//!
//! - POST carries one message (or, in 2025-03-26, a batch of at most
//!   [`MAX_BATCH_MESSAGES`](super::jsonrpc::MAX_BATCH_MESSAGES)): requests get `application/json`,
//!   notifications and responses get `202 Accepted` with no body.
//! - GET gets 405: this server opens no server-initiated stream (MCP 2025-06-18 basic/transports
//!   §Listening for Messages from the Server). DELETE gets 405: there are no sessions to end
//!   (§Session Management). Both are what 2026-07-28 asks of every server (§Backward Compatibility).

use serde_json::Value;
use worker::Env;

use super::dispatch::{Dispatcher, HttpFailure, Reply};
use super::jsonrpc::{self, Body, ErrorCode, Incoming, RpcError, error_response};
use super::rules::{self, McpHeaders, ReplyFormat};
use super::version::ProtocolVersion;
use super::{
    EVENT_STREAM_HEADERS, McpRequest, McpResponse, Settings, empty_response, failure_response,
    header, json_response, now_ms, read_json_body, reply, todos_client,
};
use crate::grant::Caller;

/// Handles one request to `/mcp`.
pub async fn handle(
    req: McpRequest,
    env: &Env,
    caller: &Caller,
    settings: &Settings,
) -> worker::Result<McpResponse> {
    // MCP 2025-06-18 basic/transports §Sending Messages: the client MUST accept
    // `application/json` and `text/event-stream`; one that accepts neither cannot read any answer
    // (RFC 9110 §15.5.7).
    let Some(format) = rules::reply_format(header(&req, "Accept")?.as_deref()) else {
        let error = RpcError::new(
            ErrorCode::INVALID_REQUEST,
            "Not Acceptable: the Accept header must allow application/json or text/event-stream",
        );
        return json_response(406, &error_response(None, &error));
    };
    let bytes = match read_json_body(&req, settings.max_body_bytes).await? {
        Ok(bytes) => bytes,
        Err(response) => return Ok(response),
    };
    let headers = mcp_headers(&req)?;
    let body = match jsonrpc::parse_body(&bytes) {
        Ok(body) => body,
        Err(error) => return json_response(400, &error_response(None, &error)),
    };
    let todos = todos_client(env, settings, caller);
    let dispatcher = Dispatcher {
        caller,
        todos: &todos,
        now_ms,
    };
    match body {
        Body::Single(message) => {
            let version = match rules::message_version(&headers, &message) {
                Ok(version) => version,
                Err(rejection) => return json_response(rejection.status, &rejection.body),
            };
            let reply = dispatcher.handle(message, version).await;
            let status = rules::status_for(&reply, version);
            match reply {
                Reply::Message(value) => reply_response(status, &value, format),
                Reply::Nothing => empty_response(202),
                Reply::Http(failure) => failure_response(&failure, settings),
            }
        }
        Body::Batch(batch) => {
            // Whether this request may batch at all is decided before any item is parsed.
            let version = match rules::batch_version(&headers) {
                Ok(version) => version,
                Err(rejection) => return json_response(rejection.status, &rejection.body),
            };
            let messages = match batch.parse() {
                Ok(messages) => messages,
                Err(error) => return json_response(400, &error_response(None, &error)),
            };
            match handle_batch(&dispatcher, messages, version).await {
                Ok(replies) if replies.is_empty() => empty_response(202),
                Ok(replies) => reply_response(200, &Value::Array(replies), format),
                Err(failure) => failure_response(&failure, settings),
            }
        }
    }
}

/// Answers each message of a 2025-03-26 batch; an HTTP-level failure answers the whole batch.
async fn handle_batch(
    dispatcher: &Dispatcher<'_>,
    messages: Vec<Incoming>,
    version: ProtocolVersion,
) -> Result<Vec<Value>, HttpFailure> {
    let mut replies = Vec::new();
    for message in messages {
        // MCP 2025-03-26 basic/lifecycle §Initialization: initialize MUST NOT be part of a batch.
        let message = match message {
            Incoming::Request(request) if request.method == "initialize" => Incoming::Invalid(
                Some(request.id),
                RpcError::new(
                    ErrorCode::INVALID_REQUEST,
                    "Invalid Request: initialize must not be batched",
                ),
            ),
            other => other,
        };
        match dispatcher.handle(message, version).await {
            Reply::Message(value) => replies.push(value),
            Reply::Nothing => {}
            Reply::Http(failure) => return Err(failure),
        }
    }
    Ok(replies)
}

/// A JSON reply, or the same as a one-event SSE stream for a client that accepts only that.
fn reply_response(status: u16, value: &Value, format: ReplyFormat) -> worker::Result<McpResponse> {
    if format == ReplyFormat::Json {
        return json_response(status, value);
    }
    let body = format!("event: message\ndata: {}\n\n", crate::json::write(value));
    reply(status, &EVENT_STREAM_HEADERS, Some(&body))
}

/// The MCP headers of a request.
fn mcp_headers(req: &McpRequest) -> worker::Result<McpHeaders> {
    Ok(McpHeaders {
        protocol_version: header(req, "MCP-Protocol-Version")?,
        method: header(req, "Mcp-Method")?,
        name: header(req, "Mcp-Name")?,
    })
}
