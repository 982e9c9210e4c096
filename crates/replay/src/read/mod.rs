//! Reading recorded calls from a log: `jsonl`, CSV or access logs, plain or gzipped, in start
//! order.
//!
//! Logs are large and often arrive on standard input, so reading is a stream: one reused line
//! buffer, no allocation per line in the common case, and a reorder buffer that holds only the
//! records of the last [`max_lag`](ReadOptions::max_lag), never the whole log. The iterator is
//! `Send`, so the replay can read on one thread and replay on another.
//!
//! # Formats
//!
//! - `jsonl`: one object per line, `{"t": 12.5, "outcome": "failure", "duration": 0.12}`. `t` is
//!   the start in seconds of any origin (exact to the nanosecond, however many digits an epoch
//!   timestamp has) or an RFC 3339 time; `outcome` is `success`, `failure` or `ignored`, or in
//!   its place `status`, an HTTP status (a number or a numeric string): 5xx a failure, 4xx
//!   ignored, anything else a success, as the breaker classifies HTTP. When both are present the
//!   outcome wins. `duration` is in seconds, 0 when absent. A `null` counts as absent; other
//!   fields are ignored. [`Fields`] renames the four.
//! - `csv`: a header row naming the same columns (through [`Fields`]), and the same rules for
//!   the cells; an empty cell counts as absent.
//! - `clf`: Common or Combined Log Format (nginx, Apache). A number after the size (and after
//!   the quoted referer and agent, if any) is the request time in seconds (nginx
//!   `$request_time`): then the logged time is the call's end and its start is that time less
//!   the duration. Without one, the logged time is the start and the duration 0.
//!
//! Without a [`format`](ReadOptions::format), the file's name decides (`.jsonl`, `.json`,
//! `.ndjson`, `.csv`, after any `.gz`); failing that, the first non-empty line does: `{` is
//! `jsonl`, an access log line is `clf`, anything else is taken for a CSV header. Gzip is
//! recognised by its magic bytes, on standard input too.
//!
//! Times may be negative (an origin of the log's own); durations may not. A line that breaks a
//! rule is unreadable: it is counted and its number and fault kept (the first five), or under
//! [`strict`](ReadOptions::strict) it ends the reading with an error. Blank lines are skipped
//! silently.
//!
//! ```
//! use breaker::Outcome;
//! use breaker_replay::read::{ReadOptions, Records};
//!
//! let log = br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 503 0 "-" "curl" 0.250
//! "#;
//! let mut records = Records::from_reader(&log[..], &ReadOptions::default())?;
//! let record = records.next().ok_or("no record")??;
//! assert_eq!(record.outcome, Outcome::Failure);
//! assert_eq!(record.end(), 971_211_336_000_000_000); // the logged time
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod clf;
mod csv;
mod decimal;
mod error;
mod fields;
mod format;
mod jsonl;
mod records;
mod reorder;
mod source;
mod value;

use std::path::Path;
use std::time::Duration;

pub use self::error::ReadError;
pub use self::fields::{Fields, FieldsError};
pub use self::format::{Format, UnknownFormat};
pub use self::records::{Records, Skipped};

/// How to read an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The input's format; `None` to guess it from the name, then from the first line.
    pub format: Option<Format>,
    /// The names of the fields of a `jsonl` or CSV input.
    pub fields: Fields,
    /// How late a record may arrive and still be put in its place: the reorder buffer holds
    /// each record until a start this much later is read. Default 60 s.
    pub max_lag: Duration,
    /// Whether an unreadable line is an error that ends the reading, rather than counted and
    /// skipped. Default `false`.
    pub strict: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            fields: Fields::default(),
            max_lag: Duration::from_secs(60),
            strict: false,
        }
    }
}

/// Opens the file at `path` (`-` for standard input), gzipped or not, and reads its records.
///
/// # Errors
///
/// [`ReadError::Open`] if the file cannot be opened; [`ReadError::Io`] if its first bytes
/// cannot be read; [`ReadError::Line`] for a CSV header that names no usable columns.
///
/// ```no_run
/// use breaker_replay::read::{self, ReadOptions};
///
/// let mut records = read::open("access.log.gz", &ReadOptions::default())?;
/// for record in records.by_ref() {
///     let record = record?;
///     println!("{} {:?}", record.start, record.outcome);
/// }
/// println!("{} lines unreadable", records.skipped().unreadable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Records, ReadError> {
    let path = path.as_ref();
    let input = source::open_path(path)?;
    let format = options.format.or_else(|| Format::from_name(path));
    Records::from_input(input, format, options)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    /// A file in the system's temporary directory, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(name: &str, bytes: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn the_name_decides_the_format_before_the_content() {
        // A CSV whose header starts with a brace would be guessed as jsonl from its content.
        let file = TempFile::new("braces.csv", b"{t},t,status\nx,1,200\n");
        let mut records = open(&file.0, &ReadOptions::default()).unwrap();
        assert_eq!(records.format(), Format::Csv);
        assert_eq!(records.by_ref().count(), 1);
    }

    #[test]
    fn a_gzipped_file_is_read_under_its_stripped_name() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder
            .write_all(b"t,outcome\n1,success\n2,failure\n")
            .unwrap();
        let file = TempFile::new("calls.csv.gz", &encoder.finish().unwrap());
        let mut records = open(&file.0, &ReadOptions::default()).unwrap();
        assert_eq!(records.format(), Format::Csv);
        assert_eq!(records.by_ref().count(), 2);
    }

    #[test]
    fn a_log_file_is_guessed_from_its_content() {
        let file = TempFile::new(
            "access.log",
            b"h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1\n",
        );
        let records = open(&file.0, &ReadOptions::default()).unwrap();
        assert_eq!(records.format(), Format::Clf);
    }

    #[test]
    fn a_missing_file_is_an_open_error() {
        let err = open("no-such-dir/no-such-file.jsonl", &ReadOptions::default()).unwrap_err();
        assert!(matches!(err, ReadError::Open { .. }), "{err:?}");
    }
}
