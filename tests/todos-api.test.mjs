/**
 * The ToDos API (todos-api/) as a client sees it: the real worker under `wrangler dev`
 * (workerd), real access tokens from the local identity provider (idp/) obtained with the
 * authorization code flow and PKCE, and attack tokens forged here with node:crypto.
 * Only what goes over the wire is asserted.
 *
 * Run: node_modules/.bin/node --test tests/todos-api.test.mjs   (Node 22)
 */

import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createIdp } from '../idp/provider.mjs';
import { buildWorker } from '../scripts/build.mjs';
import { authorizationCodeLogin, decodeJwt, forgeJwt } from './support/oidc-login.mjs';
import { freePort, postChunked, startWorker } from './support/services.mjs';

const AUDIENCE = 'urn:todos-api';
const TEST_CLIENT = { clientId: 'local-test-client', redirectUri: 'http://127.0.0.1:8799/callback' };
const ALL_SCOPES = 'openid read:todos write:todos read:billing';
const REALM = 'Bearer realm="todos-api"';

let tempDir;
let idp;
let api;
/** A second ToDos API whose issuer does not answer: nothing is listening on its port. */
let orphanApi;
let orphanPort;
/** Requests for the IdP's key set, counted from the IdP's debug request log. */
let jwksRequests = 0;
/** Private JWK of the IdP's signing key, read from its keys file. */
let idpKey;
/** Every token a test used: none may appear in the API's log. */
const tokensSeen = new Set();
const tokens = {};

async function login(loginName, scope = ALL_SCOPES) {
  const response = await authorizationCodeLogin({
    issuer: idp.issuer, ...TEST_CLIENT, scope, audience: AUDIENCE, login: loginName,
  });
  tokensSeen.add(response.access_token);
  return response.access_token;
}

