/**
 * A local OpenID Connect provider that behaves like an Auth0 tenant, for development and
 * tests. It is oidc-provider (panva, OpenID Certified) configured with Auth0's endpoint
 * paths, Auth0's `audience` parameter, JWT access tokens carrying `scope` and
 * `permissions` like Auth0's RBAC (each user holds a set of the API's permissions, which a
 * test can change at run time as Auth0's Management API does), refresh tokens for
 * `offline_access` without a consent screen, and a login page on which anyone can be anyone.
 *
 * It binds to 127.0.0.1 only: it hands out tokens for any login, so it must never be
 * reachable from another machine.
 *
 * @module idp/provider
 */

import { verify as verifySignature } from 'node:crypto';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

import { createMemoryAdapterFactory } from './adapter.mjs';
import { loadOrCreateSigningKeys, publicKeysByKid } from './keys.mjs';
import { LOG_LEVELS, createLogger } from './log.mjs';
import {
  PAGE_SECURITY_HEADERS, renderErrorPage, renderLoggedOutPage, renderLoginPage, renderLogoutPage,
} from './pages.mjs';
import {
  KNOWN_USERS, SCOPE_CLAIMS, checkPermissions, claimsForScopes, createPermissionStore, isKnownUser, profileFor,
  validateLogin,
} from './users.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Token endpoint client authentication methods the worker's client may be set to use. */
export const CLIENT_AUTH_METHODS = Object.freeze(['client_secret_post', 'client_secret_basic']);

/** OpenID Connect scopes, in the order they are written into `scope` values. */
const OIDC_SCOPES = Object.freeze(['openid', 'profile', 'email', 'offline_access']);

/** Key in Koa's ctx.state where the JWT customizer leaves the Auth0-style scope of the token it issued. */
const RESPONSE_SCOPE = Symbol('responseScope');

/** Key in Koa's ctx.state naming a request handled outside oidc-provider's router, for the request log. */
const ROUTE_LABEL = Symbol('routeLabel');

/** Seconds of clock skew tolerated when checking `exp` (matches oidc-provider's default). */
const CLOCK_TOLERANCE_SECONDS = 15;

/**
 * Auth0's endpoint paths (see any tenant's /.well-known/openid-configuration), so a
 * relying party configured for Auth0 works unchanged against this issuer.
 */
export const ROUTES = Object.freeze({
  authorization: '/authorize',
  token: '/oauth/token',
  jwks: '/.well-known/jwks.json',
  userinfo: '/userinfo',
  revocation: '/oauth/revoke',
  end_session: '/oidc/logout',
});

const DISCOVERY_PATHS = new Set(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);

const frozenList = (...items) => Object.freeze(items);

/**
 * Default configuration. `issuer` is derived from the port when left undefined.
 *
 * @type {Readonly<IdpConfig>}
 */
export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8790,
  issuer: undefined,
  audience: 'urn:todos-api',
  apiScopes: frozenList('read:todos', 'read:billing', 'write:todos'),
  userPermissions: Object.freeze({}),
  defaultAudience: null,
  userinfoAudience: true,
  clientId: 'mcp-worker-local',
  clientSecret: 'local-dev-secret-change-me',
  clientAuthMethod: 'client_secret_post',
  clientRedirectUris: frozenList('http://localhost:8788/callback', 'http://localhost:8788/account/callback'),
  clientPostLogoutRedirectUris: frozenList('http://localhost:8788/'),
  testClientId: 'local-test-client',
  testClientRedirectUris: frozenList('http://127.0.0.1:8799/callback'),
  extraClients: frozenList(),
  accessTokenTtl: 3600,
  idTokenTtl: 3600,
  refreshTokenTtl: 30 * 24 * 3600,
  sessionTtl: 14 * 24 * 3600,
  keysFile: join(REPO_ROOT, '.idp-data', 'jwks.json'),
  cookieKeys: frozenList('local-idp-cookie-key-for-development-only'),
  logLevel: 'info',
  logSink: undefined,
});

/**
 * @typedef {object} IdpConfig
 * @property {string} host Interface to bind. Keep it a loopback address.
 * @property {number} port TCP port; 0 picks a free one (the issuer then uses it).
 * @property {string} [issuer] Issuer identifier; must end in `/` like Auth0's.
 *   Default `http://localhost:<port>/`.
 * @property {string} audience Identifier of the one API (Auth0 "API Identifier");
 *   requested with `audience` (Auth0) or `resource` (RFC 8707).
 * @property {string[]} apiScopes Scopes the API defines (Auth0 "Permissions").
 * @property {Record<string, string[]>} userPermissions The API permissions each user holds at
 *   start, by account id (Auth0 RBAC: roles or direct assignments); a user not listed holds all
 *   of `apiScopes`. `setPermissions` on the running IdP changes them.
 * @property {string|null} defaultAudience API used when a request names none (Auth0's
 *   tenant "Default Audience"). `null`, as in a new tenant: the access token is then
 *   opaque and only good at /userinfo.
 * @property {boolean} userinfoAudience Whether API access tokens issued with `openid`
 *   also name `<issuer>userinfo` in `aud` and are accepted at /userinfo, as Auth0 does.
 *   When false, `aud` is just the API identifier.
 * @property {string} clientId Client id of the MCP worker (confidential client).
 * @property {string} clientSecret Its client secret.
 * @property {'client_secret_post'|'client_secret_basic'} clientAuthMethod How it authenticates at the token endpoint.
 * @property {string[]} clientRedirectUris Its registered redirect URIs.
 * @property {string[]} clientPostLogoutRedirectUris Where it may send users after logout.
 * @property {string} testClientId Client id of the public test client (PKCE, no secret).
 * @property {string[]} testClientRedirectUris Its redirect URIs; nothing needs to listen there.
 * @property {object[]} extraClients More clients, as oidc-provider client metadata.
 * @property {number} accessTokenTtl Access token lifetime, seconds.
 * @property {number} idTokenTtl ID token lifetime, seconds.
 * @property {number} refreshTokenTtl Refresh token lifetime, seconds (each rotation starts a new one).
 * @property {number} sessionTtl Login session lifetime at the IdP, seconds.
 * @property {string} keysFile Where the signing keys are kept (git-ignored).
 * @property {string[]} cookieKeys Keys signing the IdP's cookies; first one signs.
 * @property {'debug'|'info'|'warn'|'error'|'silent'} logLevel
 * @property {(line: string) => void} [logSink] Receives log lines instead of stderr.
 */

