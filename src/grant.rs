//! What a grant carries from the sign-in to every MCP request: the `props` that
//! `completeAuthorization()` stores encrypted in `OAUTH_KV`, and that `OAuthProvider` hands back on
//! `ctx.props` for each request made with one of the grant's tokens.
//!
//! This is the contract between the authorization side (`authorize`, `upstream`, `token_exchange`)
//! and the MCP side (`mcp`, `tools`). Changing a field name changes what is stored in existing
//! grants: add fields as optional (read as absent from older grants), never rename. Written with
//! serde; read field by field (`FromFields`), unknown fields ignored.

use serde::Serialize;

use crate::json::{Fields, FromFields};

/// The props of one grant.
#[derive(Clone, Debug, Serialize)]
pub struct GrantProps {
    /// Who signed in: claims taken from the validated upstream ID token.
    pub user: UserClaims,
    /// The user's upstream (identity provider) tokens. Never sent to an MCP client, and the MCP
    /// client's token is never sent upstream (MCP authorization, "Token Passthrough").
    pub upstream: UpstreamTokens,
}

/// Identity claims of the signed-in user (OIDC Core §5.1). `sub` is the upstream subject, which
/// may contain `|` or `:` (Auth0's `auth0|…`); the grant's user id is derived from it separately.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct UserClaims {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

/// The upstream token set. `Debug` is written by hand so that a token never reaches a log.
#[derive(Clone, Serialize)]
pub struct UpstreamTokens {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// When `access_token` expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The scopes the identity provider granted (space separated in its token response).
    pub scope: Vec<String>,
    /// The scopes asked of the identity provider at sign-in: the ones the user approved. Empty in
    /// grants made before it was recorded, which then never count a scope as withheld.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requested: Vec<String>,
}

impl UpstreamTokens {
    /// Whether the identity provider was asked for `scope` and did not grant it: at sign-in, or at
    /// a later refresh that answered with a narrower `scope` (RFC 6749 §3.3, §6; Auth0 RBAC, a
    /// permission the user does not hold or no longer holds). Re-authorizing cannot add such a
    /// scope, unlike one the user left unticked on the consent page, which was never asked for.
    /// Decided by the rule that narrows the grant and its tokens (`scopes::granted`), so a scope
    /// counts as withheld exactly when that rule removes it.
    pub fn withheld(&self, scope: &str) -> bool {
        self.requested.iter().any(|s| s == scope)
            && crate::authorize::scopes::granted(
                &[scope.to_owned()],
                Some(&self.scope),
                self.refresh_token.is_some(),
            )
            .is_empty()
    }
}

impl FromFields for GrantProps {
    /// Reads props as stored (`ctx.props`, the token-exchange callback's `props`).
    fn from_fields(props: &mut Fields) -> Result<Self, String> {
        let mut user = props.object("user")?;
        let mut upstream = props.object("upstream")?;
        Ok(GrantProps {
            user: UserClaims {
                sub: user.string("sub")?,
                email: user.opt_string("email")?,
                email_verified: user.opt_bool("email_verified")?,
                name: user.opt_string("name")?,
                nickname: user.opt_string("nickname")?,
                picture: user.opt_string("picture")?,
            },
            upstream: UpstreamTokens {
                access_token: upstream.string("access_token")?,
                refresh_token: upstream.opt_string("refresh_token")?,
                id_token: upstream.opt_string("id_token")?,
                expires_at: upstream.u64("expires_at")?,
                scope: upstream
                    .opt_strings("scope")?
                    .ok_or("upstream.scope is missing")?,
                requested: upstream.opt_strings("requested")?.unwrap_or_default(),
            },
        })
    }
}

impl std::fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTokens")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("requested", &self.requested)
            .finish()
    }
}

