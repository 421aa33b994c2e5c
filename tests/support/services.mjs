// Starts the real parts of the system for tests, the dev runner and the benchmark: the local
// identity provider (idp/server.mjs) and the two workers under `wrangler dev` (workerd).
//
// Each child runs in its own process group (`detached`), so stopping it stops wrangler *and* the
// workerd processes it spawned; a process exit handler stops whatever is still running, so a
// failed test run leaves nothing listening.

import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorker } from '../../scripts/build.mjs';
import { NODE22, OFFLINE_ENV, ROOT } from '../../scripts/lib/toolchain.mjs';

const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

/** Where each worker's wrangler configuration lives. */
export const WORKERS = {
  'mcp-worker': { config: join(ROOT, 'wrangler.toml'), port: 8788, health: '/health' },
  'todos-api': { config: join(ROOT, 'todos-api', 'wrangler.toml'), port: 8789, health: '/api/health' },
};

const running = new Set();

// wrangler's dev registry is how a Service Binding finds the worker it names among the local
// `wrangler dev` processes. The default registry is shared by every wrangler on the machine, so
// another run's `todos-api` coming and going would make this run's MCP worker reload mid-test.
// Each process that starts workers gets a registry of its own.
let registry;
function registryPath() {
  registry ??= mkdtempSync(join(tmpdir(), 'wrangler-registry-'));
  return registry;
}

function stopAllSync() {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
  releasePorts();
}
process.on('exit', stopAllSync);
// 'exit' does not run when the process is killed by a signal: stop the children first.
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopAllSync();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 1));
  });
}

const handedOut = new Set();

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for a server started a moment later.
 * Chosen below the kernel's ephemeral range (`ip_local_port_range`): a port the kernel handed out
 * for port 0 could be handed out again, between this check and the server's bind, to any process
 * that binds port 0, and `wrangler dev` restarts its `workerd`s, which bind their internal
 * listeners that way, whenever the dev registry changes (a worker starting). A health check of the
 * new worker would then reach another worker's listener. Ports handed out by this process are not
 * handed out again.
 */
