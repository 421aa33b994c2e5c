#!/usr/bin/env node
// `npm run dev`: the whole system on this machine, in one terminal, on embedded defaults:
//   the local identity provider on :8790, the ToDos API on :8789, the MCP worker on :8788.
// It installs what is missing first (npm packages, a Node 22 runtime, the wasm32 target, the
// wasm-bindgen CLI), builds both workers, and stops everything it started on Ctrl-C.

import { ensureToolchain, reexecUnderNode22 } from './lib/toolchain.mjs';

ensureToolchain();
reexecUnderNode22();

const { buildAll, ensureDevVars, startIdp, startWorker } = await import('../tests/support/services.mjs');
const { KNOWN_USERS } = await import('../idp/users.mjs');

const started = [];
async function stopAll(code) {
  process.stdout.write('\nstopping…\n');
  await Promise.allSettled(started.reverse().map((s) => s.stop()));
  process.exit(code);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

try {
  buildAll();
  ensureDevVars();
  const logLevel = process.env.LOG_LEVEL || 'info';
  const idp = await startIdp({ port: 8790, env: { LOG_LEVEL: logLevel }, echo: true });
  started.push(idp);
  // `.wrangler/state` keeps KV (grants, todos) across restarts of the dev runner; the build
  // command stays on so that wrangler rebuilds a worker when its Rust source changes.
  const persist = (name) => `${process.cwd()}/.wrangler/state/${name}`;
  const watch = { SKIP_WORKER_BUILD: '0' };
  const todos = await startWorker({ name: 'todos-api', port: 8789, persistTo: persist('todos-api'), echo: true, env: watch });
  started.push(todos);
  const mcp = await startWorker({ name: 'mcp-worker', port: 8788, persistTo: persist('mcp-worker'), echo: true, env: watch });
  started.push(mcp);

  const users = KNOWN_USERS.map((u) => `    ${u.sub.padEnd(12)} ${u.name} <${u.email}>`).join('\n');
  process.stdout.write(`
  Running:
    identity provider  ${idp.issuer}   (OpenID Connect, stands in for Auth0)
    ToDos API          http://localhost:8789/api/health
    MCP worker         http://localhost:8788/mcp   (Streamable HTTP)
                       http://localhost:8788/sse   (HTTP+SSE)

  Test users (any other login name also signs in):
${users || '    alice, bob, carol'}

  Connect MCP Inspector (in another terminal, from this folder):
    PATH="$PWD/node_modules/.bin:$PATH" mcp-inspector --transport http --server-url http://localhost:8788/mcp
    then open the URL it prints and connect (SSE: --transport sse --server-url http://localhost:8788/sse).
  Or Claude Desktop through mcp-remote:  npx mcp-remote http://localhost:8788/mcp

  LOG_LEVEL=debug npm run dev  logs every OAuth step. Ctrl-C stops everything.
`);
} catch (error) {
  process.stderr.write(`\n${error.message}\n`);
  await stopAll(1);
}
