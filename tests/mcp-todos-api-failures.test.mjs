// How the tools behave when the ToDos API misbehaves, end to end: the MCP worker (real OAuth
// sign-in) calls a fake ToDos API that this test scripts to be slow, to fail, or to reject the
// upstream token. A failing API is a tool result with isError; a rejected upstream token is an
// HTTP 401 invalid_token, so the client refreshes; never a JSON-RPC internal error or a 500.
// Then the real ToDos API, behind the fault injector, rejecting one upstream token: the refresh
// the client makes on that 401 renews the token at the identity provider, however fresh it is,
// and a scope the provider narrowed at that renewal stays narrowed on later refreshes.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { callTool, loggedEvents, startAttackStack, tokenRequest } from './support/attack-stack.mjs';
import { postMcp, startMcpStack } from './support/mcp-stack.mjs';

let stack;
let fake;
let alice;
let mode = 'ok';
const seen = [];

const call = (name, args = {}) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
const V = { 'mcp-protocol-version': '2025-11-25' };

describe('tools when the ToDos API fails', { timeout: 180_000 }, () => {
  before(async () => {
    fake = createServer((request, response) => {
      seen.push({ path: request.url, authorization: request.headers.authorization });
      if (mode === 'slow') return; // never answers: the worker's deadline must fire
      if (mode === '503') {
        response.writeHead(503).end('unavailable');
      } else if (mode === '401') {
        response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      } else if (mode === 'garbage') {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"todos":[]}');
      }
    });
    await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
    stack = await startMcpStack({ todosApiUrl: `http://127.0.0.1:${fake.address().port}`, todosApiTimeoutMs: 1000 });
    alice = await stack.signIn('alice');
  });
  after(async () => {
    await stack?.stop();
    fake?.closeAllConnections();
    fake?.close();
  });

  test('the ToDos API gets the upstream token, never the MCP token', async () => {
    mode = 'ok';
    const reply = await postMcp(stack.mcpOrigin, alice.accessToken, call('list-todos'), V);
    assert.equal(reply.status, 200);
    assert.equal(reply.json.result.isError, false);
    const last = seen.at(-1);
    assert.equal(last.path, '/api/todos');
    assert.match(last.authorization, /^Bearer \S+$/);
    assert.notEqual(last.authorization, `Bearer ${alice.accessToken}`, 'no token passthrough');
  });

  for (const [failure, pattern] of [['slow', /did not answer within 1000 ms/], ['503', /HTTP 503/], ['garbage', /could not be read/]]) {
    test(`a ${failure} ToDos API gives isError with a clear message`, async () => {
      mode = failure;
      const reply = await postMcp(stack.mcpOrigin, alice.accessToken, call('list-todos'), V);
      assert.equal(reply.status, 200);
      assert.equal(reply.json.result.isError, true);
      assert.match(reply.json.result.content[0].text, pattern);
    });
  }

  test('a rejected upstream token is HTTP 401 invalid_token, so the client refreshes', async () => {
    mode = '401';
    const reply = await postMcp(stack.mcpOrigin, alice.accessToken, call('add-todo', { title: 'x' }), V);
    assert.equal(reply.status, 401);
    assert.match(reply.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
    assert.match(reply.headers.get('www-authenticate'), /resource_metadata="/);
  });
});

describe('the refresh after the ToDos API rejected an upstream token', { timeout: 240_000 }, () => {
  let stack;
  /** The bearer tokens the real ToDos API received, in order. */
  const apiTokens = [];
  /** The refresh-token grants the MCP worker made at the identity provider. */
  const idpRefreshes = [];

  before(async () => {
    // The provider's default 1 h access tokens: far outside the 300 s refresh margin, so a
    // refresh renews upstream only because of a rejection.
    stack = await startAttackStack({ injectIdp: true, injectTodos: true });
    stack.injectors.todos.tap(({ headers }) => apiTokens.push(headers.authorization));
    stack.injectors.idp.tap(({ requestBody }) => {
      if (new URLSearchParams(requestBody).get('grant_type') === 'refresh_token') idpRefreshes.push(requestBody);
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const refresh = (user, refreshToken) =>
    tokenRequest(stack.mcpOrigin, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: user.clientId });

  test('a refresh without a rejection keeps the fresh upstream token and makes no identity provider call', async () => {
    const alice = await stack.signIn('alice');
    const first = await callTool(stack.mcpOrigin, alice.accessToken, 'list-todos');
    assert.equal(first.status, 200);
    assert.equal(first.result.isError, false);
    const upstreamToken = apiTokens.at(-1);
    const before = idpRefreshes.length;
    const refreshed = await refresh(alice, alice.refreshToken);
    assert.equal(refreshed.status, 200);
    assert.equal(idpRefreshes.length, before, 'no refresh grant at the identity provider');
    const next = await callTool(stack.mcpOrigin, refreshed.body.access_token, 'list-todos');
    assert.equal(next.status, 200);
    assert.equal(apiTokens.at(-1), upstreamToken, 'the same upstream token');
  });

  test('a rejected upstream token gets the 401 challenge, and the refresh renews it at the identity provider', async () => {
    const bob = await stack.signIn('bob');
    assert.equal((await callTool(stack.mcpOrigin, bob.accessToken, 'list-todos')).status, 200);
    const rejected = apiTokens.at(-1);
    stack.injectors.todos.reject(rejected.slice('Bearer '.length));

    const refused = await callTool(stack.mcpOrigin, bob.accessToken, 'add-todo', { title: 'after the rejection' }, { version: '2025-11-25' });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
    assert.match(refused.headers.get('www-authenticate'), /resource_metadata="/);

    const before = idpRefreshes.length;
    const refreshed = await refresh(bob, bob.refreshToken);
    assert.equal(refreshed.status, 200);
    assert.equal(idpRefreshes.length, before + 1, 'one refresh grant at the identity provider');
    const next = await callTool(stack.mcpOrigin, refreshed.body.access_token, 'add-todo', { title: 'after the refresh' });
    assert.equal(next.status, 200);
    assert.equal(next.result.isError, false);
    assert.notEqual(apiTokens.at(-1), rejected, 'a different upstream token reached the API');

    // The MCP token issued before the refresh still carries the rejected upstream token: it is
    // still refused, but that names a token the grant no longer holds, so the next refresh keeps
    // the new one without calling the provider.
    assert.equal((await callTool(stack.mcpOrigin, bob.accessToken, 'list-todos')).status, 401);
    const again = await refresh(bob, refreshed.body.refresh_token);
    assert.equal(again.status, 200);
    assert.equal(idpRefreshes.length, before + 1, 'no further refresh grant at the identity provider');
    assert.equal((await callTool(stack.mcpOrigin, again.body.access_token, 'list-todos')).status, 200);

    assert.ok((await loggedEvents(stack.worker, 'upstream.rejection_recorded')).length, 'the rejection was recorded');
    assert.ok(!stack.worker.logText().includes(rejected.slice('Bearer '.length)), 'the rejected token is not in the log');
  });

  test('a permission the identity provider withdrew stays out of the MCP token on a refresh that makes no identity provider call', async () => {
    const ivan = await stack.signIn('ivan');
    assert.ok(ivan.scope.split(' ').includes('read:billing'));
    const billing = await callTool(stack.mcpOrigin, ivan.accessToken, 'list-billing');
    assert.equal(billing.status, 200);
    assert.equal(billing.result.isError, false);

    // The permission is removed at the provider; the rejection makes the next refresh renew the
    // (fresh) upstream token there, which brings the narrower scope (RFC 6749 §6).
    stack.idp.setPermissions('ivan', ['read:todos', 'write:todos']);
    stack.injectors.todos.reject(apiTokens.at(-1).slice('Bearer '.length));
    assert.equal((await callTool(stack.mcpOrigin, ivan.accessToken, 'list-todos')).status, 401);
    const before = idpRefreshes.length;
    const narrowed = await refresh(ivan, ivan.refreshToken);
    assert.equal(narrowed.status, 200);
    assert.equal(idpRefreshes.length, before + 1, 'one refresh grant at the identity provider');
    assert.ok(!narrowed.body.scope.split(' ').includes('read:billing'), narrowed.body.scope);

    // The upstream token is now fresh for an hour: the next refresh keeps it without asking the
    // provider, and the grant (whose scope never shrinks) still yields the narrowed scope.
    const again = await refresh(ivan, narrowed.body.refresh_token);
    assert.equal(again.status, 200);
    assert.equal(idpRefreshes.length, before + 1, 'no further refresh grant at the identity provider');
    assert.ok(!again.body.scope.split(' ').includes('read:billing'), again.body.scope);
    assert.ok(again.body.scope.split(' ').includes('read:todos'), again.body.scope);
    // Withheld by the provider, so a tool error that says so, not a step-up challenge.
    const refused = await callTool(stack.mcpOrigin, again.body.access_token, 'list-billing', {}, { version: '2025-11-25' });
    assert.equal(refused.status, 200);
    assert.equal(refused.result.isError, true);
    assert.match(refused.result.content[0].text, /does not hold at the identity provider/);
    const todos = await callTool(stack.mcpOrigin, again.body.access_token, 'list-todos');
    assert.equal(todos.status, 200);
    assert.equal(todos.result.isError, false);
  });
});
