//! The one JavaScript boundary: everything this worker asks of the Workers runtime goes through
//! here, as typed wrappers, and nothing outside this module sees a `JsValue`.
//!
//! - [`fn@fetch`]: the export `entry.mjs` calls for every request, and the conversions around
//!   [`crate::serve`]: [`Request`] in, [`crate::http::Response`] out;
//! - [`Env`]: the worker's bindings (string vars, the KV namespace of [`kv`]);
//! - [`crypto`]: WebCrypto (`crypto.subtle`) for RS256 signatures;
//! - [`mod@fetch`]: outbound GETs that can be aborted (the deadline is `crate::outbound`'s);
//! - the clock, timers and the console.
//!
//! Bindings come from `web-sys` and `js-sys` where they exist; what is specific to Workers (the
//! KV namespace) or a plain global function (`fetch`, `setTimeout`) is declared here by hand.

pub mod crypto;
pub mod fetch;
pub mod kv;

use std::borrow::Cow;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use js_sys::{Date, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::http::Response;

use self::kv::KvNamespace;

#[wasm_bindgen]
extern "C" {
    /// The `env` object of a request: the vars and bindings of `wrangler.toml`.
    pub type Env;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, milliseconds: i32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(timer: &JsValue);
}

/// Installs the panic hook once per isolate, so a panic's message reaches the log instead of a
/// bare `RuntimeError: unreachable`.
#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The worker's fetch handler: `entry.mjs` hands every request and the worker's `env` here.
#[wasm_bindgen]
pub async fn fetch(request: web_sys::Request, env: Env) -> web_sys::Response {
    into_js(crate::serve(Request(request), &env).await)
}

/// Builds the runtime's `Response`. Every header name and value here is a constant or was made
/// quotable by this crate, so building cannot fail in practice; if it does, the status is sent
/// without headers or body, and failing that the runtime's network error (a 500 to the client).
fn into_js(response: Response) -> web_sys::Response {
    response_init(&response)
        .and_then(|init| {
            web_sys::Response::new_with_opt_str_and_init(response.body.as_deref(), &init)
        })
        .or_else(|_| {
            let init = web_sys::ResponseInit::new();
            init.set_status(response.status);
            web_sys::Response::new_with_opt_str_and_init(None, &init)
        })
        .unwrap_or_else(|_| web_sys::Response::error())
}

/// At most this many answer shapes are kept (this worker has three: JSON 200 and 201, and 204); a
/// bound against growth, not an expectation.
const MAX_CACHED_INITS: usize = 16;

thread_local! {
    /// The `ResponseInit` (status and headers) of each answer shape whose header values are all
    /// constants: every success answer. The `Response` constructor copies what it reads from its
    /// init (Fetch, "initialize a response"), so one object per shape serves the isolate's
    /// requests: one call across the boundary instead of one per header.
    static INITS: RefCell<Vec<(Response, web_sys::ResponseInit)>> = const { RefCell::new(Vec::new()) };
}

fn response_init(response: &Response) -> Result<web_sys::ResponseInit, JsValue> {
    let constant = response
        .headers
        .iter()
        .all(|(_, value)| matches!(value, Cow::Borrowed(_)));
    if !constant {
        return new_response_init(response);
    }
    INITS.with_borrow_mut(|inits| {
        let same_shape = |(shape, _): &&(Response, web_sys::ResponseInit)| {
            shape.status == response.status && shape.headers == response.headers
        };
        if let Some((_, init)) = inits.iter().find(same_shape) {
            return Ok(init.clone());
        }
        let init = new_response_init(response)?;
        if inits.len() < MAX_CACHED_INITS {
            let shape = Response {
                status: response.status,
                headers: response.headers.clone(),
                body: None,
            };
            inits.push((shape, init.clone()));
        }
        Ok(init)
    })
}

/// A `ResponseInit` whose headers are a plain record (not a `Headers` object), so that no
/// `Response` can share them with another.
fn new_response_init(response: &Response) -> Result<web_sys::ResponseInit, JsValue> {
    let headers = Object::new();
    for (name, value) in &response.headers {
        Reflect::set(
            &headers,
            &JsValue::from_str(name),
            &JsValue::from_str(value),
        )?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status);
    init.set_headers(&headers);
    Ok(init)
}

/// An incoming request.
#[derive(Debug)]
pub struct Request(web_sys::Request);

impl Request {
    /// The method, as the client sent it (`GET`, `POST`, …).
    pub fn method(&self) -> String {
        self.0.method()
    }

    /// The full URL, already serialized by the runtime.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// The value of a request header, or `None` when absent.
    pub fn header(&self, name: &str) -> Result<Option<String>, String> {
        self.0.headers().get(name).map_err(|error| describe(&error))
    }

    /// Reads the body, or `None` once more than `max` bytes of it have arrived. Read chunk by
    /// chunk with a running total, so a body sent without `Content-Length` (chunked) is never
    /// held past the limit before it is refused.
    pub async fn bytes_within(&self, max: usize) -> Result<Option<Vec<u8>>, String> {
        let Some(stream) = self.0.body() else {
            return Ok(Some(Vec::new()));
        };
        let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        let mut bytes = Vec::new();
        loop {
            let read: web_sys::ReadableStreamReadResult = JsFuture::from(reader.read())
                .await
                .map_err(|error| describe(&error))?
                .unchecked_into();
            if read.get_done().unwrap_or(true) {
                return Ok(Some(bytes));
            }
            let chunk: Uint8Array = read
                .get_value()
                .dyn_into()
                .map_err(|_| "a body chunk is not bytes".to_owned())?;
            let start = bytes.len();
            let end = start + chunk.length() as usize;
            if end > max {
                // Tells the runtime the rest is not wanted; nothing waits on it.
                let _ = reader.cancel();
                return Ok(None);
            }
            bytes.resize(end, 0);
            chunk.copy_to(&mut bytes[start..]);
        }
    }
}

impl Env {
    /// A string var; `None` when it is not set or is not a string (a JSON var).
    pub fn var(&self, name: &str) -> Option<String> {
        Reflect::get(self, &JsValue::from_str(name))
            .ok()
            .and_then(|value| value.as_string())
    }

    /// The KV namespace bound as `name`.
    pub fn kv(&self, name: &str) -> Result<KvNamespace, String> {
        match Reflect::get(self, &JsValue::from_str(name)) {
            Ok(binding) if binding.is_object() => Ok(binding.unchecked_into()),
            Ok(_) => Err(format!("no KV namespace is bound as {name}")),
            Err(error) => Err(describe(&error)),
        }
    }
}

/// Milliseconds since the Unix epoch (`Date.now()`; Wasm has no clock of its own). Workers
/// advance it only across I/O, which is all the precision the key cache needs.
pub fn now_ms() -> f64 {
    Date::now()
}

/// The current time as RFC 3339 in UTC with milliseconds (`Date.prototype.toISOString`).
pub fn now_rfc3339() -> String {
    Date::new_0().to_iso_string().into()
}

/// Writes a line to the log at level `log`.
pub fn log(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(line));
}

