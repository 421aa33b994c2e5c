//! `GET /callback`: the identity provider sends the browser back here.
//!
//! `finishUpstream` checks the single-use `state` and its browser-binding cookie (MCP security
//! best practices, confused deputy: state bound to the user's browser; RFC 9700 §4.7 CSRF), then
//! the code is exchanged with the PKCE verifier, the ID token verified, and the grant completed.

use serde_json::json;
use worker::{Env, Request, Response};

use super::client::{Upstream, UpstreamError};
use super::token::TokenOutcome;
use super::{SignIn, split_scope, user_id_for_subject};
use crate::authorize::{pkce::error_redirect, scopes};
use crate::bindings::{self, AuthRequest, HelperError, OAuthApi};
use crate::config::Config;
use crate::error::{self, AppError};
use crate::grant::{GrantProps, UpstreamTokens};
use crate::log;
use crate::web_url::WebUrl;

fn back_to_client(
    auth: &AuthRequest,
    code: &str,
    description: &str,
    headers: worker::Headers,
) -> Result<Response, AppError> {
    let location = error_redirect(
        &auth.redirect_uri,
        code,
        description,
        auth.state.as_deref(),
        auth.issuer.as_deref(),
    );
    Ok(error::redirect(&location, headers)?)
}

/// Handles the return from the identity provider.
pub async fn handle(req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let api = OAuthApi::from_env(env)?;
    // One callback per `state` at a time, so its single use holds under concurrency (`key_lock`).
    let url = WebUrl::parse(&req.inner().url());
    let param = |name: &str| url.as_ref().and_then(|url| url.query_param(name));
    let state = param("state");
    let _held = match state {
        Some(state) => Some(crate::key_lock::lock(format!("state:{state}")).await),
        None => None,
    };
    let (auth, sign_in, headers) = match api.finish_upstream::<SignIn>(&req).await {
        Ok(resumed) => resumed,
        Err(HelperError::Authorization { description, .. }) => {
            // Unknown, replayed or expired state, or a browser without the binding cookie.
            log::warning!("callback.refused", "reason" => description);
            return Err(AppError::Page {
                status: 400,
                title: "This sign-in link has expired",
                message: "It was already used, is more than ten minutes old, or was opened in another browser.".into(),
            });
        }
        Err(other) => return Err(other.into()),
    };
    let idp = Upstream::new(config);

    // The provider declined or failed (RFC 6749 §4.1.2.1): the client hears which of the two.
    if let Some(upstream_error) = param("error") {
        log::debug!(
            "callback.upstream_error",
            "client_id" => auth.client_id,
            "error" => upstream_error,
        );
        let code = super::client_error_for(&upstream_error);
        let description = match code {
            "access_denied" => "The identity provider did not sign the user in",
            "temporarily_unavailable" => "The identity provider is unavailable",
            _ => "The identity provider could not sign the user in",
        };
        return back_to_client(&auth, code, description, headers);
    }
    // The state is spent by now: a provider that cannot be reached ends the flow at the client
    // with an error it can retry on, as a failed code exchange does below (RFC 6749 §4.1.2.1).
    let discovery = match idp.discovery().await {
        Ok(discovery) => discovery,
        Err(cause) => {
            log::error!(
                "upstream.unavailable",
                "client_id" => auth.client_id,
                "cause" => cause.to_string(),
            );
            return back_to_client(
                &auth,
                "temporarily_unavailable",
                "The identity provider is unavailable",
                headers,
            );
        }
    };
    // RFC 9207 §2.4: when the provider names itself in `iss`, it must be the provider this
    // sign-in went to (mix-up defence, RFC 9700 §4.4); a provider whose metadata says it always
    // does must have done so.
    let refusal = match param("iss") {
        Some(iss) if iss != discovery.issuer => Some("iss does not match the issuer"),
        None if discovery.authorization_response_iss_parameter_supported => {
            Some("iss is missing though the provider sends it")
        }
        _ => None,
    };
    if let Some(reason) = refusal {
        log::warning!("callback.refused", "client_id" => auth.client_id, "reason" => reason);
        return back_to_client(
            &auth,
            "access_denied",
            "The sign-in came back from an unexpected issuer",
            headers,
        );
    }
    let Some(code) = param("code") else {
        log::warning!("callback.refused", "client_id" => auth.client_id, "reason" => "no code");
        return back_to_client(
            &auth,
            "access_denied",
            "The identity provider returned no code",
            headers,
        );
    };
    log::debug!("callback.received", "client_id" => auth.client_id);

    let tokens = match idp.exchange_code(&code, sign_in.verifier.expose()).await {
        Ok(TokenOutcome::Issued(tokens)) => tokens,
        Ok(TokenOutcome::Refused(refusal)) => {
            log::warning!(
                "code.refused",
                "client_id" => auth.client_id,
                "error" => refusal.error,
                "description" => refusal.error_description,
            );
            return back_to_client(
                &auth,
                "access_denied",
                "The identity provider refused the sign-in",
                headers,
            );
        }
        Ok(TokenOutcome::Failed(cause))
        | Err(UpstreamError::Unavailable(cause) | UpstreamError::Invalid(cause)) => {
            log::error!("code.exchange_failed", "client_id" => auth.client_id, "cause" => cause);
            return back_to_client(
                &auth,
                "temporarily_unavailable",
                "The identity provider is unavailable",
                headers,
            );
        }
    };
    log::debug!(
        "code.exchanged",
        "client_id" => auth.client_id,
        "expires_in" => tokens.expires_in,
        "scope" => tokens.scope,
        "refresh_token" => tokens.refresh_token.is_some(),
    );

    let Some(id_token) = tokens.id_token.as_deref() else {
        log::error!("id_token.missing", "client_id" => auth.client_id);
        return back_to_client(
            &auth,
            "server_error",
            "The identity provider returned no ID token",
            headers,
        );
    };
    let user = match idp
        .verify_id_token(id_token, Some(&sign_in.nonce), None)
        .await
    {
        Ok(user) => user,
        Err(UpstreamError::Unavailable(cause)) => {
            log::error!(
                "id_token.keys_unavailable",
                "client_id" => auth.client_id,
                "cause" => cause,
            );
            return back_to_client(
                &auth,
                "temporarily_unavailable",
                "The identity provider is unavailable",
                headers,
            );
        }
        Err(UpstreamError::Invalid(cause)) => {
            log::warning!("id_token.refused", "client_id" => auth.client_id, "reason" => cause);
            return back_to_client(
                &auth,
                "access_denied",
                "The sign-in could not be verified",
                headers,
            );
        }
    };
    let user_id = user_id_for_subject(&user.sub);
    log::debug!("id_token.validated", "client_id" => auth.client_id, "user" => user_id);

    // RFC 6749 §3.3: the grant holds what was approved and the provider granted (under Auth0
    // RBAC, only the permissions the user holds). Its MCP tokens carry no more; a later refresh
    // that the provider answers with less narrows them by the same rule
    // (`token_exchange::narrowed_scope`), since the grant's scope itself never changes.
    let upstream_scope = tokens.scope.as_deref().map(split_scope);
    let scope = scopes::granted(
        &auth.scope,
        upstream_scope.as_deref(),
        tokens.refresh_token.is_some(),
    );
    let label = user
        .email
        .clone()
        .or_else(|| user.name.clone())
        .unwrap_or_else(|| user.sub.clone());
    let expires_at = tokens.expires_at(bindings::now_seconds());
    let props = GrantProps {
        upstream: UpstreamTokens {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            id_token: tokens.id_token,
            expires_at,
            scope: upstream_scope.unwrap_or_else(|| sign_in.scope.clone()),
            requested: sign_in.scope,
        },
        user,
    };
    // Grant metadata is stored unencrypted (it lists and labels grants): a label, nothing secret.
    let metadata = json!({ "label": label, "authorizedAt": bindings::now_seconds() });
    // A storage failure here (a KV write refused, a key over KV's 512-byte limit for a very long
    // `sub`) is told to the validated client as `server_error` (RFC 6749 §4.1.2.1), not an
    // opaque 500 page that leaves it waiting; nothing was issued.
    let location = match api
        .complete_authorization(&auth, &user_id, &metadata, &scope, &props)
        .await
    {
        Ok(location) => location,
        Err(HelperError::Other(cause)) => {
            log::error!(
                "grant.store_failed",
                "client_id" => auth.client_id,
                "user" => user_id,
                "cause" => cause,
            );
            return back_to_client(
                &auth,
                "server_error",
                "The sign-in could not be saved; please try again",
                headers,
            );
        }
        Err(other) => return Err(other.into()),
    };
    log::debug!(
        "grant.completed",
        "client_id" => auth.client_id,
        "user" => user_id,
        "scopes" => scope,
    );
    Ok(error::redirect(&location, headers)?)
}
