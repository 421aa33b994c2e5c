//! The upstream leg: this worker as an OpenID Connect relying party of the identity provider
//! (Auth0 in production, `idp/` locally).
//!
//! Pure parts (`pkce`, `discovery`, `id_token`, `token`) hold every rule and are tested on the
//! host; `client` does the HTTP and WebCrypto; `callback` is the `/callback` route; `rejection`
//! keeps the ToDos API's rejection of an upstream token for the next refresh grant.

pub mod callback;
pub mod client;
pub mod discovery;
pub mod id_token;
pub mod pkce;
pub mod rejection;
pub mod token;

use serde::Serialize;

use crate::json::{Fields, FromFields};

/// What `beginUpstream` keeps (encrypted, server-side) between the redirect and the callback.
#[derive(Serialize)]
pub struct SignIn {
    /// The PKCE verifier (RFC 7636 §4.1); never sent until the code exchange.
    pub verifier: pkce::CodeVerifier,
    /// The `nonce` the ID token must carry (OIDC Core §3.1.3.7 step 11).
    pub nonce: String,
    /// The scopes requested upstream: the ones the user approved.
    pub scope: Vec<String>,
}

impl FromFields for SignIn {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(SignIn {
            verifier: pkce::CodeVerifier::from_stored(fields.string("verifier")?),
            nonce: fields.string("nonce")?,
            scope: fields.opt_strings("scope")?.unwrap_or_default(),
        })
    }
}

/// The grant's user id for an upstream subject. The library's token format uses `:` as a
/// separator, so `%` and `:` are percent-encoded (Auth0's `auth0|…` and `google-oauth2|…` keep
/// their readable form; a `sub` holding `:` still works).
pub fn user_id_for_subject(sub: &str) -> String {
    sub.replace('%', "%25").replace(':', "%3A")
}

/// Splits a space-separated scope string (RFC 6749 §3.3).
pub fn split_scope(scope: &str) -> Vec<String> {
    scope.split_ascii_whitespace().map(str::to_owned).collect()
}

/// The error the client hears when the identity provider answered the authorization request
/// with `error` (RFC 6749 §4.1.2.1). A provider that is down or failing says so, and the client
/// may retry; the user's refusal, and anything the provider raises about a sign-in it would not
/// complete (OIDC Core §3.1.2.6: `login_required`, `consent_required`, …), is `access_denied`; a
/// provider refusing this server's own request (`invalid_request`, `unauthorized_client`,
/// `invalid_scope`, …) is this server's fault, not the client's: `server_error`.
pub fn client_error_for(upstream_error: &str) -> &'static str {
    match upstream_error {
        "temporarily_unavailable" => "temporarily_unavailable",
        "access_denied"
        | "login_required"
        | "consent_required"
        | "interaction_required"
        | "account_selection_required" => "access_denied",
        _ => "server_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_errors_reach_the_client_as_its_own_kind() {
        assert_eq!(client_error_for("access_denied"), "access_denied");
        assert_eq!(client_error_for("login_required"), "access_denied");
        assert_eq!(
            client_error_for("temporarily_unavailable"),
            "temporarily_unavailable"
        );
        assert_eq!(client_error_for("server_error"), "server_error");
        assert_eq!(client_error_for("invalid_scope"), "server_error");
        assert_eq!(client_error_for("unauthorized_client"), "server_error");
        assert_eq!(client_error_for("<script>"), "server_error");
    }

    #[test]
    fn user_id_has_no_colon_and_is_reversible() {
        assert_eq!(user_id_for_subject("auth0|dave"), "auth0|dave");
        assert_eq!(user_id_for_subject("urn:x:100%"), "urn%3Ax%3A100%25");
        assert!(!user_id_for_subject("a:b").contains(':'));
        assert_ne!(user_id_for_subject("a%3Ab"), user_id_for_subject("a:b"));
    }
}
