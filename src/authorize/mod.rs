//! `/authorize`: the consent page (GET) and the user's decision (POST).
//!
//! This server signs users in through another provider with one client id for every MCP client,
//! so it must ask consent per client before redirecting upstream (MCP security best practices,
//! "Confused Deputy Problem"). The library's consent helpers bind the page to the browser, keep
//! the request server-side, and create the upstream `state` only after consent.

pub mod page;
pub mod pkce;
pub mod scopes;

use worker::{Env, Headers, Request, Response};

use crate::bindings::{self, AuthRequest, HelperError, OAuthApi};
use crate::config::Config;
use crate::error::{self, AppError};
use crate::log;
use crate::upstream::{self, client::Upstream};

/// `GET /authorize`: validate the request, then show the consent page (or, when the browser
/// holds a remembered approval covering it, go straight to the identity provider).
pub async fn show(req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let api = OAuthApi::from_env(env)?;
    let auth = match api.parse_auth_request(&req).await {
        Ok(auth) => auth,
        // Redirect only when the library validated the client and its exact redirect URI
        // (OAuth 2.1 §4.1.2.1); otherwise render (RFC 9700 §4.11.2: never an open redirector).
        Err(HelperError::Authorization {
            code,
            description,
            redirect_to: Some(location),
        }) => {
            log::warning!(
                "authorize.refused",
                "error" => code,
                "description" => description,
                "redirected" => true,
            );
            return Ok(error::redirect(&location, Headers::new())?);
        }
        Err(error) => {
            log::warning!("authorize.refused", "error" => error.to_string(), "redirected" => false);
            return Err(error.into());
        }
    };
    // OAuth 2.1 §4.1.1 and MCP authorization ("MUST implement PKCE", S256): every client, public
    // or confidential, sends an S256 challenge. The library already requires it of public clients.
    if let Err(problem) = pkce::check(
        auth.code_challenge_method.as_deref(),
        auth.code_challenge.as_deref(),
    ) {
        log::warning!(
            "authorize.refused",
            "client_id" => auth.client_id,
            "error" => "invalid_request",
            "description" => problem,
        );
        let location = pkce::error_redirect(
            &auth.redirect_uri,
            "invalid_request",
            problem,
            auth.state.as_deref(),
            auth.issuer.as_deref(),
        );
        return Ok(error::redirect(&location, Headers::new())?);
    }
    let offered = scopes::offered(&auth.scope, &config.scope);
    log::debug!(
        "authorize.parsed",
        "client_id" => auth.client_id,
        "requested" => auth.scope,
        "offered" => offered,
    );

    let request = auth.with_scope(&offered).map_err(AppError::Internal)?;
    if api
        .is_consent_remembered(&req, &request, config.consent_secret.expose())
        .await?
    {
        log::debug!("consent.remembered", "client_id" => auth.client_id, "scopes" => offered);
        return start_upstream(&api, config, &request, Headers::new()).await;
    }

    let description = api.describe_consent(&auth).await?;
    let (handle, headers) = api.begin_consent(&auth).await?;
    let html = page::consent(&page::ConsentView {
        client_name: &description.client_name,
        client_id: &description.client_id,
        client_domain: description.client_domain.as_deref(),
        redirect_uri: &description.redirect_uri,
        redirect_is_loopback: description.redirect_is_loopback,
        scopes: &offered,
        resource: auth.resource.as_deref().unwrap_or(&config.public_url),
        handle: &handle,
    });
    log::debug!(
        "consent.shown",
        "client_id" => auth.client_id,
        "redirect_host" => description.redirect_host,
        "loopback" => description.redirect_is_loopback,
        "scopes" => offered,
    );
    Ok(error::html(200, html, headers)?)
}

/// `POST /authorize`: the user's decision. The form carries only the browser-bound handle and
/// the ticked scopes; the request itself comes back from storage (MCP security best practices:
/// consent must not be forgeable).
pub async fn decide(mut req: Request, env: &Env, config: &Config) -> Result<Response, AppError> {
    let api = OAuthApi::from_env(env)?;
    let form = req.form_data().await.map_err(|_| AppError::Page {
        status: 400,
        title: "This sign-in request cannot continue",
        message: "The consent form could not be read.".into(),
    })?;
    let field = |name: &str| match form.get(name) {
        Some(worker::FormEntry::Field(value)) => Some(value),
        _ => None,
    };
    let handle = field("handle").ok_or(AppError::Page {
        status: 400,
        title: "This sign-in request cannot continue",
        message: "The consent form is incomplete.".into(),
    })?;
    let expired = |error: HelperError| match error {
        HelperError::Authorization { description, .. } => {
            log::warning!("consent.refused", "reason" => description);
            AppError::Page {
                status: 400,
                title: "This consent page has expired",
                message: "It was already used, is more than ten minutes old, or was opened in another browser.".into(),
            }
        }
        other => other.into(),
    };

    // Single use under concurrency too: overlapping posts of one handle run one at a time, so
    // the library's read-then-delete of the handle sees the earlier post's delete (`key_lock`).
    let _held = crate::key_lock::lock(format!("consent:{handle}")).await;

    if field("decision").as_deref() != Some("approve") {
        let (auth, location, headers) = api.deny_consent(&req, &handle).await.map_err(expired)?;
        log::debug!("consent.denied", "client_id" => auth.client_id);
        return Ok(error::redirect(&location, headers)?);
    }

    let ticked: Vec<String> = form
        .get_all("scope")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| match entry {
            worker::FormEntry::Field(value) => Some(value),
            worker::FormEntry::File(_) => None,
        })
        .collect();
    let approved = scopes::approved(&ticked, &config.scope);
    let remember = field("remember")
        .is_some()
        .then(|| config.consent_secret.expose());
    let (auth, headers) = api
        .approve_consent(&req, &handle, &approved, remember)
        .await
        .map_err(expired)?;
    log::debug!(
        "consent.approved",
        "client_id" => auth.client_id,
        "scopes" => auth.scope,
        "remembered" => remember.is_some(),
    );
    start_upstream(&api, config, &auth, headers).await
}

/// Creates the PKCE pair and nonce, stores them with the approved request behind a fresh,
/// browser-bound, single-use `state` (`beginUpstream`), and redirects to the identity provider.
async fn start_upstream(
    api: &OAuthApi,
    config: &Config,
    auth: &AuthRequest,
    headers: Headers,
) -> Result<Response, AppError> {
    let idp = Upstream::new(config);
    // Discovery first: if the provider is down, nothing is stored and the user can retry.
    idp.discovery()
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    let verifier = upstream::pkce::CodeVerifier::from_random(bindings::random_bytes::<32>());
    let digest = bindings::sha256(verifier.expose().as_bytes())
        .await
        .map_err(AppError::Internal)?;
    let challenge = upstream::pkce::s256_challenge(&digest);
    let data = upstream::SignIn {
        verifier,
        nonce: upstream::pkce::nonce_from_random(bindings::random_bytes::<16>()),
        scope: auth.scope.clone(),
    };
    let (state, headers) = api.begin_upstream(auth, &data, headers).await?;
    let location = idp
        .authorize_url(&state, &challenge, &data.nonce, &data.scope)
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    log::debug!(
        "upstream.redirect",
        "client_id" => auth.client_id,
        "issuer" => config.issuer,
        "scopes" => data.scope,
    );
    Ok(error::redirect(&location, headers)?)
}
