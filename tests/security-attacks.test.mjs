// The attack battery: each known attack on the MCP worker's OAuth server, its MCP
// transports and the ToDos API, run end to end against the real system, must fail in the stated
// way. SECURITY.md maps each attack to the rule it breaks and to its test here or in
// tests/oauth-flow.test.mjs, tests/mcp-*.test.mjs, tests/todos-api.test.mjs. Only what goes over
// the wire is asserted.
//
//   node_modules/.bin/node --test tests/security-attacks.test.mjs
//
// The identity provider issues 61 s access tokens here, so the MCP tokens live 60 s (the
// shortest the library allows) and the last test sees one expire.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import {
  CLIENT_REDIRECT,
  CookieJar,
  authorize,
  authorizeUrl,
  bindingCookie,
  callMcp,
  callTool,
  createPkcePair,
  logEvents,
  parseConsent,
  plantCookie,
  registerClient,
  rpc,
  signInUpstream,
  sleep,
  startAttackStack,
  submitConsent,
  tokenRequest,
} from './support/attack-stack.mjs';
import { eventCount, loggedEvents } from './support/mcp-stack.mjs';
import { decodeJwt, forgeJwt, rs256Signer } from './support/oidc-login.mjs';

const ALL = 'openid email profile offline_access read:todos read:billing write:todos';
const IDP_TTL = 61;

let stack;
let early; // a token set issued at the start, checked for expiry at the end
let earlyAt;

/** A consent page in a fresh browser for `clientId`: the jar, the handle and the offered scopes. */
async function openConsent(clientId, { jar = new CookieJar(), scope = ALL, pkce = createPkcePair() } = {}) {
  const page = await jar.fetch(authorizeUrl(stack.mcpOrigin, { clientId, scope, challenge: pkce.challenge }));
  assert.equal(page.status, 200, 'consent page');
  return { jar, pkce, ...parseConsent(await page.text()) };
}

/** Registration, consent and sign-in: the client, its code and verifier (not yet redeemed). */
async function codeFor(login = 'alice', metadata = {}) {
  const client = await registerClient(stack.mcpOrigin, metadata);
  const { redirect, pkce } = await authorize(stack.mcpOrigin, { clientId: client.client_id, scope: ALL, login });
  return { client, code: redirect.searchParams.get('code'), verifier: pkce.verifier };
}

/** Counts of each value, for the race reports. */
const tally = (values) => values.reduce((counts, v) => ({ ...counts, [v]: (counts[v] ?? 0) + 1 }), {});

const redeem = (client, code, verifier, extra = {}) =>
  tokenRequest(stack.mcpOrigin, { grant_type: 'authorization_code', code, redirect_uri: CLIENT_REDIRECT, client_id: client.client_id, code_verifier: verifier, ...extra });

/** Asserts an HTML error page: the status, no redirect, anti-framing headers, and no `needle`. */
async function assertRenderedRefusal(response, { status = 400, needle } = {}) {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('location'), null, 'never redirected');
  const body = await response.text();
  if (needle) assert.ok(!body.includes(needle), `the page does not echo ${needle}`);
  return body;
}

