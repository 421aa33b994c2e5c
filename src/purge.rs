//! The Cron Trigger (`[triggers] crons` in `wrangler.toml`): a defence-in-depth sweep of
//! `OAUTH_KV` for grants and tokens that outlived their use.
//!
//! `@cloudflare/workers-oauth-provider` 1.2.3 writes every record this worker makes with a KV
//! expiration (grants at their `expiresAt`, tokens at their TTL, registrations after 90 days,
//! consent and upstream transactions after 10 minutes), so KV itself removes almost everything.
//! What a KV expiration cannot catch, the sweep does, through the library's own
//! `purgeExpiredData()` (it knows its record format; this module only drives it):
//!
//! - a grant whose `expiresAt` has passed while its KV record is still there: the library clamps
//!   a grant's KV expiration to at least 65 seconds ahead, and grants written by 0.x, or with
//!   `refreshTokenTTL: undefined`, carry no KV expiration at all;
//! - an orphaned grant, whose client registration is gone (expired or deleted): its access
//!   tokens still validate until they expire, and the sweep revokes them;
//! - an orphaned access token, whose grant is gone (a revocation's `list()` is eventually
//!   consistent, so it can miss a token written a moment before).
//!
//! Each run checks one batch and keeps the library's resumable cursor in KV, with a TTL of its
//! own, so a large namespace is swept over several runs and nothing here lingers either.

use worker::Env;

use crate::bindings::{self, Kv};
use crate::json::{Fields, FromFields};
use crate::{OAUTH_KV, log};

/// Where the sweep's cursor is kept between runs. The library lists only `grant:` and `token:`
/// keys, so this key is never swept itself.
pub const CURSOR_KEY: &str = "purge-cursor";

/// How many grants, then tokens, one run checks. A grant costs a read, a client lookup (cached
/// per run) and, when purged, a list and deletes; 100 of each stays well inside the 1,000 KV
/// operations a Worker invocation may make.
pub const BATCH_SIZE: u32 = 100;

/// The cursor's own lifetime (one day). The cron runs hourly and rewrites it; if the cron is
/// removed mid-sweep, the key expires instead of staying in KV for good.
pub const CURSOR_TTL_SECONDS: u64 = 24 * 60 * 60;

/// What one `purgeExpiredData()` call reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub grants_checked: u64,
    pub grants_purged: u64,
    pub tokens_checked: u64,
    pub tokens_purged: u64,
    /// True once both key spaces were covered; `cursor` is then absent.
    pub done: bool,
    /// Where the next run resumes (opaque, the library's format).
    pub cursor: Option<String>,
}

impl FromFields for PurgeReport {
    fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        Ok(PurgeReport {
            grants_checked: fields.u64("grantsChecked")?,
            grants_purged: fields.u64("grantsPurged")?,
            tokens_checked: fields.u64("tokensChecked")?,
            tokens_purged: fields.u64("tokensPurged")?,
            done: fields.opt_bool("done")?.unwrap_or(false),
            cursor: fields.opt_string("cursor")?,
        })
    }
}

/// What to do with the stored cursor after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorUpdate {
    /// Resume here next run.
    Save(String),
    /// The sweep is complete (or its cursor was unusable): the next run starts a new one.
    Clear,
}

/// The cursor to keep after a report. Without this, every run would restart at the first batch
/// and never reach the rest (the library's `purgeExpiredData` docs).
pub fn next_cursor(report: &PurgeReport) -> CursorUpdate {
    match &report.cursor {
        Some(cursor) if !report.done && !cursor.is_empty() => CursorUpdate::Save(cursor.clone()),
        _ => CursorUpdate::Clear,
    }
}

/// One scheduled run: resume the sweep, record where it stopped, log what it did. An error is
/// returned (and the invocation shows as failed in the dashboard) only when KV or the library
/// failed; the cause is logged first.
pub async fn run(cron: &str, env: &Env, provider: &wasm_bindgen::JsValue) -> Result<(), String> {
    let kv = Kv::from_env(env, OAUTH_KV).map_err(|e| failed(cron, "kv.binding", e))?;
    let cursor = kv
        .get_text(CURSOR_KEY)
        .await
        .map_err(|e| failed(cron, "kv.get_cursor", e))?;
    let report =
        match bindings::purge_expired_data(provider, env, BATCH_SIZE, cursor.as_deref()).await {
            Ok(report) => report,
            Err(cause) if cursor.is_some() => {
                // A cursor KV no longer accepts (or from another library version) must not wedge
                // every later run: drop it so the next run starts a fresh sweep.
                let _ = kv.delete(CURSOR_KEY).await;
                return Err(failed(cron, "purge.resume", cause));
            }
            Err(cause) => return Err(failed(cron, "purge", cause)),
        };
    match next_cursor(&report) {
        CursorUpdate::Save(next) => kv
            .put_text(CURSOR_KEY, &next, CURSOR_TTL_SECONDS)
            .await
            .map_err(|e| failed(cron, "kv.put_cursor", e))?,
        CursorUpdate::Clear if cursor.is_some() => kv
            .delete(CURSOR_KEY)
            .await
            .map_err(|e| failed(cron, "kv.delete_cursor", e))?,
        CursorUpdate::Clear => {}
    }
    // Info, not debug: one line an hour tells an operator the sweep runs and what it finds.
    log::info!(
        "purge.finished",
        "cron" => cron,
        "grants_checked" => report.grants_checked,
        "grants_purged" => report.grants_purged,
        "tokens_checked" => report.tokens_checked,
        "tokens_purged" => report.tokens_purged,
        "sweep_complete" => report.done,
    );
    Ok(())
}

fn failed(cron: &str, step: &str, cause: impl std::fmt::Display) -> String {
    let cause = cause.to_string();
    log::error!("purge.failed", "cron" => cron, "step" => step, "cause" => cause);
    format!("purge failed at {step}: {cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: &str) -> PurgeReport {
        PurgeReport::from_json(json).expect("a report in the library's shape")
    }

    #[test]
    fn reads_the_library_report_shape() {
        let r = report(
            r#"{"grantsChecked":3,"grantsPurged":1,"tokensChecked":4,"tokensPurged":2,"done":true}"#,
        );
        assert_eq!(
            (r.grants_purged, r.tokens_purged, r.done, r.cursor),
            (1, 2, true, None)
        );
    }

    #[test]
    fn an_unfinished_sweep_keeps_its_cursor() {
        let r = report(
            r#"{"grantsChecked":100,"grantsPurged":0,"tokensChecked":0,"tokensPurged":0,"done":false,"cursor":"grants:abc"}"#,
        );
        assert_eq!(next_cursor(&r), CursorUpdate::Save("grants:abc".into()));
    }

    #[test]
    fn a_finished_sweep_clears_its_cursor() {
        let r = report(
            r#"{"grantsChecked":1,"grantsPurged":0,"tokensChecked":1,"tokensPurged":0,"done":true}"#,
        );
        assert_eq!(next_cursor(&r), CursorUpdate::Clear);
        // Defensive: an empty cursor would restart at the same place forever.
        let odd = PurgeReport {
            cursor: Some(String::new()),
            ..PurgeReport::default()
        };
        assert_eq!(next_cursor(&odd), CursorUpdate::Clear);
    }

    #[test]
    fn the_batch_stays_inside_the_kv_operation_limit() {
        // Worst case per checked record: a read, a lookup, a list and a delete.
        assert!(BATCH_SIZE as u64 * 2 * 4 <= 1000);
    }
}
