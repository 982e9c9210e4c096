//! The records of an input, in start order, with a count of the lines left out.
//!
//! One iterator serves every format so that the replay is written once: the format's reader
//! turns lines into records, the [reorder buffer](super::reorder) puts them in start order, and
//! unreadable lines are counted (or, under `strict`, end the reading) here, in one place.

use std::fmt;
use std::io::BufRead;
use std::iter::FusedIterator;

use super::ReadOptions;
use super::clf::ClfReader;
use super::csv::CsvReader;
use super::error::ReadError;
use super::format::{self, Format};
use super::jsonl::JsonlReader;
use super::reorder::Reorder;
use super::source::{self, Input};
use crate::Record;

/// How many unreadable lines [`Skipped::first_unreadable`] keeps.
const FIRST_UNREADABLE_KEPT: usize = 5;

/// The lines an input's records left out, and why: read by the readers, reported with a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    /// Lines that could not be read as a record (blank lines are not counted).
    pub unreadable: u64,
    /// Records that started before a record already yielded, further back than the lag allows.
    pub out_of_order: u64,
    /// The first five unreadable lines: each line's number and what was wrong with it. Not in
    /// the JSON object of a report.
    #[serde(skip)]
    pub first_unreadable: Vec<(u64, String)>,
}

/// The records of an input, yielded in start order (ties in input order).
///
/// Records are reordered within [`ReadOptions::max_lag`]: each is held until the newest start
/// read is at least the lag past its own, so memory holds the records of one lag, never the
/// whole input. A record that starts before one already yielded is counted in
/// [`Skipped::out_of_order`] and left out. An unreadable line is counted in
/// [`Skipped::unreadable`] and skipped, or, with [`ReadOptions::strict`], yielded as
/// [`ReadError::Line`]. An error is yielded as soon as it is read, ahead of any records the lag
/// still holds, and the iterator ends there. It is `Send`, so the reading can run on a thread of
/// its own.
///
/// ```
/// use std::time::Duration;
/// use breaker::Outcome;
/// use breaker_replay::read::{ReadOptions, Records};
///
/// let log = b"t,status,duration\n2,200,0.5\n1,503,0\noops,200,0\n";
/// let mut records = Records::from_reader(&log[..], &ReadOptions::default())?;
/// let lines: Vec<u64> = records.by_ref().map(|r| r.map(|r| r.line)).collect::<Result<_, _>>()?;
/// assert_eq!(lines, [3, 2]);
/// assert_eq!(records.skipped().unreadable, 1);
/// assert_eq!(
///     records.skipped().first_unreadable,
///     [(4, "\"t\" is not a number or an RFC 3339 time".to_owned())]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Records {
    reader: Reader,
    reorder: Reorder,
    format: Format,
    strict: bool,
    skipped: Skipped,
    done: bool,
}

/// The reader of one format.
enum Reader {
    Jsonl(JsonlReader),
    Csv(CsvReader),
    Clf(ClfReader),
}

impl Reader {
    fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        match self {
            Reader::Jsonl(reader) => reader.next_record(),
            Reader::Csv(reader) => reader.next_record(),
            Reader::Clf(reader) => reader.next_record(),
        }
    }
}

impl Records {
    /// Reads records from `reader`, gzipped or not, in the options' format or, without one, in
    /// the format its first non-empty line looks like.
    ///
    /// # Errors
    ///
    /// [`ReadError::Io`] if the first bytes cannot be read; [`ReadError::Line`] for a CSV header
    /// that names no start column, or neither an outcome nor a status column (every row would
    /// be unreadable, so this is an error even without `strict`).
    pub fn from_reader(
        reader: impl BufRead + Send + 'static,
        options: &ReadOptions,
    ) -> Result<Records, ReadError> {
        Self::from_input(Box::new(reader), options.format, options)
    }

