//! Request bodies: media type, size, and JSON decoding, checked before any handler sees them.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The largest request body accepted (16 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not `application/json` (HTTP 415, RFC 9110 §15.5.16).
    UnsupportedMediaType,
    /// Larger than [`MAX_BODY_BYTES`] (HTTP 413, RFC 9110 §15.5.14).
    TooLarge,
    /// Not JSON, or not the expected shape (HTTP 400).
    Invalid(String),
}

/// Accepts `application/json`, optionally with `charset=utf-8` (RFC 8259 §8.1: JSON exchanged
/// between systems is UTF-8). Media types are case-insensitive (RFC 9110 §8.3.1).
pub fn check_content_type(content_type: Option<&str>) -> Result<(), BodyError> {
    let Some(value) = content_type else {
        return Err(BodyError::UnsupportedMediaType);
    };
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(BodyError::UnsupportedMediaType);
    }
    for parameter in parts.filter(|p| !p.is_empty()) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(BodyError::UnsupportedMediaType);
        }
    }
    Ok(())
}

/// Refuses a body whose declared `Content-Length` is already too large, before reading it.
pub fn check_declared_length(content_length: Option<&str>) -> Result<(), BodyError> {
    match content_length.map(|value| value.trim().parse::<u64>()) {
        Some(Ok(length)) if length > MAX_BODY_BYTES as u64 => Err(BodyError::TooLarge),
        _ => Ok(()),
    }
}

/// Decodes a body that was read in full; it must be a JSON object (serde would otherwise also
/// accept an array for a struct).
pub fn decode_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    // UTF-8 checked once, then `from_str`: the crate's one JSON reader (see clippy.toml).
    let text = std::str::from_utf8(bytes).map_err(|_| {
        BodyError::Invalid("the body is not valid JSON: it is not UTF-8".to_owned())
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|err| BodyError::Invalid(format!("the body is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(BodyError::Invalid(
            "the body must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value).map_err(|err| BodyError::Invalid(format!("invalid body: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_accepted() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert_eq!(check_content_type(Some(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_media_types_are_unsupported() {
        for bad in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/jsonx"),
            Some("application/json; charset=latin1"),
        ] {
            assert_eq!(
                check_content_type(bad),
                Err(BodyError::UnsupportedMediaType),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn declared_and_actual_sizes_are_bounded() {
        assert_eq!(check_declared_length(Some("16384")), Ok(()));
        assert_eq!(
            check_declared_length(Some("16385")),
            Err(BodyError::TooLarge)
        );
        assert_eq!(check_declared_length(None), Ok(()));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            decode_object::<serde_json::Value>(&big),
            Err(BodyError::TooLarge)
        );
    }

    #[test]
    fn malformed_json_is_invalid() {
        for body in [&b"{nope"[..], b"[]", b"\"text\"", b""] {
            assert!(matches!(
                decode_object::<serde_json::Value>(body),
                Err(BodyError::Invalid(_))
            ));
        }
    }
}
