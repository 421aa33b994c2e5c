// The MCP worker as OAuth 2.1 authorization server, signing users in through the local identity
// provider. End to end: the real worker under wrangler dev, the real IdP, and an HTTP client that
// plays the MCP client and the user's browser. Only what goes over the wire is asserted.
//
//   node_modules/.bin/node --test tests/oauth-*.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CLIENT_REDIRECT,
  CookieJar,
  authorize,
  authorizeUrl,
  bindingCookie,
  callMcp,
  cancelUpstream,
  createPkcePair,
  parseConsent,
  registerClient,
  signInUpstream,
  signedInClient,
  sseStatus,
  startStack,
  submitConsent,
  tokenRequest,
} from './support/oauth-client.mjs';
import { callTool, loggedEvents, rpc, startAttackStack } from './support/attack-stack.mjs';
import { postMcp } from './support/mcp-stack.mjs';

const ALL_SCOPES = 'openid email profile offline_access read:todos read:billing write:todos';

describe('the MCP worker as authorization server', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  /** A new browser's consent page for `client`, approved with every scope: its redirect upstream. */
  async function approvedSignIn(client) {
    const jar = new CookieJar();
    const page = await jar.fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, challenge: createPkcePair().challenge }));
    const { handle, scopes } = parseConsent(await page.text());
    const approved = await submitConsent(jar, stack.workerUrl, { handle, scopes });
    return { jar, upstreamRedirect: new URL(approved.headers.get('location')) };
  }

  test('publishes authorization server and protected resource metadata, at the root and for /mcp and /sse', async () => {
    const as = await fetch(`${stack.workerUrl}/.well-known/oauth-authorization-server`, { headers: { origin: 'http://localhost:6274' } });
    assert.equal(as.status, 200);
    assert.equal(as.headers.get('access-control-allow-origin'), 'http://localhost:6274');
    const metadata = await as.json();
    assert.equal(metadata.issuer, stack.workerUrl);
    assert.equal(metadata.authorization_endpoint, `${stack.workerUrl}/authorize`);
    assert.equal(metadata.token_endpoint, `${stack.workerUrl}/token`);
    assert.equal(metadata.registration_endpoint, `${stack.workerUrl}/register`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.scopes_supported, ALL_SCOPES.split(' '));
    for (const path of ['', '/mcp', '/sse']) {
      const prm = await fetch(`${stack.workerUrl}/.well-known/oauth-protected-resource${path}`);
      assert.equal(prm.status, 200, path);
      const body = await prm.json();
      assert.equal(body.resource, stack.workerUrl);
      assert.deepEqual(body.authorization_servers, [stack.workerUrl]);
      assert.ok(body.scopes_supported.includes('read:todos'));
    }
    const challenge = await fetch(`${stack.workerUrl}/mcp`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate'), /resource_metadata="http:\/\/localhost:\d+\/\.well-known\/oauth-protected-resource"/);
  });

  test('registration → authorize → consent → sign-in → callback → token → /mcp → refresh → revocation', async () => {
    const client = await registerClient(stack.workerUrl);
    const { redirect, pkce, offered } = await authorize(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, login: 'alice' });
    assert.deepEqual(offered, ALL_SCOPES.split(' '));
    assert.equal(redirect.searchParams.get('state'), 'state-123');
    assert.equal(redirect.searchParams.get('iss'), stack.workerUrl); // RFC 9207
    const code = redirect.searchParams.get('code');
    assert.ok(code);

    const tokens = await tokenRequest(stack.workerUrl, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLIENT_REDIRECT,
      client_id: client.client_id,
      code_verifier: pkce.verifier,
    });
    assert.equal(tokens.status, 200);
    assert.equal(tokens.headers.get('cache-control'), 'no-store');
    assert.ok(tokens.body.refresh_token);
    assert.ok(tokens.body.expires_in <= 3600);
    assert.equal(tokens.body.scope, ALL_SCOPES);

    const me = await callMcp(stack.workerUrl, tokens.body.access_token);
    assert.equal(me.status, 200);
    assert.equal(me.body.user.sub, 'alice');
    assert.equal(me.body.user.email, 'alice@example.com');
    assert.deepEqual(me.body.scopes, ALL_SCOPES.split(' '));
    assert.ok(!JSON.stringify(me.body).includes(tokens.body.access_token));

    const refreshed = await tokenRequest(stack.workerUrl, {
      grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.client_id,
    });
    assert.equal(refreshed.status, 200);
    assert.notEqual(refreshed.body.refresh_token, tokens.body.refresh_token); // rotation (OAuth 2.1 §4.3.1)
    assert.equal((await callMcp(stack.workerUrl, refreshed.body.access_token)).status, 200);

    const revoked = await tokenRequest(stack.workerUrl, { token: refreshed.body.access_token, client_id: client.client_id });
    assert.equal(revoked.status, 200);
    assert.equal((await callMcp(stack.workerUrl, refreshed.body.access_token)).status, 401);
    assert.equal(await sseStatus(stack.workerUrl, refreshed.body.access_token), 401);
    const revokedRefresh = await tokenRequest(stack.workerUrl, { token: refreshed.body.refresh_token, client_id: client.client_id });
    assert.equal(revokedRefresh.status, 200);
    const afterRevocation = await tokenRequest(stack.workerUrl, {
      grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, client_id: client.client_id,
    });
    assert.equal(afterRevocation.status, 400);
    assert.equal(afterRevocation.body.error, 'invalid_grant');

    for (const event of ['consent.shown', 'consent.approved', 'upstream.redirect', 'callback.received', 'code.exchanged', 'id_token.validated', 'grant.completed', 'token.issued', 'token.refreshed', 'token.revoked']) {
      assert.ok((await loggedEvents(stack.worker, event)).length > 0, `log has ${event}`);
    }
    const log = stack.worker.logText();
    for (const secret of [tokens.body.access_token, tokens.body.refresh_token, code, pkce.verifier, 'local-dev-secret-change-me']) {
      assert.ok(!log.includes(secret), 'no token, code, verifier or secret in the log');
    }
  });

  test('a replayed authorization code is refused and revokes what it issued (OAuth 2.1 §4.1.3)', async () => {
    const client = await registerClient(stack.workerUrl);
    const { redirect, pkce } = await authorize(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, login: 'alice' });
    const exchange = () => tokenRequest(stack.workerUrl, {
      grant_type: 'authorization_code', code: redirect.searchParams.get('code'), redirect_uri: CLIENT_REDIRECT, client_id: client.client_id, code_verifier: pkce.verifier,
    });
    const first = await exchange();
    assert.equal(first.status, 200);
    const replay = await exchange();
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal((await callMcp(stack.workerUrl, first.body.access_token)).status, 401);
  });

  test('a wrong PKCE verifier is refused at the token endpoint (RFC 7636 §4.6)', async () => {
    const client = await registerClient(stack.workerUrl);
    const { redirect } = await authorize(stack.workerUrl, { clientId: client.client_id, scope: 'openid', login: 'alice' });
    const tokens = await tokenRequest(stack.workerUrl, {
      grant_type: 'authorization_code', code: redirect.searchParams.get('code'), redirect_uri: CLIENT_REDIRECT, client_id: client.client_id, code_verifier: createPkcePair().verifier,
    });
    assert.equal(tokens.status, 400);
    assert.equal(tokens.body.error, 'invalid_grant');
  });

  test('the user ticks fewer scopes: the grant and its tokens hold only those', async () => {
    const { client, tokens } = await signedInClient(stack.workerUrl, { login: 'bob', consentScopes: ['openid', 'offline_access', 'read:todos'] });
    assert.equal(tokens.scope, 'openid offline_access read:todos');
    const me = await callMcp(stack.workerUrl, tokens.access_token);
    assert.deepEqual(me.body.scopes, ['openid', 'offline_access', 'read:todos']);
    const [exchanged] = await loggedEvents(stack.worker, 'code.exchanged', (e) => e.client_id === client.client_id);
    assert.ok(exchanged, 'the code exchange is logged');
    assert.ok(!exchanged.scope.includes('read:billing'), 'only the ticked scopes were requested upstream');
  });

  test('a subject with | and : still signs in (user id has no colon)', async () => {
    const { tokens } = await signedInClient(stack.workerUrl, { login: 'auth0|dave' });
    assert.equal((await callMcp(stack.workerUrl, tokens.access_token)).body.user.sub, 'auth0|dave');
    const { tokens: colon } = await signedInClient(stack.workerUrl, { login: 'urn:test:erin' });
    const me = await callMcp(stack.workerUrl, colon.access_token);
    assert.equal(me.status, 200);
    assert.equal(me.body.user.sub, 'urn:test:erin');
    assert.ok((await loggedEvents(stack.worker, 'grant.completed', (e) => e.user === 'urn%3Atest%3Aerin')).length, 'the user id is the subject, percent-encoded');
  });

  test('Deny redirects access_denied with state and iss, and issues nothing', async () => {
    const client = await registerClient(stack.workerUrl);
    const jar = new CookieJar();
    const page = await jar.fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, challenge: createPkcePair().challenge }));
    const { handle } = parseConsent(await page.text());
    const binding = bindingCookie('consent', handle);
    const before = jar.clone(); // the browser as it posts Deny: with the handle's binding cookie
    assert.equal(before.get(stack.workerUrl, binding.name), binding.value, 'the browser holds the binding cookie');
    const denied = await submitConsent(jar, stack.workerUrl, { handle, decision: 'deny' });
    assert.equal(denied.status, 302);
    const location = new URL(denied.headers.get('location'));
    assert.ok(location.href.startsWith(CLIENT_REDIRECT));
    assert.equal(location.searchParams.get('error'), 'access_denied');
    assert.equal(location.searchParams.get('state'), 'state-123');
    assert.equal(location.searchParams.get('iss'), stack.workerUrl);
    assert.equal(location.searchParams.get('code'), null);
    assert.equal(jar.get(stack.workerUrl, binding.name), undefined, 'Deny cleared the binding cookie');
    // The handle was single use: posted again with the binding cookie Deny cleared, it is refused
    // because its transaction is gone.
    const again = await submitConsent(before, stack.workerUrl, { handle, decision: 'approve', scopes: ['openid'] });
    assert.equal(again.status, 400);
    assert.equal(again.headers.get('location'), null);
  });

  test('an upstream error reaches the client as access_denied, temporarily_unavailable or server_error, with its state', async () => {
    const client = await registerClient(stack.workerUrl);
    // The user's refusal as the provider sends it; then the same redirect back carrying the error
    // a provider sends when it is down, or when it refuses this server's own request.
    for (const [upstream, expected] of [[null, 'access_denied'], ['temporarily_unavailable', 'temporarily_unavailable'], ['unauthorized_client', 'server_error']]) {
      const { jar, upstreamRedirect } = await approvedSignIn(client);
      const callback = await cancelUpstream(jar, upstreamRedirect, stack.workerUrl);
      assert.ok(callback.searchParams.get('error'), 'the IdP sent an error');
      if (upstream) callback.searchParams.set('error', upstream);
      const back = await jar.fetch(callback);
      assert.equal(back.status, 302);
      const location = new URL(back.headers.get('location'));
      assert.ok(location.href.startsWith(CLIENT_REDIRECT));
      assert.equal(location.searchParams.get('error'), expected, upstream ?? 'access_denied');
      assert.equal(location.searchParams.get('state'), 'state-123');
      assert.equal(location.searchParams.get('iss'), stack.workerUrl);
      assert.equal(location.searchParams.get('code'), null);
    }
  });

  test('remembered consent skips the page; asking for more brings it back', async () => {
    const client = await registerClient(stack.workerUrl);
    const jar = new CookieJar();
    const first = await authorize(stack.workerUrl, { clientId: client.client_id, scope: 'openid read:todos', remember: true, jar });
    assert.equal(first.consentShown, true);
    assert.ok(first.redirect.searchParams.get('code'));
    const second = await authorize(stack.workerUrl, { clientId: client.client_id, scope: 'openid read:todos', jar });
    assert.equal(second.consentShown, false);
    assert.ok(second.redirect.searchParams.get('code'));
    assert.ok((await loggedEvents(stack.worker, 'consent.remembered', (e) => e.client_id === client.client_id)).length > 0);
    // More scopes than were approved: the page is shown again.
    const more = await jar.fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: 'openid read:todos write:todos', challenge: createPkcePair().challenge }));
    assert.equal(more.status, 200);
    // Another browser is asked again.
    const other = await fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: 'openid read:todos', challenge: createPkcePair().challenge }), { redirect: 'manual' });
    assert.equal(other.status, 200);
  });

  test('a replayed state is refused, and a callback without the browser cookie is refused', async () => {
    const client = await registerClient(stack.workerUrl);
    // Replay: the same callback URL a second time, in the same browser, with the binding cookie
    // it carried the first time (the first answer clears it; the state itself must be spent).
    const jar = new CookieJar();
    const page = await jar.fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, challenge: createPkcePair().challenge }));
    const { handle, scopes } = parseConsent(await page.text());
    const approved = await submitConsent(jar, stack.workerUrl, { handle, scopes });
    const callback = await signInUpstream(jar, new URL(approved.headers.get('location')), { login: 'carol', stopAtCallback: true, workerUrl: stack.workerUrl });
    const binding = bindingCookie('upstream', callback.searchParams.get('state'));
    const before = jar.clone();
    assert.equal(before.get(callback, binding.name), binding.value, 'the browser holds the state\'s binding cookie');
    const first = await jar.fetch(callback);
    assert.equal(first.status, 302);
    assert.ok(new URL(first.headers.get('location')).searchParams.get('code'));
    assert.equal(jar.get(callback, binding.name), undefined, 'the callback cleared the binding cookie');
    const replayed = await before.fetch(callback);
    assert.equal(replayed.status, 400);
    assert.equal(replayed.headers.get('location'), null);

    // Another browser (no binding cookie) presenting a fresh, valid state.
    const jar2 = new CookieJar();
    const page2 = await jar2.fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, challenge: createPkcePair().challenge }));
    const consent2 = parseConsent(await page2.text());
    const approved2 = await submitConsent(jar2, stack.workerUrl, { handle: consent2.handle, scopes: consent2.scopes });
    const callback2 = await signInUpstream(jar2, new URL(approved2.headers.get('location')), { login: 'carol', stopAtCallback: true, workerUrl: stack.workerUrl });
    const stolen = await fetch(callback2, { redirect: 'manual' });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.headers.get('location'), null);
  });

  test('a callback whose iss names another issuer, or lacks the iss its provider always sends, is refused with no code', async () => {
    // RFC 9207 §2.4 (mix-up defence, RFC 9700 §4.4): the local provider advertises
    // authorization_response_iss_parameter_supported, so a response without `iss` is refused too.
    const client = await registerClient(stack.workerUrl);
    for (const tamper of [(url) => url.searchParams.set('iss', 'https://attacker.example/'), (url) => url.searchParams.delete('iss')]) {
      const { jar, upstreamRedirect } = await approvedSignIn(client);
      const callback = await signInUpstream(jar, upstreamRedirect, { login: 'carol', stopAtCallback: true, workerUrl: stack.workerUrl });
      assert.ok(callback.searchParams.get('iss'), 'the provider named itself');
      tamper(callback);
      const back = await jar.fetch(callback);
      assert.equal(back.status, 302);
      const location = new URL(back.headers.get('location'));
      assert.ok(location.href.startsWith(CLIENT_REDIRECT));
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('code'), null);
    }
  });

  test('a consent post from another browser (no binding cookie) is refused', async () => {
    const client = await registerClient(stack.workerUrl);
    const jar = new CookieJar();
    const page = await jar.fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, challenge: createPkcePair().challenge }));
    const { handle, scopes } = parseConsent(await page.text());
    const forged = await submitConsent(new CookieJar(), stack.workerUrl, { handle, scopes });
    assert.equal(forged.status, 400);
    assert.equal(forged.headers.get('location'), null);
  });

  test('an unregistered redirect URI is rendered as an error and never redirected to', async () => {
    const client = await registerClient(stack.workerUrl);
    const response = await fetch(
      authorizeUrl(stack.workerUrl, { clientId: client.client_id, redirectUri: 'https://attacker.example/cb', scope: ALL_SCOPES, challenge: createPkcePair().challenge }),
      { redirect: 'manual' },
    );
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    assert.match(response.headers.get('content-type'), /text\/html/);
    assert.ok(!(await response.text()).includes('attacker.example'));
    const unknownClient = await fetch(authorizeUrl(stack.workerUrl, { clientId: 'nobody', scope: 'openid', challenge: createPkcePair().challenge }), { redirect: 'manual' });
    assert.equal(unknownClient.status, 400);
    assert.equal(unknownClient.headers.get('location'), null);
  });

  test('missing or plain PKCE is refused, for public and confidential clients', async () => {
    const publicClient = await registerClient(stack.workerUrl);
    const confidential = await registerClient(stack.workerUrl, { token_endpoint_auth_method: 'client_secret_post' });
    const verifier = createPkcePair().verifier; // plain: challenge = verifier
    for (const client of [publicClient, confidential]) {
      for (const params of [{}, { challenge: verifier, method: 'plain' }]) {
        const response = await fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: 'openid', ...params }), { redirect: 'manual' });
        assert.notEqual(response.status, 200, 'no consent page');
        if (response.status === 302) {
          const location = new URL(response.headers.get('location'));
          assert.ok(location.href.startsWith(CLIENT_REDIRECT));
          assert.equal(location.searchParams.get('error'), 'invalid_request');
          assert.equal(location.searchParams.get('code'), null);
        } else {
          assert.equal(response.status, 400);
        }
      }
    }
  });

  test('a client_name carrying HTML and script is rendered inert', async () => {
    const evil = '<img src=x onerror=alert(1)><script>alert("x")</script>';
    const client = await registerClient(stack.workerUrl, { client_name: evil });
    const response = await fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: 'openid', challenge: createPkcePair().challenge }), { redirect: 'manual' });
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.ok(!html.includes('<script>alert'));
    assert.ok(!html.includes('<img src=x'));
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assert.match(response.headers.get('content-security-policy'), /default-src 'none'/);
  });

  test('a client_name holding a lone UTF-16 surrogate is shown with U+FFFD, not refused', async () => {
    // JSON.stringify sends the lone surrogate as the escape "\ud800", which the library's
    // JSON.parse accepts; the worker must read it back without failing the consent page.
    const client = await registerClient(stack.workerUrl, { client_name: 'Lone \ud800 surrogate app' });
    const response = await fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: 'openid', challenge: createPkcePair().challenge }), { redirect: 'manual' });
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.ok(html.includes('Lone \ufffd surrogate app'), 'the name, with U+FFFD for the lone surrogate');
  });

  test('the consent page cannot be framed or cached, and its cookie is __Host-, HttpOnly, SameSite', async () => {
    const client = await registerClient(stack.workerUrl);
    const response = await fetch(authorizeUrl(stack.workerUrl, { clientId: client.client_id, scope: ALL_SCOPES, challenge: createPkcePair().challenge }), { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.match(response.headers.get('cache-control'), /no-store/);
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('__Host-'));
    assert.ok(cookie, 'a __Host- binding cookie');
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, /; Path=\//);
    const html = await response.text();
    assert.ok(html.includes('an app on your computer'), 'loopback warning');
    // MCP security best practices, consent UI: the registered redirect URI, not only its host.
    assert.ok(html.includes(`<dd>${CLIENT_REDIRECT}</dd>`), 'the redirect URI shown in full');
  });
});