    /// Reads records from an input not yet decompressed, in `format` or a guessed one.
    pub(crate) fn from_input(
        input: Input,
        format: Option<Format>,
        options: &ReadOptions,
    ) -> Result<Records, ReadError> {
        let input = source::decompress(input)?;
        let (format, input) = match format {
            Some(format) => (format, input),
            None => format::sniff(input)?,
        };
        let reader = match format {
            Format::Jsonl => Reader::Jsonl(JsonlReader::new(input, options.fields.clone())),
            Format::Csv => Reader::Csv(CsvReader::new(input, options.fields.clone())?),
            Format::Clf => Reader::Clf(ClfReader::new(input)),
        };
        Ok(Records {
            reader,
            reorder: Reorder::new(options.max_lag),
            format,
            strict: options.strict,
            skipped: Skipped::default(),
            done: false,
        })
    }

    /// The format being read: the one given, or the one guessed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The lines left out so far; complete once the iterator has ended.
    pub fn skipped(&self) -> Skipped {
        self.skipped.clone()
    }

    /// Counts an unreadable line, keeping the first few.
    fn skip(&mut self, line: u64, reason: String) {
        self.skipped.unreadable += 1;
        if self.skipped.first_unreadable.len() < FIRST_UNREADABLE_KEPT {
            self.skipped.first_unreadable.push((line, reason));
        }
    }

    /// Ends the reading on an error: nothing more is yielded.
    fn fail(&mut self, error: ReadError) -> Option<Result<Record, ReadError>> {
        self.done = true;
        self.reorder.clear();
        Some(Err(error))
    }
}

impl Iterator for Records {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.reorder.pop_ready() {
                return Some(Ok(record));
            }
            if self.done {
                return self.reorder.pop().map(Ok);
            }
            match self.reader.next_record() {
                None => self.done = true,
                Some(Ok(record)) => {
                    if !self.reorder.push(record) {
                        self.skipped.out_of_order += 1;
                    }
                }
                Some(Err(ReadError::Line { line, reason })) if !self.strict => {
                    self.skip(line, reason);
                }
                Some(Err(error)) => {
                    if let ReadError::Line { line, reason } = &error {
                        self.skip(*line, reason.clone());
                    }
                    return self.fail(error);
                }
            }
        }
    }
}

