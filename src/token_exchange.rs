//! `tokenExchangeCallback`: keeps the MCP tokens in step with the upstream ones.
//!
//! - The MCP access token lives as long as the upstream access token it stands for, within the
//!   library's bounds: never past the provider's default (1 h), never under KV's minimum (60 s).
//!   So it outlives the upstream token only when the provider itself issued one with under 60 s
//!   left (at a code grant, or an upstream refresh), and then by under 60 s: a refresh grant never
//!   issues a token for an upstream one it cannot renew and that has 60 s or less left (the grant
//!   ends). That overhang grants nothing the upstream token does not: every tool call presents the
//!   upstream token, and the ToDos API checks its `exp` itself (RFC 7519 §4.1.4, with 60 s of
//!   leeway for clock skew). Refusing such grants instead would fail sign-ins the user cannot
//!   remedy, since a provider issuing such tokens would issue them again.
//! - On the refresh grant, an upstream token near expiry is refreshed and the rotated refresh
//!   token kept (RFC 6749 §6; RFC 9700 §4.14.2: refresh tokens may rotate); so is one the ToDos API
//!   rejected (`upstream::rejection`), however fresh: the client refreshes on that 401 (RFC 6750
//!   §3.1), and a refresh that kept the token would get the same 401 again.
//! - Upstream `invalid_grant` ends the grant (the library revokes it with its tokens); an
//!   unreachable provider answers `temporarily_unavailable` so the client retries; never a 500.
//! - Without an upstream refresh token (the user did not approve `offline_access`) the MCP client
//!   gets no refresh token either (OIDC Core §11).

use serde::Serialize;
use serde_json::json;

use crate::grant::{GrantProps, UpstreamTokens};
use crate::log;

/// The provider's default access token lifetime (`accessTokenTTL`), the ceiling of any MCP token.
pub const ACCESS_TOKEN_TTL: u64 = 3600;
/// The library refuses shorter access-token lifetimes (KV's minimum expiration).
pub const MIN_ACCESS_TOKEN_TTL: u64 = 60;
/// On the refresh grant, an upstream token expiring within this many seconds is refreshed.
pub const REFRESH_MARGIN: u64 = 300;

/// What the callback was called with (read in `bindings::token_exchange_options`; the `env` is
/// taken apart there).
pub struct Input {
    pub grant_type: String,
    pub client_id: String,
    pub user_id: String,
    pub grant_id: String,
    pub scope: Vec<String>,
    pub props: GrantProps,
}

/// What the library should do, in its `TokenExchangeCallbackResult` shape.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    #[serde(rename = "newProps", skip_serializing_if = "Option::is_none")]
    pub new_props: Option<GrantProps>,
    #[serde(rename = "accessTokenTTL", skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u64>,
    #[serde(rename = "refreshTokenTTL", skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<u64>,
}

/// The callback's answer to `src/entry.mjs`: `{ "ok": outcome }` or `{ "error": refusal }`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok(Outcome),
    Error(Refusal),
}

/// An `OAuthError` for the JS side to throw (RFC 6749 §5.2 codes).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub code: &'static str,
    pub description: &'static str,
    pub status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<serde_json::Value>,
}

impl Refusal {
    /// The grant can never work again: the library revokes it.
    pub fn end_grant(description: &'static str) -> Self {
        Refusal {
            code: "invalid_grant",
            description,
            status_code: 400,
            headers: None,
        }
    }

    /// The provider is down or misbehaving: keep the grant, retry later.
    pub fn unavailable() -> Self {
        Refusal {
            code: "temporarily_unavailable",
            description: "The identity provider is unavailable; try again later",
            status_code: 503,
            headers: Some(json!({ "Retry-After": "30" })),
        }
    }
}

/// The decision before any network call.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Issue the MCP token now, with these lifetimes.
    Issue {
        access_ttl: u64,
        no_refresh_token: bool,
    },
    /// Refresh the upstream token first.
    RefreshUpstream,
    /// The grant is over.
    End(&'static str),
    /// Another grant type: leave the library's defaults.
    Default,
}

/// The MCP access token lifetime for an upstream token expiring at `expires_at`: what it has left,
/// within the library's bounds (see the module's notes on the 60 s minimum).
pub fn access_ttl(expires_at: u64, now: u64) -> u64 {
    expires_at
        .saturating_sub(now)
        .clamp(MIN_ACCESS_TOKEN_TTL, ACCESS_TOKEN_TTL)
}

/// Whether `grant_type` would keep the grant's upstream access token as it is at `now`: a refresh
/// grant does while the token is fresh (no provider round trip) or, with no refresh token to renew
/// it, while it outlasts KV's minimum lifetime. Only then can a recorded rejection change the
/// outcome, so only then is the record read (one KV read).
pub fn keeps_upstream(grant_type: &str, upstream: &UpstreamTokens, now: u64) -> bool {
    let remaining = upstream.expires_at.saturating_sub(now);
    grant_type == "refresh_token"
        && (remaining > REFRESH_MARGIN
            || (upstream.refresh_token.is_none() && remaining > MIN_ACCESS_TOKEN_TTL))
}

