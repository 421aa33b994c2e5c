#!/usr/bin/env node
// `npm run bench`: starts the whole stack as `npm run dev` does
// (identity provider, ToDos API, MCP worker; release builds; the MCP worker reaches the ToDos API
// through its Service Binding), signs in through the real OAuth flow, and measures side by side:
//
//   floor            GET /api/todos straight to the ToDos API with the user's upstream token
//   yardstick        GET /api/health on the ToDos API: no token, no KV; what a request costs the
//                    runtime itself at that moment (the machine's speed varies: compare with it)
//   list-todos /mcp  tools/call list-todos over Streamable HTTP
//   list-todos /sse  the same over the legacy HTTP+SSE transport (POST, answer on the stream;
//                    timed to the answer, when a client's call resolves; the POST's 202 apart)
//   whoami /mcp      tools/call whoami (no upstream call)
//   refresh          refresh-token grants at /token, each with the rotated token: one stack whose
//                    upstream token has most of its life (no IdP call), one whose upstream token
//                    is always near expiry (src/token_exchange.rs REFRESH_MARGIN: IdP refresh)
//
// For each: p50/p90/p99 over sequential calls after a warm-up (the scenarios taking turns in
// blocks, so that the shared machine's changes of speed fall on all alike), the workerd CPU
// milliseconds per request of each worker, then requests per second and errors at concurrency 16 for a bounded
// time. Also peak memory, the deployable bundles (`wrangler deploy --dry-run`) and the time from
// starting `node scripts/dev.mjs` (already built) to its first answer. ROUNDS rounds; the table
// shows medians with [min–max]. Writes the results between the markers of BENCHMARKS.md (the
// analysis around them is kept) and build/bench/results.json.
//
//   node scripts/bench.mjs [--rounds N] [--count N] [--blocks N] [--seconds S] [--observability on|off]
//                          [--todos-via binding|url] [--idp-rtt MS] [--token-memo S] [--skip-startup] [--skip-bundles] [--skip-profile]
//                          [--named-wasm] [--no-write]
//
// --named-wasm runs the workers from modules that keep their function names (for the profiles'
// Rust frames); the figures in BENCHMARKS.md are taken without it.

import { ensureToolchain, reexecUnderNode22 } from './lib/toolchain.mjs';

ensureToolchain();
reexecUnderNode22();

const { spawn, spawnSync } = await import('node:child_process');
const { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } = await import('node:fs');
const { cpus, release, tmpdir, totalmem } = await import('node:os');
const { join } = await import('node:path');
const { gzipSync } = await import('node:zlib');
const { randomBytes } = await import('node:crypto');
const { NODE22, OFFLINE_ENV, ROOT } = await import('./lib/toolchain.mjs');
const { WORKERS, buildAll, ensureDevVars, freePort, startWorker } = await import('../tests/support/services.mjs');
const { signedInClient, tokenRequest } = await import('../tests/support/oauth-client.mjs');
const { authorizationCodeLogin, decodeJwt } = await import('../tests/support/oidc-login.mjs');
const { CPU_CLOCK, concurrent, interleaved, openSseSession, peakRssKiB, spread, workerdPids } = await import('../tests/support/bench-measure.mjs');
const { profile } = await import('../tests/support/bench-profile.mjs');

// ── options ────────────────────────────────────────────────────────────────────────────────────
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const flag = (name) => args.includes(`--${name}`);
const ROUNDS = Number(option('rounds', 3));
const COUNT = Number(option('count', 300));
const WARMUP = Math.max(20, Math.round(COUNT / 10));
const SECONDS = Number(option('seconds', 4));
// The sequential calls of a round are made in this many blocks, the scenarios taking turns.
const BLOCKS = Number(option('blocks', 10));
const CONCURRENCY = 16;
// wrangler's local trace collector runs inside workerd and costs CPU on every request; the
// figures are taken with one setting for every scenario and say which.
const OBSERVABILITY = option('observability', 'off') === 'on';
const TODOS_VIA = option('todos-via', 'binding');
// A delay on every answer of the identity provider, standing for the internet round trip to a
// hosted one (the local provider answers over loopback in a few ms). 0 by default.
const IDP_RTT = Number(option('idp-rtt', 0));
// ACCESS_TOKEN_MEMO_SECONDS for the MCP workers (src/token_memo.rs); unset, the worker's default.
// `--token-memo 0` has the OAuth library check the token on every MCP call.
const TOKEN_MEMO = option('token-memo', undefined);
const TOKEN_MEMO_SECONDS = TOKEN_MEMO === undefined ? 30 : Number(TOKEN_MEMO);
const LOGIN = 'alice';
const SCOPE = 'openid email profile offline_access read:todos read:billing write:todos';

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

// A dev registry of our own: the Service Binding must find *this* ToDos API, not another
// `wrangler dev` of todos-api running on the machine (tests, a developer's `npm run dev`).
const registry = mkdtempSync(join(tmpdir(), 'bench-registry-'));
const workerEnv = { X_LOCAL_OBSERVABILITY: String(OBSERVABILITY), WRANGLER_REGISTRY_PATH: registry };

// ── the identity provider, in a process of its own ─────────────────────────────────────────────
const children = new Set();
const scratch = [registry];
process.on('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

// Ctrl-C or a kill: run the exit handlers (ours and services.mjs's) that stop every child group.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

async function startBenchIdp(config) {
  const child = spawn(NODE22, [join(ROOT, 'tests', 'support', 'bench-idp.mjs'), JSON.stringify(config)], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const line = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`bench IdP exited with ${code}`)));
  });
  const { issuer, config: resolved } = JSON.parse(line);
  return {
    issuer,
    config: resolved,
    async stop() {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // gone
      }
      children.delete(child);
    },
  };
}

