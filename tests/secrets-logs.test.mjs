// Secrets never leak: an end-to-end run with every part logging at debug — the MCP
// worker and the ToDos API (LOG_LEVEL=debug, wrangler at its `log` level so console.log lines
// show) and the identity provider — collects every token, code, verifier, client secret, consent
// handle, state and cookie value issued, and asserts none of them appears in any log line or in
// any error body the run received.
//
// The upstream values the MCP client never sees (the identity provider's code, access, refresh
// and ID tokens, the worker's PKCE verifier and client secret) are read off the wire by the fault
// injector of tests/support/attack-stack.mjs, used here only as a recording proxy.
//
//   node_modules/.bin/node --test tests/secrets-logs.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { openSse } from './support/mcp-stack.mjs';
import {
  CLIENT_REDIRECT,
  CookieJar,
  authorizeUrl,
  callMcp,
  callTool,
  createPkcePair,
  parseConsent,
  registerClient,
  rpc,
  signInUpstream,
  sleep,
  startAttackStack,
  submitConsent,
  tokenRequest,
} from './support/attack-stack.mjs';

const SCOPE = 'openid email profile offline_access read:todos read:billing write:todos';

/** Every secret value seen in the run, with what it is. */
const secrets = new Map();
function secret(value, what) {
  if (typeof value !== 'string' || value.length < 12) return;
  secrets.set(value, what);
  // The library's tokens are `<user>:<grant>:<secret>`: the secret part alone must not leak either.
  const parts = value.split(':');
  if (parts.length === 3 && parts[2].length >= 12) secrets.set(parts[2], `${what} (secret part)`);
  // A JWT's signature is what makes it a credential.
  const jws = value.split('.');
  if (jws.length === 3 && jws[2].length >= 12) secrets.set(jws[2], `${what} (signature)`);
}

/** Error bodies the run received (HTTP ≥ 400 or an OAuth error redirect). */
const errorBodies = [];
async function keepError(response, what) {
  const text = await response.text();
  if (response.status >= 400) errorBodies.push({ what, status: response.status, text });
  return text;
}

/** A cookie jar that records every cookie value it is given. */
class RecordingJar extends CookieJar {
  setCookie(header, url) {
    const pair = header.split(';')[0];
    const value = pair.slice(pair.indexOf('=') + 1).trim();
    secret(value, `cookie ${pair.slice(0, pair.indexOf('='))}`);
    return super.setCookie(header, url);
  }
}

let stack;
const idpLog = [];