export async function freePort() {
  const low = 20_000;
  const high = ephemeralLow() - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await canListen(port)) || !reservePort(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${low}–${high}`);
}

// Two test runs on one machine (a developer's and CI's) pick ports from the same range; a port
// free when one checks it may be taken by the other before its server binds it ("Address
// already in use"). Each port handed out is noted in a file named after it, holding the pid of
// the run that took it: another run skips it. The folder is shared by every user (sticky, like
// /tmp); where a note cannot be written, ports are handed out unnoted, as before.
const PORT_NOTES = join(tmpdir(), 'mcp-worker-test-ports');
const notedPorts = new Set();
/** A note whose holder has exited is removed once it is this old (a run killed mid-test). */
const STALE_NOTE_MS = 60 * 60 * 1000;

/** Notes `port` as this process's; false when another run holds it, or held it lately. */
function reservePort(port) {
  const file = join(PORT_NOTES, String(port));
  try {
    if (!existsSync(PORT_NOTES)) {
      mkdirSync(PORT_NOTES, { recursive: true });
      chmodSync(PORT_NOTES, 0o1777);
    }
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    notedPorts.add(file);
    return true;
  } catch (error) {
    if (error.code !== 'EEXIST') return ['EACCES', 'EPERM', 'EROFS'].includes(error.code);
  }
  // Held. A note left by a run that was killed is cleared once old, never taken over at once:
  // two runs taking over one note at the same moment could both believe they hold the port.
  try {
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)
      && Date.now() - statSync(file).mtimeMs > STALE_NOTE_MS) {
      unlinkSync(file);
    }
  } catch {
    // gone meanwhile, or another user's
  }
  return false;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Gives back the ports this process noted (on exit). */
function releasePorts() {
  for (const file of notedPorts) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  notedPorts.clear();
}

/** The first port of the kernel's ephemeral range (Linux; 32768, its default, elsewhere). */
function ephemeralLow() {
  try {
    const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(first) && first > 21_000) return first;
  } catch {
    // not Linux
  }
  return 32_768;
}

function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Builds both workers once (release, unless BUILD_PROFILE says otherwise). */
export function buildAll() {
  // The test runner builds once before it starts the test files (which run one at a time).
  if (process.env.SKIP_WORKER_BUILD === '1') return;
  buildWorker('todos-api');
  buildWorker('mcp-worker');
}

/** Copies each worker's `.dev.vars.example` to `.dev.vars` when the developer has none yet. */
export function ensureDevVars() {
  for (const dir of [ROOT, join(ROOT, 'todos-api')]) {
    const example = join(dir, '.dev.vars.example');
    const vars = join(dir, '.dev.vars');
    if (existsSync(example) && !existsSync(vars)) copyFileSync(example, vars);
  }
}

function spawnGroup(command, args, { env = {}, cwd = ROOT, name, echo = false } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...OFFLINE_ENV, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let text = '';
  const collect = (chunk) => {
    const s = chunk.toString();
    text += s;
    if (echo) {
      for (const line of s.split('\n')) if (line.trim()) process.stdout.write(`${name.padEnd(10)} | ${line}\n`);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.on('exit', () => running.delete(child));
  return {
    child,
    exited,
    logText: () => text,
    async stop() {
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
      // wrangler's workerd children are in the same group; make sure none outlives it.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // group already empty
      }
    },
  };
}

async function waitFor(url, handle, what, timeoutMs = 60_000, ready = (status) => status < 500) {
  const deadline = Date.now() + timeoutMs;
  let exit = null;
  handle.exited.then((e) => {
    exit = e;
  });
  while (Date.now() < deadline) {
    if (exit) throw new Error(`${what} exited (${JSON.stringify(exit)}) before it was ready:\n${handle.logText()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (ready(response.status)) {
        await response.arrayBuffer();
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await handle.stop();
  throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${handle.logText()}`);
}

/**
 * Starts the local identity provider as a child process.
 * @param {{ port?: number, env?: Record<string, string>, echo?: boolean }} [options]
 * `env` takes the IDP_* variables of idp/server.mjs (IDP_ACCESS_TOKEN_TTL, LOG_LEVEL, …).
 */
export async function startIdp({ port, env = {}, echo = false } = {}) {
  const chosen = port ?? (await freePort());
  const handle = spawnGroup(NODE22, [join(ROOT, 'idp', 'server.mjs')], {
    env: { IDP_PORT: String(chosen), ...env },
    name: 'idp',
    echo,
  });
  const issuer = env.IDP_ISSUER ?? `http://localhost:${chosen}/`;
  await waitFor(`http://127.0.0.1:${chosen}/.well-known/openid-configuration`, handle, 'identity provider');
  return { ...handle, issuer, port: chosen, url: `http://localhost:${chosen}` };
}

/**
 * Starts one worker under `wrangler dev` on 127.0.0.1, with its own fresh local state.
 * Build first (`buildAll()`): the worker's `[build] command` is skipped here so that parallel
 * starts do not race on the build output.
 * @param {{ name: 'mcp-worker'|'todos-api', port?: number, vars?: Record<string, string>,
 *   persistTo?: string, echo?: boolean, logLevel?: string, env?: Record<string, string>,
 *   extraArgs?: string[] }} options
 * `logLevel` is wrangler's: at its default `log` the workers' own JSON log lines (console.log)
 * are shown; wrangler's `info` would hide them. `ready(status)` says which answer of the health
 * path means started (by default any below 500; a test of a refused configuration waits for 500).
 */
export async function startWorker({ name, port, vars = {}, persistTo, echo = false, logLevel = 'log', env = {}, extraArgs = [], ready }) {
  const worker = WORKERS[name];
  if (!worker) throw new Error(`unknown worker ${name}`);
  const chosen = port ?? (await freePort());
  const state = persistTo ?? mkdtempSync(join(tmpdir(), `${name}-state-`));
  const args = [
    'dev',
    '--config', worker.config,
    '--ip', '127.0.0.1',
    '--port', String(chosen),
    '--persist-to', state,
    '--log-level', logLevel,
    '--show-interactive-dev-session=false',
    ...Object.entries(vars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
    ...extraArgs,
  ];
  const handle = spawnGroup(WRANGLER, args, {
    env: {
      SKIP_WORKER_BUILD: '1',
      WRANGLER_REGISTRY_PATH: registryPath(),
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
      ...env,
    },
    name,
    echo,
  });
  await waitFor(`http://127.0.0.1:${chosen}${worker.health}`, handle, name, 60_000, ready);
  return { ...handle, port: chosen, url: `http://localhost:${chosen}`, persistTo: state };
}

/**
 * POSTs `chunks` (strings) to `url` one by one, with chunked transfer encoding, so no
 * `Content-Length` tells the worker the size up front. Stops sending once the answer has arrived
 * (a server may refuse before the end). With `end: false` the body is left open after the last
 * chunk: only a server that refuses while it reads answers at all (within `timeoutMs`); one that
 * buffers the body first waits for an end that never comes. (A body the worker leaves unread is
 * drained by `wrangler dev` before the answer goes out, so a refusal by `Content-Length` alone
 * cannot be seen this way.)
 * @returns {Promise<{ status: number, text: string, json: object | undefined }>}
 */
export function postChunked(url, headers, chunks, { end = true, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = httpRequest(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (response) => {
      answered = true;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (part) => { text += part; });
      response.on('error', reject);
      response.on('end', () => {
        clearTimeout(timer);
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        // What was not sent is not wanted: the connection is not left half-written.
        if (!request.writableFinished) request.destroy();
        resolve({ status: response.statusCode, text, json });
      });
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms${end ? '' : ' while the body was still open'}`));
    }, timeoutMs);
    // A server that answered early may close before the rest is sent: only an error before the
    // answer is a failure.
    request.on('error', (error) => {
      if (!answered) {
        clearTimeout(timer);
        reject(error);
      }
    });
    (async () => {
      for (const chunk of chunks) {
        if (answered || request.destroyed) return;
        if (!request.write(chunk)) await new Promise((resume) => request.once('drain', resume));
      }
      if (end) request.end();
    })().catch(reject);
  });
}

/**
 * A service's JSON log lines whose `event` is `name` (wrangler colours warnings and errors: the
 * escapes are taken off before the line is read).
 */
export function logEvents(service, name) {
  return service
    .logText()
    .split('\n')
    .map((line) => line.replace(/\u001b\[[0-9;]*m/g, ''))
    .map((line) => line.slice(line.indexOf('{')))
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return null;
      }
    })
    .filter((entry) => entry?.event === name);
}

/**
 * The `name` events a service has logged that `where` accepts, once there are at least `atLeast`
 * of them or `timeoutMs` has passed: wrangler passes a line on a moment after the answer it
 * belongs to, so a test that has its answer may not see the line yet.
 */
export async function loggedEvents(service, name, where = () => true, { atLeast = 1, timeoutMs = 3000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let events = logEvents(service, name).filter(where);
  while (events.length < atLeast && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    events = logEvents(service, name).filter(where);
  }
  return events;
}

/** How many `name` events the worker has logged, once there are at least `atLeast` (see `loggedEvents`). */
export async function eventCount(service, name, atLeast) {
  return (await loggedEvents(service, name, undefined, { atLeast })).length;
}
