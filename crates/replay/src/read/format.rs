//! The input formats, and how one is guessed when the user names none.
//!
//! The guess looks at the file's name first (it is free and usually right), and only when the
//! name says nothing (a `.log`, standard input) at the first non-empty line, because a JSON object
//! and a Common Log Format line are easy to tell apart from a CSV header by their first bytes.

use std::fmt;
use std::io::{self, BufRead, Cursor, Read};
use std::path::Path;
use std::str::FromStr;

use super::clf;
use super::source::{BOM, Input};

/// How much of the input is looked at, at most, to find a first non-empty line for the guess.
const SNIFF_LIMIT: usize = 1024 * 1024;

/// The format of an input.
///
/// Its names on the command line are `jsonl`, `csv` and `clf`.
///
/// ```
/// use breaker_replay::read::Format;
///
/// assert_eq!("clf".parse::<Format>()?, Format::Clf);
/// assert_eq!(Format::Jsonl.to_string(), "jsonl");
/// assert!("xml".parse::<Format>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values under a header row.
    Csv,
    /// Common or Combined Log Format access logs (nginx, Apache), optionally followed by the
    /// request time in seconds.
    Clf,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Clf => "clf",
        }
    }

    /// The format a file's name says, its `.gz` set aside; `None` when the name says nothing.
    pub(crate) fn from_name(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let (_, extension) = name.rsplit_once('.')?;
        match extension {
            "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format a first non-empty line looks like: an object is `jsonl`, a CLF-shaped line is
    /// `clf`, anything else is taken for a CSV header.
    pub(crate) fn from_first_line(line: &[u8]) -> Format {
        let line = line.trim_ascii_start();
        let line = line.strip_prefix(BOM).unwrap_or(line);
        if line.starts_with(b"{") {
            Format::Jsonl
        } else if clf::looks_like(line) {
            Format::Clf
        } else {
            Format::Csv
        }
    }
}

/// The format the first non-empty line of `input` looks like (CSV for an input without one),
/// and the input with the lines read for the guess put back in front.
pub(crate) fn sniff(mut input: Input) -> io::Result<(Format, Input)> {
    let mut head = Vec::new();
    let mut format = Format::Csv;
    while head.len() < SNIFF_LIMIT {
        let from = head.len();
        if input.read_until(b'\n', &mut head)? == 0 {
            break;
        }
        let line = &head[from..];
        if !line.trim_ascii().is_empty() {
            format = Format::from_first_line(line);
            break;
        }
    }
    Ok((format, Box::new(Cursor::new(head).chain(input))))
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a format name that is none of `jsonl`, `csv` and `clf`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {name:?}: expected jsonl, csv or clf")]
pub struct UnknownFormat {
    name: String,
}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "clf" => Ok(Format::Clf),
            _ => Err(UnknownFormat { name: s.to_owned() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bytes: &[u8]) -> Input {
        Box::new(Cursor::new(bytes.to_vec()))
    }

    fn read_all(mut input: Input) -> Vec<u8> {
        let mut out = Vec::new();
        input.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn names_round_trip() {
        for format in [Format::Jsonl, Format::Csv, Format::Clf] {
            assert_eq!(format.to_string().parse::<Format>(), Ok(format));
        }
    }

    #[test]
    fn an_unknown_name_is_a_one_line_error() {
        let err = "xml".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format \"xml\": expected jsonl, csv or clf"
        );
    }

    #[test]
    fn clap_knows_the_same_names() {
        use clap::ValueEnum;
        let names: Vec<_> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_owned())
            .collect();
        assert_eq!(names, ["jsonl", "csv", "clf"]);
    }

    #[test]
    fn the_name_decides_when_it_can() {
        let cases = [
            ("trace.jsonl", Some(Format::Jsonl)),
            ("trace.json", Some(Format::Jsonl)),
            ("dir/trace.ndjson.gz", Some(Format::Jsonl)),
            ("calls.CSV", Some(Format::Csv)),
            ("calls.csv.gz", Some(Format::Csv)),
            ("access.log", None),
            ("access.log.gz", None),
            ("access", None),
            ("-", None),
        ];
        for (name, expected) in cases {
            assert_eq!(Format::from_name(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn the_first_line_decides_otherwise() {
        let cases: [(&[u8], Format); 5] = [
            (b"{\"t\": 1}", Format::Jsonl),
            (b"  {\"t\": 1}", Format::Jsonl),
            (
                b"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
                Format::Clf,
            ),
            (b"t,outcome,duration", Format::Csv),
            (b"\xEF\xBB\xBF{\"t\": 1}", Format::Jsonl),
        ];
        for (line, expected) in cases {
            assert_eq!(Format::from_first_line(line), expected);
        }
    }

    #[test]
    fn sniffing_skips_blank_lines_and_puts_them_back() {
        let (format, rest) = sniff(input(b"\n  \n{\"t\": 1}\nmore\n")).unwrap();
        assert_eq!(format, Format::Jsonl);
        assert_eq!(read_all(rest), b"\n  \n{\"t\": 1}\nmore\n");
    }

    #[test]
    fn an_empty_input_is_taken_for_csv() {
        let (format, rest) = sniff(input(b"")).unwrap();
        assert_eq!(format, Format::Csv);
        assert!(read_all(rest).is_empty());
    }
}
