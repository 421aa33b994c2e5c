//! The HTTP+SSE transport of MCP 2024-11-05 (basic/transports §HTTP with SSE), which the MCP
//! Inspector and older clients speak: `GET /sse` opens the stream, whose first event names the
//! POST endpoint `/sse/message?sessionId=…`; each POSTed message is answered on the stream.
//!
//! The stream lives in a [`McpSseSession`](super::session::McpSseSession) Durable Object. A POST is
//! checked and read here (its session id, media type and size) and handed to the object with the
//! `Caller` the provider verified for the posting token; the object runs it ([`run`]) with those
//! props, so a refreshed upstream token is used at once (unlike sessions that keep the props
//! they opened with, cloudflare/agents#323), and writes the response on the stream. One object
//! request per POST: the ToDos API is called from where the stream is.
//!
//! A user holds at most `SSE_MAX_SESSIONS_PER_USER` open sessions: each open stream holds an
//! object in memory, and one valid token could otherwise open them without end. The objects are
//! named per user and slot (`<user id>/<slot>`, slot below the cap), and an object holds at most
//! one stream, so a slot is taken exactly while its stream is open: it frees itself when the
//! stream goes (client gone, idle alarm, object evicted), and there is no count to drift or to
//! release. The session id carries its slot, so a POST finds the object from the poster's own
//! user id and the id; a session id of another user's names one of the poster's objects, which
//! does not hold it (404).

use worker::{Env, Method, Request, Stub};

use super::dispatch::{Dispatcher, Reply};
use super::jsonrpc::{self, Body, ErrorCode, Incoming, RpcError, error_response};
use super::session::{self, BINDING};
use super::version::ProtocolVersion;
use super::{
    McpRequest, McpResponse, SSE_MESSAGE_PATH, Settings, failure_response, json_response, now_ms,
    read_json_body, reply, todos_client,
};
use crate::grant::Caller;
use crate::json::FromFields;
use crate::log;

/// Hex digits of a session id's random part: 128 bits.
const RANDOM_HEX_LEN: usize = 32;
/// Length of a session id: the random part, then the slot in two hex digits.
const SESSION_ID_LEN: usize = RANDOM_HEX_LEN + 2;

/// `GET /sse`: opens a session owned by the caller's grant in the first free slot of the user's,
/// and streams it; 429 when every slot holds an open session.
pub async fn open(env: &Env, caller: &Caller, settings: &Settings) -> worker::Result<McpResponse> {
    let random = random_hex()?;
    for slot in 0..settings.sse_max_sessions {
        let session_id = format!("{random}{slot:02x}");
        let internal = internal_request("/open", Method::Get, caller, &session_id, None)?;
        internal.headers().set(
            session::HEADER_ENDPOINT,
            &format!("{SSE_MESSAGE_PATH}?sessionId={session_id}"),
        )?;
        let opened = stub(env, caller, slot)?
            .fetch_with_request(internal)
            .await?;
        // 409: this slot's object holds an open session; try the next.
        if opened.status_code() != 409 {
            return Ok(opened.into());
        }
    }
    log::warning!(
        "mcp.sse_session_cap",
        "user" => caller.user_id,
        "client_id" => caller.client_id,
        "cap" => u32::from(settings.sse_max_sessions),
    );
    // RFC 6585 §4. No Retry-After: a slot frees when one of the user's streams ends, which the
    // server cannot foretell.
    transport_error(
        429,
        ErrorCode::TOO_MANY_SESSIONS,
        "Too many open SSE sessions for this user: close one, or use Streamable HTTP at /mcp",
    )
}

/// `POST /sse/message?sessionId=…`: hands one message to its session object, which runs it
/// ([`run`]) and writes its response on the stream; the object's answer is the POST's.
pub async fn post(
    req: McpRequest,
    env: &Env,
    caller: &Caller,
    settings: &Settings,
) -> worker::Result<McpResponse> {
    let session_id = crate::web_url::query_param(&req.url(), "sessionId");
    let Some((session_id, slot)) = session_id.and_then(|id| slot_of(&id).map(|slot| (id, slot)))
    else {
        return transport_error(
            400,
            ErrorCode::INVALID_REQUEST,
            "missing or malformed sessionId",
        );
    };
    if slot >= settings.sse_max_sessions {
        return session_not_found(NOT_FOUND);
    }
    let bytes = match read_json_body(&req, settings.max_body_bytes).await? {
        Ok(bytes) => bytes,
        Err(response) => return Ok(response),
    };
    // JSON text is UTF-8 (RFC 8259 §8.1): what is not cannot be a message.
    let Ok(message) = String::from_utf8(bytes) else {
        return json_response(400, &error_response(None, &jsonrpc::not_json()));
    };
    let forwarded = internal_request(
        "/message",
        Method::Post,
        caller,
        &session_id,
        Some(envelope(caller, &message)),
    )?;
    Ok(stub(env, caller, slot)?
        .fetch_with_request(forwarded)
        .await?
        .into())
}