describe('secrets stay out of logs and error bodies', { timeout: 240_000 }, () => {
  before(async () => {
    stack = await startAttackStack({
      injectIdp: true,
      idpTtl: 90, // so the refresh grant refreshes upstream too
      idpLogLevel: 'debug',
      idpLogSink: (line) => idpLog.push(line),
      todosLogLevel: 'debug',
    });
    // Everything the MCP worker and the identity provider exchange.
    stack.injectors.idp.tap(({ url, requestBody, responseBody, headers }) => {
      if (headers.authorization) secret(headers.authorization.replace(/^\w+\s+/, ''), 'upstream Authorization header');
      if (url.startsWith('/oauth/token') || url.startsWith('/token')) {
        const form = new URLSearchParams(requestBody);
        for (const field of ['client_secret', 'code', 'code_verifier', 'refresh_token']) secret(form.get(field), `upstream ${field}`);
        try {
          const body = JSON.parse(responseBody);
          for (const field of ['access_token', 'refresh_token', 'id_token']) secret(body[field], `upstream ${field}`);
        } catch {
          // not JSON
        }
      }
    });
    secret(stack.idp.config.clientSecret, 'the worker\'s client secret');
    secret(stack.consentSecret, 'CONSENT_SECRET');
  });
  after(async () => {
    await stack?.stop();
  });

  test('a full run: registration, consent, sign-in, tokens, refresh, tools over /mcp and /sse, revocation, and refusals', async () => {
    const { mcpOrigin } = stack;
    const confidential = await registerClient(mcpOrigin, { token_endpoint_auth_method: 'client_secret_post' });
    secret(confidential.client_secret, 'MCP client_secret');
    const publicClient = await registerClient(mcpOrigin);
    if (confidential.registration_access_token) secret(confidential.registration_access_token, 'registration access token');

    for (const [client, login] of [[publicClient, 'alice'], [confidential, 'bob']]) {
      const jar = new RecordingJar();
      const pkce = createPkcePair();
      secret(pkce.verifier, 'MCP PKCE verifier');
      const page = await jar.fetch(authorizeUrl(mcpOrigin, { clientId: client.client_id, scope: SCOPE, challenge: pkce.challenge }));
      const consent = parseConsent(await page.text());
      secret(consent.handle, 'consent handle');
      const approved = await submitConsent(jar, mcpOrigin, { handle: consent.handle, scopes: consent.scopes, remember: true });
      const upstream = new URL(approved.headers.get('location'));
      secret(upstream.searchParams.get('state'), 'upstream state');
      secret(upstream.searchParams.get('nonce'), 'upstream nonce');
      const callback = await signInUpstream(jar, upstream, { login, stopAtCallback: true, workerUrl: mcpOrigin });
      secret(callback.searchParams.get('code'), 'upstream code');
      const back = await jar.fetch(callback);
      const redirect = new URL(back.headers.get('location'));
      const code = redirect.searchParams.get('code');
      secret(code, 'MCP authorization code');
      // A replay of the callback is refused: its page is an error body.
      await keepError(await jar.fetch(callback), 'replayed callback');

      const auth = client.client_secret ? { client_secret: client.client_secret } : {};
      const wrong = await tokenRequest(mcpOrigin, { grant_type: 'authorization_code', code, redirect_uri: CLIENT_REDIRECT, client_id: client.client_id, code_verifier: createPkcePair().verifier, ...auth });
      errorBodies.push({ what: 'wrong verifier', status: wrong.status, text: JSON.stringify(wrong.body) });
      const tokens = await tokenRequest(mcpOrigin, { grant_type: 'authorization_code', code, redirect_uri: CLIENT_REDIRECT, client_id: client.client_id, code_verifier: pkce.verifier, ...auth });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      secret(tokens.body.access_token, 'MCP access token');
      secret(tokens.body.refresh_token, 'MCP refresh token');

      // A second sign-in, remembered consent: the page is skipped.
      const again = await jar.fetch(authorizeUrl(mcpOrigin, { clientId: client.client_id, scope: SCOPE, challenge: pkce.challenge }));
      if (again.status === 302) secret(new URL(again.headers.get('location')).searchParams.get('state'), 'upstream state (remembered consent)');

      const refreshed = await tokenRequest(mcpOrigin, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.client_id, ...auth });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      secret(refreshed.body.access_token, 'MCP access token (refreshed)');
      secret(refreshed.body.refresh_token, 'MCP refresh token (refreshed)');
      const token = refreshed.body.access_token;

      for (const [name, args] of [['whoami', {}], ['list-todos', {}], ['add-todo', { title: 'secret test' }], ['list-billing', {}], ['complete-todo', { id: 'no-such-id' }]]) {
        const reply = await callTool(mcpOrigin, token, name, args);
        assert.equal(reply.status, 200, name);
        if (reply.result?.isError || reply.json?.error) errorBodies.push({ what: `tool ${name}`, status: reply.status, text: reply.text });
        assert.ok(!reply.text.includes(token), `${name} does not echo the token`);
      }
      const sse = await openSse(mcpOrigin, token);
      // The SSE session id is logged on purpose (session opened/closed): it is no credential, a
      // POST into the session needs a token of the grant that opened it (tests/mcp-sse.test.mjs).
      const posted = await fetch(sse.endpoint, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(rpc(1, 'tools/call', { name: 'whoami', arguments: {} })) });
      await posted.body?.cancel();
      const answer = await sse.next((item) => item.event === 'message');
      assert.ok(!answer.data.includes(token));
      const broken = await fetch(sse.endpoint, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"jsonrpc":' });
      await keepError(broken, 'malformed SSE message');
      sse.close();

      // Refusals whose bodies must not echo what they were given.
      await keepError(await fetch(`${mcpOrigin}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}x`, 'content-type': 'application/json' }, body: JSON.stringify(rpc(1, 'ping')) }), 'bad token at /mcp');
      const badRefresh = await tokenRequest(mcpOrigin, { grant_type: 'refresh_token', refresh_token: `${tokens.body.refresh_token}x`, client_id: client.client_id, ...auth });
      errorBodies.push({ what: 'bad refresh token', status: badRefresh.status, text: JSON.stringify(badRefresh.body) });
      await keepError(await jar.fetch(`${mcpOrigin}/authorize`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ handle: consent.handle, decision: 'approve' }) }), 'replayed consent handle');

      // Last: a replayed code (it ends the grant), then revocation.
      const replay = await tokenRequest(mcpOrigin, { grant_type: 'authorization_code', code, redirect_uri: CLIENT_REDIRECT, client_id: client.client_id, code_verifier: pkce.verifier, ...auth });
      errorBodies.push({ what: 'replayed code', status: replay.status, text: JSON.stringify(replay.body) });
      const revoked = await tokenRequest(mcpOrigin, { token: refreshed.body.refresh_token, client_id: client.client_id, ...auth });
      assert.equal(revoked.status, 200);
      assert.equal((await callMcp(mcpOrigin, token)).status, 401);
    }
    // An upstream refresh happened, so a rotated upstream refresh token was seen too.
    assert.ok([...secrets.values()].some((what) => what === 'upstream refresh_token'), 'the recording proxy saw the upstream tokens');
  });

  test('no secret appears in the MCP worker, ToDos API or identity provider logs, nor in any error body', async () => {
    await sleep(500); // let wrangler flush its output
    const sources = {
      'MCP worker log': stack.worker.logText(),
      'ToDos API log': stack.todos.logText(),
      'identity provider log': idpLog.join('\n'),
    };
    for (const body of errorBodies) sources[`error body: ${body.what} (${body.status})`] = body.text;
    assert.ok(sources['MCP worker log'].includes('"event":"token.refreshed"'), 'the worker logged at debug');
    // The library's onError report of the refused refresh, as the worker logs it: the code, the
    // status and the library's internal reason, never the token it refused.
    const oauthErrors = sources['MCP worker log']
      .split('\n')
      .filter((line) => line.includes('"event":"oauth.error"'))
      // wrangler prints console.warn lines in colour: the JSON is between the first { and the last }.
      .map((line) => JSON.parse(line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1)));
    assert.ok(
      oauthErrors.some((e) => e.level === 'warn' && e.code === 'invalid_grant' && e.status === 400 && e.category === 'refresh-token-grant' && e.reason === 'refresh_token_mismatch'),
      `the refused refresh is logged with its reason: ${JSON.stringify(oauthErrors)}`,
    );
    assert.ok(idpLog.length > 10, 'the identity provider logged at debug');
    assert.ok(sources['ToDos API log'].length > 0);
    const leaks = [];
    for (const [value, what] of secrets) {
      for (const [source, text] of Object.entries(sources)) {
        if (text.includes(value)) leaks.push(`${what} in ${source}`);
      }
    }
    console.log(`secrets: ${secrets.size} values checked against ${Object.keys(sources).length} logs and error bodies (${Math.round(Object.values(sources).join('').length / 1024)} KiB), ${leaks.length} leaks`);
    assert.deepEqual(leaks, []);
  });
});
