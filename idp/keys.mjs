/**
 * Signing keys of the local identity provider, kept on disk so they survive restarts.
 *
 * Relying parties cache the issuer's JWKS (OpenID Connect Core 1.0 §10.1.1 lets them);
 * with fresh keys on every start, a worker that stayed up would reject every token after
 * an IdP restart. One RSA 2048 key is generated with node:crypto on first start, given a
 * `kid` (its RFC 7638 thumbprint), and written as a private JWK Set to a git-ignored file.
 *
 * @module idp/keys
 */

import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** JWK members of an RSA private key (RFC 7518 §6.3). */
const RSA_PRIVATE_MEMBERS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'];

/**
 * Computes the RFC 7638 JWK thumbprint of an RSA key: SHA-256 over the required public
 * members (`e`, `kty`, `n`) serialised in lexicographic order without white space.
 *
 * @param {{ e: string, n: string }} jwk
 * @returns {string} base64url thumbprint
 */
export function rsaThumbprint(jwk) {
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Generates a fresh RS256 signing key as a private JWK with `kid`, `alg` and `use`.
 *
 * @returns {Record<string, string>}
 */
export function generateSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { kty: 'RSA', kid: rsaThumbprint(jwk), alg: 'RS256', use: 'sig', ...pick(jwk, RSA_PRIVATE_MEMBERS) };
}

function pick(object, names) {
  return Object.fromEntries(names.map((name) => [name, object[name]]));
}

/**
 * Reads the private JWK Set at `file`, creating it with one new key when it is absent.
 *
 * The file is created atomically (written under a temporary name, then hard-linked into
 * place, which fails if the name exists), so two IdPs started at once end up sharing
 * one key instead of one of them reading a half-written file. It is readable by the
 * owner only: it holds private keys.
 *
 * A file that exists but is not a usable key set is an error, not something to replace
 * silently: replacing it would invalidate every token the relying parties hold.
 *
 * @param {string} file Path of the JWK Set file.
 * @returns {Promise<{ jwks: { keys: Array<Record<string, string>> }, created: boolean }>}
 */
export async function loadOrCreateSigningKeys(file) {
  const existing = await readKeySet(file);
  if (existing) {
    return { jwks: existing, created: false };
  }

  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const jwks = { keys: [generateSigningKey()] };
  const temporary = join(dirname(file), `.jwks-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temporary, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, file);
    return { jwks, created: true };
  } catch (error) {
    if (error?.code !== 'EEXIST') {
      throw error;
    }
    // Another process won the race; use its key.
    return { jwks: await readKeySet(file), created: false };
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

async function readKeySet(file) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error?.code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }

  const problem = (detail) => new Error(
    `IdP signing key file ${file} is not usable (${detail}). `
    + 'Delete it to have a new key generated; relying parties will then need to re-fetch the JWKS.',
  );

  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw problem('not JSON');
  }
  if (!Array.isArray(parsed?.keys) || parsed.keys.length === 0) {
    throw problem('no "keys" array');
  }
  for (const [index, jwk] of parsed.keys.entries()) {
    if (jwk?.kty !== 'RSA' || typeof jwk.kid !== 'string' || !jwk.kid
      || RSA_PRIVATE_MEMBERS.some((name) => typeof jwk[name] !== 'string')) {
      throw problem(`keys[${index}] is not an RSA private JWK with a kid`);
    }
    try {
      createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      throw problem(`keys[${index}] cannot be imported`);
    }
  }
  return { keys: parsed.keys };
}

/**
 * Public halves of a private JWK Set, keyed by `kid`, as node:crypto KeyObjects.
 *
 * @param {{ keys: Array<Record<string, string>> }} jwks
 * @returns {Map<string, import('node:crypto').KeyObject>}
 */
export function publicKeysByKid(jwks) {
  return new Map(jwks.keys.map((jwk) => [
    jwk.kid,
    createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' }),
  ]));
}
