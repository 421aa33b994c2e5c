//! Answers as plain data, and reading request bodies. Every answer is JSON (or empty) and carries
//! `Cache-Control: no-store`: it is one user's data. `runtime` turns a [`Response`] into the
//! runtime's `Response` object, so everything up to that point is host-testable.

use std::borrow::Cow;

use serde::Serialize;

use crate::body::{self, BodyError};
use crate::error::ApiError;
use crate::runtime;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Header names and values, in the order they are set. Constant values are borrowed, which
    /// lets `runtime` reuse what it built for the same status and headers before.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// The body; `None` for none at all.
    pub body: Option<String>,
}

/// A JSON answer.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let text = serde_json::to_string(value)
        .map_err(|err| ApiError::Internal(format!("response does not serialize: {err}")))?;
    Ok(Response {
        status,
        headers: vec![
            ("Content-Type", Cow::Borrowed("application/json")),
            ("Cache-Control", Cow::Borrowed("no-store")),
        ],
        body: Some(text),
    })
}

/// `204 No Content`.
pub fn no_content() -> Response {
    Response {
        status: 204,
        headers: vec![("Cache-Control", Cow::Borrowed("no-store"))],
        body: None,
    }
}

/// The answer for an error; a bare status if even its body cannot be written.
pub fn error(error: &ApiError) -> Response {
    let answer = error.answer();
    match json(answer.status, &answer.body) {
        Ok(mut response) => {
            let extra = answer.headers.into_iter();
            response
                .headers
                .extend(extra.map(|(name, value)| (name, Cow::Owned(value))));
            response
        }
        Err(_) => Response {
            status: answer.status,
            headers: Vec::new(),
            body: None,
        },
    }
}

/// Reads a JSON request body: media type first (415), then size (413: by `Content-Length`
/// before reading, then by what arrives, so a chunked body stops at the limit), then the bytes.
pub async fn read_json_body(request: &runtime::Request) -> Result<Vec<u8>, ApiError> {
    let content_type = request.header("Content-Type").map_err(ApiError::Internal)?;
    body::check_content_type(content_type.as_deref())?;
    let content_length = request
        .header("Content-Length")
        .map_err(ApiError::Internal)?;
    body::check_declared_length(content_length.as_deref())?;
    request
        .bytes_within(body::MAX_BODY_BYTES)
        .await
        .map_err(|err| BodyError::Invalid(format!("the body could not be read: {err}")))?
        .ok_or_else(|| BodyError::TooLarge.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_answers_are_not_cached() {
        let response = json(201, &serde_json::json!({"a": 1})).expect("serializes");
        assert_eq!(response.status, 201);
        assert_eq!(response.body.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(
            response.headers,
            [
                ("Content-Type", Cow::Borrowed("application/json")),
                ("Cache-Control", Cow::Borrowed("no-store"))
            ]
        );
    }

    #[test]
    fn error_answers_add_their_headers_after_the_json_ones() {
        let response = error(&ApiError::MethodNotAllowed {
            allow: "GET, HEAD".to_owned(),
        });
        assert_eq!(response.status, 405);
        assert_eq!(
            response.headers.last(),
            Some(&("Allow", Cow::Owned("GET, HEAD".to_owned())))
        );
        assert_eq!(
            response.body.as_deref(),
            Some(
                r#"{"error":"method_not_allowed","error_description":"this resource allows GET, HEAD"}"#
            )
        );
    }

    #[test]
    fn no_content_has_no_body() {
        let response = no_content();
        assert_eq!((response.status, response.body), (204, None));
    }
}
