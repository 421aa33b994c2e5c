//! A Workers KV namespace binding: text values read and written whole
//! (<https://developers.cloudflare.com/kv/api/>).

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;

use super::describe;

#[wasm_bindgen]
extern "C" {
    /// A KV namespace (`env.<binding>`).
    #[derive(Debug)]
    pub type KvNamespace;

    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_typed(this: &KvNamespace, key: &str, value_type: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_text(this: &KvNamespace, key: &str, value: &str) -> Result<Promise, JsValue>;
}

impl KvNamespace {
    /// The value under `key` as text; `None` when there is none.
    pub async fn get_text(&self, key: &str) -> Result<Option<String>, String> {
        let value = JsFuture::from(self.get_typed(key, "text").map_err(|e| describe(&e))?)
            .await
            .map_err(|e| describe(&e))?;
        Ok(value.as_string())
    }

    /// Writes `value` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, value: &str) -> Result<(), String> {
        JsFuture::from(self.put_text(key, value).map_err(|e| describe(&e))?)
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }
}
