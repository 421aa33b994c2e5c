// The npm install a fresh clone makes (`scripts/lib/toolchain.mjs` runs `npm ci`): npm must accept
// package-lock.json as committed. npm 11 refuses a lock that lacks an entry for a package another
// entry depends on, even an optional one for another platform (vite's Windows-only
// `napi-windows-process-start-time`; npm 10 let it pass), and a lock rewritten where npm left such
// a package out would break every fresh install. Checked offline, in a copy, with an empty npm
// cache, installing nothing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../scripts/lib/toolchain.mjs';

describe('installing the npm packages', () => {
  it('npm ci accepts the lock file as committed (checked offline, nothing installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    try {
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
      const result = spawnSync(
        'npm',
        ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
        {
          cwd: dir,
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, npm_config_cache: join(dir, 'cache') },
        },
      );
      assert.equal(result.status, 0, `npm ci refused the lock:\n${result.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