impl FusedIterator for Records {}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("format", &self.format)
            .field("strict", &self.strict)
            .field("held", &self.reorder.held())
            .field("skipped", &self.skipped)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Cursor, Read, Write};
    use std::time::Duration;

    use breaker::Outcome;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn records(bytes: &[u8], options: &ReadOptions) -> Records {
        Records::from_reader(Cursor::new(bytes.to_vec()), options).unwrap()
    }

    fn lines(records: &mut Records) -> Vec<u64> {
        records.by_ref().map(|r| r.unwrap().line).collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    const JSONL: &[u8] = b"{\"t\": 3, \"outcome\": \"success\"}\n\n{\"t\": 1, \"status\": 503, \"duration\": 0.5}\n{\"t\": 2, \"status\": 404}\n";

    #[test]
    fn records_are_yielded_in_start_order() {
        let mut records = records(JSONL, &ReadOptions::default());
        let got: Vec<_> = records
            .by_ref()
            .map(|r| r.map(|r| (r.line, r.start, r.duration, r.outcome)).unwrap())
            .collect();
        assert_eq!(
            got,
            [
                (
                    3,
                    1_000_000_000,
                    Duration::from_millis(500),
                    Outcome::Failure
                ),
                (4, 2_000_000_000, Duration::ZERO, Outcome::Ignored),
                (1, 3_000_000_000, Duration::ZERO, Outcome::Success),
            ]
        );
        assert_eq!(records.skipped(), Skipped::default());
    }

    #[test]
    fn the_format_is_guessed_from_the_first_line() {
        assert_eq!(
            records(JSONL, &ReadOptions::default()).format(),
            Format::Jsonl
        );
        assert_eq!(
            records(b"t,status\n", &ReadOptions::default()).format(),
            Format::Csv
        );
        let clf = b"h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1\n";
        assert_eq!(records(clf, &ReadOptions::default()).format(), Format::Clf);
    }

    #[test]
    fn a_given_format_is_not_second_guessed() {
        let options = ReadOptions {
            format: Some(Format::Clf),
            ..ReadOptions::default()
        };
        let mut records = records(JSONL, &options);
        assert_eq!(records.by_ref().count(), 0);
        assert_eq!(records.skipped().unreadable, 3);
    }

    #[test]
    fn gzip_is_read_transparently() {
        let mut records = records(&gzip(JSONL), &ReadOptions::default());
        assert_eq!(records.format(), Format::Jsonl);
        assert_eq!(lines(&mut records), [3, 4, 1]);
    }

    #[test]
    fn a_corrupt_gzip_is_an_io_error_that_ends_the_reading() {
        let mut bytes = gzip(&JSONL.repeat(100));
        bytes.truncate(bytes.len() / 2);
        let options = ReadOptions {
            format: Some(Format::Jsonl),
            ..ReadOptions::default()
        };
        let results: Vec<_> = records(&bytes, &options).collect();
        let last = results.last().unwrap();
        assert!(matches!(last, Err(ReadError::Io(_))), "{last:?}");
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    }

    #[test]
    fn unreadable_lines_are_counted_and_the_first_five_kept() {
        let mut input = Vec::new();
        for i in 0..8 {
            input.extend_from_slice(
                format!("{{\"t\": {i}, \"outcome\": \"success\"}}\nbad {i}\n").as_bytes(),
            );
        }
        let mut records = records(&input, &ReadOptions::default());
        assert_eq!(records.by_ref().count(), 8);
        let skipped = records.skipped();
        assert_eq!(skipped.unreadable, 8);
        let kept: Vec<u64> = skipped
            .first_unreadable
            .iter()
            .map(|(line, _)| *line)
            .collect();
        assert_eq!(kept, [2, 4, 6, 8, 10]);
        assert_eq!(
            skipped.first_unreadable[0].1,
            "not valid JSON (expected value at column 1)"
        );
    }

    #[test]
    fn strict_reading_ends_at_the_first_unreadable_line() {
        let input = b"t,status\n1,200\n2,abc\n3,200\n";
        let options = ReadOptions {
            strict: true,
            ..ReadOptions::default()
        };
        let results: Vec<_> = records(input, &options)
            .map(|r| r.map(|r| r.line).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            results,
            [Err(
                "line 3: \"status\" is not an HTTP status code".to_owned()
            )]
        );
    }

    #[test]
    fn older_records_than_the_lag_allows_are_left_out() {
        // 100 releases 0, then 30 (both at least the lag behind); 20 is older than 30.
        let input = b"t,status\n0,200\n100,200\n30,200\n20,200\n100,200\n";
        let options = ReadOptions {
            max_lag: Duration::from_secs(60),
            ..ReadOptions::default()
        };
        let mut records = records(input, &options);
        assert_eq!(lines(&mut records), [2, 4, 3, 6]);
        assert_eq!(records.skipped().out_of_order, 1);
        assert_eq!(records.skipped().unreadable, 0);
    }

    #[test]
    fn a_bad_csv_header_is_an_error_at_once() {
        let err =
            Records::from_reader(Cursor::new(b"a,b\n1,2\n".to_vec()), &ReadOptions::default())
                .err()
                .unwrap();
        assert_eq!(
            err.to_string(),
            "line 1: the CSV header has no \"t\" column"
        );
    }

    /// A reader that fails after its bytes.
    struct Failing(Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("the disk is gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn an_io_error_is_yielded_and_ends_the_reading() {
        let reader = io::BufReader::new(Failing(Cursor::new(JSONL.to_vec())));
        let results: Vec<_> = Records::from_reader(reader, &ReadOptions::default())
            .unwrap()
            .map(|r| r.map(|r| r.line).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            results,
            [Err("cannot read the input: the disk is gone".to_owned())]
        );
    }

    #[test]
    fn records_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Records>();
        let records = records(JSONL, &ReadOptions::default());
        let count = std::thread::spawn(move || records.count()).join().unwrap();
        assert_eq!(count, 3);
    }
}
