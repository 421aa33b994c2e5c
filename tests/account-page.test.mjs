// The connected-apps page (/account), end to end: the real worker under wrangler dev, the real
// identity provider, grants made through the real OAuth flow, and an HTTP client playing the
// browser. Only what goes over the wire is asserted.
//
//   node_modules/.bin/node --test tests/account-*.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CookieJar } from './support/oidc-login.mjs';
import { callMcp, signedInClient, sseStatus, tokenRequest } from './support/oauth-client.mjs';
import { SESSION_COOKIE, accountSignIn, parseAccountPage, postAccountForm, startAccountStack } from './support/account.mjs';
import { loggedEvents } from './support/services.mjs';

function refresh(workerUrl, grant) {
  return tokenRequest(workerUrl, { grant_type: 'refresh_token', refresh_token: grant.tokens.refresh_token, client_id: grant.client.client_id });
}

/** Replaces the session cookie's value in a copy of `jar`'s cookies. */
function jarWithSession(workerUrl, value) {
  const jar = new CookieJar();
  jar.setCookie(`${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax`, workerUrl);
  return jar;
}

describe('the connected-apps page', () => {
  let stack;
  before(async () => {
    stack = await startAccountStack();
  });
  after(async () => {
    await stack?.stop();
  });

  test('lists a grant made through the OAuth flow: client name, redirect host, scopes, granted and last refreshed', async () => {
    const grant = await signedInClient(stack.workerUrl, { login: 'carol' });
    const before = await accountSignIn(stack.workerUrl, 'carol');
    const { grants } = parseAccountPage(before.html);
    assert.equal(grants.length, 1);
    assert.equal(grants[0].name, 'Test MCP Client');
    assert.match(before.html, /<dt>Access is sent to<\/dt><dd>127\.0\.0\.1<\/dd>/);
    assert.ok(before.html.includes(`<dd>${grant.client.client_id}</dd>`), 'client id shown');
    for (const scope of ['openid', 'read:todos', 'offline_access']) assert.ok(before.html.includes(`>${scope}</code>`), scope);
    assert.match(before.html, /<dt>Granted<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
    assert.match(before.html, /<dt>Last refreshed<\/dt><dd>Not since it was granted<\/dd>/);
    assert.match(before.html, /Signed in as <strong>carol@example\.com<\/strong>|Signed in as <strong>carol/);

    const refreshed = await refresh(stack.workerUrl, grant);
    assert.equal(refreshed.status, 200);
    const after = await (await before.jar.fetch(`${stack.workerUrl}/account`)).text();
    assert.match(after, /<dt>Last refreshed<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
  });

  test('sets a __Host- session cookie that is Secure, HttpOnly, SameSite=Lax, Path=/, 15 minutes, and clears the sign-in cookie', async () => {
    const { setCookies } = await accountSignIn(stack.workerUrl, 'dave');
    const session = setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    assert.ok(session, 'session cookie set');
    const attributes = session.split(';').slice(1).map((a) => a.trim());
    for (const wanted of ['Path=/', 'Max-Age=900', 'HttpOnly', 'Secure', 'SameSite=Lax']) assert.ok(attributes.includes(wanted), wanted);
    assert.ok(!/;\s*Domain=/i.test(session), 'no Domain (RFC 6265bis __Host- prefix)');
    const signIn = setCookies.find((c) => c.startsWith('__Host-account-signin='));
    assert.match(signIn, /Max-Age=0/);
  });

  test('revoking from the page ends the client\'s access: 401 on /mcp and /sse, refresh refused at /token', async () => {
    const grant = await signedInClient(stack.workerUrl, { login: 'erin' });
    assert.equal((await callMcp(stack.workerUrl, grant.tokens.access_token)).status, 200);
    assert.equal(await sseStatus(stack.workerUrl, grant.tokens.access_token), 200);

    const { jar, html } = await accountSignIn(stack.workerUrl, 'erin');
    const { csrf, grants } = parseAccountPage(html);
    assert.equal(grants.length, 1);
    const revoked = await postAccountForm(jar, stack.workerUrl, '/account/revoke', { csrf, grant: grants[0].id });
    assert.equal(revoked.status, 303);
    assert.equal(revoked.headers.get('location'), '/account?revoked=1');
    const page = await (await jar.fetch(`${stack.workerUrl}/account?revoked=1`)).text();
    assert.match(page, /Access revoked/);
    assert.equal(parseAccountPage(page).grants.length, 0);

    const mcp = await callMcp(stack.workerUrl, grant.tokens.access_token);
    assert.equal(mcp.status, 401);
    assert.match(mcp.headers.get('www-authenticate'), /^Bearer /);
    assert.equal(await sseStatus(stack.workerUrl, grant.tokens.access_token), 401);
    const refused = await refresh(stack.workerUrl, grant);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
  });

  test('another user neither sees nor revokes someone else\'s grant', async () => {
    const alice = await signedInClient(stack.workerUrl, { login: 'alice' });
    const alicePage = await accountSignIn(stack.workerUrl, 'alice');
    const [aliceGrant] = parseAccountPage(alicePage.html).grants;
    assert.ok(aliceGrant);

    const bob = await accountSignIn(stack.workerUrl, 'bob');
    const bobView = parseAccountPage(bob.html);
    assert.ok(!bobView.grants.some((g) => g.id === aliceGrant.id), 'bob does not see alice\'s grant');
    assert.ok(!bob.html.includes(alice.client.client_id));
    const attempt = await postAccountForm(bob.jar, stack.workerUrl, '/account/revoke', { csrf: bobView.csrf, grant: aliceGrant.id });
    assert.equal(attempt.status, 404);

    // Bob's page with alice's CSRF token is refused too (the token is bound to alice's session).
    const crossed = await postAccountForm(bob.jar, stack.workerUrl, '/account/revoke', { csrf: parseAccountPage(alicePage.html).csrf, grant: aliceGrant.id });
    assert.equal(crossed.status, 403);

    const stillThere = await (await alicePage.jar.fetch(`${stack.workerUrl}/account`)).text();
    assert.ok(parseAccountPage(stillThere).grants.some((g) => g.id === aliceGrant.id), 'alice\'s grant lives');
    assert.equal((await callMcp(stack.workerUrl, alice.tokens.access_token)).status, 200);
  });

  test('a revoke POST without the CSRF token, with a wrong one, from a foreign Origin or without Origin is refused', async () => {
    const grant = await signedInClient(stack.workerUrl, { login: 'frank' });
    const { jar, html } = await accountSignIn(stack.workerUrl, 'frank');
    const { csrf, grants } = parseAccountPage(html);
    const id = grants[0].id;
    const cases = [
      ['no token', { grant: id }, {}, 403],
      ['wrong token', { csrf: `${csrf.slice(0, -2)}xx`, grant: id }, {}, 403],
      ['foreign Origin', { csrf, grant: id }, { origin: 'http://evil.example' }, 403],
      ['null Origin', { csrf, grant: id }, { origin: 'null' }, 403],
      ['no Origin', { csrf, grant: id }, { origin: null }, 403],
    ];
    for (const [what, fields, options, status] of cases) {
      const response = await postAccountForm(jar, stack.workerUrl, '/account/revoke', fields, options);
      assert.equal(response.status, status, what);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', what);
    }
    // A cross-site form post carries no session cookie (SameSite=Lax): signed out.
    const noCookie = await postAccountForm(new CookieJar(), stack.workerUrl, '/account/revoke', { csrf, grant: id });
    assert.equal(noCookie.status, 401);
    assert.equal(parseAccountPage(await (await jar.fetch(`${stack.workerUrl}/account`)).text()).grants.length, 1, 'the grant lives');
    assert.equal((await callMcp(stack.workerUrl, grant.tokens.access_token)).status, 200);
  });

  test('a tampered or forged session cookie is refused', async () => {
    await signedInClient(stack.workerUrl, { login: 'grace' });
    const mallory = await accountSignIn(stack.workerUrl, 'mallory');
    const value = mallory.jar.get(stack.workerUrl, SESSION_COOKIE);
    const [payload, mac] = value.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    assert.equal(claims.uid, 'mallory');

    // Mallory rewrites her own session to grace's user id, keeping her MAC.
    const forged = Buffer.from(JSON.stringify({ ...claims, uid: 'grace' })).toString('base64url');
    const tampered = jarWithSession(stack.workerUrl, `${forged}.${mac}`);
    const page = await tampered.fetch(`${stack.workerUrl}/account`);
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /href="\/account\/login"/, 'shown the sign-in link');
    assert.equal(parseAccountPage(html).grants.length, 0);
    assert.ok(page.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=;`) && /Max-Age=0/.test(c)), 'bad cookie cleared');
    const post = await postAccountForm(jarWithSession(stack.workerUrl, `${forged}.${mac}`), stack.workerUrl, '/account/revoke', { csrf: claims.csrf, grant: 'x' });
    assert.equal(post.status, 401);

    for (const bad of [payload, `${payload}.`, `${payload}.${mac.slice(0, -4)}AAAA`, 'garbage']) {
      const html2 = await (await jarWithSession(stack.workerUrl, bad).fetch(`${stack.workerUrl}/account`)).text();
      assert.match(html2, /href="\/account\/login"/, bad);
    }
  });

  test('signing out ends the session, and a copy of the old cookie no longer works', async () => {
    const { jar, html } = await accountSignIn(stack.workerUrl, 'heidi');
    const copied = jar.get(stack.workerUrl, SESSION_COOKIE);
    const { csrf } = parseAccountPage(html);
    const out = await postAccountForm(jar, stack.workerUrl, '/account/signout', { csrf });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/account?signed_out=1');
    assert.ok(out.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=;`) && /Max-Age=0/.test(c)));
    assert.equal(jar.get(stack.workerUrl, SESSION_COOKIE), undefined);
    assert.match(await (await jar.fetch(`${stack.workerUrl}/account?signed_out=1`)).text(), /You are signed out/);

    const replay = jarWithSession(stack.workerUrl, copied);
    assert.match(await (await replay.fetch(`${stack.workerUrl}/account`)).text(), /href="\/account\/login"/);
    const post = await postAccountForm(replay, stack.workerUrl, '/account/revoke', { csrf, grant: 'x' });
    assert.equal(post.status, 401);

    // Neither the cookie, its MAC nor the CSRF token ever reaches the log.
    assert.ok((await loggedEvents(stack.worker, 'account.signed_out')).length, 'the step is logged');
    const log = stack.worker.logText();
    for (const secret of [copied, copied.split('.')[1], csrf]) assert.ok(!log.includes(secret), 'secret not logged');
  });

  test('the sign-in callback refuses a missing sign-in cookie and a wrong state', async () => {
    const jar = new CookieJar();
    const start = await jar.fetch(`${stack.workerUrl}/account/login`);
    assert.equal(start.status, 303);
    const upstream = new URL(start.headers.get('location'));
    assert.equal(upstream.searchParams.get('scope'), 'openid email');
    assert.equal(upstream.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(upstream.searchParams.get('nonce'));
    assert.equal(upstream.searchParams.get('redirect_uri'), `${stack.workerUrl}/account/callback`);
    assert.equal(upstream.searchParams.get('audience'), null, 'identity only: no API audience');
    const state = upstream.searchParams.get('state');

    const wrongState = await jar.fetch(`${stack.workerUrl}/account/callback?code=x&state=${state}x`);
    assert.equal(wrongState.status, 400);
    const noCookie = await fetch(`${stack.workerUrl}/account/callback?code=x&state=${state}`, { redirect: 'manual' });
    assert.equal(noCookie.status, 400);
    assert.match(await noCookie.text(), /This sign-in has expired/);
  });

  test('pages cannot be framed, are not cached, and load nothing from elsewhere', async () => {
    const { jar } = await accountSignIn(stack.workerUrl, 'ivan');
    for (const response of [await fetch(`${stack.workerUrl}/account`), await jar.fetch(`${stack.workerUrl}/account`)]) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      const csp = response.headers.get('content-security-policy');
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /form-action 'self'/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('referrer-policy'), 'same-origin');
      const html = await response.text();
      assert.ok(!/<script|<link|src=|url\(/i.test(html), 'no external or scripted assets');
    }
    assert.equal((await fetch(`${stack.workerUrl}/account/revoke`)).status, 405);
    assert.equal((await fetch(`${stack.workerUrl}/account`, { method: 'POST' })).status, 405);
  });
});
