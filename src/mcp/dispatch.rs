//! The MCP method dispatcher: one parsed message in, one reply out, free of transport types.
//!
//! Errors are split by whose problem they are (MCP 2025-11-25 server/tools §Error Handling): a
//! message that cannot be routed or whose params do not parse is a JSON-RPC error; a tool that ran
//! and failed is a result with `isError: true`; a grant that lacks a scope (for clients that
//! understand the step-up challenge) or an upstream token the ToDos API rejected is answered at
//! the HTTP level ([`HttpFailure`]), so the client can re-authorize or refresh.

use serde_json::{Map, Value, json};

use super::jsonrpc::{ErrorCode, Incoming, Request, RpcError, error_response, result_response};
use super::version::ProtocolVersion;
use crate::grant::Caller;
use crate::log;
use crate::todos_client::{TodosApi, TodosError};
use crate::tools::{self, Tool, ToolContext, ToolOutcome};

/// The `_meta` key that carries a request's protocol version (MCP 2026-07-28 basic §_meta).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key that carries the server's identity on results (MCP 2026-07-28 schema `ResultMetaObject`).
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// How long clients may cache `tools/list` and `server/discover` (MCP 2026-07-28 `CacheableResult.ttlMs`).
const LIST_TTL_MS: u64 = 300_000;

/// What the server tells the model about itself (`instructions`).
const INSTRUCTIONS: &str = "Tools for the signed-in user's ToDos account: whoami shows who is signed in; \
list-todos, add-todo and complete-todo manage their todo list; list-billing shows their billing record.";

/// Everything a reply may need besides the message.
pub struct Dispatcher<'a> {
    /// Who is calling (grant props and token facts).
    pub caller: &'a Caller,
    /// The ToDos API on the caller's behalf.
    pub todos: &'a dyn TodosApi,
    /// Milliseconds since the epoch (injected so host tests need no JS clock).
    pub now_ms: fn() -> f64,
}

/// A failure answered with an HTTP status instead of a JSON-RPC message.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpFailure {
    /// 403 with an RFC 6750 `insufficient_scope` challenge naming `scope` (MCP 2025-11-25
    /// basic/authorization §Runtime Insufficient Scope Errors).
    InsufficientScope {
        /// The scope the tool needs.
        needed: &'static str,
        /// The challenge's `scope` value: what the client should ask for.
        challenge_scope: String,
    },
    /// 401 `invalid_token`: the ToDos API rejected the upstream token; refreshing the MCP token
    /// refreshes it (RFC 6750 §3.1).
    UpstreamTokenRejected,
}

/// The reply to one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A JSON-RPC response (result or error).
    Message(Value),
    /// Nothing: the message was a notification or a response.
    Nothing,
    /// An HTTP-level answer.
    Http(HttpFailure),
}

impl Reply {
    /// The JSON-RPC error code of a `Message` reply that is an error.
    pub fn error_code(&self) -> Option<i64> {
        match self {
            Reply::Message(value) => value.get("error")?.get("code")?.as_i64(),
            _ => None,
        }
    }
}

