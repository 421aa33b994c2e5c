#!/usr/bin/env node
// The operator's command for a user's grants, through the MCP worker's admin API
// (src/account/admin.rs). Revoking here has the same effect as the user's Revoke button: the
// client's access and refresh tokens stop working at once.
//
//   ADMIN_TOKEN=… node scripts/admin.mjs list <userId>
//   ADMIN_TOKEN=… node scripts/admin.mjs revoke <userId> <grantId>
//
// ADMIN_URL is the worker's origin (default http://localhost:8788). <userId> is the grant user
// id: the identity provider's `sub` (e.g. auth0|64f…), with any `%` and `:` percent-encoded; the
// connected-apps page and the worker's debug log show it. The token is read from the
// environment only, never from the command line (where `ps` and shell history would see it).

const USAGE = `usage:
  node scripts/admin.mjs list <userId>
  node scripts/admin.mjs revoke <userId> <grantId>
environment: ADMIN_TOKEN (required), ADMIN_URL (default http://localhost:8788)`;

function fail(message, code = 2) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const [command, userId, grantId] = process.argv.slice(2);
const token = process.env.ADMIN_TOKEN;
const base = process.env.ADMIN_URL || 'http://localhost:8788';
if (!token) fail(`ADMIN_TOKEN is not set\n${USAGE}`);
if (!['list', 'revoke'].includes(command) || !userId || (command === 'revoke' && !grantId)) fail(USAGE);

const user = encodeURIComponent(userId);
const [method, path] = command === 'list'
  ? ['GET', `/admin/users/${user}/grants`]
  : ['DELETE', `/admin/users/${user}/grants/${encodeURIComponent(grantId)}`];

let response;
try {
  response = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(15_000),
  });
} catch (error) {
  fail(`cannot reach ${base}: ${error.cause?.message ?? error.message}`, 1);
}

if (response.status === 401) fail('refused: ADMIN_TOKEN is not the worker\'s admin token', 1);
if (response.status === 404 && command === 'list') fail('not found: is ADMIN_TOKEN set on the worker?', 1);

if (command === 'revoke') {
  if (response.status === 204) {
    process.stdout.write(`revoked grant ${grantId} of ${userId}\n`);
    process.exit(0);
  }
  if (response.status === 404) fail(`${userId} has no grant ${grantId} (or the admin API is disabled)`, 1);
  fail(`unexpected answer: HTTP ${response.status} ${await response.text()}`, 1);
}

if (response.status !== 200) fail(`unexpected answer: HTTP ${response.status} ${await response.text()}`, 1);
const { grants } = await response.json();
if (process.argv.includes('--json') || !process.stdout.isTTY) {
  process.stdout.write(`${JSON.stringify(grants, null, 2)}\n`);
} else if (grants.length === 0) {
  process.stdout.write(`${userId} has no grants\n`);
} else {
  const when = (seconds) => (seconds ? new Date(seconds * 1000).toISOString().replace('.000Z', 'Z') : '-');
  for (const g of grants) {
    process.stdout.write(`${g.id}  ${g.client_name ?? '(unnamed)'}  client=${g.client_id}  to=${g.redirect_host ?? '-'}\n`
      + `    scopes: ${g.scope.join(' ')}\n    granted ${when(g.created_at)}, last refreshed ${when(g.last_refreshed_at)}\n`);
  }
}
