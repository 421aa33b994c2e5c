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
//   GET /?op=todos           the ToDos API's GET /api/todos written as plain JS, for the same request
//                            (the same bearer token): the token's RS256 signature checked with
//                            WebCrypto once per token and isolate (the ToDos API remembers verified
//                            tokens too), its claims and scope on every call, the user's list read
//                            from KV, parsed and written back as the answer with the same headers.
//                            What the floor's work costs when no Wasm is involved.
//   POST /?op=seed-todos     {issuer, audience, jwks, sub, list}: what op=todos trusts and reads.
const VALUE = JSON.stringify({ id: 'probe', scope: ['read:todos'], expiresAt: 0 });
// About the size of the MCP worker's records: a registered client, and a grant or token record
// (the encrypted props carry the upstream tokens).
const CLIENT = JSON.stringify({ clientId: 'probe', redirectUris: ['http://localhost:6274/oauth/callback'], clientName: 'probe', tokenEndpointAuthMethod: 'none', pad: 'x'.repeat(200) });
const RECORD = JSON.stringify({ id: 'probe', scope: ['openid', 'read:todos'], encryptedProps: 'x'.repeat(2000) });

// op=todos: what it trusts (read from KV once per isolate) and the tokens it has verified.
let trust;
const verified = new Map();
const MAX_VERIFIED = 512;

const fromBase64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const decodeJson = (text) => JSON.parse(new TextDecoder().decode(fromBase64url(text)));
const refuse = (status, error) =>
  new Response(JSON.stringify({ error }), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });

async function loadTrust(env) {
  const { issuer, audience, jwks } = JSON.parse(await env.KV.get('trust'));
  const keys = new Map();
  for (const jwk of jwks.keys) {
    if (jwk.kty !== 'RSA' || (jwk.use && jwk.use !== 'sig')) continue;
    keys.set(jwk.kid, await crypto.subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']));
  }
  return { issuer, audience, keys };
}

/** The verified claims of the request's bearer token, or null. */
async function authenticate(request, env) {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(request.headers.get('Authorization') ?? '');
  if (!match) return null;
  const token = match[1];
  let claims = verified.get(token);
  if (!claims) {
    trust ??= await loadTrust(env);
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const header = decodeJson(parts[0]);
    const key = header.alg === 'RS256' ? trust.keys.get(header.kid) : undefined;
    if (!key) return null;
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    if (!(await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, fromBase64url(parts[2]), signed))) return null;
    claims = decodeJson(parts[1]);
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(token, claims);
  }
  const now = Date.now() / 1000;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const fresh = typeof claims.exp === 'number' && now < claims.exp + 60 && !(claims.nbf > now + 60);
  if (claims.iss !== trust.issuer || !audiences.includes(trust.audience) || !fresh || typeof claims.sub !== 'string') return null;
  return claims;
}

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
      case 'todos': {
        if (request.method !== 'GET' || url.pathname !== '/') return refuse(405, 'method_not_allowed');
        const claims = await authenticate(request, env);
        if (!claims) return refuse(401, 'invalid_token');
        if (!String(claims.scope ?? '').split(' ').includes('read:todos')) return refuse(403, 'insufficient_scope');
        const stored = await env.KV.get(`todos:${claims.sub}`);
        if (stored === null) return refuse(404, 'not_found');
        return new Response(JSON.stringify(JSON.parse(stored)), { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
      }
      case 'seed-todos': {
        const { issuer, audience, jwks, sub, list } = await request.json();
        await env.KV.put('trust', JSON.stringify({ issuer, audience, jwks }));
        await env.KV.put(`todos:${sub}`, list);
        trust = undefined;
        verified.clear();
        break;
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
