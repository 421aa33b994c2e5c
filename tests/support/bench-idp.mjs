#!/usr/bin/env node
// The local identity provider for the benchmark (scripts/bench.mjs), in its own process so that
// its work does not share the event loop of the load generator. Configured from one JSON
// argument (createIdp's options, e.g. `{"port":0,"clientRedirectUris":[…],"accessTokenTtl":120}`,
// plus `rttMs`); prints one JSON line with the issuer and the client settings, then serves until
// SIGTERM.
//
// `rttMs` > 0 puts a forwarding proxy in front of the provider that holds every answer back for
// that many milliseconds: a stand-in for the internet round trip to a hosted provider such as
// Auth0, which the loopback provider does not have. The issuer is then the proxy's URL.

import { createServer, request } from 'node:http';

import { createIdp } from '../../idp/provider.mjs';

const { rttMs = 0, ...config } = JSON.parse(process.argv[2] ?? '{}');

let front;
if (rttMs > 0) {
  front = createServer();
  await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  config.issuer = `http://localhost:${front.address().port}/`;
}
const idp = await createIdp({ logLevel: 'silent', ...config, ...(front ? { port: 0 } : {}) });
if (front) {
  front.on('request', (incoming, outgoing) => {
    const upstream = request(
      { host: '127.0.0.1', port: idp.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        setTimeout(() => {
          outgoing.writeHead(answer.statusCode, answer.rawHeaders);
          answer.pipe(outgoing);
        }, rttMs);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
}
process.stdout.write(`${JSON.stringify({ issuer: idp.issuer, config: idp.config })}\n`);
const stop = async () => {
  front?.close();
  await idp.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
