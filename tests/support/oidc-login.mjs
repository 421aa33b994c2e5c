/**
 * Plays the browser in an OpenID Connect authorization code flow, with plain `fetch`,
 * a cookie jar and `redirect: 'manual'`: no browser, no client library.
 *
 * The high-level {@link authorizationCodeLogin} signs in at the local IdP (idp/) as a
 * given login and returns the token response. The pieces it is made of are exported
 * for tests that reach the IdP's login page some other way, e.g. by following the MCP
 * worker's redirect to its upstream sign-in:
 *
 *   const jar = new CookieJar();
 *   const { response } = await followRedirects(jar, workerAuthorizeUrl);   // ends on the login page
 *   const posted = await submitLoginForm(response, jar, 'alice');
 *   const { url } = await followRedirects(jar, posted, { stopAt: (u) => u.pathname === '/callback' });
 *
 * @module tests/support/oidc-login
 */

import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';

/**
 * An OAuth error: an `error` redirected to the client (RFC 6749 §4.1.2.1) or returned by
 * the token endpoint (RFC 6749 §5.2).
 */
export class OAuthError extends Error {
  /**
   * @param {object} fields
   * @param {string} fields.error OAuth error code, e.g. `invalid_grant`.
   * @param {string} [fields.error_description]
   * @param {number} [fields.status] HTTP status, for token endpoint errors.
   * @param {unknown} [fields.body] Parsed response body, for token endpoint errors.
   */
  constructor({ error, error_description: description, status, body }) {
    super(description ? `${error}: ${description}` : error);
    this.name = 'OAuthError';
    this.error = error;
    this.error_description = description;
    this.status = status;
    this.body = body;
  }
}

/**
 * A minimal RFC 6265 cookie store, enough to carry an IdP's session and interaction
 * cookies through a sign-in. Like browsers it ignores ports (RFC 6265 §8.5: cookies for
 * `localhost` are shared by every port), honours Domain, Path, Max-Age, Expires and
 * Secure, and ignores SameSite (every request here is a top-level navigation).
 */
export class CookieJar {
  /** @type {Map<string, { name: string, value: string, domain: string, hostOnly: boolean, path: string, expires: number, secure: boolean }>} */
  #cookies = new Map();

  /**
   * `fetch` with this jar: sends its matching cookies, stores the response's
   * `Set-Cookie`s, and never follows redirects (the caller decides where to go).
   *
   * @param {string | URL} url
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(url, init = {}) {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target);
    if (cookie) {
      headers.set('cookie', cookie);
    }
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    this.storeFrom(target, response);
    return response;
  }

  /**
   * Stores the cookies a response sets.
   *
   * @param {string | URL} url URL the response came from.
   * @param {Response} response
   */
  storeFrom(url, response) {
    for (const header of response.headers.getSetCookie()) {
      this.setCookie(header, url);
    }
  }

  /**
   * Stores one `Set-Cookie` header value received from `url` (RFC 6265 §5.2, §5.3).
   *
   * @param {string} header
   * @param {string | URL} url
   */
  setCookie(header, url) {
    const requestUrl = new URL(url);
    const [pair, ...attributes] = header.split(';');
    const separator = pair.indexOf('=');
    if (separator < 1) {
      return;
    }
    const name = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    const host = requestUrl.hostname.toLowerCase();

    let domain = host;
    let hostOnly = true;
    let path = defaultPath(requestUrl.pathname);
    let expires = Infinity;
    let maxAgeSeen = false;
    let secure = false;

    for (const attribute of attributes) {
      const equals = attribute.indexOf('=');
      const key = (equals === -1 ? attribute : attribute.slice(0, equals)).trim().toLowerCase();
      const attributeValue = equals === -1 ? '' : attribute.slice(equals + 1).trim();
      switch (key) {
        case 'max-age':
          if (/^-?\d+$/.test(attributeValue)) {
            maxAgeSeen = true; // Max-Age wins over Expires (§5.3 step 3)
            const seconds = Number(attributeValue);
            expires = seconds <= 0 ? 0 : Date.now() + seconds * 1000;
          }
          break;
        case 'expires':
          if (!maxAgeSeen) {
            const at = Date.parse(attributeValue);
            if (!Number.isNaN(at)) {
              expires = at;
            }
          }
          break;
        case 'domain': {
          const wanted = attributeValue.replace(/^\./, '').toLowerCase();
          if (wanted) {
            if (!domainMatches(host, wanted)) {
              return; // §5.3 step 6: a cookie for another domain is ignored.
            }
            domain = wanted;
            hostOnly = false;
          }
          break;
        }
        case 'path':
          if (attributeValue.startsWith('/')) {
            path = attributeValue;
          }
          break;
        case 'secure':
          secure = true;
          break;
        default:
          break;
      }
    }

    const key = `${domain}\t${path}\t${name}`;
    if (expires <= Date.now()) {
      this.#cookies.delete(key);
      return;
    }
    this.#cookies.set(key, { name, value, domain, hostOnly, path, expires, secure });
  }

