//! The readers through their public API: any input at all reads without a panic, and records
//! written in each format read back as they were, in start order.

use std::io::{Cursor, Write};
use std::time::Duration;

use breaker::Outcome;
use breaker_replay::Record;
use breaker_replay::read::{Format, ReadError, ReadOptions, Records};
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;

/// Reads `bytes` to the end; the records, and the error that ended the reading, if any.
fn read(bytes: Vec<u8>, options: &ReadOptions) -> (Vec<Record>, Option<ReadError>) {
    let records = match Records::from_reader(Cursor::new(bytes), options) {
        Ok(records) => records,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let mut out = Vec::new();
    for result in records {
        match result {
            Ok(record) => out.push(record),
            Err(error) => return (out, Some(error)),
        }
    }
    (out, None)
}

fn options(format: Option<Format>, strict: bool) -> ReadOptions {
    ReadOptions {
        format,
        strict,
        ..ReadOptions::default()
    }
}

fn any_format() -> impl Strategy<Value = Option<Format>> {
    prop_oneof![
        Just(None),
        Just(Some(Format::Jsonl)),
        Just(Some(Format::Csv)),
        Just(Some(Format::Clf)),
    ]
}

/// Lines made of pieces of every format, so that the parsers get past their first checks.
fn fragment_line() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\"t\": ".to_owned()),
        Just("\"status\": ".to_owned()),
        Just("\"outcome\": ".to_owned()),
        Just("\"duration\": ".to_owned()),
        Just("\"success\"".to_owned()),
        Just(", ".to_owned()),
        Just("t,status,duration".to_owned()),
        Just("1733600000.123456789".to_owned()),
        Just("-1e-9".to_owned()),
        Just("9e99".to_owned()),
        Just("2024-12-07T19:33:20.5+01:00".to_owned()),
        Just("[10/Oct/2000:13:55:36 -0700]".to_owned()),
        Just("[10/Oct/2000:13:55".to_owned()),
        Just(" \"GET / HTTP/1.1\" ".to_owned()),
        Just("\\\"".to_owned()),
        Just("503".to_owned()),
        Just(" 200 12 ".to_owned()),
        Just("\"".to_owned()),
        Just("null".to_owned()),
        "[ -~]{0,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..12).prop_map(|pieces| pieces.concat())
}

/// Records on a few seconds' grid, some ties, some arriving late.
fn calls() -> impl Strategy<Value = Vec<(u32, u16, u8)>> {
    prop::collection::vec((0u32..40, 0u16..2_000, 0u8..3), 0..60)
}

fn outcome(n: u8) -> Outcome {
    match n {
        0 => Outcome::Success,
        1 => Outcome::Failure,
        _ => Outcome::Ignored,
    }
}

fn status(outcome: Outcome) -> u16 {
    match outcome {
        Outcome::Success => 200,
        Outcome::Failure => 503,
        Outcome::Ignored => 404,
    }
}

/// The records a reader should yield for `calls` written one per line from line `first`:
/// sorted by start, ties in input order (a lag of a day lets none out).
fn expected(calls: &[(i64, Duration, Outcome)], first: u64) -> Vec<Record> {
    let mut records: Vec<Record> = calls
        .iter()
        .zip(first..)
        .map(|(&(start, duration, outcome), line)| Record {
            line,
            start,
            duration,
            outcome,
        })
        .collect();
    records.sort_by_key(|r| (r.start, r.line));
    records
}

fn day_lag() -> ReadOptions {
    ReadOptions {
        max_lag: Duration::from_secs(86_400),
        ..ReadOptions::default()
    }
}

const EPOCH: i64 = 1_733_600_000;
const SECOND: i64 = 1_000_000_000;

