/**
 * Behaviour of the local identity provider (idp/) that stands in for Auth0, exercised
 * over HTTP the way the MCP worker and a browser use it.
 *
 * Run: node --test tests/idp.test.mjs   (Node 22: node_modules/.bin/node)
 */

import assert from 'node:assert/strict';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:net';

import {
  DEFAULTS, configFromEnv, createIdp, resolveConfig,
} from '../idp/provider.mjs';
import { KNOWN_USERS } from '../idp/users.mjs';
import {
  CookieJar, OAuthError, authorizationCodeLogin, createPkcePair, decodeJwt, discover,
  followRedirects, refresh, submitLoginForm, tokenRequest,
} from './support/oidc-login.mjs';

const AUDIENCE = 'urn:todos-api';
const TEST_CLIENT = { clientId: 'local-test-client', redirectUri: 'http://127.0.0.1:8799/callback' };
const WORKER_CLIENT = {
  clientId: 'mcp-worker-local',
  clientSecret: 'local-dev-secret-change-me',
  redirectUri: 'http://localhost:8788/callback',
};

let tempDir;
let idp;
const logLines = [];
/** Every credential the tests see; none may ever appear in a log line. */
const credentials = new Set([WORKER_CLIENT.clientSecret]);

function remember(tokens) {
  for (const name of ['access_token', 'refresh_token', 'id_token']) {
    if (tokens[name]) {
      credentials.add(tokens[name]);
    }
  }
  return tokens;
}

async function login(options = {}) {
  return remember(await authorizationCodeLogin({
    issuer: idp.issuer,
    ...TEST_CLIENT,
    scope: 'openid profile email offline_access read:todos write:todos',
    audience: AUDIENCE,
    ...options,
  }));
}

async function jwksOf(issuer) {
  const metadata = await discover(issuer);
  return (await fetch(metadata.jwks_uri)).json();
}

/** Verifies an RS256 JWT against a JWK Set and returns its header and payload. */
function verifyJwt(jwt, jwks) {
  const { header, payload } = decodeJwt(jwt);
  assert.equal(header.alg, 'RS256');
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  assert.ok(jwk, `no key ${header.kid} in the JWKS`);
  const [h, p, s] = jwt.split('.');
  const valid = verifySignature(
    'sha256',
    Buffer.from(`${h}.${p}`),
    createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(s, 'base64url'),
  );
  assert.ok(valid, 'signature does not verify');
  return { header, payload };
}

const sorted = (list) => [...list].sort();

/** Starts an authorization request in a fresh jar and returns the login page. */
async function openLoginPage(params = {}) {
  const metadata = await discover(idp.issuer);
  const { challenge } = createPkcePair();
  const url = new URL(metadata.authorization_endpoint);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: TEST_CLIENT.clientId,
    redirect_uri: TEST_CLIENT.redirectUri,
    scope: 'openid profile',
    state: 'state-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  })) {
    url.searchParams.set(name, value);
  }
  const jar = new CookieJar();
  const { response, url: pageUrl, stopped } = await followRedirects(jar, url, {
    stopAt: (target) => target.href.startsWith(TEST_CLIENT.redirectUri),
  });
  return { jar, response, pageUrl, stopped };
}

before(async () => {
  tempDir = await mkdtemp(join(tmpdir(), 'idp-test-'));
  idp = await createIdp({
    port: 0,
    keysFile: join(tempDir, 'jwks.json'),
    logLevel: 'debug',
    logSink: (line) => logLines.push(line),
  });
});

after(async () => {
  await idp?.close();
  await rm(tempDir, { recursive: true, force: true });
});

