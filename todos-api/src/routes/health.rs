//! `GET /api/health`: public liveness check.

use worker::Response;

use crate::error::ApiError;
use crate::http;

/// `{"status":"ok"}`.
pub fn get() -> Result<Response, ApiError> {
    http::json(200, &serde_json::json!({ "status": "ok" }))
}
