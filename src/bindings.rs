//! The one place where Rust meets JavaScript values: typed wrappers around
//! `@cloudflare/workers-oauth-provider`'s helpers (`env.OAUTH_PROVIDER`), the `ctx.auth` the
//! provider sets for API requests, the `tokenExchangeCallback` options, and the runtime's
//! WebCrypto. Nothing outside this module sees a `JsValue`.
//!
//! The helpers' expected failures (`AuthorizationError`, `CimdFetchError`) are recognised by their
//! `name` (the library sets it explicitly, so it survives minification) and become
//! [`HelperError`] variants; anything else is [`HelperError::Other`], a bug or an outage.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{Context, Env, Headers, Request};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = digest)]
    fn subtle_digest(algorithm: &str, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = importKey)]
    fn subtle_import_key(
        format: &str,
        key: &JsValue,
        algorithm: &JsValue,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = sign)]
    fn subtle_sign(algorithm: &str, key: &JsValue, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = verify)]
    fn subtle_verify(
        algorithm: &JsValue,
        key: &JsValue,
        signature: &[u8],
        data: &[u8],
    ) -> Result<Promise, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding (`env.OAUTH_KV`).
    type KvNamespace;
    #[wasm_bindgen(method, catch)]
    fn get(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn put(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &JsValue,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn remove(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
}

/// The few text records this worker keeps in `OAUTH_KV` next to the library's (last refresh
/// times, ended `/account` sessions, the purge cursor). Bound directly rather than through
/// `worker::kv`, whose value conversion links float formatting into the module.
pub struct Kv(KvNamespace);

impl Kv {
    /// The namespace bound as `binding`.
    pub fn from_env(env: &Env, binding: &str) -> Result<Kv, String> {
        let namespace = get(env.as_ref(), binding);
        if namespace.is_undefined() || namespace.is_null() {
            return Err(format!("the KV binding {binding} is missing"));
        }
        Ok(Kv(namespace.unchecked_into()))
    }

    /// The text stored under `key`, or `None`.
    pub async fn get_text(&self, key: &str) -> Result<Option<String>, String> {
        Ok(settle(self.0.get(key)).await?.as_string())
    }

    /// Stores `value` under `key` for `ttl_seconds` (KV's minimum is 60).
    pub async fn put_text(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), String> {
        let options = Object::new();
        let _ = Reflect::set(
            &options,
            &"expirationTtl".into(),
            &JsValue::from_f64(ttl_seconds as f64),
        );
        settle(self.0.put(key, value, &options)).await.map(|_| ())
    }

    /// Deletes `key` (no error when it is absent).
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        settle(self.0.remove(key)).await.map(|_| ())
    }
}

// One outgoing request as one call and one promise: the init built from plain values, the
// deadline's signal, `fetch` (through a Service Binding when given), and the answer read whole.
// Done from Rust, the same steps were a dozen calls across the boundary and two futures.
// `readBody`: an incoming body read chunk by chunk, given up (null) once past `max` bytes.
#[wasm_bindgen(inline_js = r#"
export async function readBody(request, max) {
  const chunks = [];
  let length = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > max) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  length = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, length);
    length += chunk.byteLength;
  }
  return bytes;
}
export function fetchText(binding, url, method, headers, body, timeoutMs) {
  const signal = AbortSignal.timeout(timeoutMs);
  const init = { method, headers: {}, signal };
  for (let i = 0; i + 1 < headers.length; i += 2) init.headers[headers[i]] = headers[i + 1];
  if (body !== undefined) init.body = body;
  const sent = binding === undefined ? fetch(url, init) : binding.fetch(url, init);
  return sent
    .then(async (response) => [response.status, response.headers.get('WWW-Authenticate'), await response.text()])
    .catch((error) => { throw signal.aborted ? 'timeout' : error; });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetchText)]
    fn js_fetch_text(
        binding: Option<js_sys::Object>,
        url: &str,
        method: &str,
        headers: Vec<String>,
        body: Option<String>,
        timeout_ms: u32,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = readBody)]
    fn js_read_body(request: &web_sys::Request, max: u32) -> Result<Promise, JsValue>;
}

/// A request's body, or `None` once more than `max` bytes of it have arrived. Read chunk by
/// chunk, with a running total, so a body sent without `Content-Length` (chunked) is never held
/// whole past the limit, nor copied into Wasm memory, before it is refused.
pub async fn read_body(request: &web_sys::Request, max: usize) -> Result<Option<Vec<u8>>, String> {
    let promise = js_read_body(request, u32::try_from(max).unwrap_or(u32::MAX))
        .map_err(|error| describe_js_error(&error))?;
    let bytes = JsFuture::from(promise)
        .await
        .map_err(|error| describe_js_error(&error))?;
    Ok(bytes
        .dyn_into::<js_sys::Uint8Array>()
        .ok()
        .map(|bytes| bytes.to_vec()))
}

/// `env.<name>` when it is an object (a Service Binding): read directly, without the `worker`
/// crate's check of the binding's constructor on every call.
pub fn service_binding(env: &Env, name: &str) -> Option<js_sys::Object> {
    get(env.as_ref(), name).dyn_into::<js_sys::Object>().ok()
}

/// An answer read whole: status, the one header callers need, and the body text.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// `WWW-Authenticate` (RFC 6750 §3), when present.
    pub www_authenticate: Option<String>,
    pub body: String,
}

/// Why an outgoing request gave no answer.
#[derive(Debug)]
pub enum FetchFailure {
    /// The deadline passed: `AbortSignal.timeout` aborted the request or the body read.
    TimedOut,
    /// The request failed (network, binding, or an invalid request): the runtime's message.
    Failed(String),
}

