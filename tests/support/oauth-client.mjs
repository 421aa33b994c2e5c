// An MCP client and its user's browser, played with plain fetch and a cookie jar, against the
// real MCP worker (wrangler dev) and the local identity provider (idp/, in this process so a test
// can restart it or shorten its token lifetimes). Only what goes over the wire is used.

import { createHash } from 'node:crypto';

import { createIdp } from '../../idp/provider.mjs';
import { CookieJar, createPkcePair, followRedirects, submitLoginForm } from './oidc-login.mjs';
import { buildAll, ensureDevVars, freePort, startWorker } from './services.mjs';

export { CookieJar, createPkcePair };

/** Where the test MCP client says it listens; nothing needs to. */
export const CLIENT_REDIRECT = 'http://127.0.0.1:8799/callback';

let built = false;

/**
 * Starts the identity provider (in process) and the MCP worker (wrangler dev) on free ports,
 * wired to each other: the worker's PUBLIC_URL and the IdP's registered redirect URI agree.
 * @param {{ accessTokenTtl?: number }} [options]
 */
export async function startStack({ accessTokenTtl } = {}) {
  if (!built) {
    buildAll();
    ensureDevVars();
    built = true;
  }
  const [idpPort, workerPort] = [await freePort(), await freePort()];
  const workerUrl = `http://localhost:${workerPort}`;
  const idpConfig = {
    port: idpPort,
    clientRedirectUris: [`${workerUrl}/callback`],
    logLevel: 'silent',
    ...(accessTokenTtl ? { accessTokenTtl } : {}),
  };
  let idp = await createIdp(idpConfig);
  let worker;
  try {
    worker = await startWorker({
      name: 'mcp-worker',
      port: workerPort,
      vars: { PUBLIC_URL: workerUrl, OIDC_ISSUER: idp.issuer, LOG_LEVEL: 'debug' },
      // wrangler shows the worker's console.log lines (our debug events) from its 'log' level up.
      logLevel: 'log',
    });
  } catch (error) {
    await idp.close();
    throw error;
  }
  return {
    workerUrl,
    worker,
    get idp() {
      return idp;
    },
    /** Restarts the identity provider on the same port: it forgets every grant and token. */
    async restartIdp() {
      await idp.close();
      idp = await createIdp(idpConfig);
    },
    async stop() {
      await worker.stop();
      await idp.close();
    },
  };
}

/** RFC 7591 dynamic registration of a public client (PKCE, no secret), or with `metadata`. */
export async function registerClient(workerUrl, metadata = {}) {
  const response = await fetch(`${workerUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test MCP Client',
      redirect_uris: [CLIENT_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** The authorization request URL (OAuth 2.1 §4.1.1) with PKCE unless told otherwise. */
export function authorizeUrl(workerUrl, { clientId, redirectUri = CLIENT_REDIRECT, scope, state = 'state-123', challenge, method = 'S256', resource = workerUrl }) {
  const url = new URL('/authorize', workerUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  if (scope) url.searchParams.set('scope', scope);
  if (state) url.searchParams.set('state', state);
  if (challenge) url.searchParams.set('code_challenge', challenge);
  if (challenge && method) url.searchParams.set('code_challenge_method', method);
  if (resource) url.searchParams.set('resource', resource);
  return url;
}

/** The hidden handle and the offered scopes of a consent page. */
export function parseConsent(html) {
  const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1];
  const scopes = [...html.matchAll(/type="checkbox" name="scope" value="([^"]+)"/g)].map((m) => m[1]);
  return { handle, scopes };
}

/** Posts the consent form as the browser would. */
export function submitConsent(jar, workerUrl, { handle, decision = 'approve', scopes = [], remember = false }) {
  const body = new URLSearchParams({ handle, decision });
  for (const scope of scopes) body.append('scope', scope);
  if (remember) body.set('remember', '1');
  return jar.fetch(`${workerUrl}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: workerUrl },
    body,
  });
}

/**
 * The binding cookie the OAuth library sets for a consent `handle` or an upstream `state` (`kind`
 * `consent` or `upstream`): named after the first 16 hex digits of the value's SHA-256, holding the
 * whole hash (workers-oauth-provider's `transactionCookieName` and `bindingCookie`). A test that
 * plants it gets past the cookie check to the transaction lookup.
 */
export function bindingCookie(kind, handle) {
  const hash = createHash('sha256').update(handle).digest('hex');
  return { name: `__Host-oauth-${kind}-${hash.slice(0, 16)}`, value: hash };
}

/** Stores cookie `name` = `value` in `jar` for `workerUrl`, as the library's `Set-Cookie` would. */
export function plantCookie(jar, workerUrl, { name, value }) {
  jar.setCookie(`${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax`, workerUrl);
}