proptest! {
    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..400),
                                gzip_magic in any::<bool>(),
                                format in any_format(), strict in any::<bool>()) {
        if gzip_magic {
            bytes.splice(0..0, [0x1f, 0x8b, 0x08]);
        }
        let (records, _) = read(bytes, &options(format, strict));
        prop_assert!(records.windows(2).all(|w| w[0].start <= w[1].start));
    }

    #[test]
    fn random_lines_never_panic(lines in prop::collection::vec(fragment_line(), 0..20),
                                format in any_format(), strict in any::<bool>()) {
        let text = lines.join("\n");
        let line_count = text.matches('\n').count() as u64 + 1;
        let (records, error) = read(text.into_bytes(), &options(format, strict));
        prop_assert!(records.windows(2).all(|w| w[0].start <= w[1].start));
        prop_assert!(records.iter().all(|r| (1..=line_count).contains(&r.line)));
        if let Some(ReadError::Line { line, reason }) = error {
            prop_assert!((1..=line_count).contains(&line));
            prop_assert!(!reason.contains('\n'));
        }
    }

    #[test]
    fn jsonl_reads_back_what_was_written(calls in calls(), gzip in any::<bool>()) {
        let calls: Vec<_> = calls
            .iter()
            .map(|&(s, ms, o)| (EPOCH * SECOND + i64::from(s) * SECOND / 4, Duration::from_millis(u64::from(ms)), outcome(o)))
            .collect();
        let mut text = String::new();
        for (i, &(start, duration, outcome)) in calls.iter().enumerate() {
            let t = format!("{}.{:09}", start / SECOND, start % SECOND);
            let d = duration.as_secs_f64();
            if i % 2 == 0 {
                text += &format!("{{\"t\": {t}, \"status\": {}, \"duration\": {d}}}\n", status(outcome));
            } else {
                let name = format!("{outcome:?}").to_lowercase();
                text += &format!("{{\"duration\": \"{d}\", \"extra\": [1], \"outcome\": \"{name}\", \"t\": \"{t}\"}}\n");
            }
        }
        let mut bytes = text.into_bytes();
        if gzip {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(&bytes).unwrap();
            bytes = encoder.finish().unwrap();
        }
        let (records, error) = read(bytes, &day_lag());
        prop_assert!(error.is_none(), "{error:?}");
        prop_assert_eq!(records, expected(&calls, 1));
    }

    #[test]
    fn csv_reads_back_what_was_written(calls in calls()) {
        let calls: Vec<_> = calls
            .iter()
            .map(|&(s, ms, o)| (i64::from(s) * SECOND / 8, Duration::from_millis(u64::from(ms)), outcome(o)))
            .collect();
        let mut text = "code,ts,rt\n".to_owned();
        for &(start, duration, outcome) in &calls {
            text += &format!("{},{},{}\n", status(outcome), start as f64 / 1e9, duration.as_secs_f64());
        }
        let options = ReadOptions {
            fields: "t=ts,status=code,duration=rt".parse().unwrap(),
            ..day_lag()
        };
        let (records, error) = read(text.into_bytes(), &options);
        prop_assert!(error.is_none(), "{error:?}");
        prop_assert_eq!(records, expected(&calls, 2));
    }

    #[test]
    fn clf_reads_back_what_was_written(calls in calls()) {
        // The logged time is the end, to the second; the start is the end less the request time.
        let calls: Vec<_> = calls
            .iter()
            .map(|&(s, ms, o)| {
                let end = (EPOCH + i64::from(s)) * SECOND;
                let duration = Duration::from_millis(u64::from(ms));
                (end - i64::try_from(duration.as_nanos()).unwrap(), duration, outcome(o))
            })
            .collect();
        let mut text = String::new();
        for &(start, duration, outcome) in &calls {
            let end = start + i64::try_from(duration.as_nanos()).unwrap();
            let when = time::OffsetDateTime::from_unix_timestamp(end / SECOND).unwrap();
            let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                [usize::from(u8::from(when.month())) - 1];
            text += &format!(
                "10.0.0.1 - - [{:02}/{month}/{}:{:02}:{:02}:{:02} +0000] \"GET /a\\\"b HTTP/1.1\" {} 42 \"-\" \"agent \\\"x\\\"\" {:.3}\n",
                when.day(), when.year(), when.hour(), when.minute(), when.second(),
                status(outcome), duration.as_secs_f64(),
            );
        }
        let (records, error) = read(text.into_bytes(), &day_lag());
        prop_assert!(error.is_none(), "{error:?}");
        prop_assert_eq!(records, expected(&calls, 1));
    }
}
