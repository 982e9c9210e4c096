//! The `csv` reader: a header row naming the columns, then one call per row.
//!
//! The `csv` crate does the quoting rules; rows are read into one reused `ByteRecord`, so a row
//! costs no allocation, and cells are taken as bytes so that a stray non-UTF-8 byte in a column
//! nobody asked for cannot make a row unreadable. Rows may be shorter or longer than the header
//! (a short row is missing the cells it lacks, which only matters if it lacks a wanted one).

use std::io::{Cursor, Read};

use ::csv::{ByteRecord, ErrorKind, Reader, ReaderBuilder, Terminator};

use super::error::ReadError;
use super::fields::{Fields, Role};
use super::source::Input;
use super::value::{self, Names, Texts};
use crate::Record;

/// Reads records from CSV rows.
pub(crate) struct CsvReader {
    reader: Reader<Input>,
    row: ByteRecord,
    /// Where each wanted column is; `None` for an empty input (no header, no rows).
    columns: Option<Columns>,
    fields: Fields,
}

/// The index of each wanted column in a row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Columns {
    t: Option<usize>,
    outcome: Option<usize>,
    status: Option<usize>,
    duration: Option<usize>,
}

impl CsvReader {
    /// Reads the header, and refuses it if it names no start column, or neither an outcome nor
    /// a status column: no row could then be read.
    pub(crate) fn new(input: Input, fields: Fields) -> Result<Self, ReadError> {
        // A last newline, so that every row ends with one (see `line_of`); a blank line more is
        // skipped like any other. Then a quote and a newline: a quote the input leaves open
        // would take that last newline into its cell, and its row would end with none (and be
        // numbered as the row before it); this quote closes it and the newline ends its row.
        // After a row that did end, they make a blank row, skipped.
        let input: Input = Box::new(input.chain(Cursor::new(END)));
        // Rows end at `\n` only, so that every row's end is a counted line (see `line_of`); a
        // `\r` before it is trimmed from the last cell like any other space.
        let mut reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(Terminator::Any(b'\n'))
            .from_reader(input);
        let mut header = ByteRecord::new();
        let columns = if read_row(&mut reader, &mut header)? {
            Some(locate(&header, line_of(&reader, &header), &fields)?)
        } else {
            None
        };
        Ok(Self {
            reader,
            row: ByteRecord::new(),
            columns,
            fields,
        })
    }

    /// The next record, an unreadable row, an I/O error, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        let columns = self.columns?;
        match read_row(&mut self.reader, &mut self.row) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => return Some(Err(error)),
        }
        let line = line_of(&self.reader, &self.row);
        let cell = |index: Option<usize>| {
            index
                .and_then(|i| self.row.get(i))
                .map(<[u8]>::trim_ascii)
                .filter(|cell| !cell.is_empty())
        };
        let texts = Texts {
            t: cell(columns.t),
            outcome: cell(columns.outcome),
            status: cell(columns.status),
            duration: cell(columns.duration),
        };
        Some(
            value::interpret(&texts, &Names::from(&self.fields))
                .map(|parts| Record {
                    line,
                    start: parts.start,
                    duration: parts.duration,
                    outcome: parts.outcome,
                })
                .map_err(|reason| ReadError::line(line, reason)),
        )
    }
}

/// What is read after the input: see [`CsvReader::new`].
const END: &[u8] = b"\n\"\n";

/// Reads the next row that is not blank into `row`; `false` at the end.
fn read_row(reader: &mut Reader<Input>, row: &mut ByteRecord) -> Result<bool, ReadError> {
    loop {
        match reader.read_byte_record(row) {
            Ok(true) if row.len() == 1 && row[0].trim_ascii().is_empty() => {}
            Ok(more) => return Ok(more),
            Err(error) => return Err(csv_error(error, line_of(reader, row))),
        }
    }
}

/// The line the row just read starts on, counted from 1.
///
/// The row's own position is where the reader stood before it, blank lines not yet skipped, so
/// the line is counted back from where the reader stands after it instead: past the row's
/// newline (every row has one, the input being given a last one, and a quote left open being
/// closed before it), less the newlines inside its quoted cells.
fn line_of(reader: &Reader<Input>, row: &ByteRecord) -> u64 {
    let embedded = row.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    reader.position().line().saturating_sub(1 + embedded).max(1)
}

