// Installs what the real-client tests (tests/clients-*.test.mjs) need and npm does not bring:
//   - a Chromium for playwright-core: Debian's `chromium` package, through apt-get
//     (`npx playwright install` downloads from a CDN, which CI machines may not reach);
//   - the Python MCP SDK, pinned in tests/support/python/requirements.txt, in a project-local
//     virtual environment (.venv-tests/, git-ignored), so the machine's Python stays untouched.
// Each check is cheap when everything is there, so `npm test` runs it every time.
//
// This file must run on any Node >= 20 with no npm packages installed.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, ROOT, run } from './toolchain.mjs';

/** Debian's Chromium, the browser the tests drive (override with CHROMIUM_PATH). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The virtual environment holding the Python MCP SDK. */
export const TEST_VENV = join(ROOT, '.venv-tests');

/** Its Python interpreter. */
export const VENV_PYTHON = join(TEST_VENV, 'bin', 'python');

const REQUIREMENTS = join(ROOT, 'tests', 'support', 'python', 'requirements.txt');

/** Records which requirements.txt the venv was filled from, so an edited pin reinstalls. */
const STAMP = join(TEST_VENV, '.requirements-installed');

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Installs Debian's `chromium` with apt-get when CHROMIUM_PATH does not exist. */
export function ensureChromium() {
  if (existsSync(CHROMIUM_PATH)) return;
  if (process.env.CHROMIUM_PATH) {
    throw new Error(`CHROMIUM_PATH=${CHROMIUM_PATH} does not exist`);
  }
  const aptGet = spawnSync('apt-get', ['--version'], { stdio: 'ignore' });
  if (aptGet.error) {
    throw new Error('Chromium is missing and apt-get is not available: install Chromium and set CHROMIUM_PATH to it');
  }
  // apt-get needs root: run it directly as root (CI containers), else through sudo (which drops
  // the environment, hence the variable on its command line).
  const aptGetAsRoot = (args) => (isRoot()
    ? run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    : run('sudo', ['DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]));
  log('installing chromium (apt-get, once per machine)');
  aptGetAsRoot(['update', '-qq']);
  // With its recommended packages: they bring the fonts that pages and screenshots need.
  aptGetAsRoot(['install', '-y', '-qq', 'chromium']);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get install chromium did not provide ${CHROMIUM_PATH}`);
}

function findPython() {
  for (const candidate of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [major, minor] = probe.stdout.trim().split('.').map(Number);
    // mcp 2.x needs Python >= 3.10.
    if (major === 3 && minor >= 10) return candidate;
  }
  return null;
}

/** Creates .venv-tests/ and installs the pinned Python MCP SDK into it when missing or stale. */
export function ensurePythonSdk() {
  const wanted = readFileSync(REQUIREMENTS, 'utf8');
  if (existsSync(VENV_PYTHON) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === wanted) return;
  if (!existsSync(VENV_PYTHON)) {
    const python = findPython();
    if (!python) throw new Error('Python >= 3.10 is needed for the Python MCP SDK tests (set PYTHON to one)');
    log(`creating ${TEST_VENV} (${python} -m venv)`);
    const made = spawnSync(python, ['-m', 'venv', TEST_VENV], { stdio: 'inherit' });
    if (made.status !== 0) {
      throw new Error(`${python} -m venv failed: on Debian/Ubuntu install python3-venv (apt-get install python3-venv)`);
    }
  }
  log('installing the Python MCP SDK (pip install -r tests/support/python/requirements.txt)');
  run(VENV_PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  writeFileSync(STAMP, wanted);
}

/** Everything tests/clients-*.test.mjs need beyond the npm packages. */
export function ensureTestDependencies() {
  ensureChromium();
  ensurePythonSdk();
}

// `node scripts/lib/test-deps.mjs` installs them on its own.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  ensureTestDependencies();
}
