/**
 * Structured logging for the local identity provider: one JSON object per line.
 *
 * Callers pass only identifiers (client_id, account id, scopes, grant type, route).
 * Nothing here inspects values, so the rule "never log a token, code, PKCE verifier,
 * client secret or cookie value" is kept at the call sites in provider.mjs.
 *
 * @module idp/log
 */

/** Log levels, least to most severe. `silent` turns logging off. */
export const LOG_LEVELS = Object.freeze(['debug', 'info', 'warn', 'error', 'silent']);

/**
 * @typedef {object} Logger
 * @property {(event: string, fields?: Record<string, unknown>) => void} debug
 * @property {(event: string, fields?: Record<string, unknown>) => void} info
 * @property {(event: string, fields?: Record<string, unknown>) => void} warn
 * @property {(event: string, fields?: Record<string, unknown>) => void} error
 * @property {(level: string) => boolean} enabled Whether a level would be written.
 */

/**
 * Creates a logger writing lines such as
 * `{"time":"…","level":"debug","component":"idp","event":"login","client_id":"…"}`.
 *
 * @param {object} [options]
 * @param {string} [options.level='info'] Minimum level written; one of {@link LOG_LEVELS}.
 * @param {(line: string) => void} [options.sink] Receives each line without its newline;
 *   defaults to writing to stderr (stdout stays free for a CLI's human-readable output).
 * @returns {Logger}
 */
export function createLogger({ level = 'info', sink } = {}) {
  const threshold = LOG_LEVELS.indexOf(level);
  if (threshold === -1) {
    throw new TypeError(`unknown log level ${JSON.stringify(level)}; use one of ${LOG_LEVELS.join(', ')}`);
  }
  const write = sink ?? ((line) => process.stderr.write(`${line}\n`));

  const enabled = (name) => LOG_LEVELS.indexOf(name) >= threshold && name !== 'silent';

  const at = (name) => (event, fields = {}) => {
    if (!enabled(name)) {
      return;
    }
    let line;
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level: name, component: 'idp', event, ...fields });
    } catch {
      // A field that cannot be serialised (a cycle, a BigInt) must not take the server down.
      line = JSON.stringify({ time: new Date().toISOString(), level: name, component: 'idp', event, note: 'fields not serialisable' });
    }
    write(line);
  };

  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    enabled,
  };
}