/**
 * The environment variables {@link configFromEnv} reads, for documentation and for the
 * dev runner's start-up banner.
 */
export const ENV_VARIABLES = Object.freeze([
  { name: 'IDP_PORT', key: 'port', description: 'Port to listen on (127.0.0.1 only)' },
  { name: 'IDP_ISSUER', key: 'issuer', description: 'Issuer identifier, ending in "/" (default http://localhost:<port>/)' },
  { name: 'IDP_AUDIENCE', key: 'audience', description: 'Identifier of the API (Auth0 audience)' },
  { name: 'IDP_CLIENT_ID', key: 'clientId', description: "The MCP worker's client id" },
  { name: 'IDP_CLIENT_SECRET', key: 'clientSecret', description: "The MCP worker's client secret" },
  { name: 'IDP_CLIENT_AUTH_METHOD', key: 'clientAuthMethod', description: 'client_secret_post or client_secret_basic' },
  { name: 'IDP_ACCESS_TOKEN_TTL', key: 'accessTokenTtl', description: 'Access token lifetime in seconds' },
  { name: 'IDP_KEYS_FILE', key: 'keysFile', description: 'Signing key file, relative to the working directory (default <repo>/.idp-data/jwks.json, git-ignored)' },
  { name: 'LOG_LEVEL', key: 'logLevel', description: `Log level: ${LOG_LEVELS.join(', ')}` },
].map(Object.freeze));

/**
 * Reads IdP configuration from environment variables (see {@link ENV_VARIABLES}).
 * Unset or empty variables are left out, so the result can be passed to
 * {@link createIdp} and the defaults fill the gaps.
 *
 * @param {Record<string, string | undefined>} [env=process.env]
 * @returns {Partial<IdpConfig>}
 * @throws {Error} when a number cannot be parsed.
 */
export function configFromEnv(env = process.env) {
  const config = {};
  for (const { name, key } of ENV_VARIABLES) {
    const raw = env[name]?.trim();
    if (!raw) {
      continue;
    }
    switch (key) {
      case 'port':
        config.port = parseInteger(raw, name, 0, 65535);
        break;
      case 'accessTokenTtl':
        config.accessTokenTtl = parseInteger(raw, name, 1, Number.MAX_SAFE_INTEGER);
        break;
      case 'keysFile':
        config.keysFile = resolve(raw);
        break;
      default:
        config[key] = raw;
    }
  }
  return config;
}