impl Dispatcher<'_> {
    /// Handles one message spoken in `version` (the transport decided it; `initialize` negotiates).
    pub async fn handle(&self, message: Incoming, version: ProtocolVersion) -> Reply {
        match message {
            Incoming::Request(request) => {
                let id = request.id.clone();
                let outcome = self.request(request, version).await;
                match outcome {
                    Ok(Answer::Result(result)) => {
                        Reply::Message(result_response(&id, decorate(result, version)))
                    }
                    Ok(Answer::Http(failure)) => Reply::Http(failure),
                    Err(error) => Reply::Message(error_response(Some(&id), &error)),
                }
            }
            Incoming::Invalid(id, error) => Reply::Message(error_response(id.as_ref(), &error)),
            // Notifications (`notifications/initialized`, `notifications/cancelled`, …) need no
            // action from a stateless server; responses answer nothing this server asked.
            Incoming::Notification(_) | Incoming::Response => Reply::Nothing,
        }
    }

    async fn request(
        &self,
        request: Request,
        version: ProtocolVersion,
    ) -> Result<Answer, RpcError> {
        let params = request.params.unwrap_or_default();
        match request.method.as_str() {
            "initialize" => initialize(&params).map(Answer::Result),
            "ping" => Ok(Answer::Result(json!({}))),
            "server/discover" => Ok(Answer::Result(discover())),
            "tools/list" => self.list_tools(&params, version).map(Answer::Result),
            "tools/call" => self.call_tool(&params, version).await,
            other => Err(RpcError::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!("Method not found: {other}"),
            )),
        }
    }

    fn list_tools(
        &self,
        params: &Map<String, Value>,
        version: ProtocolVersion,
    ) -> Result<Value, RpcError> {
        // This server never hands out a cursor, so any cursor is invalid (MCP server/utilities/pagination).
        if params.get("cursor").is_some_and(|cursor| !cursor.is_null()) {
            return Err(RpcError::new(
                ErrorCode::INVALID_PARAMS,
                "Invalid params: unknown cursor",
            ));
        }
        let tools: Vec<Value> = tools::all()
            .iter()
            .map(|tool| describe(*tool, version, self.caller))
            .collect();
        let callable: Vec<&str> = tools::all()
            .iter()
            .filter(|tool| {
                tool.required_scope()
                    .is_none_or(|scope| self.caller.has_scope(scope))
            })
            .map(|tool| tool.name())
            .collect();
        log::debug!(
            "mcp.tools_listed",
            "user" => self.caller.user_id,
            "client_id" => self.caller.client_id,
            "version" => version.as_str(),
            "callable" => callable,
        );
        let mut result = json!({ "tools": tools });
        if version.is_modern() {
            // The list depends on the grant's scopes: only the client itself may cache it.
            result["ttlMs"] = json!(LIST_TTL_MS);
            result["cacheScope"] = json!("private");
        }
        Ok(result)
    }

    async fn call_tool(
        &self,
        params: &Map<String, Value>,
        version: ProtocolVersion,
    ) -> Result<Answer, RpcError> {
        let name = match params.get("name") {
            Some(Value::String(name)) => name,
            _ => {
                return Err(RpcError::new(
                    ErrorCode::INVALID_PARAMS,
                    "Invalid params: `name` must be a string",
                ));
            }
        };
        let Some(tool) = tools::find(name) else {
            return Err(RpcError::new(
                ErrorCode::INVALID_PARAMS,
                format!("Invalid params: unknown tool `{name}`"),
            ));
        };
        let empty = Map::new();
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(arguments)) => arguments,
            Some(_) => {
                return Err(RpcError::new(
                    ErrorCode::INVALID_PARAMS,
                    "Invalid params: `arguments` must be an object",
                ));
            }
        };
        if let Some(scope) = tool.required_scope() {
            let granted = self.caller.has_scope(scope);
            // A scope the identity provider was asked for and refused (Auth0 RBAC: a permission
            // the user does not hold) is not the client's to fix: a step-up challenge would send
            // the user through consent and sign-in again for a grant that lacks it again (MCP
            // 2025-11-25 authorization, "Scope Challenge Handling", is for scopes re-authorizing
            // can add). So it is a tool error naming the cause, in every version.
            let withheld = !granted && self.caller.props.upstream.withheld(scope);
            let step_up = !granted && !withheld && version.has_step_up();
            log::debug!(
                "mcp.scope_decision",
                "tool" => tool.name(),
                "scope" => scope,
                "granted" => granted,
                "user" => self.caller.user_id,
                "client_id" => self.caller.client_id,
                "answer" => if granted { "run" } else if step_up { "step_up_403" } else if withheld { "withheld_upstream" } else { "tool_error" },
            );
            if step_up {
                return Ok(Answer::Http(HttpFailure::InsufficientScope {
                    needed: scope,
                    challenge_scope: step_up_scope(&self.caller.scopes, scope),
                }));
            }
            if !granted {
                return Ok(Answer::Result(tool_result(
                    version,
                    ToolOutcome::Failed(missing_scope_message(tool.name(), scope, withheld)),
                )));
            }
        }
        let started = (self.now_ms)();
        let context = ToolContext {
            user: &self.caller.props.user,
            scopes: &self.caller.scopes,
            todos: self.todos,
        };
        let outcome = tool.call(arguments, &context).await;
        log::debug!("mcp.tool_called", "tool" => tool.name(), "user" => self.caller.user_id, "client_id" => self.caller.client_id, "outcome" => match &outcome {
                    ToolOutcome::Done(_) => "ok",
                    ToolOutcome::Failed(_) => "tool_error",
                    ToolOutcome::UpstreamUnauthorized => "upstream_token_rejected",
                }, "duration_ms" => ((self.now_ms)() - started).max(0.0) as u64);
        if outcome == ToolOutcome::UpstreamUnauthorized {
            return Ok(Answer::Http(HttpFailure::UpstreamTokenRejected));
        }
        Ok(Answer::Result(tool_result(version, outcome)))
    }
}