const isClientRedirect = (url) => url.href.startsWith(CLIENT_REDIRECT);

/**
 * From the worker's redirect to the identity provider: signs in as `login` and follows the
 * redirects through the worker's /callback until the client's redirect URI.
 * `stopAtCallback` stops before the worker's /callback instead, returning its URL.
 */
export async function signInUpstream(jar, upstreamRedirect, { login = 'alice', stopAtCallback = false, workerUrl } = {}) {
  const { response: loginPage, stopped: early, url: earlyUrl } = await followRedirects(jar, upstreamRedirect, { stopAt: isClientRedirect });
  if (early) return earlyUrl; // the IdP session already existed
  const posted = await submitLoginForm(loginPage, jar, login);
  const stopAt = stopAtCallback ? (url) => url.href.startsWith(`${workerUrl}/callback`) : isClientRedirect;
  const { url, stopped, response } = await followRedirects(jar, posted, { stopAt });
  if (!stopped) throw new Error(`sign-in did not come back: ${response.status} at ${url}: ${(await response.text()).slice(0, 300)}`);
  return url;
}

/** The IdP login page's cancel form (the user declines there): returns the callback URL. */
export async function cancelUpstream(jar, upstreamRedirect, workerUrl) {
  const { response: loginPage } = await followRedirects(jar, upstreamRedirect);
  const html = await loginPage.text();
  const action = /<form method="post" action="([^"]+)"><button class="cancel"/.exec(html)?.[1];
  if (!action) throw new Error('no cancel form on the login page');
  const posted = await jar.fetch(new URL(action.replace(/&amp;/g, '&'), loginPage.url), { method: 'POST' });
  const { url } = await followRedirects(jar, posted, { stopAt: (u) => u.href.startsWith(`${workerUrl}/callback`) });
  return url;
}

/**
 * The whole browser part: consent page → Allow → sign-in → back to the client. Returns the
 * client redirect URL (with `code`, `state`, `iss`).
 */
export async function authorize(workerUrl, { clientId, scope, login = 'alice', consentScopes, remember = false, jar = new CookieJar(), pkce = createPkcePair() }) {
  const page = await jar.fetch(authorizeUrl(workerUrl, { clientId, scope, challenge: pkce.challenge }));
  if (page.status === 302) {
    return { jar, pkce, consentShown: false, redirect: await signInUpstream(jar, new URL(page.headers.get('location')), { login }) };
  }
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${await page.text()}`);
  const consent = parseConsent(await page.text());
  const decided = await submitConsent(jar, workerUrl, { handle: consent.handle, scopes: consentScopes ?? consent.scopes, remember });
  if (decided.status !== 302) throw new Error(`consent decision: ${decided.status} ${await decided.text()}`);
  const redirect = await signInUpstream(jar, new URL(decided.headers.get('location')), { login });
  return { jar, pkce, consentShown: true, offered: consent.scopes, redirect };
}

/** POST to the worker's token endpoint (form-encoded, RFC 6749 §4.1.3). */
export async function tokenRequest(workerUrl, params) {
  const response = await fetch(`${workerUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body, headers: response.headers };
}

/**
 * Calls the `whoami` tool on /mcp (Streamable HTTP, stateless JSON-RPC) with a bearer token.
 * `body` is the tool's structured result (`{ user, scopes }`) when the call went through.
 */
export async function callMcp(workerUrl, accessToken) {
  const response = await fetch(`${workerUrl}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
  });
  const text = await response.text();
  let body = text;
  try {
    const message = JSON.parse(text);
    body = message.result?.structuredContent ?? JSON.parse(message.result?.content?.[0]?.text ?? 'null') ?? message;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

/** Opens /sse with a bearer token and reports the status (the stream, if any, is closed at once). */
export async function sseStatus(workerUrl, accessToken) {
  const controller = new AbortController();
  const response = await fetch(`${workerUrl}/sse`, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  controller.abort();
  return response.status;
}

/** Registration + authorization + code exchange: a fresh token set for `login`. */
export async function signedInClient(workerUrl, { login = 'alice', scope = 'openid email profile offline_access read:todos read:billing write:todos', consentScopes } = {}) {
  const client = await registerClient(workerUrl);
  const { redirect, pkce } = await authorize(workerUrl, { clientId: client.client_id, scope, login, consentScopes });
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect}`);
  const tokens = await tokenRequest(workerUrl, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: CLIENT_REDIRECT,
    client_id: client.client_id,
    code_verifier: pkce.verifier,
  });
  if (tokens.status !== 200) throw new Error(`token: ${tokens.status} ${JSON.stringify(tokens.body)}`);
  return { client, tokens: tokens.body };
}