function parseInteger(raw, name, min, max) {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/**
 * Merges a partial configuration over {@link DEFAULTS} and checks it.
 *
 * @param {Partial<IdpConfig>} [config]
 * @returns {IdpConfig}
 * @throws {TypeError} naming the offending setting.
 */
export function resolveConfig(config = {}) {
  const merged = { ...DEFAULTS };
  for (const [key, value] of Object.entries(config)) {
    if (!(key in DEFAULTS)) {
      throw new TypeError(`unknown IdP setting ${JSON.stringify(key)}`);
    }
    if (value !== undefined) {
      merged[key] = value;
    }
  }

  const fail = (key, expectation) => {
    throw new TypeError(`IdP setting ${key} must be ${expectation}, got ${JSON.stringify(merged[key])}`);
  };
  const nonEmptyString = (key) => typeof merged[key] === 'string' && merged[key] !== '';
  const stringList = (key) => Array.isArray(merged[key]) && merged[key].every((item) => typeof item === 'string' && item);
  const positive = (key) => Number.isSafeInteger(merged[key]) && merged[key] > 0;

  if (!nonEmptyString('host')) fail('host', 'a host name or address');
  if (!Number.isInteger(merged.port) || merged.port < 0 || merged.port > 65535) fail('port', 'a port number (0 picks a free one)');
  if (merged.issuer !== undefined) {
    const url = typeof merged.issuer === 'string' ? URL.parse(merged.issuer) : null;
    // OpenID Connect Discovery 1.0 §3: https URL with no query or fragment; http is
    // accepted for local use. The trailing slash is Auth0's form, which relying
    // parties compare byte for byte with `iss` (OpenID Connect Core 1.0 §3.1.3.7).
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || !merged.issuer.endsWith('/')) {
      fail('issuer', 'an http(s) URL without query or fragment that ends in "/" (like Auth0\'s)');
    }
  }
  // RFC 8707 §2: a resource indicator is an absolute URI (a URN such as urn:todos-api is one).
  if (!nonEmptyString('audience') || !URL.parse(merged.audience)) fail('audience', 'an absolute URI');
  if (!stringList('apiScopes') || merged.apiScopes.some((scope) => /\s/.test(scope) || OIDC_SCOPES.includes(scope))) {
    fail('apiScopes', 'a list of scope names without spaces, not OpenID Connect scopes');
  }
  if (merged.defaultAudience !== null && merged.defaultAudience !== merged.audience) {
    fail('defaultAudience', `null or the API identifier (${merged.audience})`);
  }
  if (typeof merged.userinfoAudience !== 'boolean') fail('userinfoAudience', 'true or false');
  for (const key of ['clientId', 'clientSecret', 'testClientId']) {
    if (!nonEmptyString(key)) fail(key, 'a non-empty string');
  }
  if (merged.clientId === merged.testClientId) fail('testClientId', 'different from clientId');
  if (!CLIENT_AUTH_METHODS.includes(merged.clientAuthMethod)) fail('clientAuthMethod', CLIENT_AUTH_METHODS.join(' or '));
  for (const key of ['clientRedirectUris', 'testClientRedirectUris']) {
    if (!stringList(key) || merged[key].length === 0) fail(key, 'a non-empty list of URLs');
  }
  if (!stringList('clientPostLogoutRedirectUris')) fail('clientPostLogoutRedirectUris', 'a list of URLs');
  if (!Array.isArray(merged.extraClients)) fail('extraClients', 'a list of client metadata objects');
  const permissions = merged.userPermissions;
  if (permissions === null || typeof permissions !== 'object' || Array.isArray(permissions)) {
    fail('userPermissions', 'an object of permission lists by account id');
  }
  for (const [accountId, list] of Object.entries(permissions)) {
    checkPermissions(list, merged.apiScopes, `IdP setting userPermissions[${JSON.stringify(accountId)}]`);
  }
  for (const key of ['accessTokenTtl', 'idTokenTtl', 'refreshTokenTtl', 'sessionTtl']) {
    if (!positive(key)) fail(key, 'a positive whole number of seconds');
  }
  if (!nonEmptyString('keysFile')) fail('keysFile', 'a file path');
  if (!stringList('cookieKeys') || merged.cookieKeys.length === 0) fail('cookieKeys', 'a non-empty list of strings');
  if (!LOG_LEVELS.includes(merged.logLevel)) fail('logLevel', LOG_LEVELS.join(', '));
  if (merged.logSink !== undefined && typeof merged.logSink !== 'function') fail('logSink', 'a function');

  return merged;
}

/**
 * A running local identity provider.
 *
 * @typedef {object} Idp
 * @property {string} issuer Issuer identifier, e.g. `http://localhost:8790/`.
 * @property {number} port Port it listens on.
 * @property {string} host Address it is bound to.
 * @property {IdpConfig} config The effective configuration.
 * @property {import('oidc-provider').Provider} provider The underlying oidc-provider instance.
 * @property {(accountId: string, permissions: string[]) => string[]} setPermissions Replaces
 *   the API permissions a user holds, as Auth0's Management API does (`POST`/`DELETE
 *   /api/v2/users/{id}/permissions`): tokens issued from then on, refreshed ones included, carry
 *   only these; tokens already issued keep theirs until they expire. Throws a TypeError for a
 *   permission the API does not define.
 * @property {(accountId: string) => string[]} permissionsOf The API permissions a user holds now.
 * @property {() => Promise<void>} close Stops listening and drops open connections; idempotent.
 */

/**
 * Starts a local identity provider configured like an Auth0 tenant.
 *
 * @param {Partial<IdpConfig>} [config] Settings over {@link DEFAULTS}.
 * @returns {Promise<Idp>}
 */
