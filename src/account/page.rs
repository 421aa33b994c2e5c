//! The `/account` pages: server-rendered HTML in the consent page's style
//! ([`crate::authorize::page::STYLE`]), no external assets, every stored string escaped with the
//! consent page's [`escape`] (client names come from dynamic registration: OWASP XSS Prevention
//! Cheat Sheet, rule 1).

use serde::Serialize;

use crate::authorize::page::{STYLE, escape};
use crate::authorize::scopes;

/// One grant as the page and the admin API show it.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    pub id: String,
    pub client_id: String,
    /// The registered `client_name`, if the client gave one (unverified: self-registered).
    pub client_name: Option<String>,
    /// The host the grant's codes were sent to.
    pub redirect_host: Option<String>,
    pub scope: Vec<String>,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The last refresh-token grant, if one was seen (recorded by this worker).
    pub last_refreshed_at: Option<u64>,
    pub expires_at: Option<u64>,
}

/// A notice shown once after an action (fixed texts: nothing from the request is reflected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Revoked,
    SignedOut,
}

/// What the page extends the shared stylesheet with.
const ACCOUNT_STYLE: &str = "main{max-width:640px}header{display:flex;justify-content:space-between;align-items:flex-start;gap:12px;margin-bottom:10px}\
header form{margin:0}header button{flex:none}.notice{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:8px 12px;font-size:.92rem;margin:10px 0}\
ul.grants{list-style:none;margin:14px 0 0;padding:0}ul.grants li{border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:0 0 12px}ul.grants .facts{margin:12px 0 0;padding-bottom:0;border-bottom:0}\
.app{display:flex;justify-content:space-between;gap:12px;align-items:center}.app h2{font-size:1.05rem;margin:0;overflow-wrap:anywhere}.app form{margin:0}\
.app button{flex:none;padding:6px 14px}button.revoke{color:#b42318;border-color:#f1b5ae}.chips{display:flex;flex-wrap:wrap;gap:6px;justify-content:flex-end}\
.chips code{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:1px 6px;font-size:.8rem}a.button{display:inline-block;background:var(--accent);color:#fff;\
text-decoration:none;font-weight:600;border-radius:9px;padding:10px 18px;margin-top:12px}";

fn document(title: &str, body: &str) -> String {
    // No `<meta name="referrer">`: the response's `Referrer-Policy: same-origin` must hold, so
    // the page's own forms carry a real `Origin` (see `session::origin_allowed`).
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}{ACCOUNT_STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// `YYYY-MM-DD HH:MM UTC` for seconds since the Unix epoch (days to civil date: H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
pub fn format_utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let secs = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
        escape(value)
    )
}

fn grant_item(grant: &GrantView, csrf: &str) -> String {
    let name = grant
        .client_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("Unnamed app");
    let chips: String = grant
        .scope
        .iter()
        .map(|s| {
            format!(
                "<code title=\"{}\">{}</code>",
                escape(scopes::describe(s)),
                escape(s)
            )
        })
        .collect();
    let refreshed = grant
        .last_refreshed_at
        .map(format_utc)
        .unwrap_or_else(|| "Not since it was granted".into());
    format!(
        "<li><div class=\"app\"><h2>{name}</h2><form method=\"post\" action=\"/account/revoke\">{csrf}{grant_id}\
         <button type=\"submit\" class=\"revoke\">Revoke</button></form></div>\
         <dl class=\"facts\"><div><dt>Access is sent to</dt><dd>{host}</dd></div><div><dt>Client ID</dt><dd>{client_id}</dd></div>\
         <div><dt>Can</dt><dd class=\"chips\">{chips}</dd></div><div><dt>Granted</dt><dd>{granted}</dd></div>\
         <div><dt>Last refreshed</dt><dd>{refreshed}</dd></div></dl></li>",
        name = escape(name),
        csrf = hidden("csrf", csrf),
        grant_id = hidden("grant", &grant.id),
        host = escape(grant.redirect_host.as_deref().unwrap_or("unknown")),
        client_id = escape(&grant.client_id),
        granted = format_utc(grant.created_at),
        refreshed = escape(&refreshed),
    )
}

