//! `complete-todo`: marks a todo completed, or not (`PATCH /api/todos/{id} {completed}`, scope
//! `write:todos`).

use serde_json::{Map, Value, json};

use super::{Tool, ToolContext, ToolOutcome, field, reject_unknown, todo_of, todo_schema};
use crate::todos_client::{ApiCall, ApiMethod, LocalFuture, TodosError, encode_segment};

/// The longest id accepted, in bytes.
const MAX_ID_BYTES: usize = 128;

/// The `complete-todo` tool.
pub struct CompleteTodo;

impl Tool for CompleteTodo {
    fn name(&self) -> &'static str {
        "complete-todo"
    }
    fn title(&self) -> &'static str {
        "Complete a todo"
    }
    fn description(&self) -> &'static str {
        "Marks one of the signed-in user's todos as completed (or, with completed=false, as not completed) and returns it. Take the id from list-todos."
    }
    fn required_scope(&self) -> Option<&'static str> {
        Some("write:todos")
    }
    fn input_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{"id":{"type":"string","description":"The todo's id, as list-todos shows it."},"completed":{"type":"boolean","default":true,"description":"The new state; true unless given."}},"required":["id"],"additionalProperties":false}"#
    }
    fn output_schema(&self) -> &'static str {
        concat!(
            r#"{"type":"object","properties":{"todo":"#,
            todo_schema!(),
            r#"},"required":["todo"]}"#
        )
    }
    fn read_only(&self) -> bool {
        false
    }
    fn call<'a>(
        &'a self,
        arguments: &'a Map<String, Value>,
        context: &'a ToolContext<'a>,
    ) -> LocalFuture<'a, ToolOutcome> {
        Box::pin(async move {
            let (id, completed) = match parse(arguments) {
                Ok(parsed) => parsed,
                Err(message) => return ToolOutcome::Failed(message),
            };
            let call = ApiCall {
                method: ApiMethod::Patch,
                path: format!("/api/todos/{}", encode_segment(&id)),
                body: Some(json!({ "completed": completed })),
            };
            match context.todos.call(call).await {
                Ok(answer) => match todo_of(answer) {
                    Some(todo) => ToolOutcome::Done(field("todo", todo)),
                    None => ToolOutcome::from_api_error(TodosError::BadResponse),
                },
                Err(TodosError::NotFound) => {
                    ToolOutcome::Failed(format!("No todo with id `{id}` was found."))
                }
                Err(error) => ToolOutcome::from_api_error(error),
            }
        })
    }
}

/// The id (as a path segment's text) and the new state, or why the arguments are wrong.
fn parse(arguments: &Map<String, Value>) -> Result<(String, bool), String> {
    reject_unknown(arguments, &["id", "completed"])?;
    let id = match arguments.get("id") {
        Some(Value::String(id)) => id.trim().to_string(),
        // The schema says string; a whole number (as some models send ids) is taken as its digits.
        Some(Value::Number(number)) if number.is_i64() || number.is_u64() => number.to_string(),
        Some(_) => return Err("`id` must be a string or an integer.".into()),
        None => return Err("`id` is required.".into()),
    };
    // Dot segments would walk the API's path (RFC 3986 §5.2.4), even percent-encoded (WHATWG URL).
    if id.is_empty() || id.len() > MAX_ID_BYTES || id.chars().all(|c| c == '.') {
        return Err("`id` is not a valid todo id.".into());
    }
    let completed = match arguments.get("completed") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(completed)) => *completed,
        Some(_) => return Err("`completed` must be true or false.".into()),
    };
    Ok((id, completed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::testing::{FakeApi, run};

    #[test]
    fn patches_the_todo_completed_by_default() {
        let api = FakeApi::new(vec![Ok(
            json!({"todo":{"id":"a b","title":"x","completed":true}}),
        )]);
        let outcome = run(&CompleteTodo, json!({"id":"a b"}), &api);
        assert_eq!(
            outcome,
            ToolOutcome::Done(json!({"todo":{"id":"a b","title":"x","completed":true}}))
        );
        let calls = api.calls.borrow();
        assert_eq!(
            (calls[0].method, calls[0].path.as_str()),
            (ApiMethod::Patch, "/api/todos/a%20b")
        );
        assert_eq!(calls[0].body, Some(json!({"completed":true})));
    }

    #[test]
    fn integer_ids_and_reopening_work() {
        let api = FakeApi::new(vec![Ok(json!({"id":3,"title":"x","completed":false}))]);
        run(&CompleteTodo, json!({"id":3,"completed":false}), &api);
        assert_eq!(api.calls.borrow()[0].path, "/api/todos/3");
        assert_eq!(api.calls.borrow()[0].body, Some(json!({"completed":false})));
    }

    #[test]
    fn unknown_id_and_dot_segments_are_tool_errors() {
        let api = FakeApi::new(vec![Err(TodosError::NotFound)]);
        assert!(
            matches!(run(&CompleteTodo, json!({"id":"9"}), &api), ToolOutcome::Failed(m) if m.contains("`9`"))
        );
        let api = FakeApi::new(vec![]);
        assert!(matches!(
            run(&CompleteTodo, json!({"id":".."}), &api),
            ToolOutcome::Failed(_)
        ));
        assert!(matches!(
            run(&CompleteTodo, json!({"id":1.5}), &api),
            ToolOutcome::Failed(_)
        ));
    }
}
