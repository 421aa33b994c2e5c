//! The ToDos API's rejection of an upstream access token, kept until the grant's next refresh.
//!
//! The refresh grant renews the upstream token only near its expiry
//! (`token_exchange::REFRESH_MARGIN`), which spares most refreshes an identity-provider round
//! trip. A token the API refuses earlier (signing key withdrawn at the provider, audience changed,
//! access revoked) would come back in every refreshed MCP token until it expired: the client
//! would go 401 → refresh → 401 for up to the token's whole life (24 h with Auth0's defaults). So
//! a tool call answered 401 `invalid_token` (RFC 6750 §3.1) records the rejection, and the refresh
//! grant that would keep that token reads the record and renews it upstream (RFC 6749 §6).
//!
//! The record is `upstream:rejected:<fingerprint>` in `OAUTH_KV`, the fingerprint being
//! base64url(SHA-256(upstream access token)); its value is the time of the rejection, and it
//! expires with the token it names (never past it). Keyed by the token rather than the grant:
//! - both ends hold the token (the grant's props) and neither needs the grant id (`ctx.auth` has
//!   none);
//! - a record names exactly one token, so the rejection of an older token of the grant (an MCP
//!   token issued before the last refresh stays valid until it expires) can neither overwrite nor
//!   hide the rejection of the current one, and a record left behind after a refresh names a
//!   token the grant no longer holds, so it changes nothing and needs no delete;
//! - SHA-256 is one-way: the key tells nothing of the token (the library keys its own token
//!   records by the same digest), and neither the token nor the key is ever logged.

use base64ct::{Base64UrlUnpadded, Encoding};
use worker::Env;

use crate::OAUTH_KV;
use crate::bindings::{self, Kv};
use crate::grant::UpstreamTokens;
use crate::log;

/// The KV prefix of rejection records (outside the library's `grant:`, `token:`, `client:`
/// prefixes, so its purge never reads them).
pub const PREFIX: &str = "upstream:rejected:";
/// KV's shortest expiration: a token with less left is not recorded (the refresh grant renews or
/// ends a grant whose upstream token has that little left anyway).
const MIN_TTL: u64 = 60;
/// The longest record: a year, an expiration KV takes (the last-refresh records use it), whatever
/// lifetime the provider gave its token.
const MAX_TTL: u64 = 365 * 24 * 3600;

/// The record's key for an upstream access token's SHA-256 digest.
pub fn key(digest: &[u8]) -> String {
    format!("{PREFIX}{}", Base64UrlUnpadded::encode_string(digest))
}

/// How long to keep the record of a rejected token expiring at `expires_at`: its remaining life,
/// so the record never outlives it; `None` when that is under KV's minimum.
pub fn ttl(expires_at: u64, now: u64) -> Option<u64> {
    let remaining = expires_at.saturating_sub(now);
    (remaining >= MIN_TTL).then_some(remaining.min(MAX_TTL))
}

/// Reads the record of `access_token`, or writes it with `value` for `ttl` seconds: one body for
/// both, as each async body is code of its own in the module.
async fn at_record(
    env: &Env,
    access_token: &str,
    write: Option<(String, u64)>,
) -> Result<Option<String>, String> {
    let kv = Kv::from_env(env, OAUTH_KV)?;
    let key = key(&bindings::sha256(access_token.as_bytes()).await?);
    match write {
        Some((value, ttl)) => kv.put_text(&key, &value, ttl).await.map(|()| None),
        None => kv.get_text(&key).await,
    }
}

/// Records that the ToDos API rejected `upstream`'s access token. Awaited before the 401 goes out,
/// so the client's refresh, which follows at once, finds it. A failure is logged and ignored: the
/// client still gets its 401, and the token is renewed when it nears expiry, as before.
pub async fn record(env: &Env, upstream: &UpstreamTokens) {
    let now = bindings::now_seconds();
    let Some(ttl) = ttl(upstream.expires_at, now) else {
        return;
    };
    match at_record(env, &upstream.access_token, Some((now.to_string(), ttl))).await {
        Ok(_) => log::debug!("upstream.rejection_recorded", "ttl" => ttl),
        Err(cause) => log::warning!("upstream.rejection_not_recorded", "cause" => cause),
    }
}

/// Whether the ToDos API rejected `access_token`. A failed read is logged and counts as no: the
/// refresh keeps the token, as it did before rejections were recorded.
pub async fn is_recorded(env: &Env, access_token: &str) -> bool {
    at_record(env, access_token, None)
        .await
        .unwrap_or_else(|cause| {
            log::warning!("upstream.rejection_unread", "cause" => cause);
            None
        })
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_prefix_and_the_unpadded_base64url_digest() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let digest = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
            0xf2, 0x00, 0x15, 0xad,
        ];
        assert_eq!(
            key(&digest),
            "upstream:rejected:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn a_record_never_outlives_the_token_it_names() {
        assert_eq!(ttl(1_000 + 3_600, 1_000), Some(3_600));
        assert_eq!(ttl(1_000 + 60, 1_000), Some(60));
        // Under KV's minimum, or expired: not recorded.
        assert_eq!(ttl(1_000 + 59, 1_000), None);
        assert_eq!(ttl(500, 1_000), None);
        assert_eq!(ttl(u64::MAX, 1_000), Some(MAX_TTL));
    }
}
