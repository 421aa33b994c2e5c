// Where a worker's CPU time goes: a sampling CPU profile of the workerd runtime process that runs
// it, taken over the Chrome DevTools Protocol (the inspector wrangler dev enables on that
// process), summarised by where the code comes from. Used by scripts/bench.mjs --profile.

import { execFileSync } from 'node:child_process';

/** TCP ports `pid` listens on (from `ss -ltnp`). */
function listeningPorts(pid) {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => Number(/:(\d+)\s/.exec(line.split(/\s+/)[3] + ' ')?.[1]))
    .filter(Boolean);
}

/** The inspector WebSocket URL of the first worker target of the runtime process `pid`. */
async function inspectorTarget(pid, nameHint) {
  for (const port of listeningPorts(pid)) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(1000) });
      const targets = await response.json();
      if (!Array.isArray(targets)) continue;
      const target = targets.find((t) => (t.title ?? '').includes(nameHint) || (t.url ?? '').includes(nameHint)) ?? targets[0];
      if (target?.webSocketDebuggerUrl) return target.webSocketDebuggerUrl.replace('localhost', '127.0.0.1');
    } catch {
      // not the inspector
    }
  }
  throw new Error(`no inspector found on pid ${pid}`);
}

function connect(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    let nextId = 1;
    const pending = new Map();
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(event.data);
      if (message.id && pending.has(message.id)) {
        const { settle, fail } = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) fail(new Error(message.error.message));
        else settle(message.result);
      }
    });
    socket.addEventListener('error', () => reject(new Error(`inspector ${url}: connection failed`)));
    socket.addEventListener('open', () =>
      resolve({
        send(method, params = {}) {
          const id = nextId++;
          socket.send(JSON.stringify({ id, method, params }));
          // workerd answers some Profiler commands by echoing them (no `result`); Profiler.stop
          // carries the profile.
          return new Promise((settle, fail) => {
            const timer = setTimeout(() => fail(new Error(`inspector: no answer to ${method}`)), method === 'Profiler.stop' ? 30_000 : timeoutMs);
            pending.set(id, {
              settle: (value) => (clearTimeout(timer), settle(value)),
              fail: (error) => (clearTimeout(timer), fail(error)),
            });
          });
        },
        close: () => socket.close(),
      }),
    );
  });
}

/** Where a profile node's code comes from. */
function origin(frame) {
  const { functionName: name, url } = frame;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return 'runtime (native: I/O, KV, crypto, parsing…)';
  if (url.startsWith('wasm://') || /^\$?(func|wasm-function)/.test(name)) return 'Rust (Wasm)';
  // wrangler bundles the entry, the wasm-bindgen glue and the OAuth library into one script.
  if (/entry\.(m?js)/.test(url)) return 'JS bundle (OAuth library, glue, entry)';
  return url ? `other JS (${url.replace(/^.*\//, '')})` : 'runtime built-ins (Response, Headers, KV, crypto… bindings)';
}

/**
 * Profiles the worker runtime `pid` while `run()` makes `calls` requests (`poke()` makes one
 * request outside the measured run, to wake the isolate for the inspector). Returns the CPU
 * milliseconds per call by origin, the heaviest functions (self time), and the raw profile (`raw`,
 * a DevTools `.cpuprofile`).
 */
/** Awaits `promise`, calling `poke()` every 100 ms until it settles. */
async function whileWaiting(promise, poke) {
  let settled = false;
  const result = promise.finally(() => {
    settled = true;
  });
  while (!settled) {
    await Promise.race([result.catch(() => {}), new Promise((r) => setTimeout(r, 100))]);
    if (!settled) await poke().catch(() => {});
  }
  return result;
}

export async function profile(pid, nameHint, run, calls, poke) {
  // The first inspector session of an isolate sometimes never gets answers: one retry.
  try {
    return await profileOnce(pid, nameHint, run, calls, poke, 8000);
  } catch (error) {
    if (!/no answer to Profiler.enable/.test(error.message)) throw error;
    return profileOnce(pid, nameHint, run, calls, poke, 30_000);
  }
}

/** Whether any sampled frame is an anonymous function of a script (its source names it). */
function needSources(p, self, byId) {
  return [...self.keys()].some((id) => {
    const frame = byId.get(id).callFrame;
    return !frame.functionName && frame.url && frame.scriptId;
  });
}

async function profileOnce(pid, nameHint, run, calls, poke, timeoutMs) {
  const debug = process.env.BENCH_DEBUG ? (m) => process.stderr.write(`[profile] ${m}\n`) : () => {};
  const url = await inspectorTarget(pid, nameHint);
  debug(`inspector ${url}`);
  const inspector = await connect(url, timeoutMs);
  debug('connected');
  try {
    // workerd's inspector handles a session's commands when the isolate next wakes up (a request),
    // so the commands are sent up front and requests are made while waiting for the answers.
    const ready = Promise.all([
      inspector.send('Profiler.enable'),
      inspector.send('Profiler.setSamplingInterval', { interval: 100 }),
      inspector.send('Profiler.start'),
    ]);
    await whileWaiting(ready, poke);
    debug('started');
    await run();
    debug('ran');
    const { profile: p } = await whileWaiting(inspector.send('Profiler.stop'), poke);
    debug(`stopped: ${p.samples.length} samples`);
    const byId = new Map(p.nodes.map((node) => [node.id, node]));
    const self = new Map();
    p.samples.forEach((id, index) => {
      const micros = p.timeDeltas[index + 1] ?? 0;
      self.set(id, (self.get(id) ?? 0) + micros);
    });
    // Anonymous JS functions (the wasm-bindgen glue's imports, the library's arrow functions) are
    // told apart by the start of their source text, read back over the inspector.
    const sources = new Map();
    const sourceOf = async (scriptId) => {
      if (!sources.has(scriptId)) {
        const answer = await whileWaiting(inspector.send('Debugger.getScriptSource', { scriptId }), poke).catch(() => null);
        sources.set(scriptId, answer?.scriptSource?.split('\n') ?? null);
      }
      return sources.get(scriptId);
    };
    const label = async (frame) => {
      if (frame.functionName || !frame.url || !frame.scriptId) return frame.functionName || '(anonymous)';
      const line = (await sourceOf(frame.scriptId))?.[frame.lineNumber];
      const text = line?.slice(Math.max(0, frame.columnNumber - 40), frame.columnNumber + 60).trim().replace(/\s+/g, ' ');
      return text ? `(anonymous: ${text})` : `(anonymous @${frame.lineNumber + 1}:${frame.columnNumber + 1})`;
    };
    if (needSources(p, self, byId)) await whileWaiting(inspector.send('Debugger.enable'), poke).catch(() => {});
    const byOrigin = new Map();
    const byFunction = new Map();
    for (const [id, micros] of self) {
      const frame = byId.get(id).callFrame;
      const where = origin(frame);
      byOrigin.set(where, (byOrigin.get(where) ?? 0) + micros);
      const key = `${await label(frame)} — ${where}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    }
    const perCall = (micros) => micros / 1000 / calls;
    const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([key, micros]) => ({ key, msPerCall: perCall(micros) }));
    return { raw: p, origins: sorted(byOrigin).filter((o) => o.key !== 'idle'), functions: sorted(byFunction).filter((f) => !f.key.startsWith('(idle)')).slice(0, 25) };
  } finally {
    inspector.close();
  }
}
