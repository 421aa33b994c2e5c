//! `GET /api/health`: public liveness check.

use serde::Serialize;

use crate::error::ApiError;
use crate::http::{self, Response};

/// The health answer's body.
#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// `{"status":"ok"}`.
pub fn get() -> Result<Response, ApiError> {
    http::json(200, &Health { status: "ok" })
}
