//! One error type for the browser-facing routes, turned into HTTP in one place.
//!
//! Expected failures are pages (rendered here, never redirected to an unvalidated client,
//! RFC 6749 §4.1.2.1) or OAuth error redirects to a validated client; anything else is an opaque
//! 500 whose cause goes to the log.

use worker::{Headers, Response};

use crate::authorize::page;
use crate::bindings::HelperError;
use crate::config::ConfigError;
use crate::log;

/// What went wrong on `/authorize` or `/callback`.
#[derive(Debug)]
pub enum AppError {
    /// A missing or malformed setting: an opaque 500, the setting named in the log.
    Config(ConfigError),
    /// A failure the user must see here: a bad or expired request.
    Page {
        status: u16,
        title: &'static str,
        message: String,
    },
    /// The identity provider is unreachable: 503, try again.
    Unavailable(String),
    /// A bug or an outage: an opaque 500, the cause in the log.
    Internal(String),
}

impl From<ConfigError> for AppError {
    fn from(error: ConfigError) -> Self {
        AppError::Config(error)
    }
}

impl From<worker::Error> for AppError {
    fn from(error: worker::Error) -> Self {
        AppError::Internal(error.to_string())
    }
}

impl From<HelperError> for AppError {
    /// The helpers' refusals without a safe redirect become pages; anything else is internal.
    fn from(error: HelperError) -> Self {
        match error {
            HelperError::Authorization { description, .. } => AppError::Page {
                status: 400,
                title: "This sign-in request cannot continue",
                message: if description.is_empty() {
                    "The request is not valid.".into()
                } else {
                    description
                },
            },
            HelperError::Cimd { detail } => {
                log::warning!("client.metadata_unavailable", "detail" => detail);
                AppError::Page {
                    status: 400,
                    title: "This app could not be verified",
                    message: "Its client metadata document could not be fetched or is not valid."
                        .into(),
                }
            }
            HelperError::Other(message) => AppError::Internal(message),
        }
    }
}

/// Headers every HTML page of this worker carries: no framing (MCP security best practices,
/// clickjacking; RFC 6749 §10.13), no caching of pages holding one-time handles, no referrer
/// leaking the query, a CSP that allows only the inline style. The CSP replaces the bare
/// `frame-ancestors 'none'` that the library's consent helpers set: one policy that says it all,
/// rather than two comma-joined ones.
pub fn secure_html_headers(headers: &Headers) -> worker::Result<()> {
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
    )?;
    headers.set("X-Frame-Options", "DENY")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(())
}

/// An HTML page with `status` and the secure headers added to `headers`.
pub fn html(status: u16, body: String, headers: Headers) -> worker::Result<Response> {
    secure_html_headers(&headers)?;
    Ok(Response::from_html(body)?
        .with_status(status)
        .with_headers(headers))
}

/// A 302 to `location` carrying `headers` (cookies the helpers set or clear).
pub fn redirect(location: &str, headers: Headers) -> worker::Result<Response> {
    headers.set("Location", location)?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::empty()?.with_status(302).with_headers(headers))
}

impl AppError {
    /// The response for this error; the cause of a 500 goes to the log only.
    pub fn into_response(self) -> worker::Result<Response> {
        match self {
            AppError::Config(error) => {
                log::error!("config.invalid", "setting" => error.var, "problem" => error.problem);
                Response::error("Internal Server Error", 500)
            }
            AppError::Page {
                status,
                title,
                message,
            } => html(status, page::error(title, &message), Headers::new()),
            AppError::Unavailable(cause) => {
                log::error!("upstream.unavailable", "cause" => cause);
                html(
                    503,
                    page::error(
                        "Sign-in is unavailable right now",
                        "The identity provider could not be reached. Please try again in a moment.",
                    ),
                    Headers::new(),
                )
            }
            AppError::Internal(cause) => {
                log::error!("internal", "cause" => cause);
                Response::error("Internal Server Error", 500)
            }
        }
    }
}
