//! Token requests to the identity provider and their answers (RFC 6749 §4.1.3, §5, §6), pure.

use base64ct::{Base64, Encoding};

use crate::config::TokenAuthMethod;
use crate::json::{Fields, FromFields};

/// A successful token response (RFC 6749 §5.1). `Debug` is not derived: it holds tokens.
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: Option<String>,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub scope: Option<String>,
}

/// Lifetime assumed for an access token whose response carries no `expires_in` (RFC 6749 §5.1
/// makes it RECOMMENDED only): short, so the MCP token cannot outlive it by much.
const UNKNOWN_EXPIRY_SECONDS: u64 = 300;

/// The latest expiry kept: `Number.MAX_SAFE_INTEGER` (ECMA-262 §21.1.2.6). Props cross JS as JSON,
/// and a larger integer would come back rounded to a float that no longer reads as a `u64`.
const LATEST_EXPIRY: u64 = (1 << 53) - 1;

impl TokenResponse {
    /// When the access token expires, in seconds since the Unix epoch, for a response received at
    /// `now`. `expires_in` is the provider's number: a huge one saturates instead of wrapping (a
    /// wrapped sum would read as long expired) and is held to what JS numbers carry exactly.
    pub fn expires_at(&self, now: u64) -> u64 {
        now.saturating_add(self.expires_in.unwrap_or(UNKNOWN_EXPIRY_SECONDS))
            .min(LATEST_EXPIRY)
    }
}

/// An RFC 6749 §5.1 body (OIDC Core §3.1.3.3 adds `id_token`).
impl FromFields for TokenResponse {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(TokenResponse {
            access_token: fields.string("access_token")?,
            token_type: fields.opt_string("token_type")?,
            expires_in: fields.opt_u64("expires_in")?,
            refresh_token: fields.opt_string("refresh_token")?,
            id_token: fields.opt_string("id_token")?,
            scope: fields.opt_string("scope")?,
        })
    }
}

/// An error response (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    pub error: String,
    pub error_description: Option<String>,
}

impl FromFields for ErrorResponse {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(ErrorResponse {
            error: fields.string("error")?,
            error_description: fields.opt_string("error_description")?,
        })
    }
}

/// How a token request ended.
pub enum TokenOutcome {
    /// 200 with a usable body.
    Issued(TokenResponse),
    /// The provider refused: `invalid_grant` means the grant is gone for good (RFC 6749 §5.2).
    Refused(ErrorResponse),
    /// Anything else (5xx, a body that is not what RFC 6749 describes): worth a retry later.
    Failed(String),
}

/// Reads a token endpoint answer.
pub fn parse_response(status: u16, body: &str) -> TokenOutcome {
    if status == 200 {
        return match TokenResponse::from_json(body) {
            Ok(response)
                if response
                    .token_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("bearer")) =>
            {
                TokenOutcome::Issued(response)
            }
            Ok(_) => TokenOutcome::Failed("token_type is not Bearer".into()),
            Err(e) => TokenOutcome::Failed(format!("token response is not the expected JSON: {e}")),
        };
    }
    match ErrorResponse::from_json(body) {
        Ok(error) if (400..500).contains(&status) => TokenOutcome::Refused(error),
        _ => TokenOutcome::Failed(format!("token endpoint answered HTTP {status}")),
    }
}

pub use crate::web_url::form_encode;

fn form(pairs: &[(&str, &str)]) -> String {
    crate::web_url::form_encode_pairs(pairs)
}

/// A token request body and, for `client_secret_basic`, its `Authorization` header value.
pub struct TokenRequest {
    pub body: String,
    pub authorization: Option<String>,
}

/// Adds client authentication (RFC 6749 §2.3.1): in the body (`client_secret_post`) or as HTTP
/// Basic over the form-urlencoded id and secret (`client_secret_basic`).
fn authenticate<'a>(
    mut pairs: Vec<(&'a str, &'a str)>,
    method: TokenAuthMethod,
    client_id: &'a str,
    secret: &'a str,
) -> TokenRequest {
    match method {
        TokenAuthMethod::ClientSecretPost => {
            pairs.push(("client_id", client_id));
            pairs.push(("client_secret", secret));
            TokenRequest {
                body: form(&pairs),
                authorization: None,
            }
        }
        TokenAuthMethod::ClientSecretBasic => {
            let credentials = format!("{}:{}", form_encode(client_id), form_encode(secret));
            TokenRequest {
                body: form(&pairs),
                authorization: Some(format!(
                    "Basic {}",
                    Base64::encode_string(credentials.as_bytes())
                )),
            }
        }
    }
}

/// The authorization code exchange (RFC 6749 §4.1.3 with the PKCE verifier of RFC 7636 §4.5).
pub fn code_request(
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    method: TokenAuthMethod,
    client_id: &str,
    secret: &str,
) -> TokenRequest {
    let pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    authenticate(pairs, method, client_id, secret)
}

/// The refresh request (RFC 6749 §6).
pub fn refresh_request(
    refresh_token: &str,
    method: TokenAuthMethod,
    client_id: &str,
    secret: &str,
) -> TokenRequest {
    authenticate(
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
        method,
        client_id,
        secret,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_and_basic_authentication() {
        let post = code_request(
            "c 1",
            "http://localhost:8788/callback",
            "v",
            TokenAuthMethod::ClientSecretPost,
            "id",
            "s&t",
        );
        assert!(post.body.contains("code=c+1"));
        assert!(
            post.body
                .contains("redirect_uri=http%3A%2F%2Flocalhost%3A8788%2Fcallback")
        );
        assert!(post.body.contains("client_secret=s%26t"));
        assert!(post.authorization.is_none());
        let basic = refresh_request("r", TokenAuthMethod::ClientSecretBasic, "id", "s:t");
        assert!(!basic.body.contains("client_secret"));
        // RFC 6749 §2.3.1: the id and secret are form-encoded before Base64.
        assert_eq!(
            basic.authorization.as_deref(),
            Some(format!("Basic {}", Base64::encode_string(b"id:s%3At")).as_str())
        );
    }

    #[test]
    fn responses_are_classified() {
        assert!(matches!(
            parse_response(
                200,
                r#"{"access_token":"a","token_type":"Bearer","expires_in":60}"#
            ),
            TokenOutcome::Issued(_)
        ));
        assert!(matches!(
            parse_response(200, r#"{"access_token":"a","token_type":"mac"}"#),
            TokenOutcome::Failed(_)
        ));
        match parse_response(400, r#"{"error":"invalid_grant"}"#) {
            TokenOutcome::Refused(e) => assert_eq!(e.error, "invalid_grant"),
            _ => panic!("expected a refusal"),
        }
        assert!(matches!(
            parse_response(503, "down"),
            TokenOutcome::Failed(_)
        ));
        assert!(matches!(
            parse_response(500, r#"{"error":"server_error"}"#),
            TokenOutcome::Failed(_)
        ));
    }

    #[test]
    fn expiry_saturates_instead_of_wrapping_and_stays_a_safe_js_integer() {
        let expiring = |json: &str| TokenResponse::from_json(json).map(|r| r.expires_at(1_000));
        assert_eq!(
            expiring(r#"{"access_token":"a","expires_in":120}"#),
            Ok(1_120)
        );
        assert_eq!(
            expiring(r#"{"access_token":"a"}"#),
            Ok(1_000 + UNKNOWN_EXPIRY_SECONDS)
        );
        assert_eq!(
            expiring(r#"{"access_token":"a","expires_in":18446744073709551615}"#),
            Ok(LATEST_EXPIRY)
        );
    }
}
