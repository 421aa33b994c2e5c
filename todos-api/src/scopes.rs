//! Scopes: what an access token allows, and the check each route makes.
//!
//! RFC 6749 §3.3: `scope` is a space-delimited list of case-sensitive strings. Auth0 also puts
//! an API's RBAC permissions in a `permissions` array; both count (their union).

use std::collections::BTreeSet;

/// Reading the user's todos.
pub const READ_TODOS: &str = "read:todos";
/// Creating, changing and deleting the user's todos.
pub const WRITE_TODOS: &str = "write:todos";
/// Reading the user's billing summary.
pub const READ_BILLING: &str = "read:billing";

/// The scopes granted to a token, sorted and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

/// The token lacks the scope a route needs (RFC 6750 §3.1 `insufficient_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientScope(pub &'static str);

impl Scopes {
    /// The union of the `scope` claim (space separated) and the `permissions` claim (array).
    pub fn from_claims(scope: Option<&str>, permissions: Option<&[String]>) -> Self {
        let from_scope = scope.into_iter().flat_map(|s| s.split(' '));
        let from_permissions = permissions.into_iter().flatten().map(String::as_str);
        Self(
            from_scope
                .chain(from_permissions)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// True when `scope` was granted (exact, case-sensitive match).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Succeeds when `needed` was granted.
    pub fn require(&self, needed: &'static str) -> Result<(), InsufficientScope> {
        if self.contains(needed) {
            Ok(())
        } else {
            Err(InsufficientScope(needed))
        }
    }

    /// The granted scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_claim_and_permissions_are_united() {
        let permissions = vec!["read:billing".to_owned(), "read:todos".to_owned()];
        let scopes = Scopes::from_claims(Some("openid  read:todos"), Some(&permissions));
        assert_eq!(
            scopes.iter().collect::<Vec<_>>(),
            ["openid", "read:billing", "read:todos"]
        );
    }

    #[test]
    fn require_passes_only_for_an_exact_match() {
        let scopes = Scopes::from_claims(Some("read:todos"), None);
        assert_eq!(scopes.require(READ_TODOS), Ok(()));
        assert_eq!(
            scopes.require(WRITE_TODOS),
            Err(InsufficientScope(WRITE_TODOS))
        );
        let upper = Scopes::from_claims(Some("READ:TODOS"), None);
        assert!(upper.require(READ_TODOS).is_err());
    }

    #[test]
    fn no_claims_grant_nothing() {
        let scopes = Scopes::from_claims(None, None);
        assert!(scopes.require(READ_BILLING).is_err());
        assert_eq!(scopes.iter().count(), 0);
    }
}
