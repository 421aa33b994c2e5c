//! `list-billing`: the user's billing information (`GET /api/billing`, scope `read:billing`).

use serde_json::{Map, Value};

use super::{Tool, ToolContext, ToolOutcome, field, reject_unknown};
use crate::todos_client::{ApiCall, LocalFuture};

/// The `list-billing` tool.
pub struct ListBilling;

impl Tool for ListBilling {
    fn name(&self) -> &'static str {
        "list-billing"
    }
    fn title(&self) -> &'static str {
        "List billing"
    }
    fn description(&self) -> &'static str {
        "Shows the signed-in user's billing information (plan, invoices) from the ToDos API."
    }
    fn required_scope(&self) -> Option<&'static str> {
        Some("read:billing")
    }
    fn input_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{},"additionalProperties":false}"#
    }
    fn output_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{"billing":{"type":"object","description":"The ToDos API's billing record, as it returns it."}},"required":["billing"]}"#
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
            match context.todos.call(ApiCall::get("/api/billing")).await {
                Ok(billing) => ToolOutcome::Done(field("billing", billing)),
                Err(error) => ToolOutcome::from_api_error(error),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::todos_client::TodosError;
    use crate::tools::testing::{FakeApi, run};
    use serde_json::json;

    #[test]
    fn wraps_the_billing_record() {
        let api = FakeApi::new(vec![Ok(json!({"plan":"pro"}))]);
        assert_eq!(
            run(&ListBilling, json!({}), &api),
            ToolOutcome::Done(json!({"billing":{"plan":"pro"}}))
        );
        assert_eq!(api.calls.borrow()[0].path, "/api/billing");
    }

    #[test]
    fn a_5xx_is_a_tool_error() {
        let api = FakeApi::new(vec![Err(TodosError::Server(502))]);
        assert!(
            matches!(run(&ListBilling, json!({}), &api), ToolOutcome::Failed(m) if m.contains("502"))
        );
    }
}
