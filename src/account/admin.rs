//! The operator's helper API: list and revoke any user's grants without the user.
//!
//! - `GET /admin/users/{userId}/grants` → `200 {"user_id", "grants": [...]}`
//! - `DELETE /admin/users/{userId}/grants/{grantId}` → `204`, or `404` when the user has no such
//!   grant.
//!
//! `{userId}` is the grant user id (the upstream `sub` with `%` and `:` percent-encoded, as
//! [`crate::upstream::user_id_for_subject`] makes it), percent-encoded once more as a path
//! segment. Each request carries `Authorization: Bearer <ADMIN_TOKEN>` (RFC 6750 §2.1); the
//! token is compared through SHA-256 digests in constant time. Without the `ADMIN_TOKEN` secret
//! the API does not exist (404), so a deployment that never sets it exposes nothing.
//! `scripts/admin.mjs` is its command-line client.

use serde_json::json;
use worker::{Env, Method, Request, Response};

use super::grants::{self, Revoked};
use super::session::constant_time_eq;
use crate::bindings::{self, OAuthApi};
use crate::error::AppError;
use crate::log;

/// Every admin route starts with this.
pub const PREFIX: &str = "/admin/";
/// The secret that enables the API.
pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
/// The shortest token accepted: a shorter one leaves the API disabled (and says so in the log).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// What an admin request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminRoute {
    ListGrants { user_id: String },
    RevokeGrant { user_id: String, grant_id: String },
}

/// Percent-decodes one path segment (RFC 3986 §2.1); `None` if malformed or not UTF-8.
pub fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses an admin route; `None` is a 404.
pub fn parse_route(method: &Method, path: &str) -> Option<AdminRoute> {
    let rest = path.strip_prefix("/admin/users/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let user_id = decode_segment(parts.first()?).filter(|u| !u.is_empty())?;
    match (method, parts.as_slice()) {
        (Method::Get, [_, "grants"]) => Some(AdminRoute::ListGrants { user_id }),
        (Method::Delete, [_, "grants", grant]) => Some(AdminRoute::RevokeGrant {
            user_id,
            grant_id: decode_segment(grant).filter(|g| !g.is_empty())?,
        }),
        _ => None,
    }
}

/// The bearer token of an `Authorization` header (RFC 6750 §2.1; the scheme is
/// case-insensitive, RFC 9110 §11.1).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The configured admin token, if the API is enabled.
pub fn configured_token(raw: Option<String>) -> Result<Option<String>, &'static str> {
    match raw.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(token) if token.chars().count() < MIN_ADMIN_TOKEN_CHARS => {
            Err("is shorter than 32 characters: the admin API stays disabled")
        }
        Some(token) => Ok(Some(token)),
    }
}

fn json_response(status: u16, body: &serde_json::Value) -> Result<Response, AppError> {
    let response = Response::from_json(body)?.with_status(status);
    response.headers().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// Serves `/admin/…`.
pub async fn serve(req: Request, env: &Env) -> Result<Response, AppError> {
    let raw = env.var(ADMIN_TOKEN).ok().map(|v| v.to_string());
    let expected = match configured_token(raw) {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(Response::error("Not Found", 404)?),
        Err(problem) => {
            log::error!("config.invalid", "setting" => ADMIN_TOKEN, "problem" => problem);
            return Ok(Response::error("Not Found", 404)?);
        }
    };
    let header = req.headers().get("Authorization")?;
    let given = bearer(header.as_deref()).unwrap_or_default();
    // Digests first: equal lengths, so the comparison time reveals nothing about the token.
    let (want, got) = (
        bindings::sha256(expected.as_bytes())
            .await
            .map_err(AppError::Internal)?,
        bindings::sha256(given.as_bytes())
            .await
            .map_err(AppError::Internal)?,
    );
    if given.is_empty() || !constant_time_eq(&want, &got) {
        log::warning!(
            "admin.refused",
            "path" => crate::request_path(&req),
            "token_sent" => !given.is_empty(),
        );
        let response = json_response(401, &json!({ "error": "unauthorized" }))?;
        response
            .headers()
            .set("WWW-Authenticate", "Bearer realm=\"admin\"")?;
        return Ok(response);
    }
    let Some(route) = parse_route(&req.method(), &crate::request_path(&req)) else {
        return json_response(404, &json!({ "error": "not_found" }));
    };
    let api = OAuthApi::from_env(env)?;
    match route {
        AdminRoute::ListGrants { user_id } => {
            let list = grants::list(&api, env, &user_id).await?;
            log::debug!("admin.grants_listed", "user" => user_id, "grants" => list.len());
            json_response(200, &json!({ "user_id": user_id, "grants": list }))
        }
        AdminRoute::RevokeGrant { user_id, grant_id } => {
            match grants::revoke(&api, env, &user_id, &grant_id).await? {
                Revoked::Done { client_id } => {
                    log::warning!(
                        "admin.grant_revoked",
                        "user" => user_id,
                        "grant" => grant_id,
                        "client_id" => client_id,
                    );
                    Ok(Response::empty()?.with_status(204))
                }
                Revoked::NotFound => json_response(404, &json!({ "error": "not_found" })),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_parsed_and_user_ids_decoded() {
        assert_eq!(
            parse_route(&Method::Get, "/admin/users/auth0%7Calice/grants"),
            Some(AdminRoute::ListGrants {
                user_id: "auth0|alice".into()
            })
        );
        assert_eq!(
            parse_route(&Method::Delete, "/admin/users/urn%253Ax/grants/g1"),
            Some(AdminRoute::RevokeGrant {
                user_id: "urn%3Ax".into(),
                grant_id: "g1".into()
            })
        );
        assert_eq!(parse_route(&Method::Delete, "/admin/users/a/grants"), None);
        assert_eq!(parse_route(&Method::Get, "/admin/users/a/grants/g1"), None);
        assert_eq!(parse_route(&Method::Get, "/admin/users//grants"), None);
        assert_eq!(parse_route(&Method::Post, "/admin/users/a/grants"), None);
        assert_eq!(parse_route(&Method::Get, "/admin/other"), None);
    }

    #[test]
    fn malformed_percent_encoding_is_refused() {
        assert_eq!(decode_segment("a%2"), None);
        assert_eq!(decode_segment("a%zz"), None);
        assert_eq!(decode_segment("%FF"), None);
        assert_eq!(decode_segment("a|b").as_deref(), Some("a|b"));
    }

    #[test]
    fn bearer_token_is_read_from_the_header() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn admin_token_must_be_set_and_long_enough() {
        assert_eq!(configured_token(None), Ok(None));
        assert_eq!(configured_token(Some(String::new())), Ok(None));
        assert!(configured_token(Some("short".into())).is_err());
        let long = "x".repeat(32);
        assert_eq!(configured_token(Some(long.clone())), Ok(Some(long)));
    }
}