describe('discovery', () => {
  test('discovery advertises Auth0 endpoint paths under an issuer ending in a slash', async () => {
    const metadata = await discover(idp.issuer);
    assert.match(idp.issuer, /^http:\/\/localhost:\d+\/$/);
    assert.equal(metadata.issuer, idp.issuer);
    assert.equal(metadata.authorization_endpoint, `${idp.issuer}authorize`);
    assert.equal(metadata.token_endpoint, `${idp.issuer}oauth/token`);
    assert.equal(metadata.jwks_uri, `${idp.issuer}.well-known/jwks.json`);
    assert.equal(metadata.userinfo_endpoint, `${idp.issuer}userinfo`);
    assert.equal(metadata.revocation_endpoint, `${idp.issuer}oauth/revoke`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.id_token_signing_alg_values_supported, ['RS256']);
    for (const scope of ['openid', 'email', 'profile', 'offline_access', 'read:todos', 'read:billing', 'write:todos']) {
      assert.ok(metadata.scopes_supported.includes(scope), `scopes_supported lacks ${scope}`);
    }
  });

  test('discovery names the issuer host even when fetched through 127.0.0.1', async () => {
    const metadata = await (await fetch(`http://127.0.0.1:${idp.port}/.well-known/openid-configuration`)).json();
    assert.equal(metadata.token_endpoint, `${idp.issuer}oauth/token`);
    assert.equal(metadata.authorization_endpoint, `${idp.issuer}authorize`);
  });

  test('it listens on the loopback interface only', async (t) => {
    const external = Object.values(networkInterfaces()).flat()
      .find((address) => address && !address.internal && address.family === 'IPv4');
    if (!external) {
      t.skip('this machine has no non-loopback IPv4 address');
      return;
    }
    const error = await new Promise((resolve) => {
      const socket = connect({ host: external.address, port: idp.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', resolve);
    });
    assert.equal(error?.code, 'ECONNREFUSED');
  });
});

describe('signing in with the public test client', () => {
  test('login returns an RS256 JWT access token for the audience holding exactly the granted API scopes', async () => {
    const tokens = await login({ login: 'alice' });
    const jwks = await jwksOf(idp.issuer);
    const { header, payload } = verifyJwt(tokens.access_token, jwks);

    assert.equal(header.typ, 'at+jwt');
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(payload.iss, idp.issuer);
    assert.equal(payload.sub, 'alice');
    assert.ok([payload.aud].flat().includes(AUDIENCE), `aud ${JSON.stringify(payload.aud)} lacks ${AUDIENCE}`);
    assert.equal(payload.azp, TEST_CLIENT.clientId);
    assert.equal(payload.client_id, TEST_CLIENT.clientId);
    assert.equal(payload.exp - payload.iat, DEFAULTS.accessTokenTtl);
    assert.equal(tokens.expires_in, DEFAULTS.accessTokenTtl);

    // Like Auth0 with RBAC: `scope` holds the API scopes granted (read:billing was not asked
    // for) plus the OpenID Connect scopes; `permissions` every permission the user holds.
    assert.deepEqual(sorted(payload.permissions), ['read:billing', 'read:todos', 'write:todos']);
    assert.deepEqual(
      sorted(payload.scope.split(' ')),
      sorted(['openid', 'profile', 'email', 'offline_access', 'read:todos', 'write:todos']),
    );
    assert.deepEqual(sorted(tokens.scope.split(' ')), sorted(payload.scope.split(' ')));
  });

  test('with openid the API token also names the userinfo endpoint in aud and works at /userinfo, as at Auth0', async () => {
    const tokens = await login({ login: 'bob' });
    const { payload } = decodeJwt(tokens.access_token);
    assert.deepEqual(payload.aud, [AUDIENCE, `${idp.issuer}userinfo`]);

    const response = await fetch(`${idp.issuer}userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      sub: 'bob', name: 'Bob Brown', nickname: 'bob', email: 'bob@example.com', email_verified: true,
    });
  });

  test('without openid the API token has the API as its only audience and no /userinfo access', async () => {
    const tokens = await login({ scope: 'read:billing', login: 'carol' });
    const { payload } = decodeJwt(tokens.access_token);
    assert.equal(payload.aud, AUDIENCE);
    assert.equal(payload.scope, 'read:billing');
    assert.deepEqual(sorted(payload.permissions), ['read:billing', 'read:todos', 'write:todos']);
    assert.equal(tokens.id_token, undefined);

    const response = await fetch(`${idp.issuer}userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate'), /invalid_token/);
  });

  test('a tampered access token is refused at /userinfo', async () => {
    const tokens = await login({ login: 'alice' });
    const [h, p, s] = tokens.access_token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    payload.sub = 'bob';
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const response = await fetch(`${idp.issuer}userinfo`, { headers: { authorization: `Bearer ${forged}` } });
    assert.equal(response.status, 401);
  });

  test('without an audience the access token is opaque and good only at /userinfo, as at Auth0', async () => {
    const tokens = await login({ audience: undefined, scope: 'openid email read:todos', login: 'alice' });
    assert.equal(tokens.access_token.split('.').length, 1, 'expected an opaque token');
    assert.deepEqual(sorted(tokens.scope.split(' ')), ['email', 'openid']);

    const response = await fetch(`${idp.issuer}userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { sub: 'alice', email: 'alice@example.com', email_verified: true });
  });

  test('the RFC 8707 resource parameter works like audience', async () => {
    const tokens = await login({ audience: undefined, extraParams: { resource: AUDIENCE }, login: 'alice' });
    assert.ok([decodeJwt(tokens.access_token).payload.aud].flat().includes(AUDIENCE));
  });

  test('an unknown audience is refused with invalid_target', async () => {
    await assert.rejects(login({ audience: 'urn:some-other-api' }), (error) => {
      assert.ok(error instanceof OAuthError);
      assert.equal(error.error, 'invalid_target');
      return true;
    });
  });

  test('the ID token is RS256 and carries the nonce and the profile claims', async () => {
    const tokens = await login({ login: 'carol' });
    const { payload } = verifyJwt(tokens.id_token, await jwksOf(idp.issuer));
    assert.equal(payload.nonce, tokens.nonce);
    assert.equal(payload.iss, idp.issuer);
    assert.equal(payload.aud, TEST_CLIENT.clientId);
    assert.equal(payload.sub, 'carol');
    assert.equal(payload.name, 'Carol Chen');
    assert.equal(payload.email, 'carol@example.com');
    assert.equal(payload.email_verified, true);
    assert.equal(payload.exp - payload.iat, DEFAULTS.idTokenTtl);
  });

  test('a public client must use PKCE', async () => {
    const { stopped, pageUrl } = await openLoginPage({ code_challenge: '', code_challenge_method: '' });
    assert.ok(stopped, 'expected an error redirect to the client');
    assert.equal(pageUrl.searchParams.get('error'), 'invalid_request');
    assert.match(pageUrl.searchParams.get('error_description'), /PKCE/);
  });

  test('a second sign-in in the same browser needs no login page (single sign-on)', async () => {
    const jar = new CookieJar();
    await login({ jar, login: 'bob' });
    const again = await login({ jar, login: 'ignored-because-already-signed-in' });
    assert.equal(decodeJwt(again.access_token).payload.sub, 'bob');
  });

  test('prompt=login lets a different user sign in over an existing session', async () => {
    const jar = new CookieJar();
    await login({ jar, login: 'bob' });
    const switched = await login({ jar, login: 'carol', extraParams: { prompt: 'login' } });
    assert.equal(decodeJwt(switched.access_token).payload.sub, 'carol');
    assert.equal(decodeJwt(switched.id_token).payload.sub, 'carol');
    assert.ok(switched.refresh_token);
  });

  test('response_mode=form_post returns the code in a self-submitting form', async () => {
    const tokens = await login({ login: 'alice', extraParams: { response_mode: 'form_post' } });
    assert.equal(decodeJwt(tokens.access_token).payload.sub, 'alice');
  });
});

describe('refresh tokens', () => {
  test('offline_access yields a refresh token without prompt=consent, and each refresh rotates it', async () => {
    const first = await login({ login: 'alice' });
    assert.ok(first.refresh_token, 'expected a refresh token');

    const second = remember(await refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: first.refresh_token }));
    assert.ok(second.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    const { payload } = verifyJwt(second.access_token, await jwksOf(idp.issuer));
    assert.equal(payload.sub, 'alice');
    assert.ok([payload.aud].flat().includes(AUDIENCE));
    assert.deepEqual(sorted(payload.scope.split(' ').filter((s) => s.includes(':'))), ['read:todos', 'write:todos']);
    assert.ok(payload.scope.split(' ').includes('offline_access'));

    const third = remember(await refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: second.refresh_token }));
    assert.notEqual(third.refresh_token, second.refresh_token);
  });

  test('reusing a rotated refresh token fails and revokes its successors', async () => {
    const first = await login({ login: 'alice' });
    const second = remember(await refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: first.refresh_token }));

    await assert.rejects(
      refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: first.refresh_token }),
      (error) => error instanceof OAuthError && error.error === 'invalid_grant',
    );
    // RFC 9700 §4.14.2: reuse means theft; the whole family goes.
    await assert.rejects(
      refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: second.refresh_token }),
      (error) => error instanceof OAuthError && error.error === 'invalid_grant',
    );
  });

  test('no refresh token is issued without offline_access', async () => {
    const tokens = await login({ scope: 'openid profile read:todos', login: 'alice' });
    assert.equal(tokens.refresh_token, undefined);
  });

  test('a refresh token revoked at /oauth/revoke stops working', async () => {
    const tokens = await login({ login: 'alice' });
    const response = await fetch(`${idp.issuer}oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: TEST_CLIENT.clientId }),
    });
    assert.equal(response.status, 200);
    await assert.rejects(
      refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: tokens.refresh_token }),
      (error) => error instanceof OAuthError && error.error === 'invalid_grant',
    );
  });
});

