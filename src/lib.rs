//! The remote MCP server and OAuth 2.1 authorization server, in Rust on Cloudflare Workers.
//!
//! `src/entry.mjs` wraps this module in `@cloudflare/workers-oauth-provider`'s `OAuthProvider`.
//! A request flows: [`fetch`] (a remembered token's MCP call straight to the MCP endpoints,
//! metadata aliases, revocation log) → the provider (metadata,
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
pub mod json;
pub mod key_lock;
pub mod log;
pub mod mcp;
pub mod purge;
pub mod todos_client;
pub mod token_exchange;
pub mod token_memo;
pub mod tools;
pub mod upstream;
pub mod web_url;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
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
    /// The paths under [`API_ROUTES`] that the MCP endpoints serve: where a remembered token is
    /// answered without the provider (`token_memo`). Every other path goes through it.
    pub const MCP_PATHS: &[&str] = &[
        crate::mcp::MCP_PATH,
        crate::mcp::SSE_PATH,
        crate::mcp::SSE_MESSAGE_PATH,
    ];
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

pub(crate) fn load_config(env: &Env) -> Result<Rc<Config>, config::ConfigError> {
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
        log::error!("config.invalid", "setting" => error.var, "problem" => error.problem);
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

/// The path of an absolute request URL as workerd hands it over (WHATWG-serialised, so the
/// authority holds no `/`): what routing needs, without parsing the whole URL on every request.
pub fn path_of(url: &str) -> &str {
    path_span(url).map_or("/", |(start, end)| &url[start..end])
}

/// `scheme://host[:port]` of an absolute request URL: everything before its path.
fn origin_of(url: &str) -> Option<&str> {
    path_span(url).map(|(start, _)| &url[..start])
}

/// Where the path of `url` starts and ends, if it has one (see [`path_of`]).
fn path_span(url: &str) -> Option<(usize, usize)> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    // The authority ends at the first `/`, `?` or `#` (RFC 3986 §3.2); only a `/` starts a path.
    let start = match url[after_scheme..].find(['/', '?', '#']) {
        Some(i) if url.as_bytes()[after_scheme + i] == b'/' => after_scheme + i,
        _ => return None,
    };
    let end = url[start..]
        .find(['?', '#'])
        .map_or(url.len(), |i| i + start);
    Some((start, end))
}

/// The path of `req`'s URL (see [`path_of`]).
pub fn request_path(req: &Request) -> String {
    path_of(&req.inner().url()).to_owned()
}

/// Rewrites the path-suffixed protected resource metadata URLs that MCP clients try
/// (`/.well-known/oauth-protected-resource/mcp`, `…/sse`) to the origin's document, which the
/// library serves. The resource is the origin, which covers both paths.
fn metadata_alias(req: &web_sys::Request, url: &str, path: &str) -> Option<web_sys::Request> {
    let aliased = path
        .strip_prefix(endpoints::RESOURCE_METADATA)
        .is_some_and(|rest| endpoints::API_ROUTES.contains(&rest));
    if !aliased || !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS") {
        return None;
    }
    let (start, end) = path_span(url)?;
    let rewritten = format!(
        "{}{}{}",
        &url[..start],
        endpoints::RESOURCE_METADATA,
        &url[end..]
    );
    let init = web_sys::RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(&req.headers());
    web_sys::Request::new_with_str_and_init(&rewritten, &init).ok()
}

/// What a token-endpoint request is: its kind and client, for the log (never its token or
/// secret), and the grant its code or refresh token belongs to, for [`key_lock`].
struct TokenRequestKind {
    kind: String,
    client_id: Option<String>,
    grant: Option<String>,
}

