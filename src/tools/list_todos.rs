//! `list-todos`: the user's todos (`GET /api/todos`, scope `read:todos`).

use serde_json::{Map, Value};

use super::{Tool, ToolContext, ToolOutcome, field, reject_unknown, todo_schema, todos_of};
use crate::todos_client::{ApiCall, LocalFuture, TodosError};

/// The `list-todos` tool.
pub struct ListTodos;

impl Tool for ListTodos {
    fn name(&self) -> &'static str {
        "list-todos"
    }
    fn title(&self) -> &'static str {
        "List todos"
    }
    fn description(&self) -> &'static str {
        "Lists the signed-in user's todos from the ToDos API, with their ids and whether each is completed."
    }
    fn required_scope(&self) -> Option<&'static str> {
        Some("read:todos")
    }
    fn input_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{},"additionalProperties":false}"#
    }
    fn output_schema(&self) -> &'static str {
        concat!(
            r#"{"type":"object","properties":{"todos":{"type":"array","items":"#,
            todo_schema!(),
            r#"}},"required":["todos"]}"#
        )
    }
    fn read_only(&self) -> bool {
        true
    }
    fn call<'a>(
        &'a self,
        arguments: &'a Map<String, Value>,
        context: &'a ToolContext<'a>,
    ) -> LocalFuture<'a, ToolOutcome> {
        Box::pin(async move {
            if let Err(message) = reject_unknown(arguments, &[]) {
                return ToolOutcome::Failed(message);
            }
            match context.todos.call(ApiCall::get("/api/todos")).await {
                Ok(answer) => match todos_of(answer) {
                    Some(todos) => ToolOutcome::Done(field("todos", Value::Array(todos))),
                    None => ToolOutcome::from_api_error(TodosError::BadResponse),
                },
                Err(error) => ToolOutcome::from_api_error(error),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::todos_client::ApiMethod;
    use crate::tools::testing::{FakeApi, run};
    use serde_json::json;

    #[test]
    fn lists_what_the_api_holds() {
        let api = FakeApi::new(vec![Ok(
            json!({"todos":[{"id":"1","title":"a","completed":false}]}),
        )]);
        let outcome = run(&ListTodos, json!({}), &api);
        assert_eq!(
            outcome,
            ToolOutcome::Done(json!({"todos":[{"id":"1","title":"a","completed":false}]}))
        );
        assert_eq!(api.calls.borrow()[0].method, ApiMethod::Get);
        assert_eq!(api.calls.borrow()[0].path, "/api/todos");
    }

    #[test]
    fn api_down_is_a_tool_error_and_401_asks_for_a_refresh() {
        let api = FakeApi::new(vec![Err(TodosError::Unreachable(
            "connection refused".into(),
        ))]);
        assert!(
            matches!(run(&ListTodos, json!({}), &api), ToolOutcome::Failed(m) if m.contains("could not be reached"))
        );
        let api = FakeApi::new(vec![Err(TodosError::Unauthorized)]);
        assert_eq!(
            run(&ListTodos, json!({}), &api),
            ToolOutcome::UpstreamUnauthorized
        );
    }
}
