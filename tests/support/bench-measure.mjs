// Measuring tools for the benchmark (scripts/bench.mjs): latency loops, a bounded-time
// concurrent load, per-process CPU and peak memory from /proc, and a minimal HTTP+SSE client.
// Nothing here asserts a figure: it only measures.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * The pids of the `workerd` processes in the process group `pgid` (one `wrangler dev`). wrangler
 * runs two: its proxy (listening on the public port, forwarding each request) and the runtime
 * that runs the worker's code (the one with an inspector). With `runtimeOnly`, just the latter.
 */
export function workerdPids(pgid, { runtimeOnly = false } = {}) {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, comm]) => Number(group) === pgid && comm === 'workerd')
    .map(([pid]) => Number(pid))
    .filter((pid) => {
      if (!runtimeOnly) return true;
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--inspector-addr');
      } catch {
        return false;
      }
    });
}

/**
 * CPU time of `pids` in milliseconds: the time each of their threads spent on a CPU, summed from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds), so that a block of a few dozen calls is
 * measured precisely; where the kernel keeps no schedstat, user + system time from
 * /proc/<pid>/stat (clock ticks). Processes that are gone count 0.
 */
export function cpuMs(pids) {
  let ms = 0;
  for (const pid of pids) {
    try {
      ms += SCHEDSTAT ? threadsOnCpuMs(pid) : statMs(pid);
    } catch {
      // exited
    }
  }
  return ms;
}

const threadsOnCpuMs = (pid) => {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return ns / 1e6;
};

const statMs = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
};

/** Whether this kernel keeps per-thread schedstat (CONFIG_SCHED_INFO), checked on this process. */
const SCHEDSTAT = (() => {
  try {
    return readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ').length >= 3;
  } catch {
    return false;
  }
})();

/** How CPU time is read (for the report). */
export const CPU_CLOCK = SCHEDSTAT
  ? 'time on CPU of every thread, /proc/<pid>/task/<tid>/schedstat (ns)'
  : 'user+system time, /proc/<pid>/stat (10 ms ticks)';

/** Peak resident set (VmHWM) of each pid, in KiB. */
export function peakRssKiB(pids) {
  return pids.map((pid) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      return 0;
    }
  });
}

/** The value at quantile `q` (0..1) of sorted `values` (nearest rank). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Median, min and max of `values`. */
export function spread(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
}

/**
 * Measures `scenarios` (each `{ name, call, groups }`, `groups()` naming lists of pids) side by
 * side: each is warmed up with `warmup` calls, then the `count` calls of each are made in
 * `blocks` blocks, the scenarios taking turns block by block (in an order that rotates), so that
 * a change in the shared machine's speed falls on every scenario alike. Per scenario: latency
 * quantiles, errors, and the CPU each group of pids spent during its calls, per call. `call`
 * throws on a wrong answer. A call that resolves with `{ answeredAt }` (a `performance.now()`
 * time) is timed to that moment, the caller's answer, and the time to its return is kept apart
 * (`p50Returned`): an HTTP+SSE call's answer comes on the stream, and its POST's 202 is read
 * after it, before the next call.
 */
export async function interleaved(scenarios, { warmup, count, blocks }) {
  const state = new Map(scenarios.map((s) => [s.name, { times: [], returned: [], errors: 0, cpu: {}, calls: 0 }]));
  for (const scenario of scenarios) for (let i = 0; i < warmup; i++) await scenario.call();
  const perBlock = Math.max(1, Math.round(count / blocks));
  for (let block = 0; block < blocks; block++) {
    for (let k = 0; k < scenarios.length; k++) {
      const scenario = scenarios[(block + k) % scenarios.length];
      const mine = state.get(scenario.name);
      const groups = scenario.groups();
      const before = Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, cpuMs(pids)]));
      for (let i = 0; i < perBlock; i++) {
        const start = performance.now();
        let answeredAt;
        try {
          answeredAt = (await scenario.call())?.answeredAt;
        } catch (error) {
          mine.errors += 1;
          if (mine.errors === 1) process.stderr.write(`  ${scenario.name}: first error: ${error.message}\n`);
        }
        const returnedAt = performance.now();
        mine.times.push((answeredAt ?? returnedAt) - start);
        if (answeredAt !== undefined) mine.returned.push(returnedAt - start);
      }
      for (const [name, pids] of Object.entries(groups)) mine.cpu[name] = (mine.cpu[name] ?? 0) + cpuMs(pids) - before[name];
      mine.calls += perBlock;
    }
  }
  return Object.fromEntries(
    [...state].map(([name, { times, returned, errors, cpu, calls }]) => {
      times.sort((a, b) => a - b);
      returned.sort((a, b) => a - b);
      return [name, {
        count: calls,
        errors,
        p50: quantile(times, 0.5),
        p90: quantile(times, 0.9),
        p99: quantile(times, 0.99),
        ...(returned.length > 0 && { p50Returned: quantile(returned, 0.5) }),
        cpuPerRequest: Object.fromEntries(Object.entries(cpu).map(([group, ms]) => [group, ms / calls])),
      }];
    }),
  );
}

/**
 * `concurrency` loops each calling `call(loopIndex)` back to back for `seconds`: requests per
 * second completed, and how many failed.
 */
export async function concurrent(call, { concurrency, seconds }) {
  const deadline = performance.now() + seconds * 1000;
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, index) => {
      while (performance.now() < deadline) {
        try {
          await call(index);
          ok += 1;
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { rps: ok / elapsed, ok, errors, seconds: elapsed };
}

/**
 * A legacy HTTP+SSE MCP session (`GET /sse`, then POSTs to the announced endpoint), answering
 * each JSON-RPC request with the message of the same id that arrives on the stream.
 */
export async function openSseSession(origin, token) {
  const controller = new AbortController();
  const response = await fetch(`${origin}/sse`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`GET /sse: HTTP ${response.status} ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  // id → settle({ message, answeredAt }): the answer that came on the stream, and when
  const pending = new Map();
  let endpoint;
  let announce;
  const announced = new Promise((resolve) => {
    announce = resolve;
  });
  (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (event === 'endpoint') {
            endpoint = new URL(data, origin).href;
            announce();
          } else if (event === 'message' && data) {
            const message = JSON.parse(data);
            pending.get(message.id)?.({ message, answeredAt: performance.now() });
            pending.delete(message.id);
          }
        }
      }
    } catch {
      // aborted
    }
    for (const settle of pending.values()) settle({ message: null });
  })();
  await announced;
  let nextId = 1;
  return {
    /**
     * Posts `method`/`params`; resolves, once the POST's answer is read too, with the message of
     * the same id that came back on the stream and when it came (`performance.now()`): the moment
     * an MCP client's call resolves (the TypeScript SDK's `Protocol.request` settles on the
     * stream's message and does not await its transport's POST).
     */
    async request(method, params) {
      const id = nextId++;
      const answer = new Promise((resolve) => pending.set(id, resolve));
      const posted = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      });
      await posted.arrayBuffer();
      if (posted.status !== 202) {
        pending.delete(id);
        throw new Error(`POST ${endpoint}: HTTP ${posted.status}`);
      }
      const { message, answeredAt } = await answer;
      if (!message) throw new Error('SSE stream ended');
      return { message, answeredAt };
    },
    close: () => controller.abort(),
  };
}
