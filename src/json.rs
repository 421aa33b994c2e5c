//! One JSON reader and one writer for the whole worker.
//!
//! `serde_json` compiles its parser once per input type (`&str` and `&[u8]` each get a copy of
//! every struct's deserialiser) and its writer once per output type (`Value`'s `Display` writes
//! through `fmt`, `to_string` into a `Vec`). The worker reads only from bytes and writes only
//! into a buffer, so each is in the Wasm module once.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Parses `text` (the same as `serde_json::from_str`, through the byte reader).
pub fn parse<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_slice(text.as_bytes())
}

/// Writes `value` as compact JSON. A `Value` or a struct with string keys cannot fail to
/// serialise; a failure would be a map with non-string keys, which no caller builds.
pub fn write<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
