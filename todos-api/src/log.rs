//! Request decisions as one JSON line each (at `LOG_LEVEL=debug`).
//!
//! Only the path is recorded, never the query string or any header: tokens must not reach logs
//! (RFC 6750 §5.3, RFC 8725 §3.12 on keeping tokens out of places they can leak from).

use serde::Serialize;

/// Whether the route's scope was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeDecision {
    /// The scope the route needs.
    pub needed: &'static str,
    /// Whether the token has it.
    pub granted: bool,
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// HTTP method.
    pub method: String,
    /// URL path (no query).
    pub path: String,
    /// Name of the matched route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<&'static str>,
    /// The token's subject, once verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The scope check, for routes that need a scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeDecision>,
    /// HTTP status of the answer.
    pub status: u16,
    /// Error code of the answer, if it is an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Why, for errors (never contains a token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Decision {
    /// A decision about to be made for `method` on `path`.
    pub fn new(method: String, path: String) -> Self {
        Self {
            method,
            path,
            route: None,
            sub: None,
            scope: None,
            status: 0,
            error: None,
            reason: None,
        }
    }

    /// The log line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_one_json_line_without_empty_fields() {
        let mut decision = Decision::new("GET".to_owned(), "/api/todos".to_owned());
        decision.route = Some("list_todos");
        decision.sub = Some("alice".to_owned());
        decision.scope = Some(ScopeDecision {
            needed: "read:todos",
            granted: true,
        });
        decision.status = 200;
        assert_eq!(
            decision.to_line(),
            r#"{"method":"GET","path":"/api/todos","route":"list_todos","sub":"alice","scope":{"needed":"read:todos","granted":true},"status":200}"#
        );
    }
}