impl TokenRequestKind {
    /// The grant id of a refresh grant (`grant:<user>:<grant id>`), for the `/account` page.
    fn refreshed_grant_id(&self) -> Option<&str> {
        if self.kind != "refresh_token" {
            return None;
        }
        self.grant.as_deref()?.rsplit(':').next()
    }
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

/// The worker's fetch: the outermost step, before the provider. An MCP call whose token this
/// isolate accepted moments ago is served without the provider ([`token_memo`]). The other
/// requests pass through, synchronously: the path is read without parsing the URL and the
/// provider's promise is handed back as it is. Only `/token` runs Rust code around the provider
/// ([`token_fetch`]), and the metadata aliases are rewritten first.
#[wasm_bindgen]
pub fn fetch(
    request: web_sys::Request,
    env: Env,
    ctx: worker::worker_sys::Context,
    provider: JsValue,
) -> Promise {
    let memo_on = match load_config(&env) {
        Ok(config) => config.access_token_memo_seconds > 0,
        Err(error) => {
            return match AppError::Config(error).into_response() {
                Ok(response) => Promise::resolve(&JsValue::from(web_sys::Response::from(response))),
                Err(e) => Promise::reject(&JsValue::from_str(&e.to_string())),
            };
        }
    };
    let url = request.url();
    let path = path_of(&url);
    // With the memo off (`ACCESS_TOKEN_MEMO_SECONDS=0`) nothing is looked up or noted.
    if memo_on && is_mcp_call(&request, path) {
        if let Some(caller) = remembered_caller(&request, &url) {
            // Debug only: what tests of the memo's rules see to know the memo answered.
            log::debug!("token.remembered", "client_id" => caller.client_id, "user" => caller.user_id);
            return future_to_promise(async move {
                remembered_fetch(request, env, caller)
                    .await
                    .map(JsValue::from)
            });
        }
        // Not remembered: the provider checks the token, and `api_fetch` may remember its verdict
        // unless everything was forgotten in the meantime.
        bindings::note_memo_epoch(&ctx, token_memo::epoch());
    }
    if path == endpoints::TOKEN && request.method() == "POST" {
        return future_to_promise(async move {
            token_fetch(request, env, ctx, provider)
                .await
                .map(JsValue::from)
        });
    }
    let request = metadata_alias(&request, &url, path).unwrap_or(request);
    bindings::provider_fetch(&provider, &request, &env, ctx.as_ref())
        .unwrap_or_else(|e| Promise::reject(&JsValue::from_str(&e)))
}

/// Whether this is a call to an MCP path (not a CORS preflight, which the provider answers).
fn is_mcp_call(request: &web_sys::Request, path: &str) -> bool {
    endpoints::MCP_PATHS.contains(&path) && request.method() != "OPTIONS"
}

/// The caller remembered for this MCP call's bearer token (`token_memo`), when the token was
/// accepted on this origin.
fn remembered_caller(request: &web_sys::Request, url: &str) -> Option<Rc<Caller>> {
    let authorization = request.headers().get("Authorization").ok()??;
    token_memo::recall(&authorization, origin_of(url)?, now_seconds())
}

/// Serves a request whose token was remembered: the API handler's work with the remembered
/// caller, and the CORS headers the provider would have added.
async fn remembered_fetch(
    request: web_sys::Request,
    env: Env,
    caller: Rc<Caller>,
) -> Result<web_sys::Response, JsValue> {
    let origin = request.headers().get("Origin").ok().flatten();
    let result = async {
        let config = load_config(&env)?;
        mcp::serve(request, &env, &caller, &config.mcp)
            .await
            .map_err(AppError::from)
    }
    .await;
    let response = answer(result)?;
    let Some(origin) = origin else {
        return Ok(response);
    };
    let existing = response.headers();
    let set = mcp::rules::provider_cors_headers(&origin, |name| existing.get(name).ok().flatten());
    bindings::with_headers(response, &set).map_err(|e| JsValue::from_str(&e))
}

/// Remembers what the provider's check of this request's token concluded ([`token_memo`]).
fn remember(request: &web_sys::Request, check: token_memo::Check, memo_seconds: u32) {
    let url = request.url();
    if let (Ok(Some(authorization)), Some(origin)) =
        (request.headers().get("Authorization"), origin_of(&url))
    {
        token_memo::with_memo(|memo| memo.remember(&authorization, origin, check, memo_seconds));
    }
}

/// Whole seconds since the Unix epoch, as the provider counts them for `expiresAt`.
fn now_seconds() -> i64 {
    i64::try_from(bindings::now_seconds()).unwrap_or(i64::MAX)
}

/// An API answer, or the error's page as the answer.
fn answer(result: Result<web_sys::Response, AppError>) -> Result<web_sys::Response, JsValue> {
    result.or_else(|error| {
        error
            .into_response()
            .map(Into::into)
            .map_err(|e| JsValue::from_str(&e.to_string()))
    })
}

/// `POST /token` around the provider: the per-grant lock, and what a successful answer records.
async fn token_fetch(
    request: web_sys::Request,
    env: Env,
    ctx: worker::worker_sys::Context,
    provider: JsValue,
) -> Result<web_sys::Response, JsValue> {
    let kind = token_request_kind(&Request::from(Clone::clone(&request))).await;
    // Code and refresh grants of one grant run one at a time in this isolate (`key_lock`:
    // overlapping refreshes would present a rotated upstream refresh token and end the grant).
    let _held = match kind.as_ref().and_then(|k| k.grant.clone()) {
        Some(grant) => Some(key_lock::lock(grant).await),
        None => None,
    };
    let answer = bindings::provider_fetch(&provider, &request, &env, ctx.as_ref())
        .map_err(|e| JsValue::from_str(&e))?;
    let response = JsFuture::from(answer).await;
    // Whatever the answer, the provider may have revoked tokens: a revocation (RFC 7009), a
    // replayed code (OAuth 2.1 §4.1.3), an upstream `invalid_grant` ending the grant.
    token_memo::forget_all();
    let response: web_sys::Response = response?
        .dyn_into()
        .map_err(|_| JsValue::from_str("provider.fetch did not answer a Response"))?;
    if let Some(kind) = kind
        && response.status() == 200
    {
        if kind.kind == "revocation" {
            log::debug!("token.revoked", "client_id" => kind.client_id);
        }
        // The account page shows when a grant was last refreshed (the library keeps no such
        // time). Recorded after the answer is sent (`waitUntil`), so the refresh grant does not
        // wait for a KV write; only for a refresh that succeeded, and at most once a minute.
        let now = bindings::now_seconds();
        if let Some(grant_id) = kind.refreshed_grant_id()
            && account::grants::claim_record(grant_id, now)
        {
            let (env, grant_id) = (env.clone(), grant_id.to_owned());
            Context::new(ctx).wait_until(async move {
                account::grants::record_refresh(&env, &grant_id, now).await;
            });
        }
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
    let path = request_path(&req);
    match (req.method(), path.as_str()) {
        (Method::Get, endpoints::HEALTH) => Ok(Response::from_json(&json!({ "status": "ok" }))?),
        (Method::Get, endpoints::AUTHORIZE) => authorize::show(req, env, &config).await,
        (Method::Post, endpoints::AUTHORIZE) => authorize::decide(req, env, &config).await,
        (Method::Get, endpoints::CALLBACK) => {
            let answer = upstream::callback::handle(req, env, &config).await;
            // `completeAuthorization` may have revoked the client's earlier grants of this user.
            token_memo::forget_all();
            answer
        }
        (_, path) if account::handles(path) => account::serve(req, env, &config).await,
        (_, endpoints::AUTHORIZE | endpoints::CALLBACK | endpoints::HEALTH) => {
            let response = Response::error("Method Not Allowed", 405)?;
            let allow = if path == endpoints::AUTHORIZE {
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
/// resource. The props and verified token facts become a [`Caller`], which this isolate then
/// remembers for a few seconds ([`token_memo`]).
#[wasm_bindgen]
pub async fn api_fetch(
    request: web_sys::Request,
    env: Env,
    ctx: worker::worker_sys::Context,
) -> Result<web_sys::Response, JsValue> {
    let ctx = Context::new(ctx);
    let result = async {
        let config = load_config(&env)?;
        let props = bindings::props(&ctx).map_err(AppError::Internal)?;
        let auth = bindings::token_auth(&ctx).map_err(AppError::Internal)?;
        let caller = Rc::new(Caller {
            props,
            user_id: auth.user_id.unwrap_or_default(),
            client_id: auth.client_id.unwrap_or_default(),
            scopes: auth.scope,
        });
        // `fetch` notes the epoch only when the memo is on: otherwise nothing more is read.
        if let (Some(arrived_in), Some(expires_at)) =
            (bindings::noted_memo_epoch(&ctx), auth.expires_at)
        {
            let check = token_memo::Check {
                caller: Rc::clone(&caller),
                expires_at,
                at: now_seconds(),
                arrived_in,
            };
            remember(&request, check, config.access_token_memo_seconds);
        }
        mcp::serve(request, &env, &caller, &config.mcp)
            .await
            .map_err(AppError::from)
    }
    .await;
    answer(result)
}

/// `tokenExchangeCallback`: returns `{ ok: result }` or `{ error: { code, description,
/// statusCode, headers } }`, which `src/entry.mjs` throws as an `OAuthError`.
#[wasm_bindgen]
pub async fn token_exchange(options: JsValue) -> Result<JsValue, JsValue> {
    use token_exchange::{Refusal, Verdict};
    let answer = match bindings::token_exchange_options(options) {
        Err(cause) => {
            log::error!("token_exchange.bad_input", "cause" => cause);
            Verdict::Error(Refusal::unavailable())
        }
        Ok((input, env)) => match load_config(&env) {
            Err(error) => {
                log::error!("config.invalid", "setting" => error.var, "problem" => error.problem);
                Verdict::Error(Refusal::unavailable())
            }
            Ok(config) => match token_exchange::run(input, &config, &env).await {
                Ok(outcome) => Verdict::Ok(outcome),
                Err(refusal) => Verdict::Error(refusal),
            },
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
        log::error!("config.invalid", "setting" => error.var, "problem" => error.problem);
        return Err(JsValue::from_str(&error.to_string()));
    }
    let swept = purge::run(&cron, &env, &provider).await;
    // The sweep revokes the grants of clients that no longer exist.
    token_memo::forget_all();
    swept.map_err(|e| JsValue::from_str(&e))
}

/// `onError`: logs each OAuth error response the provider sends (its internal reason, never on
/// the wire), and leaves the response as the library built it.
#[wasm_bindgen]
pub fn on_error(error: JsValue) {
    let error = bindings::provider_error(&error);
    let (category, reason) = error
        .internal
        .map(|i| (i.category, i.reason))
        .unwrap_or_default();
    log::warning!(
        "oauth.error",
        "code" => error.code,
        "status" => error.status,
        "category" => category,
        "reason" => reason,
    );
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn path_of_a_request_url_stops_at_query_and_fragment() {
        assert_eq!(path_of("http://localhost:8788/mcp"), "/mcp");
        assert_eq!(
            path_of("https://mcp.example.com/sse/message?sessionId=a/b"),
            "/sse/message"
        );
        assert_eq!(path_of("https://mcp.example.com/token#x"), "/token");
        assert_eq!(path_of("https://mcp.example.com"), "/");
        assert_eq!(path_of("https://mcp.example.com?a=/b"), "/");
        assert_eq!(
            path_of("http://[::1]:8788/.well-known/oauth-protected-resource/mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
    }
}
