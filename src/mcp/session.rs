//! The Durable Object behind one HTTP+SSE session (MCP 2024-11-05 basic/transports §HTTP with SSE).
//!
//! `GET /sse` lands in the API worker, which picks a random session id and asks the user's objects,
//! one per slot (`sse.rs`), to `open` it until one is free: that object answers with the event
//! stream and keeps its writing end (`bindings::EventStream`), so POSTs that land on any isolate
//! anywhere meet the stream here. An object holds one session at a time. It records the session id and the grant that
//! opened it (user id and client id). The API worker hands it each POSTed message with the
//! posting token's `Caller` (`message`); the object confirms the poster owns the session before
//! the message runs (`sse::run`, with that caller's props), then writes the response on the
//! stream: one object request per POST.
//!
//! The stream sends an `endpoint` event first, then `message` events, and a keep-alive comment
//! whenever it has been quiet for `SSE_KEEPALIVE_SECONDS` (one timer per quiet period, not one per
//! event). A session with no POST for `SSE_IDLE_TIMEOUT_SECONDS` is ended by the alarm: the
//! session is dropped, which closes its stream, and nothing is left behind (no storage is
//! written). A client that disconnects ends it too: its stream's end is awaited, and the session
//! is dropped if it is still the one open here.
//!
//! Internal protocol (API worker → object; never reachable from outside):
//!
//! | request | headers | answer |
//! |---|---|---|
//! | `GET /open` | owner, `X-Session-Id`, `X-Endpoint` | the event stream; 409 if one is open |
//! | `POST /message` (body: the poster's `Caller`, a line feed, the message as POSTed) | owner, `X-Session-Id` | the POST's answer: 202 once the response is on the stream (or for a notification), 404 not this object's open session or ended while the message ran, 403 another grant, 400, 401/403 challenges |

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use worker::{DurableObject, Env, Request, Response, State, durable_object};

use super::sse;
use super::version::ProtocolVersion;
use crate::bindings::EventStream;
use crate::log;

/// The Durable Object binding name.
pub const BINDING: &str = "MCP_SSE_SESSION";
/// Owner headers on internal requests.
pub const HEADER_USER: &str = "X-Owner-User";
/// Owner headers on internal requests.
pub const HEADER_CLIENT: &str = "X-Owner-Client";
/// The session id: the one to open, or the one a POST names.
pub const HEADER_SESSION: &str = "X-Session-Id";
/// The POST URL announced in the `endpoint` event.
pub const HEADER_ENDPOINT: &str = "X-Endpoint";

/// The event stream's headers (`X-Accel-Buffering: no` keeps proxies from holding events back).
static STREAM_HEADERS: [(&str, &str); 3] = [
    ("Content-Type", "text/event-stream"),
    ("Cache-Control", "no-store"),
    ("X-Accel-Buffering", "no"),
];

/// One open session.
struct Live {
    session_id: String,
    user_id: String,
    client_id: String,
    version: ProtocolVersion,
    events: EventStream,
    last_activity_ms: f64,
}

/// A session ends with its stream: whoever drops it (the idle alarm, a failed write) closes it.
impl Drop for Live {
    fn drop(&mut self) {
        self.events.close();
    }
}

/// The SSE session object. All state is in memory: it only matters while the stream is open,
/// and the open stream keeps the object in memory.
#[durable_object(alarm)]
pub struct McpSseSession {
    state: State,
    env: Env,
    live: Rc<RefCell<Option<Live>>>,
}

impl DurableObject for McpSseSession {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            live: Rc::new(RefCell::new(None)),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match crate::request_path(&req).as_str() {
            "/open" => self.open(&req).await,
            "/message" => self.message(req).await,
            _ => Ok(Response::empty()?.with_status(404)),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let idle_ms = self.seconds(
            super::vars::SSE_IDLE_TIMEOUT_SECONDS,
            super::DEFAULT_SSE_IDLE_SECONDS,
        ) as f64
            * 1000.0;
        let now = super::now_ms();
        let due = self
            .live
            .borrow()
            .as_ref()
            .map(|live| live.last_activity_ms + idle_ms);
        match due {
            Some(due) if due <= now => {
                // Dropping the session closes its stream; the object then has nothing left to free.
                if let Some(live) = self.live.borrow_mut().take() {
                    log::debug!(
                        "mcp.sse_closed",
                        "session" => live.session_id,
                        "user" => live.user_id,
                        "reason" => "idle",
                    );
                }
            }
            Some(due) => {
                self.state
                    .storage()
                    .set_alarm(Duration::from_millis((due - now).max(1000.0) as u64))
                    .await?
            }
            None => {}
        }
        Response::empty()
    }
}

impl McpSseSession {
    /// A timer setting, read as `Settings` checked it (a worker with a malformed one refuses
    /// every request before any reaches this object; the default covers what cannot get here).
    fn seconds(&self, name: &'static str, default: u64) -> u64 {
        let raw = self.env.var(name).ok().map(|value| value.to_string());
        let raw = raw.as_deref().map(str::trim).filter(|raw| !raw.is_empty());
        super::sse_seconds(name, default, raw).unwrap_or(default)
    }

