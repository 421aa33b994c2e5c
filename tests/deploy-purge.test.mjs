// The Cron Trigger's KV sweep (src/purge.rs), run in workerd through `wrangler dev
// --test-scheduled`, against grants made through the real OAuth flow (the local identity
// provider, consent, sign-in, code exchange).
//
// Expiry cannot be made to happen for real: the library refuses lifetimes under 60 s and writes
// each grant with a KV expiration at its `expiresAt` (clamped to at least 65 s ahead), so KV
// removes an expired grant by itself. What the sweep exists for is a grant KV did *not* expire:
// one written with no KV expiration (0.x, `refreshTokenTTL: undefined`) or still inside the clamp
// window. The test makes that state by rewriting a real grant in the library's own format (the
// record it stored, `expiresAt` moved an hour into the past, its key metadata kept) into local KV
// with no expiration — a simulated record, named as such below. The orphaned grant (its client
// registration deleted) is real: that is exactly what an expired registration leaves.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createIdp } from '../idp/provider.mjs';
import { callMcp, signedInClient, tokenRequest } from './support/oauth-client.mjs';
import { localOauthKv, startCronWorker, triggerCron } from './support/deploy-worker.mjs';
import { buildAll, ensureDevVars, freePort, loggedEvents } from './support/services.mjs';

const CRON = '0 * * * *';

/** `userId:grantId:secret` (the library's token format) → the grant's KV key. */
function grantKeyOf(token) {
  const [userId, grantId] = token.split(':');
  return `grant:${userId}:${grantId}`;
}

describe('the scheduled KV purge', () => {
  let idp;
  let worker;
  let vars;
  const grants = {};

  before(async () => {
    buildAll();
    ensureDevVars();
    const port = await freePort();
    const workerUrl = `http://localhost:${port}`;
    idp = await createIdp({ port: await freePort(), clientRedirectUris: [`${workerUrl}/callback`], logLevel: 'silent' });
    vars = { PUBLIC_URL: workerUrl, OIDC_ISSUER: idp.issuer, LOG_LEVEL: 'info' };
    worker = await startCronWorker({ vars, port });

    // Three real grants, each through registration, consent, upstream sign-in and code exchange.
    for (const [name, login] of [['expired', 'alice'], ['live', 'bob'], ['orphaned', 'carol']]) {
      const { client, tokens } = await signedInClient(worker.url, { login });
      grants[name] = { client, tokens, key: grantKeyOf(tokens.access_token) };
      assert.equal((await callMcp(worker.url, tokens.access_token)).status, 200, `${name}'s token works before the purge`);
    }

    // The worker owns its local KV while it runs: stop it to edit the store, start it again on it.
    const { persistTo } = worker;
    await worker.stop();
    const kv = localOauthKv(persistTo);

    // SIMULATED: the 'expired' grant as KV would hold it had KV not expired it — the library's
    // own record, `expiresAt` an hour ago, rewritten with its key metadata and no KV expiration.
    const [entry] = kv.list(grants.expired.key).filter((k) => k.name === grants.expired.key);
    assert.ok(entry, 'the expired grant is in KV before the purge');
    const record = JSON.parse(kv.get(grants.expired.key));
    assert.ok(typeof record.expiresAt === 'number', 'a grant with a refresh token carries expiresAt');
    record.expiresAt = Math.floor(Date.now() / 1000) - 3600;
    kv.put(grants.expired.key, JSON.stringify(record), { metadata: entry.metadata });

    // REAL: the 'orphaned' grant's client registration is gone (as after its 90-day TTL).
    kv.delete(`client:${grants.orphaned.client.client_id}`);

    worker = await startCronWorker({ vars, port, persistTo });
    // Access-token checks read only the token record, so until the sweep both stale grants'
    // tokens still work: ending them is the purge's doing, not a side effect of the edits above.
    for (const name of ['expired', 'orphaned']) {
      assert.equal((await callMcp(worker.url, grants[name].tokens.access_token)).status, 200, `${name}'s token works until the purge`);
    }
  });

  after(async () => {
    await worker?.stop();
    await idp?.close();
  });

  it('runs the scheduled handler without error', async () => {
    const run = await triggerCron(worker.url, CRON);
    assert.equal(run.status, 200, run.text);
    // The run's summary line (src/purge.rs): the two stale grants went, nothing failed.
    const [summary] = await loggedEvents(worker, 'purge.finished');
    assert.ok(summary, `no purge.finished line in:\n${worker.logText()}`);
    assert.equal(summary.grants_purged, 2);
    assert.equal(summary.sweep_complete, true);
    assert.ok(!worker.logText().includes('purge.failed'));
  });

  it("revokes the expired grant: its access token is refused and its refresh token ends", async () => {
    assert.equal((await callMcp(worker.url, grants.expired.tokens.access_token)).status, 401);
    const refresh = await tokenRequest(worker.url, {
      grant_type: 'refresh_token',
      refresh_token: grants.expired.tokens.refresh_token,
      client_id: grants.expired.client.client_id,
    });
    assert.equal(refresh.status, 400);
    assert.equal(refresh.body.error, 'invalid_grant');
  });

  it('revokes the grant whose client registration is gone', async () => {
    assert.equal((await callMcp(worker.url, grants.orphaned.tokens.access_token)).status, 401);
  });

  it('keeps the live grant: its access token works and it still refreshes', async () => {
    assert.equal((await callMcp(worker.url, grants.live.tokens.access_token)).status, 200);
    const refresh = await tokenRequest(worker.url, {
      grant_type: 'refresh_token',
      refresh_token: grants.live.tokens.refresh_token,
      client_id: grants.live.client.client_id,
    });
    assert.equal(refresh.status, 200, JSON.stringify(refresh.body));
    assert.equal((await callMcp(worker.url, refresh.body.access_token)).status, 200);
  });

  it('leaves KV with the live grant, no records of the purged ones, and no cursor', async () => {
    // A second run finds nothing more and still completes the sweep.
    const again = await triggerCron(worker.url, CRON);
    assert.equal(again.status, 200, again.text);
    const { persistTo } = worker;
    await worker.stop();
    const kv = localOauthKv(persistTo);
    const keys = kv.list().map((k) => k.name);
    assert.ok(keys.includes(grants.live.key), 'the live grant stays');
    for (const name of ['expired', 'orphaned']) {
      const { key } = grants[name];
      assert.ok(!keys.includes(key), `the ${name} grant is gone`);
      const tokenPrefix = `token:${key.slice('grant:'.length)}:`;
      assert.deepEqual(keys.filter((k) => k.startsWith(tokenPrefix)), [], `the ${name} grant's tokens are gone`);
    }
    assert.ok(!keys.includes('purge-cursor'), 'a finished sweep leaves no cursor behind');
    worker = await startCronWorker({ vars, port: worker.port, persistTo });
  });
});