/// One outgoing request, read whole, aborted after `timeout_ms` (the runtime's
/// `AbortSignal.timeout`: no timer or closure on the Rust side). It goes through `binding` (a
/// Service Binding, as `env.<name>`) when given, else to the network.
pub async fn fetch_text(
    binding: Option<js_sys::Object>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout_ms: u64,
) -> Result<Fetched, FetchFailure> {
    let failed = |error: JsValue| {
        if error.as_string().as_deref() == Some("timeout") {
            FetchFailure::TimedOut
        } else {
            FetchFailure::Failed(describe_js_error(&error))
        }
    };
    let flat = headers
        .iter()
        .flat_map(|(name, value)| [(*name).to_owned(), (*value).to_owned()])
        .collect();
    let promise = js_fetch_text(
        binding,
        url,
        method,
        flat,
        body.map(str::to_owned),
        u32::try_from(timeout_ms).unwrap_or(u32::MAX),
    )
    .map_err(failed)?;
    let answer: Array = JsFuture::from(promise)
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| FetchFailure::Failed("fetch did not answer".into()))?;
    Ok(Fetched {
        // A Response's status is an integer from 200 to 599.
        status: answer.get(0).as_f64().map_or(0, |status| status as u16),
        www_authenticate: answer.get(1).as_string(),
        body: answer.get(2).as_string().unwrap_or_default(),
    })
}

fn request_init(
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<web_sys::RequestInit, String> {
    let js_headers = web_sys::Headers::new().map_err(|e| describe_js_error(&e))?;
    for (name, value) in headers {
        js_headers
            .set(name, value)
            .map_err(|e| describe_js_error(&e))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_headers(&js_headers);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    Ok(init)
}

/// `new Response(body, init)`, with `init` (status and `headers`) built once per isolate for each
/// status and header set, and reused: the constructor copies the init's headers into the new
/// response's own (Fetch, "Response constructor"), so setting a header on one response never
/// reaches the next. One call across the boundary per answer, instead of a `Headers` object and
/// one call per header. `headers` must be a `static` (its address keys the cache).
pub fn cached_response(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&str>,
) -> Result<web_sys::Response, String> {
    web_sys::Response::new_with_opt_str_and_init(body, &cached_init(status, headers))
        .map_err(|e| describe_js_error(&e))
}

/// The `ResponseInit` for `status` and `headers`, made once per isolate.
fn cached_init(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> web_sys::ResponseInit {
    thread_local! {
        static INITS: RefCell<Vec<((u16, usize), web_sys::ResponseInit)>> = const { RefCell::new(Vec::new()) };
    }
    let key = (status, headers.as_ptr() as usize);
    let cached = INITS.with_borrow(|inits| {
        inits
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, init)| init.clone())
    });
    match cached {
        Some(init) => init,
        None => {
            let object = Object::new();
            for (name, value) in headers {
                let _ = Reflect::set(&object, &(*name).into(), &(*value).into());
            }
            let init = web_sys::ResponseInit::new();
            init.set_status(status);
            init.set_headers(&object);
            INITS.with_borrow_mut(|inits| inits.push((key, init.clone())));
            init
        }
    }
}

// An SSE body written from Rust: each event is one write to a `TransformStream` whose readable
// side is the response body, with no Rust stream polled and no timer set per event. A keep-alive comment goes out
// once the stream has been quiet for `keepaliveMs`: one timer at a time, re-armed for the quiet
// time still missing rather than cleared and set again per event. `ended` settles when the
// reader goes away (the client disconnected: the readable side is cancelled, which errors the
// writer) or after `close()`.
#[wasm_bindgen(inline_js = r#"
export function eventStream(first, keepaliveMs) {
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream();
  const writer = writable.getWriter();
  let open = true;
  let last = 0;
  let timer;
  const send = (text) => {
    if (!open) return false;
    last = Date.now();
    writer.write(encoder.encode(text)).catch(() => {});
    return true;
  };
  const tick = () => {
    const quiet = Date.now() - last;
    if (quiet >= keepaliveMs) send(': keep-alive\n\n');
    if (open) timer = setTimeout(tick, quiet >= keepaliveMs ? keepaliveMs : keepaliveMs - quiet);
  };
  const end = () => {
    open = false;
    clearTimeout(timer);
  };
  const ended = writer.closed.then(end, end);
  send(first);
  timer = setTimeout(tick, keepaliveMs);
  const close = () => {
    if (!open) return;
    end();
    writer.close().catch(() => {});
  };
  return { readable, ended, send, close };
}
"#)]
extern "C" {
    type JsEventStream;
    #[wasm_bindgen(js_name = eventStream)]
    fn js_event_stream(first: &str, keepalive_ms: u32) -> JsEventStream;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &JsEventStream) -> web_sys::ReadableStream;
    #[wasm_bindgen(method, getter)]
    fn ended(this: &JsEventStream) -> Promise;
    #[wasm_bindgen(method)]
    fn send(this: &JsEventStream, text: &str) -> bool;
    #[wasm_bindgen(method)]
    fn close(this: &JsEventStream);
}

/// An open `text/event-stream` body (`eventStream` above), written an event at a time.
pub struct EventStream(JsEventStream);

impl EventStream {
    /// A stream whose first bytes are `first`, with a keep-alive comment after each
    /// `keepalive_ms` of quiet; and the body to answer with.
    pub fn open(first: &str, keepalive_ms: u32) -> (EventStream, web_sys::ReadableStream) {
        let stream = js_event_stream(first, keepalive_ms);
        let body = stream.readable();
        (EventStream(stream), body)
    }

    /// Queues `text` (whole events) for the reader; false once the stream has ended.
    pub fn send(&self, text: &str) -> bool {
        self.0.send(text)
    }

