//! Where the bytes come from: a file or standard input, gzipped or not, split into lines.
//!
//! Compression is recognised by its magic bytes rather than by the name, so a gzipped stream on
//! standard input, or a compressed file renamed by a log rotator, reads like any other. Peeked
//! bytes are put back in front of the stream (`Cursor::chain`) instead of seeking, because
//! standard input cannot seek.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use super::error::ReadError;

/// An input as the readers take it: buffered, and movable to another thread.
pub(crate) type Input = Box<dyn BufRead + Send>;

/// The buffer for files and standard input: large enough that a read costs little per line.
const BUFFER: usize = 64 * 1024;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The UTF-8 byte-order mark some tools write at the start of a text file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Opens `path`, or standard input for `-`, without looking at its content yet.
pub(crate) fn open_path(path: &Path) -> Result<Input, ReadError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(BUFFER, io::stdin())));
    }
    let file = File::open(path).map_err(|error| ReadError::Open {
        path: path.display().to_string(),
        error,
    })?;
    Ok(Box::new(BufReader::with_capacity(BUFFER, file)))
}

/// The input decompressed if it starts like a gzip stream (every member of a concatenated one
/// is read), else the input as it was.
pub(crate) fn decompress(mut input: Input) -> io::Result<Input> {
    let head = input.fill_buf()?;
    let (gzipped, input) = if head.len() >= GZIP_MAGIC.len() {
        (head.starts_with(&GZIP_MAGIC), input)
    } else {
        // A short read (a pipe, say): gather the two bytes, then put them back in front.
        let mut head = Vec::with_capacity(GZIP_MAGIC.len());
        (&mut input)
            .take(GZIP_MAGIC.len() as u64)
            .read_to_end(&mut head)?;
        let gzipped = head == GZIP_MAGIC;
        let input: Input = Box::new(Cursor::new(head).chain(input));
        (gzipped, input)
    };
    Ok(if gzipped {
        Box::new(BufReader::with_capacity(BUFFER, MultiGzDecoder::new(input)))
    } else {
        input
    })
}

/// The non-blank lines of an input, each with its number, read into one reused buffer.
pub(crate) struct Lines {
    input: Input,
    buffer: Vec<u8>,
    number: u64,
}

impl Lines {
    pub(crate) fn new(input: Input) -> Self {
        Self {
            input,
            buffer: Vec::with_capacity(1024),
            number: 0,
        }
    }

    /// The next non-blank line and its number (counted from 1, blank lines included), without
    /// its line ending or a leading byte-order mark; `None` at the end.
    pub(crate) fn next_line(&mut self) -> Option<io::Result<(u64, &[u8])>> {
        loop {
            self.buffer.clear();
            match self.input.read_until(b'\n', &mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
            self.number += 1;
            let mut end = self.buffer.len();
            if self.buffer.ends_with(b"\n") {
                end -= 1;
                if self.buffer[..end].ends_with(b"\r") {
                    end -= 1;
                }
            }
            let start = if self.number == 1 && self.buffer[..end].starts_with(BOM) {
                BOM.len()
            } else {
                0
            };
            if !self.buffer[start..end].trim_ascii().is_empty() {
                return Some(Ok((self.number, &self.buffer[start..end])));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn input(bytes: &[u8]) -> Input {
        Box::new(Cursor::new(bytes.to_vec()))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn read_all(mut input: Input) -> Vec<u8> {
        let mut out = Vec::new();
        input.read_to_end(&mut out).unwrap();
        out
    }

    /// A reader that hands out one byte per read, as a slow pipe might.
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn plain_input_passes_through() {
        let out = read_all(decompress(input(b"hello\n")).unwrap());
        assert_eq!(out, b"hello\n");
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes() {
        let out = read_all(decompress(input(&gzip(b"hello\n"))).unwrap());
        assert_eq!(out, b"hello\n");
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let mut bytes = gzip(b"one\n");
        bytes.extend(gzip(b"two\n"));
        let out = read_all(decompress(input(&bytes)).unwrap());
        assert_eq!(out, b"one\ntwo\n");
    }

    #[test]
    fn magic_bytes_split_across_reads_are_still_seen() {
        let trickle = Trickle(Cursor::new(gzip(b"slow\n")));
        let input: Input = Box::new(BufReader::with_capacity(1, trickle));
        assert_eq!(read_all(decompress(input).unwrap()), b"slow\n");
        let trickle = Trickle(Cursor::new(b"x".to_vec()));
        let input: Input = Box::new(BufReader::with_capacity(1, trickle));
        assert_eq!(read_all(decompress(input).unwrap()), b"x");
    }

    #[test]
    fn corrupt_gzip_is_an_io_error() {
        let mut bytes = gzip(&b"some text that compresses\n".repeat(50));
        let middle = bytes.len() / 2;
        bytes.truncate(middle);
        let mut input = decompress(input(&bytes)).unwrap();
        assert!(input.read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn lines_are_numbered_with_blank_lines_counted_but_not_given() {
        let mut lines = Lines::new(input(b"\xEF\xBB\xBFone\r\n\n \t\ntwo\nthree"));
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line() {
            let (number, text) = line.unwrap();
            seen.push((number, String::from_utf8(text.to_vec()).unwrap()));
        }
        assert_eq!(
            seen,
            [
                (1, "one".to_owned()),
                (4, "two".to_owned()),
                (5, "three".to_owned())
            ]
        );
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = open_path(Path::new("no-such-file.jsonl")).err().unwrap();
        assert!(
            err.to_string()
                .starts_with("cannot open no-such-file.jsonl: "),
            "{err}"
        );
    }
}
