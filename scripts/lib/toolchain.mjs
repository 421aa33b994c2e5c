// Brings the toolchain a fresh clone needs, and nothing from outside the package registries:
// the npm packages (which include a Node >= 22.12 runtime for wrangler), the wasm32 target, and a
// wasm-bindgen CLI equal to the `wasm-bindgen` version locked in Cargo.lock. Each check is cheap,
// so running it before every command keeps the "two commands" promise without slowing repeat runs.
//
// This file must run on any Node >= 20 with no npm packages installed: it is what installs them.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Node runtime that the `node` npm package brings (wrangler needs >= 22.12). */
export const NODE22 = join(ROOT, 'node_modules', '.bin', 'node');

/** Environment every wrangler process gets: nothing may reach beyond the package registries. */
export const OFFLINE_ENV = {
  // wrangler fetches the `Request.cf` object from Cloudflare at start-up unless told not to.
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
  DO_NOT_TRACK: '1',
  // The banner is what triggers the update check against the registry at every start.
  WRANGLER_HIDE_BANNER: 'true',
};

/** A line on stderr, prefixed so setup steps stand out from test output. */
export function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

/** Runs a command in the repository root; throws when it cannot start or fails. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, ...options });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

function capture(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** Installs the npm packages when node_modules is missing or older than package-lock.json. */
export function ensureNpmPackages() {
  const marker = join(ROOT, 'node_modules', '.package-lock.json');
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(marker) && existsSync(NODE22) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) {
    return;
  }
  log('installing npm packages');
  // `npm ci` installs exactly what package-lock.json pins, and fails rather than resolve anew when
  // package.json and the lock disagree (tests/install.test.mjs keeps the lock acceptable to it).
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}

/** Adds the wasm32-unknown-unknown target to the active Rust toolchain when it is missing. */
export function ensureWasmTarget() {
  const installed = capture('rustup', ['target', 'list', '--installed']);
  if (installed === null) {
    throw new Error('rustup was not found: install Rust with rustup (https://rustup.rs) first');
  }
  if (installed.split('\n').includes('wasm32-unknown-unknown')) return;
  log('adding the wasm32-unknown-unknown target');
  run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
}

/** The `wasm-bindgen` version in Cargo.lock: the CLI must be exactly this version. */
export function lockedWasmBindgenVersion() {
  const lock = readFileSync(join(ROOT, 'Cargo.lock'), 'utf8');
  const match = lock.match(/\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!match) throw new Error('Cargo.lock has no wasm-bindgen package');
  return match[1];
}

/**
 * Returns the path of a wasm-bindgen CLI equal to the locked version: the one on PATH if it
 * matches, else one installed by `cargo install` into a per-version cache folder (so a different
 * global version is left alone, and every clone on the machine shares the one build).
 */
export function ensureWasmBindgen() {
  const version = lockedWasmBindgenVersion();
  const onPath = capture('wasm-bindgen', ['--version']);
  if (onPath === `wasm-bindgen ${version}`) return 'wasm-bindgen';
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const root = join(cacheHome, 'mcp-worker-tools', `wasm-bindgen-${version}`);
  const bin = join(root, 'bin', 'wasm-bindgen');
  if (existsSync(bin)) return bin;
  log(`installing wasm-bindgen-cli ${version} (once per machine, about two minutes)`);
  // `--locked` is not used: the crate's own lockfile pins a webpki-roots that no longer resolves.
  run('cargo', ['install', 'wasm-bindgen-cli', '--version', version, '--root', root]);
  return bin;
}

/** Everything the build needs; returns the wasm-bindgen path. */
export function ensureToolchain() {
  ensureNpmPackages();
  ensureWasmTarget();
  return ensureWasmBindgen();
}

function nodeMajorMinor(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major * 1000 + minor;
}

/**
 * Re-runs the current script under the project's Node 22 when started on an older Node (the
 * machine's own Node may be 20). The parent only waits and forwards the exit code; Ctrl-C reaches
 * the child directly because both share the terminal's process group.
 */
export function reexecUnderNode22() {
  if (nodeMajorMinor(process.version) >= nodeMajorMinor('22.12')) return;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
  const result = spawnSync(NODE22, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
