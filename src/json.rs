//! How the worker reads and writes JSON.
//!
//! - Reading: every document is parsed into a `serde_json::Value` by the one parser
//!   ([`parse`], `from_str`: most input is already a JS string, so UTF-8 is not checked twice),
//!   and objects of a known shape are read field by field through [`Fields`] and [`FromFields`].
//!   No `Deserialize` is derived in this crate: each derived deserialiser is compiled code of its
//!   own (a visitor per struct, per input type), and serde's error path for them links float
//!   printing the worker never uses. Without them the module is 16 KB gzip smaller.
//! - Writing: `serde_json::to_string` ([`write`]), one writer (`Value`'s `Display` would be a
//!   second, through `fmt`).
//!
//! `clippy.toml` refuses every other `serde_json` parse (`from_str`, `from_slice`, `from_reader`,
//! `from_value`) in this crate.

use serde::Serialize;
use serde_json::{Map, Value};

/// Parses `text` into a `Value`: the crate's one call of the parser (`clippy.toml` refuses
/// `serde_json::from_str` elsewhere in this crate, so no other type gets a deserialiser).
#[allow(clippy::disallowed_methods)]
pub fn parse(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str(text)
}

/// Parses bytes (a request body, a decoded token segment): UTF-8 is checked once, up front, as
/// RFC 8259 §8.1 requires of JSON text exchanged between systems.
pub fn parse_bytes(bytes: &[u8]) -> serde_json::Result<Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| <serde_json::Error as serde::de::Error>::custom("the text is not UTF-8"))?;
    parse(text)
}

/// Writes `value` as compact JSON. A `Value` or a struct with string keys cannot fail to
/// serialise; a failure would be a map with non-string keys, which no caller builds.
pub fn write<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The fields of one JSON object, read by type: for the documents whose shape the worker checks
/// itself (the identity provider's discovery document and token answers, the ID token header,
/// sealed cookies). A derived `Deserialize` compiles a deserialiser of its own for every struct;
/// these share the one `Value` parser. Absent and `null` read as absent; a field of another type
/// is an error naming it, as serde's would be.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Parses `text`, which must be one JSON object.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::from_value(parse(text).map_err(|e| e.to_string())?)
    }

    /// [`Fields::parse`] of bytes (checked as UTF-8 first).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, String> {
        Self::from_value(parse_bytes(bytes).map_err(|e| e.to_string())?)
    }

    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Fields(map)),
            _ => Err("not a JSON object".to_owned()),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key).filter(|value| !value.is_null())
    }

    /// A string field that may be absent.
    pub fn opt_string(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(format!("{key} is not a string")),
        }
    }

    /// A string field that must be there.
    pub fn string(&mut self, key: &str) -> Result<String, String> {
        self.opt_string(key)?
            .ok_or_else(|| format!("{key} is missing"))
    }

    /// A whole, non-negative number field that may be absent.
    pub fn opt_u64(&mut self, key: &str) -> Result<Option<u64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{key} is not a whole non-negative number")),
        }
    }

    /// A whole, non-negative number field that must be there.
    pub fn u64(&mut self, key: &str) -> Result<u64, String> {
        self.opt_u64(key)?
            .ok_or_else(|| format!("{key} is missing"))
    }

    /// A boolean field that may be absent.
    pub fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(flag)),
            Some(_) => Err(format!("{key} is not a boolean")),
        }
    }

    /// A nested object field that must be there.
    pub fn object(&mut self, key: &str) -> Result<Fields, String> {
        match self.take(key) {
            Some(Value::Object(map)) => Ok(Fields(map)),
            None => Err(format!("{key} is missing")),
            Some(_) => Err(format!("{key} is not an object")),
        }
    }

    /// An array-of-strings field that may be absent.
    pub fn opt_strings(&mut self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text),
                    _ => Err(format!("{key} holds something other than strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("{key} is not an array")),
        }
    }
}

/// A type read from a JSON object field by field (see [`Fields`]): the worker's own records
/// (grant props, sealed cookies, sign-in data) and the library's reports.
pub trait FromFields: Sized {
    fn from_fields(fields: &mut Fields) -> Result<Self, String>;

    /// Parses `text` as one JSON object of this type.
    fn from_json(text: &str) -> Result<Self, String> {
        Self::from_fields(&mut Fields::parse(text)?)
    }

    /// [`FromFields::from_json`] of bytes.
    fn from_json_bytes(bytes: &[u8]) -> Result<Self, String> {
        Self::from_fields(&mut Fields::parse_bytes(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn bytes_parse_like_text_and_invalid_utf8_is_an_error() {
        let parsed = super::parse_bytes(br#"{"a":["\u00e9",1]}"#).unwrap();
        assert_eq!(parsed, json!({ "a": ["é", 1] }));
        assert!(super::parse_bytes(b"\"\xff\"").is_err());
        assert!(super::parse("{").is_err());
    }

    #[test]
    fn fields_read_by_type_and_name_what_is_wrong() {
        let mut fields = super::Fields::parse(
            r#"{"s":"a","n":3,"b":true,"l":["x","y"],"null":null,"neg":-1,"mixed":["x",1]}"#,
        )
        .unwrap();
        assert_eq!(fields.string("s").unwrap(), "a");
        assert_eq!(fields.u64("n").unwrap(), 3);
        assert_eq!(fields.opt_bool("b").unwrap(), Some(true));
        assert_eq!(
            fields.opt_strings("l").unwrap(),
            Some(vec!["x".into(), "y".into()])
        );
        assert_eq!(fields.opt_string("null").unwrap(), None);
        assert_eq!(fields.opt_string("absent").unwrap(), None);
        assert_eq!(fields.string("absent").unwrap_err(), "absent is missing");
        assert!(fields.opt_u64("neg").is_err());
        assert!(fields.opt_strings("mixed").is_err());
        let mut wrong = super::Fields::parse(r#"{"s":1}"#).unwrap();
        assert_eq!(wrong.opt_string("s").unwrap_err(), "s is not a string");
        assert!(super::Fields::parse("[1]").is_err());
        assert!(super::Fields::parse_bytes(b"{\"a\":\"\xff\"}").is_err());
    }
}
