//! What a grant carries from the sign-in to every MCP request: the `props` that
//! `completeAuthorization()` stores encrypted in `OAUTH_KV`, and that `OAuthProvider` hands back on
//! `ctx.props` for each request made with one of the grant's tokens.
//!
//! This is the contract between the authorization side (`authorize`, `upstream`, `token_exchange`)
//! and the MCP side (`mcp`, `tools`). Changing a field name changes what is stored in existing
//! grants: add fields with `#[serde(default)]`, never rename.

use serde::{Deserialize, Serialize};

/// The props of one grant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantProps {
    /// Who signed in: claims taken from the validated upstream ID token.
    pub user: UserClaims,
    /// The user's upstream (identity provider) tokens. Never sent to an MCP client, and the MCP
    /// client's token is never sent upstream (MCP authorization, "Token Passthrough").
    pub upstream: UpstreamTokens,
}

/// Identity claims of the signed-in user (OIDC Core §5.1). `sub` is the upstream subject, which
/// may contain `|` or `:` (Auth0's `auth0|…`); the grant's user id is derived from it separately.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct UserClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

/// The upstream token set. `Debug` is written by hand so that a token never reaches a log.
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamTokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// When `access_token` expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The scopes the identity provider granted (space separated in its token response).
    pub scope: Vec<String>,
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
            .finish()
    }
}

/// Who is calling, as `OAuthProvider` verified it for one request to `/mcp` or `/sse`:
/// the grant's props plus the verified token facts from `ctx.auth`.
#[derive(Clone, Debug)]
pub struct Caller {
    pub props: GrantProps,
    /// The grant's user id (`ctx.auth.userId`).
    pub user_id: String,
    /// The MCP client's id (`ctx.auth.clientId`).
    pub client_id: String,
    /// The scopes of the MCP access token (`ctx.auth.scope`): what the user consented to.
    pub scopes: Vec<String>,
}

impl Caller {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
