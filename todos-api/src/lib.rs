//! The ToDos API: a protected resource server on Cloudflare Workers.
//!
//! A request flows: `runtime` (the JS boundary: `entry.mjs` calls its `fetch` export) →
//! [`serve`] and the route table below (`router`) → the access token (`auth`: `bearer`, `jwt`,
//! `jwks`, WebCrypto in `runtime::crypto`) → the route's scope (`scopes`) → a handler in `routes`
//! (`todos` in KV, `billing`) → an answer (`http::Response`, plain data until `runtime` turns it
//! into the runtime's), or an `error::ApiError` answered in one place.

pub mod auth;
pub mod billing;
pub mod body;
pub mod config;
pub mod error;
pub mod fetch_url;
pub mod http;
pub mod log;
pub mod outbound;
pub mod router;
pub mod routes;
pub mod runtime;
pub mod scopes;
pub mod todos;

use std::cell::OnceCell;
use std::rc::Rc;

use crate::config::{Config, ConfigError, LogLevel};
use crate::error::ApiError;
use crate::http::Response;
use crate::log::{Decision, ScopeDecision};
use crate::router::{Access, Route};
use crate::runtime::{Env, Request};
use crate::scopes::{READ_BILLING, READ_TODOS, WRITE_TODOS};

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `routes::health::get`
    Health,
    /// `routes::me::get`
    Me,
    /// `routes::todos::list`
    ListTodos,
    /// `routes::todos::create`
    CreateTodo,
    /// `routes::todos::update`
    UpdateTodo,
    /// `routes::todos::delete`
    DeleteTodo,
    /// `routes::billing::get`
    Billing,
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    endpoint: Endpoint,
    name: &'static str,
) -> Route<Endpoint> {
    Route {
        method,
        path,
        access,
        endpoint,
        name,
    }
}

/// The route table: every path, method, who may call it, and what serves it.
#[rustfmt::skip]
pub const ROUTES: &[Route<Endpoint>] = &[
    //    method    path                access                     endpoint              log name
    route("GET",    "/api/health",      Access::Public,            Endpoint::Health,     "health"),
    route("GET",    "/api/me",          Access::Token,             Endpoint::Me,         "me"),
    route("GET",    "/api/todos",       Access::Scope(READ_TODOS), Endpoint::ListTodos,  "list_todos"),
    route("POST",   "/api/todos",       Access::Scope(WRITE_TODOS), Endpoint::CreateTodo, "create_todo"),
    route("PATCH",  "/api/todos/{id}",  Access::Scope(WRITE_TODOS), Endpoint::UpdateTodo, "update_todo"),
    route("DELETE", "/api/todos/{id}",  Access::Scope(WRITE_TODOS), Endpoint::DeleteTodo, "delete_todo"),
    route("GET",    "/api/billing",     Access::Scope(READ_BILLING), Endpoint::Billing,  "billing"),
];

/// Serves one request (`runtime::fetch`, called by `entry.mjs`, hands it here): the answer, and
/// the decision logged at `LOG_LEVEL=debug` (a 500 always).
pub async fn serve(request: Request, env: &Env) -> Response {
    let mut decision = Decision::new(request.method(), router::path_of_url(&request.url()));
    let config = load_config(env);
    let result = match &config {
        Ok(config) => handle(&request, env, config, &mut decision).await,
        Err(problem) => Err(ApiError::Config(problem.clone())),
    };
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            let answer = error.answer();
            decision.status = answer.status;
            decision.error = Some(answer.body.error);
            decision.reason = Some(match &error {
                // The cause of an internal error goes to the log, never to the client.
                ApiError::Internal(cause) => cause.clone(),
                _ => answer.body.error_description,
            });
            if answer.status == 500 {
                runtime::error(&decision.to_line());
            }
            http::error(&error)
        }
    };
    decision.status = response.status;
    if config.is_ok_and(|config| config.log_level == LogLevel::Debug) {
        runtime::log(&decision.to_line());
    }
    response
}

