// Test support for the deployment tests: the MCP worker under `wrangler dev --test-scheduled`
// (which serves GET /__scheduled?cron=… to run the Cron Trigger on demand), and the worker's
// local KV read and written through wrangler's own `kv key` commands on the same --persist-to
// directory, so the tests see KV exactly as the worker stores it.
//
// services.mjs's startWorker has no way to pass extra wrangler arguments; this starts the
// process the same way (own process group, offline environment, pre-built bundle) with
// `--test-scheduled` added. It can go once startWorker takes an `extraArgs` option.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFFLINE_ENV, ROOT } from '../../scripts/lib/toolchain.mjs';
import { freePort, WORKERS } from './services.mjs';

const BIN = join(ROOT, 'node_modules', '.bin');
const WRANGLER = join(BIN, 'wrangler');
const ENV = { ...process.env, ...OFFLINE_ENV, SKIP_WORKER_BUILD: '1', PATH: `${BIN}:${process.env.PATH}` };

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Starts the MCP worker with `--test-scheduled` on a free port (or `port`), keeping its local
 * state in `persistTo` (a fresh directory unless given, so a restart can reuse it).
 */
export async function startCronWorker({ vars = {}, persistTo, port } = {}) {
  const chosen = port ?? (await freePort());
  const state = persistTo ?? mkdtempSync(join(tmpdir(), 'mcp-worker-cron-'));
  const args = [
    'dev', '--config', WORKERS['mcp-worker'].config,
    '--ip', '127.0.0.1', '--port', String(chosen),
    '--persist-to', state,
    '--log-level', 'log', // wrangler shows the worker's console.log lines (our JSON events) from 'log' up
    '--show-interactive-dev-session=false',
    '--test-scheduled',
    ...Object.entries(vars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
  ];
  const child = spawn(WRANGLER, args, { cwd: ROOT, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let text = '';
  child.stdout.on('data', (chunk) => (text += chunk));
  child.stderr.on('data', (chunk) => (text += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    running.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    try {
      process.kill(-child.pid, 'SIGKILL'); // any workerd left in the group
    } catch {
      // group already empty
    }
  };
  const url = `http://localhost:${chosen}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited before it was ready:\n${text}`);
    try {
      const response = await fetch(`http://127.0.0.1:${chosen}/health`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev was not ready within 60 s:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { url, port: chosen, persistTo: state, stop, logText: () => text };
}

/** Runs the worker's `scheduled` handler once, as the Cron Trigger `cron` would. */
export async function triggerCron(workerUrl, cron = '0 * * * *') {
  const response = await fetch(`${workerUrl}/__scheduled?cron=${encodeURIComponent(cron)}`);
  return { status: response.status, text: await response.text() };
}

/**
 * The MCP worker's local OAUTH_KV in `persistTo`, through `wrangler kv key … --local`. Use it
 * while the worker is stopped: the local store is files that one process should own at a time.
 */
export function localOauthKv(persistTo) {
  const kv = (args) => {
    const result = spawnSync(
      WRANGLER,
      ['kv', 'key', ...args, '--binding', 'OAUTH_KV', '--local', '--persist-to', persistTo, '--config', WORKERS['mcp-worker'].config],
      { cwd: ROOT, env: ENV, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`wrangler kv key ${args[0]} failed: ${result.stderr}${result.stdout}`);
    return result.stdout;
  };
  return {
    /** Key names (with metadata) under `prefix`. */
    list(prefix = '') {
      return JSON.parse(kv(['list', ...(prefix ? ['--prefix', prefix] : [])]));
    },
    /** The value, or null when the key is absent. */
    get(key) {
      const result = spawnSync(
        WRANGLER,
        ['kv', 'key', 'get', key, '--binding', 'OAUTH_KV', '--local', '--persist-to', persistTo, '--config', WORKERS['mcp-worker'].config, '--text'],
        { cwd: ROOT, env: ENV, encoding: 'utf8' },
      );
      if (result.status !== 0 || /Value not found/i.test(`${result.stdout}${result.stderr}`)) return null;
      return result.stdout;
    },
    /** Writes `value` with no KV expiration, and `metadata` when given. */
    put(key, value, { metadata } = {}) {
      kv(['put', key, value, ...(metadata ? ['--metadata', JSON.stringify(metadata)] : [])]);
    },
    delete(key) {
      kv(['delete', key]);
    },
  };
}