    /// Ends the stream after what is queued; the keep-alive timer stops.
    pub fn close(&self) {
        self.0.close();
    }

    /// Settles when the stream has ended: the reader went away, or [`EventStream::close`].
    pub fn ended(&self) -> JsFuture {
        JsFuture::from(self.0.ended())
    }
}

/// A response with `status`, `headers` and a streamed `body` (the init cached as
/// [`cached_response`]'s).
pub fn stream_response(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &web_sys::ReadableStream,
) -> Result<web_sys::Response, String> {
    web_sys::Response::new_with_opt_readable_stream_and_init(
        Some(body),
        &cached_init(status, headers),
    )
    .map_err(|e| describe_js_error(&e))
}

/// `new Response(response.body, response)` with the headers of `set` set: a copy whose headers
/// may change (an answer from `fetch` or a Durable Object has immutable headers), made the way
/// `OAuthProvider` copies the answers it adds CORS headers to.
pub fn with_headers(
    response: web_sys::Response,
    set: &[(&str, String)],
) -> Result<web_sys::Response, String> {
    let copy = web_sys::Response::new_with_opt_readable_stream_and_init(
        response.body().as_ref(),
        response.unchecked_ref::<web_sys::ResponseInit>(),
    )
    .map_err(|e| describe_js_error(&e))?;
    let headers = copy.headers();
    for (name, value) in set {
        headers
            .set(name, value)
            .map_err(|e| describe_js_error(&e))?;
    }
    Ok(copy)
}

/// A request with `method`, `headers` and `body` (built directly, not through
/// `worker::RequestInit`, whose conversion links its `cf` options serialiser into the module).
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Request, String> {
    let init = request_init(method, headers, body)?;
    let request =
        web_sys::Request::new_with_str_and_init(url, &init).map_err(|e| describe_js_error(&e))?;
    Ok(Request::from(request))
}

/// A failure from one of the library's helpers.
#[derive(Debug, Clone)]
pub enum HelperError {
    /// `AuthorizationError`: an expected refusal. `redirect_to` is set only when the client and
    /// its exact redirect URI were validated, so redirecting there is safe; otherwise the error
    /// must be rendered locally (RFC 6749 §4.1.2.1, OAuth 2.1 §4.1.2.1).
    Authorization {
        code: String,
        description: String,
        redirect_to: Option<String>,
    },
    /// `CimdFetchError`: a Client ID Metadata Document could not be fetched or validated.
    Cimd { detail: String },
    /// Anything else: a bug, a bad option, or a storage outage.
    Other(String),
}

impl std::fmt::Display for HelperError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HelperError::Authorization {
                code, description, ..
            } => write!(f, "{code}: {description}"),
            HelperError::Cimd { detail } => write!(f, "client metadata document: {detail}"),
            HelperError::Other(message) => f.write_str(message),
        }
    }
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string()
}

/// A field that must be a string, or what is wrong, naming `what` it was read from.
fn required_string(target: &JsValue, key: &str, what: &str) -> Result<String, String> {
    get_string(target, key).ok_or_else(|| format!("{what} without a string {key}"))
}

/// The strings of an array field; absent or not an array reads as none.
fn get_strings(target: &JsValue, key: &str) -> Vec<String> {
    get(target, key)
        .dyn_ref::<Array>()
        .map(|items| items.iter().filter_map(|item| item.as_string()).collect())
        .unwrap_or_default()
}

/// A whole, non-negative number field (the library's seconds since the epoch).
fn get_u64(target: &JsValue, key: &str) -> Option<u64> {
    get(target, key)
        .as_f64()
        .filter(|n| n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(n))
        .map(|n| n as u64)
}

/// Awaits the promise a JS call returned; a throw or a rejection becomes its text.
async fn settle(call: Result<Promise, JsValue>) -> Result<JsValue, String> {
    let promise = call.map_err(|e| describe_js_error(&e))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| describe_js_error(&e))
}

/// The text of a thrown JS value, for logs.
pub fn describe_js_error(error: &JsValue) -> String {
    get_string(error, "message")
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown JavaScript error".to_owned())
}

fn helper_error(error: JsValue) -> HelperError {
    match get_string(&error, "name").as_deref() {
        Some("AuthorizationError") => HelperError::Authorization {
            code: get_string(&error, "code").unwrap_or_else(|| "invalid_request".into()),
            description: get_string(&error, "description").unwrap_or_default(),
            redirect_to: get_string(&error, "redirectTo"),
        },
        Some("CimdFetchError") => HelperError::Cimd {
            detail: get_string(&error, "detail").unwrap_or_default(),
        },
        _ => HelperError::Other(describe_js_error(&error)),
    }
}

/// Serialises `value` as a plain JS object (maps become objects, not `Map`s, which the library
/// expects): one `serde_json` string and one `JSON.parse`, instead of a JS call per field.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, String> {
    let text =
        serde_json::to_string(value).map_err(|e| format!("serialising for JavaScript: {e}"))?;
    js_sys::JSON::parse(&text)
        .map_err(|e| format!("serialising for JavaScript: {}", describe_js_error(&e)))
}

/// A JS value as JSON text, through one `JSON.stringify`: one boundary crossing instead of one
/// per field, read on the Rust side with `crate::json::Fields`.
///
/// `JSON.stringify` escapes a lone UTF-16 surrogate (which a client's text may hold: `JSON.parse`
/// accepts `"\ud800"`) as `\udXXX`, and `serde_json` refuses such an escape; it becomes U+FFFD
/// first ([`replace_lone_surrogates`]), as the runtime's own UTF-8 conversion of strings does.
fn json_text(value: &JsValue, what: &str) -> Result<String, String> {
    let text: String = js_sys::JSON::stringify(value)
        .map_err(|e| format!("reading {what}: {}", describe_js_error(&e)))?
        .into();
    // Almost always nothing to replace: the text is then handed on as it is, not copied.
    let replaced = match replace_lone_surrogates(&text) {
        std::borrow::Cow::Owned(replaced) => Some(replaced),
        std::borrow::Cow::Borrowed(_) => None,
    };
    Ok(replaced.unwrap_or(text))
}

