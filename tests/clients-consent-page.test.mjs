// The MCP worker's consent page as a real browser renders it (Debian's Chromium, headless): what it
// must show the person deciding, that it loads nothing from elsewhere and logs no console errors,
// and that Allow and Deny do what they say. The page's HTTP behaviour (headers, escaping, state
// rules) is covered without a browser in the OAuth tests; this is what a person sees.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { completeSignIn, launchBrowser, screenshot } from './support/browser.mjs';
import { startStack } from './support/client-stack.mjs';
import { createPkcePair } from './support/oidc-login.mjs';

const CLIENT_NAME = 'Consent Check Client';
const SCOPES = ['openid', 'email', 'profile', 'offline_access', 'read:todos', 'read:billing', 'write:todos'];

/** A client's redirect URI listener: records each request it gets. */
async function startRedirectListener() {
  const hits = [];
  const server = createServer((request, response) => {
    hits.push(new URL(request.url, 'http://127.0.0.1'));
    response.setHeader('content-type', 'text/plain');
    response.end('back at the client');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { redirectUri: `http://127.0.0.1:${port}/callback`, hits, close: () => new Promise((r) => server.close(r)) };
}

async function register(stack, redirectUri) {
  const response = await fetch(`${stack.mcpOrigin}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: CLIENT_NAME,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

/**
 * The resource a client names (RFC 8707), found the way MCP clients find it: the 401 from /mcp
 * points at the protected resource metadata (RFC 9728 §5.1), whose `resource` it is.
 */
async function protectedResource(stack) {
  const challenge = await fetch(`${stack.mcpOrigin}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  assert.equal(challenge.status, 401);
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1];
  assert.ok(metadataUrl, `WWW-Authenticate names the metadata: ${challenge.headers.get('www-authenticate')}`);
  const response = await fetch(metadataUrl);
  assert.equal(response.status, 200, `${metadataUrl}`);
  return (await response.json()).resource;
}

function authorizeUrl(stack, clientId, redirectUri, state) {
  const pkce = createPkcePair();
  const url = new URL('/authorize', stack.mcpOrigin);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: pkce.challenge,
    code_challenge_method: pkce.method,
    state,
    scope: SCOPES.join(' '),
    resource: stack.resource,
  })) {
    url.searchParams.set(name, value);
  }
  return url.href;
}

describe('the consent page in Chromium', () => {
  let stack;
  let browser;
  let listener;
  let client;

  before(async () => {
    stack = await startStack();
    stack.resource = await protectedResource(stack);
    browser = await launchBrowser();
    listener = await startRedirectListener();
    client = await register(stack, listener.redirectUri);
  });

  after(async () => {
    await browser?.close();
    await listener?.close();
    await stack?.stop();
  });

  test('shows the client name, each scope with a checkbox, the resource, the full redirect URI, Allow and Deny, with no console errors', async () => {
    const page = await browser.newPage();
    const response = await page.goto(authorizeUrl(stack, client.client_id, listener.redirectUri, 'state-shown'));
    assert.equal(response.status(), 200);
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await screenshot(page, 'consent-page');

    const text = await page.locator('body').innerText();
    assert.match(text, new RegExp(CLIENT_NAME), 'client name');
    assert.match(await page.title(), new RegExp(CLIENT_NAME), 'client name in the title');
    assert.match(text, /ToDos/, 'the resource is named as the ToDos API / account');
    assert.match(text, new RegExp(stack.mcpOrigin.replace(/[.:/]/g, '\\$&')), 'the resource URL');
    assert.ok(text.includes(listener.redirectUri), `the registered redirect URI in full (${listener.redirectUri})`);
    for (const scope of SCOPES) {
      const box = page.locator(`input[type="checkbox"][value="${scope}"]`);
      assert.equal(await box.count(), 1, `one checkbox for ${scope}`);
      assert.equal(await box.isChecked(), true, `${scope} ticked by default`);
      assert.match(text, new RegExp(scope), `${scope} named on the page`);
    }
    assert.equal(await page.getByRole('button', { name: 'Allow' }).isVisible(), true);
    assert.equal(await page.getByRole('button', { name: 'Deny' }).isVisible(), true);

    assert.deepEqual(browser.consoleErrors(page), [], 'console errors');
    assert.deepEqual(browser.blocked, [], 'the page loads nothing from other hosts');
    await page.close();
  });

  test('Allow, then signing in at the identity provider, brings the browser back to the client with a code', async () => {
    const page = await browser.newPage();
    const state = randomBytes(8).toString('hex');
    await page.goto(authorizeUrl(stack, client.client_id, listener.redirectUri, state));
    const result = await completeSignIn(page, {
      login: 'alice', workerOrigin: stack.mcpOrigin, idpOrigin: stack.idpOrigin,
    });
    assert.equal(result.consentShown, true);
    assert.equal(result.loginShown, true);
    await page.waitForLoadState('load');
    const back = listener.hits.find((url) => url.searchParams.get('state') === state);
    assert.ok(back, `the client's redirect URI was reached (hits: ${listener.hits.map(String)})`);
    assert.ok(back.searchParams.get('code'), 'an authorization code');
    assert.equal(back.searchParams.get('iss'), stack.mcpOrigin, 'RFC 9207 iss names the MCP worker');
    assert.deepEqual(browser.consoleErrors(page), []);
    await page.close();
  });

  test('Deny brings the browser back to the client with access_denied and never to the identity provider', async () => {
    const page = await browser.newPage();
    const state = randomBytes(8).toString('hex');
    const visited = [];
    page.on('request', (request) => visited.push(request.url()));
    await page.goto(authorizeUrl(stack, client.client_id, listener.redirectUri, state));
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL((url) => url.href.startsWith(listener.redirectUri));
    const back = listener.hits.find((url) => url.searchParams.get('state') === state);
    assert.ok(back, 'the client was told');
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('code'), null);
    assert.equal(visited.some((url) => url.startsWith(stack.idpOrigin)), false, 'no trip to the identity provider');
    await page.close();
  });
});
