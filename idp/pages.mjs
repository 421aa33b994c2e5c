/**
 * HTML pages of the local identity provider: login, error, and RP-initiated logout.
 *
 * Every page is self-contained (inline CSS, no scripts, fonts, images or other requests)
 * so it renders offline and under the strict Content-Security-Policy in
 * {@link PAGE_SECURITY_HEADERS}. Every interpolated value passes through
 * {@link escapeHtml}: logins, login hints and client names are attacker-controlled.
 *
 * The login page is plain HTML forms posting a field named `login`, so a cookie-keeping
 * HTTP client (tests/support/oidc-login.mjs) can complete it without a browser.
 *
 * @module idp/pages
 */

/**
 * Escapes text for use in HTML element content and in double- or single-quoted
 * attribute values (the five characters OWASP's XSS prevention cheat sheet lists).
 *
 * @param {unknown} value Anything; `null`/`undefined` become the empty string.
 * @returns {string}
 */
export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ({
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#39;',
  })[char]);
}

/**
 * Response headers for every HTML page. No script runs on these pages at all, framing
 * is refused (clickjacking a one-click login would sign a victim in), and nothing is
 * cached (the pages embed per-request interaction URLs).
 *
 * `form-action` is deliberately absent: browsers apply it to the redirects that follow a
 * form submission, and the login form's redirect chain ends at the client's callback.
 */
export const PAGE_SECURITY_HEADERS = Object.freeze({
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
});

/** Plain-language meaning of the scopes the login page lists. */
const SCOPE_DESCRIPTIONS = Object.freeze({
  openid: 'Confirm who you are',
  profile: 'Your name and nickname',
  email: 'Your e-mail address',
  offline_access: 'Stay signed in (refresh token)',
});

const STYLE = `
:root{color-scheme:light dark;--bg:#eef1f7;--bg2:#dfe6f3;--card:#fff;--text:#18202e;--muted:#5d6779;--line:#dde2ec;
--accent:#4f46e5;--accent-ink:#fff;--accent-soft:#eef0ff;--warn-bg:#fff4e5;--warn-ink:#8a4b00;--err-bg:#fdecec;--err-ink:#a01c1c;
--chip:#f2f4f8;--radius:14px;--shadow:0 1px 2px rgba(16,24,40,.06),0 12px 32px rgba(16,24,40,.10)}
@media (prefers-color-scheme:dark){:root{--bg:#0f131b;--bg2:#141a26;--card:#19202c;--text:#e7ebf3;--muted:#98a2b5;--line:#2a3242;
--accent:#8b85ff;--accent-ink:#0f131b;--accent-soft:#242a44;--warn-bg:#3a2a12;--warn-ink:#ffcf8a;--err-bg:#3d1c1c;--err-ink:#ffb4b4;
--chip:#232b39;--shadow:0 1px 2px rgba(0,0,0,.4),0 12px 32px rgba(0,0,0,.35)}}
*{box-sizing:border-box}
html{min-height:100%;background:linear-gradient(180deg,var(--bg2),var(--bg) 420px) no-repeat,var(--bg)}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--text);
display:flex;align-items:flex-start;justify-content:center;padding:48px 16px}
main{width:100%;max-width:460px}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);box-shadow:var(--shadow);padding:28px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:18px}
.logo{width:34px;height:34px;border-radius:9px;background:linear-gradient(135deg,var(--accent),#06b6d4);display:grid;place-items:center;
color:#fff;font-weight:700;font-size:16px;letter-spacing:-.5px}
.brand b{font-size:15px}.brand small{display:block;color:var(--muted);font-size:12px}
.badge{margin-left:auto;white-space:nowrap;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.06em;padding:3px 8px;border-radius:999px;
background:var(--warn-bg);color:var(--warn-ink)}
h1{font-size:21px;line-height:1.3;margin:0 0 4px}
.lead{color:var(--muted);margin:0 0 18px}
.lead strong{color:var(--text)}
.access{background:var(--chip);border-radius:10px;padding:10px 12px;margin:0 0 20px;font-size:13px}
.access p{margin:0 0 6px;color:var(--muted)}
.access ul{margin:0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:6px}
.access li{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:2px 9px}
.access code,.sub,.hint code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.error{background:var(--err-bg);color:var(--err-ink);border-radius:10px;padding:10px 12px;margin:0 0 16px;font-size:14px}
.users{display:grid;gap:8px;margin:0}
.user{all:unset;box-sizing:border-box;display:flex;align-items:center;gap:12px;width:100%;padding:10px 12px;border:1px solid var(--line);
border-radius:12px;cursor:pointer;background:var(--card);transition:border-color .15s,background .15s,transform .05s}
.user:hover{border-color:var(--accent);background:var(--accent-soft)}
.user:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.user:active{transform:scale(.995)}
.avatar{flex:none;width:38px;height:38px;border-radius:50%;display:grid;place-items:center;font-weight:650;color:#fff;font-size:14px}
.who{min-width:0}.who b{display:block;font-weight:600}
.who span{display:block;color:var(--muted);font-size:13px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.user .sub{margin-left:auto;flex:none;max-width:38%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;color:var(--muted);
background:var(--chip);border-radius:6px;padding:2px 7px}
.arrow{color:var(--muted);font-size:18px}
.divider{display:flex;align-items:center;gap:10px;color:var(--muted);font-size:12px;margin:20px 0 14px;text-transform:uppercase;letter-spacing:.06em}
.divider:before,.divider:after{content:"";flex:1;height:1px;background:var(--line)}
label{display:block;font-weight:600;font-size:13px;margin-bottom:6px}
.row{display:flex;gap:8px}
input[type=text]{flex:1;min-width:0;font:inherit;color:var(--text);background:var(--card);border:1px solid var(--line);border-radius:10px;padding:9px 12px}
input[type=text]:focus{outline:3px solid var(--accent-soft);border-color:var(--accent)}
.primary{font:inherit;font-weight:600;border:0;border-radius:10px;padding:9px 16px;background:var(--accent);color:var(--accent-ink);cursor:pointer}
.primary:hover{filter:brightness(1.08)}
.hint{color:var(--muted);font-size:12.5px;margin:6px 0 0}
.cancel{all:unset;cursor:pointer;color:var(--muted);font-size:13px;text-decoration:underline;text-underline-offset:3px}
.cancel:focus-visible{outline:2px solid var(--accent)}
.foot{display:flex;justify-content:space-between;align-items:center;gap:8px;margin-top:18px;color:var(--muted);font-size:12px}
.foot code{font-size:11.5px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
pre{white-space:pre-wrap;word-break:break-word;background:var(--chip);padding:10px 12px;border-radius:10px;font-size:13px}
`;