/// A handled request: a result, or an HTTP-level answer.
enum Answer {
    Result(Value),
    Http(HttpFailure),
}

/// The `initialize` result (MCP 2025-11-25 basic/lifecycle §Initialization).
fn initialize(params: &Map<String, Value>) -> Result<Value, RpcError> {
    let Some(Value::String(requested)) = params.get("protocolVersion") else {
        return Err(RpcError::new(
            ErrorCode::INVALID_PARAMS,
            "Invalid params: `protocolVersion` must be a string",
        ));
    };
    let version = ProtocolVersion::negotiate(requested);
    log::debug!("mcp.initialize", "requested" => requested, "negotiated" => version.as_str());
    Ok(json!({
        "protocolVersion": version.as_str(),
        "capabilities": capabilities(),
        "serverInfo": server_info(version),
        "instructions": INSTRUCTIONS,
    }))
}

/// The `server/discover` result (MCP 2026-07-28 server/discover).
fn discover() -> Value {
    json!({
        "supportedVersions": ProtocolVersion::supported_strings(),
        "capabilities": capabilities(),
        "instructions": INSTRUCTIONS,
        "ttlMs": LIST_TTL_MS,
        "cacheScope": "public",
    })
}

fn capabilities() -> Value {
    json!({ "tools": { "listChanged": false } })
}

fn server_info(version: ProtocolVersion) -> Value {
    let mut info = json!({ "name": "mcp-worker", "version": env!("CARGO_PKG_VERSION") });
    if version.has_structured_output() {
        info["title"] = json!("ToDos MCP server");
    }
    info
}

/// Adds what every 2026-07-28 result carries: `resultType` and the server's identity
/// (MCP 2026-07-28 changelog §2, §8).
fn decorate(mut result: Value, version: ProtocolVersion) -> Value {
    if version.is_modern()
        && let Value::Object(object) = &mut result
    {
        object.insert("resultType".into(), json!("complete"));
        let meta = object.entry("_meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert(META_SERVER_INFO.into(), server_info(version));
        }
    }
    result
}

/// Why a tool cannot run for want of `scope`, and what the user can do about it.
fn missing_scope_message(tool: &str, scope: &str, withheld: bool) -> String {
    if withheld {
        format!(
            "The `{tool}` tool needs the `{scope}` permission, which your account does not hold at the \
             identity provider: it was asked for when you signed in and not granted. Once an \
             administrator grants it, reconnect to use this tool."
        )
    } else {
        format!(
            "The `{tool}` tool needs the `{scope}` scope, which this connection was not granted. \
             Reconnect and approve `{scope}` on the consent page to use it."
        )
    }
}

