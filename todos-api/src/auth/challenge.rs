//! `WWW-Authenticate` challenges for the Bearer scheme (RFC 6750 §3).

/// The protection space named in every challenge (RFC 6750 §3: `realm` as in RFC 7235 §2.2).
pub const REALM: &str = "todos-api";

/// What a challenge tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge<'a> {
    /// RFC 6750 §3.1: a request without credentials SHOULD get no error code.
    Bare,
    /// RFC 6750 §3.1 `invalid_token` (HTTP 401): expired, revoked, malformed or otherwise invalid.
    InvalidToken(&'a str),
    /// RFC 6750 §3.1 `insufficient_scope` (HTTP 403), with the `scope` needed (§3).
    InsufficientScope(&'a str),
}

impl Challenge<'_> {
    /// The `WWW-Authenticate` header value.
    pub fn header_value(&self) -> String {
        let mut value = format!("Bearer realm=\"{REALM}\"");
        let (error, description, scope) = match *self {
            Challenge::Bare => return value,
            Challenge::InvalidToken(description) => ("invalid_token", description, None),
            Challenge::InsufficientScope(scope) => (
                "insufficient_scope",
                "the access token lacks the scope this request needs",
                Some(scope),
            ),
        };
        value.push_str(&format!(
            ", error=\"{error}\", error_description=\"{}\"",
            quotable(description)
        ));
        if let Some(scope) = scope {
            value.push_str(&format!(", scope=\"{}\"", quotable(scope)));
        }
        value
    }
}

/// RFC 6750 §3: `error_description` and `scope` values MUST NOT include characters outside
/// %x20-21 / %x23-5B / %x5D-7E, i.e. no `"`, no `\` and nothing outside printable ASCII.
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_challenge_has_only_the_realm() {
        assert_eq!(Challenge::Bare.header_value(), "Bearer realm=\"todos-api\"");
    }

    #[test]
    fn invalid_token_carries_error_and_description() {
        assert_eq!(
            Challenge::InvalidToken("the token has expired").header_value(),
            "Bearer realm=\"todos-api\", error=\"invalid_token\", error_description=\"the token has expired\""
        );
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let value = Challenge::InsufficientScope("read:todos").header_value();
        assert!(value.starts_with("Bearer realm=\"todos-api\", error=\"insufficient_scope\""));
        assert!(value.ends_with(", scope=\"read:todos\""));
    }

    #[test]
    fn descriptions_never_break_out_of_the_quoted_string() {
        let value = Challenge::InvalidToken("a \"quoted\" \\ thing é\n").header_value();
        assert!(value.ends_with("error_description=\"a 'quoted' / thing ??\""));
    }
}
