// How the tools behave when the ToDos API misbehaves, end to end: the MCP worker (real OAuth
// sign-in) calls a fake ToDos API that this test scripts to be slow, to fail, or to reject the
// upstream token. A failing API is a tool result with isError; a rejected upstream token is an
// HTTP 401 invalid_token, so the client refreshes; never a JSON-RPC internal error or a 500.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

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