    async fn open(&self, req: &Request) -> worker::Result<Response> {
        if self.live.borrow().is_some() {
            return Ok(Response::empty()?.with_status(409));
        }
        let header = |name: &str| req.headers().get(name).map(Option::unwrap_or_default);
        let (session_id, endpoint) = (header(HEADER_SESSION)?, header(HEADER_ENDPOINT)?);
        let (user_id, client_id) = (header(HEADER_USER)?, header(HEADER_CLIENT)?);
        let keepalive = self.seconds(
            super::vars::SSE_KEEPALIVE_SECONDS,
            super::DEFAULT_SSE_KEEPALIVE_SECONDS,
        );
        // The first event names the POST endpoint (MCP 2024-11-05 basic/transports §HTTP with SSE);
        // an SSE comment after each quiet `keepalive` keeps proxies and clients from closing it.
        let (events, body) = EventStream::open(
            &format!("event: endpoint\ndata: {endpoint}\n\n"),
            u32::try_from(keepalive.saturating_mul(1000)).unwrap_or(u32::MAX),
        );
        let ended = events.ended();
        *self.live.borrow_mut() = Some(Live {
            session_id: session_id.clone(),
            user_id: user_id.clone(),
            client_id: client_id.clone(),
            version: ProtocolVersion::V2024_11_05,
            events,
            last_activity_ms: super::now_ms(),
        });
        let idle = self.seconds(
            super::vars::SSE_IDLE_TIMEOUT_SECONDS,
            super::DEFAULT_SSE_IDLE_SECONDS,
        );
        if let Err(error) = self
            .state
            .storage()
            .set_alarm(Duration::from_secs(idle))
            .await
        {
            // No session without its idle end: the slot is free again.
            self.live.borrow_mut().take();
            return Err(error);
        }
        log::debug!(
            "mcp.sse_opened",
            "session" => session_id,
            "user" => user_id,
            "client_id" => client_id,
        );
        // A stream that ends while its session is still here lost its client: the session is over.
        // (One the alarm ended is gone already; a later session in this slot has another id.)
        let live = Rc::clone(&self.live);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = ended.await;
            let Ok(mut slot) = live.try_borrow_mut() else {
                return;
            };
            if slot
                .as_ref()
                .is_some_and(|live| live.session_id == session_id)
                && let Some(live) = slot.take()
            {
                log::debug!(
                    "mcp.sse_closed",
                    "session" => live.session_id,
                    "user" => live.user_id,
                    "reason" => "client_disconnected",
                );
            }
        });
        crate::bindings::stream_response(200, &STREAM_HEADERS, &body)
            .map(Response::from)
            .map_err(worker::Error::RustError)
    }

    /// The session's owner check, before a message runs: the session's protocol version (and the
    /// session marked active) when it is the poster's; else 404 when the session named is not
    /// the one open here (none is, or an earlier one in this slot, or another user's id), 403 for
    /// another grant of the user.
    fn claim(&self, req: &Request, session: &str) -> worker::Result<Result<ProtocolVersion, u16>> {
        let user = req.headers().get(HEADER_USER)?.unwrap_or_default();
        let client = req.headers().get(HEADER_CLIENT)?.unwrap_or_default();
        let mut live = self.live.borrow_mut();
        Ok(match live.as_mut() {
            None => Err(404),
            Some(live) if live.session_id != session => Err(404),
            Some(live) if live.user_id == user && live.client_id == client => {
                live.last_activity_ms = super::now_ms();
                Ok(live.version)
            }
            Some(live) => {
                log::debug!(
                    "mcp.sse_refused",
                    "session" => live.session_id,
                    "owner" => live.user_id,
                    "poster" => user,
                    "client_id" => client,
                );
                Err(403)
            }
        })
    }

    /// `POST /message`: runs the poster's message, once the session is known to be theirs, and
    /// writes its response on the stream. Answers as the POST answers the client.
    async fn message(&self, mut req: Request) -> worker::Result<Response> {
        let session_id = req.headers().get(HEADER_SESSION)?.unwrap_or_default();
        // The session must belong to this grant before anything runs (its stream is someone's).
        let version = match self.claim(&req, &session_id)? {
            Ok(version) => version,
            Err(403) => return sse::another_grant().map(Into::into),
            Err(_) => return sse::session_not_found(sse::NOT_FOUND).map(Into::into),
        };
        let body = req.text().await?;
        let (caller, message) = sse::open_envelope(&body).map_err(worker::Error::RustError)?;
        let (message, negotiated) =
            match sse::run(&caller, message.as_bytes(), version, &self.env).await? {
                sse::Ran::Http(response) => return Ok(response.into()),
                sse::Ran::Stream {
                    message,
                    negotiated,
                } => (message, negotiated),
            };
        // The stream may have ended, or another session taken the slot, while the message ran.
        let mut slot = self.live.borrow_mut();
        let Some(live) = slot.as_mut().filter(|live| live.session_id == session_id) else {
            return sse::session_not_found(sse::ENDED).map(Into::into);
        };
        if let Some(version) = negotiated {
            live.version = version;
        }
        live.last_activity_ms = super::now_ms();
        if !live
            .events
            .send(&format!("event: message\ndata: {message}\n\n"))
        {
            // The stream is gone (client disconnected): the session is over.
            *slot = None;
            return sse::session_not_found(sse::ENDED).map(Into::into);
        }
        sse::accepted().map(Into::into)
    }
}
