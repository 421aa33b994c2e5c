//! `whoami`: the signed-in user's identity claims, from the grant (no API call, never a token).

use serde_json::{Map, Value, json};

use super::{Tool, ToolContext, ToolOutcome, reject_unknown};
use crate::todos_client::LocalFuture;

/// The `whoami` tool.
pub struct WhoAmI;

impl Tool for WhoAmI {
    fn name(&self) -> &'static str {
        "whoami"
    }
    fn title(&self) -> &'static str {
        "Who am I"
    }
    fn description(&self) -> &'static str {
        "Returns the signed-in user's identity claims (subject, email, name, picture) and the scopes this connection was granted."
    }
    fn required_scope(&self) -> Option<&'static str> {
        None
    }
    fn input_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{},"additionalProperties":false}"#
    }
    fn output_schema(&self) -> &'static str {
        r#"{"type":"object","properties":{"user":{"type":"object","properties":{"sub":{"type":"string"},"email":{"type":"string"},"email_verified":{"type":"boolean"},"name":{"type":"string"},"nickname":{"type":"string"},"picture":{"type":"string"}},"required":["sub"]},"scopes":{"type":"array","items":{"type":"string"}}},"required":["user","scopes"]}"#
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
            ToolOutcome::Done(json!({ "user": context.user, "scopes": context.scopes }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::testing::{FakeApi, run};

    #[test]
    fn returns_the_claims_and_scopes_without_calling_the_api() {
        let api = FakeApi::new(vec![]);
        let ToolOutcome::Done(result) = run(&WhoAmI, json!({}), &api) else {
            panic!()
        };
        assert_eq!(result["user"]["sub"], "auth0|alice");
        assert_eq!(result["user"]["email"], "alice@example.com");
        assert_eq!(result["scopes"], json!(["read:todos"]));
        assert!(api.calls.borrow().is_empty());
    }
}