/// Decides what to do for `grant_type` with the grant's upstream tokens at `now`; `rejected` says
/// whether the ToDos API rejected the upstream access token (read only when [`keeps_upstream`]).
pub fn plan(grant_type: &str, upstream: &UpstreamTokens, now: u64, rejected: bool) -> Plan {
    match grant_type {
        "authorization_code" => Plan::Issue {
            access_ttl: access_ttl(upstream.expires_at, now),
            no_refresh_token: upstream.refresh_token.is_none(),
        },
        "refresh_token" if keeps_upstream(grant_type, upstream, now) && !rejected => Plan::Issue {
            access_ttl: access_ttl(upstream.expires_at, now),
            no_refresh_token: false,
        },
        "refresh_token" if upstream.refresh_token.is_some() => Plan::RefreshUpstream,
        // Nothing to renew it with: the grant ends (RFC 6749 §5.2 `invalid_grant`; the library
        // revokes it), and the client signs in again.
        "refresh_token" if rejected => {
            Plan::End("The ToDos API rejected the upstream access, which cannot be refreshed")
        }
        "refresh_token" => Plan::End("The upstream access has expired and cannot be refreshed"),
        _ => Plan::Default,
    }
}

/// Applies a successful upstream refresh to the grant's props: new access token and expiry, the
/// rotated refresh token if one came (else the old one stays valid), a new ID token if one came.
pub fn refreshed_props(
    props: &GrantProps,
    response: crate::upstream::token::TokenResponse,
    user: Option<crate::grant::UserClaims>,
    now: u64,
) -> GrantProps {
    let mut next = props.clone();
    next.upstream.expires_at = response.expires_at(now);
    next.upstream.access_token = response.access_token;
    if let Some(refresh_token) = response.refresh_token {
        next.upstream.refresh_token = Some(refresh_token);
    }
    if let Some(id_token) = response.id_token {
        next.upstream.id_token = Some(id_token);
    }
    if let Some(scope) = response.scope {
        next.upstream.scope = crate::upstream::split_scope(&scope);
    }
    if let Some(user) = user {
        next.user = user;
    }
    next
}

/// One event about the grant being exchanged: its ids and scopes, then the event's own fields.
macro_rules! grant_event {
    ($level:ident, $input:expr, $name:expr $(, $key:literal => $value:expr)* $(,)?) => {
        log::$level!(
            $name,
            "client_id" => $input.client_id,
            "user" => $input.user_id,
            "grant" => $input.grant_id,
            "scopes" => $input.scope
            $(, $key => $value)*
        )
    };
}