/** Calls the API; `token` becomes a Bearer header, `authorization` sets the header verbatim. */
async function call(path, { token, authorization, method = 'GET', body, headers = {}, base = api } = {}) {
  const sent = { ...headers };
  if (token !== undefined) {
    tokensSeen.add(token);
    sent.authorization = `Bearer ${token}`;
  }
  if (authorization !== undefined) sent.authorization = authorization;
  let payload = body;
  if (body !== undefined && typeof body !== 'string') {
    payload = JSON.stringify(body);
    sent['content-type'] ??= 'application/json';
  }
  const response = await fetch(`http://127.0.0.1:${base.port}${path}`, { method, headers: sent, body: payload });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

// ---- Forging tokens ----

const encode = (part) => Buffer.from(JSON.stringify(part)).toString('base64url');
const forge = forgeJwt;
const rs256 = (key) => (input) => sign('sha256', Buffer.from(input), key).toString('base64url');
const hs256 = (secret) => (input) => createHmac('sha256', secret).update(input).digest('base64url');

/** Claims like the IdP's, valid now, with `overrides` applied (undefined removes a claim). */
function claims(overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  const base = {
    iss: idp.issuer, sub: 'alice', aud: [AUDIENCE], iat: now, exp: now + 300,
    scope: 'openid read:todos', client_id: TEST_CLIENT.clientId,
  };
  const merged = { ...base, ...overrides };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return merged;
}

/** A token signed with the IdP's own key, as the IdP would sign it, carrying `payload`. */
function signedByIdp(payload, header = {}) {
  return forge({ alg: 'RS256', typ: 'at+jwt', kid: idpKey.kid, ...header }, payload, rs256(createPrivateKey({ key: idpKey, format: 'jwk' })));
}

function assertInvalidToken(response, what) {
  assert.equal(response.status, 401, `${what}: ${response.text}`);
  const challenge = response.headers.get('www-authenticate');
  assert.ok(challenge.startsWith(REALM), `${what}: ${challenge}`);
  assert.match(challenge, /error="invalid_token"/, what);
  assert.match(challenge, /error_description="[^"]+"/, what);
  assert.equal(response.json?.error, 'invalid_token', what);
  assert.equal(typeof response.json?.error_description, 'string', what);
}

before(async () => {
  buildWorker('todos-api');
  tempDir = await mkdtemp(join(tmpdir(), 'todos-api-test-'));
  const keysFile = join(tempDir, 'jwks.json');
  const logSink = (line) => {
    const entry = JSON.parse(line);
    if (entry.event === 'http' && entry.route === 'jwks') jwksRequests += 1;
  };
  idp = await createIdp({ port: 0, keysFile, logLevel: 'debug', logSink });
  [idpKey] = JSON.parse(await readFile(keysFile, 'utf8')).keys;

  // One after the other: two `wrangler dev` of the same worker started at the same moment
  // can race for a port ("Address already in use (socket direct:1:default)").
  const workers = (async () => {
    // wrangler's `log` level shows the worker's console.log output (its `info` level hides it).
    api = await startWorker({ name: 'todos-api', vars: { OIDC_ISSUER: idp.issuer, LOG_LEVEL: 'debug' }, logLevel: 'log' });
    orphanPort = await freePort();
    orphanApi = await startWorker({ name: 'todos-api', vars: { OIDC_ISSUER: `http://127.0.0.1:${orphanPort}/` } });
  })();
  tokens.alice = await login('alice');
  tokens.aliceReadOnly = await login('alice', 'openid read:todos');
  tokens.bob = await login('bob');
  tokens.carolBillingOnly = await login('carol', 'read:billing');
  tokens.dave = await login('auth0|dave');
  tokens.colon = await login('samlp|corp:erin@corp');
  await workers;
});

after(async () => {
  await Promise.all([api?.stop(), orphanApi?.stop()]);
  await idp?.close();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

describe('public and routing answers', () => {
  test('health answers ok without a token', async () => {
    const response = await call('/api/health');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { status: 'ok' });
  });

  test('an unknown path is 404 with a JSON error', async () => {
    const response = await call('/api/nothing-here', { token: tokens.alice });
    assert.equal(response.status, 404);
    assert.equal(response.json.error, 'not_found');
  });

  test('an unsupported method is 405 with Allow', async () => {
    const response = await call('/api/todos', { method: 'PUT', token: tokens.alice, body: {} });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, HEAD, POST');
    const item = await call('/api/todos/0123456789abcdef', { token: tokens.alice });
    assert.equal(item.status, 405);
    assert.equal(item.headers.get('allow'), 'PATCH, DELETE');
  });
});

describe('scopes', () => {
  test('me returns the token claims to any valid token', async () => {
    const response = await call('/api/me', { token: tokens.aliceReadOnly });
    assert.equal(response.status, 200);
    const { payload } = decodeJwt(tokens.aliceReadOnly);
    assert.deepEqual(response.json, payload);
    assert.equal(response.json.sub, 'alice');
  });

  test('list_todos_returns_200_with_read_todos', async () => {
    const response = await call('/api/todos', { token: tokens.aliceReadOnly });
    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.json.todos));
  });

  test('list_todos_returns_403_without_read_todos', async () => {
    const response = await call('/api/todos', { token: tokens.carolBillingOnly });
    assert.equal(response.status, 403);
    assert.equal(response.json.error, 'insufficient_scope');
    assert.equal(
      response.headers.get('www-authenticate'),
      `${REALM}, error="insufficient_scope", error_description="the access token lacks the scope this request needs", scope="read:todos"`,
    );
  });

  test('billing_returns_200_with_read_billing_and_is_the_same_every_time', async () => {
    const first = await call('/api/billing', { token: tokens.carolBillingOnly });
    assert.equal(first.status, 200);
    assert.ok(first.json.plan.name);
    assert.equal(first.json.invoices.length, 3);
    const second = await call('/api/billing', { token: tokens.carolBillingOnly });
    assert.deepEqual(second.json, first.json);
    const bobs = await call('/api/billing', { token: tokens.bob });
    assert.notDeepEqual(bobs.json.invoices, first.json.invoices);
  });

  test('billing_returns_403_without_read_billing', async () => {
    const response = await call('/api/billing', { token: tokens.aliceReadOnly });
    assert.equal(response.status, 403);
    assert.match(response.headers.get('www-authenticate'), /scope="read:billing"/);
  });

  test('writes_return_403_without_write_todos', async () => {
    const create = await call('/api/todos', { method: 'POST', token: tokens.aliceReadOnly, body: { title: 'nope' } });
    assert.equal(create.status, 403);
    assert.match(create.headers.get('www-authenticate'), /scope="write:todos"/);
    const list = await call('/api/todos', { token: tokens.alice });
    const [first] = list.json.todos;
    const patch = await call(`/api/todos/${first.id}`, { method: 'PATCH', token: tokens.aliceReadOnly, body: { completed: true } });
    assert.equal(patch.status, 403);
    const remove = await call(`/api/todos/${first.id}`, { method: 'DELETE', token: tokens.aliceReadOnly });
    assert.equal(remove.status, 403);
  });

  test('a token is held to its scope claim, not to the permissions its user holds', async () => {
    // Auth0's `permissions` lists every permission assigned to the user, also ones the client
    // did not ask for or the user unticked: only `scope` is what the token was granted.
    const all = ['read:todos', 'read:billing', 'write:todos'];
    const narrow = signedByIdp(claims({ scope: 'openid read:todos', permissions: all }));
    assert.equal((await call('/api/todos', { token: narrow })).status, 200);
    const billing = await call('/api/billing', { token: narrow });
    assert.equal(billing.status, 403);
    assert.match(billing.headers.get('www-authenticate'), /error="insufficient_scope"/);
    const none = signedByIdp(claims({ scope: undefined, permissions: all }));
    assert.equal((await call('/api/todos', { token: none })).status, 403);
  });
});

