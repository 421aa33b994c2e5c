// Test support for the deployment tests: the MCP worker under `wrangler dev --test-scheduled`
// (which serves GET /__scheduled?cron=… to run the Cron Trigger on demand), and the worker's
// local KV read and written through wrangler's own `kv key` commands on the same --persist-to
// directory, so the tests see KV exactly as the worker stores it.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { OFFLINE_ENV, ROOT } from '../../scripts/lib/toolchain.mjs';
import { startWorker, WORKERS } from './services.mjs';

const BIN = join(ROOT, 'node_modules', '.bin');
const WRANGLER = join(BIN, 'wrangler');
const ENV = { ...process.env, ...OFFLINE_ENV, SKIP_WORKER_BUILD: '1', PATH: `${BIN}:${process.env.PATH}` };

/**
 * Starts the MCP worker with `--test-scheduled` on a free port (or `port`), keeping its local
 * state in `persistTo` (a fresh directory unless given, so a restart can reuse it).
 */
export function startCronWorker({ vars = {}, persistTo, port } = {}) {
  return startWorker({ name: 'mcp-worker', port, vars, persistTo, extraArgs: ['--test-scheduled'] });
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
