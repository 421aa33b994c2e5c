/**
 * The system the MCP endpoint tests (tests/mcp-*.test.mjs) run against: the local identity
 * provider (in this process), the ToDos API and the MCP worker (wrangler dev, free ports), with
 * the MCP settings these tests exercise (allowed origins, a small body limit, a fast SSE
 * keep-alive and idle timeout). Sign-in goes through the real OAuth flow of the MCP worker
 * (tests/support/oauth-client.mjs); a ToDos API token straight from the IdP lets a test read
 * what the API holds for a user.
 *
 * @module tests/support/mcp-stack
 */

import { randomBytes } from 'node:crypto';

import { createIdp } from '../../idp/provider.mjs';
import { authorizationCodeLogin } from './oidc-login.mjs';
import { signedInClient } from './oauth-client.mjs';
import { buildAll, ensureDevVars, freePort, startWorker } from './services.mjs';

export { eventCount, logEvents, loggedEvents } from './services.mjs';

/** The browser origin these tests allow besides the worker's own. */
export const ALLOWED_ORIGIN = 'http://allowed.example';
/** MAX_BODY_BYTES for these tests. */
export const MAX_BODY_BYTES = 65536;
/** SSE timings for these tests, in seconds. */
export const SSE_KEEPALIVE_SECONDS = 1;
export const SSE_IDLE_TIMEOUT_SECONDS = 3;
/** SSE_MAX_SESSIONS_PER_USER for these tests. */
export const SSE_MAX_SESSIONS = 3;

let built = false;

/**
 * Starts the IdP, the ToDos API and the MCP worker. With `todosApiUrl`, no ToDos API is started
 * and the MCP worker calls that URL instead (a test's fake API). With `viaServiceBinding`, the
 * MCP worker reaches the ToDos API through its `TODOS_API` Service Binding, as deployed (the
 * harness gives each test process its own wrangler dev registry, so the binding can only find
 * this stack's ToDos API); otherwise through its URL.
 * @returns {Promise<{ mcpOrigin: string, todosOrigin: string, worker: object, todos: object,
 *   signIn: (login: string, consentScopes?: string[]) => Promise<{ accessToken: string, refreshToken: string, scope: string, clientId: string }>,
 *   apiTodos: (login: string) => Promise<object[]>, stopTodos: () => Promise<void>, stop: () => Promise<void> }>}
 */
export async function startMcpStack({ todosApiUrl, todosApiTimeoutMs = 3000, viaServiceBinding = false } = {}) {
  if (!built) {
    buildAll();
    ensureDevVars();
    built = true;
  }
  const [mcpPort, todosPort] = [await freePort(), await freePort()];
  const mcpOrigin = `http://localhost:${mcpPort}`;
  const todosOrigin = `http://127.0.0.1:${todosPort}`;
  const idp = await createIdp({ port: 0, clientRedirectUris: [`${mcpOrigin}/callback`], logLevel: 'silent' });
  const started = [];
  try {
    if (!todosApiUrl) {
      started.push(await startWorker({ name: 'todos-api', port: todosPort, vars: { OIDC_ISSUER: idp.issuer } }));
    }
    started.push(await startWorker({
      name: 'mcp-worker',
      port: mcpPort,
      // wrangler prints console.log lines (the worker's JSON log) only from its `log` level up.
      logLevel: 'log',
      vars: {
        PUBLIC_URL: mcpOrigin,
        OIDC_ISSUER: idp.issuer,
        AUTH0_CLIENT_ID: idp.config.clientId,
        AUTH0_CLIENT_SECRET: idp.config.clientSecret,
        CONSENT_SECRET: randomBytes(32).toString('base64url'),
        // Empty: the Service Binding.
        TODOS_API_URL: viaServiceBinding ? '' : todosApiUrl ?? todosOrigin,
        TODOS_API_TIMEOUT_MS: String(todosApiTimeoutMs),
        ALLOWED_ORIGINS: ALLOWED_ORIGIN,
        MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        SSE_KEEPALIVE_SECONDS: String(SSE_KEEPALIVE_SECONDS),
        SSE_IDLE_TIMEOUT_SECONDS: String(SSE_IDLE_TIMEOUT_SECONDS),
        SSE_MAX_SESSIONS_PER_USER: String(SSE_MAX_SESSIONS),
        LOG_LEVEL: 'debug',
      },
    }));
  } catch (error) {
    await Promise.all(started.map((service) => service.stop()));
    await idp.close();
    throw error;
  }
  const [todos, worker] = todosApiUrl ? [null, started[0]] : started;
  return {
    mcpOrigin,
    todosOrigin,
    worker,
    todos,
    /** A real OAuth flow through the MCP worker for `login`; the MCP token set. */
    async signIn(login, consentScopes) {
      const { client, tokens } = await signedInClient(mcpOrigin, { login, consentScopes });
      return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, scope: tokens.scope, clientId: client.client_id };
    },
    /** What the ToDos API holds for `login`, read with a token from the IdP's test client. */
    async apiTodos(login) {
      const tokens = await authorizationCodeLogin({
        issuer: idp.issuer,
        clientId: idp.config.testClientId,
        redirectUri: idp.config.testClientRedirectUris[0],
        scope: 'openid read:todos',
        audience: idp.config.audience,
        login,
      });
      const response = await fetch(`${todosOrigin}/api/todos`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      if (!response.ok) throw new Error(`ToDos API: HTTP ${response.status}`);
      return (await response.json()).todos;
    },
    async stopTodos() {
      await todos?.stop();
    },
    async stop() {
      await Promise.all(started.map((service) => service.stop()));
      await idp.close();
    },
  };
}

/** POSTs one JSON-RPC body to `/mcp` as a raw HTTP client; `body` may be a string. */
export async function postMcp(origin, token, body, headers = {}) {
  const response = await fetch(`${origin}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/**
 * Opens `GET /sse` as a raw client: resolves once the `endpoint` event has arrived.
 * `next(predicate, timeoutMs)` waits for the next event (or comment) that matches.
 */
export async function openSse(origin, token, headers = {}) {
  const controller = new AbortController();
  const response = await fetch(`${origin}/sse`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  if (response.status !== 200) {
    return { status: response.status, headers: response.headers, text: await response.text() };
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const queue = [];
  const waiters = [];
  let buffer = '';
  let ended = false;
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const item = { event: 'message', data: '', comment: null };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) item.comment = line.slice(1).trim();
            else if (line.startsWith('event:')) item.event = line.slice(6).trim();
            else if (line.startsWith('data:')) item.data += line.slice(5).trim();
          }
          queue.push(item);
          waiters.splice(0).forEach((wake) => wake());
        }
      }
    } catch {
      // aborted
    }
    ended = true;
    waiters.splice(0).forEach((wake) => wake());
  })();
  async function next(predicate = () => true, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = queue.findIndex(predicate);
      if (index >= 0) return queue.splice(index, 1)[0];
      if (ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an SSE event');
      await new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, left);
      });
    }
  }
  const endpointEvent = await next((item) => item.event === 'endpoint');
  return {
    status: 200,
    headers: response.headers,
    endpoint: new URL(endpointEvent.data, origin).href,
    next,
    ended: () => ended,
    done: pump,
    close: () => controller.abort(),
  };
}
