//! Outbound requests (the global `fetch`), abortable through an `AbortController`.

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::describe;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_with_init(url: &str, init: &web_sys::RequestInit) -> Result<Promise, JsValue>;
}

/// Aborts the requests started with it (and the reading of their bodies).
#[derive(Debug)]
pub struct AbortController(web_sys::AbortController);

impl AbortController {
    /// A controller that has not aborted.
    pub fn new() -> Result<Self, String> {
        web_sys::AbortController::new()
            .map(Self)
            .map_err(|e| describe(&e))
    }

    /// Aborts: a pending `fetch` or body read rejects.
    pub fn abort(&self) {
        self.0.abort();
    }
}

/// The answer to an outbound request, its body not read yet.
#[derive(Debug)]
pub struct FetchedResponse(web_sys::Response);

impl FetchedResponse {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.0.status()
    }

    /// Reads the body as text.
    pub async fn text(self) -> Result<String, String> {
        let promise = self.0.text().map_err(|e| describe(&e))?;
        let text = JsFuture::from(promise).await.map_err(|e| describe(&e))?;
        Ok(text.as_string().unwrap_or_default())
    }
}

/// `GET url` with `Accept: accept`, abortable with `abort`. Resolves once the headers are in.
pub async fn get(
    url: &str,
    accept: &str,
    abort: &AbortController,
) -> Result<FetchedResponse, String> {
    let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
    headers.set("Accept", accept).map_err(|e| describe(&e))?;
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_signal(Some(&abort.0.signal()));
    let promise = fetch_with_init(url, &init).map_err(|e| describe(&e))?;
    let response = JsFuture::from(promise).await.map_err(|e| describe(&e))?;
    Ok(FetchedResponse(response.unchecked_into()))
}
