/**
 * The whole system, for the tests that drive real MCP clients (tests/clients-*.test.mjs): the
 * identity provider, the ToDos API and the MCP worker, each on a free port of its own, so the
 * tests neither need nor disturb a running `npm run dev` (which holds 8788-8790). The identity
 * provider runs in the test process, registered with the redirect URI of this stack's worker.
 *
 * Also: the environment for spawning the clients, and a helper to run one to the end.
 *
 * @module tests/support/client-stack
 */

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { createIdp } from '../../idp/provider.mjs';
import { authorizationCodeLogin } from './oidc-login.mjs';
import { NODE22, ROOT } from '../../scripts/lib/toolchain.mjs';
import { freePort, startWorker } from './services.mjs';

export const BIN = join(ROOT, 'node_modules', '.bin');
/** The headless browser program handed to clients as `BROWSER`. */
export const OPEN_URL = join(ROOT, 'tests', 'support', 'open-url.mjs');
/** The Inspector's launcher (web UI, `--cli`). */
export const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');
export const OUTPUT_DIR = join(ROOT, 'test-output');

/**
 * `startWorker` on a free port, retried on another when wrangler reports an address in use: with
 * other `wrangler dev` processes starting on the machine, a port found free can be taken before
 * workerd binds it (and wrangler picks some of its own sockets the same racy way).
 */
async function startWorkerOnFreePort(options, attempts = 3) {
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await freePort());
    try {
      return await startWorker({ ...options, port });
    } catch (error) {
      if (attempt >= attempts || !/address already in use/i.test(String(error?.message))) throw error;
    }
  }
}

/**
 * Starts the identity provider and both workers on free ports.
 * @param {{ echo?: boolean, mcpPort?: number, userPermissions?: Record<string, string[]> }} [options]
 *   `echo` prints the workers' logs (or set ECHO_SERVICES=1); `mcpPort` pins the MCP worker's port
 *   (8788 for screenshots that match the docs); `userPermissions` is the identity provider's
 *   per-user API permissions (`userPermissions` in idp/provider.mjs; by default every user holds them all).
 * @returns {Promise<{ mcpOrigin: string, idpOrigin: string, endpoints: { mcp: string, sse: string },
 *   logs: () => string, stop: () => Promise<void> }>}
 */
export async function startStack({ echo = Boolean(process.env.ECHO_SERVICES), mcpPort: pinned, userPermissions } = {}) {
  // The MCP worker's port must be known before the IdP starts (its redirect URI names it).
  const mcpPort = pinned ?? (await freePort());
  const mcpOrigin = `http://localhost:${mcpPort}`;
  const idpLog = [];
  const idp = await createIdp({
    port: 0,
    clientRedirectUris: [`${mcpOrigin}/callback`],
    logLevel: 'info',
    logSink: (line) => idpLog.push(line),
    ...(userPermissions ? { userPermissions } : {}),
  });
  const started = [];
  try {
    const todos = await startWorkerOnFreePort({
      name: 'todos-api', echo, vars: { OIDC_ISSUER: idp.issuer },
    });
    started.push(todos);
    const mcp = await startWorkerOnFreePort({
      name: 'mcp-worker',
      port: mcpPort,
      echo,
      vars: {
        PUBLIC_URL: mcpOrigin,
        OIDC_ISSUER: idp.issuer,
        AUTH0_CLIENT_ID: idp.config.clientId,
        AUTH0_CLIENT_SECRET: idp.config.clientSecret,
        CONSENT_SECRET: randomBytes(32).toString('base64url'),
        // A URL rather than the Service Binding: the dev registry resolves bindings by worker
        // name, and another `wrangler dev` of todos-api on this machine would answer instead.
        TODOS_API_URL: `http://127.0.0.1:${todos.port}`,
      },
    });
    started.push(mcp);
  } catch (error) {
    await Promise.all(started.map((service) => service.stop()));
    await idp.close();
    throw error;
  }
  const todosOrigin = `http://127.0.0.1:${started[0].port}`;
  return {
    mcpOrigin,
    todosOrigin,
    /**
     * Adds a todo to `login`'s list straight through the ToDos API (with a token from the IdP's
     * test client), so a test can tell that user's list from anyone else's.
     */
    async seedTodo(login, title) {
      const tokens = await authorizationCodeLogin({
        issuer: idp.issuer,
        clientId: idp.config.testClientId,
        redirectUri: idp.config.testClientRedirectUris[0],
        scope: 'openid read:todos write:todos',
        audience: idp.config.audience,
        login,
      });
      const response = await fetch(`${todosOrigin}/api/todos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      if (!response.ok) throw new Error(`seeding a todo for ${login}: HTTP ${response.status} ${await response.text()}`);
      return response.json();
    },
    idpOrigin: idp.issuer.replace(/\/$/, ''),
    endpoints: { mcp: `${mcpOrigin}/mcp`, sse: `${mcpOrigin}/sse` },
    logs: () => [idpLog.join('\n'), ...started.map((service) => service.logText())].join('\n'),
    async stop() {
      await Promise.all(started.map((service) => service.stop()));
      await idp.close();
    },
  };
}

/**
 * What every spawned client gets: the project's Node 22 first on PATH, no colour, the headless
 * browser as BROWSER (with its settings), and a HOME of its own so nothing lands in the
 * developer's ~/.mcp-auth or ~/.mcp-inspector.
 * @param {{ home: string, idpOrigin: string, login?: string, browserLog?: string, screenshot?: string,
 *   untick?: string[], untickOnce?: boolean }} options `untick`: scopes the browser unticks on
 *   the consent page (`untickOnce`: only the first time).
 */
export function clientEnv({
  home, idpOrigin, login = 'alice', browserLog, screenshot, untick = [], untickOnce = false,
}) {
  chmodSync(OPEN_URL, 0o755);
  return {
    ...process.env,
    PATH: `${BIN}:${process.env.PATH}`,
    HOME: home,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    BROWSER: OPEN_URL,
    OPEN_URL_LOGIN: login,
    OPEN_URL_IDP: idpOrigin,
    ...(browserLog ? { OPEN_URL_LOG: browserLog } : {}),
    ...(screenshot ? { OPEN_URL_SCREENSHOT: screenshot } : {}),
    ...(untick.length ? { OPEN_URL_UNTICK: untick.join(',') } : {}),
    ...(untick.length && untickOnce ? { OPEN_URL_UNTICK_ONCE: join(home, '.open-url-unticked-once') } : {}),
  };
}

/** A fresh temporary directory, removed by the returned `remove()`. */
export function tempDir(prefix) {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The log file a test's browser program writes to (kept with the test output). */
export function browserLogPath(name) {
  const dir = join(OUTPUT_DIR, 'clients');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.browser.log`);
  rmSync(path, { force: true });
  return path;
}

/**
 * Runs a command to its end in its own process group (killed, with whatever it spawned, on
 * timeout) and returns its exit code and output.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, timeout?: number, cwd?: string }} [options]
 * @returns {Promise<{ code: number|null, signal: string|null, stdout: string, stderr: string }>}
 */
export function runToEnd(command, args, { env = process.env, timeout = 90_000, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeout} ms]`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already empty */ }
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export { NODE22, ROOT };