/// The wanted columns' places in the header, or why the header will not do.
fn locate(header: &ByteRecord, line: u64, fields: &Fields) -> Result<Columns, ReadError> {
    let mut columns = Columns::default();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim_ascii();
        let name = name.strip_prefix(super::source::BOM).unwrap_or(name);
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let slot = match fields.role(name) {
            Some(Role::T) => &mut columns.t,
            Some(Role::Outcome) => &mut columns.outcome,
            Some(Role::Status) => &mut columns.status,
            Some(Role::Duration) => &mut columns.duration,
            None => continue,
        };
        slot.get_or_insert(index);
    }
    if columns.t.is_none() {
        return Err(ReadError::line(
            line,
            format!("the CSV header has no \"{}\" column", fields.t),
        ));
    }
    if columns.outcome.is_none() && columns.status.is_none() {
        return Err(ReadError::line(
            line,
            format!(
                "the CSV header has neither an \"{}\" nor a \"{}\" column",
                fields.outcome, fields.status
            ),
        ));
    }
    Ok(columns)
}

/// A `csv` error as a read error: I/O stays I/O, anything else is the line's fault.
fn csv_error(error: ::csv::Error, line: u64) -> ReadError {
    let line = error.position().map_or(line, |p| p.line());
    match error.into_kind() {
        ErrorKind::Io(error) => ReadError::Io(error),
        kind => ReadError::line(line, format!("not valid CSV ({kind:?})")),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::time::Duration;

    use breaker::Outcome;

    use super::*;

    fn reader(text: &str, fields: &str) -> Result<CsvReader, ReadError> {
        let fields = if fields.is_empty() {
            Fields::default()
        } else {
            fields.parse().unwrap()
        };
        CsvReader::new(Box::new(Cursor::new(text.as_bytes().to_vec())), fields)
    }

    /// Every record or line error, as `Ok((line, start, duration ms, outcome))` or the message.
    fn read_all(text: &str, fields: &str) -> Vec<Result<(u64, i64, u128, Outcome), String>> {
        let mut reader = reader(text, fields).unwrap();
        std::iter::from_fn(|| reader.next_record())
            .map(|r| {
                r.map(|r| (r.line, r.start, r.duration.as_millis(), r.outcome))
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn rows_under_a_header_read() {
        let text = "t,outcome,duration\n1.5,success,0.1\n2,failure,\n3,ignored,0\n";
        assert_eq!(
            read_all(text, ""),
            [
                Ok((2, 1_500_000_000, 100, Outcome::Success)),
                Ok((3, 2_000_000_000, 0, Outcome::Failure)),
                Ok((4, 3_000_000_000, 0, Outcome::Ignored)),
            ]
        );
    }

    #[test]
    fn columns_may_come_in_any_order_with_others_between() {
        let text = "host,duration,status,t\n\"a, b\",0.5,503,2024-12-07T19:33:20Z\n";
        assert_eq!(
            read_all(text, ""),
            [Ok((2, 1_733_600_000_000_000_000, 500, Outcome::Failure))]
        );
    }

    #[test]
    fn the_fields_name_the_header_columns() {
        let text = "ts,code,request_time\n10,404,0.2\n";
        assert_eq!(
            read_all(text, "t=ts,status=code,duration=request_time"),
            [Ok((2, 10_000_000_000, 200, Outcome::Ignored))]
        );
    }

    #[test]
    fn an_empty_outcome_cell_falls_back_to_the_status() {
        let text = "t,outcome,status\n1,,500\n2,success,500\n";
        let outcomes: Vec<_> = read_all(text, "")
            .into_iter()
            .map(|r| r.map(|r| r.3))
            .collect();
        assert_eq!(outcomes, [Ok(Outcome::Failure), Ok(Outcome::Success)]);
    }

    #[test]
    fn epoch_seconds_reach_the_exact_nanosecond() {
        let text = "t,status\n1733600000.123456,200\n";
        assert_eq!(
            read_all(text, ""),
            [Ok((2, 1_733_600_000_123_456_000, 0, Outcome::Success))]
        );
    }

    #[test]
    fn bad_rows_name_their_line_and_fault() {
        let text = "t,outcome,duration\nnoon,success,\n1,maybe,\n2\n\n3,success,-1\n\"4\nstill 4\",success,\n";
        assert_eq!(
            read_all(text, ""),
            [
                Err("line 2: \"t\" is not a number or an RFC 3339 time".to_owned()),
                Err("line 3: \"outcome\" is not success, failure or ignored".to_owned()),
                Err("line 4: neither \"outcome\" nor \"status\" is present".to_owned()),
                Err("line 6: \"duration\" is negative".to_owned()),
                Err("line 7: \"t\" is not a number or an RFC 3339 time".to_owned()),
            ]
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_multiline_cells_and_crlf() {
        let text =
            "\n\nt,status\r\n\r\n1,200\r\n\"2\n\n\",200\n\n\n\"x\",\"5\n0\n3\"\n3,oops\n4,200";
        assert_eq!(
            read_all(text, ""),
            [
                Ok((5, 1_000_000_000, 0, Outcome::Success)),
                Ok((6, 2_000_000_000, 0, Outcome::Success)),
                Err("line 11: \"t\" is not a number or an RFC 3339 time".to_owned()),
                Err("line 14: \"status\" is not an HTTP status code".to_owned()),
                Ok((15, 4_000_000_000, 0, Outcome::Success)),
            ]
        );
    }

    #[test]
    fn a_quote_left_open_at_the_end_is_named_by_its_own_line() {
        // The last row's quote runs to the end of the input: its line is still its own, not
        // the one before it.
        for text in [
            "t,status\n1,200\n2,x\n\"3,200",
            "t,status\n1,200\n2,x\n\"3,200\n",
        ] {
            assert_eq!(
                read_all(text, ""),
                [
                    Ok((2, 1_000_000_000, 0, Outcome::Success)),
                    Err("line 3: \"status\" is not an HTTP status code".to_owned()),
                    Err("line 4: \"t\" is not a number or an RFC 3339 time".to_owned()),
                ],
                "{text:?}"
            );
        }
        // Closed quotes at the very end, a newline inside the last, read as before.
        assert_eq!(
            read_all("t,status\n\"1\n\",\"200\"", ""),
            [Ok((2, 1_000_000_000, 0, Outcome::Success))]
        );
        assert_eq!(
            read_all("t,status\n1,\"2\n00\"\n", ""),
            [Err(
                "line 2: \"status\" is not an HTTP status code".to_owned()
            )]
        );
    }

    #[test]
    fn a_header_after_blank_lines_is_named_by_its_line() {
        let err = reader("\n\ntime,outcome\n", "").err().unwrap();
        assert_eq!(
            err.to_string(),
            "line 3: the CSV header has no \"t\" column"
        );
    }

    #[test]
    fn a_header_without_a_start_column_is_refused() {
        let err = reader("time,outcome\n1,success\n", "").err().unwrap();
        assert_eq!(
            err.to_string(),
            "line 1: the CSV header has no \"t\" column"
        );
    }

    #[test]
    fn a_header_without_an_outcome_or_status_column_is_refused() {
        let err = reader("t,code\n1,200\n", "").err().unwrap();
        assert_eq!(
            err.to_string(),
            "line 1: the CSV header has neither an \"outcome\" nor a \"status\" column"
        );
    }

    #[test]
    fn an_empty_input_has_no_records() {
        assert!(read_all("", "").is_empty());
        assert!(read_all("t,status\n", "").is_empty());
    }

    #[test]
    fn non_utf8_bytes_in_other_columns_do_no_harm() {
        let text = b"agent,t,status\n\xFF\xFE,1,200\n".to_vec();
        let mut reader = CsvReader::new(Box::new(Cursor::new(text)), Fields::default()).unwrap();
        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(
            (record.start, record.duration),
            (1_000_000_000, Duration::ZERO)
        );
    }
}
