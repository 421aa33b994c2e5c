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
//   POST /?op=refresh-kv     only the KV calls of the OAuth library's refresh grant, and nothing
//                            else: the form read, the client and the grant read, the grant and the
//                            new token record written (with expirations, records of their size),
//                            a JSON answer. The bound under any refresh grant on the library here.
const VALUE = JSON.stringify({ id: 'probe', scope: ['read:todos'], expiresAt: 0 });
// About the size of the MCP worker's records: a registered client, and a grant or token record
// (the encrypted props carry the upstream tokens).
const CLIENT = JSON.stringify({ clientId: 'probe', redirectUris: ['http://localhost:6274/oauth/callback'], clientName: 'probe', tokenEndpointAuthMethod: 'none', pad: 'x'.repeat(200) });
const RECORD = JSON.stringify({ id: 'probe', scope: ['openid', 'read:todos'], encryptedProps: 'x'.repeat(2000) });

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
      case 'refresh-kv': {
        const form = await request.formData();
        const now = Math.floor(Date.now() / 1000);
        await env.KV.get(`client:${form.get('client_id')}`, { type: 'json' });
        await env.KV.get('grant:probe', { type: 'json' });
        await env.KV.put('grant:probe', RECORD, { expiration: now + 30 * 86400 });
        await env.KV.put(`token:probe:${now % 10}`, RECORD, { expirationTtl: 3600 });
        return Response.json({ access_token: 'x'.repeat(90), token_type: 'bearer', expires_in: 3600, refresh_token: 'x'.repeat(90), scope: 'openid read:todos' });
      }
      case 'seed':
        await env.KV.put('probe', VALUE);
        await env.KV.put('client:probe', CLIENT);
        await env.KV.put('grant:probe', RECORD);
        break;
      default:
    }
    return new Response('ok');
  },
};
