//! A user's grants as the page and the admin API show them: the library's grant summaries
//! (`listUserGrants`), the client's name (`lookupClient`), and when the grant was last refreshed.
//!
//! The library records no refresh time and its grant metadata cannot be updated after
//! `completeAuthorization`, so this worker records it: a successful `refresh_token` grant writes
//! `account:refreshed:<grantId>` in `OAUTH_KV` after the answer (see [`record_refresh`] and
//! [`claim_record`]); revoking through this module deletes it.

use std::cell::RefCell;
use std::collections::HashMap;

use worker::Env;

use super::page::GrantView;
use crate::OAUTH_KV;
use crate::bindings::{ClientSummary, HelperError, Kv, OAuthApi};
use crate::log;

/// The KV prefix of the last-refresh records (outside the library's `grant:`, `token:`,
/// `client:` prefixes, so its purge never reads them).
pub const REFRESHED_PREFIX: &str = "account:refreshed:";
/// How long a last-refresh record is kept after the last refresh: a grant unused for longer
/// shows "not since it was granted" rather than keeping a record forever.
pub const REFRESHED_TTL_SECONDS: u64 = 365 * 24 * 3600;

/// Seconds between two last-refresh records of one grant from one isolate. Workers KV accepts
/// about one write per second to a key (a burst of refreshes would be refused with 429s), and
/// the page shows the time to the minute, so a record at most this old is exact enough.
pub const RECORD_INTERVAL_SECONDS: u64 = 60;
/// At most this many grants are remembered per isolate; older entries are dropped first.
const RECORDED_CAPACITY: usize = 1024;

thread_local! {
    /// When this isolate last recorded a refresh of each grant.
    static RECORDED: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

/// Whether a refresh of `grant_id` at `now` is to be recorded: not when this isolate recorded
/// one less than [`RECORD_INTERVAL_SECONDS`] ago. A `true` counts as recorded.
pub fn claim_record(grant_id: &str, now: u64) -> bool {
    RECORDED.with_borrow_mut(|recorded| {
        let recent = |last: &u64| now < last.saturating_add(RECORD_INTERVAL_SECONDS);
        if recorded.get(grant_id).is_some_and(recent) {
            return false;
        }
        if recorded.len() >= RECORDED_CAPACITY {
            recorded.retain(|_, last| recent(last));
            if recorded.len() >= RECORDED_CAPACITY {
                recorded.clear();
            }
        }
        recorded.insert(grant_id.to_owned(), now);
        true
    })
}

fn refreshed_key(grant_id: &str) -> String {
    format!("{REFRESHED_PREFIX}{grant_id}")
}

/// Records that grant `grant_id` was refreshed at `now`. A failure is logged and ignored: it
/// must never fail the token request.
pub async fn record_refresh(env: &Env, grant_id: &str, now: u64) {
    if grant_id.is_empty() {
        return;
    }
    let written = match Kv::from_env(env, OAUTH_KV) {
        Ok(kv) => {
            kv.put_text(
                &refreshed_key(grant_id),
                &now.to_string(),
                REFRESHED_TTL_SECONDS,
            )
            .await
        }
        Err(error) => Err(error),
    };
    if let Err(cause) = written {
        log::warning!("account.refresh_not_recorded", "grant" => grant_id, "cause" => cause);
    }
}

async fn last_refresh(env: &Env, grant_id: &str) -> Option<u64> {
    let kv = Kv::from_env(env, OAUTH_KV).ok()?;
    let text = kv.get_text(&refreshed_key(grant_id)).await.ok()??;
    text.parse().ok()
}

/// The host a redirect URI points at.
fn host_of(uri: &str) -> Option<String> {
    crate::web_url::WebUrl::parse(uri)
        .map(|u| u.hostname())
        .filter(|host| !host.is_empty())
}

/// Every grant of `user_id`, newest first, with client names and refresh times.
pub async fn list(api: &OAuthApi, env: &Env, user_id: &str) -> Result<Vec<GrantView>, HelperError> {
    let mut grants = api.list_user_grants(user_id).await?;
    grants.sort_by_key(|g| std::cmp::Reverse(g.created_at));
    let mut clients: HashMap<String, Option<ClientSummary>> = HashMap::new();
    let mut views = Vec::with_capacity(grants.len());
    for grant in grants {
        if !clients.contains_key(&grant.client_id) {
            // A client that cannot be looked up (deleted, or a CIMD document that does not
            // resolve right now) still lists its grant, by id, so it can be revoked.
            let client = api.lookup_client(&grant.client_id).await.unwrap_or(None);
            clients.insert(grant.client_id.clone(), client);
        }
        let client = clients.get(&grant.client_id).cloned().flatten();
        let redirect_host = grant.redirect_uri.as_deref().and_then(host_of).or_else(|| {
            client
                .as_ref()
                .and_then(|c| c.redirect_uris.first())
                .and_then(|u| host_of(u))
        });
        views.push(GrantView {
            last_refreshed_at: last_refresh(env, &grant.id).await,
            id: grant.id,
            client_name: client.and_then(|c| c.client_name),
            client_id: grant.client_id,
            redirect_host,
            scope: grant.scope,
            created_at: grant.created_at,
            expires_at: grant.expires_at,
        });
    }
    Ok(views)
}

/// What revoking found.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The grant was the user's and is gone, with its tokens.
    Done { client_id: String },
    /// The user has no such grant: nothing was touched.
    NotFound,
}

/// Revokes grant `grant_id` if, and only if, it belongs to `user_id` (RFC 7009 §2.1: a party
/// may only revoke what was issued to it; here, the user only their own grants). The library's
/// `revokeGrant` deletes the grant and every access and refresh token of it, so the client's
/// tokens fail at once on `/mcp`, `/sse` and `/token`.
pub async fn revoke(
    api: &OAuthApi,
    env: &Env,
    user_id: &str,
    grant_id: &str,
) -> Result<Revoked, HelperError> {
    let owned = api
        .list_user_grants(user_id)
        .await?
        .into_iter()
        .find(|g| g.id == grant_id);
    let Some(grant) = owned else {
        return Ok(Revoked::NotFound);
    };
    let revoked = api.revoke_grant(&grant.id, user_id).await;
    // The grant's access tokens must fail at once in this isolate too, also when the revocation
    // failed part-way: the library may have deleted some of its token records already.
    crate::token_memo::forget_all();
    revoked?;
    if let Ok(kv) = Kv::from_env(env, OAUTH_KV) {
        let _ = kv.delete(&refreshed_key(&grant.id)).await;
    }
    Ok(Revoked::Done {
        client_id: grant.client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_refreshed_again_within_the_interval_is_recorded_once() {
        assert!(claim_record("g-interval", 1_000));
        assert!(!claim_record("g-interval", 1_001));
        assert!(!claim_record(
            "g-interval",
            1_000 + RECORD_INTERVAL_SECONDS - 1
        ));
        assert!(claim_record("g-interval", 1_000 + RECORD_INTERVAL_SECONDS));
        assert!(claim_record("g-other", 1_001));
    }

    #[test]
    fn the_memory_of_recorded_grants_stays_bounded() {
        for i in 0..(RECORDED_CAPACITY * 2) {
            assert!(claim_record(&format!("g-bound-{i}"), 5_000));
        }
        RECORDED.with_borrow(|recorded| assert!(recorded.len() <= RECORDED_CAPACITY));
    }
}
