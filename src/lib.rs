//! The remote MCP server and OAuth 2.1 authorization server, in Rust on Cloudflare Workers.
//!
//! `src/entry.mjs` wraps this module in `@cloudflare/workers-oauth-provider`'s `OAuthProvider`.
//! A request flows: [`fetch`] (metadata aliases, revocation log) → the provider (metadata,
//! `/register`, `/token`, token checks) → [`default_fetch`] (`/authorize` in [`authorize`],
//! `/callback` in [`upstream::callback`], `/health`) or [`api_fetch`] (`/mcp`, `/sse` with the
//! grant's props). The provider calls [`token_exchange`] on every code and refresh grant.
//! The Cron Trigger runs [`scheduled`], which sweeps `OAUTH_KV` ([`purge`]).

pub mod account;
pub mod authorize;
pub mod bindings;
pub mod config;
pub mod error;
pub mod grant;
pub mod key_lock;
pub mod log;
pub mod mcp;
pub mod purge;
pub mod todos_client;
pub mod token_exchange;
pub mod tools;
pub mod upstream;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;
use wasm_bindgen::prelude::*;
use worker::worker_sys::web_sys;
use worker::{Context, Env, Method, Request, Response};

use crate::config::Config;
use crate::error::AppError;
use crate::grant::Caller;

/// The OAuth endpoints this worker serves (the MCP reference layout).
pub mod endpoints {
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const REGISTER: &str = "/register";
    pub const CALLBACK: &str = "/callback";
    pub const HEALTH: &str = "/health";
    /// The protected routes: Streamable HTTP and the legacy HTTP+SSE transport.
    pub const API_ROUTES: &[&str] = &["/mcp", "/sse"];
    /// RFC 9728 §3.1 protected resource metadata, at the origin.
    pub const RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";
}

/// The name of the KV namespace the library keeps grants, tokens and clients in.
pub const OAUTH_KV: &str = "OAUTH_KV";

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

