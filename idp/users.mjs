/**
 * The people who can sign in at the local identity provider.
 *
 * Four known test users are offered as one-click buttons on the login page. Any other
 * login string also signs in (a development IdP must never be the reason a test cannot
 * create a fresh user): its account id is the login string itself and its e-mail is
 * `<login>@example.test` (RFC 2606 reserves `.test`, so nothing is ever delivered).
 *
 * Account ids are used verbatim as the OpenID Connect `sub` claim. `auth0|dave` has the
 * `<connection>|<id>` shape of real Auth0 subjects, so code downstream meets a
 * punctuation-bearing `sub` in every local run, not first in production.
 *
 * @module idp/users
 */

/**
 * A user's profile, shaped like the standard claims of OpenID Connect Core 1.0 §5.1.
 *
 * @typedef {object} UserProfile
 * @property {string} sub            Subject identifier (also the account id and the login string).
 * @property {string} name           Full name (`profile` scope).
 * @property {string} nickname       Casual name (`profile` scope); Auth0 uses the e-mail's local part.
 * @property {string} email          E-mail address (`email` scope).
 * @property {boolean} email_verified Whether the e-mail is verified (`email` scope).
 */

/**
 * The known test users, in the order the login page shows them.
 *
 * @type {ReadonlyArray<Readonly<UserProfile>>}
 */
export const KNOWN_USERS = Object.freeze([
  user('alice', 'Alice Anderson', 'alice@example.com'),
  user('bob', 'Bob Brown', 'bob@example.com'),
  user('carol', 'Carol Chen', 'carol@example.com'),
  user('auth0|dave', 'Dave Diaz', 'dave@example.com'),
]);

/** Longest login accepted; generous, but bounded so a pasted blob cannot become a `sub`. */
export const MAX_LOGIN_LENGTH = 256;

/** Domain of the made-up e-mail address given to any login that is not a known user. */
export const UNKNOWN_USER_EMAIL_DOMAIN = 'example.test';

function user(sub, name, email) {
  return Object.freeze({
    sub,
    name,
    nickname: email.slice(0, email.indexOf('@')),
    email,
    email_verified: true,
  });
}

/**
 * Checks a login typed into (or posted to) the login form.
 *
 * Leading and trailing white space is dropped (a stray space is a typing slip, not a
 * different person). Anything printable is accepted, including `:`, `|`, `<` and quotes,
 * so that tests can exercise hostile or unusual subjects; control characters are refused
 * because they would corrupt logs and headers downstream.
 *
 * @param {unknown} raw The submitted value.
 * @returns {{ ok: true, login: string } | { ok: false, reason: string }}
 */
export function validateLogin(raw) {
  if (typeof raw !== 'string') {
    return { ok: false, reason: 'Enter a login.' };
  }
  const login = raw.trim();
  if (login === '') {
    return { ok: false, reason: 'Enter a login.' };
  }
  if (login.length > MAX_LOGIN_LENGTH) {
    return { ok: false, reason: `A login can be at most ${MAX_LOGIN_LENGTH} characters long.` };
  }
  // \p{Cc} covers C0/C1 controls (CR, LF, NUL, ESC, ...); \p{Cs} lone surrogates, which
  // cannot be encoded as UTF-8 in a JWT.
  if (/[\p{Cc}\p{Cs}]/u.test(login)) {
    return { ok: false, reason: 'A login cannot contain control characters.' };
  }
  return { ok: true, login };
}

/**
 * Returns the profile for an account id: the known user's, or a made-up one.
 *
 * The account id is returned unchanged as `sub`. This matters: oidc-provider compares
 * the account id stored in the session and grant with the one `findAccount` reports, and
 * refuses the code exchange ("accountId mismatch") if, say, a lookup normalised the case.
 *
 * @param {string} accountId
 * @returns {Readonly<UserProfile>}
 */
export function profileFor(accountId) {
  const known = KNOWN_USERS.find((candidate) => candidate.sub === accountId);
  if (known) {
    return known;
  }
  return Object.freeze({
    sub: accountId,
    name: accountId,
    nickname: accountId,
    email: `${accountId}@${UNKNOWN_USER_EMAIL_DOMAIN}`,
    email_verified: true,
  });
}