export async function createIdp(config = {}) {
  const cfg = resolveConfig(config);
  const log = createLogger({ level: cfg.logLevel, sink: cfg.logSink });

  const { jwks, created: keyCreated } = await loadOrCreateSigningKeys(cfg.keysFile);
  const verificationKeys = publicKeysByKid(jwks);
  const permissions = createPermissionStore(cfg.apiScopes, cfg.userPermissions);

  const server = createServer();
  await new Promise((resolveListen, rejectListen) => {
    const onError = (error) => {
      rejectListen(error.code === 'EADDRINUSE'
        ? new Error(`IdP cannot listen on ${cfg.host}:${cfg.port}: the port is in use (set IDP_PORT)`, { cause: error })
        : error);
    };
    server.once('error', onError);
    server.listen(cfg.port, cfg.host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });

  const { port } = server.address();
  const issuer = cfg.issuer ?? `http://localhost:${port}/`;

  let provider;
  try {
    provider = buildProvider({
      cfg, issuer, jwks, verificationKeys, permissions, log,
    });
  } catch (error) {
    server.close();
    throw error;
  }
  server.on('request', provider.callback());
  server.on('clientError', (error, socket) => {
    socket.destroy(error);
  });

  let closing;
  const close = () => {
    closing ??= new Promise((resolveClose) => {
      server.close(() => resolveClose());
      // Keep-alive connections (fetch pools them) would hold server.close() open.
      server.closeAllConnections();
    });
    return closing;
  };

  log.info('started', {
    issuer,
    host: cfg.host,
    port,
    audience: cfg.audience,
    clients: [cfg.clientId, cfg.testClientId, ...cfg.extraClients.map((client) => client.client_id)],
    keys_file: cfg.keysFile,
    key_created: keyCreated,
    kid: jwks.keys.map((key) => key.kid),
  });

  const setPermissions = (accountId, list) => {
    const kept = permissions.set(accountId, list);
    log.debug('permissions changed', { account_id: accountId, permissions: kept });
    return kept;
  };
  const permissionsOf = (accountId) => permissions.of(accountId);

  return {
    issuer, port, host: cfg.host, config: cfg, provider, setPermissions, permissionsOf, close,
  };
}

function buildClients(cfg) {
  const both = {
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
  };
  return [
    {
      ...both,
      client_id: cfg.clientId,
      client_secret: cfg.clientSecret,
      client_name: 'MCP worker (local)',
      token_endpoint_auth_method: cfg.clientAuthMethod,
      redirect_uris: [...cfg.clientRedirectUris],
      post_logout_redirect_uris: [...cfg.clientPostLogoutRedirectUris],
    },
    {
      ...both,
      client_id: cfg.testClientId,
      client_name: 'Local test client',
      token_endpoint_auth_method: 'none',
      redirect_uris: [...cfg.testClientRedirectUris],
    },
    ...cfg.extraClients.map((client) => structuredClone(client)),
  ];
}

function buildProvider({
  cfg, issuer, jwks, verificationKeys, permissions, log,
}) {
  const userinfoUrl = new URL(ROUTES.userinfo.slice(1), issuer).href;
  const apiScopes = new Set(cfg.apiScopes);

  /** Scopes of the OpenID Connect kind granted for the token being issued, in canonical order. */
  function grantedOidcScopes(ctx) {
    const { Grant: grant, AuthorizationCode: code, RefreshToken: refreshToken } = ctx?.oidc?.entities ?? {};
    if (!grant) {
      return [];
    }
    // A refresh request may narrow the scope (RFC 6749 §6); otherwise the scope is the
    // one the code or refresh token was issued with.
    const requested = ctx.oidc.params?.grant_type === 'refresh_token' && ctx.oidc.params.scope
      ? ctx.oidc.requestParamScopes
      : (code ?? refreshToken)?.scopes;
    if (!requested) {
      return [];
    }
    const granted = new Set(grant.getOIDCScopeFiltered(requested).split(' '));
    return OIDC_SCOPES.filter((scope) => granted.has(scope));
  }

  const provider = new Provider(issuer, {
    adapter: createMemoryAdapterFactory({ clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS }),
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    clients: buildClients(cfg),
    jwks,
    routes: ROUTES,

    // Names distinct from the worker's: browsers do not isolate cookies by port
    // (RFC 6265 §8.5), so at localhost:8790 and localhost:8788 both apps share a jar.
    cookies: {
      keys: [...cfg.cookieKeys],
      names: { session: 'idp_session', interaction: 'idp_interaction', resume: 'idp_interaction_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },

    // Only OpenID Connect scopes here; the API's scopes belong to its resource server
    // (getResourceServerInfo), so they end up in the API token, not in /userinfo's.
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      acr: null, sid: null, auth_time: null, iss: null,
      openid: [...SCOPE_CLAIMS.openid],
      profile: [...SCOPE_CLAIMS.profile],
      email: [...SCOPE_CLAIMS.email],
    },
    // Auth0 puts the claims the scopes release into the ID token even in the code flow;
    // OpenID Connect Core 1.0 §5.4 has them served by the UserInfo endpoint when an
    // access token is issued, which is oidc-provider's default.
    conformIdTokenClaims: false,

    // Auth0's `audience` authorization parameter names the API, where RFC 8707 uses `resource`.
    extraParams: ['audience'],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256'],
      userinfoSigningAlgValues: ['RS256'],
    },

    // PKCE (RFC 7636; S256 only, oidc-provider offers nothing weaker) is required of
    // public clients, as RFC 9700 §2.1.1 demands; confidential clients may use it.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },

    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client may only revoke its own tokens.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => sendPage(ctx, 200, renderLogoutPage({ form, host: ctx.host })),
        postLogoutSuccessSource: async (ctx) => sendPage(ctx, 200, renderLoggedOutPage({
          clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId,
        })),
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, _client, oneOf) {
          if (oneOf) {
            return oneOf.includes(cfg.audience) ? cfg.audience : oneOf[0];
          }
          const { audience } = ctx.oidc.params ?? {};
          if (typeof audience === 'string' && audience !== '') {
            return audience;
          }
          return cfg.defaultAudience ?? undefined;
        },
        // Token requests do not repeat the audience (Auth0 clients never send one), so
        // the API granted at /authorize is the one the access token is for.
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== cfg.audience) {
            throw new errors.InvalidTarget(`unknown audience; this IdP's only API is ${cfg.audience}`);
          }
          return {
            scope: cfg.apiScopes.join(' '),
            audience: cfg.audience,
            accessTokenTTL: cfg.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },

    formats: {
      customizers: {
        // Shape API access tokens (RFC 9068 JWTs) like Auth0's with RBAC on: `scope` lists the
        // OpenID Connect scopes granted and the API scopes granted that the user holds now (at
        // sign-in and at every refresh, so a permission removed since narrows the refreshed
        // token, RFC 6749 §6), `permissions` every permission the user holds ("Add Permissions
        // in the Access Token": all assigned, whatever was requested), `azp` names the client.
        async jwt(ctx, token, jwt) {
          const held = permissions.of(token.accountId);
          const api = token.scope
            ? token.scope.split(' ').filter((scope) => apiScopes.has(scope) && held.includes(scope))
            : [];
          const oidc = grantedOidcScopes(ctx);
          const scope = [...oidc, ...api].join(' ');
          jwt.payload.scope = scope || undefined;
          jwt.payload.permissions = held;
          jwt.payload.azp = token.clientId;
          if (cfg.userinfoAudience && oidc.includes('openid')) {
            jwt.payload.aud = [jwt.payload.aud, userinfoUrl];
          }
          if (ctx) {
            ctx.state[RESPONSE_SCOPE] = scope;
          }
        },
      },
    },

    // Auth0 tokens live out their lifetime whatever happens to the login session at the
    // IdP; oidc-provider's default ties tokens without offline_access to that session.
    expiresWithSession: async () => false,
    // offline_access reaches this point only thanks to grantOfflineAccessWithoutConsentPrompt below.
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    // Auth0 refresh token rotation: every use returns a new refresh token and a reused
    // one revokes the whole family (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
    rotateRefreshToken: true,

    ttl: {
      AccessToken: cfg.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: cfg.idTokenTtl,
      RefreshToken: cfg.refreshTokenTtl,
      Interaction: 3600,
      Session: cfg.sessionTtl,
      // A grant outlives every refresh token issued under it, or refreshing would stop
      // working before the refresh token expires.
      Grant: Math.max(cfg.sessionTtl, cfg.refreshTokenTtl) * 4,
    },

    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },

    // Any account id is a valid account (see idp/users.mjs). The id is returned as given:
    // oidc-provider refuses the code exchange ("accountId mismatch") otherwise.
    async findAccount(_ctx, accountId) {
      const profile = profileFor(accountId);
      return {
        accountId,
        async claims() {
          // Everything; oidc-provider releases only what the granted scopes allow.
          return { ...profile, sub: accountId };
        },
      };
    },

    // CORS for browser-based clients at the token and userinfo endpoints: the origins of
    // the client's own redirect URIs (oidc-provider's default, made explicit).
    clientBasedCORS(_ctx, origin, client) {
      return origin !== 'null' && client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
    },

    async renderError(ctx, out) {
      sendPage(ctx, ctx.status >= 400 ? ctx.status : 400, renderErrorPage({
        title: 'Sign-in could not continue',
        message: 'The application sent a request this identity provider cannot accept.',
        details: out,
      }));
    },
  });

  // Behind a TLS-terminating proxy (an https IDP_ISSUER), trust its X-Forwarded-* headers.
  provider.proxy = new URL(issuer).protocol === 'https:';

  enforceRegisteredClientAuthMethod(provider);
  listenToEvents(provider, log);

  provider.use(requestLog(log));
  provider.use(discoveryOnIssuerHost(issuer));
  provider.use(grantOfflineAccessWithoutConsentPrompt);
  provider.use(auth0TokenResponseScope);
  provider.use(listApiScopesInDiscovery(cfg.apiScopes));
  provider.use(userinfoForApiTokens({
    issuer, userinfoUrl, verificationKeys, log,
  }));
  provider.use(interactions({ provider, cfg, issuer, log }));

  return provider;
}

