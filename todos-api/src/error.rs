//! The one error type of the HTTP boundary, and the one place that decides how each answers:
//! status, headers and a JSON body `{"error": …, "error_description": …}`.

use serde::Serialize;

use crate::auth::AuthError;
use crate::auth::challenge::Challenge;
use crate::body::{BodyError, MAX_BODY_BYTES};
use crate::config::ConfigError;
use crate::router::RouteError;
use crate::scopes::InsufficientScope;

/// Everything a request can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Authentication failed or could not be decided.
    Auth(AuthError),
    /// The token lacks the route's scope.
    InsufficientScope(&'static str),
    /// No route, or no such todo for this user.
    NotFound,
    /// The path exists with other methods.
    MethodNotAllowed {
        /// Value of the `Allow` header.
        allow: String,
    },
    /// The request body was refused.
    Body(BodyError),
    /// The user's list is full.
    TooManyTodos,
    /// The worker is misconfigured (the message names the var).
    Config(ConfigError),
    /// Anything else; the cause is logged, never sent.
    Internal(String),
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// A short machine-readable code (RFC 6750 §3.1 codes where they apply).
    pub error: &'static str,
    /// A sentence for the developer.
    pub error_description: String,
}

/// An error answer, independent of the HTTP library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAnswer {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (`WWW-Authenticate`, `Allow`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: ErrorBody,
}

