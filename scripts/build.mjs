#!/usr/bin/env node
// Builds one worker's Wasm module and its JS glue:
//   cargo build --target wasm32-unknown-unknown  →  wasm-bindgen --target web  →  wasm-opt -Oz
// into build/<crate>/, which the worker's entry module imports. wrangler runs this as the
// `[build] command` of each wrangler.toml, so `wrangler dev` rebuilds on a change under src/.
//
//   node scripts/build.mjs <mcp-worker|todos-api> [--profile release|dev]
//
// BUILD_PROFILE=dev skips wasm-opt and LTO for a quick edit loop; the default is release, which is
// what is tested, benchmarked and deployed. SKIP_WORKER_BUILD=1 makes this a no-op: the test and
// dev runners build once up front and then start several wrangler processes that must not race.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureToolchain, ROOT } from './lib/toolchain.mjs';

const CRATES = ['mcp-worker', 'todos-api'];

function step(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, env: { ...process.env, ...env } });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} exited with ${result.status}`);
}

/** Where cargo keeps the registry sources (CARGO_HOME, else ~/.cargo). */
function cargoHome() {
  return process.env.CARGO_HOME || join(homedir(), '.cargo');
}

/** The rustflags already asked for, as cargo reads them (CARGO_ENCODED_RUSTFLAGS, else RUSTFLAGS). */
function encodedRustflags() {
  if (process.env.CARGO_ENCODED_RUSTFLAGS) return process.env.CARGO_ENCODED_RUSTFLAGS.split('\x1f');
  return (process.env.RUSTFLAGS || '').split(' ').filter(Boolean);
}

/** Builds `crate` with `profile`; returns the path of the optimised `_bg.wasm`. */
export function buildWorker(crate, profile = process.env.BUILD_PROFILE || 'release') {
  if (!CRATES.includes(crate)) throw new Error(`unknown crate ${crate}; expected one of ${CRATES.join(', ')}`);
  if (!['release', 'dev'].includes(profile)) throw new Error(`BUILD_PROFILE must be release or dev, not ${profile}`);
  const wasmBindgen = ensureToolchain();
  const target = 'wasm32-unknown-unknown';
  step('cargo', ['build', '--quiet', '--target', target, '-p', crate, ...(profile === 'release' ? ['--release'] : [])], {
    // Panic locations name the source files of dependencies by their absolute path in the cargo
    // home: the shipped module would carry the build machine's paths. Remapped to `/cargo`.
    CARGO_ENCODED_RUSTFLAGS: [...encodedRustflags(), `--remap-path-prefix=${cargoHome()}=/cargo`].join('\x1f'),
  });

  const artifact = join(ROOT, 'target', target, profile === 'release' ? 'release' : 'debug', `${crate.replace(/-/g, '_')}.wasm`);
  const outDir = join(ROOT, 'build', crate);
  const stem = crate.replace(/-/g, '_');
  const glue = join(outDir, `${stem}.js`);
  const wasm = join(outDir, `${stem}_bg.wasm`);
  const stamp = join(outDir, `.profile-${profile}`);
  // cargo leaves the artifact untouched when nothing changed: skip the post-processing then.
  if (existsSync(wasm) && existsSync(stamp) && statSync(wasm).mtimeMs >= statSync(artifact).mtimeMs) return wasm;

  // Post-process into a fresh folder and swap it in whole, so an interrupted build never leaves
  // a half-written or unoptimised module that a later run would take as up to date.
  const staging = `${outDir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const stagedWasm = join(staging, `${stem}_bg.wasm`);
  step(wasmBindgen, ['--target', 'web', '--no-typescript', '--out-dir', staging, artifact]);
  if (profile === 'release') {
    const optimised = `${stagedWasm}.opt`;
    // The features are the ones rustc enables by default for wasm32 today; V8 supports them all.
    step(join(ROOT, 'node_modules', '.bin', 'wasm-opt'), [
      '-Oz', '--strip-debug', '--strip-producers',
      '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals',
      '--enable-nontrapping-float-to-int', '--enable-reference-types', '--enable-multivalue',
      stagedWasm, '-o', optimised,
    ]);
    renameSync(optimised, stagedWasm);
  }
  writeFileSync(join(staging, `.profile-${profile}`), '');
  // Another build of the same crate may land between the two steps: then try once more.
  for (let attempt = 0; ; attempt += 1) {
    rmSync(outDir, { recursive: true, force: true });
    try {
      renameSync(staging, outDir);
      break;
    } catch (error) {
      if (attempt > 0 || !['ENOTEMPTY', 'EEXIST'].includes(error.code)) throw error;
    }
  }
  if (!existsSync(glue)) throw new Error(`wasm-bindgen produced no ${glue}`);
  return wasm;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env.SKIP_WORKER_BUILD === '1') process.exit(0);
  const [crate, flag, value] = process.argv.slice(2);
  const profile = flag === '--profile' ? value : undefined;
  try {
    buildWorker(crate, profile);
  } catch (error) {
    process.stderr.write(`build failed: ${error.message}\n`);
    process.exit(1);
  }
}