  /**
   * The `Cookie` header a browser would send to `url` (RFC 6265 §5.4), or undefined.
   *
   * @param {string | URL} url
   * @returns {string | undefined}
   */
  cookieHeader(url) {
    return this.matching(url).map(({ name, value }) => `${name}=${value}`).join('; ') || undefined;
  }

  /**
   * The value of the cookie named `name` that would be sent to `url`.
   *
   * @param {string | URL} url
   * @param {string} name
   * @returns {string | undefined}
   */
  get(url, name) {
    return this.matching(url).find((cookie) => cookie.name === name)?.value;
  }

  /**
   * A copy of this jar: the browser's cookies as they are now, kept however this jar changes
   * later (what a replay of an earlier request from the same browser sends).
   *
   * @returns {CookieJar}
   */
  clone() {
    const copy = new CookieJar();
    for (const [key, cookie] of this.#cookies) {
      copy.#cookies.set(key, { ...cookie });
    }
    return copy;
  }

  /** Forgets every cookie (a fresh browser profile). */
  clear() {
    this.#cookies.clear();
  }

  matching(url) {
    const target = new URL(url);
    const host = target.hostname.toLowerCase();
    const now = Date.now();
    // Browsers send Secure cookies over https and to loopback hosts (secure contexts).
    const secureContext = target.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(host);
    const found = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires <= now) {
        this.#cookies.delete(key);
        continue;
      }
      const hostOk = cookie.hostOnly ? host === cookie.domain : domainMatches(host, cookie.domain);
      if (hostOk && pathMatches(target.pathname, cookie.path) && (!cookie.secure || secureContext)) {
        found.push(cookie);
      }
    }
    // §5.4 step 2: longer paths first.
    return found.sort((a, b) => b.path.length - a.path.length);
  }
}

function defaultPath(requestPath) {
  // RFC 6265 §5.1.4
  if (!requestPath.startsWith('/')) {
    return '/';
  }
  const lastSlash = requestPath.lastIndexOf('/');
  return lastSlash === 0 ? '/' : requestPath.slice(0, lastSlash);
}

function domainMatches(host, domain) {
  // RFC 6265 §5.1.3; IP addresses only match themselves.
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$|:/.test(host));
}

function pathMatches(requestPath, cookiePath) {
  // RFC 6265 §5.1.4
  return requestPath === cookiePath
    || (requestPath.startsWith(cookiePath)
      && (cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/'));
}

const isRedirect = (status) => [301, 302, 303, 307, 308].includes(status);

/**
 * Follows redirects with GET requests, as a browser does after a navigation or a form
 * POST answered with 303.
 *
 * @param {CookieJar} jar
 * @param {string | URL | Response} start A URL to fetch first, or a response already
 *   received (a redirect to continue from; anything else is returned as is).
 * @param {object} [options]
 * @param {(url: URL) => boolean} [options.stopAt] Stop, without fetching it, at the first
 *   redirect target for which this is true (a client's redirect URI, where nothing may listen).
 * @param {number} [options.maxRedirects=20]
 * @returns {Promise<{ response: Response, url: URL, stopped: boolean }>} `stopped` is true
 *   when `stopAt` matched; `url` is then the matching target and `response` the redirect
 *   pointing there. Otherwise `response` is the first non-redirect response and `url` its URL.
 */
export async function followRedirects(jar, start, { stopAt = () => false, maxRedirects = 20 } = {}) {
  let response;
  let url;
  if (start instanceof Response) {
    response = start;
    url = new URL(start.url);
  } else {
    url = new URL(start);
    if (stopAt(url)) {
      throw new Error(`followRedirects: start URL ${url} already matches stopAt`);
    }
    response = await jar.fetch(url);
  }

  for (let hops = 0; isRedirect(response.status); hops += 1) {
    if (hops >= maxRedirects) {
      throw new Error(`followRedirects: more than ${maxRedirects} redirects, last at ${url}`);
    }
    const location = response.headers.get('location');
    if (!location) {
      throw new Error(`followRedirects: HTTP ${response.status} without Location at ${url}`);
    }
    // Drain the body so the connection can be reused.
    await response.arrayBuffer();
    const next = new URL(location, url);
    if (stopAt(next)) {
      return { response, url: next, stopped: true };
    }
    url = next;
    response = await jar.fetch(url);
  }
  return { response, url, stopped: false };
}

/**
 * Finds the free-text login form (`id="login-form"`, field `login`) in the local IdP's
 * login page.
 *
 * @param {string} html
 * @param {string | URL} pageUrl URL of the page, to resolve the form's action against.
 * @returns {{ action: URL } | undefined}
 */
export function findLoginForm(html, pageUrl) {
  const form = /<form\b[^>]*\bid="login-form"[^>]*>/i.exec(html)?.[0];
  const action = form && /\baction="([^"]*)"/i.exec(form)?.[1];
  if (action === undefined || !/\bname="login"/.test(html)) {
    return undefined;
  }
  return { action: new URL(decodeHtmlAttribute(action), pageUrl) };
}