/// What [`run`] made of one message.
pub enum Ran {
    /// Answered over HTTP alone: a notification's 202, a refusal, a challenge.
    Http(McpResponse),
    /// The JSON-RPC response for the stream, and the version `initialize` negotiated.
    Stream {
        message: String,
        negotiated: Option<ProtocolVersion>,
    },
}

/// Runs one POSTed message in the session object, with the poster's props (a refreshed upstream
/// token is used at once, unlike sessions that keep the props they opened with,
/// cloudflare/agents#323), at the session's negotiated `version`.
pub async fn run(
    caller: &Caller,
    message: &[u8],
    version: ProtocolVersion,
    env: &Env,
) -> worker::Result<Ran> {
    let config = crate::load_config(env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let settings = &config.mcp;
    let message = match jsonrpc::parse_body(message) {
        Ok(Body::Single(message)) => message,
        // Batches came with Streamable HTTP (MCP 2025-03-26); this transport predates them. The
        // batch is refused unparsed.
        Ok(Body::Batch(_)) => {
            let error = RpcError::new(
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: no JSON-RPC batches on /sse",
            );
            return json_response(400, &error_response(None, &error)).map(Ran::Http);
        }
        Err(error) => return json_response(400, &error_response(None, &error)).map(Ran::Http),
    };
    let is_initialize =
        matches!(&message, Incoming::Request(request) if request.method == "initialize");
    let todos = todos_client(env, settings, caller);
    let dispatcher = Dispatcher {
        caller,
        todos: &todos,
        now_ms,
    };
    let response = match dispatcher.handle(message, version).await {
        Reply::Nothing => return accepted().map(Ran::Http),
        Reply::Http(failure) => return failure_response(&failure, settings).map(Ran::Http),
        Reply::Message(response) => response,
    };
    let negotiated = is_initialize
        .then(|| {
            response["result"]["protocolVersion"]
                .as_str()
                .and_then(ProtocolVersion::parse)
        })
        .flatten();
    Ok(Ran::Stream {
        message: crate::json::write(&response),
        negotiated,
    })
}

/// The body of the internal `/message` request: the poster as the provider verified it, on one
/// line (JSON text written by `serde_json` holds no raw line feed), then the message as it came.
fn envelope(caller: &Caller, message: &str) -> String {
    let mut body = crate::json::write(caller);
    body.push('\n');
    body.push_str(message);
    body
}

/// Takes an [`envelope`] apart.
pub fn open_envelope(body: &str) -> Result<(Caller, &str), String> {
    let (caller, message) = body
        .split_once('\n')
        .ok_or("no line feed after the caller")?;
    Ok((Caller::from_json(caller)?, message))
}

/// What a POST to a session that is not open here is told (404).
pub const NOT_FOUND: &str = "Session not found; open a new one with GET /sse";
/// What a POST is told whose session ended while its message ran (404).
pub const ENDED: &str = "Session ended; open a new one with GET /sse";

/// 404 `-32001`: the session named is not open in its object (MCP TypeScript SDK's code).
pub fn session_not_found(message: &str) -> worker::Result<McpResponse> {
    transport_error(404, ErrorCode::SESSION_NOT_FOUND, message)
}

/// `202 Accepted`: the answer follows on the stream (MCP 2024-11-05 basic/transports).
pub fn accepted() -> worker::Result<McpResponse> {
    static TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];
    reply(202, &TEXT, Some("Accepted"))
}

/// 403: the session is another grant's (another MCP client of the same user).
pub fn another_grant() -> worker::Result<McpResponse> {
    transport_error(
        403,
        ErrorCode::INVALID_REQUEST,
        "This session belongs to another grant",
    )
}

