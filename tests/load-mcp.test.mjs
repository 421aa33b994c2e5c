// A bounded load through the whole stack: real MCP tokens from the real OAuth flow,
// the MCP worker, the real ToDos API. 500 tool calls at concurrency 32 over /mcp and 100 over
// /sse, with 0 errors. The figures are reported on one line each; timing is never asserted.
//
//   node_modules/.bin/node --test tests/load-mcp.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { openSse } from './support/mcp-stack.mjs';
import { callTool, rpc, startAttackStack } from './support/attack-stack.mjs';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

let stack;
let tokens;

/** Runs `count` jobs with at most `concurrency` in flight; the latency of each, in ms. */
async function pool(count, concurrency, job) {
  const latencies = [];
  let next = 0;
  async function lane() {
    while (next < count) {
      const index = next++;
      const started = performance.now();
      await job(index);
      latencies.push(performance.now() - started);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return latencies;
}

function figures(latencies, wallMs) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(0);
  return `${(latencies.length / (wallMs / 1000)).toFixed(1)} calls/s, p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms, wall ${(wallMs / 1000).toFixed(1)} s`;
}

describe('bounded load', { timeout: 240_000 }, () => {
  before(async () => {
    stack = await startAttackStack({ todosTimeoutMs: 8000 });
    tokens = {};
    for (const login of USERS) tokens[login] = (await stack.signIn(login)).accessToken;
  });
  after(async () => {
    await stack?.stop();
  });

  test('500 tool calls at concurrency 32 over /mcp: 0 errors, and every write is kept', async () => {
    const errors = [];
    const added = {};
    const kinds = {};
    const started = performance.now();
    const latencies = await pool(500, 32, async (i) => {
      const login = USERS[i % USERS.length];
      // Mostly reads, one call in five a write, some whoami: what an agent session does.
      const [name, args] = i % 5 === 0 ? ['add-todo', { title: `load ${i}` }] : i % 7 === 0 ? ['whoami', {}] : ['list-todos', {}];
      kinds[name] = (kinds[name] ?? 0) + 1;
      const reply = await callTool(stack.mcpOrigin, tokens[login], name, args, { id: i + 1 });
      if (reply.status !== 200 || !reply.result || reply.result.isError) {
        errors.push(`${name} ${reply.status} ${reply.text.slice(0, 160)}`);
      } else if (name === 'add-todo') {
        (added[login] ??= []).push(args.title);
      }
    });
    const wall = performance.now() - started;
    console.log(`load /mcp: 500 calls (${JSON.stringify(kinds)}), concurrency 32, ${errors.length} errors, ${figures(latencies, wall)}`);
    assert.deepEqual(errors, []);

    // Concurrent writes of one user: each acknowledged add-todo is in the user's list.
    const lost = [];
    for (const [login, titles] of Object.entries(added)) {
      const list = await callTool(stack.mcpOrigin, tokens[login], 'list-todos');
      const held = new Set(list.result.structuredContent.todos.map((todo) => todo.title));
      for (const title of titles) if (!held.has(title)) lost.push(`${login}: ${title}`);
    }
    const acknowledged = Object.values(added).flat().length;
    console.log(`load /mcp: ${acknowledged} acknowledged add-todo calls, ${lost.length} missing afterwards`);
    assert.deepEqual(lost, [], 'no acknowledged write is lost');
  });

  test('100 tool calls over one /sse session per user: 0 errors', async () => {
    const sessions = [];
    for (const login of USERS.slice(0, 4)) {
      const sse = await openSse(stack.mcpOrigin, tokens[login]);
      assert.equal(sse.status, 200);
      sessions.push({ login, sse });
    }
    try {
      for (const { login, sse } of sessions) {
        const init = await fetch(sse.endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[login]}`, 'content-type': 'application/json' },
          body: JSON.stringify(rpc(0, 'initialize', { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'load', version: '1' } })),
        });
        assert.equal(init.status, 202);
        await init.body?.cancel();
        await sse.next((item) => item.event === 'message' && JSON.parse(item.data).id === 0);
      }
      const errors = [];
      const started = performance.now();
      const latencies = await pool(100, 16, async (i) => {
        const { login, sse } = sessions[i % sessions.length];
        const id = i + 1;
        const name = i % 4 === 0 ? 'whoami' : 'list-todos';
        const posted = await fetch(sse.endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[login]}`, 'content-type': 'application/json' },
          body: JSON.stringify(rpc(id, 'tools/call', { name, arguments: {} })),
        });
        await posted.body?.cancel();
        if (posted.status !== 202) {
          errors.push(`POST ${posted.status}`);
          return;
        }
        const answer = await sse.next((item) => item.event === 'message' && JSON.parse(item.data).id === id, 30_000);
        const message = answer && JSON.parse(answer.data);
        if (!message?.result || message.result.isError) errors.push(`${name} ${answer?.data?.slice(0, 160)}`);
      });
      const wall = performance.now() - started;
      console.log(`load /sse: 100 calls over ${sessions.length} sessions, concurrency 16, ${errors.length} errors, ${figures(latencies, wall)}`);
      assert.deepEqual(errors, []);
    } finally {
      for (const { sse } of sessions) sse.close();
    }
  });
});