/** Endpoints where clients authenticate (RFC 6749 §2.3). */
const CLIENT_AUTHENTICATED_ROUTES = new Set(['token', 'revocation']);

/**
 * Holds a confidential client to the token endpoint authentication method it is
 * registered with (an Auth0 application's "Token Endpoint Authentication Method";
 * OpenID Connect Core 1.0 §9: the client MUST use the registered method).
 * oidc-provider accepts client_secret_basic and client_secret_post interchangeably, so
 * a worker sending its secret the way it is not configured for would pass unnoticed.
 *
 * oidc-provider offers no hook between client identification and authentication other
 * than the `assign.client` event of its per-request context, which its own CORS check
 * uses by throwing from it. That context is created inside its router, after any
 * middleware added with provider.use(), so the check wraps the context class's
 * `entity()` (which emits the event) for this provider instance only.
 */
function enforceRegisteredClientAuthMethod(provider) {
  const { prototype } = provider.OIDCContext;
  const assign = prototype.entity;
  if (typeof assign !== 'function') {
    throw new Error('oidc-provider internals changed: OIDCContext#entity not found (see enforceRegisteredClientAuthMethod)');
  }
  prototype.entity = function entity(key, value) {
    if (key === 'Client' && CLIENT_AUTHENTICATED_ROUTES.has(this.route)) {
      const registered = value.clientAuthMethod;
      const usedBasic = /^basic\s/i.test(this.ctx.get('authorization'));
      const usedPost = this.params?.client_secret !== undefined;
      if ((registered === 'client_secret_basic' && usedPost) || (registered === 'client_secret_post' && usedBasic)) {
        throw new errors.InvalidClientAuth(`the client is registered to authenticate with ${registered}`);
      }
    }
    return assign.call(this, key, value);
  };
}

