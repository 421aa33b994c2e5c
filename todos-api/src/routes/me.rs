//! `GET /api/me`: the claims of the caller's access token.

use crate::auth::jwt::VerifiedToken;
use crate::error::ApiError;
use crate::http::{self, Response};

/// The verified token's claims, as issued.
pub fn get(token: &VerifiedToken) -> Result<Response, ApiError> {
    let claims = token
        .claims_json()
        .map_err(|err| ApiError::Internal(format!("the claims do not serialize: {err}")))?;
    http::json(200, &claims)
}