/** IdP + ToDos API + MCP worker; `accessTokenTtl` is the IdP's upstream access token lifetime. */
async function startStack({ accessTokenTtl, withTodos }) {
  const mcpPort = await freePort();
  const mcpOrigin = `http://localhost:${mcpPort}`;
  const idp = await startBenchIdp({ port: 0, clientRedirectUris: [`${mcpOrigin}/callback`], accessTokenTtl, rttMs: IDP_RTT });
  const stack = { idp, mcpOrigin, services: [] };
  if (withTodos) {
    stack.todos = await startWorker({ name: 'todos-api', vars: { OIDC_ISSUER: idp.issuer }, env: workerEnv });
    stack.services.push(stack.todos);
  }
  stack.mcp = await startWorker({
    name: 'mcp-worker',
    port: mcpPort,
    vars: {
      PUBLIC_URL: mcpOrigin,
      OIDC_ISSUER: idp.issuer,
      AUTH0_CLIENT_ID: idp.config.clientId,
      AUTH0_CLIENT_SECRET: idp.config.clientSecret,
      CONSENT_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'info',
      ...(TOKEN_MEMO === undefined ? {} : { ACCESS_TOKEN_MEMO_SECONDS: String(TOKEN_MEMO_SECONDS) }),
      ...(TODOS_VIA === 'url' && stack.todos ? { TODOS_API_URL: `http://127.0.0.1:${stack.todos.port}` } : {}),
    },
    env: workerEnv,
  });
  stack.services.push(stack.mcp);
  stack.stop = async () => {
    await Promise.all(stack.services.map((s) => s.stop()));
    await idp.stop();
  };
  return stack;
}

// ── the calls ──────────────────────────────────────────────────────────────────────────────────
async function expectOk(response, what) {
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${what}: HTTP ${response.status} ${text.slice(0, 200)}`);
  return text;
}

/** `GET /api/todos` of the ToDos API with the user's upstream token: the answer's text. */
async function getTodos(todosUrl, upstreamToken) {
  const text = await expectOk(await fetch(`${todosUrl}/api/todos`, { headers: { authorization: `Bearer ${upstreamToken}` } }), 'GET /api/todos');
  if (!text.includes('"todos"')) throw new Error('GET /api/todos: no todos');
  return text;
}

function floorCall(todosUrl, upstreamToken) {
  return () => getTodos(todosUrl, upstreamToken);
}

/** The cheapest answer a worker gives: what the runtime itself costs per request on this machine. */
function healthCall(todosUrl) {
  return async () => {
    await expectOk(await fetch(`${todosUrl}/api/health`), 'GET /api/health');
  };
}

function mcpToolCall(mcpOrigin, token, name) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });
  return async () => {
    const response = await fetch(`${mcpOrigin}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body,
    });
    const message = JSON.parse(await expectOk(response, `tools/call ${name}`));
    if (!message.result || message.result.isError) throw new Error(`tools/call ${name}: ${JSON.stringify(message).slice(0, 200)}`);
  };
}

function sseToolCall(session, name) {
  return async () => {
    const { message, answeredAt } = await session.request('tools/call', { name, arguments: {} });
    if (!message.result || message.result.isError) throw new Error(`SSE tools/call ${name}: ${JSON.stringify(message).slice(0, 200)}`);
    return { answeredAt };
  };
}

/** A refresh-token chain: each call uses the token the previous one rotated to. */
function refreshChain(mcpOrigin, clientId, refreshToken) {
  let current = refreshToken;
  return async () => {
    const { status, body } = await tokenRequest(mcpOrigin, { grant_type: 'refresh_token', refresh_token: current, client_id: clientId });
    if (status !== 200) throw new Error(`refresh: HTTP ${status} ${JSON.stringify(body).slice(0, 200)}`);
    current = body.refresh_token;
  };
}

async function signIn(mcpOrigin) {
  const { client, tokens } = await signedInClient(mcpOrigin, { login: LOGIN, scope: SCOPE });
  return { clientId: client.client_id, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

// ── bundles and start-up ───────────────────────────────────────────────────────────────────────
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

function gzipOfDir(dir) {
  let raw = 0;
  let gz = 0;
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (name.endsWith('.map') || !statSync(file).isFile()) continue;
    const bytes = readFileSync(file);
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gz };
}

/** `wrangler deploy --dry-run` of one worker: wrangler's own "Total Upload" line, and gzip of each part. */
function bundle(config, extra = []) {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-bundle-'));
  const result = spawnSync(WRANGLER, ['deploy', '--dry-run', '--outdir', outDir, '--config', config, ...extra], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...OFFLINE_ENV, SKIP_WORKER_BUILD: '1', PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
  });
  const out = `${result.stdout}\n${result.stderr}`;
  const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(out);
  if (!match) throw new Error(`wrangler deploy --dry-run ${config}: no Total Upload line\n${out.slice(-2000)}`);
  const parts = {};
  for (const name of readdirSync(outDir)) {
    const file = join(outDir, name);
    if (name.endsWith('.map') || name === 'README.md' || !statSync(file).isFile()) continue;
    const bytes = readFileSync(file);
    parts[name] = { raw: bytes.length, gz: gzipSync(bytes, { level: 9 }).length };
  }
  rmSync(outDir, { recursive: true, force: true });
  return { uploadKiB: Number(match[1]), gzipKiB: Number(match[2]), parts };
}

const DEV_PORTS = [8788, 8789, 8790];
async function portFree(port) {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch (error) {
    return error.cause?.code === 'ECONNREFUSED';
  }
}

/** Seconds from spawning `node scripts/dev.mjs` to the MCP worker's first answer (all three up). */
async function startupSeconds() {
  for (const port of DEV_PORTS) {
    if (!(await portFree(port))) return { skipped: `port ${port} is in use (another npm run dev?)` };
  }
  const started = performance.now();
  const child = spawn(NODE22, [join(ROOT, 'scripts', 'dev.mjs')], {
    cwd: ROOT,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ...workerEnv },
  });
  children.add(child);
  let seconds = null;
  const deadline = started + 120_000;
  while (performance.now() < deadline) {
    try {
      const response = await fetch('http://127.0.0.1:8788/health', { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) {
        seconds = (performance.now() - started) / 1000;
        break;
      }
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // gone
  }
  const exited = new Promise((r) => child.on('exit', r));
  await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone
  }
  children.delete(child);
  // Let the ports close before the next start.
  for (let i = 0; i < 50 && !(await Promise.all(DEV_PORTS.map(portFree))).every(Boolean); i++) {
    await new Promise((r) => setTimeout(r, 200));
  }
  return seconds === null ? { skipped: 'no answer within 120 s' } : { seconds };
}