describe('todos', () => {
  test('a new user starts with three todos that stay put', async () => {
    const first = await call('/api/todos', { token: tokens.dave });
    assert.equal(first.status, 200);
    assert.equal(first.json.todos.length, 3);
    for (const todo of first.json.todos) {
      assert.match(todo.id, /^[0-9a-f]{16}$/);
      assert.equal(typeof todo.title, 'string');
      assert.equal(typeof todo.completed, 'boolean');
    }
    const again = await call('/api/todos', { token: tokens.dave });
    assert.deepEqual(again.json, first.json);
  });

  test('create, patch and delete change the caller\'s list', async () => {
    const created = await call('/api/todos', { method: 'POST', token: tokens.alice, body: { title: '  Water the plants  ' } });
    assert.equal(created.status, 201);
    assert.equal(created.json.title, 'Water the plants');
    assert.equal(created.json.completed, false);
    const { id } = created.json;

    const patched = await call(`/api/todos/${id}`, { method: 'PATCH', token: tokens.alice, body: { completed: true, title: 'Water all the plants' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.completed, true);
    assert.equal(patched.json.title, 'Water all the plants');

    let list = await call('/api/todos', { token: tokens.alice });
    assert.deepEqual(list.json.todos.find((todo) => todo.id === id), patched.json);

    const removed = await call(`/api/todos/${id}`, { method: 'DELETE', token: tokens.alice });
    assert.equal(removed.status, 204);
    assert.equal(removed.text, '');
    list = await call('/api/todos', { token: tokens.alice });
    assert.equal(list.json.todos.some((todo) => todo.id === id), false);
    assert.equal((await call(`/api/todos/${id}`, { method: 'DELETE', token: tokens.alice })).status, 404);
  });

  test('bob can neither read, patch nor delete alice\'s todo', async () => {
    const created = await call('/api/todos', { method: 'POST', token: tokens.alice, body: { title: 'Alice only' } });
    const { id } = created.json;

    const bobsList = await call('/api/todos', { token: tokens.bob });
    assert.equal(bobsList.status, 200);
    assert.equal(bobsList.json.todos.some((todo) => todo.id === id || todo.title === 'Alice only'), false);
    const patch = await call(`/api/todos/${id}`, { method: 'PATCH', token: tokens.bob, body: { title: 'Bob was here' } });
    assert.equal(patch.status, 404);
    const remove = await call(`/api/todos/${id}`, { method: 'DELETE', token: tokens.bob });
    assert.equal(remove.status, 404);

    const alicesList = await call('/api/todos', { token: tokens.alice });
    assert.deepEqual(alicesList.json.todos.find((todo) => todo.id === id), created.json);
  });

  test('subjects with | and : keep separate lists', async () => {
    const created = await call('/api/todos', { method: 'POST', token: tokens.colon, body: { title: 'Colon user' } });
    assert.equal(created.status, 201);
    const own = await call('/api/todos', { token: tokens.colon });
    assert.equal(own.json.todos.length, 4);
    const daves = await call('/api/todos', { token: tokens.dave });
    assert.equal(daves.json.todos.some((todo) => todo.id === created.json.id), false);
  });

  test('bad bodies are 400, 413 or 415', async () => {
    const post = (body, headers = {}) => call('/api/todos', {
      method: 'POST', token: tokens.alice, body, headers: { 'content-type': 'application/json', ...headers },
    });
    for (const body of ['{', '[]', { title: '' }, { title: '   ' }, { title: 'x'.repeat(201) }, { title: 5 }, {}, { title: 'a', extra: true }]) {
      const response = await post(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.json.error, 'invalid_request');
    }
    assert.equal((await post({ title: 'é'.repeat(200) })).status, 201);
    assert.equal((await post(JSON.stringify({ title: 'x' }), { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post({ title: 'x'.repeat(17 * 1024) })).status, 413);

    const list = await call('/api/todos', { token: tokens.alice });
    const { id } = list.json.todos[0];
    const patch = (body) => call(`/api/todos/${id}`, { method: 'PATCH', token: tokens.alice, body });
    assert.equal((await patch({})).status, 400);
    assert.equal((await patch({ completed: 'yes' })).status, 400);
    assert.equal((await call('/api/todos/not-an-id', { method: 'PATCH', token: tokens.alice, body: { completed: true } })).status, 404);
  });
});

describe('chunked bodies', () => {
  const url = () => `http://127.0.0.1:${api.port}/api/todos`;
  const headers = () => ({ authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' });

  test('a chunked body without Content-Length is refused with 413 once past 16 KiB, before it ends', async () => {
    // 1 KiB chunks, twice the limit, and the body never ended: only a worker that counts while
    // it reads can answer.
    const chunks = ['{"title":"'];
    for (let sent = 0; sent < 32 * 1024; sent += 1024) chunks.push('x'.repeat(1024));
    const refused = await postChunked(url(), headers(), chunks, { end: false });
    assert.equal(refused.status, 413, refused.text);
    assert.equal(refused.json.error, 'payload_too_large');
    assert.match(refused.json.error_description, /16384 bytes/);
  });

  test('a chunked body under the limit is read whole and creates the todo', async () => {
    const title = `chunked ${Date.now()}`;
    const body = JSON.stringify({ title });
    const created = await postChunked(url(), headers(), [body.slice(0, 5), body.slice(5, 12), body.slice(12)]);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.title, title);
  });
});

describe('rejected credentials', () => {
  test('no Authorization header gets a bare challenge', async () => {
    const response = await call('/api/todos');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), REALM);
    assert.equal(response.json.error, 'unauthorized');
  });

  test('a non-Bearer scheme counts as no bearer credentials', async () => {
    const response = await call('/api/todos', { authorization: 'Basic YWxpY2U6c2VjcmV0' });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), REALM);
  });

  // RFC 6750 §3.1: `invalid_token` is also the answer for a malformed token.
  test('a malformed Authorization header is 401 invalid_token', async () => {
    for (const authorization of ['Bearer', 'Bearer two words', 'Bearer "quoted"']) {
      const response = await call('/api/todos', { authorization });
      assert.equal(response.status, 401, authorization);
      assert.match(response.headers.get('www-authenticate'), /^Bearer realm="todos-api", error="invalid_token"/);
      assert.equal(response.json.error, 'invalid_token');
    }
  });

  test('a garbage token is 401 invalid_token', async () => {
    assertInvalidToken(await call('/api/todos', { token: 'not-a-jwt' }), 'garbage');
    assertInvalidToken(await call('/api/todos', { token: 'a.b.c' }), 'three garbage parts');
  });

  test('a token signed with the provider key and valid claims is accepted (control for the forgeries)', async () => {
    const response = await call('/api/todos', { token: signedByIdp(claims()) });
    assert.equal(response.status, 200);
  });

  test('an expired token is 401, within the 60 s leeway it is not', async () => {
    const now = Math.floor(Date.now() / 1000);
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ iat: now - 7200, exp: now - 3600 })) }), 'expired');
    assert.equal((await call('/api/todos', { token: signedByIdp(claims({ exp: now - 30 })) })).status, 200);
  });

  test('a token verified before is refused once it expires, though its signature is not checked again', async () => {
    // Inside the 60 s leeway for about 5 s more: accepted, and remembered as verified.
    const exp = Math.floor(Date.now() / 1000) - 55;
    const token = signedByIdp(claims({ iat: exp - 300, exp }));
    assert.equal((await call('/api/todos', { token })).status, 200);
    assert.equal((await call('/api/todos', { token })).status, 200);
    while (Math.floor(Date.now() / 1000) <= exp + 60) await new Promise((resolve) => setTimeout(resolve, 250));
    assertInvalidToken(await call('/api/todos', { token }), 'expired after it was verified');
  });

  test('a verified token with another signature or payload is checked afresh and refused', async () => {
    assert.equal((await call('/api/todos', { token: tokens.aliceReadOnly })).status, 200);
    const [header, payload, signature] = tokens.aliceReadOnly.split('.');
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    assertInvalidToken(await call('/api/todos', { token: `${header}.${payload}.${flipped}` }), 'other signature');
    assertInvalidToken(await call('/api/todos', { token: `${header}.${payload}.${signature.slice(0, -4)}` }), 'shorter signature');
    const claimsOf = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const otherUser = `${header}.${encode({ ...claimsOf, sub: 'bob' })}.${signature}`;
    assertInvalidToken(await call('/api/todos', { token: otherUser }), 'other payload, same signature');
    assert.equal((await call('/api/todos', { token: tokens.aliceReadOnly })).status, 200);
  });

  test('a token that is not valid yet is 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ nbf: now + 600 })) }), 'nbf');
  });

  test('a token for another audience is 401', async () => {
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ aud: 'urn:other-api' })) }), 'aud string');
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ aud: ['urn:other-api', `${idp.issuer}userinfo`] })) }), 'aud array');
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ aud: undefined })) }), 'no aud');
  });

  test('a token from another issuer is 401', async () => {
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ iss: 'https://evil.example/' })) }), 'iss');
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ iss: idp.issuer.slice(0, -1) })) }), 'iss without slash');
  });

  test('a token without sub or exp is 401', async () => {
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ sub: undefined })) }), 'sub');
    assertInvalidToken(await call('/api/todos', { token: signedByIdp(claims({ exp: undefined })) }), 'exp');
  });

  test('alg none is 401', async () => {
    const unsigned = forge({ alg: 'none', typ: 'at+jwt', kid: idpKey.kid }, claims(), () => '');
    assertInvalidToken(await call('/api/todos', { token: unsigned }), 'alg none');
  });

  test('HS256 signed with the provider\'s RSA public key is 401', async () => {
    const publicKey = createPublicKey({ key: idpKey, format: 'jwk' });
    for (const secret of [publicKey.export({ type: 'spki', format: 'pem' }), publicKey.export({ type: 'spki', format: 'der' })]) {
      const token = forge({ alg: 'HS256', typ: 'at+jwt', kid: idpKey.kid }, claims(), hs256(secret));
      assertInvalidToken(await call('/api/todos', { token }), 'HS256');
    }
  });

  test('a tampered payload is 401', async () => {
    const [header, payload, signature] = tokens.aliceReadOnly.split('.');
    const claimsOf = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `${header}.${encode({ ...claimsOf, scope: `${claimsOf.scope} read:billing` })}.${signature}`;
    assertInvalidToken(await call('/api/billing', { token: tampered }), 'tampered');
    const otherUser = `${header}.${encode({ ...claimsOf, sub: 'bob' })}.${signature}`;
    assertInvalidToken(await call('/api/todos', { token: otherUser }), 'tampered sub');
  });

  test('a token signed by another key under the provider\'s kid is 401', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = forge({ alg: 'RS256', typ: 'at+jwt', kid: idpKey.kid }, claims(), rs256(privateKey));
    assertInvalidToken(await call('/api/todos', { token }), 'wrong key');
  });

  test('unknown kids are 401 and do not make the API hammer the provider\'s key set', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const before = jwksRequests;
    for (let i = 0; i < 5; i += 1) {
      const token = forge({ alg: 'RS256', typ: 'at+jwt', kid: `attacker-${i}` }, claims(), rs256(privateKey));
      assertInvalidToken(await call('/api/todos', { token }), `unknown kid ${i}`);
    }
    // One refresh per 30 s at most; the key set was fetched moments ago, so usually none.
    assert.ok(before >= 1, 'the key set was never fetched: the counter is not counting');
    assert.ok(jwksRequests - before <= 1, `${jwksRequests - before} key set requests`);
  });
});

