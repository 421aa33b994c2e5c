/**
 * The system under attack, fault and load (tests/security-*, faults-*, load-*, secrets-*): the
 * local identity provider (in this process), the ToDos API and the MCP worker (wrangler dev), with
 * an optional **fault injector** in front of the identity provider and of the ToDos API.
 *
 * The fault injector is the one fake part of these tests, and it fakes nothing but the network:
 * a tiny Node HTTP proxy that passes traffic to the real service, or — when a test says so —
 * resets the connection (the service is down), answers 503 (the service fails), or holds the
 * request past a deadline (the service is slow). Real services cannot be told to do that on cue.
 * In front of the ToDos API it can also answer 401 `invalid_token` to the requests that carry one
 * given bearer token (`reject`): what the API answers for a token whose signing key the provider
 * withdrew, or that the provider revoked, which the real parts cannot be made to do to one token.
 * It can also record every request and response body that crosses it (`tap`), so the secrets
 * test learns the upstream tokens and client secret the MCP worker exchanged with the provider,
 * and replace a response body (`rewrite`): what a provider that misbehaves, or an attacker who
 * holds its signing key, would send (an ID token for another audience, another nonce…), which
 * the real provider never sends.
 *
 * Sign-in and token requests reuse the OAuth-flow client of tests/support/oauth-client.mjs.
 *
 * @module tests/support/attack-stack
 */

import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';

import { createIdp } from '../../idp/provider.mjs';
import { authorizationCodeLogin } from './oidc-login.mjs';
import { signedInClient } from './oauth-client.mjs';
import { buildAll, ensureDevVars, freePort, startWorker } from './services.mjs';

export { eventCount, logEvents, loggedEvents } from './services.mjs';

export * from './oauth-client.mjs';

let built = false;

/**
 * A fault injector: an HTTP proxy on 127.0.0.1 in front of `target` (an origin).
 * `mode` is `pass` (default), `down` (every connection is reset), `error` (503 answers) or
 * `slow` (each request is held `delayMs` before it is passed on). Whatever the mode, a request
 * whose `Authorization` carries a token given to `reject` gets 401 `invalid_token`.
 * @param {{ target: string, name: string }} options
 */
