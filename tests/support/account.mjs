// The connected-apps page (/account) and the admin API, driven over the wire: a stack whose
// identity provider accepts both of the worker's redirect URIs, a browser-playing sign-in to the
// page, and readers for what the page shows.

import { createIdp } from '../../idp/provider.mjs';
import { CookieJar, followRedirects, submitLoginForm } from './oidc-login.mjs';
import { buildAll, ensureDevVars, freePort, startWorker } from './services.mjs';

/** The admin token the test worker runs with (local tests only, never a real secret). */
export const TEST_ADMIN_TOKEN = 'test-only-admin-token-0123456789abcdef';

export const SESSION_COOKIE = '__Host-account-session';

let built = false;

/**
 * The local identity provider (in process) and the MCP worker on free ports, with `/callback`
 * and `/account/callback` registered, and `ADMIN_TOKEN` set unless `adminToken` is ''.
 */
export async function startAccountStack({ adminToken = TEST_ADMIN_TOKEN } = {}) {
  if (!built) {
    buildAll();
    ensureDevVars();
    built = true;
  }
  const [idpPort, workerPort] = [await freePort(), await freePort()];
  const workerUrl = `http://localhost:${workerPort}`;
  const idp = await createIdp({
    port: idpPort,
    clientRedirectUris: [`${workerUrl}/callback`, `${workerUrl}/account/callback`],
    logLevel: 'silent',
  });
  let worker;
  try {
    worker = await startWorker({
      name: 'mcp-worker',
      port: workerPort,
      vars: { PUBLIC_URL: workerUrl, OIDC_ISSUER: idp.issuer, LOG_LEVEL: 'debug', ADMIN_TOKEN: adminToken },
      logLevel: 'log',
    });
  } catch (error) {
    await idp.close();
    throw error;
  }
  return {
    workerUrl,
    worker,
    idp,
    async stop() {
      await worker.stop();
      await idp.close();
    },
  };
}

/**
 * Signs `login` in to /account as a browser would: /account/login → the IdP's login form →
 * /account/callback → /account. Returns the jar (holding the session cookie), the callback's
 * Set-Cookie headers and the page.
 */
export async function accountSignIn(workerUrl, login, jar = new CookieJar()) {
  const start = await jar.fetch(`${workerUrl}/account/login`);
  if (start.status !== 303) throw new Error(`/account/login: ${start.status} ${await start.text()}`);
  const atCallback = (url) => url.href.startsWith(`${workerUrl}/account/callback`);
  const { response: loginPage, stopped, url: early } = await followRedirects(jar, new URL(start.headers.get('location')), { stopAt: atCallback });
  let callbackUrl = early;
  if (!stopped) {
    const posted = await submitLoginForm(loginPage, jar, login);
    const back = await followRedirects(jar, posted, { stopAt: atCallback });
    if (!back.stopped) throw new Error(`sign-in did not come back: ${back.response.status} at ${back.url}`);
    callbackUrl = back.url;
  }
  const callback = await jar.fetch(callbackUrl);
  const setCookies = callback.headers.getSetCookie();
  if (callback.status !== 303) throw new Error(`/account/callback: ${callback.status} ${await callback.text()}`);
  const page = await jar.fetch(`${workerUrl}/account`);
  return { jar, callback, setCookies, html: await page.text(), page };
}

/** The grants a page lists: ids, names and the CSRF token of its forms. */
export function parseAccountPage(html) {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const grants = [...html.matchAll(/<li><div class="app"><h2>([^<]*)<\/h2>.*?name="grant" value="([^"]+)"/gs)].map((m) => ({
    name: m[1],
    id: m[2],
  }));
  return { csrf, grants };
}

/** POSTs an /account form as the page would (same Origin unless told otherwise). */
export function postAccountForm(jar, workerUrl, path, fields, { origin = workerUrl } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (origin !== null) headers.origin = origin;
  return jar.fetch(`${workerUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) });
}

/** Calls the admin API with `token` (none when undefined). */
export function adminRequest(workerUrl, method, path, token) {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return fetch(`${workerUrl}${path}`, { method, headers });
}
