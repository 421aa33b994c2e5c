//! Scopes: what an access token allows, and the check each route makes.
//!
//! RFC 6749 §3.3: `scope` is a space-delimited list of case-sensitive strings, and the access
//! token's `scope` claim is what it was granted (RFC 9068 §2.2.3). Auth0's RBAC `permissions`
//! claim does not count: it lists every permission assigned to the user, whatever the client asked
//! for and the user consented to, while with RBAC on the `scope` claim is already narrowed to the
//! permissions the user holds.

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
    /// The scopes of a `scope` claim (space separated); none without one.
    pub fn from_claims(scope: Option<&str>) -> Self {
        Self(
            scope
                .into_iter()
                .flat_map(|s| s.split(' '))
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
    fn the_scope_claim_is_split_on_spaces() {
        let scopes = Scopes::from_claims(Some("openid  read:todos"));
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["openid", "read:todos"]);
    }

    #[test]
    fn require_passes_only_for_an_exact_match() {
        let scopes = Scopes::from_claims(Some("read:todos"));
        assert_eq!(scopes.require(READ_TODOS), Ok(()));
        assert_eq!(
            scopes.require(WRITE_TODOS),
            Err(InsufficientScope(WRITE_TODOS))
        );
        let upper = Scopes::from_claims(Some("READ:TODOS"));
        assert!(upper.require(READ_TODOS).is_err());
    }

    #[test]
    fn no_claims_grant_nothing() {
        let scopes = Scopes::from_claims(None);
        assert!(scopes.require(READ_BILLING).is_err());
        assert_eq!(scopes.iter().count(), 0);
    }
}
