// The worker's entry: wires the Rust handlers (build/mcp-worker, from src/) into
// @cloudflare/workers-oauth-provider. All logic lives in Rust; this file only builds the provider
// once per isolate from the Rust-computed options and turns the token-exchange verdict into the
// library's OAuthError.
import module from '../build/mcp-worker/mcp_worker_bg.wasm';
import { OAuthError, OAuthProvider } from '@cloudflare/workers-oauth-provider';
import {
  api_fetch,
  default_fetch,
  fetch as rustFetch,
  initSync,
  on_error,
  provider_options,
  scheduled as rustScheduled,
  token_exchange,
} from '../build/mcp-worker/mcp_worker.js';

initSync({ module });

// The Durable Object class behind each legacy HTTP+SSE session (src/mcp/session.rs); workerd
// finds it by this export name (wrangler.toml `[[durable_objects.bindings]]`).
export { McpSseSession } from '../build/mcp-worker/mcp_worker.js';

let provider;

function oauthProvider(env) {
  provider ??= new OAuthProvider({
    ...provider_options(env), // throws, naming the setting, when the configuration is invalid
    apiHandler: { fetch: api_fetch },
    defaultHandler: { fetch: default_fetch },
    tokenExchangeCallback: async (options) => {
      const verdict = await token_exchange(options);
      if (verdict.error) throw new OAuthError(verdict.error.code, verdict.error);
      return verdict.ok;
    },
    onError: (error) => on_error(error),
  });
  return provider;
}

export default {
  fetch(request, env, ctx) {
    let built;
    try {
      built = oauthProvider(env);
    } catch {
      // The cause (the setting at fault, never its value) is already in the log.
      return new Response('Internal Server Error', { status: 500 });
    }
    return rustFetch(request, env, ctx, built);
  },
  // Cron Trigger (wrangler.toml `[triggers] crons`): sweeps expired and orphaned grants and
  // tokens from OAUTH_KV through the provider's purgeExpiredData (src/purge.rs). Returning the
  // promise keeps the invocation alive until it settles and marks a failed run as failed.
  scheduled(controller, env, _ctx) {
    // An invalid configuration throws here after logging the setting at fault.
    return rustScheduled(controller.cron, env, oauthProvider(env));
  },
};