/**
 * Finds a form that a page submits by itself on load (hidden inputs only), such as an
 * OAuth `form_post` response (OAuth 2.0 Form Post Response Mode) or oidc-provider's
 * logout confirmation.
 *
 * @param {string} html
 * @param {string | URL} pageUrl URL of the page, to resolve the form's action against.
 * @returns {{ action: URL, fields: URLSearchParams } | undefined}
 */
export function findAutoPostForm(html, pageUrl) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form || !/\bmethod="post"/i.test(form[1]) || !/\.submit\(\)/.test(html)) {
    return undefined;
  }
  const action = /\baction="([^"]*)"/i.exec(form[1])?.[1];
  if (action === undefined) {
    return undefined;
  }
  const fields = new URLSearchParams();
  for (const [input] of form[2].matchAll(/<input\b[^>]*>/gi)) {
    if (!/\btype="hidden"/i.test(input)) {
      return undefined;
    }
    const name = /\bname="([^"]*)"/i.exec(input)?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(input)?.[1] ?? '';
    if (name !== undefined) {
      fields.append(decodeHtmlAttribute(name), decodeHtmlAttribute(value));
    }
  }
  return { action: new URL(decodeHtmlAttribute(action), pageUrl), fields };
}

function decodeHtmlAttribute(value) {
  return value.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F|#x60|#x3D);/gi, (_, entity) => ({
    amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x2f': '/', '#x60': '`', '#x3d': '=',
  })[entity.toLowerCase()]);
}

/**
 * Signs in on the local IdP's login page: POSTs `login` to the page's login form, like
 * a person typing it and pressing "Sign in".
 *
 * @param {Response | { url: string | URL, html: string }} page The login page: the
 *   response that returned it (its body not yet read) or its URL and HTML.
 * @param {CookieJar} jar The jar holding the IdP's interaction cookie.
 * @param {string} login Login to sign in as (a known user such as `alice`, or anything).
 * @returns {Promise<Response>} The IdP's answer: normally a 303 redirect on its way back
 *   to the client (continue with {@link followRedirects}); a 400 login page if refused.
 */
export async function submitLoginForm(page, jar, login) {
  const url = page instanceof Response ? page.url : String(page.url);
  const html = page instanceof Response ? await page.text() : page.html;
  const form = findLoginForm(html, url);
  if (!form) {
    throw new Error(`submitLoginForm: no login form at ${url}: ${textSnippet(html)}`);
  }
  return jar.fetch(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login }),
  });
}

/**
 * Fetches an issuer's OpenID Provider metadata and checks that it names the same
 * issuer (OpenID Connect Discovery 1.0 §4.3).
 *
 * @param {string} issuer
 * @returns {Promise<Record<string, any>>}
 */
export async function discover(issuer) {
  const response = await fetch(new URL('.well-known/openid-configuration', ensureSlash(issuer)));
  if (!response.ok) {
    throw new Error(`discovery at ${issuer} failed: HTTP ${response.status}`);
  }
  const metadata = await response.json();
  if (metadata.issuer !== issuer) {
    throw new Error(`discovery issuer mismatch: expected ${issuer}, got ${metadata.issuer}`);
  }
  return metadata;
}

