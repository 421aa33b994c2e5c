//! Structured logging: one JSON object per line, filtered by `LOG_LEVEL`.
//!
//! Each step of the OAuth lifecycle is one `debug` event (`consent.shown`, `upstream.redirect`,
//! `grant.completed`, `token.refreshed`, …) carrying ids and scopes:
//! `log::debug!("consent.shown", "client_id" => id, "scopes" => scopes)`. Callers pass only
//! identifiers, never a token, code, verifier, secret or cookie value: a field must be a
//! [`LogValue`], which the types that hold those (`Secret`, `UpstreamTokens`, `Pkce`, the grant's
//! props) are not. Lines are written straight into one buffer, without building a
//! `serde_json::Value` per event.

use std::cell::Cell;

use serde_json::Value;

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

/// A value a log line can carry: ids, names, counts, flags, lists of them, or already-built JSON.
///
/// Implemented for those types only, and deliberately not for the types that hold a token, code,
/// verifier or secret (`Secret`, `UpstreamTokens`, `Pkce`, the grant's props): such a value does
/// not compile as a log field.
pub trait LogValue {
    /// Appends the value as JSON.
    fn write(&self, out: &mut Vec<u8>);
    /// Null fields are left out of the line.
    fn is_null(&self) -> bool {
        false
    }
}

/// One `key => value` pair of a log line.
pub type Field<'a> = (&'a str, &'a dyn LogValue);

/// Writes a `Serialize` value of one of the types below into the line.
fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, nor can these types' serialisation (no maps with
    // non-string keys), so the result carries nothing.
    let _ = value.serialize(&mut serde_json::Serializer::new(out));
}

macro_rules! log_value_as_json {
    ($($ty:ty),*) => {$(
        impl LogValue for $ty {
            fn write(&self, out: &mut Vec<u8>) {
                write_json(self, out);
            }
        }
    )*};
}
log_value_as_json!(str, String, bool, u16, u32, u64, usize);

impl LogValue for Value {
    fn write(&self, out: &mut Vec<u8>) {
        write_json(self, out);
    }
    fn is_null(&self) -> bool {
        Value::is_null(self)
    }
}

impl<T: LogValue + ?Sized> LogValue for &T {
    fn write(&self, out: &mut Vec<u8>) {
        (**self).write(out);
    }
    fn is_null(&self) -> bool {
        (**self).is_null()
    }
}

impl<T: LogValue> LogValue for Option<T> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write(out),
            None => out.extend_from_slice(b"null"),
        }
    }
    fn is_null(&self) -> bool {
        self.as_ref().is_none_or(LogValue::is_null)
    }
}

impl<T: LogValue> LogValue for [T] {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write(out);
        }
        out.push(b']');
    }
}

impl<T: LogValue> LogValue for Vec<T> {
    fn write(&self, out: &mut Vec<u8>) {
        self.as_slice().write(out);
    }
}

/// Formats one log line: `{"level":…,"event":…,…fields}`. Fields that are null are left out.
/// Written straight into one buffer: no `serde_json::Value` is built for a line.
pub fn format_line(level: Level, event: &str, fields: &[Field<'_>]) -> String {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(b"{\"level\":\"");
    out.extend_from_slice(level.name().as_bytes());
    out.extend_from_slice(b"\",\"event\":");
    event.write(&mut out);
    for (key, value) in fields {
        if value.is_null() {
            continue;
        }
        out.push(b',');
        key.write(&mut out);
        out.push(b':');
        value.write(&mut out);
    }
    out.push(b'}');
    // Only JSON text was written: ASCII punctuation and serde_json's output, both UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes one event if its level is enabled. The macros below are the usual way in.
pub fn event(level: Level, event: &str, fields: &[Field<'_>]) {
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

/// `log::at!(level, "event", "key" => value, …)`: one event with its fields, each a
/// [`LogValue`] taken by reference. The fields are only evaluated when the level is enabled.
macro_rules! at {
    ($level:expr, $name:expr $(, $key:literal => $value:expr)* $(,)?) => {
        if $crate::log::enabled($level) {
            $crate::log::event($level, $name, &[$(($key, &$value as &dyn $crate::log::LogValue)),*]);
        }
    };
}
pub(crate) use at;

/// A `debug` event: one step of an OAuth flow. Its fields cost nothing at the default level.
macro_rules! debug {
    ($($args:tt)*) => { $crate::log::at!($crate::log::Level::Debug, $($args)*) };
}
pub(crate) use debug;

/// An `info` event: start-up facts and the hourly sweep.
macro_rules! info {
    ($($args:tt)*) => { $crate::log::at!($crate::log::Level::Info, $($args)*) };
}
pub(crate) use info;

/// A `warn` event: a refused request or a degraded upstream.
/// (Not `warn!`: that name is taken by the built-in `#[warn]` attribute.)
macro_rules! warning {
    ($($args:tt)*) => { $crate::log::at!($crate::log::Level::Warn, $($args)*) };
}
pub(crate) use warning;

/// An `error` event: something an operator must act on.
macro_rules! error {
    ($($args:tt)*) => { $crate::log::at!($crate::log::Level::Error, $($args)*) };
}
pub(crate) use error;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_is_one_json_object_without_nulls() {
        let scopes = vec!["openid".to_owned(), "read:todos".to_owned()];
        let user: Option<String> = None;
        let line = format_line(
            Level::Debug,
            "consent.shown",
            &[
                ("client_id", &"abc"),
                ("user", &user),
                ("scopes", &scopes),
                ("remembered", &true),
                ("grants", &3usize),
                ("extra", &json!({ "nested": [1, null] })),
                ("nothing", &Value::Null),
            ],
        );
        let parsed: Value = crate::json::parse(&line).unwrap();
        assert_eq!(
            parsed,
            json!({
                "level": "debug",
                "event": "consent.shown",
                "client_id": "abc",
                "scopes": ["openid", "read:todos"],
                "remembered": true,
                "grants": 3,
                "extra": { "nested": [1, null] },
            })
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn client_text_in_a_field_cannot_break_the_line() {
        let hostile = "a\"b\n{\"level\":\"error\"}\u{0}\\";
        let line = format_line(Level::Warn, "consent.refused", &[("reason", &hostile)]);
        assert!(!line.contains('\n'));
        let parsed: Value = crate::json::parse(&line).unwrap();
        assert_eq!(parsed["reason"], hostile);
        assert_eq!(parsed["level"], "warn");
    }

    #[test]
    fn fields_are_built_only_when_their_level_is_on() {
        set_level(Level::Info);
        let mut built = false;
        debug!("never.built", "value" => { built = true; 1u64 });
        assert!(!built);
        set_level(Level::Debug);
        debug!("built", "value" => { built = true; 1u64 });
        assert!(built);
        set_level(Level::Info);
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
