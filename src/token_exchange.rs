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
//! - The MCP access token never carries a scope the upstream grant no longer has. The provider may
//!   answer a refresh with a narrower `scope` (RFC 6749 §6, §5.1; Auth0 does when an administrator
//!   removed a permission from the user under RBAC); the grant's own scope cannot shrink, so every
//!   refresh grant from then on issues the narrower scope ([`narrowed_scope`]).

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
    /// The grant's scope: what the user approved, narrowed at the callback (never narrows later).
    pub scope: Vec<String>,
    /// The scope the library would give this token (`requestedScope`): what the client asked for
    /// at this grant (RFC 6749 §3.3, §6), already limited to the grant's scope. Empty when the
    /// library passed none, which leaves its default in place.
    pub requested_scope: Vec<String>,
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
    /// The access token's scope when it must be narrower than the library's default; the library
    /// takes it in place of its `requestedScope` (and limits it to the grant's scope again).
    #[serde(rename = "accessTokenScope", skip_serializing_if = "Option::is_none")]
    pub access_token_scope: Option<Vec<String>>,
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

/// The scope of the MCP access token a refresh grant issues, when it must be narrower than the
/// library's default; `None` leaves that default (`requested`) as it is.
///
/// `requested` is the library's `requestedScope`: what the client asked for at this grant, already
/// limited to the grant's scope. It is the starting point, never the grant's whole scope: the
/// library puts the answer in place of its own `requestedScope`, so starting from the grant would
/// widen a token the client asked to be narrower (RFC 6749 §6: the refreshed token's scope is at
/// most what the client requests now; §3.3: the server may issue less than requested).
///
/// From it, the API scopes the upstream grant no longer holds are removed, by the rule of the
/// callback (`scopes::granted`): the provider may answer a refresh with a narrower `scope`
/// (RFC 6749 §5.1, §6; Auth0 under RBAC once a permission was removed from the user), recorded in
/// `upstream.scope` of the props after any refresh of this call. So the token's scope, which the
/// MCP side checks per tool and reports (`ctx.auth.scope`), names only what the user may still do
/// (MCP 2025-11-25 security best practices, "Scope Minimization"), and a call needing a withdrawn
/// scope is refused by the MCP side, naming the permission the account no longer holds
/// (`UpstreamTokens::withheld`), rather than by the ToDos API. The grant's scope never narrows,
/// so this holds on every later refresh too, the ones that make no call to the provider included.
///
/// Only the refresh grant: at the code grant the grant's scope was narrowed at the callback by the
/// same rule from the same upstream answer, so nothing is left to remove. Removing everything
/// leaves an empty scope (a client that asked at this refresh only for withdrawn API scopes); that
/// token is issued, scopeless, rather than refused: refusing after an upstream refresh would drop
/// the provider's rotated refresh token.
pub fn narrowed_scope(
    grant_type: &str,
    requested: &[String],
    upstream: &UpstreamTokens,
) -> Option<Vec<String>> {
    if grant_type != "refresh_token" {
        return None;
    }
    let kept = crate::authorize::scopes::granted(
        requested,
        Some(&upstream.scope),
        upstream.refresh_token.is_some(),
    );
    // `granted` only filters `requested`: a shorter list means something was removed.
    (kept.len() < requested.len()).then_some(kept)
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
            // No provider call: the upstream scope is the one an earlier refresh recorded.
            let access_token_scope =
                narrowed_scope(&input.grant_type, &input.requested_scope, upstream);
            grant_event!(
                debug,
                input,
                event,
                "access_ttl" => access_ttl,
                "refresh_token" => !no_refresh_token,
                "token_scopes" => access_token_scope,
            );
            Ok(Outcome {
                access_token_ttl: Some(access_ttl),
                refresh_token_ttl: no_refresh_token.then_some(0),
                new_props: None,
                access_token_scope,
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
            // The scope the provider granted just now (RFC 6749 §6), kept in the new props.
            let access_token_scope =
                narrowed_scope(&input.grant_type, &input.requested_scope, &props.upstream);
            grant_event!(
                debug,
                input,
                "upstream.refreshed",
                "expires_in" => props.upstream.expires_at.saturating_sub(now),
                "rotated" => props.upstream.refresh_token != input.props.upstream.refresh_token,
                "rejected" => rejected,
            );
            grant_event!(
                debug,
                input,
                "token.refreshed",
                "access_ttl" => ttl,
                "token_scopes" => access_token_scope,
            );
            Ok(Outcome {
                new_props: Some(props),
                access_token_ttl: Some(ttl),
                refresh_token_ttl: None,
                access_token_scope,
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
            requested: vec![],
        }
    }

    /// The props of a grant whose upstream token (10 s left, with a refresh token) was just
    /// refreshed with the provider's answer `json`.
    fn refreshed(json: &str) -> GrantProps {
        refreshed_from(upstream(10, true), json)
    }

    /// The props of a grant with upstream tokens `before`, once refreshed with the answer `json`.
    fn refreshed_from(before: UpstreamTokens, json: &str) -> GrantProps {
        let props = GrantProps {
            user: Default::default(),
            upstream: before,
        };
        let response = crate::upstream::token::TokenResponse::from_json(json).unwrap();
        refreshed_props(&props, response, None, NOW)
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
        let next = refreshed(r#"{"access_token":"b","expires_in":18446744073709551615}"#);
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
        let next = refreshed(r#"{"access_token":"b","expires_in":120}"#);
        assert_eq!(next.upstream.access_token, "b");
        assert_eq!(next.upstream.refresh_token.as_deref(), Some("r"));
        assert_eq!(next.upstream.expires_at, NOW + 120);
        assert_eq!(
            refreshed(r#"{"access_token":"c","refresh_token":"r2"}"#)
                .upstream
                .refresh_token
                .as_deref(),
            Some("r2")
        );
    }

    #[test]
    fn a_narrower_refresh_answer_makes_the_dropped_scope_withheld() {
        let before = UpstreamTokens {
            scope: all(),
            requested: all(),
            ..upstream(10, true)
        };
        let next = refreshed_from(
            before,
            r#"{"access_token":"b","scope":"openid read:todos"}"#,
        );
        assert_eq!(
            next.upstream.requested,
            all(),
            "what sign-in asked for stays"
        );
        assert!(next.upstream.withheld("read:billing"));
        assert!(!next.upstream.withheld("read:todos"));
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
            access_token_scope: None,
        })
        .unwrap();
        assert_eq!(v, json!({"accessTokenTTL": 60, "refreshTokenTTL": 0}));
        let v = serde_json::to_value(Outcome {
            access_token_scope: Some(scopes(&["openid", "read:todos"])),
            ..Outcome::default()
        })
        .unwrap();
        assert_eq!(v, json!({"accessTokenScope": ["openid", "read:todos"]}));
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Upstream tokens whose recorded scope is `scope`, with a refresh token.
    fn upstream_scoped(scope: Vec<String>) -> UpstreamTokens {
        UpstreamTokens {
            scope,
            ..upstream(3000, true)
        }
    }

    /// The default catalogue, every scope granted.
    fn all() -> Vec<String> {
        crate::config::DEFAULT_SCOPE
            .split(' ')
            .map(str::to_owned)
            .collect()
    }

    /// The default catalogue once the provider withdrew `read:billing`.
    const WITHOUT_BILLING: &[&str] = &[
        "openid",
        "email",
        "profile",
        "offline_access",
        "read:todos",
        "write:todos",
    ];

    #[test]
    fn a_refresh_drops_the_api_scopes_the_provider_no_longer_grants() {
        let narrowed = upstream_scoped(scopes(WITHOUT_BILLING));
        assert_eq!(
            narrowed_scope("refresh_token", &all(), &narrowed),
            Some(scopes(WITHOUT_BILLING))
        );
    }

    #[test]
    fn nothing_removed_leaves_the_library_default() {
        assert_eq!(
            narrowed_scope("refresh_token", &all(), &upstream_scoped(all())),
            None
        );
        // A client that asked for less than the grant: still nothing to remove.
        let asked = scopes(&["openid", "read:todos"]);
        let narrowed = upstream_scoped(scopes(&["openid", "read:todos", "write:todos"]));
        assert_eq!(narrowed_scope("refresh_token", &asked, &narrowed), None);
    }

    #[test]
    fn the_narrowed_scope_starts_from_what_the_client_asked_for_never_the_grant() {
        // The grant holds everything; at this refresh the client asked for two scopes, and the
        // provider withdrew read:billing: the answer must not add what the client left out.
        let asked = scopes(&["openid", "read:billing"]);
        let narrowed = upstream_scoped(scopes(&["openid", "read:todos", "write:todos"]));
        assert_eq!(
            narrowed_scope("refresh_token", &asked, &narrowed),
            Some(scopes(&["openid"]))
        );
        // Everything asked for withdrawn: an empty scope, not the library's default.
        let asked = scopes(&["read:billing"]);
        assert_eq!(
            narrowed_scope("refresh_token", &asked, &narrowed),
            Some(vec![])
        );
    }

    #[test]
    fn openid_scopes_are_kept_though_the_provider_does_not_echo_them() {
        // The same rule as at the callback: OpenID Connect scopes stay, and offline_access stays
        // while the upstream refresh token does.
        let api_only = upstream_scoped(scopes(&["read:todos", "read:billing", "write:todos"]));
        assert_eq!(narrowed_scope("refresh_token", &all(), &api_only), None);
        let without_refresh_token = UpstreamTokens {
            refresh_token: None,
            ..upstream_scoped(all())
        };
        assert_eq!(
            narrowed_scope("refresh_token", &all(), &without_refresh_token),
            Some(scopes(&[
                "openid",
                "email",
                "profile",
                "read:todos",
                "read:billing",
                "write:todos"
            ]))
        );
    }

    #[test]
    fn the_code_grant_keeps_the_scope_the_callback_decided() {
        // The callback narrowed the grant by the same rule; nothing changes at the code grant.
        let narrowed = upstream_scoped(scopes(&["openid", "read:todos"]));
        for grant_type in [
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ] {
            assert_eq!(narrowed_scope(grant_type, &all(), &narrowed), None);
        }
    }

    #[test]
    fn a_narrowing_recorded_by_an_earlier_refresh_holds_on_a_refresh_without_the_provider() {
        // The refresh that narrowed records the provider's scope in the props; the next refresh
        // keeps that fresh upstream token (no provider call) and reads the scope from them.
        let next = refreshed(
            r#"{"access_token":"b","expires_in":3600,"scope":"openid read:todos write:todos"}"#,
        );
        assert!(keeps_upstream("refresh_token", &next.upstream, NOW + 60));
        assert_eq!(
            narrowed_scope("refresh_token", &all(), &next.upstream),
            Some(scopes(WITHOUT_BILLING))
        );
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
