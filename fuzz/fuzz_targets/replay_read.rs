//! Recorded traffic for `breaker-replay`: any bytes through its readers, then every record read
//! through a replay on the real breaker.
//!
//! The first three bytes choose how; the rest is the input.
//!
//! - Byte 0: the format (bits 0-1: `jsonl`, `csv`, `clf`, or guessed from the first line),
//!   strict or not (bit 2), and whether the input is gzipped first (bit 3). An input that starts
//!   with gzip's magic bytes is read as gzip anyway, so corrupt streams are reached too.
//! - Byte 1: the reorder lag (bits 0-2: 0, 1 ns, 1 ms, 1 s, 5 s, 60 s, an hour,
//!   `Duration::MAX`) and how records reach the replay (bits 3-4: one `push` each, one `feed`,
//!   `feed` by twos or by sevens).
//! - Byte 2: the breaker (bits 0-2: the count rule alone, with `--consecutive`, `--slow`,
//!   `--half-open`, `--failure-rate`, all of them, or the count rule off with `--consecutive`
//!   or `--failure-rate`), the window W (bits 3-5: 1 ns to a day, and `u64::MAX` ns), T (bit 6:
//!   0 or 2), and whether a timeline is collected (bit 7).
//!
//! Reading must never panic, and:
//! - records come in non-decreasing start order, each from a line of the input;
//! - an error ends the reading: at most one, and nothing after it; without `strict` only an I/O
//!   error (a corrupt gzip stream) may end it;
//! - every message is one line, and `skipped()` keeps at most five unreadable lines, in
//!   increasing order, each a line of the input; every non-blank line of a `jsonl` or `clf`
//!   input is a record, an unreadable line or a record left out of order, exactly.
//!
//! The replay must never panic either, and its report must add up: every record read is a
//! call (they come in start order, so none is out of order), calls are admitted or rejected,
//! each counted once by its logged outcome, trips are the changes into open, the changes are a
//! chain from closed in time order, and the time not closed is finite, not negative, and at most
//! the span, which reaches at least the last start. A timeline stays within its bounds.
//!
//! Times are nanoseconds in an `i64` of any origin, so the replay's clock (nanoseconds since the
//! first start, in a `u64`) is reached at both ends: the dictionary holds the extreme times of
//! every format, epoch timestamps in seconds and in nanoseconds, and durations of centuries.
#![no_main]

use std::io::{Cursor, Read, Write};
use std::time::Duration;

use breaker::{Outcome, State};
use breaker_replay::read::{Format, ReadError, ReadOptions, Records};
use breaker_replay::timeline::{MAX_SPANS, MAX_STEPS};
use breaker_replay::{FailureRate, Record, Replay, Report, Settings};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

/// The lags byte 1 chooses from.
const LAGS: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(60),
    Duration::from_secs(3_600),
    Duration::MAX,
];

/// The windows byte 2 chooses from.
const WINDOWS: [Duration; 8] = [
    Duration::from_nanos(1),
    Duration::from_micros(1),
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(60),
    Duration::from_secs(86_400),
    Duration::from_nanos(u64::MAX),
];

/// The replay clock's last instant, in nanoseconds since the first start.
const CLOCK_END: i128 = u64::MAX as i128 - 5;

/// The most bytes of a gzip stream in the input decoded to count its lines (far more than a
/// fuzz input can inflate to).
const DECODED_LIMIT: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&[how, lag, rule], text)) = data.split_first_chunk::<3>() else {
        return;
    };
    let format = match how & 3 {
        0 => Some(Format::Jsonl),
        1 => Some(Format::Csv),
        2 => Some(Format::Clf),
        _ => None,
    };
    let strict = how & 4 != 0;
    let options = ReadOptions {
        format,
        strict,
        max_lag: LAGS[usize::from(lag & 7)],
        ..ReadOptions::default()
    };
    let (input, plain) = if how & 8 != 0 {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(text).expect("gzip to memory");
        (encoder.finish().expect("gzip to memory"), text.to_vec())
    } else {
        (text.to_vec(), decoded(text))
    };
    let records = read(input, &plain, &options);
    if let Some(records) = records {
        replay(&records, lag >> 3 & 3, rule);
    }
});

/// The text the reader sees: the input, or what its gzip stream decodes to before any error.
fn decoded(input: &[u8]) -> Vec<u8> {
    if !input.starts_with(&[0x1f, 0x8b]) {
        return input.to_vec();
    }
    let mut out = Vec::new();
    let _ = MultiGzDecoder::new(input)
        .take(DECODED_LIMIT)
        .read_to_end(&mut out);
    out
}

/// How many lines `text` has: its newlines, and a last line without one.
fn line_count(text: &[u8]) -> u64 {
    let newlines = text.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(!text.is_empty() && !text.ends_with(b"\n"))
}

