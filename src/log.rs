//! Structured logging: one JSON object per line, filtered by `LOG_LEVEL`.
//!
//! Each step of the OAuth lifecycle is one `debug` event (`consent.shown`, `upstream.redirect`,
//! `grant.completed`, `token.refreshed`, …) carrying ids and scopes. Callers pass only
//! identifiers, never a token, code, verifier, secret or cookie value: the types that hold those
//! (`Secret`, `UpstreamTokens`, `Pkce`) do not serialise them into log fields.

use std::cell::Cell;

use serde_json::{Map, Value};

/// How much is logged, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures an operator must act on.
    Error,
    /// Refused requests and degraded upstreams.
    Warn,
    /// The default: errors and warnings, plus start-up facts.
    Info,
    /// Every step of every OAuth flow.
    Debug,
}

impl Level {
    /// Parses a `LOG_LEVEL` value, case-insensitively.
    pub fn parse(raw: &str) -> Option<Level> {
        match raw.to_ascii_lowercase().as_str() {
            "error" => Some(Level::Error),
            "warn" | "warning" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

thread_local! {
    // An isolate runs one thread; the level is set from the config at the start of each request.
    static LEVEL: Cell<Level> = const { Cell::new(Level::Info) };
}

/// Sets the level for this isolate (called with the config's level on every request).
pub fn set_level(level: Level) {
    LEVEL.with(|l| l.set(level));
}

/// Whether events of `level` are written.
pub fn enabled(level: Level) -> bool {
    LEVEL.with(|l| level <= l.get())
}

/// Formats one log line: `{"level":…,"event":…,…fields}`. Fields that are `null` are dropped.
pub fn format_line(level: Level, event: &str, fields: Value) -> String {
    let mut line = Map::new();
    line.insert("level".into(), Value::from(level.name()));
    line.insert("event".into(), Value::from(event));
    if let Value::Object(fields) = fields {
        for (key, value) in fields {
            if !value.is_null() {
                line.insert(key, value);
            }
        }
    }
    crate::json::write(&Value::Object(line))
}

/// Writes one event if its level is enabled.
pub fn event(level: Level, event: &str, fields: Value) {
    if !enabled(level) {
        return;
    }
    let line = format_line(level, event, fields);
    #[cfg(target_arch = "wasm32")]
    match level {
        Level::Error => worker::console_error!("{line}"),
        Level::Warn => worker::console_warn!("{line}"),
        _ => worker::console_log!("{line}"),
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
}

/// A `debug` event: one step of an OAuth flow. A macro, so that the fields (usually a
/// `json!` object with cloned ids) are only built when debug events are written: at the default
/// level they cost nothing on the request path.
macro_rules! debug {
    ($name:expr, $fields:expr $(,)?) => {
        if $crate::log::enabled($crate::log::Level::Debug) {
            $crate::log::event($crate::log::Level::Debug, $name, $fields);
        }
    };
}
pub(crate) use debug;

/// A `warn` event: a refused request or a degraded upstream.
pub fn warn(name: &str, fields: Value) {
    event(Level::Warn, name, fields);
}

/// An `error` event: something an operator must act on.
pub fn error(name: &str, fields: Value) {
    event(Level::Error, name, fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_is_one_json_object_without_nulls() {
        let line = format_line(
            Level::Debug,
            "consent.shown",
            json!({"client_id": "abc", "user": null, "scopes": ["openid"]}),
        );
        let parsed: Value = crate::json::parse(&line).unwrap();
        assert_eq!(parsed["level"], "debug");
        assert_eq!(parsed["event"], "consent.shown");
        assert_eq!(parsed["client_id"], "abc");
        assert!(parsed.get("user").is_none());
        assert!(!line.contains('\n'));
    }

    #[test]
    fn levels_filter() {
        set_level(Level::Info);
        assert!(enabled(Level::Warn));
        assert!(!enabled(Level::Debug));
        set_level(Level::Debug);
        assert!(enabled(Level::Debug));
        assert_eq!(Level::parse("Warning"), Some(Level::Warn));
        assert_eq!(Level::parse("verbose"), None);
    }
}