/// `\udXXX` escapes in well-formed `JSON.stringify` output (ES2019), which only escapes lone
/// surrogates (pairs are written as the character), replaced by `\ufffd`. Escaped backslashes
/// (`\\`) are kept as they are.
pub fn replace_lone_surrogates(json: &str) -> std::borrow::Cow<'_, str> {
    let bytes = json.as_bytes();
    let is_surrogate_escape = |at: usize| {
        bytes.get(at + 1) == Some(&b'u')
            && matches!(bytes.get(at + 2), Some(b'd' | b'D'))
            && matches!(
                bytes.get(at + 3),
                Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
            )
            && at + 6 <= bytes.len()
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
        } else if is_surrogate_escape(i) {
            let out = out.get_or_insert_with(|| String::with_capacity(json.len()));
            out.push_str(&json[copied..i]);
            out.push_str("\\ufffd");
            i += 6;
            copied = i;
        } else {
            // Any other escape: its second character is never a backslash that starts another.
            i += 2;
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(json),
        Some(mut out) => {
            out.push_str(&json[copied..]);
            std::borrow::Cow::Owned(out)
        }
    }
}

fn headers_of(value: &JsValue) -> Headers {
    let raw = get(value, "headers");
    match raw.dyn_into::<worker::worker_sys::web_sys::Headers>() {
        Ok(headers) => Headers(headers),
        Err(_) => Headers::new(),
    }
}

/// A validated authorization request as the library returned it. The original JS object is kept
/// and handed back unchanged, so nothing is lost in a round trip; the fields are a read-only view.
#[derive(Clone)]
pub struct AuthRequest {
    raw: JsValue,
    /// The client's id.
    pub client_id: String,
    /// The exact, validated redirect URI.
    pub redirect_uri: String,
    /// The requested (or, after `approveConsent`, the approved) scopes.
    pub scope: Vec<String>,
    /// The client's `state`, returned to it unchanged.
    pub state: Option<String>,
    /// PKCE challenge (RFC 7636 §4.3).
    pub code_challenge: Option<String>,
    /// PKCE method; only `S256` is accepted (OAuth 2.1 §4.1.1).
    pub code_challenge_method: Option<String>,
    /// The RFC 8707 resource the grant is for.
    pub resource: Option<String>,
    /// This server's issuer, for `iss` on the redirect (RFC 9207).
    pub issuer: Option<String>,
}

impl AuthRequest {
    /// A copy of this request asking for `scope` instead: what the consent page offers (the
    /// remembered-consent check and the upstream sign-in then use the scopes the user sees).
    pub fn with_scope(&self, scope: &[String]) -> Result<AuthRequest, String> {
        let copy = Object::assign(&Object::new(), self.raw.unchecked_ref());
        Reflect::set(&copy, &"scope".into(), &to_js(scope)?).map_err(|e| describe_js_error(&e))?;
        AuthRequest::from_js(copy.into()).map_err(|e| e.to_string())
    }

    fn from_js(raw: JsValue) -> Result<Self, HelperError> {
        let client_id = get_string(&raw, "clientId")
            .ok_or_else(|| HelperError::Other("auth request without clientId".into()))?;
        let redirect_uri = get_string(&raw, "redirectUri")
            .ok_or_else(|| HelperError::Other("auth request without redirectUri".into()))?;
        let scope = get_strings(&raw, "scope");
        Ok(AuthRequest {
            client_id,
            redirect_uri,
            scope,
            state: get_string(&raw, "state").filter(|s| !s.is_empty()),
            code_challenge: get_string(&raw, "codeChallenge"),
            code_challenge_method: get_string(&raw, "codeChallengeMethod"),
            resource: get_string(&raw, "resource"),
            issuer: get_string(&raw, "issuer"),
            raw,
        })
    }
}

/// What the consent page must show (the library's `ConsentDescription`). Every string may come
/// from the client: escape before rendering.
#[derive(Debug, Clone)]
pub struct ConsentDescription {
    pub client_id: String,
    pub client_name: String,
    pub client_domain: Option<String>,
    pub client_uri: Option<String>,
    pub redirect_uri: String,
    pub redirect_host: String,
    pub redirect_is_loopback: bool,
    pub scope: Vec<String>,
}

impl ConsentDescription {
    /// Reads the fields the page shows, one by one (like [`AuthRequest`]: a few boundary calls,
    /// no deserialiser compiled for a value read once per consent page).
    fn from_js(value: &JsValue) -> Result<Self, String> {
        const WHAT: &str = "the consent description";
        Ok(ConsentDescription {
            client_id: required_string(value, "clientId", WHAT)?,
            client_name: required_string(value, "clientName", WHAT)?,
            client_domain: get_string(value, "clientDomain"),
            client_uri: get_string(value, "clientUri"),
            redirect_uri: required_string(value, "redirectUri", WHAT)?,
            redirect_host: required_string(value, "redirectHost", WHAT)?,
            redirect_is_loopback: get(value, "redirectIsLoopback")
                .as_bool()
                .ok_or_else(|| format!("{WHAT} without a boolean redirectIsLoopback"))?,
            scope: get_strings(value, "scope"),
        })
    }
}

/// The library's helper API for this request's `env` (`env.OAUTH_PROVIDER`).
pub struct OAuthApi {
    helpers: JsValue,
}

