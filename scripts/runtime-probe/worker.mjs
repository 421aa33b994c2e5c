// The benchmark's runtime probe (scripts/bench.mjs): a plain JS worker in the same local workerd,
// so that each run states what the runtime itself charges, in CPU, for an answered request, a KV
// read, a KV write and an outgoing Service Binding request. In production KV is network I/O; under `wrangler dev` it is simulated inside
// the runtime process, and every scenario of the benchmark pays for it. Never deployed.
//
//   GET /?op=none            answers 'ok' (the cost of a request)
//   GET /?op=get&n=N         N reads of one small key
//   GET /?op=put&n=N         N writes (ten keys in turn, with a TTL as the OAuth library writes)
//   GET /?op=fetch&n=N       N requests to the ToDos API's /api/health through a Service Binding,
//                            each answer read whole (what the MCP worker's tool call does)
const VALUE = JSON.stringify({ id: 'probe', scope: ['read:todos'], expiresAt: 0 });

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Math.min(Number(url.searchParams.get('n') ?? 0) || 0, 10_000);
    switch (url.searchParams.get('op')) {
      case 'get':
        for (let i = 0; i < n; i++) await env.KV.get('probe');
        break;
      case 'put':
        for (let i = 0; i < n; i++) await env.KV.put(`probe-${i % 10}`, VALUE, { expirationTtl: 3600 });
        break;
      case 'fetch':
        for (let i = 0; i < n; i++) await (await env.TODOS.fetch('http://todos-api/api/health')).text();
        break;
      case 'seed':
        await env.KV.put('probe', VALUE);
        break;
      default:
    }
    return new Response('ok');
  },
};