describe('upstream token lifecycle (identity provider with 90 s access tokens)', () => {
  let stack;
  before(async () => {
    stack = await startStack({ accessTokenTtl: 90 });
  });
  after(async () => {
    await stack?.stop();
  });

  test('the MCP token never outlives the upstream one, and the refresh grant refreshes upstream', async () => {
    const { client, tokens } = await signedInClient(stack.workerUrl, { login: 'alice' });
    assert.ok(tokens.expires_in <= 90, `MCP token lives ${tokens.expires_in}s, upstream 90s`);
    assert.equal((await callMcp(stack.workerUrl, tokens.access_token)).status, 200);
    const refreshed = await tokenRequest(stack.workerUrl, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(refreshed.status, 200);
    const after = await callMcp(stack.workerUrl, refreshed.body.access_token);
    assert.equal(after.status, 200);
    const grant = tokens.refresh_token.split(':')[1];
    const [upstream] = await loggedEvents(stack.worker, 'upstream.refreshed', (e) => e.grant === grant);
    assert.ok(upstream, 'the upstream token was refreshed');
    assert.equal(upstream.rotated, true, 'the rotated upstream refresh token was kept');
    assert.ok(refreshed.body.expires_in <= 90);
    // And again: the kept (rotated) upstream refresh token works.
    const again = await tokenRequest(stack.workerUrl, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, client_id: client.client_id });
    assert.equal(again.status, 200);
  });

  test('upstream invalid_grant ends the grant', async () => {
    const { client, tokens } = await signedInClient(stack.workerUrl, { login: 'bob' });
    assert.equal((await callMcp(stack.workerUrl, tokens.access_token)).status, 200);
    await stack.restartIdp(); // the IdP forgets every grant: its refresh token is now invalid_grant
    const refreshed = await tokenRequest(stack.workerUrl, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.error, 'invalid_grant');
    assert.equal((await callMcp(stack.workerUrl, tokens.access_token)).status, 401, 'the grant and its tokens are revoked');
    const retry = await tokenRequest(stack.workerUrl, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(retry.body.error, 'invalid_grant');
  });

  test('an unreachable identity provider answers temporarily_unavailable, never a 500, and keeps the grant', async () => {
    const { client, tokens } = await signedInClient(stack.workerUrl, { login: 'carol' });
    await stack.idp.close();
    try {
      const refreshed = await tokenRequest(stack.workerUrl, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
      assert.equal(refreshed.status, 503);
      assert.equal(refreshed.body.error, 'temporarily_unavailable');
      assert.equal((await callMcp(stack.workerUrl, tokens.access_token)).status, 200, 'the grant is kept');
    } finally {
      await stack.restartIdp();
    }
  });
});

describe('scopes the identity provider withdraws (Auth0 RBAC; 120 s upstream tokens, so every refresh grant refreshes upstream)', { timeout: 180_000 }, () => {
  let stack;
  /** The refresh-token grants the MCP worker made at the identity provider. */
  const idpRefreshes = [];

  before(async () => {
    // The ToDos API too: list-billing and list-todos show what the upstream token allows.
    stack = await startAttackStack({ idpTtl: 120, injectIdp: true });
    stack.injectors.idp.tap(({ requestBody }) => {
      if (new URLSearchParams(requestBody).get('grant_type') === 'refresh_token') idpRefreshes.push(requestBody);
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const scopes = (scope) => scope.split(' ');
  const refresh = (user, refreshToken) =>
    tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: user.clientId });

  /** What an MCP access token lets its client do, as the client sees it over the wire. */
  async function rights(accessToken) {
    const billing = await callTool(stack.mcpOrigin, accessToken, 'list-billing', {}, { version: '2025-11-25' });
    const todos = await callTool(stack.mcpOrigin, accessToken, 'list-todos');
    const listed = await postMcp(stack.mcpOrigin, accessToken, rpc(2, 'tools/list'), { 'mcp-protocol-version': '2025-11-25' });
    const whoami = await callMcp(stack.mcpOrigin, accessToken);
    assert.equal(listed.status, 200);
    assert.equal(whoami.status, 200);
    return {
      billing,
      todos,
      billingListedAsCallable: listed.json.result.tools.find((tool) => tool.name === 'list-billing')._meta.authorized,
      whoamiScopes: whoami.body.scopes,
    };
  }

  /**
   * The MCP token cannot use read:billing, and the client is told why: the identity provider
   * withheld it, so list-billing is a tool error naming the permission, not a step-up challenge
   * that would send the user through consent and sign-in for a grant without it again. tools/list
   * and whoami agree.
   */
  function assertWithoutBilling(seen, scope) {
    assert.ok(!scopes(scope).includes('read:billing'), `token scope ${scope}`);
    assert.ok(scopes(scope).includes('read:todos'), `token scope ${scope}`);
    assert.equal(seen.billing.status, 200, 'no insufficient_scope challenge: re-authorizing cannot add it');
    assert.equal(seen.billing.headers.get('www-authenticate'), null);
    assert.equal(seen.billing.result.isError, true);
    assert.match(seen.billing.result.content[0].text, /`read:billing` permission, which your account does not hold at the identity provider/);
    assert.equal(seen.billingListedAsCallable, false, 'tools/list no longer offers list-billing as callable');
    assert.ok(!seen.whoamiScopes.includes('read:billing'), `whoami reports ${seen.whoamiScopes}`);
    assert.ok(seen.whoamiScopes.includes('read:todos'));
    assert.equal(seen.todos.status, 200);
    assert.equal(seen.todos.result.isError, false, 'list-todos still works');
  }

  test('a permission removed from the user at the identity provider leaves the MCP token at the next refresh, and stays out', async () => {
    const frank = await stack.signIn('frank');
    assert.ok(scopes(frank.scope).includes('read:billing'));
    const before = await rights(frank.accessToken);
    assert.equal(before.billing.status, 200);
    assert.equal(before.billing.result.isError, false, 'list-billing works while the user holds read:billing');
    assert.equal(before.billingListedAsCallable, true);
    assert.ok(before.whoamiScopes.includes('read:billing'));

    // An administrator removes the permission (Auth0's Management API, RBAC).
    stack.idp.setPermissions('frank', ['read:todos', 'write:todos']);

    const refreshes = idpRefreshes.length;
    const refreshed = await refresh(frank, frank.refreshToken);
    assert.equal(refreshed.status, 200);
    assert.equal(idpRefreshes.length, refreshes + 1, 'the refresh grant refreshed upstream');
    assertWithoutBilling(await rights(refreshed.body.access_token), refreshed.body.scope);

    // The grant keeps its consented scope; every later refresh still leaves read:billing out.
    const again = await refresh(frank, refreshed.body.refresh_token);
    assert.equal(again.status, 200);
    assertWithoutBilling(await rights(again.body.access_token), again.body.scope);

    // A client asking for less at a refresh still gets no more than it asked for (RFC 6749 §6).
    const less = await tokenRequest(stack.mcpOrigin, {
      grant_type: 'refresh_token', refresh_token: again.body.refresh_token, client_id: frank.clientId, scope: 'openid read:todos read:billing',
    });
    assert.equal(less.status, 200);
    assert.deepEqual(scopes(less.body.scope), ['openid', 'read:todos']);

    // Asking only for what was withdrawn gets a token that grants nothing (RFC 6749 §3.3: the
    // response names the scope issued), not an error: refusing after the upstream refresh would
    // drop the provider's rotated refresh token. The grant goes on working.
    const withdrawn = await tokenRequest(stack.mcpOrigin, {
      grant_type: 'refresh_token', refresh_token: less.body.refresh_token, client_id: frank.clientId, scope: 'read:billing',
    });
    assert.equal(withdrawn.status, 200);
    assert.equal(withdrawn.body.scope, '', 'the token response says nothing was issued');
    const nothing = await callTool(stack.mcpOrigin, withdrawn.body.access_token, 'list-todos', {}, { version: '2025-11-25' });
    assert.equal(nothing.status, 403, 'list-todos needs read:todos, which this token lacks');
    const after = await refresh(frank, withdrawn.body.refresh_token);
    assert.equal(after.status, 200);
    assertWithoutBilling(await rights(after.body.access_token), after.body.scope);
  });

  test('a user who never held read:billing gets a grant without it, though the consent page approved it', async () => {
    stack.idp.setPermissions('judy', ['read:todos', 'write:todos']);
    const judy = await stack.signIn('judy', ALL_SCOPES.split(' '));
    assertWithoutBilling(await rights(judy.accessToken), judy.scope);
    const refreshed = await refresh(judy, judy.refreshToken);
    assert.equal(refreshed.status, 200);
    assert.ok(!scopes(refreshed.body.scope).includes('read:billing'));
  });
});