/**
 * OpenID Connect Core 1.0 §11 says an OP MUST ignore `offline_access` unless `prompt`
 * contains `consent`, "unless other conditions for processing the request permitting
 * offline access to the requested resources are in place". Auth0 treats first-party
 * applications as such a condition; so does this IdP, for every client. oidc-provider
 * implements only the first half (it drops the scope before `issueRefreshToken` is ever
 * asked), so the request is given the `consent` prompt here, and the consent
 * interaction is then approved without showing anything (see interactions()).
 *
 * `prompt=none` is left alone: it cannot be combined with another value.
 */
async function grantOfflineAccessWithoutConsentPrompt(ctx, next) {
  if (ctx.method === 'GET' && ctx.path === ROUTES.authorization) {
    const query = new URLSearchParams(ctx.querystring);
    const scopes = query.getAll('scope');
    const prompts = query.getAll('prompt');
    // Duplicated parameters are left for oidc-provider to reject (RFC 6749 §3.1).
    if (scopes.length === 1 && prompts.length <= 1 && scopes[0].split(' ').includes('offline_access')) {
      const values = new Set((prompts[0] ?? '').split(' ').filter(Boolean));
      if (!values.has('none') && !values.has('consent')) {
        values.add('consent');
        query.set('prompt', [...values].join(' '));
        ctx.querystring = query.toString();
      }
    }
  }
  return next();
}

/**
 * Auth0's token response `scope` lists the OpenID Connect scopes next to the API's, as
 * its access token does; oidc-provider's lists the access token's (API) scopes only, and
 * knows nothing of the user's permissions. The JWT customizer's scope is written even when
 * empty (every API scope withheld, no OpenID scope): left out, RFC 6749 §5.1 would have the
 * client read it as everything it asked for.
 */
async function auth0TokenResponseScope(ctx, next) {
  await next();
  const scope = ctx.state[RESPONSE_SCOPE];
  if (ctx.path === ROUTES.token && ctx.status === 200 && ctx.body && typeof ctx.body === 'object'
    && typeof scope === 'string') {
    ctx.body.scope = scope;
  }
}

/**
 * oidc-provider builds endpoint URLs from the request's Host, so discovery fetched at
 * http://127.0.0.1:8790/ would advertise 127.0.0.1 endpoints under a `localhost` issuer.
 * Auth0 always advertises its own host; so does this IdP, by answering discovery as if
 * addressed to the issuer's host. Other requests keep their host, so a browser that
 * started a sign-in at either name keeps its cookies along the way.
 */
function discoveryOnIssuerHost(issuer) {
  const { host } = new URL(issuer);
  return async function canonicalHost(ctx, next) {
    if (DISCOVERY_PATHS.has(ctx.path)) {
      ctx.req.headers.host = host;
      if (ctx.app.proxy) {
        ctx.req.headers['x-forwarded-host'] = host;
      }
    }
    return next();
  };
}

/** Adds the API's scopes to `scopes_supported` (RFC 8414 §2), which lists OpenID ones only. */
function listApiScopesInDiscovery(apiScopes) {
  return async function discoveryScopes(ctx, next) {
    await next();
    if (DISCOVERY_PATHS.has(ctx.path) && ctx.status === 200 && Array.isArray(ctx.body?.scopes_supported)) {
      ctx.body.scopes_supported = [...new Set([...ctx.body.scopes_supported, ...apiScopes])];
    }
  };
}

/**
 * Auth0 accepts an API access token at /userinfo when its `aud` also names the userinfo
 * endpoint (it adds that audience whenever `openid` is granted). oidc-provider's own
 * userinfo endpoint refuses any token with an audience, and JWT access tokens are not
 * stored, so such tokens are verified and answered here; everything else (opaque tokens,
 * errors) goes on to oidc-provider.
 */
