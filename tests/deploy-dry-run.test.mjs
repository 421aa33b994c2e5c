// `npm run deploy -- --dry-run`: both workers bundle from release builds, fit Cloudflare's size
// and start-up limits, and wrangler accepts the configuration of the default and the production
// environments. Nothing here needs a Cloudflare account or the network: a real upload is refused
// before any request while placeholders are left, which is also checked.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import {
  activeStartupMs,
  environmentSection,
  LIMITS,
  parseUploadSize,
  placeholdersIn,
  startupTimes,
} from '../scripts/deploy.mjs';
import { NODE22, ROOT } from '../scripts/lib/toolchain.mjs';

const ROOT_TOML = join(ROOT, 'wrangler.toml');
const TODOS_TOML = join(ROOT, 'todos-api', 'wrangler.toml');

function deployScript(args) {
  const result = spawnSync(NODE22, [join(ROOT, 'scripts', 'deploy.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** gzip size of what is uploaded: every module in the dry-run output, not its source maps. */
function bundleGzipBytes(dir) {
  return readdirSync(dir)
    .filter((f) => /\.(js|mjs|wasm)$/.test(f))
    .reduce((sum, f) => sum + gzipSync(readFileSync(join(dir, f)), { level: 9 }).length, 0);
}

for (const env of ['production', 'default']) {
  describe(`the dry run of the ${env} environment`, () => {
    const outDir = mkdtempSync(join(tmpdir(), `deploy-dry-run-${env}-`));
    let run;
    const result = () => (run ??= deployScript(['--dry-run', '--env', env, '--outdir', outDir]));

    it('builds, bundles and validates both workers, the ToDos API first', () => {
      const { status, out } = result();
      assert.equal(status, 0, out);
      assert.ok(out.indexOf('dry run: todos-api') < out.indexOf('dry run: mcp-worker'), 'service binding order');
      assert.match(out, /nothing was uploaded/);
    });

    it('binds what each worker needs', () => {
      const { out } = result();
      for (const binding of ['env.TODOS_KV', 'env.OAUTH_KV', 'env.MCP_SSE_SESSION (McpSseSession)', 'env.TODOS_API (todos-api)']) {
        assert.ok(out.includes(binding), `missing ${binding}`);
      }
    });

    it("keeps each bundle under the Free plan's 3 MiB gzip and starts well within 1 s", () => {
      result();
      const summary = JSON.parse(readFileSync(join(outDir, env, 'summary.json'), 'utf8'));
      assert.deepEqual(summary.workers.map((w) => w.worker), ['todos-api', 'mcp-worker']);
      for (const worker of summary.workers) {
        const dir = join(outDir, env, worker.worker);
        const measured = bundleGzipBytes(dir);
        assert.ok(readdirSync(dir).some((f) => f.endsWith('.wasm')), `${worker.worker}: no Wasm module in the bundle`);
        assert.ok(worker.gzipBytes < LIMITS.gzipBytesFree, `${worker.worker}: wrangler reports ${worker.gzipBytes} B gzip`);
        assert.ok(measured < LIMITS.gzipBytesFree, `${worker.worker}: ${measured} B gzip`);
        // The whole profiled start-up span, an upper bound; measured on this machine's CPU.
        assert.ok(worker.startupMs > 0 && worker.startupMs < LIMITS.startupMs, `${worker.worker}: start-up took ${worker.startupMs} ms`);
      }
    });

    it('exports the scheduled handler next to fetch in the MCP worker', () => {
      result();
      const entry = readFileSync(join(outDir, env, 'mcp-worker', 'entry.js'), 'utf8');
      // `minify = true` (wrangler.toml) renames the parameters, not the method.
      assert.match(entry, /scheduled\(\w+,\s*\w+/);
    });
  });
}

describe('a real deploy', () => {
  it('is refused, before any request, while placeholders are left in [env.production]', () => {
    const { status, out } = deployScript([]);
    assert.equal(status, 1, out);
    assert.match(out, /placeholders left in \[env\.production\]/);
    assert.match(out, /id = "0{32}"/);
    assert.ok(!out.includes('release build'), 'nothing was built or sent');
  });

  it('is refused for the top-level configuration, whose issuer is localhost', () => {
    const { status, out } = deployScript(['--env', 'default']);
    assert.equal(status, 1, out);
    assert.match(out, /deploy with --env production/);
  });
});

describe('the production configuration', () => {
  const root = readFileSync(ROOT_TOML, 'utf8');
  const todos = readFileSync(TODOS_TOML, 'utf8');
  const prod = environmentSection(root, 'production');
  const todosProd = environmentSection(todos, 'production');

  it('stores no secret and lists each with the command that sets it', () => {
    for (const secret of ['AUTH0_CLIENT_SECRET', 'CONSENT_SECRET']) {
      assert.doesNotMatch(root, new RegExp(`^\\s*${secret}\\s*=`, 'm'), `${secret} has a value in wrangler.toml`);
      assert.match(root, new RegExp(`wrangler secret put ${secret} --env production`));
    }
  });

  it('turns on Workers Logs and the hourly purge for the MCP worker', () => {
    assert.match(prod, /\[env\.production\.observability\]\nenabled = true/);
    assert.match(prod, /\[env\.production\.triggers\]\ncrons = \["0 \* \* \* \*"\]/);
    assert.match(todosProd, /\[env\.production\.observability\]\nenabled = true/);
  });

  it('points the Service Binding at the production ToDos API by name', () => {
    const name = /^name = "([^"]+)"/m.exec(todosProd)?.[1];
    assert.ok(name);
    assert.match(prod, new RegExp(`\\[\\[env\\.production\\.services\\]\\]\\nbinding = "TODOS_API"\\nservice = "${name}"`));
  });

  it('sets global_fetch_strictly_public exactly when Client ID Metadata Documents are on', () => {
    const cimdOn = /clientIdMetadataDocumentEnabled["']?\s*:\s*true/.test(
      readFileSync(join(ROOT, 'src', 'lib.rs'), 'utf8') + readFileSync(join(ROOT, 'src', 'entry.mjs'), 'utf8'),
    );
    assert.equal(/global_fetch_strictly_public/.test(prod.replace(/^\s*#.*$/gm, '')), cimdOn);
  });

  it('has no production section for an environment that does not exist', () => {
    assert.equal(environmentSection(root, 'staging'), null);
  });
});

describe('deploy.mjs helpers', () => {
  it('reads the upload size wrangler prints', () => {
    assert.deepEqual(parseUploadSize('Total Upload: 957.57 KiB / gzip: 348.01 KiB'), { totalBytes: 980552, gzipBytes: 356362 });
    assert.equal(parseUploadSize('nothing here'), null);
  });

  it('counts only the non-idle samples of a start-up profile', () => {
    const profile = {
      nodes: [{ id: 1, callFrame: { functionName: '(idle)' } }, { id: 2, callFrame: { functionName: 'initSync' } }],
      samples: [1, 2, 2, 1],
      timeDeltas: [5000, 40000, 2000, 9000],
      startTime: 1_000_000,
      endTime: 1_060_000,
    };
    assert.equal(activeStartupMs(profile), 42);
    assert.deepEqual(startupTimes(profile), { windowMs: 60, activeMs: 42 });
  });

  it('finds an environment section and ignores placeholders in comments', () => {
    const toml = '[vars]\nA = "REPLACE-top"\n[env.production]\nname = "x"\n# REPLACE-in-comment\n[[env.production.kv_namespaces]]\nid = "00000000000000000000000000000000"\n[env.production.vars]\nB = "REPLACE-b"\n[env.staging]\nC = "REPLACE-c"\n';
    const section = environmentSection(toml, 'production');
    assert.deepEqual(placeholdersIn(section), ['REPLACE-b', 'id = "00000000000000000000000000000000"']);
    assert.deepEqual(placeholdersIn('[env.production]\nname = "x"\nid = "0123456789abcdef0123456789abcdef"\n'), []);
  });
});
