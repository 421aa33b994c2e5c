// The main demonstration, automated: MCP Inspector's web UI (v2, UI and backend on one local
// port) in headless Chromium connects to the MCP worker, the worker's consent page appears and
// Allow is clicked, the identity provider's sign-in is completed, the Inspector shows the
// connection, and list-todos, run from its Tools tab, shows the signed-in user's todos. Once over
// Streamable HTTP (/mcp) and once over the legacy HTTP+SSE transport (/sse). Screenshots of the
// consent page and of the tool result go to test-output/screenshots/.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { completeSignIn, launchBrowser, screenshot } from './support/browser.mjs';
import { INSPECTOR, NODE22, clientEnv, startStack, tempDir } from './support/client-stack.mjs';
import { freePort } from './support/services.mjs';

/**
 * Starts the Inspector's web UI for one server URL, on free ports, with its API token chosen
 * here (MCP_INSPECTOR_API_TOKEN) and no browser of its own.
 */
async function startInspectorWeb(stack, { transport, url }) {
  const home = tempDir('inspector-web-home-');
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const env = {
    ...clientEnv({ home: home.path, idpOrigin: stack.idpOrigin }),
    CLIENT_PORT: String(port),
    MCP_SANDBOX_PORT: String(await freePort()),
    MCP_APP_ORIGIN_PORT: String(await freePort()),
    MCP_INSPECTOR_API_TOKEN: token,
    MCP_AUTO_OPEN_ENABLED: 'false',
    MCP_INSPECTOR_SECRET_STORE: 'memory',
    MCP_STORAGE_DIR: `${home.path}/storage`,
  };
  const child = spawn(NODE22, [INSPECTOR, '--web', '--transport', transport, '--server-url', url], {
    env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk) => { log += chunk; });
  child.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = async () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    home.remove();
  };
  const deadline = Date.now() + 30_000;
  while (!log.includes('is up and running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the Inspector did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pageUrl: `http://localhost:${port}/?MCP_INSPECTOR_API_TOKEN=${token}`, log: () => log, stop };
}

let stack;
const stamp = Date.now();
const todos = { alice: `Inspector web todo of alice ${stamp}`, bob: `Inspector web todo of bob ${stamp}` };

before(async () => {
  stack = await startStack();
  await stack.seedTodo('alice', todos.alice);
  await stack.seedTodo('bob', todos.bob);
});
after(async () => {
  await stack?.stop();
});

for (const [label, transport, path, shown] of [
  ['Streamable HTTP', 'http', '/mcp', /^Streamable HTTP$/],
  ['HTTP+SSE', 'sse', '/sse', /^SSE \(Server Sent Events\)/],
]) {
  describe(`MCP Inspector web UI over ${label} (${path})`, () => {
    let inspector;
    let browser;
    before(async () => {
      inspector = await startInspectorWeb(stack, { transport, url: `${stack.mcpOrigin}${path}` });
      // A fresh profile each time: no IdP session or remembered consent carried over.
      browser = await launchBrowser({ viewport: { width: 1280, height: 1400 } });
    });
    after(async () => {
      await browser?.close();
      await inspector?.stop();
    });

    test('connects through the consent page and the sign-in, and list-todos from the Tools tab shows alice\'s todos', async () => {
      const page = await browser.newPage();
      const name = `inspector-web-${transport}`;
      try {
        await page.goto(inspector.pageUrl);
        const server = new URL(stack.mcpOrigin).host;
        await page.getByText(server).first().waitFor();
        await page.getByText('Disconnected', { exact: true }).waitFor();

        // Connecting meets the 401 and sends this page to the worker's consent page. A click that
        // comes before the page has wired the switch up does nothing (the status stays
        // "Disconnected"): the switch is then clicked again, at most three times. A click that
        // took may need a while under load before the page leaves, so that is waited for.
        const toggle = page.getByRole('switch', { name: /Connect or disconnect/ });
        const disconnected = page.getByText('Disconnected', { exact: true });
        // By port: the Inspector names the worker `localhost` or `127.0.0.1` as it was given.
        // (Polled: the Inspector may start a navigation and replace it, which `waitForURL` reports
        // as an error.)
        const workerPort = new URL(stack.mcpOrigin).port;
        const leftWithin = async (ms) => {
          for (const deadline = Date.now() + ms; Date.now() < deadline; await page.waitForTimeout(100)) {
            if (URL.parse(page.url())?.port === workerPort) return true;
          }
          return false;
        };
        for (let attempt = 1; attempt <= 3; attempt += 1) {
          await toggle.click({ force: true, timeout: 5_000 }).catch(() => {});
          if (await leftWithin(5_000)) break;
          if (!(await disconnected.isVisible().catch(() => false))) break;
        }
        assert.ok(await leftWithin(60_000), `the Inspector never went to the consent page: ${page.url()}`);
        const signIn = await completeSignIn(page, {
          login: 'alice', workerOrigin: stack.mcpOrigin, idpOrigin: stack.idpOrigin, consentScreenshot: `${name}-consent`,
        });
        assert.equal(signIn.consentShown, true, 'the consent page appeared');
        assert.equal(signIn.loginShown, true, "the identity provider's sign-in appeared");
        assert.ok(signIn.callbackUrl.startsWith(new URL(inspector.pageUrl).origin), `back at the Inspector: ${signIn.callbackUrl}`);

        await page.getByText('Connected', { exact: true }).waitFor({ timeout: 30_000 });
        await page.getByText(shown).first().waitFor();
        await screenshot(page, `${name}-connected`);

        await page.getByText('Tools', { exact: true }).first().click();
        await page.locator('button', { hasText: 'list-todos' }).first().click();
        await page.getByRole('button', { name: 'Execute Tool' }).click();
        await page.getByText('Results', { exact: true }).waitFor({ timeout: 30_000 });
        await page.getByText(todos.alice).first().waitFor({ timeout: 30_000 });
        assert.equal(await page.getByText(todos.bob).count(), 0, "bob's todo is not shown");
        await screenshot(page, `${name}-tool-result`);
      } catch (error) {
        await screenshot(page, `${name}-failure`).catch(() => {});
        error.message += `\nInspector log:\n${inspector.log().slice(-3000)}\npage: ${page.url()}`;
        throw error;
      } finally {
        await page.close();
      }
    });
  });
}