function ensureSlash(url) {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * A PKCE pair (RFC 7636 §4.1-4.2): a 43-character verifier from 32 random bytes (the
 * shortest length allowed) and its S256 challenge.
 *
 * @returns {{ verifier: string, challenge: string, method: 'S256' }}
 */
export function createPkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge, method: 'S256' };
}

/**
 * Decodes a JWT's header and payload without verifying it.
 *
 * @param {string} jwt
 * @returns {{ header: Record<string, any>, payload: Record<string, any> }}
 */
export function decodeJwt(jwt) {
  const [header, payload] = jwt.split('.').slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, payload };
}

/**
 * A compact JWS of `header` and `payload` (RFC 7515 §7.1) signed by `signer`, which maps the
 * signing input to its base64url signature: what a forger, or a provider, would write.
 *
 * @param {Record<string, any>} header
 * @param {Record<string, any>} payload
 * @param {(input: string) => string} signer
 */
export function forgeJwt(header, payload, signer) {
  const encode = (part) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${signer(input)}`;
}

/** An RS256 signer (RFC 7518 §3.3) for {@link forgeJwt} from a private JWK. */
export function rs256Signer(privateJwk) {
  const key = createPrivateKey({ key: privateJwk, format: 'jwk' });
  return (input) => sign('sha256', Buffer.from(input), key).toString('base64url');
}

/**
 * Calls a token endpoint (RFC 6749 §3.2) with client authentication.
 *
 * @param {object} options
 * @param {string} options.tokenEndpoint
 * @param {string} options.clientId
 * @param {string} [options.clientSecret] Omit for a public client.
 * @param {'client_secret_post'|'client_secret_basic'} [options.clientAuthMethod='client_secret_post']
 * @param {Record<string, string>} options.params Grant parameters.
 * @returns {Promise<Record<string, any>>} The token response.
 * @throws {OAuthError} on an error response.
 */
export async function tokenRequest({
  tokenEndpoint, clientId, clientSecret, clientAuthMethod = 'client_secret_post', params,
}) {
  const body = new URLSearchParams(params);
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (clientSecret !== undefined && clientAuthMethod === 'client_secret_basic') {
    // RFC 6749 §2.3.1: id and secret are form-encoded before Base64.
    const encode = (value) => encodeURIComponent(value).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
  } else {
    body.set('client_id', clientId);
    if (clientSecret !== undefined) {
      body.set('client_secret', clientSecret);
    }
  }
  const response = await fetch(tokenEndpoint, { method: 'POST', headers, body });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok || !json?.access_token) {
    throw new OAuthError({
      error: json?.error ?? `http_${response.status}`,
      error_description: json?.error_description ?? textSnippet(text),
      status: response.status,
      body: json ?? text,
    });
  }
  return json;
}

/**
 * Signs in through the local IdP with the authorization code flow and PKCE, as a
 * browser and a client together would, and returns the token response.
 *
 * Steps: discovery; authorization request with PKCE S256, `state` and `nonce`
 * (OpenID Connect Core 1.0 §3.1.2.1); redirects to the login page; POST of `login`;
 * redirects back to `redirectUri`, where `state` and the RFC 9207 `iss` are checked;
 * code exchange (client_secret_post, or as a public client when no secret is given).
 * When the jar already holds an IdP session, no login page appears and `login` is unused.
 *
 * @param {object} options
 * @param {string} options.issuer e.g. `http://localhost:8790/`
 * @param {string} options.clientId
 * @param {string} [options.clientSecret] Confidential clients only.
 * @param {'client_secret_post'|'client_secret_basic'} [options.clientAuthMethod='client_secret_post']
 * @param {string} options.redirectUri A redirect URI registered for the client.
 * @param {string} [options.scope='openid profile email']
 * @param {string} [options.audience] Auth0 `audience` (the API); omitted when undefined.
 * @param {string} [options.login='alice'] Login to sign in as.
 * @param {Record<string, string>} [options.extraParams] More authorization request
 *   parameters (e.g. `prompt`, `login_hint`, `resource`); they override the defaults.
 * @param {CookieJar} [options.jar] Browser cookie jar; a fresh one when omitted.
 * @returns {Promise<Record<string, any> & { access_token: string, token_type: string,
 *   expires_in: number, scope?: string, id_token?: string, refresh_token?: string,
 *   nonce?: string }>} The token response, plus the `nonce` sent (when `scope` has `openid`).
 * @throws {OAuthError} when the IdP redirects back with an error or refuses the code.
 */
export async function authorizationCodeLogin({
  issuer,
  clientId,
  clientSecret,
  clientAuthMethod = 'client_secret_post',
  redirectUri,
  scope = 'openid profile email',
  audience,
  login = 'alice',
  extraParams = {},
  jar = new CookieJar(),
}) {
  const metadata = await discover(issuer);
  const pkce = createPkcePair();
  const state = randomBytes(16).toString('base64url');
  // `nonce` is an OpenID Connect parameter (Core 1.0 §3.1.2.1): sent only with `openid`.
  const nonce = scope.split(' ').includes('openid') ? randomBytes(16).toString('base64url') : undefined;

  const authorize = new URL(metadata.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    ...(nonce === undefined ? {} : { nonce }),
    code_challenge: pkce.challenge,
    code_challenge_method: pkce.method,
    ...(audience === undefined ? {} : { audience }),
    ...extraParams,
  };
  for (const [name, value] of Object.entries(params)) {
    authorize.searchParams.set(name, value);
  }

  const callback = new URL(redirectUri);
  const stopAt = (url) => url.origin === callback.origin && url.pathname === callback.pathname;

  let step = await followRedirects(jar, authorize, { stopAt });
  let returned;
  // Pages a browser would act on along the way: the login form (filled in with
  // `login`), and self-submitting forms (oidc-provider's logout confirmation when a
  // different user signs in over an existing session; response_mode=form_post).
  for (let pages = 0; !step.stopped; pages += 1) {
    const html = await step.response.text();
    const page = { url: step.url, html };
    const loginForm = findLoginForm(html, step.url);
    const autoPost = loginForm ? undefined : findAutoPostForm(html, step.url);
    if (pages >= 5 || (!loginForm && !autoPost)) {
      throw new Error(`sign-in did not return to ${redirectUri}: HTTP ${step.response.status} at ${step.url}: ${textSnippet(html)}`);
    }
    if (loginForm && step.response.status !== 200) {
      throw new Error(`the IdP refused the login ${JSON.stringify(login)}: ${textSnippet(/role="alert">([^<]*)/.exec(html)?.[1] ?? html)}`);
    }
    if (autoPost && stopAt(autoPost.action)) {
      returned = autoPost.fields; // response_mode=form_post: the response is the form itself
      break;
    }
    const posted = loginForm
      ? await submitLoginForm(page, jar, login)
      : await jar.fetch(autoPost.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: autoPost.fields,
      });
    step = await followRedirects(jar, posted, { stopAt });
  }
  returned ??= step.url.searchParams;

  if (returned.get('state') !== state) {
    throw new Error('state mismatch in the authorization response (RFC 6749 §10.12)');
  }
  if (returned.has('iss') && returned.get('iss') !== metadata.issuer) {
    throw new Error(`iss mismatch in the authorization response (RFC 9207): ${returned.get('iss')}`);
  }
  if (returned.has('error')) {
    throw new OAuthError({ error: returned.get('error'), error_description: returned.get('error_description') ?? undefined });
  }
  const code = returned.get('code');
  if (!code) {
    throw new Error('the authorization response has neither code nor error');
  }

  const tokens = await tokenRequest({
    tokenEndpoint: metadata.token_endpoint,
    clientId,
    clientSecret,
    clientAuthMethod,
    params: {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: pkce.verifier,
    },
  });
  return { ...tokens, nonce };
}

/**
 * Uses a refresh token (RFC 6749 §6). With rotation, the response carries a new
 * refresh token and the one sent is spent.
 *
 * @param {object} options
 * @param {string} options.issuer
 * @param {string} options.clientId
 * @param {string} [options.clientSecret] Confidential clients only.
 * @param {'client_secret_post'|'client_secret_basic'} [options.clientAuthMethod='client_secret_post']
 * @param {string} options.refreshToken
 * @param {string} [options.scope] Narrower scope to ask for.
 * @returns {Promise<Record<string, any>>} The token response.
 * @throws {OAuthError} e.g. `invalid_grant` for a spent or revoked refresh token.
 */
export async function refresh({
  issuer, clientId, clientSecret, clientAuthMethod, refreshToken, scope,
}) {
  const metadata = await discover(issuer);
  return tokenRequest({
    tokenEndpoint: metadata.token_endpoint,
    clientId,
    clientSecret,
    clientAuthMethod,
    params: {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...(scope === undefined ? {} : { scope }),
    },
  });
}

function textSnippet(text, length = 300) {
  return String(text)
    .replace(/<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, length);
}