/// Writes a line to the log at level `warn`.
pub fn warn(line: &str) {
    web_sys::console::warn_1(&JsValue::from_str(line));
}

/// Writes a line to the log at level `error`.
pub fn error(line: &str) {
    web_sys::console::error_1(&JsValue::from_str(line));
}

/// A timer (`setTimeout`) as a future; dropping it clears the timer.
#[derive(Debug)]
pub struct Sleep {
    timer: JsValue,
    done: JsFuture,
}

/// Resolves after `duration`.
pub fn sleep(duration: Duration) -> Sleep {
    let milliseconds = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    let mut timer = JsValue::UNDEFINED;
    let promise = Promise::new(&mut |resolve, _reject| {
        timer = set_timeout(&resolve, milliseconds);
    });
    Sleep {
        timer,
        done: JsFuture::from(promise),
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.done).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
    }
}

/// A JS error as text: `Name: message` (`Name [code]: message` when it has a string `code`), a
/// thrown string as is.
pub(crate) fn describe(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        let name = error
            .name()
            .as_string()
            .unwrap_or_else(|| "Error".to_owned());
        let message = String::from(error.message());
        return match Reflect::get(error, &JsValue::from_str("code"))
            .ok()
            .and_then(|code| code.as_string())
        {
            Some(code) => format!("{name} [{code}]: {message}"),
            None => format!("{name}: {message}"),
        };
    }
    error
        .as_string()
        .unwrap_or_else(|| format!("unrecognized JavaScript value: {error:?}"))
}
