// The legacy HTTP+SSE transport (/sse, MCP 2024-11-05), end to end: real OAuth sign-in, the real
// ToDos API, the official MCP TypeScript SDK's SSE client, and raw SSE for what the SDK hides
// (the endpoint event, keep-alives, another user's token, the idle timeout).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';

import { MAX_BODY_BYTES, SSE_IDLE_TIMEOUT_SECONDS, SSE_MAX_SESSIONS, loggedEvents, openSse, startMcpStack } from './support/mcp-stack.mjs';
import { postChunked } from './support/services.mjs';

let stack;
let alice;
let bob;

async function sseClient(token) {
  const client = new Client({ name: 'mcp-sse-test', version: '1.0.0' });
  const transport = new SSEClientTransport(new URL(`${stack.mcpOrigin}/sse`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

function post(endpoint, token, message) {
  return fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof message === 'string' ? message : JSON.stringify(message),
  });
}

describe('MCP over HTTP+SSE', { timeout: 240_000 }, () => {
  before(async () => {
    stack = await startMcpStack();
    [alice, bob] = [await stack.signIn('alice'), await stack.signIn('bob')];
  });
  after(async () => {
    await stack?.stop();
  });

  test('the SDK SSE client connects, lists the tools and calls them against the ToDos API', async () => {
    const { client } = await sseClient(alice.accessToken);
    try {
      assert.equal(client.getServerVersion().name, 'mcp-worker');
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name), ['whoami', 'list-todos', 'list-billing', 'add-todo', 'complete-todo']);
      const me = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(me.structuredContent.user.sub, 'alice');

      const title = `sse todo ${Date.now()}`;
      const added = await client.callTool({ name: 'add-todo', arguments: { title } });
      assert.equal(added.isError, false);
      const id = added.structuredContent.todo.id;
      const completed = await client.callTool({ name: 'complete-todo', arguments: { id } });
      assert.equal(completed.structuredContent.todo.completed, true);
      const held = await stack.apiTodos('alice');
      assert.equal(held.find((t) => t.id === id)?.completed, true, 'the ToDos API holds it, completed');
      const listed = await client.callTool({ name: 'list-todos', arguments: {} });
      assert.deepEqual(listed.structuredContent.todos, held);
    } finally {
      await client.close();
    }
  });

  test('the stream starts with the endpoint event, answers POSTs with 202 and keeps alive', async () => {
    const sse = await openSse(stack.mcpOrigin, alice.accessToken);
    try {
      assert.equal(sse.status, 200);
      assert.match(sse.headers.get('content-type'), /^text\/event-stream/);
      assert.match(sse.endpoint, /\/sse\/message\?sessionId=[0-9a-f]{34}$/);
      const accepted = await post(sse.endpoint, alice.accessToken, {
        jsonrpc: '2.0', id: 7, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      assert.equal(accepted.status, 202);
      await accepted.body?.cancel();
      const answer = await sse.next((item) => item.event === 'message');
      assert.deepEqual(JSON.parse(answer.data).result.protocolVersion, '2024-11-05');

      const list = await post(sse.endpoint, alice.accessToken, { jsonrpc: '2.0', id: 8, method: 'tools/list' });
      assert.equal(list.status, 202);
      await list.body?.cancel();
      const tools = JSON.parse((await sse.next((item) => item.event === 'message')).data).result.tools;
      assert.equal(tools[0].outputSchema, undefined, '2024-11-05 tools have no output schema');

      const unknown = await post(sse.endpoint, alice.accessToken, { jsonrpc: '2.0', id: 9, method: 'no/such' });
      assert.equal(unknown.status, 202);
      await unknown.body?.cancel();
      assert.equal(JSON.parse((await sse.next((item) => item.event === 'message')).data).error.code, -32601);

      const broken = await post(sse.endpoint, alice.accessToken, '{"jsonrpc":');
      assert.equal(broken.status, 400);
      assert.equal((await broken.json()).error.code, -32700);

      const keepAlive = await sse.next((item) => item.comment !== null, 5_000);
      assert.ok(keepAlive, 'a keep-alive comment arrives on a quiet stream');
    } finally {
      sse.close();
    }
  });

  /** A refusal of the message endpoint: a JSON-RPC error with a null id (JSON-RPC 2.0 §5). */
  function assertTransportError(body, code, what) {
    assert.equal(body.jsonrpc, '2.0', what);
    assert.equal(body.id, null, what);
    assert.equal(body.error?.code, code, what);
    assert.equal(typeof body.error?.message, 'string', what);
  }

  test("an SSE session refuses another user's token and another client's before their message runs, and an unknown session is 404, each with a JSON-RPC error", async () => {
    const aliceElsewhere = await stack.signIn('alice'); // the same user through another client
    const sse = await openSse(stack.mcpOrigin, alice.accessToken);
    try {
      const call = (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
      // A refused message never runs: a write sent by each intruder must not land anywhere.
      const write = (id, title) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'add-todo', arguments: { title } } });
      // Another user's token finds no such session among that user's own: 404, nothing said of it.
      const intruder = await post(sse.endpoint, bob.accessToken, write(1, 'posted by another user'));
      assert.equal(intruder.status, 404);
      assertTransportError(await intruder.json(), -32001, 'another user');
      const otherClient = await post(sse.endpoint, aliceElsewhere.accessToken, write(3, 'posted by another client'));
      assert.equal(otherClient.status, 403);
      assertTransportError(await otherClient.json(), -32600, 'another client of the same user');
      for (const login of ['alice', 'bob']) {
        const titles = (await stack.apiTodos(login)).map((todo) => todo.title);
        assert.ok(!titles.includes('posted by another user') && !titles.includes('posted by another client'), `no refused write in ${login}'s list`);
      }
      const owner = await post(sse.endpoint, alice.accessToken, call(2));
      assert.equal(owner.status, 202);
      await owner.body?.cancel();
      const answer = JSON.parse((await sse.next((item) => item.event === 'message')).data);
      assert.equal(answer.id, 2, "only the owner's message was answered on the stream");
      assert.equal(JSON.parse(answer.result.content[0].text).user.sub, 'alice');
      assert.ok((await loggedEvents(stack.worker, 'mcp.sse_refused', (e) => e.poster === 'alice' && e.client_id === aliceElsewhere.clientId)).length);
    } finally {
      sse.close();
    }
    const gone = await post(`${stack.mcpOrigin}/sse/message?sessionId=${'0'.repeat(34)}`, alice.accessToken, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(gone.status, 404);
    assertTransportError(await gone.json(), -32001, 'an unknown session');
    const malformed = await post(`${stack.mcpOrigin}/sse/message?sessionId=../x`, alice.accessToken, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(malformed.status, 400);
    assertTransportError(await malformed.json(), -32600, 'a malformed session id');
  });

  test('a user holds at most SSE_MAX_SESSIONS_PER_USER open sessions: one more is 429 with a JSON-RPC error, another user is not counted, and a closed session frees its slot', async () => {
    // A user of its own, so that no other test's streams count.
    const [dave, daveElsewhere, erin] = [await stack.signIn('dave'), await stack.signIn('dave'), await stack.signIn('erin')];
    const slotOf = (sse) => sse.endpoint.slice(-2);
    const streams = [];
    const others = [];
    /** Pings every open stream of dave's, so none reaches the idle timeout during the test. */
    const keepAlive = async () => {
      for (const [index, sse] of streams.entries()) {
        const id = 100 + index;
        const ping = await post(sse.endpoint, dave.accessToken, { jsonrpc: '2.0', id, method: 'ping' });
        assert.equal(ping.status, 202, `session in slot ${slotOf(sse)} is open`);
        await ping.body?.cancel();
        assert.equal(JSON.parse((await sse.next((item) => item.event === 'message')).data).id, id, 'answered on its own stream');
      }
    };
    try {
      for (let i = 0; i < SSE_MAX_SESSIONS; i++) {
        const sse = await openSse(stack.mcpOrigin, dave.accessToken);
        assert.equal(sse.status, 200, sse.text);
        streams.push(sse);
      }
      assert.equal(new Set(streams.map(slotOf)).size, SSE_MAX_SESSIONS, 'each in a slot of its own');
      await keepAlive();

      for (const [who, token] of [['dave', dave.accessToken], ['dave through another client', daveElsewhere.accessToken]]) {
        const refused = await openSse(stack.mcpOrigin, token);
        assert.equal(refused.status, 429, who);
        assertTransportError(JSON.parse(refused.text), -32029, who);
      }
      assert.ok((await loggedEvents(stack.worker, 'mcp.sse_session_cap', (e) => e.user === 'dave' && e.cap === SSE_MAX_SESSIONS)).length);
      const erinsOwn = await openSse(stack.mcpOrigin, erin.accessToken);
      assert.equal(erinsOwn.status, 200, 'another user is not counted');
      others.push(erinsOwn);

      // Closing one frees its slot, and only that one: the next session opens there.
      const closed = streams.shift();
      closed.close();
      let reopened;
      for (const deadline = Date.now() + 10_000; !reopened && Date.now() < deadline;) {
        await keepAlive();
        const attempt = await openSse(stack.mcpOrigin, dave.accessToken);
        if (attempt.status === 200) reopened = attempt;
        else assert.equal(attempt.status, 429, attempt.text);
      }
      assert.ok(reopened, 'a slot freed once the stream was closed');
      others.push(reopened);
      assert.equal(slotOf(reopened), slotOf(closed), 'in the slot of the closed session');
      const stale = await post(closed.endpoint, dave.accessToken, { jsonrpc: '2.0', id: 1, method: 'ping' });
      assert.equal(stale.status, 404, 'the closed session stays gone though its slot holds another');
      assertTransportError(await stale.json(), -32001, 'the closed session');
      await keepAlive();
    } finally {
      [...streams, ...others].forEach((sse) => sse.close?.());
    }
  });

  test('the message endpoint refuses a batch unparsed, a body that is not application/json, and a chunked body past the limit', async () => {
    const sse = await openSse(stack.mcpOrigin, alice.accessToken);
    try {
      // As many items as the body limit holds (`[1,1,…]`): one refusal, nothing parsed.
      const batch = await post(sse.endpoint, alice.accessToken, `[${Array(MAX_BODY_BYTES / 2 - 1).fill('1').join(',')}]`);
      assert.equal(batch.status, 400);
      const refusal = await batch.json();
      assert.equal(refusal.id, null);
      assert.equal(refusal.error.code, -32600);

      for (const contentType of ['text/plain', 'application/jsonx']) {
        const refused = await fetch(sse.endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': contentType },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
        assert.equal(refused.status, 415, contentType);
        assert.equal((await refused.json()).error.code, -32600, contentType);
      }

      const chunks = ['{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"'];
      for (let sent = 0; sent < 2 * MAX_BODY_BYTES; sent += 1024) chunks.push('x'.repeat(1024));
      const headers = { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' };
      const tooLarge = await postChunked(sse.endpoint, headers, chunks, { end: false });
      assert.equal(tooLarge.status, 413);
      assert.equal(tooLarge.json.error.code, -32600);

      const ping = await postChunked(sse.endpoint, headers, ['{"jsonrpc":"2.0",', '"id":5,"method":"ping"}']);
      assert.equal(ping.status, 202, 'a chunked body under the limit is served');
      assert.deepEqual(JSON.parse((await sse.next((item) => item.event === 'message')).data), { jsonrpc: '2.0', id: 5, result: {} });
    } finally {
      sse.close();
    }
  });

  test('each message runs with the token that posted it (a refreshed token is used at once)', async () => {
    const sse = await openSse(stack.mcpOrigin, alice.accessToken);
    try {
      // Same grant, new access token: the session accepts it.
      const refreshed = await fetch(`${stack.mcpOrigin}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: alice.refreshToken, client_id: alice.clientId }),
      });
      assert.equal(refreshed.status, 200);
      const tokens = await refreshed.json();
      alice = { ...alice, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
      const accepted = await post(sse.endpoint, tokens.access_token, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list-todos', arguments: {} } });
      assert.equal(accepted.status, 202);
      await accepted.body?.cancel();
      const answer = JSON.parse((await sse.next((item) => item.event === 'message')).data);
      assert.equal(answer.result.isError, false);
    } finally {
      sse.close();
    }
  });

  test('an idle session ends and is forgotten', async () => {
    const sse = await openSse(stack.mcpOrigin, alice.accessToken);
    const deadline = Date.now() + (SSE_IDLE_TIMEOUT_SECONDS + 15) * 1000;
    while (!sse.ended() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    assert.ok(sse.ended(), 'the stream was closed by the server');
    const late = await post(sse.endpoint, alice.accessToken, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(late.status, 404);
    await late.body?.cancel();
    assert.ok((await loggedEvents(stack.worker, 'mcp.sse_closed', (e) => e.reason === 'idle')).length);
    assert.ok((await loggedEvents(stack.worker, 'mcp.sse_opened', undefined, { atLeast: 3 })).length >= 3);
  });
});
