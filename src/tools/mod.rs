//! The MCP tools, one file each behind the [`Tool`] trait, listed in a fixed order.
//!
//! A tool validates its arguments, makes its ToDos API calls through [`TodosApi`] and returns a
//! [`ToolOutcome`]; the dispatcher turns that into a `tools/call` result for the client's protocol
//! version, and does the scope check before the tool runs (a tool never sees a token).

mod add_todo;
mod complete_todo;
mod list_billing;
mod list_todos;
mod whoami;

use serde_json::{Map, Value};

use crate::grant::UserClaims;
use crate::todos_client::{LocalFuture, TodosApi, TodosError};

/// What a tool call can use: who is calling, and the ToDos API on their behalf.
pub struct ToolContext<'a> {
    /// The signed-in user's identity claims.
    pub user: &'a UserClaims,
    /// The scopes of the caller's MCP token.
    pub scopes: &'a [String],
    /// The ToDos API, called with the user's upstream token.
    pub todos: &'a dyn TodosApi,
}

/// How a tool call ended.
#[derive(Debug, PartialEq)]
pub enum ToolOutcome {
    /// Success: the structured result (always a JSON object).
    Done(Value),
    /// The tool ran and failed: a message for the model and the user (`isError: true`,
    /// MCP 2025-11-25 server/tools §Error Handling).
    Failed(String),
    /// The ToDos API rejected the upstream token: the MCP client must refresh its token
    /// (answered with HTTP 401 `invalid_token`, RFC 6750 §3.1).
    UpstreamUnauthorized,
}

impl ToolOutcome {
    /// The outcome of a failed ToDos API call.
    pub fn from_api_error(error: TodosError) -> Self {
        match error {
            TodosError::Unauthorized => Self::UpstreamUnauthorized,
            other => Self::Failed(other.user_message()),
        }
    }
}

/// One MCP tool.
pub trait Tool {
    /// The programmatic name (`tools/call` `name`).
    fn name(&self) -> &'static str;
    /// The human-readable title (MCP 2025-06-18 and later).
    fn title(&self) -> &'static str;
    /// What the tool does, for the model.
    fn description(&self) -> &'static str;
    /// The OAuth scope the grant must hold, if any.
    fn required_scope(&self) -> Option<&'static str>;
    /// JSON Schema of the arguments, as JSON text (static text costs less Wasm than `json!`).
    fn input_schema(&self) -> &'static str;
    /// JSON Schema of `structuredContent` (MCP 2025-06-18 server/tools §Output Schema), as JSON text.
    fn output_schema(&self) -> &'static str;
    /// Whether the tool only reads (MCP 2025-03-26 server/tools annotations `readOnlyHint`).
    fn read_only(&self) -> bool;
    /// Runs the tool; `arguments` is the (possibly empty) arguments object.
    fn call<'a>(
        &'a self,
        arguments: &'a Map<String, Value>,
        context: &'a ToolContext<'a>,
    ) -> LocalFuture<'a, ToolOutcome>;
}

static WHOAMI: whoami::WhoAmI = whoami::WhoAmI;
static LIST_TODOS: list_todos::ListTodos = list_todos::ListTodos;
static LIST_BILLING: list_billing::ListBilling = list_billing::ListBilling;
static ADD_TODO: add_todo::AddTodo = add_todo::AddTodo;
static COMPLETE_TODO: complete_todo::CompleteTodo = complete_todo::CompleteTodo;

/// Every tool, in the order `tools/list` shows them (stable, as MCP 2026-07-28 server/tools asks
/// for client-side caching).
pub fn all() -> [&'static dyn Tool; 5] {
    [
        &WHOAMI,
        &LIST_TODOS,
        &LIST_BILLING,
        &ADD_TODO,
        &COMPLETE_TODO,
    ]
}

/// The tool called `name`.
pub fn find(name: &str) -> Option<&'static dyn Tool> {
    all().into_iter().find(|tool| tool.name() == name)
}