export async function createFaultInjector({ target, name }) {
  const upstream = new URL(target);
  const state = { mode: 'pass', delayMs: 0, counts: { pass: 0, down: 0, error: 0, slow: 0, rejected: 0 } };
  const rejected = new Set();
  const taps = [];
  let rewrite;
  const sockets = new Set();
  const server = createServer((req, res) => {
    if (rejected.has(req.headers.authorization)) {
      state.counts.rejected += 1;
      res.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token", error_description="fault injector ${name}: token rejected"` });
      res.end();
      return;
    }
    const mode = state.mode;
    state.counts[mode] += 1;
    if (mode === 'down') {
      req.socket.destroy();
      return;
    }
    if (mode === 'error') {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
      res.end(`fault injector ${name}: service unavailable`);
      return;
    }
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const forward = () => {
        if (req.socket.destroyed) return;
        const requestBody = Buffer.concat(chunks);
        const proxied = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const answerChunks = [];
            answer.on('data', (chunk) => answerChunks.push(chunk));
            answer.on('end', () => {
              let body = Buffer.concat(answerChunks);
              for (const tap of taps) tap({ method: req.method, url: req.url, headers: req.headers, requestBody: requestBody.toString('utf8'), status: answer.statusCode, responseHeaders: answer.headers, responseBody: body.toString('utf8') });
              const headers = { ...answer.headers };
              const replaced = rewrite?.({ method: req.method, url: req.url, status: answer.statusCode, body: body.toString('utf8') });
              if (typeof replaced === 'string') {
                body = Buffer.from(replaced, 'utf8');
                delete headers['transfer-encoding'];
                headers['content-length'] = String(body.length);
              }
              if (res.destroyed) return;
              res.writeHead(answer.statusCode, headers);
              res.end(body);
            });
          },
        );
        proxied.on('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        proxied.end(requestBody);
      };
      if (mode === 'slow') setTimeout(forward, state.delayMs);
      else forward();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 1000;
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    name,
    port,
    url: `http://localhost:${port}`,
    counts: state.counts,
    /** Switches the fault: `pass`, `down`, `error`, or `slow` with `delayMs`. */
    set(mode, delayMs = 0) {
      state.mode = mode;
      state.delayMs = delayMs;
      if (mode === 'down') for (const socket of sockets) socket.destroy();
    },
    /** Answers 401 `invalid_token` to every request carrying `Authorization: Bearer <token>`. */
    reject(token) {
      rejected.add(`Bearer ${token}`);
    },
    /** Records every exchange that is passed through. */
    tap(fn) {
      taps.push(fn);
    },
    /**
     * Replaces response bodies: `fn({ method, url, status, body })` returns the body to send
     * instead, or undefined to pass the real one. `rewrite(undefined)` stops.
     */
    rewrite(fn) {
      rewrite = fn;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Starts the identity provider, the ToDos API and the MCP worker on free ports.
 * @param {{ idpTtl?: number, injectIdp?: boolean, injectTodos?: boolean,
 *   upstreamTimeoutMs?: number, todosTimeoutMs?: number, idpLogLevel?: string,
 *   idpLogSink?: (line: string) => void, todosLogLevel?: string, vars?: Record<string, string> }} [options]
 */
export async function startAttackStack({
  idpTtl,
  injectIdp = false,
  injectTodos = false,
  upstreamTimeoutMs,
  todosTimeoutMs = 3000,
  idpLogLevel = 'silent',
  idpLogSink,
  todosLogLevel = 'info',
  vars = {},
} = {}) {
  if (!built) {
    buildAll();
    ensureDevVars();
    built = true;
  }
  const [mcpPort, todosPort, idpPort] = [await freePort(), await freePort(), await freePort()];
  const mcpOrigin = `http://localhost:${mcpPort}`;
  const todosOrigin = `http://127.0.0.1:${todosPort}`;
  const injectors = {};
  if (injectIdp) injectors.idp = await createFaultInjector({ target: `http://127.0.0.1:${idpPort}`, name: 'identity provider' });
  if (injectTodos) injectors.todos = await createFaultInjector({ target: todosOrigin, name: 'ToDos API' });
  const idp = await createIdp({
    port: idpPort,
    // Behind the injector, the provider names the injector's address as its issuer, so every
    // call (discovery, JWKS, token, the browser's sign-in) goes through it.
    ...(injectors.idp ? { issuer: `${injectors.idp.url}/` } : {}),
    clientRedirectUris: [`${mcpOrigin}/callback`],
    logLevel: idpLogLevel,
    ...(idpLogSink ? { logSink: idpLogSink } : {}),
    ...(idpTtl ? { accessTokenTtl: idpTtl } : {}),
  });
  const consentSecret = randomBytes(32).toString('base64url');
  const started = [];
  try {
    started.push(await startWorker({
      name: 'todos-api',
      port: todosPort,
      logLevel: 'log',
      vars: { OIDC_ISSUER: idp.issuer, LOG_LEVEL: todosLogLevel },
    }));
    started.push(await startWorker({
      name: 'mcp-worker',
      port: mcpPort,
      logLevel: 'log',
      vars: {
        PUBLIC_URL: mcpOrigin,
        OIDC_ISSUER: idp.issuer,
        AUTH0_CLIENT_ID: idp.config.clientId,
        AUTH0_CLIENT_SECRET: idp.config.clientSecret,
        CONSENT_SECRET: consentSecret,
        TODOS_API_URL: injectors.todos ? injectors.todos.url.replace('localhost', '127.0.0.1') : todosOrigin,
        TODOS_API_TIMEOUT_MS: String(todosTimeoutMs),
        LOG_LEVEL: 'debug',
        ...(upstreamTimeoutMs ? { UPSTREAM_TIMEOUT_MS: String(upstreamTimeoutMs) } : {}),
        ...vars,
      },
    }));
  } catch (error) {
    await Promise.all(started.map((service) => service.stop()));
    await idp.close();
    for (const injector of Object.values(injectors)) await injector.close();
    throw error;
  }
  const [todos, worker] = started;
  return {
    mcpOrigin,
    todosOrigin,
    worker,
    todos,
    idp,
    injectors,
    consentSecret,
    /** A real OAuth flow through the MCP worker for `login`: the MCP token set and its client. */
    async signIn(login, consentScopes) {
      const { client, tokens } = await signedInClient(mcpOrigin, { login, consentScopes });
      return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, scope: tokens.scope, expiresIn: tokens.expires_in, clientId: client.client_id, client };
    },
    /** A token straight from the identity provider (its public test client) for the ToDos API. */
    async idpToken(login, scope = 'openid read:todos write:todos') {
      return authorizationCodeLogin({
        issuer: idp.issuer,
        clientId: idp.config.testClientId,
        redirectUri: idp.config.testClientRedirectUris[0],
        scope,
        audience: idp.config.audience,
        login,
      });
    },
    async stop() {
      await Promise.all(started.map((service) => service.stop()));
      await idp.close();
      for (const injector of Object.values(injectors)) await injector.close();
    },
  };
}

/** A JSON-RPC request object. */
export const rpc = (id, method, params) => ({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });

/**
 * Calls a tool over /mcp (Streamable HTTP, stateless) with a bearer token; the HTTP status, the
 * JSON-RPC message and its tool result.
 */
export async function callTool(origin, token, name, args = {}, { version = '2025-06-18', id = 1 } = {}) {
  const response = await fetch(`${origin}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': version,
    },
    body: JSON.stringify(rpc(id, 'tools/call', { name, arguments: args })),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json, result: json?.result };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
