//! The consent and error pages: server-rendered HTML with inline CSS and no external assets.
//! Every string that came from a client (name, URIs, scopes) is escaped (OWASP XSS prevention
//! rule 1; MCP security best practices, "Consent UI requirements").

use super::scopes;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            _ => out.push(c),
        }
    }
    out
}

/// What the consent page shows.
pub struct ConsentView<'a> {
    pub client_name: &'a str,
    pub client_id: &'a str,
    /// A Client ID Metadata Document client's verified domain.
    pub client_domain: Option<&'a str>,
    /// The registered redirect URI the authorization code goes to, in full: a host alone would
    /// hide a path on a shared host or a port on the loopback address (MCP security best
    /// practices, "Consent UI requirements": show the registered `redirect_uri`).
    pub redirect_uri: &'a str,
    pub redirect_is_loopback: bool,
    pub scopes: &'a [String],
    /// The protected resource the access is for.
    pub resource: &'a str,
    /// The browser-bound handle from `beginConsent()`.
    pub handle: &'a str,
}

/// The pages' shared stylesheet (inline: no external assets), also used by `crate::account`.
pub const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1d2330;--muted:#5b6475;--line:#e2e5ea;--accent:#2f5bea;--warn-bg:#fff6e0;--warn:#8a5a00}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1e222a;--text:#e8ebf0;--muted:#9aa3b2;--line:#2e3440;--accent:#6d8dff;--warn-bg:#3a2f12;--warn:#f3c66b}}
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:24px}
main{background:var(--card);border:1px solid var(--line);border-radius:14px;max-width:480px;width:100%;padding:28px 28px 24px;box-shadow:0 8px 30px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 6px;line-height:1.3;overflow-wrap:anywhere}p{margin:8px 0}.muted{color:var(--muted);font-size:.92rem}
.who{display:flex;gap:12px;align-items:center;margin-bottom:14px}.badge{flex:none;width:44px;height:44px;border-radius:10px;background:var(--accent);color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700;font-size:1.2rem}
.facts{border-top:1px solid var(--line);border-bottom:1px solid var(--line);margin:14px 0;padding:10px 0}.facts div{display:flex;justify-content:space-between;gap:12px;font-size:.92rem;padding:3px 0}.facts dt{color:var(--muted)}.facts dd{margin:0;text-align:right;overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}.facts div.uri{display:block}.facts div.uri dd{text-align:left}
.warn{background:var(--warn-bg);color:var(--warn);border-radius:8px;padding:10px 12px;font-size:.92rem;margin:12px 0}
fieldset{border:0;padding:0;margin:12px 0}legend{font-weight:600;margin-bottom:6px}label.scope{display:flex;gap:10px;align-items:flex-start;padding:7px 0;border-bottom:1px solid var(--line)}label.scope:last-child{border-bottom:0}
label.scope input{margin-top:4px}.scope code{font-size:.8rem;color:var(--muted)}.remember{display:flex;gap:8px;align-items:center;font-size:.92rem;margin:10px 0 4px}
.actions{display:flex;gap:10px;margin-top:18px}button{flex:1;font:inherit;font-weight:600;border-radius:9px;padding:10px 14px;cursor:pointer;border:1px solid var(--line);background:transparent;color:var(--text)}
button.allow{background:var(--accent);border-color:var(--accent);color:#fff}button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
"#;

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// The letter on the client's badge: the first ASCII letter or digit of its name, upper-cased,
/// or its first other visible character (`É`, `名`) as it is; `?` when there is none. Never an
/// HTML-special character, so it needs no escaping. Case is mapped for ASCII only: Rust's full
/// Unicode case tables would add about 8 KB gzip to the module for one letter of one page.
pub fn badge_letter(client_name: &str) -> String {
    client_name
        .chars()
        .find(|c| {
            c.is_ascii_alphanumeric() || !(c.is_ascii() || c.is_whitespace() || c.is_control())
        })
        .map_or_else(|| "?".to_owned(), |c| c.to_ascii_uppercase().to_string())
}

/// The consent page. The form posts back to `/authorize` with the handle; nothing trusted comes
/// from it but the ticked scopes (the request itself is kept server-side by the library).
pub fn consent(view: &ConsentView<'_>) -> String {
    let name = escape(view.client_name);
    let initial = badge_letter(view.client_name);
    let origin = match view.client_domain {
        Some(domain) => format!(
            "<p class=\"muted\">Published by <strong>{}</strong>.</p>",
            escape(domain)
        ),
        None => "<p class=\"muted\">This app registered itself: its name is not verified.</p>"
            .to_owned(),
    };
    let loopback = if view.redirect_is_loopback {
        "<div class=\"warn\" role=\"alert\"><strong>This sends access to an app on your computer.</strong> Any program on this \
         computer could be listening there, whatever name it shows. Continue only if you just started signing in from it.</div>"
    } else {
        ""
    };
    let scope_items: String = view
        .scopes
        .iter()
        .map(|scope| {
            let s = escape(scope);
            let (attrs, hidden) = if scopes::REQUIRED.contains(&scope.as_str()) {
                (" checked disabled", format!("<input type=\"hidden\" name=\"scope\" value=\"{s}\">"))
            } else {
                (" checked", String::new())
            };
            format!(
                "<label class=\"scope\"><input type=\"checkbox\" name=\"scope\" value=\"{s}\"{attrs}>{hidden}<span>{}<br><code>{s}</code></span></label>",
                escape(scopes::describe(scope))
            )
        })
        .collect();
    let body = format!(
        "<div class=\"who\"><div class=\"badge\" aria-hidden=\"true\">{initial}</div><div><h1>Allow {name} to access your ToDos account?</h1></div></div>\
         {origin}\
         <dl class=\"facts\"><div class=\"uri\"><dt>Access is sent to</dt><dd>{redirect_uri}</dd></div><div><dt>For</dt><dd>{resource}</dd></div>\
         <div><dt>Client ID</dt><dd>{client_id}</dd></div></dl>{loopback}\
         <form method=\"post\" action=\"/authorize\"><input type=\"hidden\" name=\"handle\" value=\"{handle}\">\
         <fieldset><legend>{name} will be able to:</legend>{scope_items}</fieldset>\
         <label class=\"remember\"><input type=\"checkbox\" name=\"remember\" value=\"1\"> Remember this decision for this app for 30 days</label>\
         <div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         <button type=\"submit\" class=\"allow\" name=\"decision\" value=\"approve\">Allow</button></div></form>\
         <p class=\"muted\">You will sign in with your identity provider next. You can revoke this access at any time.</p>",
        redirect_uri = escape(view.redirect_uri),
        resource = escape(view.resource),
        client_id = escape(view.client_id),
        handle = escape(view.handle),
    );
    document(&format!("Allow {} access?", view.client_name), &body)
}

/// An error page, for failures that must not be redirected to the client (RFC 6749 §4.1.2.1:
/// the client or its redirect URI is not validated) or that end the flow here.
pub fn error(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p><p class=\"muted\">Return to the app you came from and start signing in again.</p>",
        escape(title),
        escape(message)
    );
    document(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_letter_is_the_first_visible_character_and_never_html() {
        assert_eq!(badge_letter("mcp inspector"), "M");
        assert_eq!(badge_letter("  <script>alert(1)</script>"), "S");
        assert_eq!(badge_letter("\"'&9 lives"), "9");
        assert_eq!(badge_letter("élan"), "é");
        assert_eq!(badge_letter("\u{3000}\u{85}名前"), "名");
        assert_eq!(badge_letter(""), "?");
        assert_eq!(badge_letter(" -_- "), "?");
    }

    fn view<'a>(name: &'a str, scopes: &'a [String]) -> ConsentView<'a> {
        ConsentView {
            client_name: name,
            client_id: "abc",
            client_domain: None,
            redirect_uri: "http://localhost:6274/oauth/callback?x=\"1\"&y=<2>",
            redirect_is_loopback: true,
            scopes,
            resource: "http://localhost:8788",
            handle: "h\"andle",
        }
    }

    #[test]
    fn escape_covers_html_metacharacters() {
        assert_eq!(
            escape("<script>alert('x')&\"`</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&#96;&lt;/script&gt;"
        );
    }

    #[test]
    fn client_name_with_markup_is_inert() {
        let scopes = vec!["openid".to_string(), "read:todos".to_string()];
        let html = consent(&view(
            "<img src=x onerror=alert(1)><script>alert(2)</script>",
            &scopes,
        ));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("value=\"h&quot;andle\""));
    }

    #[test]
    fn page_shows_scopes_full_redirect_uri_warning_and_both_buttons() {
        let scopes = vec!["openid".to_string(), "read:todos".to_string()];
        let html = consent(&view("Inspector", &scopes));
        assert!(html.contains("Read your to-do list"));
        assert!(html.contains("name=\"scope\" value=\"read:todos\" checked>"));
        assert!(html.contains("value=\"openid\" checked disabled"));
        assert!(html.contains("an app on your computer"));
        assert!(html.contains("value=\"approve\"") && html.contains("value=\"deny\""));
        assert!(html.contains(
            "<dt>Access is sent to</dt><dd>http://localhost:6274/oauth/callback?x=&quot;1&quot;&amp;y=&lt;2&gt;</dd>"
        ));
        assert!(!html.contains("<link") && !html.contains("<script"));
    }
}
