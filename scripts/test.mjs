#!/usr/bin/env node
// `npm test`: every test of the project, the same on a laptop and in CI (`.ci/run` calls this).
//   1. formatting and lints: cargo fmt --check, cargo clippy -D warnings (wasm32, both workers)
//   2. host unit tests of the pure Rust logic: cargo test --workspace
//   3. release builds of both workers
//   4. end-to-end tests (node:test): the real identity provider, the real workers under workerd,
//      real MCP clients
// It installs what is missing first, like `npm run dev`. Arguments are passed to `node --test`
// as file filters: `npm test -- tests/todos-api.test.mjs`.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureToolchain, reexecUnderNode22, ROOT } from './lib/toolchain.mjs';

ensureToolchain();
reexecUnderNode22();

// Chromium (Debian's package) and the Python MCP SDK for the tests with real clients.
const { ensureTestDependencies } = await import('./lib/test-deps.mjs');
ensureTestDependencies();

const { buildAll } = await import('../tests/support/services.mjs');

function section(title) {
  process.stdout.write(`\n=== ${title}\n`);
}

function run(command, args, { captureOutput = false } = {}) {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    stdio: captureOutput ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (captureOutput) {
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
  }
  return result;
}

const filters = process.argv.slice(2);
let passed = 0;
let failed = 0;
const failures = [];

if (filters.length === 0) {
  section('cargo fmt --check');
  if (run('cargo', ['fmt', '--all', '--check']).status === 0) passed += 1;
  else {
    failed += 1;
    failures.push('cargo fmt --check');
  }

  section('cargo clippy (wasm32, -D warnings)');
  const clippy = run('cargo', ['clippy', '--quiet', '--workspace', '--target', 'wasm32-unknown-unknown', '--all-targets', '--', '-D', 'warnings']);
  if (clippy.status === 0) passed += 1;
  else {
    failed += 1;
    failures.push('cargo clippy');
  }

  section('cargo test (host unit tests)');
  const unit = run('cargo', ['test', '--workspace', '--quiet'], { captureOutput: true });
  for (const match of `${unit.stdout}`.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(match[1]);
    failed += Number(match[2]);
  }
  if (unit.status !== 0) {
    failed += 1;
    failures.push('cargo test');
  }
}

section('release build of both workers');
buildAll();

section('end-to-end tests (node --test)');
// Built above: the test files' own buildAll() calls and wrangler's [build] commands skip.
process.env.SKIP_WORKER_BUILD = '1';
const files = filters.length > 0
  ? filters
  : readdirSync(join(ROOT, 'tests')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join('tests', f));
mkdirSync(join(ROOT, 'test-output'), { recursive: true });
const tap = join(ROOT, 'test-output', 'e2e.tap');
const e2e = run(process.execPath, [
  '--test', '--test-concurrency=1',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
]);
const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
const pass = summary.match(/^# pass (\d+)$/m);
const fail = summary.match(/^# fail (\d+)$/m);
passed += pass ? Number(pass[1]) : 0;
failed += fail ? Number(fail[1]) : 0;
if (e2e.status !== 0 && !(fail && Number(fail[1]) > 0)) {
  failed += 1;
  failures.push('node --test');
}

section('summary');
if (failures.length > 0) process.stdout.write(`failed steps: ${failures.join(', ')}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && e2e.status === 0 ? 0 : 1);