describe('when the provider cannot be reached', () => {
  test('a fresh API with no cached key answers 503 with Retry-After, never 500', async () => {
    for (let i = 0; i < 2; i += 1) {
      const response = await call('/api/todos', { token: tokens.alice, base: orphanApi });
      assert.equal(response.status, 503, response.text);
      const retryAfter = Number(response.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
      assert.equal(response.json.error, 'temporarily_unavailable');
    }
    assert.equal((await call('/api/health', { base: orphanApi })).status, 200);
  });

  test('after a failed fetch the provider is not asked again before Retry-After', async () => {
    let hits = 0;
    const provider = createServer((request, response) => {
      hits += 1;
      response.writeHead(503).end();
    });
    await new Promise((resolve) => provider.listen(orphanPort, '127.0.0.1', resolve));
    try {
      const response = await call('/api/todos', { token: tokens.alice, base: orphanApi });
      assert.equal(response.status, 503);
      assert.equal(hits, 0);
    } finally {
      await new Promise((resolve) => provider.close(resolve));
    }
  });

  test('an API with the key cached keeps serving while the provider is stopped', async () => {
    await idp.close();
    const response = await call('/api/todos', { token: tokens.alice });
    assert.equal(response.status, 200);
  });
});

describe('logging', () => {
  test('debug logging writes one JSON decision per request and never a token', () => {
    const log = api.logText();
    const decisions = log.split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"status"'))
      .map((line) => JSON.parse(line));
    assert.ok(decisions.some((d) => d.route === 'list_todos' && d.sub === 'alice' && d.scope?.granted === true && d.status === 200));
    assert.ok(decisions.some((d) => d.route === 'billing' && d.scope?.granted === false && d.status === 403));
    for (const token of tokensSeen) {
      assert.equal(log.includes(token), false, 'a token reached the log');
      const signature = token.split('.')[2] ?? '';
      if (signature.length >= 20) assert.equal(log.includes(signature), false, 'a token signature reached the log');
    }
  });
});