const AVATAR_COLOURS = ['#4f46e5', '#0891b2', '#db2777', '#16a34a', '#ea580c', '#7c3aed', '#0d9488', '#b45309'];

function avatarColour(seed) {
  let hash = 0;
  for (const char of seed) {
    hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  }
  return AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
}

function initials(name) {
  const letters = name.split(/\s+/).filter(Boolean).map((word) => [...word][0]);
  return (letters.length > 1 ? letters[0] + letters.at(-1) : letters[0] ?? '?').toUpperCase();
}

function layout({ title, body }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function brand() {
  return `<div class="brand">
  <div class="logo" aria-hidden="true">ID</div>
  <div><b>Local identity provider</b><small>Stands in for Auth0</small></div>
  <span class="badge" title="Anyone can sign in as anyone here">Development only</span>
</div>`;
}

/**
 * @typedef {object} LoginPageOptions
 * @property {string} action URL the login forms post to.
 * @property {string} abortAction URL the cancel button posts to.
 * @property {string} clientId
 * @property {string} [clientName]
 * @property {string[]} scopes Scopes the client asked for.
 * @property {string} [audience] API the client asked an access token for (Auth0 `audience`).
 * @property {ReadonlyArray<{ sub: string, name: string, email: string }>} users One-click users.
 * @property {string} [login] Value to pre-fill in the free-text field (login hint, or the rejected input).
 * @property {string} [error] Message explaining why the last submission was refused.
 * @property {string} issuer
 */

/**
 * Renders the login page: one button per known user, plus a field that signs in as any
 * login typed into it.
 *
 * @param {LoginPageOptions} options
 * @returns {string} HTML document
 */
export function renderLoginPage({
  action, abortAction, clientId, clientName, scopes, audience, users, login = '', error, issuer,
}) {
  const app = clientName || clientId;
  const described = scopes.map((scope) => {
    const meaning = SCOPE_DESCRIPTIONS[scope];
    return `<li title="${escapeHtml(scope)}">${meaning ? escapeHtml(meaning) : `<code>${escapeHtml(scope)}</code>`}</li>`;
  }).join('');

  const access = scopes.length || audience
    ? `<div class="access">
  <p>${audience ? `Access to the API <code>${escapeHtml(audience)}</code> and:` : 'It asks for:'}</p>
  <ul>${described || '<li>No scopes</li>'}</ul>
</div>`
    : '';

  const buttons = users.map((user) => `<button class="user" type="submit" name="login" value="${escapeHtml(user.sub)}">
    <span class="avatar" style="background:${avatarColour(user.sub)}" aria-hidden="true">${escapeHtml(initials(user.name))}</span>
    <span class="who"><b>${escapeHtml(user.name)}</b><span>${escapeHtml(user.email)}</span></span>
    <code class="sub" title="sub">${escapeHtml(user.sub)}</code>
    <span class="arrow" aria-hidden="true">›</span>
  </button>`).join('\n  ');

  return layout({
    title: `Sign in to ${app}`,
    body: `<div class="card">
${brand()}
<h1>Sign in</h1>
<p class="lead">to continue to <strong>${escapeHtml(app)}</strong></p>
${access}
${error ? `<div class="error" role="alert">${escapeHtml(error)}</div>` : ''}
<form method="post" action="${escapeHtml(action)}" class="users" aria-label="Test users">
  ${buttons}
</form>
<div class="divider">or any other login</div>
<form method="post" action="${escapeHtml(action)}" id="login-form">
  <label for="login">Login</label>
  <div class="row">
    <input type="text" id="login" name="login" value="${escapeHtml(login)}" placeholder="e.g. erin or samlp|corp|erin"
      autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256"${error || login ? ' autofocus' : ''}>
    <button class="primary" type="submit">Sign in</button>
  </div>
  <p class="hint">Signs in as that exact string (it becomes the <code>sub</code>), with e-mail <code>&lt;login&gt;@example.test</code>. No password.</p>
</form>
<div class="foot">
  <form method="post" action="${escapeHtml(abortAction)}"><button class="cancel" type="submit">Cancel and return to the app</button></form>
  <code title="Issuer">${escapeHtml(issuer)}</code>
</div>
</div>`,
  });
}

/**
 * Renders an error page (for errors that cannot be redirected back to a client, such as
 * an unknown `redirect_uri`, per RFC 6749 §4.1.2.1).
 *
 * @param {object} options
 * @param {string} options.title Heading.
 * @param {string} [options.message] Explanation for a person.
 * @param {Record<string, unknown>} [options.details] OAuth error fields (`error`, `error_description`, ...).
 * @returns {string} HTML document
 */
export function renderErrorPage({ title, message, details = {} }) {
  const lines = Object.entries(details)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${escapeHtml(key)}: ${escapeHtml(value)}`)
    .join('\n');
  return layout({
    title,
    body: `<div class="card">
${brand()}
<h1>${escapeHtml(title)}</h1>
${message ? `<p class="lead">${escapeHtml(message)}</p>` : ''}
${lines ? `<pre>${lines}</pre>` : ''}
</div>`,
  });
}

/**
 * Renders the RP-initiated logout confirmation (OpenID Connect RP-Initiated Logout 1.0 §2).
 *
 * @param {object} options
 * @param {string} options.form The hidden form oidc-provider generates (id `op.logoutForm`,
 *   carrying its anti-CSRF token); trusted markup, inserted as is.
 * @param {string} options.host Host being signed out of.
 * @returns {string} HTML document
 */
export function renderLogoutPage({ form, host }) {
  return layout({
    title: 'Sign out',
    body: `<div class="card">
${brand()}
<h1>Sign out of ${escapeHtml(host)}?</h1>
<p class="lead">You will have to sign in again next time.</p>
${form}
<div class="row">
  <button class="primary" type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
  <button class="cancel" type="submit" form="op.logoutForm">No, stay signed in</button>
</div>
</div>`,
  });
}

/**
 * Renders the page shown after a logout that had no `post_logout_redirect_uri`.
 *
 * @param {object} options
 * @param {string} [options.clientName] Who asked for the logout.
 * @returns {string} HTML document
 */
export function renderLoggedOutPage({ clientName }) {
  return layout({
    title: 'Signed out',
    body: `<div class="card">
${brand()}
<h1>Signed out</h1>
<p class="lead">You have been signed out${clientName ? ` of <strong>${escapeHtml(clientName)}</strong>` : ''}. You can close this page.</p>
</div>`,
  });
}
