// mcp-remote, the stdio-to-remote bridge that Claude Desktop runs for a remote MCP server:
//
//   { "command": "npx", "args": ["mcp-remote", "http://localhost:8788/mcp"] }
//
// started the same way (node_modules/.bin/mcp-remote is what `npx mcp-remote` resolves to), with
// its credentials in MCP_REMOTE_CONFIG_DIR and tests/support/open-url.mjs as the browser. The test
// speaks JSON-RPC on its stdin/stdout as Claude Desktop does: initialize, tools/list, tools/call.
// mcp-remote opens the browser before its callback listener is up; open-url.mjs retries for that.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, browserLogPath, clientEnv, startStack, tempDir } from './support/client-stack.mjs';
import { freePort } from './support/services.mjs';
import { spawnStdioServer } from './support/stdio-jsonrpc.mjs';

const MCP_REMOTE = join(BIN, 'mcp-remote');

/** Starts mcp-remote as Claude Desktop would, then does the MCP handshake. */
async function connect(stack, { path, configDir, home, login, callbackPort, browserLog, extraArgs = [], untick = [] }) {
  const env = {
    ...clientEnv({ home, idpOrigin: stack.idpOrigin, login, browserLog, untick }),
    MCP_REMOTE_CONFIG_DIR: configDir,
  };
  const server = spawnStdioServer(MCP_REMOTE, [`${stack.mcpOrigin}${path}`, String(callbackPort), ...extraArgs], { env });
  const describeFailure = () => {
    const browser = existsSync(browserLog) ? readFileSync(browserLog, 'utf8') : '(no browser log)';
    return `mcp-remote stderr:\n${server.stderr()}\nbrowser:\n${browser}`;
  };
  try {
    const init = await server.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'claude-desktop-like-test', version: '1.0.0' },
    }, 90_000);
    assert.ok(init.result, `initialize answered: ${JSON.stringify(init)}\n${describeFailure()}`);
    server.notify('notifications/initialized');
    return { server, init: init.result, describeFailure };
  } catch (error) {
    await server.close();
    error.message += `\n${describeFailure()}`;
    throw error;
  }
}

function toolText(result) {
  return `${(result.content ?? []).map((part) => part.text ?? '').join('\n')}\n${JSON.stringify(result.structuredContent ?? {})}`;
}

describe('mcp-remote over stdio, as Claude Desktop runs it', () => {
  let stack;
  const marker = `mcp-remote todo of carol ${Date.now()}`;
  const notMine = `mcp-remote todo of alice ${Date.now()}`;

  before(async () => {
    stack = await startStack();
    await stack.seedTodo('carol', marker);
    await stack.seedTodo('alice', notMine);
  });
  after(async () => {
    await stack?.stop();
  });

  describe('Streamable HTTP (/mcp)', () => {
    let configDir;
    let home;
    let callbackPort;
    before(async () => {
      configDir = tempDir('mcp-remote-config-');
      home = tempDir('mcp-remote-home-');
      callbackPort = await freePort();
    });
    after(() => {
      configDir?.remove();
      home?.remove();
    });

    test('signs in through the consent page and the identity provider, then calls list-todos', async () => {
      const browserLog = browserLogPath('mcp-remote-mcp');
      const { server, init, describeFailure } = await connect(stack, {
        path: '/mcp', configDir: configDir.path, home: home.path, login: 'carol', callbackPort, browserLog,
      });
      try {
        assert.ok(init.serverInfo?.name, 'the MCP worker names itself');
        const browser = readFileSync(browserLog, 'utf8');
        assert.match(browser, /consent page shown, Allow clicked/);
        assert.match(browser, /login as carol/);

        const list = await server.request('tools/list');
        const names = (list.result?.tools ?? []).map((tool) => tool.name);
        assert.ok(names.includes('list-todos'), `tools: ${names}\n${describeFailure()}`);

        const call = await server.request('tools/call', { name: 'list-todos', arguments: {} });
        assert.ok(call.result, `tools/call answered: ${JSON.stringify(call)}`);
        assert.notEqual(call.result.isError, true, toolText(call.result));
        assert.ok(toolText(call.result).includes(marker), `carol's todo listed: ${toolText(call.result)}`);
        assert.ok(!toolText(call.result).includes(notMine), "alice's todo not listed");
      } finally {
        await server.close();
      }
    });

    test('started again (Claude Desktop restarted), it reuses the stored tokens without a browser', async () => {
      const browserLog = browserLogPath('mcp-remote-mcp-restart');
      const stored = readdirSync(configDir.path, { recursive: true });
      assert.ok(stored.some((name) => String(name).endsWith('_tokens.json')), `tokens stored in MCP_REMOTE_CONFIG_DIR: ${stored}`);
      const { server } = await connect(stack, {
        path: '/mcp', configDir: configDir.path, home: home.path, login: 'carol', callbackPort, browserLog,
      });
      try {
        const call = await server.request('tools/call', { name: 'whoami', arguments: {} });
        assert.notEqual(call.result?.isError, true, JSON.stringify(call));
        assert.match(toolText(call.result), /carol/, 'whoami names the signed-in user');
        assert.equal(existsSync(browserLog), false, 'no browser was opened');
      } finally {
        await server.close();
      }
    });
  });

  test('a scope unticked on the consent page is not granted: list-billing is refused naming read:billing, list-todos works', async (t) => {
    const configDir = tempDir('mcp-remote-config-');
    const home = tempDir('mcp-remote-home-');
    const browserLog = browserLogPath('mcp-remote-untick');
    const { server, describeFailure } = await connect(stack, {
      path: '/mcp',
      configDir: configDir.path,
      home: home.path,
      login: 'alice',
      callbackPort: await freePort(),
      browserLog,
      untick: ['read:billing'],
    });
    try {
      assert.match(readFileSync(browserLog, 'utf8'), /unticked read:billing/);
      const billing = await server.request('tools/call', { name: 'list-billing', arguments: {} });
      const refusal = JSON.stringify(billing);
      assert.ok(billing.error || billing.result?.isError, `refused: ${refusal}\n${describeFailure()}`);
      assert.match(refusal, /read:billing/, 'the refusal names the missing scope');
      t.diagnostic(`list-billing without read:billing: ${refusal.slice(0, 400)}`);
      const todos = await server.request('tools/call', { name: 'list-todos', arguments: {} });
      assert.notEqual(todos.result?.isError, true, JSON.stringify(todos));
      assert.ok(toolText(todos.result).includes(notMine), `alice's todos: ${toolText(todos.result)}`);
    } finally {
      await server.close();
      configDir.remove();
      home.remove();
    }
  });

  test('over the legacy HTTP+SSE transport (/sse, --transport sse-only) signs in and calls list-todos', async () => {
    const configDir = tempDir('mcp-remote-config-');
    const home = tempDir('mcp-remote-home-');
    const browserLog = browserLogPath('mcp-remote-sse');
    const { server, describeFailure } = await connect(stack, {
      path: '/sse',
      configDir: configDir.path,
      home: home.path,
      login: 'carol',
      callbackPort: await freePort(),
      browserLog,
      extraArgs: ['--transport', 'sse-only'],
    });
    try {
      const call = await server.request('tools/call', { name: 'list-todos', arguments: {} });
      assert.ok(call.result, `tools/call answered: ${JSON.stringify(call)}\n${describeFailure()}`);
      assert.ok(toolText(call.result).includes(marker), `carol's todo listed: ${toolText(call.result)}`);
    } finally {
      await server.close();
      configDir.remove();
      home.remove();
    }
  });
});
