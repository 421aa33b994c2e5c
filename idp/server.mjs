#!/usr/bin/env node
/**
 * Runs the local identity provider from environment variables:
 *
 *   node idp/server.mjs
 *   IDP_PORT=8791 LOG_LEVEL=debug node idp/server.mjs
 *
 * Prints one readable line with the issuer on stdout; structured logs go to stderr.
 * Stops cleanly on SIGINT and SIGTERM. Variables: see ENV_VARIABLES in provider.mjs.
 *
 * @module idp/server
 */

import { configFromEnv, createIdp } from './provider.mjs';

async function main() {
  let idp;
  try {
    idp = await createIdp(configFromEnv(process.env));
  } catch (error) {
    process.stderr.write(`Local IdP failed to start: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }

  process.stdout.write(
    `Local IdP (stands in for Auth0) at ${idp.issuer} — discovery: ${idp.issuer}.well-known/openid-configuration\n`,
  );

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) {
      // A second Ctrl-C means "now".
      process.exit(130);
    }
    stopping = true;
    await idp.close();
    process.stdout.write(`Local IdP stopped (${signal}).\n`);
    process.exitCode = 0;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
