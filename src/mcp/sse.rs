//! The HTTP+SSE transport of MCP 2024-11-05 (basic/transports §HTTP with SSE), which the MCP
//! Inspector and older clients speak: `GET /sse` opens the stream, whose first event names the
//! POST endpoint `/sse/message?sessionId=…`; each POSTed message is answered on the stream.
//!
//! The stream lives in a [`McpSseSession`](super::session::McpSseSession) Durable Object. A POST is
//! run here, in the API worker, with the props of the token that posted it, so a refreshed
//! upstream token is used at once (unlike sessions that keep the props they opened with,
//! cloudflare/agents#323); only its JSON-RPC response travels to the object.

use worker::{Env, Method, Request, Stub};

use super::dispatch::{Dispatcher, Reply};
use super::jsonrpc::{self, Body, ErrorCode, Incoming, RpcError, error_response};
use super::session::{self, BINDING};
use super::version::ProtocolVersion;
use super::{
    McpResponse, SSE_MESSAGE_PATH, Settings, empty_response, failure_response, json_response,
    now_ms, read_json_body, reply, todos_client,
};
use crate::grant::Caller;

/// Length of a session id: 128 random bits, hex.
const SESSION_ID_LEN: usize = 32;

/// `GET /sse`: opens a session owned by the caller's grant and streams it.
pub async fn open(req: Request, env: &Env, caller: &Caller) -> worker::Result<McpResponse> {
    if req.method() != Method::Get {
        let response = empty_response(405)?;
        response.headers().set("Allow", "GET")?;
        return Ok(response);
    }
    let session_id = new_session_id()?;
    let stub = stub(env, &session_id)?;
    let endpoint = format!("{SSE_MESSAGE_PATH}?sessionId={session_id}");
    let internal = internal_request("/open", Method::Get, caller, None)?;
    internal
        .headers()
        .set(session::HEADER_SESSION, &session_id)?;
    internal
        .headers()
        .set(session::HEADER_ENDPOINT, &endpoint)?;
    Ok(stub.fetch_with_request(internal).await?.into())
}

/// `POST /sse/message?sessionId=…`: runs one message and writes its response on the stream.
pub async fn post(
    mut req: Request,
    env: &Env,
    caller: &Caller,
    settings: &Settings,
) -> worker::Result<McpResponse> {
    if req.method() != Method::Post {
        let response = empty_response(405)?;
        response.headers().set("Allow", "POST")?;
        return Ok(response);
    }
    let session_id = crate::web_url::query_param(&req.inner().url(), "sessionId");
    let Some(session_id) = session_id.filter(|id| is_session_id(id)) else {
        return transport_error(
            400,
            ErrorCode::INVALID_REQUEST,
            "missing or malformed sessionId",
        );
    };
    let stub = stub(env, &session_id)?;
    // The session must belong to this grant before anything runs (its stream is someone's).
    let mut checked = stub
        .fetch_with_request(internal_request("/check", Method::Post, caller, None)?)
        .await?;
    let version = match checked.status_code() {
        200 => {
            let answer: serde_json::Value = checked.json().await?;
            answer["protocolVersion"]
                .as_str()
                .and_then(ProtocolVersion::parse)
                .unwrap_or(ProtocolVersion::V2024_11_05)
        }
        403 => return transport_error(403, ErrorCode::INVALID_REQUEST, ANOTHER_GRANT),
        _ => {
            return transport_error(
                404,
                ErrorCode::SESSION_NOT_FOUND,
                "Session not found; open a new one with GET /sse",
            );
        }
    };
    let bytes = match read_json_body(&mut req, settings.max_body_bytes).await? {
        Ok(bytes) => bytes,
        Err(response) => return Ok(response),
    };
    let message = match jsonrpc::parse_body(&bytes) {
        Ok(Body::Single(message)) => message,
        // Batches came with Streamable HTTP (MCP 2025-03-26); this transport predates them. The
        // batch is refused unparsed.
        Ok(Body::Batch(_)) => {
            let error = RpcError::new(
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: no JSON-RPC batches on /sse",
            );
            return json_response(400, &error_response(None, &error));
        }
        Err(error) => return json_response(400, &error_response(None, &error)),
    };
    let is_initialize =
        matches!(&message, Incoming::Request(request) if request.method == "initialize");
    let todos = todos_client(env, settings, caller);
    let dispatcher = Dispatcher {
        caller,
        todos: &todos,
        now_ms,
    };
    let reply = dispatcher.handle(message, version).await;
    let response = match reply {
        Reply::Nothing => return accepted(),
        Reply::Http(failure) => return failure_response(&failure, settings),
        Reply::Message(response) => response,
    };
    let negotiated = is_initialize
        .then(|| {
            response["result"]["protocolVersion"]
                .as_str()
                .map(String::from)
        })
        .flatten();
    let deliver = internal_request(
        "/deliver",
        Method::Post,
        caller,
        Some(crate::json::write(&response)),
    )?;
    if let Some(negotiated) = negotiated {
        deliver
            .headers()
            .set(session::HEADER_NEGOTIATED, &negotiated)?;
    }
    match stub.fetch_with_request(deliver).await?.status_code() {
        202 => accepted(),
        403 => transport_error(403, ErrorCode::INVALID_REQUEST, ANOTHER_GRANT),
        _ => transport_error(
            404,
            ErrorCode::SESSION_NOT_FOUND,
            "Session ended; open a new one with GET /sse",
        ),
    }
}

/// `202 Accepted`: the answer follows on the stream (MCP 2024-11-05 basic/transports).
fn accepted() -> worker::Result<McpResponse> {
    static TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];
    reply(202, &TEXT, Some("Accepted"))
}

const ANOTHER_GRANT: &str = "This session belongs to another grant";

/// A refusal by the transport, before or after the message ran, as a JSON-RPC error with a null
/// id (JSON-RPC 2.0 §5: the message's id is not known, or its answer went to the stream): what
/// an MCP client's transport can read, where a bare `{"error": …}` was not.
fn transport_error(status: u16, code: ErrorCode, message: &str) -> worker::Result<McpResponse> {
    json_response(status, &error_response(None, &RpcError::new(code, message)))
}

fn stub(env: &Env, session_id: &str) -> worker::Result<Stub> {
    env.durable_object(BINDING)?
        .id_from_name(session_id)?
        .get_stub()
}

/// An internal request to the session object, carrying the caller's grant as its owner identity.
fn internal_request(
    path: &str,
    method: Method,
    caller: &Caller,
    body: Option<String>,
) -> worker::Result<Request> {
    crate::bindings::request(
        method.as_ref(),
        &format!("https://sse-session{path}"),
        &[
            (session::HEADER_USER, &caller.user_id),
            (session::HEADER_CLIENT, &caller.client_id),
        ],
        body.as_deref(),
    )
    .map_err(worker::Error::RustError)
}

/// A new unguessable session id (128 bits from the platform CSPRNG).
fn new_session_id() -> worker::Result<String> {
    let mut bytes = [0u8; SESSION_ID_LEN / 2];
    getrandom::fill(&mut bytes)
        .map_err(|error| worker::Error::RustError(format!("no randomness: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Whether `id` has the shape of a session id (so no object is ever named by arbitrary input).
fn is_session_id(id: &str) -> bool {
    id.len() == SESSION_ID_LEN
        && id
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_32_lowercase_hex() {
        let id = new_session_id().unwrap();
        assert!(is_session_id(&id), "{id}");
        assert!(!is_session_id("../x"));
        assert!(!is_session_id(&id.to_uppercase()));
        assert!(!is_session_id(&id[1..]));
    }
}