impl OAuthApi {
    /// The helpers `OAuthProvider` put on `env` before calling the default handler.
    pub fn from_env(env: &Env) -> Result<Self, HelperError> {
        let helpers = get(env.as_ref(), "OAUTH_PROVIDER");
        if helpers.is_undefined() || helpers.is_null() {
            return Err(HelperError::Other(
                "env.OAUTH_PROVIDER is missing: is the worker wrapped by OAuthProvider?".into(),
            ));
        }
        Ok(OAuthApi { helpers })
    }

    async fn call(&self, method: &str, args: &[&JsValue]) -> Result<JsValue, HelperError> {
        let function: Function = get(&self.helpers, method).dyn_into().map_err(|_| {
            HelperError::Other(format!("OAUTH_PROVIDER.{method} is not a function"))
        })?;
        let array = Array::new();
        for arg in args {
            array.push(arg);
        }
        let result = function
            .apply(&self.helpers, &array)
            .map_err(helper_error)?;
        let promise = Promise::resolve(&result);
        JsFuture::from(promise).await.map_err(helper_error)
    }

    /// `parseAuthRequest()`: validates client, redirect URI, response type, resource and PKCE.
    pub async fn parse_auth_request(&self, request: &Request) -> Result<AuthRequest, HelperError> {
        AuthRequest::from_js(
            self.call("parseAuthRequest", &[request.inner().as_ref()])
                .await?,
        )
    }

    /// `describeConsent()`: the facts the consent page must show.
    pub async fn describe_consent(
        &self,
        request: &AuthRequest,
    ) -> Result<ConsentDescription, HelperError> {
        ConsentDescription::from_js(&self.call("describeConsent", &[&request.raw]).await?)
            .map_err(HelperError::Other)
    }

    /// `isConsentRemembered()`: whether a signed approvals cookie covers this request.
    pub async fn is_consent_remembered(
        &self,
        request: &Request,
        auth: &AuthRequest,
        secret: &str,
    ) -> Result<bool, HelperError> {
        let remember = Object::new();
        let _ = Reflect::set(&remember, &"secret".into(), &secret.into());
        Ok(self
            .call(
                "isConsentRemembered",
                &[request.inner().as_ref(), &auth.raw, remember.as_ref()],
            )
            .await?
            .as_bool()
            .unwrap_or(false))
    }

    /// `beginConsent()`: the browser-bound handle for the form, and the headers (binding cookie,
    /// anti-framing, no-store) to send with the page.
    pub async fn begin_consent(
        &self,
        auth: &AuthRequest,
    ) -> Result<(String, Headers), HelperError> {
        let result = self.call("beginConsent", &[&auth.raw]).await?;
        let handle = get_string(&result, "handle")
            .ok_or_else(|| HelperError::Other("beginConsent returned no handle".into()))?;
        Ok((handle, headers_of(&result)))
    }

    /// `approveConsent()`: consumes the handle (single use, same browser) and returns the stored
    /// request, now holding the approved scopes, with the headers for the next response.
    pub async fn approve_consent(
        &self,
        request: &Request,
        handle: &str,
        scope: &[String],
        remember_secret: Option<&str>,
    ) -> Result<(AuthRequest, Headers), HelperError> {
        let options = Object::new();
        let scope = to_js(scope).map_err(HelperError::Other)?;
        let _ = Reflect::set(&options, &"scope".into(), &scope);
        if let Some(secret) = remember_secret {
            let remember = Object::new();
            let _ = Reflect::set(&remember, &"secret".into(), &secret.into());
            let _ = Reflect::set(&options, &"remember".into(), &remember);
        }
        let result = self
            .call(
                "approveConsent",
                &[request.inner().as_ref(), &handle.into(), options.as_ref()],
            )
            .await?;
        Ok((
            AuthRequest::from_js(get(&result, "request"))?,
            headers_of(&result),
        ))
    }

    /// `denyConsent()`: consumes the handle; returns the client's redirect with
    /// `error=access_denied`, `state` and `iss`, and the headers to send with it.
    pub async fn deny_consent(
        &self,
        request: &Request,
        handle: &str,
    ) -> Result<(AuthRequest, String, Headers), HelperError> {
        let result = self
            .call("denyConsent", &[request.inner().as_ref(), &handle.into()])
            .await?;
        let redirect_to = get_string(&result, "redirectTo")
            .ok_or_else(|| HelperError::Other("denyConsent returned no redirectTo".into()))?;
        Ok((
            AuthRequest::from_js(get(&result, "request"))?,
            redirect_to,
            headers_of(&result),
        ))
    }

    /// `beginUpstream()`: creates the single-use `state`, stores the approved request and `data`
    /// (encrypted) server-side, and binds the state to the browser with a cookie.
    pub async fn begin_upstream<D: Serialize>(
        &self,
        auth: &AuthRequest,
        data: &D,
        headers: Headers,
    ) -> Result<(String, Headers), HelperError> {
        let options = Object::new();
        let data = to_js(data).map_err(HelperError::Other)?;
        let _ = Reflect::set(&options, &"data".into(), &data);
        let _ = Reflect::set(&options, &"headers".into(), headers.as_ref());
        let result = self
            .call("beginUpstream", &[&auth.raw, options.as_ref()])
            .await?;
        let state = get_string(&result, "state")
            .ok_or_else(|| HelperError::Other("beginUpstream returned no state".into()))?;
        Ok((state, headers_of(&result)))
    }

