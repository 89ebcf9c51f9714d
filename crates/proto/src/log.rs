//! Logging: a callback set by the program, or stderr when `FTAPI_LOG` asks for it.
//!
//! Levels: error 1, warn 2, info 3, debug 4, trace 5. At debug, one line per packet
//! (proto ID, serial number, length, and the reply's latency). Key material is never
//! logged: callers pass only IDs, lengths and texts that carry no keys.
//!
//! The check on the hot path is one relaxed atomic load.

use parking_lot::RwLock;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

/// Log levels; a message is emitted when its level ≤ the maximum level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    pub fn from_i32(v: i32) -> Option<Level> {
        match v {
            1 => Some(Level::Error),
            2 => Some(Level::Warn),
            3 => Some(Level::Info),
            4 => Some(Level::Debug),
            5 => Some(Level::Trace),
            _ => None,
        }
    }

    /// Parses `error|warn|info|debug|trace` (any case); `off` and "" give `None`.
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Some(Level::Error),
            "warn" | "warning" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            "trace" => Some(Level::Trace),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

/// A log sink: `(level, target, message)`. Called on whichever thread logs (mostly an
/// I/O thread); calls may overlap across connections.
pub type Logger = Arc<dyn Fn(Level, &str, &str) + Send + Sync>;

/// 0 = off; otherwise the highest level emitted.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);
static LOGGER: RwLock<Option<Logger>> = RwLock::new(None);
static ENV_LEVEL: OnceLock<u8> = OnceLock::new();

fn env_level() -> u8 {
    *ENV_LEVEL.get_or_init(|| {
        std::env::var("FTAPI_LOG")
            .ok()
            .and_then(|v| Level::parse(&v))
            .map_or(0, |l| l as u8)
    })
}

fn max_level() -> u8 {
    let v = MAX_LEVEL.load(Ordering::Relaxed);
    if v != u8::MAX {
        return v;
    }
    // First use: without a callback, stderr at FTAPI_LOG's level (off when unset).
    let v = env_level();
    let _ = MAX_LEVEL.compare_exchange(u8::MAX, v, Ordering::Relaxed, Ordering::Relaxed);
    MAX_LEVEL.load(Ordering::Relaxed)
}

/// Whether a message at `level` would go anywhere.
#[inline]
pub fn enabled(level: Level) -> bool {
    (level as u8) <= max_level()
}

/// Routes log lines to `logger` up to `max` (`None` turns logging off), replacing stderr.
/// `set_logger(None, ..)` goes back to stderr at `FTAPI_LOG`'s level.
pub fn set_logger(logger: Option<Logger>, max: Option<Level>) {
    let has = logger.is_some();
    *LOGGER.write() = logger;
    let level = if has {
        max.map_or(0, |l| l as u8)
    } else {
        env_level()
    };
    MAX_LEVEL.store(level, Ordering::Relaxed);
}

/// Emits one line (use the [`ftlog!`](crate::ftlog) macro, which checks [`enabled`] first).
pub fn emit(level: Level, target: &str, args: fmt::Arguments<'_>) {
    let msg = args.to_string();
    let logger = LOGGER.read().clone();
    match logger {
        Some(f) => {
            let _ =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(level, target, &msg)));
        }
        None => stderr_line(format_args!("ftapi {} {target}: {msg}", level.name())),
    }
}

/// Writes one line to stderr and ignores a failed write. Every line the library (and its
/// bindings) writes there goes through this, never `eprintln!`, which panics when the
/// write fails (stderr can be a full non-blocking pipe, e.g. one shared with Node's event
/// loop): on an I/O thread or inside a panic boundary that panic would escape and end the
/// thread without its connection ever finishing.
pub fn stderr_line(line: fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `ftlog!(Level::Debug, "ftapi::conn", "sent proto={} serial={}", p, s)`
#[macro_export]
macro_rules! ftlog {
    ($level:expr, $target:expr, $($arg:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::emit($level, $target, format_args!($($arg)+));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!(Level::parse("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::parse("off"), None);
        assert!(Level::Error < Level::Trace);
        assert_eq!(Level::from_i32(3), Some(Level::Info));
        assert_eq!(Level::from_i32(9), None);
    }
}