impl ApiError {
    /// The answer for this error.
    pub fn answer(&self) -> ErrorAnswer {
        let (status, error, description, headers) = match self {
            ApiError::Auth(AuthError::NoCredentials) => (
                401,
                "unauthorized",
                "this API needs a bearer access token".to_owned(),
                vec![("WWW-Authenticate", Challenge::Bare.header_value())],
            ),
            // RFC 6750 §3.1: `invalid_token` covers an access token that is "malformed", so a
            // Bearer header whose token cannot be one is a 401 the client can act on (get a new
            // token), like any other bad token.
            ApiError::Auth(AuthError::MalformedHeader(why)) => (
                401,
                "invalid_token",
                (*why).to_owned(),
                vec![(
                    "WWW-Authenticate",
                    Challenge::InvalidToken(why).header_value(),
                )],
            ),
            ApiError::Auth(AuthError::InvalidToken(why)) => {
                let description = why.to_string();
                let challenge = Challenge::InvalidToken(&description).header_value();
                (
                    401,
                    "invalid_token",
                    description,
                    vec![("WWW-Authenticate", challenge)],
                )
            }
            ApiError::Auth(AuthError::KeysUnavailable {
                retry_after_seconds,
            }) => (
                503,
                "temporarily_unavailable",
                "the token issuer's signing keys cannot be fetched; try again later".to_owned(),
                vec![("Retry-After", retry_after_seconds.to_string())],
            ),
            ApiError::InsufficientScope(scope) => (
                403,
                "insufficient_scope",
                format!("this request needs the {scope} scope"),
                vec![(
                    "WWW-Authenticate",
                    Challenge::InsufficientScope(scope).header_value(),
                )],
            ),
            ApiError::NotFound => (404, "not_found", "no such resource".to_owned(), vec![]),
            ApiError::MethodNotAllowed { allow } => (
                405,
                "method_not_allowed",
                format!("this resource allows {allow}"),
                vec![("Allow", allow.clone())],
            ),
            ApiError::Body(BodyError::UnsupportedMediaType) => (
                415,
                "unsupported_media_type",
                "send the body as application/json".to_owned(),
                vec![],
            ),
            ApiError::Body(BodyError::TooLarge) => (
                413,
                "payload_too_large",
                format!("the body must be at most {MAX_BODY_BYTES} bytes"),
                vec![],
            ),
            ApiError::Body(BodyError::Invalid(why)) => {
                (400, "invalid_request", why.clone(), vec![])
            }
            ApiError::TooManyTodos => (
                409,
                "too_many_todos",
                format!(
                    "a user can keep at most {} todos",
                    crate::todos::model::MAX_TODOS
                ),
                vec![],
            ),
            ApiError::Config(problem) => (500, "server_error", problem.to_string(), vec![]),
            ApiError::Internal(_) => (
                500,
                "server_error",
                "the server could not complete the request".to_owned(),
                vec![],
            ),
        };
        ErrorAnswer {
            status,
            headers,
            body: ErrorBody {
                error,
                error_description: description,
            },
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Auth(error)
    }
}

impl From<InsufficientScope> for ApiError {
    fn from(error: InsufficientScope) -> Self {
        ApiError::InsufficientScope(error.0)
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        ApiError::Body(error)
    }
}

impl From<RouteError> for ApiError {
    fn from(error: RouteError) -> Self {
        match error {
            RouteError::NotFound => ApiError::NotFound,
            RouteError::MethodNotAllowed { allow } => ApiError::MethodNotAllowed { allow },
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(error: ConfigError) -> Self {
        ApiError::Config(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::TokenError;

    fn header<'a>(answer: &'a ErrorAnswer, name: &str) -> Option<&'a str> {
        answer
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn missing_credentials_get_a_bare_challenge() {
        let answer = ApiError::Auth(AuthError::NoCredentials).answer();
        assert_eq!(answer.status, 401);
        assert_eq!(
            header(&answer, "WWW-Authenticate"),
            Some("Bearer realm=\"todos-api\"")
        );
    }

    #[test]
    fn a_malformed_header_is_a_401_invalid_token() {
        let answer = ApiError::Auth(AuthError::MalformedHeader("no token")).answer();
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body.error, "invalid_token");
        assert!(
            header(&answer, "WWW-Authenticate")
                .is_some_and(|v| v.contains("error=\"invalid_token\""))
        );
    }

    #[test]
    fn an_invalid_token_is_a_401_with_its_description() {
        let answer = ApiError::Auth(AuthError::InvalidToken(TokenError::Expired)).answer();
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body.error, "invalid_token");
        assert_eq!(answer.body.error_description, "the token has expired");
        assert_eq!(
            header(&answer, "WWW-Authenticate"),
            Some(
                "Bearer realm=\"todos-api\", error=\"invalid_token\", error_description=\"the token has expired\""
            )
        );
    }

    #[test]
    fn a_missing_scope_is_a_403_naming_it() {
        let answer = ApiError::InsufficientScope("read:billing").answer();
        assert_eq!(answer.status, 403);
        assert!(
            header(&answer, "WWW-Authenticate")
                .is_some_and(|v| v.contains("error=\"insufficient_scope\"")
                    && v.contains("scope=\"read:billing\""))
        );
    }

    #[test]
    fn unavailable_keys_are_a_503_with_retry_after() {
        let answer = ApiError::Auth(AuthError::KeysUnavailable {
            retry_after_seconds: 17,
        })
        .answer();
        assert_eq!(answer.status, 503);
        assert_eq!(header(&answer, "Retry-After"), Some("17"));
    }

    #[test]
    fn routing_and_body_errors_have_their_statuses() {
        assert_eq!(ApiError::NotFound.answer().status, 404);
        let answer = ApiError::MethodNotAllowed {
            allow: "GET, HEAD".to_owned(),
        }
        .answer();
        assert_eq!(
            (answer.status, header(&answer, "Allow")),
            (405, Some("GET, HEAD"))
        );
        assert_eq!(ApiError::Body(BodyError::TooLarge).answer().status, 413);
        assert_eq!(
            ApiError::Body(BodyError::UnsupportedMediaType)
                .answer()
                .status,
            415
        );
        assert_eq!(
            ApiError::Body(BodyError::Invalid("x".to_owned()))
                .answer()
                .status,
            400
        );
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let answer = ApiError::Internal("KV said: secret detail".to_owned()).answer();
        assert_eq!(answer.status, 500);
        assert!(!answer.body.error_description.contains("secret"));
    }
}
