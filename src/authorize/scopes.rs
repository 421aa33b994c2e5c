//! Which scopes the consent page offers, which the user approved, and which the grant holds.
//! Pure decisions, tested on the host.

/// Scopes that are always requested: the sign-in itself needs an ID token (OIDC Core §3.1.2.1).
pub const REQUIRED: &[&str] = &["openid"];

/// A plain-language description of a scope, for the consent page.
pub fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Sign you in with your account (required)",
        "email" => "See your email address",
        "profile" => "See your name, nickname and picture",
        "offline_access" => {
            "Stay connected when you are not using it (refresh access without asking again)"
        }
        "read:todos" => "Read your to-do list",
        "write:todos" => "Add to-dos and mark them done",
        "read:billing" => "Read your billing information",
        _ => "Access defined by the ToDos API",
    }
}

/// The scopes the consent page offers, in catalogue order: the ones the client asked for that
/// this server supports, plus `openid`, plus `offline_access` when the catalogue has it (the
/// server needs the upstream refresh token to keep the client's access alive; the user can
/// untick it). A client that asked for nothing is offered the whole catalogue (RFC 6749 §3.3
/// lets the server apply a default).
pub fn offered(requested: &[String], catalogue: &[String]) -> Vec<String> {
    if requested.iter().all(|s| !catalogue.contains(s)) {
        return catalogue.to_vec();
    }
    catalogue
        .iter()
        .filter(|s| {
            requested.contains(s) || REQUIRED.contains(&s.as_str()) || *s == "offline_access"
        })
        .cloned()
        .collect()
}

/// The scopes the user approved from the form: the ticked ones that are in the catalogue, plus
/// the required ones, in catalogue order. Anything else posted is ignored.
pub fn approved(ticked: &[String], catalogue: &[String]) -> Vec<String> {
    catalogue
        .iter()
        .filter(|s| ticked.contains(s) || REQUIRED.contains(&s.as_str()))
        .cloned()
        .collect()
}

/// The scopes the grant holds: what the user approved, narrowed to what the identity provider
/// granted when its token response says (RFC 6749 §5.1 `scope`). OpenID Connect scopes are not
/// echoed by every provider, so they are kept whenever the ID token arrived; `offline_access`
/// only when the provider issued a refresh token (OIDC Core §11), since without one the client
/// gets no refresh token either.
pub fn granted(
    approved: &[String],
    upstream: Option<&[String]>,
    refresh_token_issued: bool,
) -> Vec<String> {
    approved
        .iter()
        .filter(|s| match s.as_str() {
            "offline_access" => refresh_token_issued,
            "openid" | "email" | "profile" => true,
            _ => upstream.is_none_or(|upstream| upstream.contains(s)),
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn catalogue() -> Vec<String> {
        v(&[
            "openid",
            "email",
            "profile",
            "offline_access",
            "read:todos",
            "read:billing",
            "write:todos",
        ])
    }

    #[test]
    fn offered_adds_openid_and_offline_access_and_drops_unknown() {
        assert_eq!(
            offered(&v(&["read:todos", "admin"]), &catalogue()),
            v(&["openid", "offline_access", "read:todos"])
        );
    }

    #[test]
    fn nothing_requested_offers_the_catalogue() {
        assert_eq!(offered(&[], &catalogue()), catalogue());
        assert_eq!(offered(&v(&["admin"]), &catalogue()), catalogue());
    }

    #[test]
    fn approved_keeps_openid_and_ignores_foreign_scopes() {
        assert_eq!(
            approved(&v(&["write:todos", "admin", "email"]), &catalogue()),
            v(&["openid", "email", "write:todos"])
        );
    }

    #[test]
    fn granted_narrows_api_scopes_to_upstream() {
        let approved = v(&["openid", "email", "read:todos", "read:billing"]);
        assert_eq!(granted(&approved, None, false), approved);
        assert_eq!(
            granted(&approved, Some(&v(&["openid", "read:todos"])), false),
            v(&["openid", "email", "read:todos"])
        );
    }

    #[test]
    fn offline_access_is_granted_only_with_an_upstream_refresh_token() {
        let approved = v(&["openid", "offline_access", "read:todos"]);
        assert_eq!(granted(&approved, None, true), approved);
        assert_eq!(
            granted(&approved, None, false),
            v(&["openid", "read:todos"])
        );
        assert_eq!(
            granted(&approved, Some(&v(&["openid", "read:todos"])), true),
            approved
        );
    }

    #[test]
    fn every_catalogue_scope_has_a_description() {
        for scope in catalogue() {
            assert_ne!(describe(&scope), describe("unknown:scope"));
        }
    }
}