describe('attack battery', { timeout: 240_000 }, () => {
  before(async () => {
    // The identity provider behind the fault injector, which passes everything but, in one
    // test, the ID tokens it is told to replace.
    stack = await startAttackStack({ idpTtl: IDP_TTL, injectIdp: true });
    earlyAt = Date.now();
    early = await stack.signIn('erin');
  });
  after(async () => {
    await stack?.stop();
  });

  // --- Redirect URIs --------------------------------------------------------------------------

  test('registration refuses javascript:, data: and other script-bearing redirect URIs in any case or with white space', async () => {
    const hostile = [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      'JAVASCRIPT:alert(1)//http://127.0.0.1/cb',
      ' javascript:alert(1)',
      'javascript:alert(1) ',
      '\tjavascript:alert(1)',
      'java\nscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      ' data:text/html,x',
      'vbscript:msgbox(1)',
      'http://127.0.0.1:8799/cb#fragment',
    ];
    for (const uri of hostile) {
      const response = await fetch(`${stack.mcpOrigin}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'x', redirect_uris: [uri], token_endpoint_auth_method: 'none' }),
      });
      const body = await response.json();
      assert.equal(response.status, 400, `${JSON.stringify(uri)} refused`);
      // RFC 7591 §3.2.2 names `invalid_redirect_uri`; the library answers the generic
      // `invalid_client_metadata` ("Invalid redirect URI"). Either refuses the registration.
      assert.ok(['invalid_redirect_uri', 'invalid_client_metadata'].includes(body.error), JSON.stringify(uri));
    }
    for (const field of ['client_uri', 'logo_uri', 'policy_uri', 'tos_uri']) {
      const response = await fetch(`${stack.mcpOrigin}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'x', redirect_uris: [CLIENT_REDIRECT], token_endpoint_auth_method: 'none', [field]: 'javascript:alert(1)' }),
      });
      assert.equal(response.status, 400, `a javascript: ${field} is refused`);
      await response.body?.cancel();
    }
  });

  test('the authorization endpoint renders, never redirects to, redirect URIs that only look like the registered one', async () => {
    const client = await registerClient(stack.mcpOrigin);
    const { challenge } = createPkcePair();
    const lookalikes = [
      'http://127.0.0.1:8799/callbackx',
      'http://127.0.0.1:8799/callback/evil',
      'http://127.0.0.1:8799/callback/../evil',
      'http://127.0.0.1:8799/callback%2F..%2Fevil',
      'http://127.0.0.1:8799/callback?next=https://attacker.example/',
      'http://127.0.0.1:8799/other', // a different loopback path
      'http://127.0.0.1:8799@attacker.example/callback',
      'http://127.0.0.1.attacker.example:8799/callback',
      'https://attacker.example/callback?http://127.0.0.1:8799/callback',
      'https://127.0.0.1:8799/callback',
      'http://127.0.0.2:8799/callback',
      'javascript:alert(1)//http://127.0.0.1:8799/callback',
      'JavaScript:alert(1)',
      ' data:text/html,<script>alert(1)</script>',
    ];
    for (const redirectUri of lookalikes) {
      const response = await fetch(authorizeUrl(stack.mcpOrigin, { clientId: client.client_id, redirectUri, scope: 'openid', challenge }), { redirect: 'manual' });
      await assertRenderedRefusal(response, { needle: 'attacker.example' });
    }
    // RFC 8252 §7.3: a loopback redirect URI may change port; only the port.
    const otherPort = await fetch(authorizeUrl(stack.mcpOrigin, { clientId: client.client_id, redirectUri: 'http://127.0.0.1:41234/callback', scope: 'openid', challenge }), { redirect: 'manual' });
    assert.equal(otherPort.status, 200, 'a loopback redirect URI on another port is the same redirect URI');
    assert.ok((await otherPort.text()).includes('<dt>Access is sent to</dt><dd>http://127.0.0.1:41234/callback</dd>'), 'the consent page shows the port the code goes to');
  });

  test('error paths redirect only to the registered redirect URI, and the consent form cannot smuggle another', async () => {
    const client = await registerClient(stack.mcpOrigin);
    const { challenge, verifier } = createPkcePair();
    // An error the library redirects (a bad response_type) goes to the registered URI only …
    const badType = authorizeUrl(stack.mcpOrigin, { clientId: client.client_id, scope: 'openid', challenge });
    badType.searchParams.set('response_type', 'token');
    const redirected = await fetch(badType, { redirect: 'manual' });
    if (redirected.status === 302) assert.ok(redirected.headers.get('location').startsWith(CLIENT_REDIRECT));
    else await assertRenderedRefusal(redirected);
    // … and the same error with an unregistered URI is rendered.
    badType.searchParams.set('redirect_uri', 'https://attacker.example/cb');
    await assertRenderedRefusal(await fetch(badType, { redirect: 'manual' }), { needle: 'attacker.example' });
    // Our own PKCE error path (plain) with an unregistered URI is rendered too.
    const plain = authorizeUrl(stack.mcpOrigin, { clientId: client.client_id, redirectUri: 'https://attacker.example/cb', scope: 'openid', challenge: verifier, method: 'plain' });
    await assertRenderedRefusal(await fetch(plain, { redirect: 'manual' }), { needle: 'attacker.example' });

    // A consent POST carrying its own redirect_uri / state: ignored, the stored request wins.
    const deny = await openConsent(client.client_id);
    const denied = await deny.jar.fetch(`${stack.mcpOrigin}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.mcpOrigin },
      body: new URLSearchParams({ handle: deny.handle, decision: 'deny', redirect_uri: 'https://attacker.example/cb', state: 'forged' }),
    });
    assert.equal(denied.status, 302);
    const deniedAt = new URL(denied.headers.get('location'));
    assert.ok(deniedAt.href.startsWith(CLIENT_REDIRECT), deniedAt.href);
    assert.equal(deniedAt.searchParams.get('state'), 'state-123');

    const allow = await openConsent(client.client_id, { pkce: { challenge, verifier } });
    const body = new URLSearchParams({ handle: allow.handle, decision: 'approve', redirect_uri: 'https://attacker.example/cb', client_id: 'someone-else' });
    for (const scope of allow.scopes) body.append('scope', scope);
    const approved = await allow.jar.fetch(`${stack.mcpOrigin}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.mcpOrigin },
      body,
    });
    assert.equal(approved.status, 302);
    const back = await signInUpstream(allow.jar, new URL(approved.headers.get('location')), { login: 'alice' });
    assert.ok(back.href.startsWith(CLIENT_REDIRECT), 'completeAuthorization redirects to the registered URI');
    assert.ok(back.searchParams.get('code'));

    // A callback with a bad state and a redirect_uri of its own is rendered.
    const callback = await fetch(`${stack.mcpOrigin}/callback?code=x&state=forged&redirect_uri=https://attacker.example/`, { redirect: 'manual' });
    await assertRenderedRefusal(callback, { needle: 'attacker.example' });
  });

  // --- PKCE -----------------------------------------------------------------------------------

  test('a PKCE verifier missing at the token endpoint, or replayed from an earlier flow, is refused', async () => {
    const first = await codeFor('alice');
    assert.equal((await redeem(first.client, first.code, first.verifier)).status, 200);
    const second = await codeFor('alice');
    const missing = await tokenRequest(stack.mcpOrigin, { grant_type: 'authorization_code', code: second.code, redirect_uri: CLIENT_REDIRECT, client_id: second.client.client_id });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');
    const replayed = await redeem(second.client, second.code, first.verifier);
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body.error, 'invalid_grant');
    // The right verifier still works: a refused attempt does not burn the code for its owner.
    assert.equal((await redeem(second.client, second.code, second.verifier)).status, 200);
  });

  // --- Codes and tokens -----------------------------------------------------------------------

  test('a refresh token reused after rotation is refused', async () => {
    const { client, code, verifier } = await codeFor('alice');
    const issued = (await redeem(client, code, verifier)).body;
    const refresh = (token) => tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id });
    const second = await refresh(issued.refresh_token);
    assert.equal(second.status, 200);
    assert.notEqual(second.body.refresh_token, issued.refresh_token);
    const third = await refresh(second.body.refresh_token);
    assert.equal(third.status, 200, 'the rotated token works');
    // The library keeps the previous refresh token valid until its successor is used (a lost
    // response must not end the grant); once the successor was used, the old one is dead.
    const reused = await refresh(issued.refresh_token);
    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, 'invalid_grant');
    assert.equal((await callMcp(stack.mcpOrigin, third.body.access_token)).status, 200, 'the legitimate holder keeps its tokens');
  });

  test("a code, refresh token or access token of one client is neither usable nor revocable by another", async () => {
    const victim = await codeFor('alice');
    const attacker = await registerClient(stack.mcpOrigin);
    const stolen = await redeem(attacker, victim.code, victim.verifier);
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, 'invalid_grant');

    const tokens = (await redeem(victim.client, victim.code, victim.verifier)).body;
    assert.ok(tokens.access_token, 'the victim still redeems its code');
    const refreshed = await tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: attacker.client_id });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.error, 'invalid_grant');

    // RFC 7009 §2.1: the server checks the token was issued to the client asking for revocation.
    for (const token of [tokens.access_token, tokens.refresh_token]) {
      const revoked = await tokenRequest(stack.mcpOrigin, { token, client_id: attacker.client_id });
      assert.ok([200, 400, 401].includes(revoked.status), `revocation answer ${revoked.status}`);
    }
    assert.equal((await callMcp(stack.mcpOrigin, tokens.access_token)).status, 200, "the victim's access token still works");
    const own = await tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: victim.client.client_id });
    assert.equal(own.status, 200, "the victim's refresh token still works");
  });

  test('an MCP token for another resource (audience) is neither issued nor accepted', async () => {
    const client = await registerClient(stack.mcpOrigin);
    const pkce = createPkcePair();
    const elsewhere = authorizeUrl(stack.mcpOrigin, { clientId: client.client_id, scope: 'openid', challenge: pkce.challenge, resource: 'https://other-resource.example/mcp' });
    const refused = await fetch(elsewhere, { redirect: 'manual' });
    assert.notEqual(refused.status, 200, 'no consent page for another resource');
    if (refused.status === 302) assert.equal(new URL(refused.headers.get('location')).searchParams.get('error'), 'invalid_target');

    // A code for this resource, redeemed for another one.
    const victim = await codeFor('alice');
    const other = await redeem(victim.client, victim.code, victim.verifier, { resource: 'https://other-resource.example/mcp' });
    assert.equal(other.status, 400);
    assert.equal(other.body.error, 'invalid_target');
  });

  test('forged and tampered MCP tokens are 401 with a challenge, also while the real one is remembered', async () => {
    const { accessToken } = await stack.signIn('alice');
    // Used once: this isolate now answers the real token from memory (src/token_memo.rs), and
    // every forgery below must still go to the library and fail there.
    assert.equal((await callMcp(stack.mcpOrigin, accessToken)).status, 200, 'the real token works');
    const [userId, grantId, secret] = accessToken.split(':');
    const flip = (s) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const forgeries = [
      'garbage',
      `${userId}:${grantId}:${'A'.repeat(secret.length)}`,
      `${userId}:${grantId}:${flip(secret)}`,
      `bob:${grantId}:${secret}`,
      `${userId}:${flip(grantId)}:${secret}`,
      `${accessToken}x`,
      accessToken.slice(0, -1),
      Buffer.from(accessToken).toString('base64'),
      `${userId}:${grantId}`,
    ];
    for (const token of forgeries) {
      const response = await callMcp(stack.mcpOrigin, token);
      assert.equal(response.status, 401, token);
      assert.match(response.headers.get('www-authenticate'), /^Bearer /);
    }
    const remembered = await eventCount(stack.worker, 'token.remembered', 0);
    assert.equal((await callMcp(stack.mcpOrigin, accessToken)).status, 200, 'control: the real token works');
    assert.equal(await eventCount(stack.worker, 'token.remembered', remembered + 1), remembered + 1, 'the real token was remembered all along');
  });

  test('a remembered MCP token is refused on another origin of the same worker (its audience is this one)', async () => {
    const { accessToken } = await stack.signIn('alice');
    const elsewhere = stack.mcpOrigin.replace('localhost', '127.0.0.1');
    const before = await callMcp(elsewhere, accessToken);
    assert.equal(before.status, 401, 'the library refuses a token outside its audience');
    assert.equal((await callMcp(stack.mcpOrigin, accessToken)).status, 200, 'on its own origin it works');
    const hits = await eventCount(stack.worker, 'token.remembered', 0);
    assert.equal((await callMcp(stack.mcpOrigin, accessToken)).status, 200);
    assert.equal(await eventCount(stack.worker, 'token.remembered', hits + 1), hits + 1, 'remembered on its own origin');
    const remembered = await callMcp(elsewhere, accessToken);
    assert.equal(remembered.status, 401, 'remembered on one origin, refused on another');
    assert.match(remembered.headers.get('www-authenticate'), /invalid_token/);
  });

  test("the identity provider's token is refused at /mcp, and the MCP token at the ToDos API (no passthrough)", async () => {
    const upstream = await stack.idpToken('alice');
    const mcp = await callMcp(stack.mcpOrigin, upstream.access_token);
    assert.equal(mcp.status, 401, 'an upstream token is not an MCP token');
    const { accessToken } = await stack.signIn('alice');
    const api = await fetch(`${stack.todosOrigin}/api/todos`, { headers: { authorization: `Bearer ${accessToken}` } });
    // 400 invalid_request: the MCP token's `:` is not RFC 6750 §2.1 b64token syntax; either way refused.
    assert.ok([400, 401].includes(api.status), `an MCP token is not a ToDos API token (${api.status})`);
    await api.body?.cancel();
    const control = await fetch(`${stack.todosOrigin}/api/todos`, { headers: { authorization: `Bearer ${upstream.access_token}` } });
    assert.equal(control.status, 200, 'control: the upstream token is good at the API');
    await control.body?.cancel();
  });

  // --- Consent and state ----------------------------------------------------------------------

  test("a consent post with another browser's cookie, a forged handle, or a used handle is refused", async () => {
    const client = await registerClient(stack.mcpOrigin);
    const victim = await openConsent(client.client_id);
    const attacker = await openConsent(client.client_id); // the attacker's own, valid, cookie
    const own = bindingCookie('consent', attacker.handle);
    assert.equal(attacker.jar.get(stack.mcpOrigin, own.name), own.value, 'the binding cookie is named and filled as bindingCookie() says');
    // The victim's handle in the attacker's browser, which has no cookie of its name …
    const crossed = await submitConsent(attacker.jar, stack.mcpOrigin, { handle: victim.handle, scopes: victim.scopes });
    await assertRenderedRefusal(crossed);
    // … and then one of its name holding the attacker's own transaction: the value is compared.
    plantCookie(attacker.jar, stack.mcpOrigin, { name: bindingCookie('consent', victim.handle).name, value: own.value });
    const renamed = await submitConsent(attacker.jar, stack.mcpOrigin, { handle: victim.handle, scopes: victim.scopes });
    await assertRenderedRefusal(renamed);
    // A forged handle with the cookie its forger can make for it: past the cookie check, there is
    // no transaction to find.
    const forgedHandle = `${victim.handle.slice(0, -2)}${victim.handle.endsWith('xx') ? 'yy' : 'xx'}`;
    plantCookie(attacker.jar, stack.mcpOrigin, bindingCookie('consent', forgedHandle));
    const forged = await submitConsent(attacker.jar, stack.mcpOrigin, { handle: forgedHandle, scopes: victim.scopes });
    await assertRenderedRefusal(forged);
    const noHandle = await victim.jar.fetch(`${stack.mcpOrigin}/authorize`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=approve&scope=openid' });
    await assertRenderedRefusal(noHandle);
    // The victim's own handle still works once, then never again, though posted with the binding
    // cookie the approval cleared.
    const before = victim.jar.clone();
    const approved = await submitConsent(victim.jar, stack.mcpOrigin, { handle: victim.handle, scopes: victim.scopes });
    assert.equal(approved.status, 302);
    const replayed = await submitConsent(before, stack.mcpOrigin, { handle: victim.handle, scopes: victim.scopes });
    await assertRenderedRefusal(replayed);
  });

  test("a forged upstream state, or one presented with another browser's binding cookie, is refused", async () => {
    const client = await registerClient(stack.mcpOrigin);
    const a = await openConsent(client.client_id);
    const approvedA = await submitConsent(a.jar, stack.mcpOrigin, { handle: a.handle, scopes: a.scopes });
    const callbackA = await signInUpstream(a.jar, new URL(approvedA.headers.get('location')), { login: 'alice', stopAtCallback: true, workerUrl: stack.mcpOrigin });
    const b = await openConsent(client.client_id);
    const approvedB = await submitConsent(b.jar, stack.mcpOrigin, { handle: b.handle, scopes: b.scopes });
    assert.equal(approvedB.status, 302); // b now holds a binding cookie for its own state
    const ownB = bindingCookie('upstream', new URL(approvedB.headers.get('location')).searchParams.get('state'));
    assert.equal(b.jar.get(stack.mcpOrigin, ownB.name), ownB.value, 'the binding cookie is named and filled as bindingCookie() says');

    // A forged state with the cookie its forger can make for it: past the cookie check, there is
    // no transaction to find.
    const forged = new URL(callbackA);
    const stateA = callbackA.searchParams.get('state');
    forged.searchParams.set('state', `${stateA.slice(0, -3)}${stateA.endsWith('abc') ? 'xyz' : 'abc'}`);
    plantCookie(a.jar, stack.mcpOrigin, bindingCookie('upstream', forged.searchParams.get('state')));
    await assertRenderedRefusal(await a.jar.fetch(forged));
    // A's state in B's browser, which has no cookie of its name, then one of its name holding B's
    // own transaction: the value is compared.
    await assertRenderedRefusal(await b.jar.fetch(callbackA));
    plantCookie(b.jar, stack.mcpOrigin, { name: bindingCookie('upstream', stateA).name, value: ownB.value });
    await assertRenderedRefusal(await b.jar.fetch(callbackA));
    const noState = new URL(callbackA);
    noState.searchParams.delete('state');
    await assertRenderedRefusal(await a.jar.fetch(noState));
    // A's own browser still completes: the refusals consumed nothing of A's.
    const done = await a.jar.fetch(callbackA);
    assert.equal(done.status, 302);
    assert.ok(new URL(done.headers.get('location')).searchParams.get('code'));
  });

  test('an ID token for another audience, client, nonce or issuer, expired, or not signed by the provider is refused at the callback, with no code', async () => {
    // What a provider that misbehaves, or an attacker holding its key or replaying another
    // client's sign-in, would answer: the fault injector replaces the ID token in the provider's
    // real token response. OIDC Core §3.1.3.7 (steps 2, 3, 5, 6, 9, 11).
    const [idpKey] = JSON.parse(await readFile(stack.idp.config.keysFile, 'utf8')).keys;
    const byProvider = rs256Signer(idpKey);
    const byAnother = rs256Signer(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }));
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      ['another audience beside this client, with azp naming this client', (p) => ({ ...p, aud: [p.aud, 'https://api.attacker.example'], azp: p.aud }), byProvider, /aud is not this client alone/],
      ["another client's ID token", (p) => ({ ...p, aud: 'another-client' }), byProvider, /aud is not this client alone/],
      ['azp naming another client', (p) => ({ ...p, azp: 'another-client' }), byProvider, /azp is another client/],
      ["another sign-in's nonce", (p) => ({ ...p, nonce: 'nonce-of-another-sign-in' }), byProvider, /nonce does not match/],
      ['another issuer', (p) => ({ ...p, iss: 'https://idp.attacker.example/' }), byProvider, /iss does not match/],
      ['expired', (p) => ({ ...p, iat: now - 600, exp: now - 300 }), byProvider, /expired/],
      ["another key under the provider's kid", (p) => p, byAnother, /signature does not verify/],
    ];
    const client = await registerClient(stack.mcpOrigin);
    const injector = stack.injectors.idp;
    const discovery = await (await fetch(`${stack.idp.issuer}.well-known/openid-configuration`)).json();
    const tokenPath = new URL(discovery.token_endpoint).pathname;
    try {
      for (const [what, mutate, signer, reason] of cases) {
        const seen = logEvents(stack.worker, 'id_token.refused').length;
        injector.rewrite(({ url, body }) => {
          // Only the token response (the discovery document names `id_token` too).
          if (!url.startsWith(tokenPath)) return undefined;
          const answer = JSON.parse(body);
          if (typeof answer.id_token !== 'string') return undefined;
          const { header, payload } = decodeJwt(answer.id_token);
          return JSON.stringify({ ...answer, id_token: forgeJwt(header, mutate(payload), signer) });
        });
        const { redirect } = await authorize(stack.mcpOrigin, { clientId: client.client_id, scope: ALL, login: 'alice' });
        assert.equal(redirect.searchParams.get('error'), 'access_denied', what);
        assert.equal(redirect.searchParams.get('code'), null, `${what}: no code`);
        const refused = (await loggedEvents(stack.worker, 'id_token.refused', undefined, { atLeast: seen + 1 })).slice(seen);
        assert.equal(refused.length, 1, what);
        assert.match(refused[0].reason, reason, what);
      }
    } finally {
      injector.rewrite(undefined);
    }
    // The provider's own ID token, passed as it is, still signs the user in.
    const { redirect } = await authorize(stack.mcpOrigin, { clientId: client.client_id, scope: ALL, login: 'alice' });
    assert.ok(redirect.searchParams.get('code'), 'the unaltered sign-in completes');
  });

  test('HTML and script in every client-supplied field are rendered inert, and every page refuses framing', async () => {
    const payload = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
    // A loopback redirect URI may carry any query; the consent page shows it in full.
    const redirectUri = 'http://127.0.0.1:8799/callback?x="><script>alert(1)</script>';
    const client = await registerClient(stack.mcpOrigin, {
      redirect_uris: [redirectUri],
      client_name: `Evil ${payload}`,
      client_uri: `https://evil.example/${encodeURIComponent(payload)}`,
      logo_uri: `https://evil.example/logo.png?${payload}`,
      policy_uri: `https://evil.example/p?${payload}`,
      tos_uri: `https://evil.example/tos"onmouseover="alert(4)`,
      contacts: [payload],
      software_id: payload,
      software_version: payload,
    });
    const url = authorizeUrl(stack.mcpOrigin, { clientId: client.client_id, redirectUri, scope: `openid ${payload}`, state: payload, challenge: createPkcePair().challenge });
    const response = await fetch(url, { redirect: 'manual' });
    const html = await response.text();
    assert.equal(response.status, 200);
    for (const raw of ['<script>alert', '<img src=x', '"><script', '"><img', 'javascript:alert', '"onmouseover="']) {
      assert.ok(!html.includes(raw), `no raw ${raw} in the consent page`);
    }
    // The fields the page shows are there, as text.
    assert.ok(html.includes('Allow Evil &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; to access'), 'the client name, escaped');
    assert.ok(html.includes('<dd>http://127.0.0.1:8799/callback?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</dd>'), 'the redirect URI, escaped');
    assert.match(response.headers.get('content-security-policy'), /default-src 'none'/);
    assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');

    // Error pages too: an unknown client id carrying markup.
    const unknown = await fetch(authorizeUrl(stack.mcpOrigin, { clientId: payload, scope: 'openid', challenge: createPkcePair().challenge }), { redirect: 'manual' });
    const errorHtml = await assertRenderedRefusal(unknown);
    assert.ok(!errorHtml.includes('<script>alert') && !errorHtml.includes('<img src=x'));
    assert.equal(unknown.headers.get('x-frame-options'), 'DENY');
    assert.match(unknown.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  });

  // --- Transport ------------------------------------------------------------------------------

  test('tool arguments of the wrong type are refused as invalid params or a tool error, never a 500', async () => {
    const { accessToken } = await stack.signIn('alice');
    // A todo of alice's own: an id that walks the API's path (`x/../<id>`) must not reach it.
    const target = (await callTool(stack.mcpOrigin, accessToken, 'add-todo', { title: 'traversal target' })).result.structuredContent.todo;
    assert.equal(target.completed, false);
    const cases = [
      ['add-todo', { title: 123 }],
      ['add-todo', { title: '' }],
      ['add-todo', { title: 'x'.repeat(5000) }],
      ['add-todo', { title: { $ne: null } }],
      ['add-todo', {}],
      ['add-todo', { title: 'ok', extra: true }],
      ['complete-todo', { id: { $gt: '' } }],
      ['complete-todo', { id: ['1'] }],
      ['complete-todo', { id: `x/../${target.id}` }],
      ['complete-todo', { id: '1', completed: 'yes' }],
      ['list-todos', { filter: '<script>' }],
    ];
    for (const [name, args] of cases) {
      const reply = await callTool(stack.mcpOrigin, accessToken, name, args);
      assert.equal(reply.status, 200, `${name} ${JSON.stringify(args)}`);
      const refused = reply.json.error?.code === -32602 || reply.result?.isError === true;
      assert.ok(refused, `${name} ${JSON.stringify(args)} refused: ${reply.text.slice(0, 200)}`);
    }
    const stringArgs = await fetch(`${stack.mcpOrigin}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(rpc(1, 'tools/call', { name: 'add-todo', arguments: 'title=x' })),
    });
    assert.equal((await stringArgs.json()).error.code, -32602);
    const todos = (await callTool(stack.mcpOrigin, accessToken, 'list-todos')).result.structuredContent.todos;
    assert.equal(todos.find((todo) => todo.id === target.id).completed, false, 'the traversal did not complete her todo');
  });

  test('the SSE message endpoint refuses a session id of its own invention, oversized and malformed bodies', async () => {
    const { accessToken } = await stack.signIn('alice');
    const post = (path, body) => fetch(`${stack.mcpOrigin}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body,
    });
    const stream = await fetch(`${stack.mcpOrigin}/sse`, { headers: { authorization: `Bearer ${accessToken}`, accept: 'text/event-stream' } });
    assert.equal(stream.status, 200);
    const reader = stream.body.getReader();
    let text = '';
    while (!/event: endpoint\ndata: ([^\n]+)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const endpoint = new URL(/event: endpoint\ndata: ([^\n]+)/.exec(text)[1], stack.mcpOrigin);
    const path = endpoint.pathname + endpoint.search;
    try {
      const invented = await post(path.replace(/sessionId=[^&]+/, `sessionId=${'0'.repeat(34)}`), JSON.stringify(rpc(1, 'ping')));
      assert.equal(invented.status, 404, 'unknown session');
      await invented.body?.cancel();
      const big = await post(path, JSON.stringify(rpc(2, 'tools/call', { name: 'add-todo', arguments: { title: 'x'.repeat(2_000_000) } })));
      assert.equal(big.status, 413);
      await big.body?.cancel();
      const malformed = await post(path, '{"jsonrpc":"2.0","id":3,');
      assert.equal(malformed.status, 400);
      const parseError = await malformed.json();
      assert.equal(parseError.jsonrpc, '2.0');
      assert.equal(parseError.error.code, -32700);
    } finally {
      await reader.cancel();
    }
  });

  // --- ToDos API through the tools ------------------------------------------------------------

  test("one user can neither complete nor read another user's todos through the tools", async () => {
    const alice = await stack.signIn('alice');
    const bob = await stack.signIn('bob');
    const added = await callTool(stack.mcpOrigin, alice.accessToken, 'add-todo', { title: 'alice only' });
    assert.equal(added.result.isError, false);
    const id = added.result.structuredContent.todo.id;
    const crossed = await callTool(stack.mcpOrigin, bob.accessToken, 'complete-todo', { id });
    assert.equal(crossed.result.isError, true, "bob cannot complete alice's todo");
    const bobs = await callTool(stack.mcpOrigin, bob.accessToken, 'list-todos');
    assert.ok(!JSON.stringify(bobs.result.structuredContent).includes('alice only'));
    const alices = await callTool(stack.mcpOrigin, alice.accessToken, 'list-todos');
    const mine = alices.result.structuredContent.todos.find((todo) => todo.id === id);
    assert.equal(mine.completed, false, "alice's todo is untouched");
  });

  // --- Concurrency: one code, one consent handle, one upstream state, one refresh token -------

  test('20 concurrent redemptions of one authorization code leave at most one live token set', async () => {
    const { client, code, verifier } = await codeFor('alice');
    const answers = await Promise.all(Array.from({ length: 20 }, () => redeem(client, code, verifier)));
    const statuses = tally(answers.map((a) => a.status));
    const issued = answers.filter((a) => a.status === 200).map((a) => a.body);
    const live = (await Promise.all(issued.map((t) => callMcp(stack.mcpOrigin, t.access_token)))).filter((r) => r.status === 200).length;
    const liveRefresh = [];
    for (const t of issued) {
      const r = await tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: client.client_id });
      if (r.status === 200) liveRefresh.push(r.body);
    }
    console.log(`race: one code x20 → answers ${JSON.stringify(statuses)}, token sets issued ${issued.length}, access tokens live ${live}, refresh tokens that still refresh ${liveRefresh.length}`);
    assert.ok(!answers.some((a) => a.status >= 500), 'no 5xx');
    assert.ok(issued.length >= 1 || answers.every((a) => a.body.error === 'invalid_grant'));
    assert.ok(live <= 1, `${live} live access tokens from one code`);
    assert.ok(liveRefresh.length <= 1, `${liveRefresh.length} live refresh tokens from one code`);
  });

  test('20 concurrent approvals of one consent handle start at most one upstream sign-in', async () => {
    const client = await registerClient(stack.mcpOrigin);
    const consent = await openConsent(client.client_id);
    const answers = await Promise.all(Array.from({ length: 20 }, () => submitConsent(consent.jar, stack.mcpOrigin, { handle: consent.handle, scopes: consent.scopes })));
    const statuses = tally(answers.map((a) => a.status));
    console.log(`race: one consent handle x20 → answers ${JSON.stringify(statuses)}`);
    assert.ok(!answers.some((a) => a.status >= 500), 'no 5xx');
    assert.equal(answers.filter((a) => a.status === 302).length, 1, 'exactly one approval goes upstream');
  });

  test('20 concurrent callbacks with one upstream state complete one authorization and refuse the other 19', async () => {
    const client = await registerClient(stack.mcpOrigin);
    const pkce = createPkcePair();
    const consent = await openConsent(client.client_id, { pkce });
    const approved = await submitConsent(consent.jar, stack.mcpOrigin, { handle: consent.handle, scopes: consent.scopes });
    const callback = await signInUpstream(consent.jar, new URL(approved.headers.get('location')), { login: 'alice', stopAtCallback: true, workerUrl: stack.mcpOrigin });
    const binding = bindingCookie('upstream', callback.searchParams.get('state'));
    assert.equal(consent.jar.get(callback, binding.name), binding.value, 'the browser holds the state\'s binding cookie');
    // Each callback carries the binding cookie, as the browser held it before any answer cleared it:
    // only the state's single use can refuse the other 19.
    const answers = await Promise.all(Array.from({ length: 20 }, () => consent.jar.clone().fetch(callback)));
    const statuses = tally(answers.map((a) => a.status));
    const codes = answers.filter((a) => a.status === 302).map((a) => new URL(a.headers.get('location')).searchParams.get('code')).filter(Boolean);
    const sets = [];
    for (const code of codes) {
      const r = await redeem(client, code, pkce.verifier);
      if (r.status === 200) sets.push(r.body);
    }
    const live = (await Promise.all(sets.map((t) => callMcp(stack.mcpOrigin, t.access_token)))).filter((r) => r.status === 200).length;
    console.log(`race: one upstream state x20 → answers ${JSON.stringify(statuses)}, MCP codes ${codes.length}, token sets ${sets.length}, live ${live}`);
    assert.ok(!answers.some((a) => a.status >= 500), 'no 5xx');
    assert.equal(codes.length, 1, `${codes.length} authorization codes from one state`);
    assert.equal(answers.filter((a) => a.status === 400 && a.headers.get('location') === null).length, 19, 'the other 19 are refused, not redirected');
    assert.equal(live, 1);
  });

  test('20 concurrent refreshes with one refresh token never give a 500 and never end the grant', async () => {
    const { client, code, verifier } = await codeFor('alice');
    const issued = (await redeem(client, code, verifier)).body;
    const grant = issued.refresh_token.split(':')[1];
    const upstreamRefreshes = () => logEvents(stack.worker, 'upstream.refreshed').filter((e) => e.grant === grant).length;
    assert.equal(upstreamRefreshes(), 0, 'no upstream refresh before the burst');
    const answers = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: issued.refresh_token, client_id: client.client_id })));
    const statuses = tally(answers.map((a) => `${a.status}${a.body.error ? ` ${a.body.error}` : ''}`));
    const fresh = answers.filter((a) => a.status === 200).map((a) => a.body);
    const liveAccess = (await Promise.all(fresh.map((t) => callMcp(stack.mcpOrigin, t.access_token)))).filter((r) => r.status === 200).length;
    // The upstream token has under REFRESH_MARGIN (300 s) left (the provider issues 61 s ones), so
    // every refresh grant that answers 200 refreshed it upstream first, once (one after another:
    // the per-grant lock). Waits for wrangler to pass the log lines on, and a moment more for any
    // line too many.
    await loggedEvents(stack.worker, 'upstream.refreshed', (e) => e.grant === grant, { atLeast: fresh.length, timeoutMs: 5000 });
    await sleep(300);
    const refreshedUpstream = upstreamRefreshes();
    console.log(`race: one refresh token x20 → answers ${JSON.stringify(statuses)}, access tokens live ${liveAccess}, upstream refreshes ${refreshedUpstream}`);
    assert.ok(!answers.some((a) => a.status >= 500 && a.status !== 503), 'no 500');
    assert.ok(fresh.length >= 1, 'the grant survives a burst of refreshes');
    assert.equal(refreshedUpstream, fresh.length, 'each refresh answered 200 refreshed upstream once');
    // The holder carries on. The answers were issued one after another (the per-grant lock), in an
    // order the client cannot see, and each rotation retires older refresh tokens: the grant is
    // alive if a token set it got still refreshes. Refusing a retired token ends nothing.
    let next;
    for (const tokens of [...fresh].reverse()) {
      next = await tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
      if (next.status === 200) break;
    }
    assert.equal(next.status, 200, `the grant is still alive after the burst (${JSON.stringify(next.body)})`);
  });

  // --- Last: expiry ---------------------------------------------------------------------------

  test('an expired MCP access token is 401, and its refresh token still renews the grant', async () => {
    assert.ok(early.expiresIn <= IDP_TTL, `the MCP token lives ${early.expiresIn}s, no longer than the upstream one`);
    // Used 4 s before it expires, so that this isolate remembers it (src/token_memo.rs) across
    // its expiry: the memory must end with the token, not 30 s later.
    const lastUse = earlyAt + (early.expiresIn - 4) * 1000 - Date.now();
    assert.ok(lastUse > 0, 'the battery left time to use the token before it expires');
    await sleep(lastUse);
    assert.equal((await callMcp(stack.mcpOrigin, early.accessToken)).status, 200, 'still valid 4 s before');
    const hits = await eventCount(stack.worker, 'token.remembered', 0);
    assert.equal((await callMcp(stack.mcpOrigin, early.accessToken)).status, 200, 'and remembered');
    assert.equal(await eventCount(stack.worker, 'token.remembered', hits + 1), hits + 1, 'the isolate remembers it');
    const left = earlyAt + (early.expiresIn + 2) * 1000 - Date.now();
    if (left > 0) await sleep(left);
    const expired = await callMcp(stack.mcpOrigin, early.accessToken);
    assert.equal(expired.status, 401);
    assert.match(expired.headers.get('www-authenticate'), /invalid_token/);
    const renewed = await tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: early.refreshToken, client_id: early.clientId });
    assert.equal(renewed.status, 200);
    assert.equal((await callMcp(stack.mcpOrigin, renewed.body.access_token)).status, 200);
  });
});