/// Who is calling, as `OAuthProvider` verified it for one request to `/mcp` or `/sse`:
/// the grant's props plus the verified token facts from `ctx.auth`. Written and read back only
/// to hand a POST to its SSE session object (`mcp::sse`), never stored.
#[derive(Clone, Debug, Serialize)]
pub struct Caller {
    pub props: GrantProps,
    /// The grant's user id (`ctx.auth.userId`).
    pub user_id: String,
    /// The MCP client's id (`ctx.auth.clientId`).
    pub client_id: String,
    /// The scopes of the MCP access token (`ctx.auth.scope`): what the user consented to.
    pub scopes: Vec<String>,
}

impl FromFields for Caller {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(Caller {
            props: GrantProps::from_fields(&mut fields.object("props")?)?,
            user_id: fields.string("user_id")?,
            client_id: fields.string("client_id")?,
            scopes: fields.opt_strings("scopes")?.unwrap_or_default(),
        })
    }
}

impl Caller {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn props_read_back_what_was_written() {
        let props = GrantProps {
            user: UserClaims {
                sub: "auth0|1".into(),
                email: Some("a@example.com".into()),
                email_verified: Some(true),
                ..UserClaims::default()
            },
            upstream: UpstreamTokens {
                access_token: "at".into(),
                refresh_token: None,
                id_token: Some("it".into()),
                expires_at: 1_800_000_000,
                scope: vec!["openid".into(), "read:todos".into()],
                requested: vec!["openid".into(), "read:todos".into(), "read:billing".into()],
            },
        };
        let text = crate::json::write(&props);
        let read = GrantProps::from_json(&text).unwrap();
        assert_eq!(read.user, props.user);
        assert_eq!(crate::json::write(&read), text);
    }

    #[test]
    fn a_caller_reads_back_what_was_written() {
        let caller = Caller {
            props: GrantProps::from_json(
                r#"{"user":{"sub":"auth0|1","name":"Zoë"},"upstream":{"access_token":"a","expires_at":1,"scope":["openid"],"requested":["openid","read:billing"]}}"#,
            )
            .unwrap(),
            user_id: "auth0|1".into(),
            client_id: "c1".into(),
            scopes: vec!["openid".into(), "read:todos".into()],
        };
        let text = crate::json::write(&caller);
        let read = Caller::from_json(&text).unwrap();
        assert_eq!(crate::json::write(&read), text);
        assert_eq!(read.props.user.name.as_deref(), Some("Zoë"));
        assert!(read.props.upstream.withheld("read:billing"));
        assert!(Caller::from_json(r#"{"user_id":"u","client_id":"c"}"#).is_err());
    }

    #[test]
    fn props_missing_a_required_field_are_refused_by_name() {
        let error = GrantProps::from_json(
            r#"{"user":{"sub":"s"},"upstream":{"access_token":"a","scope":[]}}"#,
        )
        .err();
        assert_eq!(error.as_deref(), Some("expires_at is missing"));
        // Unknown fields (a later version's) are ignored.
        assert!(
            GrantProps::from_json(
                r#"{"user":{"sub":"s","x":1},"upstream":{"access_token":"a","expires_at":1,"scope":[]},"y":2}"#
            )
            .is_ok()
        );
    }

    #[test]
    fn a_scope_is_withheld_only_when_it_was_asked_for_and_not_granted() {
        let read = |requested: &str| {
            GrantProps::from_json(&format!(
                r#"{{"user":{{"sub":"s"}},"upstream":{{"access_token":"a","expires_at":1,"scope":["openid","read:todos"]{requested}}}}}"#
            ))
            .unwrap()
            .upstream
        };
        let asked = read(r#","requested":["openid","read:todos","read:billing"]"#);
        assert!(asked.withheld("read:billing"), "asked for, not granted");
        assert!(!asked.withheld("read:todos"), "granted");
        assert!(
            !asked.withheld("write:todos"),
            "never asked for (left unticked)"
        );
        // A grant from before `requested` was recorded counts nothing as withheld.
        let older = read("");
        assert!(older.requested.is_empty());
        assert!(!older.withheld("read:billing"));
    }
}