/// A refusal by the transport, before or after the message ran, as a JSON-RPC error with a null
/// id (JSON-RPC 2.0 §5: the message's id is not known, or its answer went to the stream): what
/// an MCP client's transport can read, where a bare `{"error": …}` was not.
fn transport_error(status: u16, code: ErrorCode, message: &str) -> worker::Result<McpResponse> {
    json_response(status, &error_response(None, &RpcError::new(code, message)))
}

/// The caller's session object in `slot`. The slot, after the last `/`, is digits only, so the
/// name parts back into one user id and one slot: no two users share an object, whatever their
/// ids hold.
fn stub(env: &Env, caller: &Caller, slot: u8) -> worker::Result<Stub> {
    env.durable_object(BINDING)?
        .id_from_name(&object_name(&caller.user_id, slot))?
        .get_stub()
}

fn object_name(user_id: &str, slot: u8) -> String {
    format!("{user_id}/{slot}")
}

/// An internal request to the session object about `session_id`, carrying the caller's grant as
/// its owner identity.
fn internal_request(
    path: &str,
    method: Method,
    caller: &Caller,
    session_id: &str,
    body: Option<String>,
) -> worker::Result<Request> {
    crate::bindings::request(
        method.as_ref(),
        &format!("https://sse-session{path}"),
        &[
            (session::HEADER_USER, &caller.user_id),
            (session::HEADER_CLIENT, &caller.client_id),
            (session::HEADER_SESSION, session_id),
        ],
        body.as_deref(),
    )
    .map_err(worker::Error::RustError)
}

/// The unguessable part of a new session id (128 bits from the platform CSPRNG), in hex.
fn random_hex() -> worker::Result<String> {
    let mut bytes = [0u8; RANDOM_HEX_LEN / 2];
    getrandom::fill(&mut bytes)
        .map_err(|error| worker::Error::RustError(format!("no randomness: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The slot a session id names, if it has the shape of one: lowercase hex, the random part then
/// two digits of slot (so no object is ever named by arbitrary input).
fn slot_of(id: &str) -> Option<u8> {
    let well_formed = id.len() == SESSION_ID_LEN
        && id
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
    well_formed
        .then(|| u8::from_str_radix(&id[RANDOM_HEX_LEN..], 16).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_128_random_bits_then_its_slot_in_lowercase_hex() {
        let random = random_hex().unwrap();
        assert_eq!(random.len(), RANDOM_HEX_LEN);
        assert_ne!(random, random_hex().unwrap());
        assert_eq!(slot_of(&format!("{random}00")), Some(0));
        assert_eq!(slot_of(&format!("{random}1f")), Some(31));
        assert_eq!(slot_of(&format!("{random}ff")), Some(255));
        for malformed in [
            "../x".to_owned(),
            random.clone(),
            format!("{random}0"),
            format!("{random}000"),
            format!("{random}0A"),
            format!("{}00", random.to_uppercase()),
            format!("{random}0g"),
            format!("{random}+1"),
        ] {
            assert_eq!(slot_of(&malformed), None, "{malformed}");
        }
    }

    #[test]
    fn an_envelope_hands_over_the_caller_and_the_message_as_it_came() {
        let caller = Caller {
            props: crate::grant::GrantProps::from_json(
                r#"{"user":{"sub":"s","name":"line\nfeed"},"upstream":{"access_token":"a","expires_at":1,"scope":[]}}"#,
            )
            .unwrap(),
            user_id: "u".into(),
            client_id: "c".into(),
            scopes: vec!["read:todos".into()],
        };
        let message = "{\"jsonrpc\":\"2.0\",\n\"id\":1,\"method\":\"ping\"}\n";
        let body = envelope(&caller, message);
        let (read, read_message) = open_envelope(&body).unwrap();
        assert_eq!(read_message, message);
        assert_eq!(read.props.user.name.as_deref(), Some("line\nfeed"));
        assert_eq!((read.user_id.as_str(), read.client_id.as_str()), ("u", "c"));
        assert!(open_envelope("{}").is_err());
        assert!(open_envelope("{}\n{}").is_err());
    }

    #[test]
    fn each_user_and_slot_has_its_own_object() {
        assert_eq!(object_name("alice", 0), "alice/0");
        assert_ne!(object_name("alice", 1), object_name("alice", 0));
        assert_ne!(object_name("alice", 10), object_name("alice/1", 0));
    }
}