/** The names of the custom sections of a .wasm file. */
function customSections(file) {
  const bytes = readFileSync(file);
  const names = [];
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 0) {
      const length = leb();
      names.push(bytes.subarray(at, at + length).toString('utf8'));
    }
    at = end;
  }
  return names;
}

const WASM_OPT_ARGS = ['-Oz', '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals',
  '--enable-nontrapping-float-to-int', '--enable-reference-types', '--enable-multivalue'];

/**
 * build/ is shared with every other build on the machine (tests, `npm run dev`): wait while a
 * wasm-opt run is visibly under way (its `.opt` output exists), without touching build/.
 */
async function waitForBuilds() {
  const files = ['mcp-worker/mcp_worker_bg.wasm', 'todos-api/todos_api_bg.wasm'].map((f) => join(ROOT, 'build', f));
  for (let i = 0; i < 180 && files.some((file) => existsSync(`${file}.opt`)); i++) {
    if (i === 0) log('waiting for another build to finish');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * A private copy of what the workers run (their entry modules, build output and wrangler
 * configurations, in the same layout). `wrangler dev` watches its entry's imports and reloads
 * when they change; on a shared machine another build replaces build/ at any moment, which would
 * swap the code under test (and restart workerd) mid-measurement.
 */
function snapshot() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-snapshot-'));
  scratch.push(dir);
  const notRust = (path) => !path.endsWith('.rs');
  cpSync(join(ROOT, 'build', 'mcp-worker'), join(dir, 'build', 'mcp-worker'), { recursive: true });
  cpSync(join(ROOT, 'build', 'todos-api'), join(dir, 'build', 'todos-api'), { recursive: true });
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true, filter: notRust });
  cpSync(join(ROOT, 'wrangler.toml'), join(dir, 'wrangler.toml'));
  mkdirSync(join(dir, 'todos-api', 'src'), { recursive: true });
  cpSync(join(ROOT, 'todos-api', 'entry.mjs'), join(dir, 'todos-api', 'entry.mjs'));
  cpSync(join(ROOT, 'todos-api', 'wrangler.toml'), join(dir, 'todos-api', 'wrangler.toml'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  if (flag('named-wasm')) {
    // For the CPU profiles only: the same release modules, optimised with their function names
    // kept (wasm-opt -g), so that the profiles name Rust functions. Sizes come from build/.
    for (const crate of ['mcp-worker', 'todos-api']) {
      const stem = crate.replace(/-/g, '_');
      const out = join(dir, 'build-named', crate);
      const run = (command, argv) => {
        const result = spawnSync(command, argv, { cwd: ROOT, stdio: 'inherit' });
        if (result.status !== 0) throw new Error(`${command} failed`);
      };
      run(ensureToolchain(), ['--target', 'web', '--no-typescript', '--out-dir', out, join(ROOT, 'target', 'wasm32-unknown-unknown', 'release', `${stem}.wasm`)]);
      run(join(ROOT, 'node_modules', '.bin', 'wasm-opt'), [...WASM_OPT_ARGS, '-g', join(out, `${stem}_bg.wasm`), '-o', join(out, `${stem}_bg.wasm`)]);
    }
  }
  // startWorker (tests/support/services.mjs) starts whatever configuration WORKERS names; only
  // this process's copy of that table changes.
  WORKERS['mcp-worker'].config = join(dir, 'wrangler.toml');
  WORKERS['todos-api'].config = join(dir, 'todos-api', 'wrangler.toml');
  return dir;
}

/**
 * What the local runtime itself charges, measured on a plain JS worker (scripts/runtime-probe/) in
 * the same workerd: runtime-process CPU per answered request, and what one KV read, one KV write
 * or one outgoing Service Binding request adds to a request. Every scenario pays some of these
 * (the floor one request and one read; an MCP call one request and an outgoing request, and the
 * library's read of the token record when the token is not remembered; a refresh one request, two
 * reads and two writes), and KV costs no worker CPU in production, where it is network I/O. The
 * probe's calls are scenarios of their own, measured block by block between the others. Each
 * makes one operation, as the scenarios do: the first KV read of a request costs the runtime more
 * than the average over a loop of ten (0.66 against 0.42 ms in one run), which would understate it.
 * Two calls are whole pieces of work rather than charges: `op=refresh-kv`, the OAuth library's KV
 * calls of a refresh grant and nothing else (the bound under any refresh grant on it), and
 * `op=todos`, the floor's route written as plain JS and called with the floor's token (what the
 * floor costs with no Wasm involved).
 */

function probeScenarios(probe, upstreamToken) {
  const groups = () => ({ probe: workerdPids(probe.child.pid, { runtimeOnly: true }) });
  const call = (query) => async () => {
    const response = await fetch(`http://127.0.0.1:${probe.port}/?${query}`);
    await expectOk(response, `runtime probe ${query}`);
  };
  // The refresh grant's KV calls alone, with a form of the same shape (scripts/runtime-probe/).
  const refreshKv = async () => {
    const response = await fetch(`http://127.0.0.1:${probe.port}/?op=refresh-kv`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: `probe:probe:${'x'.repeat(32)}`, client_id: 'probe' }),
    });
    await expectOk(response, 'runtime probe op=refresh-kv');
  };
  // The floor's request, with the floor's token, answered by the ToDos API's route in plain JS.
  const todos = async () => {
    const response = await fetch(`http://127.0.0.1:${probe.port}/?op=todos`, { headers: { authorization: `Bearer ${upstreamToken}` } });
    if (!(await expectOk(response, 'runtime probe op=todos')).includes('"todos"')) throw new Error('runtime probe op=todos: no todos');
  };
  return [
    { name: 'probe:todos', call: todos, groups },
    { name: 'probe:refreshKv', call: refreshKv, groups },
    { name: 'probe:request', call: call('op=none'), groups },
    { name: 'probe:kvGet', call: call('op=get&n=1'), groups },
    { name: 'probe:kvPut', call: call('op=put&n=1'), groups },
    { name: 'probe:bindingFetch', call: call('op=fetch&n=1'), groups },
  ];
}