function userinfoForApiTokens({
  issuer, userinfoUrl, verificationKeys, log,
}) {
  const refuse = (ctx, status, error, description) => {
    // RFC 6750 §3: errors in WWW-Authenticate; the body repeats them for convenience.
    ctx.status = status;
    ctx.set('WWW-Authenticate', `Bearer error="${error}", error_description="${description}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error, error_description: description };
    log.warn('userinfo refused', { error, error_description: description });
  };

  return async function userinfo(ctx, next) {
    if (ctx.path !== ROUTES.userinfo || !['GET', 'POST'].includes(ctx.method)) {
      return next();
    }
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(ctx.get('authorization'));
    if (!match) {
      return next();
    }
    ctx.state[ROUTE_LABEL] = 'userinfo (API access token)';

    const payload = verifyAccessToken(match[1], { issuer, verificationKeys });
    if (!payload) {
      return refuse(ctx, 401, 'invalid_token', 'invalid or expired access token');
    }
    const audiences = [payload.aud].flat();
    if (!audiences.includes(userinfoUrl)) {
      return refuse(ctx, 401, 'invalid_token', 'access token audience does not include the userinfo endpoint');
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes('openid')) {
      return refuse(ctx, 403, 'insufficient_scope', 'access token missing openid scope');
    }

    ctx.status = 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = claimsForScopes(profileFor(payload.sub), scopes);
    log.debug('userinfo', { client_id: payload.client_id, account_id: payload.sub, scope: payload.scope });
    return undefined;
  };
}

/**
 * Verifies an RS256 `at+jwt` access token this IdP signed (RFC 9068 §4): signature with
 * one of its keys, `iss`, and `exp` within the clock tolerance.
 *
 * @returns {Record<string, any> | undefined} the payload, or undefined when invalid.
 */
function verifyAccessToken(token, { issuer, verificationKeys }) {
  const [encodedHeader, encodedPayload, encodedSignature] = token.split('.');
  const decode = (part) => {
    try {
      const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const header = decode(encodedHeader);
  if (header?.alg !== 'RS256' || header.typ?.toLowerCase() !== 'at+jwt') {
    return undefined;
  }
  const key = verificationKeys.get(header.kid);
  if (!key) {
    return undefined;
  }
  const valid = verifySignature(
    'sha256',
    Buffer.from(`${encodedHeader}.${encodedPayload}`),
    key,
    Buffer.from(encodedSignature, 'base64url'),
  );
  if (!valid) {
    return undefined;
  }
  const payload = decode(encodedPayload);
  const now = Math.floor(Date.now() / 1000);
  if (!payload || payload.iss !== issuer || typeof payload.sub !== 'string'
    || typeof payload.exp !== 'number' || payload.exp + CLOCK_TOLERANCE_SECONDS <= now) {
    return undefined;
  }
  return payload;
}

function sendPage(ctx, status, html) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set(PAGE_SECURITY_HEADERS);
  ctx.body = html;
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|abort))?$/;
const MAX_FORM_BYTES = 16 * 1024;

/**
 * The interaction endpoints oidc-provider redirects the browser to:
 *
 * - `GET /interaction/:uid` shows the login page, or, when the pending prompt is
 *   `consent`, grants everything asked for and carries on without showing anything
 *   (what Auth0 does for first-party applications, which skip consent);
 * - `POST /interaction/:uid/login` signs in as the posted `login`;
 * - `POST /interaction/:uid/abort` returns `access_denied` to the client.
 */
function interactions({
  provider, cfg, issuer, log,
}) {
  const expired = (ctx) => sendPage(ctx, 400, renderErrorPage({
    title: 'This sign-in has expired',
    message: 'Start again from the application. (Sign-in links work once, in the browser that opened them.)',
  }));

  async function showLogin(ctx, details, { status = 200, login, error } = {}) {
    const client = await provider.Client.find(details.params.client_id);
    const scopes = typeof details.params.scope === 'string' ? details.params.scope.split(' ').filter(Boolean) : [];
    const audience = details.params.resource ?? details.params.audience;
    sendPage(ctx, status, renderLoginPage({
      action: `/interaction/${details.uid}/login`,
      abortAction: `/interaction/${details.uid}/abort`,
      clientId: details.params.client_id,
      clientName: client?.clientName,
      scopes,
      audience: typeof audience === 'string' ? audience : undefined,
      users: KNOWN_USERS,
      login: login ?? (typeof details.params.login_hint === 'string' ? details.params.login_hint : ''),
      error,
      issuer,
    }));
  }

  async function grantConsent(ctx, details) {
    const { prompt: { details: missing }, params, session } = details;
    let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    grant ??= new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) {
      grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    }
    if (missing.missingOIDCClaims) {
      grant.addOIDCClaims(missing.missingOIDCClaims);
    }
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    log.debug('consent granted', {
      client_id: params.client_id,
      account_id: session.accountId,
      scope: [...(missing.missingOIDCScope ?? []), ...Object.values(missing.missingResourceScopes ?? {}).flat()].join(' '),
    });
    await finish(ctx, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function finish(ctx, result, options) {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, options);
    ctx.set('Cache-Control', 'no-store');
    // 303: the browser follows with a GET even after the login form's POST (RFC 9110 §15.4.4).
    ctx.status = 303;
    ctx.redirect(returnTo);
  }

  return async function interaction(ctx, next) {
    const match = INTERACTION_PATH.exec(ctx.path);
    if (!match) {
      return next();
    }
    const [, uid, action] = match;
    ctx.state[ROUTE_LABEL] = action ? `interaction ${action}` : 'interaction';
    const expectedMethod = action ? 'POST' : 'GET';
    if (ctx.method !== expectedMethod) {
      ctx.status = 405;
      ctx.set('Allow', expectedMethod);
      return undefined;
    }

    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (error) {
      if (error instanceof errors.SessionNotFound) {
        log.debug('interaction not found', { reason: error.error_description ?? error.message });
        return expired(ctx);
      }
      throw error;
    }
    // The cookie names the interaction in progress; a different uid in the URL is a stale tab.
    if (details.uid !== uid) {
      return expired(ctx);
    }
    const clientId = details.params.client_id;
    const promptName = details.prompt.name;

    if (!action) {
      if (promptName === 'login') {
        return showLogin(ctx, details);
      }
      if (promptName === 'consent') {
        return grantConsent(ctx, details);
      }
      throw new Error(`unexpected interaction prompt ${promptName}`);
    }

    if (action === 'abort') {
      log.debug('sign-in cancelled', { client_id: clientId });
      return finish(ctx, {
        error: 'access_denied',
        error_description: 'End-User cancelled the sign-in',
      }, { mergeWithLastSubmission: false });
    }

    // action === 'login'
    if (promptName !== 'login') {
      return expired(ctx);
    }
    let form;
    try {
      form = await readForm(ctx);
    } catch (error) {
      ctx.status = error.status ?? 400;
      ctx.body = error.message;
      return undefined;
    }
    const submitted = form.get('login');
    const checked = validateLogin(submitted);
    if (!checked.ok) {
      log.debug('login refused', { client_id: clientId, reason: checked.reason });
      return showLogin(ctx, details, {
        status: 400,
        login: typeof submitted === 'string' ? submitted.slice(0, 1024) : '',
        error: checked.reason,
      });
    }
    log.debug('login', { client_id: clientId, account_id: checked.login, known_user: isKnownUser(checked.login) });
    return finish(ctx, { login: { accountId: checked.login } }, { mergeWithLastSubmission: false });
  };
}

async function readForm(ctx) {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw Object.assign(new Error('expected an application/x-www-form-urlencoded form'), { status: 415 });
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) {
      throw Object.assign(new Error('form too large'), { status: 413 });
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** One debug line per request: method, route name and status; never the URL (it can carry codes). */
function requestLog(log) {
  return async function logRequest(ctx, next) {
    if (!log.enabled('debug')) {
      return next();
    }
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      log.debug('http', {
        method: ctx.method,
        route: ctx.oidc?.route ?? ctx.state[ROUTE_LABEL] ?? 'unknown',
        status: ctx.status,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      });
    }
  };
}

/**
 * Logs oidc-provider's events (https://github.com/panva/node-oidc-provider/blob/v9.x/docs/events.md).
 * Only identifiers are written: client ids, account ids, scopes, grant types, error codes.
 */
function listenToEvents(provider, log) {
  const clientOf = (ctx) => ctx?.oidc?.client?.clientId ?? ctx?.oidc?.params?.client_id;

  provider.on('interaction.started', (ctx, prompt) => {
    log.debug('interaction started', { client_id: clientOf(ctx), prompt: prompt.name, reasons: prompt.reasons });
  });
  provider.on('authorization.success', (ctx) => {
    log.debug('authorization code issued', {
      client_id: clientOf(ctx),
      account_id: ctx.oidc.session?.accountId,
      scope: ctx.oidc.params?.scope,
      audience: ctx.oidc.params?.resource ?? ctx.oidc.params?.audience,
    });
  });
  provider.on('grant.success', (ctx) => {
    const { AccessToken: accessToken, Account: account, RefreshToken: refreshToken, RotatedRefreshToken: rotated } = ctx.oidc.entities;
    log.debug(ctx.oidc.params.grant_type === 'refresh_token' ? 'tokens refreshed' : 'tokens issued', {
      grant_type: ctx.oidc.params.grant_type,
      client_id: clientOf(ctx),
      account_id: account?.accountId,
      scope: ctx.state[RESPONSE_SCOPE] ?? accessToken?.scope,
      audience: accessToken?.aud,
      refresh_token: Boolean(refreshToken),
      refresh_token_rotated: Boolean(rotated),
    });
  });
  provider.on('grant.revoked', (ctx) => {
    log.debug('grant revoked', { client_id: clientOf(ctx), route: ctx.oidc?.route });
  });
  provider.on('end_session.success', (ctx) => {
    log.debug('signed out', { client_id: clientOf(ctx) });
  });

  const protocolErrors = [
    'authorization.error', 'grant.error', 'userinfo.error', 'revocation.error', 'discovery.error',
    'jwks.error', 'end_session.error', 'end_session_confirm.error', 'end_session_success.error',
  ];
  for (const event of protocolErrors) {
    provider.on(event, (ctx, error) => {
      log.warn(event, {
        client_id: clientOf(ctx),
        grant_type: event === 'grant.error' ? ctx?.oidc?.params?.grant_type : undefined,
        error: error.error ?? error.name,
        error_description: error.error_description,
        error_detail: error.error_detail,
      });
    });
  }
  provider.on('server_error', (ctx, error) => {
    log.error('server error', { route: ctx?.oidc?.route, client_id: clientOf(ctx), message: error.message, stack: error.stack });
  });
  // Koa's 'error' event: anything thrown outside oidc-provider's own error handlers.
  provider.on('error', (error) => {
    log.error('unhandled error', { message: error.message, stack: error.stack });
  });

  // Revocation succeeds silently (RFC 7009 §2.2); log what was revoked, not the token.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'revocation' && ctx.status === 200) {
      const { RefreshToken: refreshToken, AccessToken: accessToken } = ctx.oidc.entities;
      log.debug('token revoked', {
        client_id: clientOf(ctx),
        token_type: refreshToken ? 'refresh_token' : accessToken ? 'access_token' : 'unknown or already invalid',
      });
    }
  });
}
