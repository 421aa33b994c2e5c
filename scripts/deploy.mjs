#!/usr/bin/env node
// `npm run deploy`: builds release bundles of both workers and deploys them to Cloudflare, the
// ToDos API first (the MCP worker's Service Binding names it, and an upload whose binding points
// at a missing worker fails), then the MCP worker.
//
//   npm run deploy                        deploy the production environment ([env.production])
//   npm run deploy -- --dry-run           everything but the upload: build, bundle, validate the
//                                         configuration, measure size and start-up time
//   npm run deploy -- --env <name>        another environment; `--env default` is the top-level
//                                         (local) configuration, accepted for --dry-run only
//   npm run deploy -- --dry-run --outdir DIR   where the dry-run bundles go (default build/deploy)
//   npm run deploy -- --secrets-file FILE      the MCP worker's secrets (.env or JSON) to upload
//                                         with it: needed on the first deploy, see below
//
// The MCP worker declares its secrets (`[env.production.secrets] required`), so wrangler refuses
// to deploy it while one is unset, and `wrangler secret put` cannot set one before the worker
// exists: the first deploy passes them in a file, later ones inherit them.
//
// Like `npm run dev`, it first installs what is missing (npm packages, Node 22 for wrangler, the
// wasm32 target, the wasm-bindgen CLI). A real upload needs `wrangler login` or
// CLOUDFLARE_API_TOKEN; a dry run needs no account and no network.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureToolchain, OFFLINE_ENV, reexecUnderNode22, ROOT } from './lib/toolchain.mjs';

/** The deploy order: a worker comes after every worker its Service Bindings name. */
export const DEPLOY_ORDER = [
  { name: 'todos-api', config: join(ROOT, 'todos-api', 'wrangler.toml') },
  { name: 'mcp-worker', config: join(ROOT, 'wrangler.toml') },
];

/**
 * Cloudflare's limits that a bundle must fit (developers.cloudflare.com/workers/platform/limits):
 * the compressed upload (3 MiB on the Free plan, 10 MiB on Paid) and the start-up time (the global
 * scope, here the Wasm instantiation, must finish within 1 s). The checks use the Free plan's.
 */
export const LIMITS = {
  gzipBytesFree: 3 * 1024 * 1024,
  gzipBytesPaid: 10 * 1024 * 1024,
  startupMs: 1000,
};

/** Placeholders the wrangler files ship with; a real upload is refused while one is left. */
const PLACEHOLDERS = [/REPLACE-[\w.-]*/g, /id = "0{32}"/g];

function usage(message) {
  process.stderr.write(`${message}\nusage: node scripts/deploy.mjs [--dry-run] [--env <name>|default] [--outdir DIR] [--secrets-file FILE]\n`);
  process.exit(2);
}

/** Parses the command line. */
export function parseArgs(argv) {
  const options = { dryRun: false, env: 'production', outDir: join(ROOT, 'build', 'deploy'), secretsFile: null };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined) usage(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--env' || arg === '-e') options.env = value();
    else if (arg.startsWith('--env=')) options.env = arg.slice('--env='.length);
    else if (arg === '--outdir') options.outDir = resolve(value());
    else if (arg.startsWith('--outdir=')) options.outDir = resolve(arg.slice('--outdir='.length));
    else if (arg === '--secrets-file') options.secretsFile = resolve(value());
    else usage(`unknown argument ${arg}`);
  }
  if (options.env === '' || options.env === 'default') options.env = null;
  return options;
}

/**
 * The text of `[env.<name>]` and its sub-tables in a wrangler.toml, up to the next environment.
 * A plain scan, not a TOML parser: the project has no TOML dependency, and the placeholders it
 * looks for are distinctive strings.
 */