/// A tool as `tools/list` shows it to `version`. Every tool is listed, callable or not: a tool
/// the grant cannot call says so in its description and `_meta`, because calling it is how a
/// 2025-11-25 client learns which scope to ask for (step-up), and a list that only depends on
/// the grant stays deterministic (MCP 2026-07-28 changelog minor §3).
pub fn describe(tool: &dyn Tool, version: ProtocolVersion, caller: &Caller) -> Value {
    let missing = tool
        .required_scope()
        .filter(|scope| !caller.has_scope(scope));
    let description = match missing {
        None => tool.description().to_string(),
        Some(scope) if caller.props.upstream.withheld(scope) => format!(
            "{} Needs the `{scope}` permission, which the signed-in account does not hold at the identity provider.",
            tool.description()
        ),
        Some(scope) if version.has_step_up() => format!(
            "{} Needs the `{scope}` scope, which this connection was not granted: calling it asks the client to re-authorize with `{scope}`.",
            tool.description()
        ),
        Some(scope) => format!(
            "{} Needs the `{scope}` scope, which this connection was not granted: reconnect and approve it to use this tool.",
            tool.description()
        ),
    };
    let mut descriptor = json!({
        "name": tool.name(),
        "description": description,
        "inputSchema": schema(tool.input_schema()),
    });
    if version.has_tool_annotations() {
        descriptor["annotations"] = json!({
            "title": tool.title(),
            "readOnlyHint": tool.read_only(),
            "destructiveHint": false,
            "idempotentHint": tool.read_only() || tool.name() == "complete-todo",
            "openWorldHint": false,
        });
    }
    if version.has_structured_output() {
        descriptor["title"] = json!(tool.title());
        descriptor["outputSchema"] = schema(tool.output_schema());
        descriptor["_meta"] = json!({
            "requiredScopes": tool.required_scope().map(|scope| vec![scope]).unwrap_or_default(),
            "authorized": missing.is_none(),
        });
    }
    descriptor
}

/// A tool's static JSON Schema text as a value (the texts are checked by the tools' tests).
fn schema(text: &str) -> Value {
    crate::json::parse(text).unwrap_or_default()
}

fn error_result(message: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": message }], "isError": true })
}

/// A `tools/call` result: text content always, `structuredContent` for versions that have it.
pub fn tool_result(version: ProtocolVersion, outcome: ToolOutcome) -> Value {
    match outcome {
        ToolOutcome::Done(structured) => {
            // MCP 2025-06-18 server/tools §Structured Content: also the serialized JSON as text,
            // for clients that do not read structuredContent.
            let mut result = json!({ "content": [{ "type": "text", "text": crate::json::write(&structured) }], "isError": false });
            if version.has_structured_output() {
                result["structuredContent"] = structured;
            }
            result
        }
        ToolOutcome::Failed(message) => error_result(&message),
        // Answered with HTTP 401 by `call_tool`; kept total for the type's sake.
        ToolOutcome::UpstreamUnauthorized => error_result(&TodosError::Unauthorized.user_message()),
    }
}