describe('permissions (Auth0 RBAC)', () => {
  const apiScopesOf = (scope) => sorted(scope.split(' ').filter((s) => s.includes(':')));

  test('a permission removed at run time is gone from the next refreshed token, and one given back returns', async () => {
    const first = await login({ login: 'grace' });
    assert.deepEqual(apiScopesOf(first.scope), ['read:todos', 'write:todos']);
    assert.deepEqual(idp.permissionsOf('grace'), ['read:todos', 'read:billing', 'write:todos'], 'every permission by default');

    // Auth0's Management API removing a permission from the user; given back whatever happens,
    // so that the IdP the later tests share is as they expect it.
    assert.deepEqual(idp.setPermissions('grace', ['read:todos', 'read:billing']), ['read:todos', 'read:billing']);
    try {
      const narrowed = remember(await refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: first.refresh_token }));
      const { payload } = verifyJwt(narrowed.access_token, await jwksOf(idp.issuer));
      assert.deepEqual(apiScopesOf(payload.scope), ['read:todos'], 'write:todos no longer held; read:billing never asked for');
      assert.ok(payload.scope.split(' ').includes('openid'), 'the OpenID Connect scopes stay');
      assert.deepEqual(apiScopesOf(narrowed.scope), ['read:todos'], 'the token response says so too (RFC 6749 §5.1)');
      assert.deepEqual(payload.permissions, ['read:todos', 'read:billing']);
      // A token issued before the change keeps what it was issued with until it expires.
      assert.deepEqual(apiScopesOf(decodeJwt(first.access_token).payload.scope), ['read:todos', 'write:todos']);

      idp.setPermissions('grace', ['read:todos', 'read:billing', 'write:todos']);
      const restored = remember(await refresh({ issuer: idp.issuer, clientId: TEST_CLIENT.clientId, refreshToken: narrowed.refresh_token }));
      assert.deepEqual(apiScopesOf(restored.scope), ['read:todos', 'write:todos'], 'back, up to what the refresh token was issued for');
    } finally {
      idp.setPermissions('grace', ['read:todos', 'read:billing', 'write:todos']);
    }
  });

  test('permissions are only ever the API\'s, for a named user', () => {
    assert.throws(() => idp.setPermissions('grace', ['admin']), (error) => error instanceof TypeError && /admin/.test(error.message));
    assert.throws(() => idp.setPermissions('', ['read:todos']), TypeError);
    assert.throws(() => idp.setPermissions('grace', 'read:todos'), TypeError);
    assert.throws(() => resolveConfig({ userPermissions: { grace: ['admin'] } }), /userPermissions.*admin/);
    assert.throws(() => resolveConfig({ userPermissions: ['read:todos'] }), /userPermissions/);
    assert.deepEqual(resolveConfig({}).userPermissions, {});
  });

  test('a user configured with fewer permissions signs in with only those, and others keep all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idp-rbac-'));
    const rbac = await createIdp({
      port: 0, keysFile: join(dir, 'jwks.json'), logLevel: 'silent', userPermissions: { heidi: ['read:todos'] },
    });
    try {
      const scope = 'openid offline_access read:todos read:billing write:todos';
      const heidi = await authorizationCodeLogin({ issuer: rbac.issuer, ...TEST_CLIENT, scope, audience: AUDIENCE, login: 'heidi' });
      const { payload } = decodeJwt(heidi.access_token);
      assert.deepEqual(apiScopesOf(payload.scope), ['read:todos']);
      assert.deepEqual(apiScopesOf(heidi.scope), ['read:todos']);
      assert.deepEqual(payload.permissions, ['read:todos']);
      assert.ok(heidi.refresh_token, 'the OpenID Connect scopes are untouched');

      const alice = await authorizationCodeLogin({ issuer: rbac.issuer, ...TEST_CLIENT, scope, audience: AUDIENCE, login: 'alice' });
      assert.deepEqual(apiScopesOf(alice.scope), ['read:billing', 'read:todos', 'write:todos']);
    } finally {
      await rbac.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('who can sign in', () => {
  test('an unknown login still signs in as itself, even one with a colon in it', async () => {
    for (const name of ['erin', 'samlp|corp:erin@corp']) {
      const tokens = await login({ login: name });
      assert.equal(decodeJwt(tokens.access_token).payload.sub, name);
      const idToken = decodeJwt(tokens.id_token).payload;
      assert.equal(idToken.sub, name);
      assert.equal(idToken.email, `${name}@example.test`);
    }
  });

  test('the auth0|dave user signs in with an Auth0-shaped sub', async () => {
    const tokens = await login({ login: 'auth0|dave' });
    assert.equal(decodeJwt(tokens.access_token).payload.sub, 'auth0|dave');
    const idToken = decodeJwt(tokens.id_token).payload;
    assert.equal(idToken.name, 'Dave Diaz');
    assert.equal(idToken.email, 'dave@example.com');
  });

  test('surrounding white space in a login is ignored', async () => {
    const tokens = await login({ login: '  alice \t' });
    assert.equal(decodeJwt(tokens.access_token).payload.sub, 'alice');
  });

  test('the login page offers every known user as a one-click button', async () => {
    const { response } = await openLoginPage();
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /text\/html/);
    assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    const html = await response.text();
    for (const user of KNOWN_USERS) {
      assert.ok(html.includes(`name="login" value="${user.sub}"`), `no button for ${user.sub}`);
      assert.ok(html.includes(user.name));
    }
    assert.doesNotMatch(html, /<script|https?:\/\/(?!localhost|127\.0\.0\.1)/i, 'the page must be self-contained');
  });

  test('the login page escapes a hostile login hint and a refused hostile login', async () => {
    const hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
    const { response, jar, pageUrl } = await openLoginPage({ login_hint: hostile });
    const html = await response.text();
    assert.ok(!html.includes('<script>alert(1)'), 'raw script from login_hint');
    assert.ok(!html.includes('<img src=x'), 'raw img from login_hint');
    assert.ok(html.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));

    // A control character gets the login refused and echoed back: escaped.
    const refused = await submitLoginForm({ url: pageUrl, html }, jar, `${hostile}\u0007`);
    assert.equal(refused.status, 400);
    const page = await refused.text();
    assert.ok(!page.includes('<script>alert(1)'), 'raw script from the refused login');
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.match(page, /control characters/);
  });

  test('a hostile but printable login signs in as exactly that string', async () => {
    const hostile = '<b onmouseover="x()">mallory</b>';
    const tokens = await login({ login: hostile });
    assert.equal(decodeJwt(tokens.id_token).payload.sub, hostile);
  });

  test('an empty login is refused with the login page', async () => {
    const { response, jar } = await openLoginPage();
    const refused = await submitLoginForm(response, jar, '   ');
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /Enter a login/);
  });

  test('cancelling on the login page returns access_denied to the client', async () => {
    const { response, jar, pageUrl } = await openLoginPage();
    const html = await response.text();
    const abort = new URL(/action="([^"]*\/abort)"/.exec(html)[1], pageUrl);
    const posted = await jar.fetch(abort, { method: 'POST' });
    const { stopped, url } = await followRedirects(jar, posted, {
      stopAt: (target) => target.href.startsWith(TEST_CLIENT.redirectUri),
    });
    assert.ok(stopped);
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.equal(url.searchParams.get('state'), 'state-1');
  });
});

