//! Turning results into `worker::Response`s, and reading request bodies. Every answer is JSON
//! (or empty) and carries `Cache-Control: no-store`: it is one user's data.

use serde::Serialize;
use worker::{Headers, Request, Response};

use crate::body::{self, BodyError};
use crate::error::ApiError;

/// A JSON answer.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let text = serde_json::to_string(value)
        .map_err(|err| ApiError::Internal(format!("response does not serialize: {err}")))?;
    let headers = Headers::new();
    set(&headers, "Content-Type", "application/json")?;
    set(&headers, "Cache-Control", "no-store")?;
    Ok(Response::ok(text)
        .map_err(internal)?
        .with_status(status)
        .with_headers(headers))
}

/// `204 No Content`.
pub fn no_content() -> Result<Response, ApiError> {
    let headers = Headers::new();
    set(&headers, "Cache-Control", "no-store")?;
    Ok(Response::empty()
        .map_err(internal)?
        .with_status(204)
        .with_headers(headers))
}

/// The answer for an error; falls back to a bare status if even that cannot be built.
pub fn error(error: &ApiError) -> Response {
    let answer = error.answer();
    let built = json(answer.status, &answer.body).and_then(|response| {
        for (name, value) in &answer.headers {
            set(response.headers(), name, value)?;
        }
        Ok(response)
    });
    built.unwrap_or_else(|_| {
        Response::empty()
            .map(|response| response.with_status(answer.status))
            .unwrap_or_else(|_| Response::from(worker::web_sys::Response::error()))
    })
}

/// Reads a JSON request body: media type first (415), then size (413), then the bytes.
pub async fn read_json_body(request: &mut Request) -> Result<Vec<u8>, ApiError> {
    let headers = request.headers();
    let content_type = headers.get("Content-Type").map_err(internal)?;
    body::check_content_type(content_type.as_deref())?;
    let content_length = headers.get("Content-Length").map_err(internal)?;
    body::check_declared_length(content_length.as_deref())?;
    let bytes = request
        .bytes()
        .await
        .map_err(|err| BodyError::Invalid(format!("the body could not be read: {err}")))?;
    if bytes.len() > body::MAX_BODY_BYTES {
        return Err(BodyError::TooLarge.into());
    }
    Ok(bytes)
}

fn set(headers: &Headers, name: &str, value: &str) -> Result<(), ApiError> {
    headers.set(name, value).map_err(internal)
}

fn internal(error: worker::Error) -> ApiError {
    ApiError::Internal(error.to_string())
}
