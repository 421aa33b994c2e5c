// The operator's admin API (/admin/…) and its command, scripts/admin.mjs, end to end against the
// real worker: it lists and revokes a user's grants with the same effect as the user's page, and
// it refuses requests without or with a wrong ADMIN_TOKEN; without the secret it does not exist.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../scripts/lib/toolchain.mjs';
import { callMcp, signedInClient, sseStatus, tokenRequest } from './support/oauth-client.mjs';
import { TEST_ADMIN_TOKEN, adminRequest, startAccountStack } from './support/account.mjs';

function adminCommand(workerUrl, args, token = TEST_ADMIN_TOKEN) {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'admin.mjs'), ...args], {
    env: { ...process.env, ADMIN_URL: workerUrl, ADMIN_TOKEN: token },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the admin API', () => {
  let stack;
  before(async () => {
    stack = await startAccountStack();
  });
  after(async () => {
    await stack?.stop();
  });

  test('lists a user\'s grants and revokes one: the client\'s tokens stop working', async () => {
    const grant = await signedInClient(stack.workerUrl, { login: 'judy' });
    const listed = await adminRequest(stack.workerUrl, 'GET', '/admin/users/judy/grants', TEST_ADMIN_TOKEN);
    assert.equal(listed.status, 200);
    assert.equal(listed.headers.get('cache-control'), 'no-store');
    const body = await listed.json();
    assert.equal(body.user_id, 'judy');
    assert.equal(body.grants.length, 1);
    const [g] = body.grants;
    assert.equal(g.client_id, grant.client.client_id);
    assert.equal(g.client_name, 'Test MCP Client');
    assert.equal(g.redirect_host, '127.0.0.1');
    assert.ok(g.scope.includes('read:todos'));
    assert.equal(typeof g.created_at, 'number');
    assert.ok(!JSON.stringify(body).includes(grant.tokens.access_token), 'no token in the listing');

    const unknown = await adminRequest(stack.workerUrl, 'DELETE', '/admin/users/judy/grants/no-such-grant', TEST_ADMIN_TOKEN);
    assert.equal(unknown.status, 404);
    const otherUser = await adminRequest(stack.workerUrl, 'DELETE', `/admin/users/someone-else/grants/${g.id}`, TEST_ADMIN_TOKEN);
    assert.equal(otherUser.status, 404, 'a grant is only found under its own user');
    assert.equal((await callMcp(stack.workerUrl, grant.tokens.access_token)).status, 200);

    const revoked = await adminRequest(stack.workerUrl, 'DELETE', `/admin/users/judy/grants/${g.id}`, TEST_ADMIN_TOKEN);
    assert.equal(revoked.status, 204);
    assert.equal((await callMcp(stack.workerUrl, grant.tokens.access_token)).status, 401);
    assert.equal(await sseStatus(stack.workerUrl, grant.tokens.access_token), 401);
    const refresh = await tokenRequest(stack.workerUrl, { grant_type: 'refresh_token', refresh_token: grant.tokens.refresh_token, client_id: grant.client.client_id });
    assert.equal(refresh.status, 400);
    assert.equal(refresh.body.error, 'invalid_grant');
    const after = await (await adminRequest(stack.workerUrl, 'GET', '/admin/users/judy/grants', TEST_ADMIN_TOKEN)).json();
    assert.deepEqual(after.grants, []);
  });

  test('refuses requests without the token or with a wrong one, and never acts on them', async () => {
    const grant = await signedInClient(stack.workerUrl, { login: 'ken' });
    const [g] = (await (await adminRequest(stack.workerUrl, 'GET', '/admin/users/ken/grants', TEST_ADMIN_TOKEN)).json()).grants;
    for (const token of [undefined, '', 'wrong', `${TEST_ADMIN_TOKEN}x`, TEST_ADMIN_TOKEN.slice(0, -1)]) {
      for (const [method, path] of [['GET', '/admin/users/ken/grants'], ['DELETE', `/admin/users/ken/grants/${g.id}`]]) {
        const response = await adminRequest(stack.workerUrl, method, path, token);
        assert.equal(response.status, 401, `${method} with ${JSON.stringify(token)}`);
        assert.match(response.headers.get('www-authenticate'), /^Bearer realm="admin"/);
      }
    }
    const basic = await fetch(`${stack.workerUrl}/admin/users/ken/grants`, { headers: { authorization: `Basic ${TEST_ADMIN_TOKEN}` } });
    assert.equal(basic.status, 401);
    assert.equal((await callMcp(stack.workerUrl, grant.tokens.access_token)).status, 200, 'the grant lives');
    assert.ok(!stack.worker.logText().includes(TEST_ADMIN_TOKEN), 'the admin token is never logged');
  });

  test('scripts/admin.mjs lists and revokes with the token from the environment', async () => {
    const grant = await signedInClient(stack.workerUrl, { login: 'leo' });
    const list = adminCommand(stack.workerUrl, ['list', 'leo']);
    assert.equal(list.status, 0, list.stderr);
    const grants = JSON.parse(list.stdout); // stdout is not a TTY here: JSON
    assert.equal(grants.length, 1);
    assert.equal(grants[0].client_id, grant.client.client_id);

    const wrong = adminCommand(stack.workerUrl, ['list', 'leo'], 'wrong-token');
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /refused/);
    const usage = adminCommand(stack.workerUrl, ['revoke', 'leo']);
    assert.equal(usage.status, 2);

    const revoke = adminCommand(stack.workerUrl, ['revoke', 'leo', grants[0].id]);
    assert.equal(revoke.status, 0, revoke.stderr);
    assert.match(revoke.stdout, /revoked grant/);
    assert.equal((await callMcp(stack.workerUrl, grant.tokens.access_token)).status, 401);
    assert.equal(await sseStatus(stack.workerUrl, grant.tokens.access_token), 401);
    const again = adminCommand(stack.workerUrl, ['revoke', 'leo', grants[0].id]);
    assert.equal(again.status, 1);
  });
});

describe('the admin API without ADMIN_TOKEN', () => {
  let stack;
  before(async () => {
    stack = await startAccountStack({ adminToken: '' });
  });
  after(async () => {
    await stack?.stop();
  });

  test('does not exist: 404 with or without a token', async () => {
    await signedInClient(stack.workerUrl, { login: 'mike' });
    for (const token of [undefined, '', TEST_ADMIN_TOKEN]) {
      const response = await adminRequest(stack.workerUrl, 'GET', '/admin/users/mike/grants', token);
      assert.equal(response.status, 404);
    }
    // The user's own page still works.
    assert.equal((await fetch(`${stack.workerUrl}/account`)).status, 200);
  });
});
