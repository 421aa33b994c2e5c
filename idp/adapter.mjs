/**
 * In-memory storage for oidc-provider's models (sessions, interactions, grants, codes,
 * refresh tokens), one store per IdP instance.
 *
 * oidc-provider ships a memory adapter too, but it prints a non-JSON warning on every
 * start, shares one 1000-entry LRU between all instances in a process (entries can be
 * evicted under load, and two IdPs in one test process would see each other's data),
 * and is not part of its public exports. This one is unbounded except by expiry, which
 * suits a development server whose state is meant to vanish on restart.
 *
 * Interface: https://github.com/panva/node-oidc-provider/blob/v9.x/example/my_adapter.js
 *
 * @module idp/adapter
 */

/** Run an expiry sweep after this many writes, so expired entries cannot pile up. */
const SWEEP_EVERY_WRITES = 256;

/** Models whose records belong to a grant and must go when the grant is revoked. */
const GRANT_MEMBERS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * Creates an adapter factory for the `adapter` option of oidc-provider.
 *
 * @param {{ clockToleranceSeconds?: number }} [options] Extra seconds a record outlives
 *   its `exp`, matching the provider's `clockTolerance` so a token it still accepts is
 *   still findable.
 * @returns {(modelName: string) => object} factory called once per model name
 */
export function createMemoryAdapterFactory({ clockToleranceSeconds = 0 } = {}) {
  /** @type {Map<string, { payload: any, expiresAt: number }>} */
  const records = new Map();
  /** @type {Map<string, Set<string>>} grantId -> record keys */
  const grants = new Map();
  /** @type {Map<string, string>} session uid -> session id */
  const sessionUids = new Map();
  /** @type {Map<string, string>} user code -> device code id */
  const userCodes = new Map();
  let writes = 0;

  const now = () => Date.now();

  function get(key) {
    const record = records.get(key);
    if (!record) {
      return undefined;
    }
    if (record.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    return record.payload;
  }

  function remove(key) {
    const record = records.get(key);
    records.delete(key);
    if (!record) {
      return;
    }
    const { payload } = record;
    if (payload.grantId) {
      grants.get(payload.grantId)?.delete(key);
    }
    if (payload.uid && sessionUids.get(payload.uid) === key) {
      sessionUids.delete(payload.uid);
    }
    if (payload.userCode && userCodes.get(payload.userCode) === key) {
      userCodes.delete(payload.userCode);
    }
  }

  function sweep() {
    const at = now();
    for (const [key, record] of records) {
      if (record.expiresAt <= at) {
        remove(key);
      }
    }
    for (const [grantId, members] of grants) {
      if (members.size === 0) {
        grants.delete(grantId);
      }
    }
  }

  return function adapterFor(model) {
    const keyFor = (id) => `${model}:${id}`;

    return {
      async upsert(id, payload, expiresIn) {
        const key = keyFor(id);
        remove(key);
        const expiresAt = typeof expiresIn === 'number'
          ? now() + (expiresIn + clockToleranceSeconds) * 1000
          : Infinity;
        records.set(key, { payload, expiresAt });

        if (GRANT_MEMBERS.has(model) && payload.grantId) {
          if (!grants.has(payload.grantId)) {
            grants.set(payload.grantId, new Set());
          }
          grants.get(payload.grantId).add(key);
        }
        if (model === 'Session' && payload.uid) {
          sessionUids.set(payload.uid, key);
        }
        if (payload.userCode) {
          userCodes.set(payload.userCode, key);
        }

        writes += 1;
        if (writes % SWEEP_EVERY_WRITES === 0) {
          sweep();
        }
      },

      async find(id) {
        return get(keyFor(id));
      },

      async findByUid(uid) {
        const key = sessionUids.get(uid);
        return key ? get(key) : undefined;
      },

      async findByUserCode(userCode) {
        const key = userCodes.get(userCode);
        return key ? get(key) : undefined;
      },

      async consume(id) {
        const payload = get(keyFor(id));
        if (payload) {
          payload.consumed = Math.floor(now() / 1000);
        }
      },

      async destroy(id) {
        remove(keyFor(id));
      },

      async revokeByGrantId(grantId) {
        const members = grants.get(grantId);
        grants.delete(grantId);
        for (const key of members ?? []) {
          remove(key);
        }
      },
    };
  };
}