/// The `scope` of a step-up challenge: the scopes the grant holds plus the one needed, so that
/// re-authorizing does not lose what the user already approved (MCP 2025-11-25
/// basic/authorization §Scope Challenge Handling lets the server name the full set).
pub fn step_up_scope(granted: &[String], needed: &str) -> String {
    let mut scopes: Vec<&str> = granted
        .iter()
        .map(String::as_str)
        .filter(|scope| *scope != needed)
        .collect();
    scopes.push(needed);
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::{GrantProps, UpstreamTokens, UserClaims};
    use crate::mcp::jsonrpc::parse_message;
    use crate::todos_client::TodosError;
    use crate::tools::testing::{FakeApi, block_on};
    use ProtocolVersion as V;

    fn caller(scopes: &[&str]) -> Caller {
        Caller {
            props: GrantProps {
                user: UserClaims {
                    sub: "auth0|alice".into(),
                    ..Default::default()
                },
                upstream: UpstreamTokens {
                    access_token: "upstream-secret".into(),
                    refresh_token: None,
                    id_token: None,
                    expires_at: 0,
                    scope: vec![],
                    requested: vec![],
                },
            },
            user_id: "alice".into(),
            client_id: "client-1".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn handle(caller: &Caller, api: &FakeApi, message: Value, version: V) -> Reply {
        let dispatcher = Dispatcher {
            caller,
            todos: api,
            now_ms: || 0.0,
        };
        block_on(dispatcher.handle(parse_message(message), version))
    }

    fn result(reply: Reply) -> Value {
        match reply {
            Reply::Message(mut value) => value["result"].take(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn call(name: &str) -> Value {
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{}}})
    }

    #[test]
    fn initialize_echoes_a_supported_version_and_offers_the_latest_otherwise() {
        let (c, api) = (caller(&[]), FakeApi::new(vec![]));
        for version in V::ALL {
            let message = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":version.as_str(),"capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
            let r = result(handle(&c, &api, message, V::HTTP_DEFAULT));
            assert_eq!(r["protocolVersion"], version.as_str());
            assert_eq!(r["capabilities"]["tools"]["listChanged"], false);
        }
        let message = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2099-01-01"}});
        assert_eq!(
            result(handle(&c, &api, message, V::HTTP_DEFAULT))["protocolVersion"],
            V::LATEST.as_str()
        );
    }

    #[test]
    fn initialize_without_a_version_is_invalid_params() {
        let message = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}});
        assert_eq!(
            handle(
                &caller(&[]),
                &FakeApi::new(vec![]),
                message,
                V::HTTP_DEFAULT
            )
            .error_code(),
            Some(-32602)
        );
    }

    #[test]
    fn unknown_method_is_method_not_found_and_notifications_get_nothing() {
        let (c, api) = (caller(&[]), FakeApi::new(vec![]));
        let reply = handle(
            &c,
            &api,
            json!({"jsonrpc":"2.0","id":"x","method":"resources/list"}),
            V::V2025_06_18,
        );
        assert_eq!(reply.error_code(), Some(-32601));
        let reply = handle(
            &c,
            &api,
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            V::V2025_06_18,
        );
        assert_eq!(reply, Reply::Nothing);
    }

    #[test]
    fn tools_list_is_ordered_and_says_what_the_grant_can_call() {
        let c = caller(&["read:todos"]);
        let r = result(handle(
            &c,
            &FakeApi::new(vec![]),
            json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
            V::V2025_06_18,
        ));
        let tools = r["tools"].as_array().unwrap();
        let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "whoami",
                "list-todos",
                "list-billing",
                "add-todo",
                "complete-todo"
            ]
        );
        assert_eq!(tools[1]["_meta"]["authorized"], true);
        assert_eq!(tools[2]["_meta"]["authorized"], false);
        assert!(
            tools[2]["description"]
                .as_str()
                .unwrap()
                .contains("read:billing")
        );
        assert!(tools[0]["outputSchema"].is_object());
    }

    #[test]
    fn old_versions_get_no_output_schema_and_modern_gets_cache_fields() {
        let c = caller(&[]);
        let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
        let old = result(handle(
            &c,
            &FakeApi::new(vec![]),
            list.clone(),
            V::V2024_11_05,
        ));
        assert!(old["tools"][0].get("outputSchema").is_none());
        assert!(old["tools"][0].get("annotations").is_none());
        let modern = result(handle(&c, &FakeApi::new(vec![]), list, V::V2026_07_28));
        assert_eq!(modern["resultType"], "complete");
        assert_eq!(modern["cacheScope"], "private");
        assert_eq!(modern["_meta"][META_SERVER_INFO]["name"], "mcp-worker");
    }

    #[test]
    fn tool_results_carry_structured_content_from_2025_06_18() {
        let c = caller(&["read:todos"]);
        let api = FakeApi::new(vec![Ok(json!([{"id":"1","title":"a","completed":false}]))]);
        let r = result(handle(&c, &api, call("list-todos"), V::V2025_06_18));
        assert_eq!(r["isError"], false);
        assert_eq!(r["structuredContent"]["todos"][0]["title"], "a");
        let api = FakeApi::new(vec![Ok(json!([]))]);
        let r = result(handle(&c, &api, call("list-todos"), V::V2025_03_26));
        assert!(r.get("structuredContent").is_none());
        assert_eq!(r["content"][0]["text"], r#"{"todos":[]}"#);
    }

    #[test]
    fn missing_scope_is_a_step_up_challenge_from_2025_11_25_and_a_tool_error_before() {
        let c = caller(&["openid", "read:todos"]);
        let api = FakeApi::new(vec![]);
        let reply = handle(&c, &api, call("list-billing"), V::V2025_11_25);
        assert_eq!(
            reply,
            Reply::Http(HttpFailure::InsufficientScope {
                needed: "read:billing",
                challenge_scope: "openid read:todos read:billing".into()
            })
        );
        let r = result(handle(&c, &api, call("list-billing"), V::V2025_06_18));
        assert_eq!(r["isError"], true);
        assert!(
            r["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("read:billing")
        );
        assert!(api.calls.borrow().is_empty());
    }

    #[test]
    fn a_scope_the_identity_provider_withheld_is_a_tool_error_never_a_step_up() {
        let mut c = caller(&["openid", "read:todos"]);
        c.props.upstream.scope = vec!["openid".into(), "read:todos".into()];
        c.props.upstream.requested =
            vec!["openid".into(), "read:todos".into(), "read:billing".into()];
        let api = FakeApi::new(vec![]);
        for version in [V::V2025_11_25, V::V2025_06_18] {
            let r = result(handle(&c, &api, call("list-billing"), version));
            assert_eq!(r["isError"], true, "{version:?}");
            let text = r["content"][0]["text"].as_str().unwrap();
            assert!(text.contains("`read:billing` permission"), "{text}");
            assert!(text.contains("identity provider"), "{text}");
        }
        assert!(api.calls.borrow().is_empty());
        let listed = describe(tools::find("list-billing").unwrap(), V::V2025_11_25, &c);
        assert_eq!(listed["_meta"]["authorized"], false);
        assert!(
            listed["description"]
                .as_str()
                .unwrap()
                .contains("does not hold at the identity provider")
        );
        // A scope left unticked was never asked for: step-up can still add it.
        c.props.upstream.requested = vec!["openid".into(), "read:todos".into()];
        assert!(matches!(
            handle(&c, &api, call("list-billing"), V::V2025_11_25),
            Reply::Http(HttpFailure::InsufficientScope { .. })
        ));
    }

    #[test]
    fn api_failures_are_tool_errors_and_a_rejected_upstream_token_is_http_401() {
        let c = caller(&["read:todos"]);
        let api = FakeApi::new(vec![Err(TodosError::Timeout(100))]);
        let r = result(handle(&c, &api, call("list-todos"), V::V2025_11_25));
        assert_eq!(r["isError"], true);
        let api = FakeApi::new(vec![Err(TodosError::Unauthorized)]);
        assert_eq!(
            handle(&c, &api, call("list-todos"), V::V2025_11_25),
            Reply::Http(HttpFailure::UpstreamTokenRejected)
        );
    }

    #[test]
    fn bad_tools_call_params_are_invalid_params() {
        let (c, api) = (caller(&[]), FakeApi::new(vec![]));
        for params in [
            json!({}),
            json!({"name":"nope"}),
            json!({"name":"whoami","arguments":[1]}),
        ] {
            let message = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":params});
            assert_eq!(
                handle(&c, &api, message, V::V2025_06_18).error_code(),
                Some(-32602),
                "{params}"
            );
        }
    }

    #[test]
    fn whoami_never_shows_a_token() {
        let c = caller(&[]);
        let r = result(handle(
            &c,
            &FakeApi::new(vec![]),
            call("whoami"),
            V::V2025_06_18,
        ));
        assert_eq!(r["structuredContent"]["user"]["sub"], "auth0|alice");
        assert!(!r.to_string().contains("upstream-secret"));
    }

    #[test]
    fn discover_lists_every_supported_version() {
        let r = result(handle(
            &caller(&[]),
            &FakeApi::new(vec![]),
            json!({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}),
            V::V2026_07_28,
        ));
        assert_eq!(
            r["supportedVersions"],
            json!([
                "2026-07-28",
                "2025-11-25",
                "2025-06-18",
                "2025-03-26",
                "2024-11-05"
            ])
        );
        assert_eq!(r["resultType"], "complete");
    }
}