/// The signed-in page: who is signed in, sign out, and every grant with its Revoke button.
/// Each form carries the session's CSRF token.
pub fn connected_apps(
    user_name: &str,
    csrf: &str,
    grants: &[GrantView],
    notice: Option<Notice>,
) -> String {
    let notice = match notice {
        Some(Notice::Revoked) => {
            "<p class=\"notice\" role=\"status\">Access revoked. That app's tokens no longer work.</p>"
        }
        _ => "",
    };
    let list = if grants.is_empty() {
        "<p class=\"muted\">No apps have access to your account.</p>".to_owned()
    } else {
        let items: String = grants.iter().map(|g| grant_item(g, csrf)).collect();
        format!("<ul class=\"grants\">{items}</ul>")
    };
    let body = format!(
        "<header><div><h1>Connected apps</h1><p class=\"muted\">Signed in as <strong>{user}</strong></p></div>\
         <form method=\"post\" action=\"/account/signout\">{csrf}<button type=\"submit\">Sign out</button></form></header>\
         {notice}<p>These apps can reach your ToDos account through this server. Revoking one ends its access at once: \
         its access and refresh tokens stop working.</p>{list}",
        user = escape(user_name),
        csrf = hidden("csrf", csrf),
    );
    document("Connected apps", &body)
}

/// The page without a session: what it is, and the sign-in link.
pub fn signed_out(notice: Option<Notice>) -> String {
    let notice = match notice {
        Some(Notice::SignedOut) => "<p class=\"notice\" role=\"status\">You are signed out.</p>",
        _ => "",
    };
    let body = format!(
        "<h1>Connected apps</h1>{notice}<p>See the apps you allowed to access your ToDos account, and revoke their access.</p>\
         <p class=\"muted\">You will sign in with your identity provider.</p><a class=\"button\" href=\"/account/login\">Sign in</a>"
    );
    document("Connected apps", &body)
}

/// An error page for the account routes.
pub fn error(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p>{}</p><a class=\"button\" href=\"/account\">Back to connected apps</a>",
        escape(title),
        escape(message)
    );
    document(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(name: &str) -> GrantView {
        GrantView {
            id: "g\"1".into(),
            client_id: "c<1>".into(),
            client_name: Some(name.into()),
            redirect_host: Some("127.0.0.1".into()),
            scope: vec!["openid".into(), "read:todos".into()],
            created_at: 1_764_165_780,
            last_refreshed_at: None,
            expires_at: None,
        }
    }

    #[test]
    fn utc_dates_are_formatted() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_764_165_780), "2025-11-26 14:03 UTC");
    }

    #[test]
    fn stored_strings_are_escaped() {
        let html = connected_apps(
            "<b>eve</b>",
            "tok\"en",
            &[grant("<script>alert(1)</script>")],
            None,
        );
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;eve&lt;/b&gt;"));
        assert!(html.contains("value=\"tok&quot;en\""));
        assert!(html.contains("value=\"g&quot;1\""));
        assert!(html.contains("c&lt;1&gt;"));
    }

    #[test]
    fn page_lists_grants_with_revoke_forms_and_no_external_assets() {
        let html = connected_apps("alice", "t", &[grant("Inspector")], Some(Notice::Revoked));
        assert!(html.contains("<h2>Inspector</h2>"));
        assert!(html.contains("action=\"/account/revoke\""));
        assert!(html.contains("action=\"/account/signout\""));
        assert!(html.contains("<code title=\"Read your to-do list\">read:todos</code>"));
        assert!(html.contains("2025-11-26 14:03 UTC"));
        assert!(html.contains("Not since it was granted"));
        assert!(html.contains("Access revoked"));
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
        assert!(!html.contains("no-referrer"));
    }

    #[test]
    fn empty_list_and_signed_out_pages() {
        assert!(connected_apps("a", "t", &[], None).contains("No apps have access"));
        let out = signed_out(Some(Notice::SignedOut));
        assert!(out.contains("href=\"/account/login\"") && out.contains("You are signed out"));
    }
}