/// How many lines of `text` are not blank, as the line readers see them (a byte-order mark at
/// the start of the first line is not content).
fn non_blank_lines(text: &[u8]) -> u64 {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if text.ends_with(b"\n") || text.is_empty() {
        lines.pop();
    }
    lines
        .iter()
        .enumerate()
        .filter(|(i, line)| {
            let line = if *i == 0 {
                line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
            } else {
                line
            };
            !line.trim_ascii().is_empty()
        })
        .count() as u64
}

/// A message a user reads: one line, not empty.
fn one_line(message: &str) {
    assert!(!message.is_empty(), "an empty message");
    assert!(
        !message.contains(['\n', '\r']),
        "a message of more than one line: {message:?}"
    );
}

/// Reads every record of `input` (whose text is `plain`) and checks the reading; the records,
/// unless the input could not be opened.
fn read(input: Vec<u8>, plain: &[u8], options: &ReadOptions) -> Option<Vec<Record>> {
    let lines = line_count(plain);
    let mut records = match Records::from_reader(Cursor::new(input), options) {
        Ok(records) => records,
        Err(error) => {
            one_line(&error.to_string());
            match error {
                // A CSV header that names no usable column.
                ReadError::Line { line, .. } => {
                    assert!((1..=lines).contains(&line), "line {line} of {lines}");
                }
                ReadError::Io(_) => {}
                other => panic!("opening a reader: {other:?}"),
            }
            return None;
        }
    };
    let format = records.format();
    if let Some(given) = options.format {
        assert_eq!(format, given, "the format given is the format read");
    }
    let mut read: Vec<Record> = Vec::new();
    let mut errors = 0;
    for item in records.by_ref() {
        assert_eq!(errors, 0, "something after an error");
        match item {
            Ok(record) => {
                assert!(
                    (1..=lines).contains(&record.line),
                    "record of line {} of {lines}",
                    record.line
                );
                if let Some(last) = read.last() {
                    assert!(
                        last.start <= record.start,
                        "line {} starts at {} after line {} at {}",
                        record.line,
                        record.start,
                        last.line,
                        last.start
                    );
                }
                read.push(record);
            }
            Err(error) => {
                errors += 1;
                one_line(&error.to_string());
                match error {
                    ReadError::Line { line, .. } => {
                        assert!(options.strict, "a line error without strict: line {line}");
                        assert!((1..=lines).contains(&line), "line {line} of {lines}");
                    }
                    ReadError::Io(_) => {}
                    other => panic!("reading: {other:?}"),
                }
            }
        }
    }
    assert!(records.next().is_none(), "more after the end");

    let mut seen: Vec<u64> = read.iter().map(|r| r.line).collect();
    seen.sort_unstable();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "two records from one line"
    );

    let skipped = records.skipped();
    let kept = &skipped.first_unreadable;
    assert!(kept.len() <= 5, "{} unreadable lines kept", kept.len());
    assert_eq!(kept.len() as u64, skipped.unreadable.min(5));
    assert!(
        kept.windows(2).all(|w| w[0].0 < w[1].0),
        "unreadable lines out of order: {kept:?}"
    );
    for (line, reason) in kept {
        assert!(
            (1..=lines).contains(line),
            "unreadable line {line} of {lines}"
        );
        one_line(reason);
    }
    if options.strict {
        assert!(
            skipped.unreadable <= 1,
            "strict read past an unreadable line"
        );
    }
    if options.max_lag == Duration::MAX {
        assert_eq!(
            skipped.out_of_order, 0,
            "nothing is late under an endless lag"
        );
    }
    if matches!(format, Format::Jsonl | Format::Clf) {
        let accounted = read.len() as u64 + skipped.unreadable + skipped.out_of_order;
        let non_blank = non_blank_lines(plain);
        if errors == 0 {
            assert_eq!(accounted, non_blank, "every non-blank line accounted for");
        } else {
            assert!(accounted <= non_blank, "{accounted} of {non_blank} lines");
        }
    }
    Some(read)
}

/// The settings byte 2 chooses.
fn settings(rule: u8) -> Settings {
    let threshold = if rule & 0x40 != 0 { 2 } else { 0 };
    let base = Settings {
        window: WINDOWS[usize::from(rule >> 3 & 7)],
        threshold: Some(threshold),
        ..Settings::default()
    };
    let rate = Some(FailureRate {
        ratio: 0.5,
        min_calls: 2,
    });
    match rule & 7 {
        0 => base,
        1 => Settings {
            consecutive: Some(2),
            ..base
        },
        2 => Settings {
            slow: Some(Duration::from_millis(100)),
            ..base
        },
        3 => Settings {
            half_open: Some(1 + u32::from(rule & 0x40 != 0)),
            ..base
        },
        4 => Settings {
            failure_rate: rate,
            ..base
        },
        5 => Settings {
            failure_rate: rate,
            consecutive: Some(3),
            slow: Some(Duration::from_nanos(1)),
            half_open: Some(2),
            ..base
        },
        6 => Settings {
            threshold: None,
            consecutive: Some(1),
            ..base
        },
        _ => Settings {
            threshold: None,
            failure_rate: rate,
            ..base
        },
    }
}