/**
 * Whether an account id belongs to one of the known test users.
 *
 * @param {string} accountId
 * @returns {boolean}
 */
export function isKnownUser(accountId) {
  return KNOWN_USERS.some((candidate) => candidate.sub === accountId);
}

/**
 * Which claims each OpenID Connect scope releases (OpenID Connect Core 1.0 §5.4).
 * `picture`, `updated_at` and the address/phone claims are deliberately not offered.
 */
export const SCOPE_CLAIMS = Object.freeze({
  openid: Object.freeze(['sub']),
  profile: Object.freeze(['name', 'nickname']),
  email: Object.freeze(['email', 'email_verified']),
});

/**
 * The claims of a profile that a set of granted scopes releases.
 *
 * @param {Readonly<UserProfile>} profile
 * @param {Iterable<string>} scopes Granted scopes; unknown ones are ignored.
 * @returns {Record<string, string | boolean>}
 */
export function claimsForScopes(profile, scopes) {
  const out = { sub: profile.sub };
  for (const scope of scopes) {
    const released = Object.hasOwn(SCOPE_CLAIMS, scope) ? SCOPE_CLAIMS[scope] : [];
    for (const claim of released) {
      out[claim] = profile[claim];
    }
  }
  return out;
}

/**
 * Checks a list of permissions for one user: each must be one of the API's scopes (Auth0 lets
 * only an API's defined permissions be assigned). Returns them in the API's order, without
 * duplicates.
 *
 * @param {unknown} permissions
 * @param {ReadonlyArray<string>} apiScopes The API's permissions (IdpConfig.apiScopes).
 * @param {string} what Names the value in the error.
 * @returns {string[]}
 * @throws {TypeError} naming the value and the permission it does not know.
 */
export function checkPermissions(permissions, apiScopes, what) {
  if (!Array.isArray(permissions) || !permissions.every((permission) => typeof permission === 'string')) {
    throw new TypeError(`${what} must be a list of permissions, got ${JSON.stringify(permissions)}`);
  }
  const unknown = permissions.find((permission) => !apiScopes.includes(permission));
  if (unknown !== undefined) {
    throw new TypeError(`${what} names ${JSON.stringify(unknown)}, which is not one of the API's permissions (${apiScopes.join(', ')})`);
  }
  return apiScopes.filter((scope) => permissions.includes(scope));
}

/**
 * The API permissions each user holds, as Auth0 keeps them with RBAC on (assigned through roles
 * or to the user directly). A user with no entry holds every permission of the API, so a login
 * typed on the page, and every user when nothing is configured, can do everything.
 *
 * With RBAC on, Auth0 issues an access token whose `scope` is what was requested narrowed to
 * what the user holds at that moment, at sign-in and at every refresh: a permission removed
 * through its Management API disappears from the next refreshed token (RFC 6749 §6 allows the
 * narrower scope), and one given back reappears, up to what the refresh token was issued for.
 *
 * @param {ReadonlyArray<string>} apiScopes The API's permissions (IdpConfig.apiScopes).
 * @param {Readonly<Record<string, ReadonlyArray<string>>>} [initial] Permissions by account id.
 * @returns {{ of: (accountId: string | undefined) => string[],
 *   set: (accountId: string, permissions: ReadonlyArray<string>) => string[] }}
 */
export function createPermissionStore(apiScopes, initial = {}) {
  const held = new Map();
  const set = (accountId, permissions) => {
    if (typeof accountId !== 'string' || accountId === '') {
      throw new TypeError(`permissions belong to an account id, got ${JSON.stringify(accountId)}`);
    }
    const checked = checkPermissions(permissions, apiScopes, `the permissions of ${JSON.stringify(accountId)}`);
    held.set(accountId, checked);
    return [...checked];
  };
  for (const [accountId, permissions] of Object.entries(initial)) {
    set(accountId, permissions);
  }
  return {
    /** The permissions `accountId` holds now, in the API's order. */
    of(accountId) {
      return [...(held.get(accountId) ?? apiScopes)];
    },
    /** Replaces what `accountId` holds; returns the list as kept. */
    set,
  };
}
