// The MCP worker refuses a configuration it cannot run safely, in the worker itself: the URL
// checks run on the runtime's WHATWG URL there (src/web_url.rs), and on the `url` crate in the
// host unit tests of src/config.rs. Each case starts the real worker under wrangler dev with one
// setting wrong and expects a plain 500 on every path (no OAuth endpoint served) and one
// `config.invalid` log line naming the setting, never its value.
//
//   node_modules/.bin/node --test tests/config-validation.test.mjs

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { buildAll, ensureDevVars, freePort, loggedEvents, startWorker } from './support/services.mjs';

const GOOD = {
  OIDC_ISSUER: 'http://localhost:8790/',
  AUTH0_CLIENT_ID: 'mcp-worker',
  AUTH0_CLIENT_SECRET: 'a-client-secret-for-config-tests',
  CONSENT_SECRET: 'config-tests-consent-secret-of-32-characters-or-more',
};

async function refusedWith(vars) {
  const port = await freePort();
  const worker = await startWorker({
    name: 'mcp-worker',
    port,
    vars: { PUBLIC_URL: `http://localhost:${port}`, ...GOOD, ...vars },
    ready: (status) => status === 500,
  });
  try {
    const answers = [];
    for (const path of ['/health', '/.well-known/oauth-authorization-server', '/mcp']) {
      const response = await fetch(`${worker.url}${path}`);
      answers.push([path, response.status, await response.text()]);
    }
    return { answers, events: await loggedEvents(worker, 'config.invalid') };
  } finally {
    await worker.stop();
  }
}

describe('the MCP worker refuses an unsafe configuration', { timeout: 120_000 }, () => {
  before(() => {
    buildAll();
    ensureDevVars();
  });

  const cases = [
    ['a PUBLIC_URL with a path', { PUBLIC_URL: 'https://mcp.example.com/mcp' }, 'PUBLIC_URL'],
    ['a PUBLIC_URL with an empty query', { PUBLIC_URL: 'https://mcp.example.com/?' }, 'PUBLIC_URL'],
    ['an http PUBLIC_URL on a public host', { PUBLIC_URL: 'http://mcp.example.com' }, 'PUBLIC_URL'],
    ['an http issuer on a public host (OAuth 2.1 §1.5)', { OIDC_ISSUER: 'http://idp.example.com/' }, 'OIDC_ISSUER'],
    ['an issuer with an empty fragment', { OIDC_ISSUER: 'https://idp.example.com/#' }, 'OIDC_ISSUER'],
    ['an issuer that is not a URL', { OIDC_ISSUER: 'idp.example.com' }, 'OIDC_ISSUER'],
    // Deployed beside a real provider, the worker would advertise localhost as its issuer.
    ['no PUBLIC_URL beside an issuer that is not on loopback', { OIDC_ISSUER: 'https://idp.example.com/', PUBLIC_URL: '' }, 'PUBLIC_URL'],
    // The user's upstream token travels to TODOS_API_URL (OAuth 2.1 §1.5, RFC 6750 §5.3).
    ['an http TODOS_API_URL on a public host', { TODOS_API_URL: 'http://api.example.com' }, 'TODOS_API_URL'],
    ['a TODOS_API_TIMEOUT_MS past a minute', { TODOS_API_TIMEOUT_MS: '600000' }, 'TODOS_API_TIMEOUT_MS'],
    ['a MAX_BODY_BYTES that is not a number', { MAX_BODY_BYTES: 'one-megabyte' }, 'MAX_BODY_BYTES'],
    // A browser's Origin never has a path: such an entry would never match, silently.
    ['an ALLOWED_ORIGINS entry with a path', { ALLOWED_ORIGINS: 'https://app.example.com/inspector' }, 'ALLOWED_ORIGINS'],
    ['an SSE_KEEPALIVE_SECONDS that is not a number', { SSE_KEEPALIVE_SECONDS: 'twenty' }, 'SSE_KEEPALIVE_SECONDS'],
  ];
  for (const [what, vars, setting] of cases) {
    test(`${what}: 500 on every path and the log names ${setting}`, async () => {
      const { answers, events } = await refusedWith(vars);
      for (const [path, status, body] of answers) {
        assert.equal(status, 500, path);
        assert.equal(body, 'Internal Server Error', path);
      }
      assert.ok(events.length >= 1, 'a config.invalid line');
      for (const event of events) {
        assert.equal(event.setting, setting);
        assert.ok(!JSON.stringify(event).includes(Object.values(vars)[0]), 'the value is not logged');
      }
    });
  }

  test('a loopback http issuer and PUBLIC_URL are accepted (RFC 8252 §8.3)', async () => {
    const port = await freePort();
    const worker = await startWorker({
      name: 'mcp-worker',
      port,
      vars: { PUBLIC_URL: `http://127.0.0.1:${port}`, ...GOOD, OIDC_ISSUER: 'http://[::1]:8790/' },
    });
    try {
      const response = await fetch(`${worker.url}/health`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'ok' });
    } finally {
      await worker.stop();
    }
  });
});