/// Replays `records` (in start order) and checks that the report adds up.
fn replay(records: &[Record], feeding: u8, rule: u8) {
    let settings = settings(rule);
    let mut replay = match Replay::new(&settings) {
        Ok(replay) => replay,
        Err(error) => {
            one_line(&error.to_string());
            return;
        }
    };
    let timeline = rule & 0x80 != 0;
    if timeline {
        replay = replay.with_timeline();
    }
    let mut admitted = None;
    match feeding {
        0 => {
            let mut count = 0;
            for record in records {
                let decision = replay.push(record);
                assert!(decision.is_some(), "line {} left out", record.line);
                count += u64::from(decision == Some(breaker_replay::timeline::Decision::Admitted));
            }
            admitted = Some(count);
        }
        1 => replay.feed(records),
        2 => records.chunks(2).for_each(|chunk| replay.feed(chunk)),
        _ => records.chunks(7).for_each(|chunk| replay.feed(chunk)),
    }
    let (report, drawn) = replay.finish();
    check(&report, records);
    if let Some(admitted) = admitted {
        assert_eq!(report.admitted, admitted, "the decisions and the report");
    }
    if timeline {
        let drawn = drawn.expect("a timeline was asked for");
        assert_eq!(drawn.calls(), report.calls);
        assert_eq!(drawn.trips(), report.trips);
        assert!(
            drawn.steps().len() <= MAX_STEPS,
            "{} steps",
            drawn.steps().len()
        );
        assert!(
            drawn.spans().len() <= MAX_SPANS,
            "{} spans",
            drawn.spans().len()
        );
        assert!(drawn.step().is_finite() && drawn.step() > 0.0);
    } else {
        assert!(drawn.is_none());
    }
    // The report as the command line prints it, both ways.
    let _ = report.to_string();
    let json = serde_json::to_string(&report).expect("a report is JSON");
    let back: Report = serde_json::from_str(&json).expect("a report reads back");
    assert_eq!(back.calls, report.calls);
}

/// The report of a replay of `records` adds up.
fn check(report: &Report, records: &[Record]) {
    assert_eq!(report.skipped.out_of_order, 0, "records in start order");
    assert_eq!(report.calls, records.len() as u64, "every record is a call");
    assert_eq!(report.calls, report.admitted + report.rejected);
    assert_eq!(report.admitted, report.outcomes.total());
    assert_eq!(report.rejected, report.rejected_by_outcome.total());
    let logged = |outcome: Outcome| records.iter().filter(|r| r.outcome == outcome).count() as u64;
    assert_eq!(
        report.outcomes.success + report.rejected_by_outcome.success,
        logged(Outcome::Success)
    );
    assert_eq!(
        report.outcomes.failure + report.rejected_by_outcome.failure,
        logged(Outcome::Failure)
    );
    assert_eq!(
        report.outcomes.ignored + report.rejected_by_outcome.ignored,
        logged(Outcome::Ignored)
    );

    assert!(report.trips <= report.changes.len() as u64);
    let into_open = report
        .changes
        .iter()
        .filter(|c| c.to == State::Open)
        .count() as u64;
    assert_eq!(report.trips, into_open, "trips are the changes into open");
    let mut state = State::Closed;
    let mut at = Duration::ZERO;
    for change in &report.changes {
        assert_eq!(change.from, state, "changes chained: {:?}", report.changes);
        assert_ne!(change.from, change.to);
        assert!(
            change.at >= at,
            "changes in time order: {:?}",
            report.changes
        );
        state = change.to;
        at = change.at;
    }

    let open = report.open_seconds;
    assert!(open.is_finite() && open >= 0.0, "open_seconds {open}");
    let span = report.span.as_secs_f64();
    assert!(
        open <= span * (1.0 + 1e-12) + 1e-9,
        "open {open} s past the span {span} s"
    );
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        // The replay's clock ends 5 ns short of `u64::MAX` (the breaker's last instant); a
        // later start is taken there.
        let starts = (i128::from(last.start) - i128::from(first.start)).min(CLOCK_END);
        assert!(
            report.span.as_nanos() as i128 >= starts,
            "the span {:?} ends before the last start ({starts} ns)",
            report.span
        );
    } else {
        assert_eq!(report.span, Duration::ZERO);
    }
}