describe('the confidential worker client', () => {
  test('the confidential client signs in with client_secret_post', async () => {
    const tokens = remember(await authorizationCodeLogin({
      issuer: idp.issuer,
      ...WORKER_CLIENT,
      scope: 'openid profile email offline_access read:todos',
      audience: AUDIENCE,
      login: 'auth0|dave',
    }));
    const { payload } = verifyJwt(tokens.access_token, await jwksOf(idp.issuer));
    assert.equal(payload.azp, WORKER_CLIENT.clientId);
    assert.equal(payload.sub, 'auth0|dave');
    assert.ok(tokens.refresh_token);

    const refreshed = remember(await refresh({ issuer: idp.issuer, ...WORKER_CLIENT, refreshToken: tokens.refresh_token }));
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  });

  test('the confidential client is refused with a wrong secret', async () => {
    await assert.rejects(
      authorizationCodeLogin({ issuer: idp.issuer, ...WORKER_CLIENT, clientSecret: 'wrong', audience: AUDIENCE }),
      (error) => error instanceof OAuthError && error.error === 'invalid_client',
    );
  });

  test('its account callback is a registered redirect URI too', async () => {
    const tokens = remember(await authorizationCodeLogin({
      issuer: idp.issuer, ...WORKER_CLIENT, redirectUri: 'http://localhost:8788/account/callback', audience: AUDIENCE,
    }));
    assert.ok(tokens.access_token);
  });

  test('configured for client_secret_basic, it must use Basic authentication', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idp-basic-'));
    const basic = await createIdp({
      port: 0, keysFile: join(dir, 'jwks.json'), clientAuthMethod: 'client_secret_basic', logLevel: 'silent',
    });
    try {
      const tokens = await authorizationCodeLogin({
        issuer: basic.issuer, ...WORKER_CLIENT, clientAuthMethod: 'client_secret_basic', audience: AUDIENCE,
      });
      assert.ok(tokens.access_token);
      await assert.rejects(
        authorizationCodeLogin({ issuer: basic.issuer, ...WORKER_CLIENT, clientAuthMethod: 'client_secret_post', audience: AUDIENCE }),
        (error) => error instanceof OAuthError && error.error === 'invalid_client',
      );
    } finally {
      await basic.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('signing keys', () => {
  test('signing keys survive a restart (same kid), so tokens issued before it still verify', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idp-keys-'));
    const keysFile = join(dir, 'nested', 'jwks.json');
    try {
      const first = await createIdp({ port: 0, keysFile, logLevel: 'silent' });
      let tokens;
      let before;
      try {
        before = await jwksOf(first.issuer);
        tokens = await authorizationCodeLogin({ issuer: first.issuer, ...TEST_CLIENT, audience: AUDIENCE });
      } finally {
        await first.close();
      }
      assert.equal((await stat(keysFile)).mode & 0o777, 0o600, 'the key file must be private');
      const stored = JSON.parse(await readFile(keysFile, 'utf8'));
      assert.equal(stored.keys[0].kty, 'RSA');

      const second = await createIdp({ port: 0, keysFile, logLevel: 'silent' });
      try {
        const afterRestart = await jwksOf(second.issuer);
        assert.deepEqual(afterRestart.keys.map((key) => key.kid), before.keys.map((key) => key.kid));
        assert.ok(before.keys[0].kid);
        assert.equal(afterRestart.keys[0].alg, 'RS256');
        assert.equal(afterRestart.keys[0].d, undefined, 'the JWKS must not publish the private key');
        verifyJwt(tokens.access_token, afterRestart);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a corrupt key file stops start-up instead of being replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idp-badkeys-'));
    const keysFile = join(dir, 'jwks.json');
    try {
      await writeFile(keysFile, '{"keys":[]}');
      await assert.rejects(createIdp({ port: 0, keysFile, logLevel: 'silent' }), /not usable/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  test('configFromEnv reads the documented variables and skips empty ones', () => {
    const config = configFromEnv({
      IDP_PORT: '9000',
      IDP_ISSUER: 'http://idp.localhost:9000/',
      IDP_AUDIENCE: 'https://api.example.test/',
      IDP_CLIENT_ID: 'worker',
      IDP_CLIENT_SECRET: 's3cret',
      IDP_CLIENT_AUTH_METHOD: 'client_secret_basic',
      IDP_ACCESS_TOKEN_TTL: '120',
      IDP_KEYS_FILE: '/tmp/keys.json',
      LOG_LEVEL: 'debug',
      UNRELATED: 'x',
    });
    assert.deepEqual(config, {
      port: 9000,
      issuer: 'http://idp.localhost:9000/',
      audience: 'https://api.example.test/',
      clientId: 'worker',
      clientSecret: 's3cret',
      clientAuthMethod: 'client_secret_basic',
      accessTokenTtl: 120,
      keysFile: '/tmp/keys.json',
      logLevel: 'debug',
    });
    assert.deepEqual(configFromEnv({ IDP_PORT: '', LOG_LEVEL: ' ' }), {});
    assert.throws(() => configFromEnv({ IDP_PORT: 'eighty' }), /IDP_PORT/);
    assert.throws(() => configFromEnv({ IDP_ACCESS_TOKEN_TTL: '-5' }), /IDP_ACCESS_TOKEN_TTL/);
  });

  test('invalid settings are refused with the setting named', () => {
    assert.throws(() => resolveConfig({ issuer: 'http://localhost:8790' }), /issuer/);
    assert.throws(() => resolveConfig({ clientAuthMethod: 'private_key_jwt' }), /clientAuthMethod/);
    assert.throws(() => resolveConfig({ logLevel: 'loud' }), /logLevel/);
    assert.throws(() => resolveConfig({ portt: 1 }), /portt/);
    assert.equal(resolveConfig({}).port, 8790);
    assert.equal(resolveConfig({}).host, '127.0.0.1');
  });
});

describe('logging', () => {
  test('debug logging writes one JSON object per line and never a token or secret', () => {
    assert.ok(logLines.length > 20, 'expected debug lines from the tests above');
    const events = new Set();
    for (const line of logLines) {
      const entry = JSON.parse(line);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(entry.level), line);
      assert.equal(typeof entry.event, 'string');
      events.add(entry.event);
      for (const credential of credentials) {
        assert.ok(!line.includes(credential), `a credential leaked into the log: ${line.slice(0, 120)}`);
      }
      assert.doesNotMatch(line, /eyJ[A-Za-z0-9_-]{10,}\./, 'something JWT-shaped was logged');
      assert.doesNotMatch(line, /idp_session=|idp_interaction=|code_verifier|client_secret/);
    }
    for (const event of ['started', 'interaction started', 'login', 'tokens issued', 'tokens refreshed', 'permissions changed', 'token revoked', 'grant.error']) {
      assert.ok(events.has(event), `no "${event}" line`);
    }
    assert.ok(credentials.size > 10);
  });
});
