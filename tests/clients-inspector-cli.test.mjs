// MCP Inspector's CLI (`mcp-inspector --cli`, v2) against the MCP worker, over Streamable HTTP
// (/mcp) and the legacy HTTP+SSE transport (/sse): it discovers the authorization server,
// registers itself, opens the "system browser" (tests/support/open-url.mjs as BROWSER: headless
// Chromium that clicks Allow on the consent page and signs in at the identity provider), takes
// the code on its loopback listener, lists the tools, and then, with the tokens it stored, calls
// list-todos and gets the signed-in user's todos.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  INSPECTOR, NODE22, browserLogPath, clientEnv, runToEnd, startStack, tempDir,
} from './support/client-stack.mjs';
import { freePort } from './support/services.mjs';

const TOOLS = ['whoami', 'list-todos', 'list-billing', 'add-todo', 'complete-todo'];

/** Runs the Inspector CLI once; returns its parsed `--format json` output. */
async function inspectorCli(stack, { url, home, login, callbackPort, browserLog, args }) {
  const env = {
    ...clientEnv({ home, idpOrigin: stack.idpOrigin, login, browserLog }),
    // No TTY here: without this the CLI stops with auth_required instead of opening BROWSER.
    MCP_AUTO_OPEN_ENABLED: 'true',
    // Tokens kept in a file under the temporary HOME, so the second run reuses them.
    MCP_INSPECTOR_SECRET_STORE: 'file',
    MCP_OAUTH_CALLBACK_URL: `http://localhost:${callbackPort}/oauth/callback`,
  };
  const transport = new URL(url).pathname === '/sse' ? 'sse' : 'http';
  const run = await runToEnd(NODE22, [INSPECTOR, '--cli', url, '--transport', transport, ...args, '--format', 'json'], { env, timeout: 90_000 });
  const browser = existsSync(browserLog) ? readFileSync(browserLog, 'utf8') : '(no browser log)';
  const context = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\nbrowser: ${browser}`;
  assert.equal(run.code, 0, context);
  let output;
  try {
    output = JSON.parse(run.stdout);
  } catch {
    assert.fail(`stdout is not one JSON object\n${context}`);
  }
  // `--format json` wraps the method's result: {"result": …}.
  return { output: output.result ?? output, stderr: run.stderr, browser, context };
}

function resultText(result) {
  return (result.content ?? []).filter((part) => part.type === 'text').map((part) => part.text).join('\n');
}

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

for (const [transport, path, login, other] of [
  ['Streamable HTTP', '/mcp', 'alice', 'bob'],
  ['HTTP+SSE', '/sse', 'bob', 'carol'],
]) {
  describe(`MCP Inspector CLI over ${transport} (${path})`, () => {
    let home;
    let callbackPort;
    const mine = `Inspector CLI ${path} todo of ${login} ${Date.now()}`;
    const theirs = `Inspector CLI ${path} todo of ${other} ${Date.now()}`;

    before(async () => {
      home = tempDir('inspector-cli-home-');
      callbackPort = await freePort();
      await stack.seedTodo(login, mine);
      await stack.seedTodo(other, theirs);
    });

    after(async () => {
      home?.remove();
    });

    test('signs in through the consent page and the identity provider, then lists the tools', async () => {
      const browserLog = browserLogPath(`inspector-cli${path.replace('/', '-')}`);
      const { output, browser } = await inspectorCli(stack, {
        url: `${stack.mcpOrigin}${path}`, home: home.path, login, callbackPort, browserLog,
        args: ['--method', 'tools/list'],
      });
      assert.match(browser, /consent page shown, Allow clicked/, browser);
      assert.match(browser, new RegExp(`login as ${login}`), browser);
      const names = (output.tools ?? []).map((tool) => tool.name);
      for (const name of TOOLS) assert.ok(names.includes(name), `${name} listed: ${names}`);
    });

    test(`calls list-todos with the stored tokens and gets ${login}'s todos, not ${other}'s`, async () => {
      const browserLog = browserLogPath(`inspector-cli${path.replace('/', '-')}-call`);
      const { output, context } = await inspectorCli(stack, {
        url: `${stack.mcpOrigin}${path}`, home: home.path, login, callbackPort, browserLog,
        args: ['--method', 'tools/call', '--tool-name', 'list-todos'],
      });
      assert.equal(existsSync(browserLog), false, `no second sign-in: the stored tokens were used\n${context}`);
      assert.notEqual(output.isError, true, context);
      const text = `${resultText(output)}\n${JSON.stringify(output.structuredContent ?? {})}`;
      assert.ok(text.includes(mine), `${login}'s todo in the result\n${context}`);
      assert.ok(!text.includes(theirs), `${other}'s todo not in the result\n${context}`);
    });
  });
}