/** The runtime's charges from the probe scenarios' measurements. */
function probeFigures(measured) {
  const perCall = (name) => measured[`probe:${name}`].cpuPerRequest.probe;
  const request = perCall('request');
  const perOp = (name) => perCall(name) - request;
  return {
    request,
    kvGet: perOp('kvGet'),
    kvPut: perOp('kvPut'),
    bindingFetch: perOp('bindingFetch'),
    refreshKvP50: measured['probe:refreshKv'].p50,
    refreshKvCpu: perCall('refreshKv'),
    todosJs: perCall('todos'),
    todosJsP50: measured['probe:todos'].p50,
  };
}

// ── the run ────────────────────────────────────────────────────────────────────────────────────
async function main() {
  const begun = Date.now();
  log('building (release)');
  buildAll();
  await waitForBuilds();
  ensureDevVars();

  const results = { rounds: [], bundles: null, startup: [], memory: null };
  const snap = snapshot();
  results.wasm = {};
  for (const crate of ['mcp-worker', 'todos-api']) {
    const file = join(snap, 'build', crate, `${crate.replace(/-/g, '_')}_bg.wasm`);
    // Caught between another build's wasm-bindgen and wasm-opt steps: optimise the private copy.
    if (customSections(file).includes('name')) {
      log(`optimising the copy of ${crate} (build/ held a module before wasm-opt)`);
      const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'wasm-opt'), [...WASM_OPT_ARGS, '--strip-debug', '--strip-producers', file, '-o', file], { stdio: 'inherit' });
      if (result.status !== 0) throw new Error('wasm-opt failed');
    }
    results.wasm[crate] = statSync(file).size;
  }

  if (!flag('skip-bundles')) {
    log('bundles (wrangler deploy --dry-run)');
    results.bundles = {
      'mcp-worker': { configured: bundle(WORKERS['mcp-worker'].config), minify: bundle(WORKERS['mcp-worker'].config, ['--minify']) },
      'todos-api': { configured: bundle(WORKERS['todos-api'].config), minify: bundle(WORKERS['todos-api'].config, ['--minify']) },
    };
  }

  // The running workers are not minified, so that the CPU profiles name the library's functions
  // (minifying changes the upload, not the work done per request).
  for (const config of [WORKERS['mcp-worker'].config, WORKERS['todos-api'].config]) {
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^minify = true$/m, 'minify = false'));
  }
  if (flag('named-wasm')) {
    for (const crate of ['mcp-worker', 'todos-api']) {
      rmSync(join(snap, 'build', crate), { recursive: true, force: true });
      cpSync(join(snap, 'build-named', crate), join(snap, 'build', crate), { recursive: true });
    }
  }
  log(`starting the stack (X_LOCAL_OBSERVABILITY=${OBSERVABILITY}, ToDos API via ${TODOS_VIA})`);
  const main = await startStack({ withTodos: true });
  // An upstream access token of 120 s is always inside the 300 s refresh margin: every MCP refresh
  // grant refreshes upstream first. This stack has no ToDos API: refresh never calls it.
  const short = await startStack({ accessTokenTtl: 120, withTodos: false });
  WORKERS['runtime-probe'] = { config: join(ROOT, 'scripts', 'runtime-probe', 'wrangler.toml'), health: '/?op=seed' };
  const probe = await startWorker({ name: 'runtime-probe', env: workerEnv });
  try {
    // wrangler may restart a workerd process (e.g. when the dev registry changes), so the pids are
    // looked up again before each measurement.
    const groups = () => ({
      mcp: workerdPids(main.mcp.child.pid),
      todos: workerdPids(main.todos.child.pid),
      mcpRuntime: workerdPids(main.mcp.child.pid, { runtimeOnly: true }),
      todosRuntime: workerdPids(main.todos.child.pid, { runtimeOnly: true }),
    });
    const shortGroups = () => ({ mcp: workerdPids(short.mcp.child.pid), mcpRuntime: workerdPids(short.mcp.child.pid, { runtimeOnly: true }) });
    const peak = { mcp: new Map(), todos: new Map(), mcpShort: new Map() };
    const notePeaks = () => {
      for (const [key, pids] of [['mcp', groups().mcp], ['todos', groups().todos], ['mcpShort', shortGroups().mcp]]) {
        peakRssKiB(pids).forEach((kib, i) => peak[key].set(pids[i], Math.max(kib, peak[key].get(pids[i]) ?? 0)));
      }
    };
    log(`workerd pids: ${JSON.stringify({ ...groups(), mcpShort: shortGroups().mcp })}`);

    log('signing in');
    const user = await signIn(main.mcpOrigin);
    const upstream = await authorizationCodeLogin({
      issuer: main.idp.issuer,
      clientId: main.idp.config.testClientId,
      redirectUri: main.idp.config.testClientRedirectUris[0],
      scope: 'openid read:todos',
      audience: main.idp.config.audience,
      login: LOGIN,
    });
    const sse = await openSseSession(main.mcpOrigin, user.accessToken);
    await sse.request('initialize', { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
    // Refresh chains: one per concurrent loop plus one for the sequential run, per stack, made
    // once and carried on from round to round.
    const chains = async (stack) => {
      const signIns = [];
      for (let i = 0; i <= CONCURRENCY; i++) signIns.push(await signIn(stack.mcpOrigin));
      return signIns.map((s) => refreshChain(stack.mcpOrigin, s.clientId, s.refreshToken));
    };
    const chainsOnce = (stack) => {
      let made;
      return () => (made ??= chains(stack));
    };

    const todosUrl = `http://127.0.0.1:${main.todos.port}`;
    const scenarios = [
      { name: 'floor', label: 'floor: GET /api/todos (ToDos API direct)', call: floorCall(todosUrl, upstream.access_token), groups },
      { name: 'health', label: 'yardstick: GET /api/health (ToDos API direct; no token, no KV)', call: healthCall(todosUrl), groups },
      { name: 'list-mcp', label: 'tools/call list-todos over /mcp', call: mcpToolCall(main.mcpOrigin, user.accessToken, 'list-todos'), groups },
      { name: 'list-sse', label: 'tools/call list-todos over /sse (timed to the answer on the stream)', call: sseToolCall(sse, 'list-todos'), groups },
      { name: 'whoami', label: 'tools/call whoami over /mcp', call: mcpToolCall(main.mcpOrigin, user.accessToken, 'whoami'), groups },
      { name: 'refresh', label: 'refresh grant, upstream token fresh (no IdP call)', chains: chainsOnce(main), groups },
      { name: 'refresh-upstream', label: 'refresh grant, upstream token near expiry (IdP refresh)', chains: chainsOnce(short), groups: shortGroups },
    ];

    // op=todos of the probe: the floor's route in plain JS, trusting the same issuer's keys and
    // reading the same list (the floor's answer is the stored list, written the same way).
    const discovery = await (await fetch(new URL('.well-known/openid-configuration', main.idp.issuer))).json();
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    const list = await getTodos(todosUrl, upstream.access_token);
    const { sub } = decodeJwt(upstream.access_token).payload;
    await expectOk(
      await fetch(`http://127.0.0.1:${probe.port}/?op=seed-todos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ issuer: main.idp.issuer, audience: main.idp.config.audience, jwks, sub, list }),
      }),
      'runtime probe op=seed-todos',
    );
    const probes = probeScenarios(probe, upstream.access_token);
    for (let round = 1; round <= ROUNDS; round++) {
      // The sequential calls of every scenario, block by block in turn (a refresh scenario runs
      // its own chain of rotated tokens); then each scenario's concurrent load on its own.
      const sequentialOf = [];
      const concurrentOf = new Map();
      for (const scenario of scenarios) {
        let call = scenario.call;
        let concurrentCall = () => scenario.call();
        if (scenario.chains) {
          const list = await scenario.chains();
          call = list[CONCURRENCY];
          concurrentCall = (index) => list[index]();
        }
        sequentialOf.push({ name: scenario.name, call, groups: scenario.groups });
        concurrentOf.set(scenario.name, concurrentCall);
      }
      const measured = await interleaved([...sequentialOf, ...probes], { warmup: WARMUP, count: COUNT, blocks: BLOCKS });
      notePeaks();
      const figures = {};
      for (const scenario of scenarios) {
        const seq = measured[scenario.name];
        const conc = await concurrent(concurrentOf.get(scenario.name), { concurrency: CONCURRENCY, seconds: SECONDS });
        figures[scenario.name] = { ...seq, rps: conc.rps, concurrentErrors: conc.errors, concurrentOk: conc.ok };
        log(
          `round ${round} ${scenario.name.padEnd(16)} p50 ${seq.p50.toFixed(2)} p90 ${seq.p90.toFixed(2)} p99 ${seq.p99.toFixed(2)} ms` +
            ` | cpu/req ${Object.entries(seq.cpuPerRequest).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' ')} ms` +
            ` | ${conc.rps.toFixed(0)} req/s @${CONCURRENCY}, ${conc.errors} errors${seq.errors ? `, ${seq.errors} sequential errors` : ''}`,
        );
      }
      figures.runtime = probeFigures(measured);
      log(
        `round ${round} runtime probe: request ${figures.runtime.request.toFixed(2)} ms, KV get ${figures.runtime.kvGet.toFixed(3)} ms, ` +
          `KV put ${figures.runtime.kvPut.toFixed(3)} ms, Service Binding request ${figures.runtime.bindingFetch.toFixed(3)} ms of CPU; ` +
          `the refresh's KV calls alone p50 ${figures.runtime.refreshKvP50.toFixed(2)} ms, ${figures.runtime.refreshKvCpu.toFixed(2)} ms of CPU; ` +
          `the floor's route in plain JS p50 ${figures.runtime.todosJsP50.toFixed(2)} ms, ${figures.runtime.todosJs.toFixed(2)} ms of CPU`,
      );
      results.rounds.push(figures);
    }
    notePeaks();
    if (!flag('skip-profile')) {
      // CPU profiles (sampling, over the inspector) of the runtimes, per call: where the time goes.
      const PROFILE_CALLS = 150;
      const byName = Object.fromEntries(scenarios.map((s) => [s.name, s]));
      const repeat = (call) => async () => {
        for (let i = 0; i < PROFILE_CALLS; i++) await call();
      };
      const refreshChainOf = async (name) => (await byName[name].chains())[CONCURRENCY];
      const plan = [
        ['ToDos API during floor (GET /api/todos)', groups().todosRuntime[0], 'todos-api', byName.floor.call],
        ['MCP worker during list-todos over /mcp', groups().mcpRuntime[0], 'mcp-worker', byName['list-mcp'].call],
        ['MCP worker during list-todos over /sse', groups().mcpRuntime[0], 'mcp-worker', byName['list-sse'].call],
        ['ToDos API during list-todos over /mcp', groups().todosRuntime[0], 'todos-api', byName['list-mcp'].call],
        ['MCP worker during whoami over /mcp', groups().mcpRuntime[0], 'mcp-worker', byName.whoami.call],
        ['MCP worker during refresh (no IdP call)', groups().mcpRuntime[0], 'mcp-worker', await refreshChainOf('refresh')],
      ];
      results.profiles = [];
      // A call that wakes either runtime: whoami reaches the MCP worker, the floor the ToDos API.
      for (const [label, pid, hint, call] of plan) {
        const poke = hint === 'todos-api' ? byName.floor.call : byName.whoami.call;
        log(`profiling: ${label}`);
        try {
          const { raw, ...summary } = await profile(pid, hint, repeat(call), PROFILE_CALLS, poke);
          results.profiles.push({ label, calls: PROFILE_CALLS, ...summary });
          // For Chrome DevTools (Performance → Load profile) or any .cpuprofile viewer.
          writeFileSync(join(ROOT, 'build', 'bench', `profile-${results.profiles.length}.cpuprofile`), JSON.stringify(raw));
        } catch (error) {
          log(`profile failed: ${error.message}`);
        }
      }
    }
    sse.close();
    // Peaks of the processes still running at the end (VmHWM is per process, kept since its start).
    const live = { mcp: groups().mcp, todos: groups().todos, mcpShort: shortGroups().mcp };
    results.memory = Object.fromEntries(Object.entries(peak).map(([key, map]) => [key, live[key].map((pid) => map.get(pid) ?? 0)]));
    results.labels = Object.fromEntries(scenarios.map((s) => [s.name, s.label]));
  } finally {
    await main.stop();
    await short.stop();
    await probe.stop();
  }

  if (!flag('skip-startup')) {
    for (let i = 0; i < ROUNDS; i++) {
      log(`start-up of node scripts/dev.mjs, run ${i + 1}`);
      const outcome = await startupSeconds();
      results.startup.push(outcome);
      if (outcome.skipped) {
        log(`start-up skipped: ${outcome.skipped}`);
        break;
      }
      log(`first answer after ${outcome.seconds.toFixed(2)} s`);
    }
  }
  results.elapsedSeconds = (Date.now() - begun) / 1000;
  return results;
}