/// Runs the callback: plans, refreshes upstream when needed, and returns the library's result or
/// the OAuth error to throw.
pub async fn run(
    input: Input,
    config: &crate::config::Config,
    env: &worker::Env,
) -> Result<Outcome, Refusal> {
    use crate::upstream::client::{Upstream, UpstreamError};
    use crate::upstream::token::TokenOutcome;

    let now = crate::bindings::now_seconds();
    let upstream = &input.props.upstream;
    // Concurrent refreshes of one grant are serialised (`key_lock`): the one after a renewal sees
    // the new token, which no record names, and keeps it.
    let rejected = keeps_upstream(&input.grant_type, upstream, now)
        && crate::upstream::rejection::is_recorded(env, &upstream.access_token).await;
    match plan(&input.grant_type, upstream, now, rejected) {
        Plan::Default => Ok(Outcome::default()),
        Plan::Issue {
            access_ttl,
            no_refresh_token,
        } => {
            let event = if input.grant_type == "authorization_code" {
                "token.issued"
            } else {
                "token.refreshed"
            };
            grant_event!(
                debug,
                input,
                event,
                "access_ttl" => access_ttl,
                "refresh_token" => !no_refresh_token,
            );
            Ok(Outcome {
                access_token_ttl: Some(access_ttl),
                refresh_token_ttl: no_refresh_token.then_some(0),
                new_props: None,
            })
        }
        Plan::End(description) => {
            grant_event!(debug, input, "grant.ended", "reason" => description);
            Err(Refusal::end_grant(description))
        }
        Plan::RefreshUpstream => {
            let idp = Upstream::new(config);
            let Some(refresh_token) = input.props.upstream.refresh_token.as_deref() else {
                return Err(Refusal::end_grant(
                    "The upstream access cannot be refreshed",
                ));
            };
            let response = match idp.refresh(refresh_token).await {
                Ok(TokenOutcome::Issued(response)) => response,
                Ok(TokenOutcome::Refused(refusal)) if refusal.error == "invalid_grant" => {
                    // RFC 6749 §5.2: the upstream grant is invalid, expired or revoked, for good.
                    grant_event!(debug, input, "grant.ended", "reason" => "upstream invalid_grant");
                    return Err(Refusal::end_grant(
                        "The identity provider no longer accepts this sign-in",
                    ));
                }
                Ok(TokenOutcome::Refused(refusal)) => {
                    grant_event!(
                        error,
                        input,
                        "upstream.refresh_refused",
                        "error" => refusal.error,
                    );
                    return Err(Refusal::unavailable());
                }
                Ok(TokenOutcome::Failed(cause))
                | Err(UpstreamError::Unavailable(cause) | UpstreamError::Invalid(cause)) => {
                    grant_event!(warning, input, "upstream.refresh_failed", "cause" => cause);
                    return Err(Refusal::unavailable());
                }
            };
            // A refreshed ID token must keep the issuer, audience and subject (OIDC Core §12.2).
            let user = match response.id_token.as_deref() {
                None => None,
                Some(id_token) => match idp
                    .verify_id_token(id_token, None, Some(&input.props.user.sub))
                    .await
                {
                    Ok(user) => Some(user),
                    Err(UpstreamError::Unavailable(cause)) => {
                        grant_event!(warning, input, "upstream.refresh_failed", "cause" => cause);
                        return Err(Refusal::unavailable());
                    }
                    Err(UpstreamError::Invalid(cause)) => {
                        grant_event!(warning, input, "grant.ended", "reason" => cause);
                        return Err(Refusal::end_grant(
                            "The identity provider's refreshed sign-in could not be verified",
                        ));
                    }
                },
            };
            let props = refreshed_props(&input.props, response, user, now);
            let ttl = access_ttl(props.upstream.expires_at, now);
            grant_event!(
                debug,
                input,
                "upstream.refreshed",
                "expires_in" => props.upstream.expires_at.saturating_sub(now),
                "rotated" => props.upstream.refresh_token != input.props.upstream.refresh_token,
                "rejected" => rejected,
            );
            grant_event!(debug, input, "token.refreshed", "access_ttl" => ttl);
            Ok(Outcome {
                new_props: Some(props),
                access_token_ttl: Some(ttl),
                refresh_token_ttl: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::FromFields;

    const NOW: u64 = 1_800_000_000;

    fn upstream(expires_in: i64, refresh: bool) -> UpstreamTokens {
        UpstreamTokens {
            access_token: "a".into(),
            refresh_token: refresh.then(|| "r".into()),
            id_token: None,
            expires_at: (NOW as i64 + expires_in) as u64,
            scope: vec![],
        }
    }

    #[test]
    fn code_grant_token_lives_as_long_as_upstream_within_the_library_bounds() {
        assert_eq!(
            plan("authorization_code", &upstream(600, true), NOW, false),
            Plan::Issue {
                access_ttl: 600,
                no_refresh_token: false
            }
        );
        assert_eq!(
            plan("authorization_code", &upstream(86_400, true), NOW, false),
            Plan::Issue {
                access_ttl: ACCESS_TOKEN_TTL,
                no_refresh_token: false
            }
        );
        // KV's minimum: the provider issued a token with less left; the ToDos API judges it.
        assert_eq!(
            plan("authorization_code", &upstream(10, true), NOW, false),
            Plan::Issue {
                access_ttl: MIN_ACCESS_TOKEN_TTL,
                no_refresh_token: false
            }
        );
    }

    #[test]
    fn no_upstream_refresh_token_means_no_mcp_refresh_token() {
        assert_eq!(
            plan("authorization_code", &upstream(600, false), NOW, false),
            Plan::Issue {
                access_ttl: 600,
                no_refresh_token: true
            }
        );
    }

    #[test]
    fn refresh_grant_refreshes_upstream_only_near_expiry() {
        assert_eq!(
            plan("refresh_token", &upstream(3000, true), NOW, false),
            Plan::Issue {
                access_ttl: 3000,
                no_refresh_token: false
            }
        );
        assert_eq!(
            plan("refresh_token", &upstream(100, true), NOW, false),
            Plan::RefreshUpstream
        );
        assert_eq!(
            plan("refresh_token", &upstream(-100, true), NOW, false),
            Plan::RefreshUpstream
        );
    }

    #[test]
    fn expired_upstream_without_refresh_token_ends_the_grant() {
        assert!(matches!(
            plan("refresh_token", &upstream(-5, false), NOW, false),
            Plan::End(_)
        ));
        assert_eq!(
            plan("refresh_token", &upstream(200, false), NOW, false),
            Plan::Issue {
                access_ttl: 200,
                no_refresh_token: false
            }
        );
    }

    #[test]
    fn a_rejected_upstream_token_is_refreshed_however_fresh() {
        assert_eq!(
            plan("refresh_token", &upstream(3000, true), NOW, true),
            Plan::RefreshUpstream
        );
        assert_eq!(
            plan("refresh_token", &upstream(100, true), NOW, true),
            Plan::RefreshUpstream
        );
    }

    #[test]
    fn a_rejected_upstream_token_that_cannot_be_refreshed_ends_the_grant() {
        assert!(matches!(
            plan("refresh_token", &upstream(3000, false), NOW, true),
            Plan::End(_)
        ));
        assert!(matches!(
            plan("refresh_token", &upstream(200, false), NOW, true),
            Plan::End(_)
        ));
    }

    #[test]
    fn a_rejection_is_read_only_where_it_changes_the_plan() {
        for (grant_type, expires_in, refresh) in [
            ("refresh_token", 3000, true),
            ("refresh_token", 301, true),
            ("refresh_token", 300, true),
            ("refresh_token", 3000, false),
            ("refresh_token", 200, false),
            ("refresh_token", 60, false),
            ("refresh_token", -5, true),
            ("authorization_code", 3000, true),
            ("authorization_code", 3000, false),
            (
                "urn:ietf:params:oauth:grant-type:token-exchange",
                3000,
                true,
            ),
        ] {
            let tokens = upstream(expires_in, refresh);
            let changes = std::mem::discriminant(&plan(grant_type, &tokens, NOW, false))
                != std::mem::discriminant(&plan(grant_type, &tokens, NOW, true));
            assert_eq!(
                keeps_upstream(grant_type, &tokens, NOW),
                changes,
                "{grant_type}, {expires_in} s left, refresh token {refresh}"
            );
        }
        // The optimisation stays: a fresh token with no rejection is kept, without the provider.
        assert!(keeps_upstream("refresh_token", &upstream(3000, true), NOW));
        assert!(!keeps_upstream("refresh_token", &upstream(300, true), NOW));
    }

    #[test]
    fn a_refreshed_expiry_saturates_instead_of_wrapping() {
        let props = GrantProps {
            user: Default::default(),
            upstream: upstream(10, true),
        };
        let response = crate::upstream::token::TokenResponse::from_json(
            r#"{"access_token":"b","expires_in":18446744073709551615}"#,
        )
        .unwrap();
        let next = refreshed_props(&props, response, None, NOW);
        assert!(next.upstream.expires_at > NOW);
        assert_eq!(access_ttl(next.upstream.expires_at, NOW), ACCESS_TOKEN_TTL);
    }

    #[test]
    fn other_grant_types_keep_defaults() {
        assert_eq!(
            plan(
                "urn:ietf:params:oauth:grant-type:token-exchange",
                &upstream(600, true),
                NOW,
                false
            ),
            Plan::Default
        );
    }

    #[test]
    fn refresh_keeps_old_refresh_token_unless_rotated() {
        let props = GrantProps {
            user: Default::default(),
            upstream: upstream(10, true),
        };
        let response = crate::upstream::token::TokenResponse::from_json(
            r#"{"access_token":"b","expires_in":120}"#,
        )
        .unwrap();
        let next = refreshed_props(&props, response, None, NOW);
        assert_eq!(next.upstream.access_token, "b");
        assert_eq!(next.upstream.refresh_token.as_deref(), Some("r"));
        assert_eq!(next.upstream.expires_at, NOW + 120);
        let response = crate::upstream::token::TokenResponse::from_json(
            r#"{"access_token":"c","refresh_token":"r2"}"#,
        )
        .unwrap();
        assert_eq!(
            refreshed_props(&props, response, None, NOW)
                .upstream
                .refresh_token
                .as_deref(),
            Some("r2")
        );
    }

    #[test]
    fn refusals_have_the_library_shape() {
        let v = serde_json::to_value(Refusal::unavailable()).unwrap();
        assert_eq!(v["code"], "temporarily_unavailable");
        assert_eq!(v["statusCode"], 503);
        let v = serde_json::to_value(Outcome {
            access_token_ttl: Some(60),
            refresh_token_ttl: Some(0),
            new_props: None,
        })
        .unwrap();
        assert_eq!(v, json!({"accessTokenTTL": 60, "refreshTokenTTL": 0}));
    }

    #[test]
    fn verdicts_are_the_shape_entry_mjs_reads() {
        let ok = serde_json::to_value(Verdict::Ok(Outcome {
            access_token_ttl: Some(600),
            ..Outcome::default()
        }))
        .unwrap();
        assert_eq!(ok, json!({"ok": {"accessTokenTTL": 600}}));
        let error = serde_json::to_value(Verdict::Error(Refusal::end_grant("gone"))).unwrap();
        assert_eq!(error["error"]["code"], "invalid_grant");
        assert_eq!(error["error"]["statusCode"], 400);
    }
}
