//! `GET /api/billing` (`read:billing`): the caller's plan and invoices.

use crate::auth::jwt::VerifiedToken;
use crate::billing::billing_for;
use crate::error::ApiError;
use crate::http::{self, Response};

/// The billing summary of the token's subject.
pub fn get(token: &VerifiedToken) -> Result<Response, ApiError> {
    http::json(200, &billing_for(&token.subject))
}