// ── the report ─────────────────────────────────────────────────────────────────────────────────
function versions() {
  const read = (file) => JSON.parse(readFileSync(file, 'utf8')).version;
  const lock = readFileSync(join(ROOT, 'Cargo.lock'), 'utf8');
  const crate = (name) => new RegExp(`name = "${name}"\\nversion = "([^"]+)"`).exec(lock)?.[1];
  const rustc = spawnSync('rustc', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return {
    node: process.version,
    wrangler: read(join(ROOT, 'node_modules', 'wrangler', 'package.json')),
    workerd: read(join(ROOT, 'node_modules', 'workerd', 'package.json')),
    oauthProvider: read(join(ROOT, 'node_modules', '@cloudflare', 'workers-oauth-provider', 'package.json')),
    binaryen: read(join(ROOT, 'node_modules', 'binaryen', 'package.json')),
    rustc,
    worker: crate('worker'),
    wasmBindgen: crate('wasm-bindgen'),
  };
}

const f = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const cell = (values, digits = 2) => {
  const { median, min, max } = spread(values);
  return values.length > 1 ? `${f(median, digits)} [${f(min, digits)}–${f(max, digits)}]` : f(median, digits);
};

function report(results) {
  const v = versions();
  const rounds = results.rounds;
  const names = Object.keys(rounds[0]).filter((name) => name !== 'runtime');
  const col = (name, pick) => rounds.map((r) => pick(r[name]));
  const ratio = (name, base) => rounds.map((r) => r[name].p50 / r[base].p50);
  const lines = [];
  lines.push(`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${f(results.elapsedSeconds, 0)} s.`);
  lines.push('');
  lines.push(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux ${release()}; shared with other work, so absolute figures are noisy — compare ratios.`);
  lines.push(`- Versions: Node ${v.node}, wrangler ${v.wrangler}, workerd ${v.workerd}, @cloudflare/workers-oauth-provider ${v.oauthProvider}, ${v.rustc}, worker ${v.worker}, wasm-bindgen ${v.wasmBindgen}, binaryen (wasm-opt) ${v.binaryen}.`);
  lines.push(`- Command: \`npm run bench\` (\`node scripts/bench.mjs --rounds ${ROUNDS} --count ${COUNT} --blocks ${BLOCKS} --seconds ${SECONDS} --observability ${OBSERVABILITY ? 'on' : 'off'} --todos-via ${TODOS_VIA}${IDP_RTT ? ` --idp-rtt ${IDP_RTT}` : ''}${TOKEN_MEMO === undefined ? '' : ` --token-memo ${TOKEN_MEMO_SECONDS}`}\`).`);
  lines.push(IDP_RTT
    ? `- Every answer of the identity provider is held back ${IDP_RTT} ms (\`--idp-rtt\`): a stand-in for the round trip to a hosted provider.`
    : '- The identity provider answers over loopback, with no added delay (a hosted provider such as Auth0 adds an internet round trip to each call; `--idp-rtt MS` simulates it).');
  lines.push(`- \`X_LOCAL_OBSERVABILITY=${OBSERVABILITY}\` for every worker and every figure below (wrangler's local trace collector ${OBSERVABILITY ? 'on' : 'off'}).`);
  lines.push(TOKEN_MEMO_SECONDS > 0
    ? `- The MCP worker remembers an access token the OAuth library accepted for ${TOKEN_MEMO_SECONDS} s (\`ACCESS_TOKEN_MEMO_SECONDS\`${TOKEN_MEMO === undefined ? ', its default' : ''}; \`src/token_memo.rs\`), as deployed. Each MCP scenario calls with one token, so the library reads and decrypts its record on the first call, once per ${TOKEN_MEMO_SECONDS} s, and after every \`/token\` request (which forgets what the isolate remembers): about once per block here. \`--token-memo 0\` has the library check every call.`
    : '- `ACCESS_TOKEN_MEMO_SECONDS=0` (`--token-memo 0`): the OAuth library reads and decrypts the token record on every MCP call.');
  lines.push(`- The MCP worker reaches the ToDos API through ${TODOS_VIA === 'binding' ? 'its Service Binding (as `npm run dev` does)' : 'TODOS_API_URL (a URL)'}; release builds; LOG_LEVEL=info.`);
  lines.push(`- Each figure: median of ${rounds.length} rounds, [min–max]. A round: ${WARMUP} warm-up calls of each scenario, then ${COUNT} sequential calls of each (latency, CPU) in ${BLOCKS} blocks, the scenarios and the runtime probe taking turns block by block so that the shared machine's changes of speed fall on all of them alike; then each scenario's ${CONCURRENCY} concurrent loops for ${SECONDS} s (throughput, errors).`);
  lines.push('- Yardstick: `GET /api/health` costs the runtime about what a JS worker answering `new Response(\'ok\')` does; its CPU per request shows how fast the shared machine was in that round, so CPU figures from different runs compare through it.');
  lines.push(`- CPU: ${CPU_CLOCK}, over the sequential calls ÷ calls. \`wrangler dev\` runs two \`workerd\` processes per worker: the runtime that runs the worker's code (the figure compared with the targets; in production only this exists) and wrangler's local proxy that forwards each request to it (in brackets, a local-only cost).`);
  lines.push('');
  lines.push('| scenario | p50 ms | p90 ms | p99 ms | p50 ÷ floor | MCP worker CPU ms/req: runtime (+ proxy) | ToDos API CPU ms/req: runtime (+ proxy) | req/s @16 | errors |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const cpu = (who) => rounds.map((r) => r[name].cpuPerRequest[who]).filter((x) => x !== undefined);
    const both = (who) => {
      const runtime = cpu(`${who}Runtime`);
      if (!runtime.length) return '–';
      const proxy = rounds.map((r) => r[name].cpuPerRequest[who] - r[name].cpuPerRequest[`${who}Runtime`]);
      return `${cell(runtime)} (+ ${cell(proxy)})`;
    };
    const errors = rounds.reduce((sum, r) => sum + r[name].errors + r[name].concurrentErrors, 0);
    const total = rounds.reduce((sum, r) => sum + r[name].count + r[name].concurrentOk + r[name].concurrentErrors, 0);
    lines.push(
      `| ${results.labels[name]} | ${cell(col(name, (x) => x.p50))} | ${cell(col(name, (x) => x.p90))} | ${cell(col(name, (x) => x.p99))} | ` +
        `${name === 'floor' ? '1' : cell(ratio(name, 'floor'))} | ${both('mcp')} | ${both('todos')} | ` +
        `${cell(col(name, (x) => x.rps), 0)} | ${errors} / ${total} |`,
    );
  }
  lines.push('');
  if (rounds.every((r) => r['list-sse'].p50Returned !== undefined)) {
    lines.push(
      'Over /sse a call is timed to its answer\'s arrival on the stream, the moment an MCP client\'s call resolves ' +
        '(the TypeScript SDK\'s `Protocol.request` settles on the stream\'s message and does not await the POST). ' +
        `The POST's 202, read after the answer and before the next call, took ${cell(col('list-sse', (x) => x.p50Returned))} ms p50, ` +
        `${cell(rounds.map((r) => r['list-sse'].p50Returned / r.floor.p50))} × the floor's.`,
    );
    lines.push('');
  }
  lines.push(`Refresh with an IdP call ÷ without, p50: ${cell(rounds.map((r) => r['refresh-upstream'].p50 / r.refresh.p50))} (without ÷ with: ${cell(rounds.map((r) => r.refresh.p50 / r['refresh-upstream'].p50))}).`);
  if (rounds.every((r) => r.runtime)) {
    lines.push('');
    lines.push(
      'The bound under any refresh grant on the OAuth library here: a plain JS worker in the same workerd, behind the same proxy, that makes only the KV calls of the library\'s refresh grant ' +
        '(reads the form, the client and the grant; writes the grant and the new token record, with their expirations; answers JSON; `op=refresh-kv` of `scripts/runtime-probe/`) ' +
        `answers in ${cell(rounds.map((r) => r.runtime.refreshKvP50))} ms p50 at ${cell(rounds.map((r) => r.runtime.refreshKvCpu))} ms of runtime CPU, ` +
        `${cell(rounds.map((r) => r.runtime.refreshKvP50 / r['refresh-upstream'].p50))} of the refresh with an IdP call; ` +
        `the refresh without one takes ${cell(rounds.map((r) => r.refresh.p50 - r.runtime.refreshKvP50))} ms more than it.`,
    );
  }
  lines.push('');
  if (rounds.every((r) => r.runtime)) {
    const probe = (key) => cell(rounds.map((r) => r.runtime[key]), 3);
    lines.push(
      `What the local runtime charges by itself (runtime-process CPU, ms, measured in each round, block by block between the scenarios, on a plain JS worker in the same workerd, \`scripts/runtime-probe/\`): ` +
        `an answered request ${probe('request')}; what one operation adds to it: a KV read ${probe('kvGet')}, a KV write ${probe('kvPut')}, ` +
        `an outgoing Service Binding request to the ToDos API, answer read (caller's side only) ${probe('bindingFetch')}. ` +
        `One request and one KV read, the runtime's part of the floor, thus cost ${cell(rounds.map((r) => r.runtime.request + r.runtime.kvGet))} ms together. ` +
        `The floor's whole route written as plain JS (\`op=todos\`: the same request with the same bearer token; its RS256 signature checked with WebCrypto once per token and isolate, ` +
        `its issuer, audience, expiry and scope on every call; the same list read from KV, parsed, and written back with the same headers) costs the runtime ${cell(rounds.map((r) => r.runtime.todosJs))} ms ` +
        `per request at ${cell(rounds.map((r) => r.runtime.todosJsP50))} ms p50, where the ToDos API (Rust → Wasm) costs ${cell(rounds.map((r) => r.floor.cpuPerRequest.todosRuntime))} ms ` +
        `at ${cell(rounds.map((r) => r.floor.p50))} ms p50: the ToDos API ÷ plain JS, CPU ${cell(rounds.map((r) => r.floor.cpuPerRequest.todosRuntime / r.runtime.todosJs))}. ` +
        (TOKEN_MEMO_SECONDS > 0
          ? 'The floor pays one request and one read; an MCP tool call one request and an outgoing request (the token record\'s read only when the token is not remembered); '
          : 'The floor pays one request and one read; an MCP tool call one request, the OAuth library\'s read of the token record and an outgoing request; ') +
        'a refresh grant one request, two reads (the client and the grant) and two writes (the grant and the new token record). In production KV is network I/O, not worker CPU.',
    );
    lines.push('');
    // Per round: the scenario's runtime CPU less what the probe measured for the runtime parts it pays.
    const left = (name, who, parts) =>
      cell(rounds.map((r) => r[name].cpuPerRequest[`${who}Runtime`] - parts.reduce((sum, part) => sum + r.runtime[part], 0)), 2);
    const memo = TOKEN_MEMO_SECONDS > 0;
    const mcpParts = memo ? ['request'] : ['request', 'kvGet'];
    const paid = memo ? 'a request' : 'a request and a KV read';
    lines.push(
      'Left once those charges are taken off (the worker\'s own code and the OAuth library, ms of runtime CPU per request): ' +
        `MCP worker, list-todos over /mcp ${left('list-mcp', 'mcp', [...mcpParts, 'bindingFetch'])} ` +
        `(it pays ${paid} and a Service Binding request), whoami ${left('whoami', 'mcp', mcpParts)} ` +
        `(${paid}); ToDos API, floor ${left('floor', 'todos', ['request', 'kvGet'])} (a request and a KV read).`,
    );
    lines.push('');
  }
  const kib = (bytes) => f(bytes / 1024, 1);
  lines.push('Peak memory (VmHWM, summed over the worker\'s workerd processes, in MiB; each process in brackets):');
  lines.push('');
  const mib = (list) => `${f(list.reduce((a, b) => a + b, 0) / 1024, 1)} (${list.map((x) => f(x / 1024, 1)).join(' + ')})`;
  lines.push(`- MCP worker: ${mib(results.memory.mcp)}; the second MCP worker (near-expiry refresh stack): ${mib(results.memory.mcpShort)}`);
  lines.push(`- ToDos API: ${mib(results.memory.todos)}`);
  lines.push('');
  if (results.bundles) {
    lines.push('Deployable bundles (`wrangler deploy --dry-run --outdir DIR`; wrangler\'s "Total Upload", KiB):');
    lines.push('');
    lines.push('| worker | as configured: upload / gzip | with `--minify`: upload / gzip | parts (configured; raw / gzip -9 KiB) |');
    lines.push('|---|---|---|---|');
    for (const [name, b] of Object.entries(results.bundles)) {
      const parts = Object.entries(b.configured.parts).map(([file, p]) => `${file} ${kib(p.raw)} / ${kib(p.gz)}`).join('; ');
      lines.push(`| ${name} | ${f(b.configured.uploadKiB)} / **${f(b.configured.gzipKiB)}** | ${f(b.minify.uploadKiB)} / ${f(b.minify.gzipKiB)} | ${parts} |`);
    }
    lines.push('');
  }
  if (results.wasm) {
    lines.push(`Wasm modules as run (wasm-opt output): ${Object.entries(results.wasm).map(([name, bytes]) => `${name} ${kib(bytes)} KiB`).join(', ')}.`);
    lines.push('');
  }
  if (results.profiles?.length) {
    lines.push(`CPU profiles of the worker runtimes (V8's sampling profiler over the inspector, ${results.profiles[0].calls} sequential calls after the rounds; the`);
    lines.push('profiler slows the isolate down, so only shares are given): self time by origin, then the heaviest functions. The JS bundle runs unminified here so that it names its functions.');
    lines.push('');
    for (const p of results.profiles) {
      const total = p.origins.reduce((sum, o) => sum + o.msPerCall, 0);
      lines.push(`- **${p.label}**: ${p.origins.map((o) => `${o.key} ${f((100 * o.msPerCall) / total, 0)} %`).join('; ')}.`);
      lines.push(`  Heaviest (self time share): ${p.functions.slice(0, 10).map((x) => `\`${x.key.replace(/ — .*/, '')}\` ${f((100 * x.msPerCall) / total, 0)} %`).join(', ')}.`);
    }
    lines.push('');
  }
  const ok = results.startup.filter((s) => s.seconds !== undefined).map((s) => s.seconds);
  const skipped = results.startup.find((s) => s.skipped);
  if (ok.length) {
    lines.push(`Start-up of the run command (\`node scripts/dev.mjs\`, already built; spawn → first 200 from the MCP worker's /health, by when the IdP and the ToDos API are up): ${cell(ok)} s over ${ok.length} runs.`);
  } else if (skipped) {
    lines.push(`Start-up of the run command: not measured (${skipped.skipped}).`);
  }
  return lines.join('\n');
}

const BEGIN = '<!-- bench:begin (written by scripts/bench.mjs; edit outside these markers) -->';
const END = '<!-- bench:end -->';

function write(body) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const block = `${BEGIN}\n${body}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (text.includes(BEGIN) && text.includes(END)) {
    text = text.slice(0, text.indexOf(BEGIN)) + block + text.slice(text.indexOf(END) + END.length);
  } else {
    text = `# Benchmarks\n\n\`npm run bench\` (scripts/bench.mjs) measures the stack as \`npm run dev\` runs it. The section between the markers is rewritten by each run.\n\n${block}\n${text ? `\n${text}` : ''}`;
  }
  writeFileSync(file, text);
}

try {
  const results = await main();
  const body = report(results);
  process.stdout.write(`${body}\n`);
  if (!flag('no-write')) {
    mkdirSync(join(ROOT, 'build', 'bench'), { recursive: true });
    writeFileSync(join(ROOT, 'build', 'bench', 'results.json'), JSON.stringify(results, null, 2));
    write(body);
    log('wrote BENCHMARKS.md and build/bench/results.json');
  }
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
}