/// The JSON Schema of a todo item as the ToDos API returns it (JSON text, for `concat!`): its ids
/// are strings. One plain type per field, since some clients validate unions poorly.
macro_rules! todo_schema {
    () => {
        r#"{"type":"object","properties":{"id":{"type":"string"},"title":{"type":"string"},"completed":{"type":"boolean"}},"required":["id","title","completed"]}"#
    };
}
pub(crate) use todo_schema;

/// `{key: value}`, with `value` moved in (`json!` would copy it through `serde_json::to_value`).
fn field(key: &str, value: Value) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

/// The list of todos in an API answer: a bare array, or `{"todos": [...]}`.
fn todos_of(answer: Value) -> Option<Vec<Value>> {
    match answer {
        Value::Array(items) => Some(items),
        Value::Object(mut object) => match object.remove("todos") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

/// The todo in an API answer: the object itself, or `{"todo": {...}}`.
fn todo_of(answer: Value) -> Option<Value> {
    match answer {
        Value::Object(mut object) => match object.remove("todo") {
            Some(todo @ Value::Object(_)) => Some(todo),
            Some(_) => None,
            None => Some(Value::Object(object)),
        },
        _ => None,
    }
}

/// Rejects arguments a tool does not define (its schema sets `additionalProperties: false`).
fn reject_unknown(arguments: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match arguments.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "Unknown argument `{key}`; this tool takes: {}.",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fake ToDos API and a tiny executor for host tests.

    use std::cell::RefCell;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use super::*;
    use crate::todos_client::ApiCall;

    /// Answers each call with the next scripted result and records the calls.
    pub struct FakeApi {
        pub answers: RefCell<Vec<Result<Value, TodosError>>>,
        pub calls: RefCell<Vec<ApiCall>>,
    }

    impl FakeApi {
        pub fn new(answers: Vec<Result<Value, TodosError>>) -> Self {
            Self {
                answers: RefCell::new(answers),
                calls: RefCell::new(Vec::new()),
            }
        }
    }

    impl TodosApi for FakeApi {
        fn call(&self, call: ApiCall) -> LocalFuture<'_, Result<Value, TodosError>> {
            self.calls.borrow_mut().push(call);
            let answer = self.answers.borrow_mut().remove(0);
            Box::pin(async move { answer })
        }
    }

    /// Runs a future that never waits on anything external.
    pub fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    /// Runs `tool` with `arguments` against `api`.
    pub fn run(tool: &dyn Tool, arguments: Value, api: &FakeApi) -> ToolOutcome {
        let user = UserClaims {
            sub: "auth0|alice".into(),
            email: Some("alice@example.com".into()),
            ..Default::default()
        };
        let scopes = vec!["read:todos".to_string()];
        let context = ToolContext {
            user: &user,
            scopes: &scopes,
            todos: api,
        };
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object")
        };
        block_on(tool.call(&arguments, &context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tools_are_listed_in_a_stable_order_with_unique_names() {
        let names: Vec<_> = all().iter().map(|tool| tool.name()).collect();
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
    }

    #[test]
    fn every_schema_is_an_object_schema() {
        for tool in all() {
            let input: Value =
                crate::json::parse(tool.input_schema()).expect("input schema is JSON");
            let output: Value =
                crate::json::parse(tool.output_schema()).expect("output schema is JSON");
            assert_eq!(input["type"], "object", "{}", tool.name());
            assert_eq!(output["type"], "object", "{}", tool.name());
            assert!(!tool.description().is_empty());
        }
    }

    #[test]
    fn scopes_are_the_todos_api_scopes() {
        let scopes: Vec<_> = all().iter().map(|tool| tool.required_scope()).collect();
        assert_eq!(
            scopes,
            [
                None,
                Some("read:todos"),
                Some("read:billing"),
                Some("write:todos"),
                Some("write:todos")
            ]
        );
    }

    #[test]
    fn api_answers_in_both_shapes_are_read() {
        assert_eq!(todos_of(json!([{"id":1}])), Some(vec![json!({"id":1})]));
        assert_eq!(todos_of(json!({"todos":[]})), Some(vec![]));
        assert_eq!(todos_of(json!("x")), None);
        assert_eq!(todo_of(json!({"todo":{"id":1}})), Some(json!({"id":1})));
        assert_eq!(todo_of(json!({"id":1})), Some(json!({"id":1})));
    }
}