/// Routes, authenticates, checks the scope, and runs the handler.
async fn handle(
    request: &Request,
    env: &Env,
    config: &Config,
    decision: &mut Decision,
) -> Result<Response, ApiError> {
    let matched = router::resolve(ROUTES, &decision.method, &decision.path)?;
    let route = matched.route;
    decision.route = Some(route.name);

    let token = match route.access {
        Access::Public => None,
        Access::Token | Access::Scope(_) => {
            let authorization = request
                .header("Authorization")
                .map_err(ApiError::Internal)?;
            let token = auth::authenticate(authorization.as_deref(), config).await?;
            decision.sub = Some(token.subject.clone());
            if let Access::Scope(needed) = route.access {
                let granted = token.scopes.contains(needed);
                decision.scope = Some(ScopeDecision { needed, granted });
                token.scopes.require(needed)?;
            }
            Some(token)
        }
    };

    let id = matched.param.as_deref().unwrap_or_default();
    match (route.endpoint, token) {
        (Endpoint::Health, _) => routes::health::get(),
        (Endpoint::Me, Some(token)) => routes::me::get(&token),
        (Endpoint::ListTodos, Some(token)) => routes::todos::list(env, &token).await,
        (Endpoint::CreateTodo, Some(token)) => routes::todos::create(request, env, &token).await,
        (Endpoint::UpdateTodo, Some(token)) => {
            routes::todos::update(request, env, &token, id).await
        }
        (Endpoint::DeleteTodo, Some(token)) => routes::todos::delete(env, &token, id).await,
        (Endpoint::Billing, Some(token)) => routes::billing::get(&token),
        (endpoint, None) => Err(unauthenticated_route(endpoint)),
    }
}

/// A protected endpoint listed as public in the table is a bug: refuse rather than serve.
fn unauthenticated_route(endpoint: Endpoint) -> ApiError {
    ApiError::Internal(format!("{endpoint:?} is routed without a token"))
}

thread_local! {
    /// The configuration, read on the first request of the isolate (vars cannot change while
    /// an isolate lives).
    static CONFIG: OnceCell<Result<Rc<Config>, ConfigError>> = const { OnceCell::new() };
}

/// The isolate's configuration, read from the vars once.
fn load_config(env: &Env) -> Result<Rc<Config>, ConfigError> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| Config::from_vars(|name| env.var(name)).map(Rc::new))
            .clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_todo_write_needs_write_todos_and_reads_need_their_scope() {
        for route in ROUTES {
            let expected = match route.endpoint {
                Endpoint::Health => Access::Public,
                Endpoint::Me => Access::Token,
                Endpoint::ListTodos => Access::Scope(READ_TODOS),
                Endpoint::CreateTodo | Endpoint::UpdateTodo | Endpoint::DeleteTodo => {
                    Access::Scope(WRITE_TODOS)
                }
                Endpoint::Billing => Access::Scope(READ_BILLING),
            };
            assert_eq!(route.access, expected, "{}", route.name);
        }
    }

    #[test]
    fn the_table_resolves_each_documented_route() {
        let cases = [
            ("GET", "/api/health", Endpoint::Health),
            ("GET", "/api/me", Endpoint::Me),
            ("GET", "/api/todos", Endpoint::ListTodos),
            ("POST", "/api/todos", Endpoint::CreateTodo),
            ("PATCH", "/api/todos/0123456789abcdef", Endpoint::UpdateTodo),
            (
                "DELETE",
                "/api/todos/0123456789abcdef",
                Endpoint::DeleteTodo,
            ),
            ("GET", "/api/billing", Endpoint::Billing),
        ];
        for (method, path, endpoint) in cases {
            let matched = router::resolve(ROUTES, method, path).expect(path);
            assert_eq!(matched.route.endpoint, endpoint, "{method} {path}");
        }
    }
}
