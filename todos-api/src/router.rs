//! Matching a request to an entry of the route table (the table itself is in `lib.rs`).
//!
//! Unknown paths are 404; a known path with another method is 405 with `Allow`
//! (RFC 9110 §15.5.6). `HEAD` is served wherever `GET` is (RFC 9110 §9.3.2).

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Any valid access token.
    Token,
    /// A valid access token granting this scope.
    Scope(&'static str),
}

/// One line of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<E> {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path pattern; a `{name}` segment matches any one non-empty segment.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What serves it.
    pub endpoint: E,
    /// Name used in logs.
    pub name: &'static str,
}

/// A route matched to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'r, E> {
    /// The table entry.
    pub route: &'r Route<E>,
    /// The value of the pattern's `{…}` segment, if it has one.
    pub param: Option<String>,
}

/// Why no route matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No route has this path.
    NotFound,
    /// Routes have this path, but not this method; `allow` lists theirs.
    MethodNotAllowed {
        /// Value of the `Allow` header.
        allow: String,
    },
}

/// Finds the route for `method` and `path`.
pub fn resolve<'r, E>(
    routes: &'r [Route<E>],
    method: &str,
    path: &str,
) -> Result<Matched<'r, E>, RouteError> {
    let wanted = if method == "HEAD" { "GET" } else { method };
    let mut allow: Vec<&str> = Vec::new();
    for route in routes {
        let Some(param) = match_path(route.path, path) else {
            continue;
        };
        if route.method == wanted {
            return Ok(Matched { route, param });
        }
        allow.push(route.method);
        if route.method == "GET" {
            allow.push("HEAD");
        }
    }
    if allow.is_empty() {
        Err(RouteError::NotFound)
    } else {
        Err(RouteError::MethodNotAllowed {
            allow: allow.join(", "),
        })
    }
}

/// The path of a request URL as the runtime serialized it (WHATWG URL): from the first `/` after
/// the host to the query or fragment. A serialized `http(s)` URL always has a path, and `?` and
/// `#` inside it are percent-encoded, so no re-parsing is needed.
pub fn path_of_url(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else {
        return if url.starts_with('/') {
            url.to_owned()
        } else {
            format!("/{url}")
        };
    };
    match rest.find('/') {
        Some(start) => {
            let path = &rest[start..];
            path[..path.find(['?', '#']).unwrap_or(path.len())].to_owned()
        }
        None => "/".to_owned(),
    }
}

/// Matches a path against a pattern; `Some(param)` on success.
fn match_path(pattern: &str, path: &str) -> Option<Option<String>> {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    let mut param = None;
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(param),
            (Some(expected), Some(actual)) => {
                if expected.starts_with('{') && expected.ends_with('}') {
                    if actual.is_empty() {
                        return None;
                    }
                    param = Some(actual.to_owned());
                } else if expected != actual {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route<u8>] = &[
        Route {
            method: "GET",
            path: "/api/items",
            access: Access::Scope("read"),
            endpoint: 1,
            name: "list",
        },
        Route {
            method: "POST",
            path: "/api/items",
            access: Access::Scope("write"),
            endpoint: 2,
            name: "create",
        },
        Route {
            method: "DELETE",
            path: "/api/items/{id}",
            access: Access::Token,
            endpoint: 3,
            name: "delete",
        },
    ];

    #[test]
    fn the_path_is_cut_out_of_the_serialized_url() {
        for (url, path) in [
            ("http://127.0.0.1:8789/api/todos", "/api/todos"),
            ("https://api.example/api/todos/abc?x=1#y", "/api/todos/abc"),
            ("https://api.example/api/a%3Fb", "/api/a%3Fb"),
            ("https://api.example", "/"),
            ("https://api.example/", "/"),
            ("/api/health", "/api/health"),
        ] {
            assert_eq!(path_of_url(url), path, "{url}");
        }
    }

    #[test]
    fn method_and_path_select_the_route() {
        let matched = resolve(ROUTES, "POST", "/api/items").expect("match");
        assert_eq!(matched.route.endpoint, 2);
        assert_eq!(matched.param, None);
    }

    #[test]
    fn a_param_segment_captures_its_value() {
        let matched = resolve(ROUTES, "DELETE", "/api/items/auth0%7Cx").expect("match");
        assert_eq!(matched.route.endpoint, 3);
        assert_eq!(matched.param.as_deref(), Some("auth0%7Cx"));
    }

    #[test]
    fn head_is_served_by_get() {
        assert_eq!(
            resolve(ROUTES, "HEAD", "/api/items")
                .expect("match")
                .route
                .endpoint,
            1
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "/api",
            "/api/items/",
            "/api/items/x/y",
            "/api/itemsx",
            "",
        ] {
            assert_eq!(
                resolve(ROUTES, "GET", path).map(|m| m.route.endpoint),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn other_methods_on_known_paths_list_the_allowed_ones() {
        assert_eq!(
            resolve(ROUTES, "PUT", "/api/items").map(|m| m.route.endpoint),
            Err(RouteError::MethodNotAllowed {
                allow: "GET, HEAD, POST".to_owned()
            })
        );
        assert_eq!(
            resolve(ROUTES, "GET", "/api/items/abc").map(|m| m.route.endpoint),
            Err(RouteError::MethodNotAllowed {
                allow: "DELETE".to_owned()
            })
        );
    }
}
