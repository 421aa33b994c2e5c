//! One JSON reader and one writer for the whole worker.
//!
//! `serde_json` compiles its parser once per input type (`&str` and `&[u8]` each get a copy of
//! every struct's deserialiser) and its writer once per output type (`Value`'s `Display` writes
//! through `fmt`, `to_string` into a `Vec`). The worker reads only through `from_str` and writes
//! only into a buffer, so each is in the Wasm module once. Most of what it parses is already a
//! `str` (JS strings arrive as UTF-8), which `from_str` does not validate again.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Parses `text`.
pub fn parse<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str(text)
}

/// Parses bytes (a request body, a decoded token segment): UTF-8 is checked once, up front, as
/// RFC 8259 §8.1 requires of JSON text exchanged between systems.
pub fn parse_bytes<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| <serde_json::Error as serde::de::Error>::custom("the text is not UTF-8"))?;
    parse(text)
}

/// Writes `value` as compact JSON. A `Value` or a struct with string keys cannot fail to
/// serialise; a failure would be a map with non-string keys, which no caller builds.
pub fn write<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    #[test]
    fn bytes_parse_like_text_and_invalid_utf8_is_an_error() {
        let parsed: Value = super::parse_bytes(br#"{"a":["\u00e9",1]}"#).unwrap();
        assert_eq!(parsed, json!({ "a": ["é", 1] }));
        assert!(super::parse_bytes::<Value>(b"\"\xff\"").is_err());
        assert!(super::parse::<Value>("{").is_err());
    }
}