    /// `finishUpstream()`: checks `state` and its binding cookie (single use), and recovers the
    /// approved request and the `data` saved by `begin_upstream`.
    pub async fn finish_upstream<D: crate::json::FromFields>(
        &self,
        request: &Request,
    ) -> Result<(AuthRequest, D, Headers), HelperError> {
        let result = self
            .call("finishUpstream", &[request.inner().as_ref()])
            .await?;
        let text =
            json_text(&get(&result, "data"), "the upstream data").map_err(HelperError::Other)?;
        let data = D::from_json(&text)
            .map_err(|e| HelperError::Other(format!("reading the upstream data: {e}")))?;
        Ok((
            AuthRequest::from_js(get(&result, "request"))?,
            data,
            headers_of(&result),
        ))
    }

    /// `completeAuthorization()`: stores the grant (props encrypted) and returns the redirect to
    /// the client carrying the code, `state` and `iss`.
    pub async fn complete_authorization<M: Serialize, P: Serialize>(
        &self,
        auth: &AuthRequest,
        user_id: &str,
        metadata: &M,
        scope: &[String],
        props: &P,
    ) -> Result<String, HelperError> {
        let options = Object::new();
        let set = |key: &str, value: JsValue| {
            let _ = Reflect::set(&options, &key.into(), &value);
        };
        set("request", auth.raw.clone());
        set("userId", user_id.into());
        set("metadata", to_js(metadata).map_err(HelperError::Other)?);
        set("scope", to_js(scope).map_err(HelperError::Other)?);
        set("props", to_js(props).map_err(HelperError::Other)?);
        let result = self
            .call("completeAuthorization", &[options.as_ref()])
            .await?;
        get_string(&result, "redirectTo").ok_or_else(|| {
            HelperError::Other("completeAuthorization returned no redirectTo".into())
        })
    }
}

/// One grant as `listUserGrants()` summarises it (no props, no token).
#[derive(Debug, Clone)]
pub struct GrantSummary {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    pub expires_at: Option<u64>,
    /// The exact redirect URI of the authorization request (absent on older grants).
    pub redirect_uri: Option<String>,
}

impl GrantSummary {
    fn from_js(value: &JsValue) -> Result<Self, String> {
        const WHAT: &str = "a grant summary";
        Ok(GrantSummary {
            id: required_string(value, "id", WHAT)?,
            client_id: required_string(value, "clientId", WHAT)?,
            user_id: required_string(value, "userId", WHAT)?,
            scope: get_strings(value, "scope"),
            created_at: get_u64(value, "createdAt")
                .ok_or_else(|| format!("{WHAT} without a numeric createdAt"))?,
            expires_at: get_u64(value, "expiresAt"),
            redirect_uri: get_string(value, "redirectUri"),
        })
    }
}

/// The public facts of a registered client (`lookupClient()`), without its secret.
#[derive(Debug, Clone)]
pub struct ClientSummary {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl OAuthApi {
    /// `listUserGrants()`, every page: the grants of `user_id`.
    pub async fn list_user_grants(&self, user_id: &str) -> Result<Vec<GrantSummary>, HelperError> {
        let mut grants = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let options = Object::new();
            if let Some(cursor) = &cursor {
                let _ = Reflect::set(&options, &"cursor".into(), &cursor.as_str().into());
            }
            let page = self
                .call("listUserGrants", &[&user_id.into(), options.as_ref()])
                .await?;
            let items = get(&page, "items");
            let items = items
                .dyn_ref::<Array>()
                .ok_or_else(|| HelperError::Other("the grant list is not an array".into()))?;
            for item in items.iter() {
                grants.push(GrantSummary::from_js(&item).map_err(HelperError::Other)?);
            }
            cursor = get_string(&page, "cursor").filter(|c| !c.is_empty());
            if cursor.is_none() {
                return Ok(grants);
            }
        }
    }

    /// `revokeGrant()`: deletes the grant of `user_id` with its access and refresh tokens.
    pub async fn revoke_grant(&self, grant_id: &str, user_id: &str) -> Result<(), HelperError> {
        self.call("revokeGrant", &[&grant_id.into(), &user_id.into()])
            .await
            .map(|_| ())
    }

