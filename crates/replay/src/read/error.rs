//! The one error type of the readers: the input could not be opened or read, or a line was bad.
//!
//! Every message is one line, because the command line prints it as is and exits; a line's error
//! names its number and what was wrong with it, so a user can find it in their log. A wrapped
//! I/O error is shown by `Display` (it is the whole story), never also returned by `source()`, so
//! it is never printed twice.

use std::io;

/// Why records could not be read.
///
/// # Example
///
/// ```
/// use breaker_replay::read::{Format, ReadError, ReadOptions, Records};
///
/// let options = ReadOptions { format: Some(Format::Jsonl), strict: true, ..ReadOptions::default() };
/// let input = b"{\"t\": 1, \"outcome\": \"success\"}\n{\"t\": true, \"outcome\": \"success\"}\n";
/// let mut records = Records::from_reader(&input[..], &options)?;
/// let err = records.next().and_then(Result::err).ok_or("no error")?;
/// assert_eq!(err.to_string(), "line 2: \"t\" is not a number or an RFC 3339 time");
/// assert!(records.next().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The input could not be opened.
    #[error("cannot open {path}: {error}")]
    Open {
        /// The path as it was given.
        path: String,
        /// What the system said.
        error: io::Error,
    },
    /// The input could not be read: an I/O error, or a corrupt or truncated gzip stream.
    #[error("cannot read the input: {0}")]
    Io(io::Error),
    /// A line could not be read as a record. Without
    /// [`strict`](crate::read::ReadOptions::strict) such a line is counted and skipped instead.
    #[error("line {line}: {reason}")]
    Line {
        /// The line's number, counted from 1.
        line: u64,
        /// What was wrong with it, in a few words.
        reason: String,
    },
}

impl ReadError {
    /// The error for the line `line`, with the reason `reason`.
    pub(crate) fn line(line: u64, reason: impl Into<String>) -> Self {
        Self::Line {
            line,
            reason: reason.into(),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_error_names_its_line_and_reason() {
        let err = ReadError::line(17, "\"t\" is missing");
        assert_eq!(err.to_string(), "line 17: \"t\" is missing");
    }

    #[test]
    fn an_io_error_is_shown_once() {
        let err = ReadError::from(io::Error::other("disk on fire"));
        assert_eq!(err.to_string(), "cannot read the input: disk on fire");
        assert!(std::error::Error::source(&err).is_none());
    }

    #[test]
    fn an_open_error_names_the_path() {
        let err = ReadError::Open {
            path: "access.log".to_owned(),
            error: io::Error::new(io::ErrorKind::NotFound, "not found"),
        };
        assert_eq!(err.to_string(), "cannot open access.log: not found");
    }
}