thread_local! {
    /// The configuration, read and validated once per isolate. An isolate's `env` never changes
    /// (new settings or secrets mean a new deployment version, hence new isolates), and every
    /// request would otherwise parse and check the same URLs again.
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

fn load_config(env: &Env) -> Result<Rc<Config>, config::ConfigError> {
    if let Some(config) = CONFIG.with_borrow(Clone::clone) {
        return Ok(config);
    }
    let config = Rc::new(Config::from_lookup(|name| {
        env.var(name).ok().map(|v| v.to_string())
    })?);
    log::set_level(config.log_level);
    CONFIG.with_borrow_mut(|cached| *cached = Some(Rc::clone(&config)));
    Ok(config)
}

/// The `OAuthProvider` options that depend on configuration, for `src/entry.mjs`. Throws (after
/// logging the setting at fault) when the configuration is invalid.
#[wasm_bindgen]
pub fn provider_options(env: Env) -> Result<JsValue, JsError> {
    let config = load_config(&env).map_err(|error| {
        log::error(
            "config.invalid",
            json!({ "setting": error.var, "problem": error.problem }),
        );
        JsError::new(&error.to_string())
    })?;
    let options = json!({
        "apiRoute": endpoints::API_ROUTES,
        "authorizeEndpoint": endpoints::AUTHORIZE,
        "tokenEndpoint": endpoints::TOKEN,
        "clientRegistrationEndpoint": endpoints::REGISTER,
        // RFC 8414 `scopes_supported` and RFC 9728 `scopes_supported`: the ToDos API's scopes and
        // OpenID Connect's. The consent page lets the user narrow them.
        "scopesSupported": config.scope,
        "requiredScopes": config.scope,
        "accessTokenTTL": token_exchange::ACCESS_TOKEN_TTL,
        "resourceMetadata": {
            // The origin is the protected resource, so /mcp and /sse are both under it (the MCP
            // TypeScript SDK's SSE client needs `resource` to be a prefix of the server URL).
            "resource": config.public_url,
            "authorization_servers": [config.public_url],
            "bearer_methods_supported": ["header"],
            "resource_name": "ToDos MCP server",
        },
    });
    bindings::to_js(&options).map_err(|e| JsError::new(&e))
}

/// Rewrites the path-suffixed protected resource metadata URLs that MCP clients try
/// (`/.well-known/oauth-protected-resource/mcp`, `…/sse`) to the origin's document, which the
/// library serves. The resource is the origin, which covers both paths.
fn metadata_alias(req: &Request) -> worker::Result<Option<Request>> {
    let mut url = req.url()?;
    let aliased = endpoints::API_ROUTES
        .iter()
        .any(|route| url.path() == format!("{}{route}", endpoints::RESOURCE_METADATA));
    if !aliased || !matches!(req.method(), Method::Get | Method::Head | Method::Options) {
        return Ok(None);
    }
    url.set_path(endpoints::RESOURCE_METADATA);
    let mut init = worker::RequestInit::new();
    init.with_method(req.method())
        .with_headers(req.headers().clone());
    Ok(Some(Request::new_with_init(url.as_str(), &init)?))
}

/// What a token-endpoint request is: its kind and client, for the log (never its token or
/// secret), and the grant its code or refresh token belongs to, for [`key_lock`].
struct TokenRequestKind {
    kind: String,
    client_id: Option<String>,
    grant: Option<String>,
}

async fn token_request_kind(req: &Request) -> Option<TokenRequestKind> {
    let mut copy = req.clone().ok()?;
    let form = copy.form_data().await.ok()?;
    let field = |name: &str| match form.get(name) {
        Some(worker::FormEntry::Field(value)) => Some(value),
        _ => None,
    };
    let (kind, grant) = match field("grant_type") {
        Some(grant_type) => {
            let token = match grant_type.as_str() {
                "authorization_code" => field("code"),
                "refresh_token" => field("refresh_token"),
                _ => None,
            };
            (grant_type, token.as_deref().and_then(key_lock::grant_key))
        }
        None if field("token").is_some() => ("revocation".to_owned(), None),
        None => return None,
    };
    Some(TokenRequestKind {
        kind,
        client_id: field("client_id"),
        grant,
    })
}

/// The worker's fetch: the outermost step, before the provider.
#[wasm_bindgen]
pub async fn fetch(
    request: web_sys::Request,
    env: Env,
    ctx: JsValue,
    provider: JsValue,
) -> Result<web_sys::Response, JsValue> {
    let req = Request::from(request);
    if let Err(error) = load_config(&env) {
        return AppError::Config(error)
            .into_response()
            .map(Into::into)
            .map_err(|e| JsValue::from_str(&e.to_string()));
    }
    let req = match metadata_alias(&req) {
        Ok(Some(aliased)) => aliased,
        _ => req,
    };
    let is_token = req.method() == Method::Post && req.path() == endpoints::TOKEN;
    let kind = if is_token {
        token_request_kind(&req).await
    } else {
        None
    };
    // Code and refresh grants of one grant run one at a time in this isolate (`key_lock`:
    // overlapping refreshes would present a rotated upstream refresh token and end the grant).
    let _held = match kind.as_ref().and_then(|k| k.grant.clone()) {
        Some(grant) => Some(key_lock::lock(grant).await),
        None => None,
    };
    let response = bindings::provider_fetch(&provider, req.inner(), &env, &ctx)
        .await
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    if let Some(kind) = kind
        && response.status() == 200
        && kind.kind == "revocation"
    {
        log::debug("token.revoked", json!({ "client_id": kind.client_id }));
    }
    Ok(response)
}

/// `defaultHandler.fetch`: the routes that need no token.
#[wasm_bindgen]
pub async fn default_fetch(
    request: web_sys::Request,
    env: Env,
    _ctx: JsValue,
) -> Result<web_sys::Response, JsValue> {
    let req = Request::from(request);
    let result = route(req, &env).await.or_else(AppError::into_response);
    result
        .map(Into::into)
        .map_err(|e| JsValue::from_str(&e.to_string()))
}

async fn route(req: Request, env: &Env) -> Result<Response, AppError> {
    let config = load_config(env)?;
    match (req.method(), req.path().as_str()) {
        (Method::Get, endpoints::HEALTH) => Ok(Response::from_json(&json!({ "status": "ok" }))?),
        (Method::Get, endpoints::AUTHORIZE) => authorize::show(req, env, &config).await,
        (Method::Post, endpoints::AUTHORIZE) => authorize::decide(req, env, &config).await,
        (Method::Get, endpoints::CALLBACK) => upstream::callback::handle(req, env, &config).await,
        (_, path) if account::handles(path) => account::serve(req, env, &config).await,
        (_, endpoints::AUTHORIZE | endpoints::CALLBACK | endpoints::HEALTH) => {
            let response = Response::error("Method Not Allowed", 405)?;
            let allow = if req.path() == endpoints::AUTHORIZE {
                "GET, POST"
            } else {
                "GET"
            };
            response.headers().set("Allow", allow)?;
            Ok(response)
        }
        _ => Ok(Response::error("Not Found", 404)?),
    }
}

/// `apiHandler.fetch`: `/mcp` and `/sse`, reached only with a valid access token for this
/// resource. The props and verified token facts become a [`Caller`].
#[wasm_bindgen]
pub async fn api_fetch(
    request: web_sys::Request,
    env: Env,
    ctx: worker::worker_sys::Context,
) -> Result<web_sys::Response, JsValue> {
    let req = Request::from(request);
    let ctx = Context::new(ctx);
    let result = async {
        load_config(&env)?;
        let props = bindings::props(&ctx).map_err(AppError::Internal)?;
        let auth = bindings::token_auth(&ctx).map_err(AppError::Internal)?;
        let caller = Caller {
            props,
            user_id: auth.user_id.unwrap_or_default(),
            client_id: auth.client_id.unwrap_or_default(),
            scopes: auth.scope,
        };
        serve_api(req, &env, caller).await.map_err(AppError::from)
    }
    .await
    .or_else(AppError::into_response);
    result
        .map(Into::into)
        .map_err(|e| JsValue::from_str(&e.to_string()))
}

/// `/mcp` and `/sse…` with a validated token: the MCP transports and tools (`crate::mcp`).
async fn serve_api(req: Request, env: &Env, caller: Caller) -> worker::Result<Response> {
    mcp::serve(req, env, caller).await
}

/// `tokenExchangeCallback`: returns `{ ok: result }` or `{ error: { code, description,
/// statusCode, headers } }`, which `src/entry.mjs` throws as an `OAuthError`.
#[wasm_bindgen]
pub async fn token_exchange(options: JsValue) -> Result<JsValue, JsValue> {
    let answer = match bindings::token_exchange_options::<token_exchange::Input>(options) {
        Err(cause) => {
            log::error("token_exchange.bad_input", json!({ "cause": cause }));
            json!({ "error": token_exchange::Refusal::unavailable() })
        }
        Ok((input, env)) => match load_config(&env) {
            Err(error) => {
                log::error(
                    "config.invalid",
                    json!({ "setting": error.var, "problem": error.problem }),
                );
                json!({ "error": token_exchange::Refusal::unavailable() })
            }
            Ok(config) => {
                // The account page shows when a grant was last refreshed (the library keeps no
                // such time); a failure to record it never fails the exchange.
                if input.grant_type == "refresh_token" {
                    let now = bindings::now_seconds();
                    account::grants::record_refresh(&env, &input.grant_id, now).await;
                }
                match token_exchange::run(input, &config).await {
                    Ok(outcome) => json!({ "ok": outcome }),
                    Err(refusal) => json!({ "error": refusal }),
                }
            }
        },
    };
    bindings::to_js(&answer).map_err(|e| JsValue::from_str(&e))
}

/// The worker's `scheduled` handler (Cron Trigger): one batch of the `OAUTH_KV` sweep, see
/// [`purge`]. Rejects, after logging the cause, only when KV or the library failed, so the run
/// shows as failed in the dashboard.
#[wasm_bindgen]
pub async fn scheduled(cron: String, env: Env, provider: JsValue) -> Result<(), JsValue> {
    if let Err(error) = load_config(&env) {
        log::error(
            "config.invalid",
            json!({ "setting": error.var, "problem": error.problem }),
        );
        return Err(JsValue::from_str(&error.to_string()));
    }
    purge::run(&cron, &env, &provider)
        .await
        .map_err(|e| JsValue::from_str(&e))
}

/// `onError`: logs each OAuth error response the provider sends (its internal reason, never on
/// the wire), and leaves the response as the library built it.
#[wasm_bindgen]
pub fn on_error(error: JsValue) {
    if let Ok(error) = bindings::provider_error(error) {
        let (category, reason) = error
            .internal
            .map(|i| (i.category, i.reason))
            .unwrap_or_default();
        log::warn(
            "oauth.error",
            json!({ "code": error.code, "status": error.status, "category": category, "reason": reason }),
        );
    }
}