    /// `lookupClient()`: the client's name and redirect URIs, or `None` when it is gone.
    pub async fn lookup_client(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientSummary>, HelperError> {
        let client = self.call("lookupClient", &[&client_id.into()]).await?;
        if client.is_null() || client.is_undefined() {
            return Ok(None);
        }
        Ok(Some(ClientSummary {
            client_id: required_string(&client, "clientId", "the client")
                .map_err(HelperError::Other)?,
            client_name: get_string(&client, "clientName"),
            redirect_uris: get_strings(&client, "redirectUris"),
        }))
    }
}

/// What `OAuthProvider` verified about the bearer token of an API request (`ctx.auth`), without
/// the token itself.
#[derive(Debug, Clone, Default)]
pub struct TokenAuth {
    pub scope: Vec<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// When the token expires, seconds since the Unix epoch (`ctx.auth.expiresAt`).
    pub expires_at: Option<i64>,
}

/// Reads `ctx.auth`: only the fields used, one by one (its `token` must never be copied or
/// logged).
pub fn token_auth(ctx: &Context) -> Result<TokenAuth, String> {
    let js_ctx: &JsValue = ctx.as_ref().as_ref();
    let auth = get(js_ctx, "auth");
    if auth.is_undefined() || auth.is_null() {
        return Err("ctx.auth is missing".into());
    }
    let scope = get(&auth, "scope");
    let scope = match scope.dyn_ref::<Array>() {
        Some(scopes) => scopes.iter().filter_map(|s| s.as_string()).collect(),
        None if scope.is_undefined() || scope.is_null() => Vec::new(),
        None => return Err("ctx.auth.scope is not an array".into()),
    };
    Ok(TokenAuth {
        scope,
        user_id: get_string(&auth, "userId"),
        client_id: get_string(&auth, "clientId"),
        expires_at: get(&auth, "expiresAt")
            .as_f64()
            .filter(|at| at.is_finite())
            .map(|at| at as i64),
    })
}

/// The property of `ctx` that carries, from [`crate::fetch`] to `api_fetch` through the provider
/// (which hands its `ctx` on), the token memo's epoch when the request arrived.
const MEMO_EPOCH: &str = "tokenMemoEpoch";

/// Notes on `ctx` the token memo's epoch at the request's arrival (`token_memo`).
pub fn note_memo_epoch(ctx: &worker::worker_sys::Context, epoch: u64) {
    let _ = Reflect::set(
        ctx.as_ref(),
        &MEMO_EPOCH.into(),
        &JsValue::from(epoch as f64),
    );
}

/// The epoch [`note_memo_epoch`] noted on `ctx`, if any.
pub fn noted_memo_epoch(ctx: &Context) -> Option<u64> {
    let js_ctx: &JsValue = ctx.as_ref().as_ref();
    get(js_ctx, MEMO_EPOCH)
        .as_f64()
        .filter(|epoch| epoch.is_finite() && *epoch >= 0.0)
        .map(|epoch| epoch as u64)
}

/// The options `tokenExchangeCallback` receives, and its `env`: the ids and scopes (the grant's
/// `scope`, the token's `requestedScope`) field by field, the grant's props (the one nested value)
/// through [`from_js`].
pub fn token_exchange_options(
    options: JsValue,
) -> Result<(crate::token_exchange::Input, Env), String> {
    let env: Env = get(&options, "env").unchecked_into();
    let text = |key: &str| get_string(&options, key).unwrap_or_default();
    let input = crate::token_exchange::Input {
        grant_type: required_string(&options, "grantType", "the token exchange options")?,
        client_id: text("clientId"),
        user_id: text("userId"),
        grant_id: text("grantId"),
        scope: get_strings(&options, "scope"),
        // Never defaulted to `scope`: the scope returned to the library replaces this one, so a
        // missing `requestedScope` must not become the grant's whole scope (see
        // `token_exchange::narrowed_scope`); empty, it leaves the library's default in place.
        requested_scope: get_strings(&options, "requestedScope"),
        props: grant_props(&get(&options, "props"), "the grant's props")?,
    };
    Ok((input, env))
}

/// The error the provider's `onError` reports, without headers.
#[derive(Debug, Clone, Default)]
pub struct ProviderError {
    pub code: String,
    pub description: String,
    pub status: u16,
    pub internal: Option<ProviderErrorInternal>,
}

/// `onError`'s `internal` reason (never on the wire).
#[derive(Debug, Clone, Default)]
pub struct ProviderErrorInternal {
    pub category: String,
    pub reason: String,
}

/// Reads the object `onError` receives, field by field: the code, description, status and
/// internal reason. Its `detail` and `headers` are left out: they may hold a caught error whose
/// text is not ours to log.
pub fn provider_error(error: &JsValue) -> ProviderError {
    let text = |target: &JsValue, key: &str| get_string(target, key).unwrap_or_default();
    let internal = get(error, "internal");
    ProviderError {
        code: text(error, "code"),
        description: text(error, "description"),
        // A JS number; anything that is not a status reads as 0.
        status: get(error, "status")
            .as_f64()
            .filter(|status| (100.0..=599.0).contains(status))
            .map_or(0, |status| status as u16),
        internal: internal.is_object().then(|| ProviderErrorInternal {
            category: text(&internal, "category"),
            reason: text(&internal, "reason"),
        }),
    }
}

/// Reads the plain-data props of a grant from `ctx.props`.
pub fn props(ctx: &Context) -> Result<crate::grant::GrantProps, String> {
    let js_ctx: &JsValue = ctx.as_ref().as_ref();
    grant_props(&get(js_ctx, "props"), "ctx.props")
}

/// Reads grant props from a JS value: one `JSON.stringify`, then `GrantProps::from_json`.
fn grant_props(value: &JsValue, what: &str) -> Result<crate::grant::GrantProps, String> {
    use crate::json::FromFields;
    crate::grant::GrantProps::from_json(&json_text(value, what)?)
        .map_err(|e| format!("reading {what}: {e}"))
}

/// `n` random bytes from the runtime's CSPRNG (`crypto.getRandomValues`).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    get_random_values(&mut buf);
    buf
}

/// SHA-256 through WebCrypto.
pub async fn sha256(data: &[u8]) -> Result<Vec<u8>, String> {
    let digest = settle(subtle_digest("SHA-256", data)).await?;
    Ok(js_sys::Uint8Array::new(&digest).to_vec())
}

/// HMAC-SHA256 (RFC 2104) of `data` under `key`, through WebCrypto.
pub async fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let algorithm = to_js(&serde_json::json!({"name": "HMAC", "hash": "SHA-256"}))?;
    let usages = Array::of1(&"sign".into());
    let raw = js_sys::Uint8Array::from(key);
    let key = settle(subtle_import_key(
        "raw",
        raw.as_ref(),
        &algorithm,
        false,
        &usages,
    ))
    .await?;
    let mac = settle(subtle_sign("HMAC", &key, data)).await?;
    Ok(js_sys::Uint8Array::new(&mac).to_vec())
}

