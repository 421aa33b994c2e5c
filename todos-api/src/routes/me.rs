//! `GET /api/me`: the claims of the caller's access token.

use crate::auth::jwt::VerifiedToken;
use crate::error::ApiError;
use crate::http::{self, Response};

/// The verified token's claims, as issued.
pub fn get(token: &VerifiedToken) -> Result<Response, ApiError> {
    http::json(200, &token.claims)
}
