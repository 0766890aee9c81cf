//! Errors the command line maps to exit codes.
//!
//! Everything else travels as `anyhow::Error`; only the distinction between
//! "the user gave us something we cannot use" (exit 2) and "we failed"
//! (exit 1) needs a type of its own.

use std::fmt;

/// Bad input or bad usage: a file that cannot be read as a message log, a
/// missing column, a rate that is needed and absent. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds an [`InputError`] wrapped in `anyhow`, for `return Err(bad_input!(..))`.
#[macro_export]
macro_rules! bad_input {
    ($($arg:tt)*) => {
        anyhow::Error::new($crate::error::InputError(format!($($arg)*)))
    };
}

/// The exit code for an error chain: 2 when any link is an [`InputError`].
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|cause| cause.is::<InputError>()) {
        2
    } else {
        1
    }
}
