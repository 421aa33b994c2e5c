//! Absolute URLs this worker fetches from: the issuer's discovery document and its key set.
//!
//! A deliberately narrow parser instead of the `url` crate, whose IDNA and Unicode tables made
//! up a fifth of the upload for three configuration values. It accepts
//! `https://host[:port][/path][?query]`, and `http://` only on a loopback host, and it refuses
//! rather than normalises anything unusual: userinfo, backslashes, white space, non-ASCII or
//! percent-encoded hosts, and IPv4 shorthand such as `127.1` or `0x7f.0.0.1` (which WHATWG URL
//! parsers read as addresses, so a lenient check could be fooled about where a request goes).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A URL that passed [`FetchUrl::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchUrl {
    text: String,
    has_query_or_fragment: bool,
}

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not `scheme://authority…`, or characters outside printable ASCII, or a backslash.
    NotAbsolute,
    /// A scheme other than `https` or `http`.
    Scheme,
    /// `http` on a host that is not loopback.
    InsecureHttp,
    /// `user:password@` in the authority.
    Credentials,
    /// An empty or malformed host.
    Host,
    /// A port that is not a number from 1 to 65535.
    Port,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlProblem::NotAbsolute => {
                "is not an absolute URL in printable ASCII (scheme://host/path)"
            }
            UrlProblem::Scheme => "must use https (or http on a loopback host)",
            UrlProblem::InsecureHttp => {
                "uses http on a host that is not loopback (localhost, 127.0.0.0/8, [::1]); use https"
            }
            UrlProblem::Credentials => "must not contain credentials",
            UrlProblem::Host => "has a malformed host",
            UrlProblem::Port => "has a malformed port",
        })
    }
}

impl FetchUrl {
    /// Checks `text` and keeps it verbatim.
    pub fn parse(text: &str) -> Result<Self, UrlProblem> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
            return Err(UrlProblem::NotAbsolute);
        }
        let (scheme, rest) = text.split_once("://").ok_or(UrlProblem::NotAbsolute)?;
        let secure = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else if scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UrlProblem::Scheme);
        } else {
            return Err(UrlProblem::NotAbsolute);
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(UrlProblem::Credentials);
        }
        let host = split_port(authority)?;
        let loopback = classify_host(host)?;
        if !secure && !loopback {
            return Err(UrlProblem::InsecureHttp);
        }
        Ok(Self {
            text: text.to_owned(),
            has_query_or_fragment: tail.contains(['?', '#']),
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the URL has a `?query` or `#fragment`.
    pub fn has_query_or_fragment(&self) -> bool {
        self.has_query_or_fragment
    }
}

impl fmt::Display for FetchUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Returns the host part of `host[:port]`, checking the port.
fn split_port(authority: &str) -> Result<&str, UrlProblem> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or(UrlProblem::Host)?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or(UrlProblem::Host)?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p));
        if !valid {
            return Err(UrlProblem::Port);
        }
    }
    Ok(host)
}

/// Checks a host and returns whether it is loopback.
fn classify_host(host: &str) -> Result<bool, UrlProblem> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let address: Ipv6Addr = inner.parse().map_err(|_| UrlProblem::Host)?;
        return Ok(address.is_loopback());
    }
    let labels_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !labels_ok {
        return Err(UrlProblem::Host);
    }
    // WHATWG URL: a host whose last label is numeric is an IPv4 address; accept only the
    // plain dotted-quad form (std's parser refuses octal-looking leading zeros).
    let last = host.rsplit('.').next().unwrap_or_default();
    if last.starts_with(|c: char| c.is_ascii_digit()) {
        let address: Ipv4Addr = host.parse().map_err(|_| UrlProblem::Host)?;
        return Ok(address.is_loopback());
    }
    Ok(host.eq_ignore_ascii_case("localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_are_accepted_verbatim() {
        for ok in [
            "https://tenant.us.auth0.com/",
            "https://idp.example.com/realms/x/.well-known/openid-configuration",
            "https://idp.example.com:8443/jwks?tenant=a",
            "HTTPS://Example.COM",
            "https://[2001:db8::1]/",
            "https://10.0.0.1/",
        ] {
            assert_eq!(
                FetchUrl::parse(ok).map(|u| u.as_str().to_owned()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn http_is_accepted_only_on_loopback_hosts() {
        for ok in [
            "http://localhost:8790/",
            "http://LOCALHOST/",
            "http://127.0.0.1:1/",
            "http://127.8.9.10/",
            "http://[::1]:8790/",
            "http://[0:0:0:0:0:0:0:1]/",
        ] {
            assert!(FetchUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "http://[2001:db8::1]/",
        ] {
            assert_eq!(FetchUrl::parse(bad), Err(UrlProblem::InsecureHttp), "{bad}");
        }
    }

    #[test]
    fn ambiguous_hosts_are_refused_not_guessed() {
        for bad in [
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://127.0.0.1.5/",
            "http://localhost./",
            "http://local%68ost/",
            "http://lo_calhost/",
            "http://[::1/",
            "http:///path",
            "https://exämple.com/",
        ] {
            assert!(FetchUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_backslashes_and_white_space_are_refused() {
        assert_eq!(
            FetchUrl::parse("http://localhost@evil.example/"),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(
            FetchUrl::parse("http://localhost\\@evil.example/"),
            Err(UrlProblem::NotAbsolute)
        );
        assert_eq!(
            FetchUrl::parse("http://local host/"),
            Err(UrlProblem::NotAbsolute)
        );
    }

    #[test]
    fn schemes_and_ports_are_checked() {
        assert_eq!(FetchUrl::parse("ftp://x/"), Err(UrlProblem::Scheme));
        assert_eq!(FetchUrl::parse("not a url"), Err(UrlProblem::NotAbsolute));
        assert_eq!(FetchUrl::parse("/relative"), Err(UrlProblem::NotAbsolute));
        for bad in [
            "https://x:0/",
            "https://x:65536/",
            "https://x:/",
            "https://x:8a/",
        ] {
            assert_eq!(FetchUrl::parse(bad), Err(UrlProblem::Port), "{bad}");
        }
        assert!(FetchUrl::parse("https://x:65535/").is_ok());
    }

    #[test]
    fn query_and_fragment_are_reported() {
        assert!(
            FetchUrl::parse("https://x/?a=b")
                .expect("ok")
                .has_query_or_fragment()
        );
        assert!(
            FetchUrl::parse("https://x/#f")
                .expect("ok")
                .has_query_or_fragment()
        );
        assert!(
            !FetchUrl::parse("https://x/a/b")
                .expect("ok")
                .has_query_or_fragment()
        );
    }
}
