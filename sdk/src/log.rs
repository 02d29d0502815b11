//! Logging into the host's log stream (capability `log`).
//!
//! Inside a component the calls go to the host; in native tests they are captured by the
//! [`testkit`](crate::testkit), so a test can assert on them.
//!
//! ```
//! mantle_sdk::log::info("checked 3 blocks");
//! assert_eq!(mantle_sdk::testkit::take_logs()[0].1, "checked 3 blocks");
//! ```

pub use crate::bindings::host::mantle::plugin::log::Level;

/// Logs `message` at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::host::mantle::plugin::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testkit::capture_log(level, message);
}

/// Logs at debug level.
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}

/// Logs at info level.
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}

/// Logs at warn level.
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}

/// Logs at error level.
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}
