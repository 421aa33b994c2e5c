//! `add-todo`: creates a todo (`POST /api/todos {title}`, scope `write:todos`).

use serde_json::{Map, Value, json};

use super::{Tool, ToolContext, ToolOutcome, field, reject_unknown, todo_of, todo_schema};
use crate::todos_client::{ApiCall, ApiMethod, LocalFuture, TodosError};

/// The longest title accepted, in characters (the ToDos API's own limit).
const MAX_TITLE_CHARS: usize = 200;

/// The `add-todo` tool.
pub struct AddTodo;

impl Tool for AddTodo {
    fn name(&self) -> &'static str {
        "add-todo"
    }
    fn title(&self) -> &'static str {
        "Add a todo"
    }
    fn description(&self) -> &'static str {
        "Adds a todo with the given title to the signed-in user's list and returns it with its new id."
    }
    fn required_scope(&self) -> Option<&'static str> {
        Some("write:todos")
    }
    fn input_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{"title":{"type":"string","minLength":1,"maxLength":200,"description":"What is to be done."}},"required":["title"],"additionalProperties":false}"#
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
            let title = match parse(arguments) {
                Ok(title) => title,
                Err(message) => return ToolOutcome::Failed(message),
            };
            let call = ApiCall {
                method: ApiMethod::Post,
                path: "/api/todos".into(),
                body: Some(json!({ "title": title })),
            };
            match context.todos.call(call).await {
                Ok(answer) => match todo_of(answer) {
                    Some(todo) => ToolOutcome::Done(field("todo", todo)),
                    None => ToolOutcome::from_api_error(TodosError::BadResponse),
                },
                Err(error) => ToolOutcome::from_api_error(error),
            }
        })
    }
}

/// The trimmed title, or why the arguments are wrong.
fn parse(arguments: &Map<String, Value>) -> Result<String, String> {
    reject_unknown(arguments, &["title"])?;
    let title = match arguments.get("title") {
        Some(Value::String(title)) => title.trim(),
        Some(_) => return Err("`title` must be a string.".into()),
        None => return Err("`title` is required.".into()),
    };
    if title.is_empty() {
        return Err("`title` must not be empty.".into());
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!(
            "`title` must be at most {MAX_TITLE_CHARS} characters."
        ));
    }
    Ok(title.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::testing::{FakeApi, run};

    #[test]
    fn posts_the_title_and_returns_the_new_todo() {
        let api = FakeApi::new(vec![Ok(json!({"id":"7","title":"milk","completed":false}))]);
        let outcome = run(&AddTodo, json!({"title":"  milk "}), &api);
        assert_eq!(
            outcome,
            ToolOutcome::Done(json!({"todo":{"id":"7","title":"milk","completed":false}}))
        );
        let calls = api.calls.borrow();
        assert_eq!(
            (calls[0].method, calls[0].path.as_str()),
            (ApiMethod::Post, "/api/todos")
        );
        assert_eq!(calls[0].body, Some(json!({"title":"milk"})));
    }

    #[test]
    fn bad_arguments_are_tool_errors_without_an_api_call() {
        for arguments in [
            json!({}),
            json!({"title": 3}),
            json!({"title": "  "}),
            json!({"title":"a","x":1}),
        ] {
            let api = FakeApi::new(vec![]);
            assert!(matches!(
                run(&AddTodo, arguments, &api),
                ToolOutcome::Failed(_)
            ));
            assert!(api.calls.borrow().is_empty());
        }
    }
}