export function environmentSection(toml, env) {
  const lines = toml.split('\n');
  const inEnv = (line, name) => new RegExp(`^\\s*\\[\\[?env\\.${name}[\\].]`).test(line);
  const start = lines.findIndex((line) => inEnv(line, env));
  if (start < 0) return null;
  const rest = lines.slice(start);
  const end = rest.findIndex((line) => /^\s*\[\[?env\./.test(line) && !inEnv(line, env));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}

/** The placeholders in a section's values. Comments may mention them (and do, to explain them). */
export function placeholdersIn(section) {
  const values = section
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  return PLACEHOLDERS.flatMap((pattern) => values.match(pattern) ?? []);
}

/** The placeholders still in `env`'s section of `config` (empty when it is ready to upload). */
export function placeholdersLeft(config, env) {
  const section = environmentSection(readFileSync(config, 'utf8'), env);
  if (section === null) throw new Error(`${config} has no [env.${env}] section`);
  return placeholdersIn(section);
}

function wrangler(args, { capture = false } = {}) {
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'wrangler'), args, {
    cwd: ROOT,
    // The bundles are built once, up front: wrangler's `[build] command` becomes a no-op.
    // node_modules/.bin first: wrangler's `#!/usr/bin/env node` must find the Node 22 of the
    // `node` package, not the machine's (wrangler refuses Node < 22.12).
    env: {
      ...process.env,
      ...OFFLINE_ENV,
      SKIP_WORKER_BUILD: '1',
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    },
    stdio: capture ? ['inherit', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`wrangler could not start: ${result.error.message}`);
  if (capture) {
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
  }
  return result;
}

/** `Total Upload: 957.57 KiB / gzip: 348.01 KiB` → bytes. */
export function parseUploadSize(text) {
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(text);
  if (!match) return null;
  return { totalBytes: Math.round(Number(match[1]) * 1024), gzipBytes: Math.round(Number(match[2]) * 1024) };
}

/**
 * Start-up time from a V8 CPU profile of the start-up phase, in ms: `windowMs`, the whole
 * profiled span (an upper bound, what the limit is checked against), and `activeMs`, its
 * non-idle samples (what `wrangler check startup` prints as "Active"; sampling is coarse, so a
 * fast start-up can show as 0).
 */
export function startupTimes(profile) {
  return { windowMs: (profile.endTime - profile.startTime) / 1000, activeMs: activeStartupMs(profile) };
}

/** Active (non-idle) time of a V8 CPU profile, in ms. */
export function activeStartupMs(profile) {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let micros = 0;
  profile.samples.forEach((node, i) => {
    if (!idle.has(node)) micros += profile.timeDeltas[i] ?? 0;
  });
  return micros / 1000;
}

function envArgs(env) {
  return env ? ['--env', env] : [];
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Runs the whole deploy (or dry run); returns one summary row per worker. Throws on failure. */
export async function deploy({ dryRun, env, outDir, secretsFile = null }) {
  if (!dryRun && env === null) {
    throw new Error('the top-level configuration is the local one (a localhost issuer): deploy with --env production');
  }
  if (secretsFile && !existsSync(secretsFile)) throw new Error(`no secrets file at ${secretsFile}`);
  if (!dryRun) {
    const left = DEPLOY_ORDER.flatMap(({ config }) => placeholdersLeft(config, env).map((p) => `${config}: ${p}`));
    if (left.length > 0) {
      throw new Error(`placeholders left in [env.${env}] (see README, "Deploy"):\n  ${left.join('\n  ')}`);
    }
  }

  process.stdout.write('\n=== release build of both workers\n');
  const { buildWorker } = await import('./build.mjs');
  for (const { name } of DEPLOY_ORDER) buildWorker(name, 'release');

  const rows = [];
  for (const { name, config } of DEPLOY_ORDER) {
    const label = `${name} (${env ?? 'default'} environment)`;
    process.stdout.write(`\n=== ${dryRun ? 'dry run' : 'deploy'}: ${label}\n`);
    const dir = join(outDir, env ?? 'default', name);
    if (dryRun) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    // Only the MCP worker has secrets (the ToDos API verifies tokens with public keys).
    const secrets = secretsFile && name === 'mcp-worker' ? ['--secrets-file', secretsFile] : [];
    const result = wrangler(
      ['deploy', '--config', config, ...envArgs(env), ...secrets, ...(dryRun ? ['--dry-run', '--outdir', dir] : [])],
      { capture: true },
    );
    if (result.status !== 0) throw new Error(`wrangler deploy of ${label} exited with ${result.status}`);
    const size = parseUploadSize(`${result.stdout}${result.stderr}`);
    const row = { worker: name, env: env ?? 'default', ...size };
    if (size && size.gzipBytes > LIMITS.gzipBytesFree) {
      throw new Error(`${label} is ${kib(size.gzipBytes)} gzip, over the Free plan's ${kib(LIMITS.gzipBytesFree)}`);
    }
    if (dryRun) {
      // The start-up phase (module evaluation and Wasm instantiation), profiled in local workerd.
      const profilePath = join(dir, 'startup.cpuprofile');
      const check = wrangler(['check', 'startup', '--config', config, ...envArgs(env), '--outfile', profilePath], { capture: true });
      if (check.status !== 0 || !existsSync(profilePath)) throw new Error(`wrangler check startup of ${label} failed`);
      const times = startupTimes(JSON.parse(readFileSync(profilePath, 'utf8')));
      row.startupMs = times.windowMs;
      row.startupActiveMs = times.activeMs;
      if (row.startupMs >= LIMITS.startupMs) {
        throw new Error(`${label} took ${row.startupMs} ms to start, over Cloudflare's ${LIMITS.startupMs} ms`);
      }
    }
    rows.push(row);
  }

  process.stdout.write('\n=== summary\n');
  for (const row of rows) {
    const size = row.gzipBytes ? `${kib(row.gzipBytes)} gzip of ${kib(LIMITS.gzipBytesFree)} (Free plan)` : 'size not reported';
    const startup = row.startupMs !== undefined
      ? `, start-up at most ${row.startupMs.toFixed(1)} ms of ${LIMITS.startupMs} ms (locally; ${row.startupActiveMs.toFixed(1)} ms sampled active)`
      : '';
    process.stdout.write(`  ${row.worker.padEnd(10)} [${row.env}] ${size}${startup}\n`);
  }
  if (dryRun) {
    const summaryDir = join(outDir, env ?? 'default');
    mkdirSync(summaryDir, { recursive: true });
    writeFileSync(join(summaryDir, 'summary.json'), `${JSON.stringify({ limits: LIMITS, workers: rows }, null, 2)}\n`);
    process.stdout.write(`  bundles and summary.json in ${summaryDir}; nothing was uploaded.\n`);
  } else {
    process.stdout.write(`
  Next: check that PUBLIC_URL in wrangler.toml [env.${env}.vars] is the URL printed above, that
  <PUBLIC_URL>/callback is an Allowed Callback URL at the identity provider, then connect:
    npx @modelcontextprotocol/inspector   (Streamable HTTP, <PUBLIC_URL>/mcp)
    npx wrangler tail mcp-worker --env ${env} --format pretty   (live logs)
`);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const options = parseArgs(process.argv.slice(2));
  ensureToolchain();
  reexecUnderNode22();
  try {
    await deploy(options);
  } catch (error) {
    process.stderr.write(`\ndeploy failed: ${error.message}\n`);
    process.exit(1);
  }
}
