//! URLs as the WHATWG URL Standard (<https://url.spec.whatwg.org/>) defines them: parsing
//! configured and client-given URLs, reading query parameters, building redirect and
//! authorization URLs, and `application/x-www-form-urlencoded` bodies.
//!
//! In the worker this is the runtime's own `URL` and `URLSearchParams` (`bindings::whatwg_url`),
//! so no parser is compiled into the Wasm module (the `url` crate with its IDNA tables was about a
//! twentieth of it). On the host, where the pure logic is unit-tested, it is the `url` crate, which
//! implements the same standard, so both read every URL the same way.

/// A parsed absolute URL.
#[derive(Clone, Debug)]
pub struct WebUrl(imp::Inner);

impl WebUrl {
    /// Parses an absolute URL; `None` when it is not one.
    pub fn parse(raw: &str) -> Option<WebUrl> {
        imp::parse(raw).map(WebUrl)
    }

    /// The scheme, lowercase, without `:` (`https`).
    pub fn scheme(&self) -> String {
        imp::scheme(&self.0)
    }

    /// The host without the port: a lowercase domain, an IPv4 address, or an IPv6 address in
    /// brackets (`[::1]`); empty when the URL has none.
    pub fn hostname(&self) -> String {
        imp::hostname(&self.0)
    }

    /// The path (`/` for an origin).
    pub fn path(&self) -> String {
        imp::path(&self.0)
    }

    /// Whether the URL has a query or a fragment (even an empty one), or user info: none of
    /// which an origin or an issuer may carry.
    pub fn has_query_fragment_or_userinfo(&self) -> bool {
        imp::has_query_fragment_or_userinfo(&self.0)
    }

    /// The origin, serialised (`https://mcp.example.com`, default port dropped).
    pub fn origin(&self) -> String {
        imp::origin(&self.0)
    }

    /// The query's name/value pairs, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        imp::query_pairs(&self.0)
    }

    /// The first value of the query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Replaces the query with `pairs`, form-encoded.
    pub fn set_query_pairs(&mut self, pairs: &[(&str, &str)]) {
        imp::set_query(&mut self.0, &form_encode_pairs(pairs));
    }

    /// Replaces the host name (the port stays).
    pub fn set_hostname(&mut self, hostname: &str) {
        imp::set_hostname(&mut self.0, hostname);
    }

    /// The serialised URL.
    pub fn href(&self) -> String {
        imp::href(&self.0)
    }
}

/// The first value of query parameter `name` in a request URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    WebUrl::parse(url)?.query_param(name)
}

/// `name=value&…` in `application/x-www-form-urlencoded` (WHATWG URL §5.2, as browsers send
/// forms: space as `+`, everything but `*-._` and alphanumerics percent-encoded).
pub fn form_encode_pairs(pairs: &[(&str, &str)]) -> String {
    imp::form_encode_pairs(pairs)
}

/// One value in `application/x-www-form-urlencoded` (as in [`form_encode_pairs`]).
pub fn form_encode(value: &str) -> String {
    let pair = form_encode_pairs(&[("", value)]);
    pair.strip_prefix('=').unwrap_or(&pair).to_owned()
}

/// Whether `hostname` (as [`WebUrl::hostname`] gives it) is a loopback host: `localhost`,
/// `127.0.0.0/8` or `::1` (RFC 8252 §8.3).
pub fn is_loopback_host(hostname: &str) -> bool {
    if hostname.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = hostname.parse::<std::net::Ipv4Addr>() {
        return ip.is_loopback();
    }
    hostname
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|ip| ip.parse::<std::net::Ipv6Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

// In the worker: the runtime's `URL` (wrapped in the one JS boundary module).
#[cfg(target_arch = "wasm32")]
use crate::bindings::whatwg_url as imp;

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    //! The `url` crate (host builds: unit tests).
    use url::Url;

    pub type Inner = Url;

    pub fn parse(raw: &str) -> Option<Url> {
        Url::parse(raw).ok()
    }

    pub fn scheme(url: &Url) -> String {
        url.scheme().to_owned()
    }

    pub fn hostname(url: &Url) -> String {
        url.host_str().unwrap_or_default().to_owned()
    }

    pub fn path(url: &Url) -> String {
        url.path().to_owned()
    }

    pub fn has_query_fragment_or_userinfo(url: &Url) -> bool {
        url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
    }

    pub fn origin(url: &Url) -> String {
        url.origin().ascii_serialization()
    }

    pub fn query_pairs(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn set_query(url: &mut Url, query: &str) {
        url.set_query((!query.is_empty()).then_some(query));
    }

    pub fn set_hostname(url: &mut Url, hostname: &str) {
        let _ = url.set_host(Some(hostname));
    }

    pub fn href(url: &Url) -> String {
        url.as_str().to_owned()
    }

    pub fn form_encode_pairs(pairs: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_url() {
        let url = WebUrl::parse("HTTPS://Example.COM:8443/a/b?x=1&y=a+b%21#f").expect("parses");
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.hostname(), "example.com");
        assert_eq!(url.path(), "/a/b");
        assert_eq!(url.origin(), "https://example.com:8443");
        assert_eq!(
            url.query_pairs(),
            vec![("x".into(), "1".into()), ("y".into(), "a b!".into())]
        );
        assert_eq!(url.query_param("y").as_deref(), Some("a b!"));
        assert!(url.has_query_fragment_or_userinfo());
        assert!(WebUrl::parse("/relative").is_none());
        assert!(
            !WebUrl::parse("https://example.com/")
                .expect("parses")
                .has_query_fragment_or_userinfo()
        );
        for with_extra in [
            "https://u@example.com/",
            "https://example.com/?",
            "https://example.com/#",
        ] {
            assert!(
                WebUrl::parse(with_extra)
                    .expect("parses")
                    .has_query_fragment_or_userinfo(),
                "{with_extra}"
            );
        }
    }

    #[test]
    fn queries_are_form_encoded() {
        let mut url = WebUrl::parse("https://client.example/cb?keep=1").expect("parses");
        url.set_query_pairs(&[("keep", "1"), ("error", "access_denied"), ("d", "a b&c=é")]);
        assert_eq!(
            url.href(),
            "https://client.example/cb?keep=1&error=access_denied&d=a+b%26c%3D%C3%A9"
        );
        assert_eq!(form_encode_pairs(&[("a", "x y*~")]), "a=x+y*%7E");
        assert_eq!(form_encode("a:b c/é"), "a%3Ab+c%2F%C3%A9");
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1",
            "[::2]",
            "localhost.example.com",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn hostname_can_be_replaced() {
        let mut url = WebUrl::parse("http://localhost:8790/token").expect("parses");
        url.set_hostname("127.0.0.1");
        assert_eq!(url.href(), "http://127.0.0.1:8790/token");
    }
}
