// The MCP endpoint over Streamable HTTP (/mcp), end to end: real OAuth sign-in through the MCP
// worker and the local identity provider, the real ToDos API, and the official MCP TypeScript SDK
// client, plus raw HTTP for what the SDK never sends (malformed JSON-RPC, other versions, bad
// origins). Only what goes over the wire is asserted.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { ALLOWED_ORIGIN, MAX_BODY_BYTES, eventCount, loggedEvents, postMcp, startMcpStack } from './support/mcp-stack.mjs';
import { postChunked } from './support/services.mjs';

const VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'];
const TOOL_NAMES = ['whoami', 'list-todos', 'list-billing', 'add-todo', 'complete-todo'];
const MODERN_META = (version = '2026-07-28') => ({
  'io.modelcontextprotocol/protocolVersion': version,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '1' },
});

let stack;
let alice;

async function sdkClient(token) {
  const client = new Client({ name: 'mcp-streamable-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${stack.mcpOrigin}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

function structured(result) {
  assert.equal(result.isError, false, `tool failed: ${JSON.stringify(result.content)}`);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent, 'text content is the JSON of structuredContent');
  return result.structuredContent;
}

const rpc = (id, method, params) => ({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
/** The most messages one batch may hold (MAX_BATCH_MESSAGES, src/mcp/jsonrpc.rs). */
const MAX_BATCH_MESSAGES = 32;

describe('MCP over Streamable HTTP', { timeout: 240_000 }, () => {
  before(async () => {
    // Through the TODOS_API Service Binding, as deployed (the SSE tests use TODOS_API_URL).
    stack = await startMcpStack({ viaServiceBinding: true });
    alice = await stack.signIn('alice');
  });
  after(async () => {
    await stack?.stop();
  });

  test('the SDK client connects, lists the tools in a stable order and whoami names the user, never a token', async () => {
    const client = await sdkClient(alice.accessToken);
    try {
      assert.equal(client.getServerVersion().name, 'mcp-worker');
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name), TOOL_NAMES);
      for (const tool of tools) {
        assert.equal(tool.inputSchema.type, 'object', tool.name);
        assert.equal(tool.outputSchema.type, 'object', tool.name);
        assert.ok(tool.description.length > 20, tool.name);
        assert.equal(tool._meta.authorized, true, `${tool.name}: alice granted every scope`);
      }
      const me = structured(await client.callTool({ name: 'whoami', arguments: {} }));
      assert.equal(me.user.sub, 'alice');
      assert.equal(me.user.email, 'alice@example.com');
      assert.ok(me.scopes.includes('read:billing'));
      assert.ok(!JSON.stringify(me).includes(alice.accessToken));
    } finally {
      await client.close();
    }
  });

  test('add-todo, complete-todo and list-todos act on what the ToDos API holds for that user', async () => {
    const client = await sdkClient(alice.accessToken);
    try {
      const title = `buy milk ${Date.now()}`;
      const { todo } = structured(await client.callTool({ name: 'add-todo', arguments: { title } }));
      assert.equal(todo.title, title);
      assert.equal(todo.completed, false);
      let held = await stack.apiTodos('alice');
      assert.deepEqual(held.find((t) => t.id === todo.id)?.title, title, 'the ToDos API holds the new todo');

      const done = structured(await client.callTool({ name: 'complete-todo', arguments: { id: todo.id } }));
      assert.equal(done.todo.completed, true);
      held = await stack.apiTodos('alice');
      assert.equal(held.find((t) => t.id === todo.id)?.completed, true, 'the ToDos API holds it completed');

      const { todos } = structured(await client.callTool({ name: 'list-todos', arguments: {} }));
      assert.deepEqual(todos.map((t) => [t.id, t.title, t.completed]), held.map((t) => [t.id, t.title, t.completed]));

      const billing = structured(await client.callTool({ name: 'list-billing', arguments: {} }));
      assert.ok(billing.billing && typeof billing.billing === 'object');

      const missing = await client.callTool({ name: 'complete-todo', arguments: { id: 'no-such-todo-000' } });
      assert.equal(missing.isError, true);
      const invalid = await client.callTool({ name: 'add-todo', arguments: { title: '' } });
      assert.equal(invalid.isError, true, 'a bad argument is a tool error the model can correct');
    } finally {
      await client.close();
    }
  });

  test('another user sees only their own todos', async () => {
    const bob = await stack.signIn('bob');
    const client = await sdkClient(bob.accessToken);
    try {
      const { todos } = structured(await client.callTool({ name: 'list-todos', arguments: {} }));
      assert.deepEqual(todos, await stack.apiTodos('bob'));
      assert.ok(!todos.some((t) => t.title.startsWith('buy milk')));
    } finally {
      await client.close();
    }
  });

  test('initialize negotiates every supported version and offers the latest for an unknown one', async () => {
    for (const version of [...VERSIONS, '2099-01-01']) {
      const reply = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(1, 'initialize', {
        protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' },
      }));
      assert.equal(reply.status, 200, version);
      assert.equal(reply.headers.get('content-type'), 'application/json');
      assert.equal(reply.json.result.protocolVersion, version === '2099-01-01' ? '2026-07-28' : version);
      assert.deepEqual(reply.json.result.capabilities, { tools: { listChanged: false } });
      assert.equal(reply.headers.get('mcp-session-id'), null, 'stateless: no session');
      const initialized = await postMcp(stack.mcpOrigin, alice.accessToken, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-protocol-version': version });
      assert.equal(initialized.status, version === '2099-01-01' ? 400 : 202, version);
    }
  });

  test('tools/list follows the version: annotations from 2025-03-26, output schemas from 2025-06-18, cache hints in 2026-07-28', async () => {
    for (const version of VERSIONS.slice(0, 4)) {
      const { json } = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(2, 'tools/list'), { 'mcp-protocol-version': version });
      const [whoami] = json.result.tools;
      assert.equal('annotations' in whoami, version >= '2025-03-26', version);
      assert.equal('outputSchema' in whoami, version >= '2025-06-18', version);
    }
    const modern = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(3, 'tools/list', { _meta: MODERN_META() }), {
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list',
    });
    assert.equal(modern.status, 200);
    assert.equal(modern.json.result.resultType, 'complete');
    assert.equal(modern.json.result.cacheScope, 'private');
    assert.ok(modern.json.result.ttlMs > 0);
    assert.equal(modern.json.result._meta['io.modelcontextprotocol/serverInfo'].name, 'mcp-worker');
  });

  test('2026-07-28 requests: server/discover, tools/call with mirrored headers, header mismatches refused', async () => {
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' };
    const discover = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(1, 'server/discover', { _meta: MODERN_META() }), headers);
    assert.equal(discover.status, 200);
    assert.deepEqual(discover.json.result.supportedVersions, [...VERSIONS].reverse());

    const call = rpc(2, 'tools/call', { name: 'whoami', arguments: {}, _meta: MODERN_META() });
    const ok = await postMcp(stack.mcpOrigin, alice.accessToken, call, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whoami' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.result.resultType, 'complete');
    assert.equal(ok.json.result.structuredContent.user.sub, 'alice');

    for (const bad of [
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' },
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list', 'mcp-name': 'whoami' },
      { 'mcp-protocol-version': '2025-11-25', 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
    ]) {
      const refused = await postMcp(stack.mcpOrigin, alice.accessToken, call, bad);
      assert.equal(refused.status, 400, JSON.stringify(bad));
      assert.equal(refused.json.error.code, -32020, JSON.stringify(bad));
    }
    const future = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(3, 'tools/list', { _meta: MODERN_META('2099-01-01') }), {
      'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list',
    });
    assert.equal(future.status, 400);
    assert.equal(future.json.error.code, -32022);
    assert.deepEqual(future.json.error.data.supported, [...VERSIONS].reverse());

    const unknown = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(4, 'prompts/list', { _meta: MODERN_META() }), {
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'prompts/list',
    });
    assert.equal(unknown.status, 404, '2026-07-28: an unknown method is a 404');
    assert.equal(unknown.json.error.code, -32601);
  });

  test('a user who did not grant read:billing gets the step-up challenge on list-billing (2025-11-25) or a tool error naming the scope (older)', async () => {
    const carol = await stack.signIn('carol', ['openid', 'email', 'offline_access', 'read:todos']);
    assert.ok(!carol.scope.split(' ').includes('read:billing'));
    const call = rpc(1, 'tools/call', { name: 'list-billing', arguments: {} });

    const challenged = await postMcp(stack.mcpOrigin, carol.accessToken, call, { 'mcp-protocol-version': '2025-11-25' });
    assert.equal(challenged.status, 403);
    const header = challenged.headers.get('www-authenticate');
    assert.match(header, /^Bearer error="insufficient_scope"/);
    assert.match(header, /scope="[^"]*\bread:billing\b[^"]*"/);
    assert.match(header, new RegExp(`resource_metadata="${stack.mcpOrigin}/.well-known/oauth-protected-resource"`));

    const older = await postMcp(stack.mcpOrigin, carol.accessToken, call, { 'mcp-protocol-version': '2025-06-18' });
    assert.equal(older.status, 200);
    assert.equal(older.json.result.isError, true);
    assert.match(older.json.result.content[0].text, /read:billing/);

    const list = await postMcp(stack.mcpOrigin, carol.accessToken, rpc(2, 'tools/list'), { 'mcp-protocol-version': '2025-11-25' });
    const billing = list.json.result.tools.find((tool) => tool.name === 'list-billing');
    assert.equal(billing._meta.authorized, false, 'tools/list says the grant cannot call it');
    assert.deepEqual(billing._meta.requiredScopes, ['read:billing']);

    // The SDK client (2025-11-25) sees the 403 too; without an auth provider it cannot step up.
    const client = await sdkClient(carol.accessToken);
    try {
      await assert.rejects(client.callTool({ name: 'list-billing', arguments: {} }), (error) => error.code === 403);
      const todos = await client.callTool({ name: 'list-todos', arguments: {} });
      assert.equal(todos.isError, false, 'the granted scope still works');
    } finally {
      await client.close();
    }
    const decisions = await loggedEvents(stack.worker, 'mcp.scope_decision', (e) => e.scope === 'read:billing' && e.granted === false, { atLeast: 2 });
    assert.ok(decisions.length >= 2, 'scope decisions are logged');
  });

  test('each malformed JSON-RPC input gets its error code', async () => {
    const cases = [
      ['{"jsonrpc":"2.0","id":1,"method":', 400, -32700],
      ['{"jsonrpc":"1.0","id":1,"method":"ping"}', 400, -32600],
      ['{"jsonrpc":"2.0","id":null,"method":"ping"}', 400, -32600],
      ['{"jsonrpc":"2.0","id":1,"method":7}', 400, -32600],
      ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}', 400, -32600],
      ['{"jsonrpc":"2.0","id":-0,"method":"ping"}', 400, -32600],
      ['{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}', 400, -32600],
      ['[]', 400, -32600],
      ['{"jsonrpc":"2.0","id":1,"method":"no/such/method"}', 200, -32601],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"no-such-tool"}}', 200, -32602],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":[]}}', 200, -32602],
      ['{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}', 200, -32602],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}', 200, -32602],
    ];
    for (const [body, status, code] of cases) {
      const reply = await postMcp(stack.mcpOrigin, alice.accessToken, body, { 'mcp-protocol-version': '2025-06-18' });
      assert.equal(reply.status, status, body);
      assert.equal(reply.json.error.code, code, body);
      assert.equal(reply.json.jsonrpc, '2.0');
      if (/"id":(1\.5|-0|\d{20})/.test(body)) assert.equal(reply.json.id, null, `${body}: an id that is not an integer is not echoed`);
    }
    const unsupported = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(1, 'ping'), { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(unsupported.status, 400, 'an unsupported MCP-Protocol-Version is a 400');
  });

  test('batches are answered only for 2025-03-26 (also when the header is absent)', async () => {
    const batch = [rpc(1, 'ping'), { jsonrpc: '2.0', method: 'notifications/initialized' }, rpc(2, 'no/such'), 5];
    for (const headers of [{}, { 'mcp-protocol-version': '2025-03-26' }]) {
      const reply = await postMcp(stack.mcpOrigin, alice.accessToken, batch, headers);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json.map((r) => r.id), [1, 2, null]);
      assert.deepEqual(reply.json[0].result, {});
      assert.equal(reply.json[1].error.code, -32601);
      assert.equal(reply.json[2].error.code, -32600);
    }
    const notifications = await postMcp(stack.mcpOrigin, alice.accessToken, [{ jsonrpc: '2.0', method: 'notifications/initialized' }]);
    assert.equal(notifications.status, 202);
    for (const version of ['2024-11-05', '2025-06-18', '2025-11-25']) {
      const refused = await postMcp(stack.mcpOrigin, alice.accessToken, batch, { 'mcp-protocol-version': version });
      assert.equal(refused.status, 400, version);
      assert.equal(refused.json.error.code, -32600, version);
    }
  });

  test('a batch over the cap is refused whole with one -32600 naming the limit, and the worker serves the next request', async () => {
    const pings = (n) => Array.from({ length: n }, (_, i) => rpc(i + 1, 'ping'));
    const full = await postMcp(stack.mcpOrigin, alice.accessToken, pings(MAX_BATCH_MESSAGES));
    assert.equal(full.status, 200);
    assert.equal(full.json.length, MAX_BATCH_MESSAGES, 'a batch at the cap is answered item by item');
    // As many items as the body limit holds: `[1,1,…]`, one error reply each without the cap.
    const tiny = `[${Array(MAX_BODY_BYTES / 2 - 1).fill('1').join(',')}]`;
    assert.ok(tiny.length <= MAX_BODY_BYTES);
    const cap = new RegExp(`at most ${MAX_BATCH_MESSAGES} messages`);
    for (const [body, headers, message] of [
      [pings(MAX_BATCH_MESSAGES + 1), {}, cap],
      [tiny, {}, cap],
      [tiny, { 'mcp-protocol-version': '2025-03-26' }, cap],
      // A version without batches refuses it as a batch, before counting.
      [tiny, { 'mcp-protocol-version': '2025-06-18' }, /not part of MCP 2025-06-18/],
    ]) {
      const refused = await postMcp(stack.mcpOrigin, alice.accessToken, body, headers);
      assert.equal(refused.status, 400, JSON.stringify(headers));
      assert.ok(!Array.isArray(refused.json), 'one error for the whole batch');
      assert.equal(refused.json.id, null);
      assert.equal(refused.json.error.code, -32600);
      assert.match(refused.json.error.message, message);
    }
    const next = await postMcp(stack.mcpOrigin, alice.accessToken, rpc(7, 'ping'));
    assert.equal(next.status, 200);
    assert.deepEqual(next.json, { jsonrpc: '2.0', id: 7, result: {} });
  });

  test('a chunked body without Content-Length is refused with 413 once past the limit, and served under it', async () => {
    const headers = { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    // 1 KiB chunks, twice the limit in all: a JSON-RPC request whose string never ends.
    const chunks = ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add-todo","arguments":{"title":"'];
    for (let sent = 0; sent < 2 * MAX_BODY_BYTES; sent += 1024) chunks.push('x'.repeat(1024));
    // The body is never ended: the answer can only come from a worker that counts while it reads.
    const refused = await postChunked(`${stack.mcpOrigin}/mcp`, headers, chunks, { end: false });
    assert.equal(refused.status, 413);
    assert.equal(refused.json.jsonrpc, '2.0');
    assert.equal(refused.json.id, null);
    assert.equal(refused.json.error.code, -32600);
    assert.match(refused.json.error.message, new RegExp(`${MAX_BODY_BYTES} bytes`));

    const ping = JSON.stringify(rpc(3, 'ping'));
    const served = await postChunked(`${stack.mcpOrigin}/mcp`, headers, [ping.slice(0, 10), ping.slice(10)]);
    assert.equal(served.status, 200);
    assert.deepEqual(served.json, { jsonrpc: '2.0', id: 3, result: {} });
  });

  test('POST /mcp needs a JSON Content-Type (415) and an Accept that admits JSON or SSE (406)', async () => {
    const ping = rpc(1, 'ping');
    for (const contentType of ['text/plain', 'application/jsonx', 'application/json; charset=latin1']) {
      const refused = await postMcp(stack.mcpOrigin, alice.accessToken, ping, { 'content-type': contentType });
      assert.equal(refused.status, 415, contentType);
      assert.equal(refused.json.error.code, -32600, contentType);
      assert.equal(refused.json.id, null);
    }
    const missing = await fetch(`${stack.mcpOrigin}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.accessToken}`, accept: 'application/json' },
      body: new Blob([JSON.stringify(ping)]),
    });
    assert.equal(missing.status, 415, 'no Content-Type at all');
    assert.equal((await missing.json()).error.code, -32600);
    for (const accept of ['text/html', 'application/xml, image/*', '*/*;q=0', 'application/json;q=0, text/event-stream;q=0']) {
      const refused = await postMcp(stack.mcpOrigin, alice.accessToken, ping, { accept });
      assert.equal(refused.status, 406, accept);
      assert.equal(refused.json.error.code, -32600, accept);
    }
    for (const [accept, type] of [['*/*', /application\/json/], ['application/*', /application\/json/], ['text/*', /text\/event-stream/], ['Application/JSON; charset=utf-8', /application\/json/]]) {
      const served = await postMcp(stack.mcpOrigin, alice.accessToken, ping, { accept, 'content-type': 'Application/JSON; charset=UTF-8' });
      assert.equal(served.status, 200, accept);
      assert.match(served.headers.get('content-type'), type, accept);
    }
    const noAccept = await fetch(`${stack.mcpOrigin}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(ping),
    });
    // fetch sends `Accept: */*` unless told otherwise; an absent Accept is covered by the unit tests.
    assert.equal(noAccept.status, 200);
    await noAccept.body?.cancel();
  });

  test('a forbidden Origin gets 403; an allowed one, the own origin and none are served', async () => {
    const ping = rpc(1, 'ping');
    const forbidden = await postMcp(stack.mcpOrigin, alice.accessToken, ping, { origin: 'https://evil.example' });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.id, null);
    for (const origin of [ALLOWED_ORIGIN, stack.mcpOrigin]) {
      const served = await postMcp(stack.mcpOrigin, alice.accessToken, ping, { origin });
      assert.equal(served.status, 200, origin);
      assert.match(served.headers.get('access-control-expose-headers'), /WWW-Authenticate/i);
      assert.match(served.headers.get('access-control-expose-headers'), /Mcp-Session-Id/i);
    }
    assert.equal((await postMcp(stack.mcpOrigin, alice.accessToken, ping)).status, 200);
    const sse = await fetch(`${stack.mcpOrigin}/sse`, { headers: { authorization: `Bearer ${alice.accessToken}`, origin: 'https://evil.example' } });
    assert.equal(sse.status, 403, 'the SSE transport checks Origin too');
    await sse.body?.cancel();
  });

  test('a browser client gets the same CORS headers whether the library checked its token or the isolate remembered it', async () => {
    const [dave, daveAgain] = [await stack.signIn('dave'), await stack.signIn('dave')];
    const corsOf = (response) => Object.fromEntries([...response.headers]
      .filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
    const mcp = async () => {
      const response = await postMcp(stack.mcpOrigin, dave.accessToken, rpc(1, 'ping'), { origin: ALLOWED_ORIGIN });
      assert.equal(response.status, 200);
      return corsOf(response);
    };
    const sse = async () => {
      const response = await fetch(`${stack.mcpOrigin}/sse`, {
        headers: { authorization: `Bearer ${daveAgain.accessToken}`, origin: ALLOWED_ORIGIN, accept: 'text/event-stream' },
      });
      assert.equal(response.status, 200);
      await response.body?.cancel();
      return corsOf(response);
    };
    // The first call of each new token goes through the library, the next ones are remembered
    // (src/token_memo.rs); the SSE stream's answer comes from a Durable Object, whose headers
    // cannot be changed in place.
    const checked = await mcp();
    assert.equal(checked['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.match(checked['access-control-expose-headers'], /WWW-Authenticate/);
    const before = await eventCount(stack.worker, 'token.remembered', 0);
    assert.deepEqual(await mcp(), checked);
    const stream = await sse();
    assert.equal(stream['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.deepEqual(await sse(), stream);
    // Both second calls were answered from memory, so the headers compared are the memo's own.
    assert.equal(await eventCount(stack.worker, 'token.remembered', before + 2), before + 2, 'answered from memory');
  });

  test('a browser preflight for /mcp allows the MCP headers', async () => {
    const preflight = await fetch(`${stack.mcpOrigin}/mcp`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
      },
    });
    assert.ok(preflight.status === 204 || preflight.status === 200);
    assert.match(preflight.headers.get('access-control-allow-headers'), /authorization/i);
  });

  test('GET and DELETE get 405, oversized bodies 413, notifications and responses 202', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${stack.mcpOrigin}/mcp`, { method, headers: { authorization: `Bearer ${alice.accessToken}`, accept: 'text/event-stream' } });
      assert.equal(response.status, 405, method);
      assert.match(response.headers.get('allow'), /POST/);
      await response.body?.cancel();
    }
    const big = JSON.stringify(rpc(1, 'tools/call', { name: 'add-todo', arguments: { title: 'x'.repeat(MAX_BODY_BYTES) } }));
    assert.equal((await postMcp(stack.mcpOrigin, alice.accessToken, big)).status, 413);
    assert.equal((await postMcp(stack.mcpOrigin, alice.accessToken, { jsonrpc: '2.0', id: 9, result: {} })).status, 202);
    assert.equal((await postMcp(stack.mcpOrigin, alice.accessToken, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } })).status, 202);
  });

  test('without a token the endpoint answers 401 with the protected-resource metadata', async () => {
    const response = await fetch(`${stack.mcpOrigin}/mcp`, { method: 'POST', body: JSON.stringify(rpc(1, 'ping')) });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate'), /resource_metadata=/);
    await response.body?.cancel();
  });

  test('tool calls are logged at debug with tool, user, outcome and duration, and no token', async () => {
    const calls = await loggedEvents(stack.worker, 'mcp.tool_called', (c) => c.tool === 'add-todo' && c.user === 'alice' && c.outcome === 'ok' && typeof c.duration_ms === 'number');
    assert.ok(calls.length);
    assert.ok((await loggedEvents(stack.worker, 'mcp.tools_registered')).length >= 1);
    assert.ok(!stack.worker.logText().includes(alice.accessToken));
  });

  test('with the ToDos API stopped a tool returns isError with a clear message, never a 500', async () => {
    await stack.stopTodos();
    const client = await sdkClient(alice.accessToken);
    try {
      const result = await client.callTool({ name: 'list-todos', arguments: {} });
      assert.equal(result.isError, true);
      assert.match(result.content[0].text, /ToDos API/);
      const me = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(me.isError, false, 'tools that do not need the API still work');
    } finally {
      await client.close();
    }
  });
});
