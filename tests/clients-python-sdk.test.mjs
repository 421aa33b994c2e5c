// The official Python MCP SDK (`mcp` from PyPI, pinned in tests/support/python/requirements.txt
// and installed into .venv-tests/ by scripts/lib/test-deps.mjs) as a second, independent client
// implementation: OAuthClientProvider registers, opens the browser through Python's `webbrowser`
// (BROWSER = tests/support/open-url.mjs: Allow on the consent page, sign-in at the IdP), takes the
// code on its loopback listener, and then lists the tools and calls one, over Streamable HTTP and
// over HTTP+SSE. The script prints one JSON object that this test checks.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { VENV_PYTHON } from '../scripts/lib/test-deps.mjs';
import { ROOT, browserLogPath, clientEnv, runToEnd, startStack, tempDir } from './support/client-stack.mjs';

const SCRIPT = join(ROOT, 'tests', 'support', 'python', 'mcp_oauth_client.py');

async function runPythonClient(stack, {
  path, transport, login, tool, args = {}, name, untick = [], untickOnce = false,
}) {
  const home = tempDir('python-client-home-');
  const browserLog = browserLogPath(name);
  try {
    const run = await runToEnd(VENV_PYTHON, [
      SCRIPT, '--server', `${stack.mcpOrigin}${path}`, '--transport', transport, '--tool', tool,
      '--arguments', JSON.stringify(args),
    ], {
      env: { ...clientEnv({ home: home.path, idpOrigin: stack.idpOrigin, login, browserLog, untick, untickOnce }), PYTHONUNBUFFERED: '1' },
      timeout: 90_000,
    });
    const browser = existsSync(browserLog) ? readFileSync(browserLog, 'utf8') : '(no browser log)';
    const context = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr.slice(-4000)}\nbrowser: ${browser}`;
    assert.equal(run.code, 0, context);
    const output = JSON.parse(run.stdout.trim().split('\n').at(-1));
    return { output, browser, context };
  } finally {
    home.remove();
  }
}

function resultText(result) {
  return `${result.content.map((part) => part.text ?? '').join('\n')}\n${JSON.stringify(result.structuredContent ?? {})}`;
}

describe('the Python MCP SDK', () => {
  let stack;
  const stamp = Date.now();
  const todos = { alice: `python todo of alice ${stamp}`, bob: `python todo of bob ${stamp}` };

  before(async () => {
    assert.ok(existsSync(VENV_PYTHON), `${VENV_PYTHON} is missing: run node scripts/lib/test-deps.mjs`);
    // judy does not hold read:billing at the identity provider (Auth0 RBAC).
    stack = await startStack({ userPermissions: { judy: ['read:todos', 'write:todos'] } });
    await stack.seedTodo('alice', todos.alice);
    await stack.seedTodo('bob', todos.bob);
  });
  after(async () => {
    await stack?.stop();
  });

  test('over Streamable HTTP, OAuthClientProvider signs in through the consent page and list-todos returns the user\'s todos', async () => {
    const { output, browser, context } = await runPythonClient(stack, {
      path: '/mcp', transport: 'streamable-http', login: 'alice', tool: 'list-todos', name: 'python-mcp',
    });
    assert.match(browser, /consent page shown, Allow clicked\n.*login as alice/, context);
    assert.equal(output.browserOpened, 1, 'the browser was opened once');
    assert.ok(output.clientId, 'registered dynamically');
    assert.equal(output.grant.tokenType.toLowerCase(), 'bearer');
    assert.match(output.grant.scope ?? '', /read:todos/, context);
    for (const name of ['whoami', 'list-todos', 'list-billing', 'add-todo', 'complete-todo']) {
      assert.ok(output.tools.includes(name), `${name} listed: ${output.tools}`);
    }
    assert.equal(output.result.isError, false, context);
    assert.ok(resultText(output.result).includes(todos.alice), `alice's todo: ${resultText(output.result)}`);
    assert.ok(!resultText(output.result).includes(todos.bob), "not bob's");
  });

  test('declining read:billing at first, list-billing gets the insufficient_scope step-up, and the SDK asks again and succeeds', async (t) => {
    const { output, browser, context } = await runPythonClient(stack, {
      path: '/mcp', transport: 'streamable-http', login: 'alice', tool: 'list-billing', name: 'python-step-up',
      untick: ['read:billing'], untickOnce: true,
    });
    t.diagnostic(`negotiated ${output.protocolVersion}; browser opened ${output.browserOpened} times`);
    assert.match(browser, /unticked read:billing/, 'the first consent declined read:billing');
    assert.equal(output.browserOpened, 2, `a second sign-in for the step-up\n${context}`);
    assert.match(output.grant.scope ?? '', /read:billing/, `the new token holds read:billing\n${context}`);
    assert.equal(output.result.isError, false, context);
  });

  test('a permission the identity provider withholds: list-billing is a tool error naming it, and the SDK never opens the browser again', async () => {
    const { output, browser, context } = await runPythonClient(stack, {
      path: '/mcp', transport: 'streamable-http', login: 'judy', tool: 'list-billing', name: 'python-withheld',
    });
    assert.match(browser, /consent page shown, Allow clicked\n.*login as judy/, 'read:billing was approved on the consent page');
    assert.equal(output.browserOpened, 1, `no step-up sign-in: re-authorizing cannot add it\n${context}`);
    assert.doesNotMatch(output.grant.scope ?? '', /read:billing/, context);
    assert.equal(output.result.isError, true, context);
    assert.match(resultText(output.result), /`read:billing` permission, which your account does not hold at the identity provider/, context);
  });

  test('over HTTP+SSE (/sse), the same client signs in and whoami names the user', async () => {
    const { output, context } = await runPythonClient(stack, {
      path: '/sse', transport: 'sse', login: 'bob', tool: 'whoami', name: 'python-sse',
    });
    assert.equal(output.result.isError, false, context);
    assert.match(resultText(output.result), /bob/, context);
  });
});