/// Verifies a JWS signature (RFC 7515) with a public JWK through WebCrypto. Supports `RS256`
/// (RSASSA-PKCS1-v1_5 with SHA-256, Auth0's default) and `ES256` (ECDSA P-256, raw `r||s`).
pub async fn verify_signature(
    alg: &str,
    jwk: &serde_json::Value,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    // Only the public members go to importKey: `alg`, `use` or `key_ops` published by the
    // provider must not make an otherwise valid key unusable.
    let (import_alg, verify_alg, public) = match alg {
        "RS256" => (
            serde_json::json!({"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"}),
            serde_json::json!({"name": "RSASSA-PKCS1-v1_5"}),
            serde_json::json!({"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}),
        ),
        "ES256" => (
            serde_json::json!({"name": "ECDSA", "namedCurve": "P-256"}),
            serde_json::json!({"name": "ECDSA", "hash": "SHA-256"}),
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}),
        ),
        other => return Err(format!("unsupported signing algorithm {other}")),
    };
    let usages = Array::of1(&"verify".into());
    let import = subtle_import_key(
        "jwk",
        &to_js(&public)?,
        &to_js(&import_alg)?,
        false,
        &usages,
    );
    let key = settle(import)
        .await
        .map_err(|e| format!("importing the signing key: {e}"))?;
    let valid = settle(subtle_verify(
        &to_js(&verify_alg)?,
        &key,
        signature,
        signing_input,
    ))
    .await?;
    Ok(valid.as_bool().unwrap_or(false))
}

/// Seconds since the Unix epoch, from the runtime clock.
pub fn now_seconds() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Calls `OAuthProvider.fetch(request, env, ctx)` on the provider built in `src/entry.mjs`, and
/// returns its promise of a `Response`.
pub fn provider_fetch(
    provider: &JsValue,
    request: &worker::worker_sys::web_sys::Request,
    env: &Env,
    ctx: &JsValue,
) -> Result<Promise, String> {
    let function: Function = get(provider, "fetch")
        .dyn_into()
        .map_err(|_| "provider.fetch is not a function".to_owned())?;
    let result = function
        .call3(provider, request.as_ref(), env.as_ref(), ctx)
        .map_err(|e| describe_js_error(&e))?;
    Ok(Promise::resolve(&result))
}

/// `provider.purgeExpiredData(env, { batchSize, cursor })`: one batch of the library's sweep of
/// expired and orphaned grants and tokens (the Cron Trigger, [`crate::purge`]).
pub async fn purge_expired_data(
    provider: &JsValue,
    env: &Env,
    batch_size: u32,
    cursor: Option<&str>,
) -> Result<crate::purge::PurgeReport, String> {
    let function: Function = get(provider, "purgeExpiredData")
        .dyn_into()
        .map_err(|_| "provider.purgeExpiredData is not a function".to_owned())?;
    let options = Object::new();
    let _ = Reflect::set(&options, &"batchSize".into(), &batch_size.into());
    if let Some(cursor) = cursor {
        let _ = Reflect::set(&options, &"cursor".into(), &cursor.into());
    }
    let call = function
        .call2(provider, env.as_ref(), &options)
        .map(|result| Promise::resolve(&result));
    let report = settle(call).await?;
    use crate::json::FromFields;
    crate::purge::PurgeReport::from_json(&json_text(&report, "the purgeExpiredData report")?)
        .map_err(|e| format!("reading the purgeExpiredData report: {e}"))
}

/// The runtime's WHATWG `URL` and `URLSearchParams`, behind `crate::web_url` in the worker.
#[cfg(target_arch = "wasm32")]
pub mod whatwg_url {
    use super::web_sys::{Url, UrlSearchParams};
    use js_sys::{Array, Object};
    use wasm_bindgen::JsCast;

    pub type Inner = Url;

    pub fn parse(raw: &str) -> Option<Url> {
        Url::new(raw).ok()
    }

    pub fn scheme(url: &Url) -> String {
        url.protocol().trim_end_matches(':').to_owned()
    }

    pub fn hostname(url: &Url) -> String {
        url.hostname()
    }

    pub fn path(url: &Url) -> String {
        url.pathname()
    }

    pub fn has_query_fragment_or_userinfo(url: &Url) -> bool {
        // `search` and `hash` read "" for an empty query or fragment (`https://x/?`); the
        // serialisation keeps their `?` and `#`, and neither can appear raw anywhere else.
        url.href().contains(['?', '#']) || !url.username().is_empty() || !url.password().is_empty()
    }

    pub fn origin(url: &Url) -> String {
        url.origin()
    }

    pub fn query_pairs(url: &Url) -> Vec<(String, String)> {
        Array::from(&url.search_params().entries())
            .iter()
            .filter_map(|entry| {
                let entry: Array = entry.dyn_into().ok()?;
                Some((entry.get(0).as_string()?, entry.get(1).as_string()?))
            })
            .collect()
    }

    pub fn set_query(url: &mut Url, query: &str) {
        url.set_search(query);
    }

    pub fn set_hostname(url: &mut Url, hostname: &str) {
        url.set_hostname(hostname);
    }

    pub fn href(url: &Url) -> String {
        url.href()
    }

    pub fn form_encode_pairs(pairs: &[(&str, &str)]) -> String {
        let Ok(params) = UrlSearchParams::new() else {
            return String::new();
        };
        for (name, value) in pairs {
            params.append(name, value);
        }
        Object::to_string(params.unchecked_ref::<Object>()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates;

    #[test]
    fn lone_surrogate_escapes_become_replacement_characters() {
        assert_eq!(
            replace_lone_surrogates(r#"{"name":"a\ud800b\uDFFFc"}"#),
            r#"{"name":"a\ufffdb\ufffdc"}"#
        );
        let parsed: serde_json::Value =
            crate::json::parse(&replace_lone_surrogates(r#"["\udc00"]"#)).expect("parses");
        assert_eq!(parsed[0], "\u{fffd}");
    }

    #[test]
    fn other_escapes_and_text_are_kept() {
        for json in [
            r#"{"a":"\\ud800"}"#,
            r#"{"a":"\u00e9\n\"\\","b":"é😀"}"#,
            r#"{"a":"\u0041"}"#,
            r#""\"#,
        ] {
            assert_eq!(replace_lone_surrogates(json), json, "{json}");
        }
    }
}
