//! What a replay costs, in memory, on 100 000 records: reading and parsing alone against
//! reading, parsing and replaying (jsonl and an nginx access log), and one setting against a
//! sweep of 100 over records already read.
//!
//! Everything runs on this thread except the sweep's settings, which share rayon's threads; the
//! command line overlaps reading and replaying on two threads (`scripts/replay-bench.sh`
//! measures that, on files). Short runs: `cargo bench -p breaker-replay --bench replay`.

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use breaker_replay::read::{Format, ReadOptions, Records};
use breaker_replay::sweep::combinations;
use breaker_replay::{Record, Replay, Settings, Sweep};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Records in each input.
const RECORDS: usize = 100_000;

/// Records handed to a replay at a time, as the command line does.
const CHUNK: usize = 64 * 1024;

/// 2026-12-07 10:00:00 UTC, in seconds since the Unix epoch: the access log's day.
const ORIGIN: u64 = 1_796_637_600;

/// One made-up call: its start in milliseconds since [`ORIGIN`], status and duration in
/// milliseconds. About 5 calls a second, 1 % failing, 2 % ignored, and an outage from 40 % to
/// 55 % of the run where most calls fail (the story of `examples/make_traffic.rs`).
fn calls() -> Vec<(u64, u16, u64)> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
    };
    let mut t = 0;
    (0..RECORDS)
        .map(|i| {
            t += 100 + next() % 200;
            let roll = next() % 100;
            let outage = (RECORDS * 40 / 100..RECORDS * 55 / 100).contains(&i);
            let (status, took) = match roll {
                0..55 if outage => (504, 1_000 + next() % 3),
                55..80 if outage => (503, 3 + next() % 5),
                0 => (500, 20 + next() % 60),
                1..3 => (404, 20 + next() % 60),
                _ => (200, 20 + next() % 60),
            };
            (t, status, took)
        })
        .collect()
}

fn jsonl(calls: &[(u64, u16, u64)]) -> Arc<[u8]> {
    let text: String = calls
        .iter()
        .map(|&(t, status, took)| {
            let t = ORIGIN * 1_000 + t;
            format!(
                "{{\"t\":{}.{:03},\"status\":{status},\"duration\":{}.{:03}}}\n",
                t / 1_000,
                t % 1_000,
                took / 1_000,
                took % 1_000
            )
        })
        .collect();
    text.into_bytes().into()
}

/// The calls as nginx logs them: the end, to the second, then the request time.
fn clf(calls: &[(u64, u16, u64)]) -> Arc<[u8]> {
    let text: String = calls
        .iter()
        .enumerate()
        .map(|(i, &(t, status, took))| {
            // Under a day after 10:00 for 100 000 calls: the date stays the same.
            let end = 10 * 3_600 + (t + took) / 1_000;
            let (h, m, s) = (end / 3_600, end % 3_600 / 60, end % 60);
            format!(
                "192.0.2.{} - - [07/Dec/2026:{h:02}:{m:02}:{s:02} +0000] \"POST /v1/quote \
                 HTTP/1.1\" {status} {} \"-\" \"checkout/2.3\" {}.{:03}\n",
                10 + i % 7,
                180 + i % 40,
                took / 1_000,
                took % 1_000
            )
        })
        .collect();
    text.into_bytes().into()
}

fn records(input: &Arc<[u8]>, format: Format) -> Records {
    let options = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    match Records::from_reader(Cursor::new(Arc::clone(input)), &options) {
        Ok(records) => records,
        Err(e) => panic!("the bench's own input does not read: {e}"),
    }
}

/// Reads every record and counts them.
fn parse(input: &Arc<[u8]>, format: Format) -> usize {
    records(input, format).filter(Result::is_ok).count()
}

/// Reads every record and replays them, a chunk at a time, under W = 5 s and T = 3.
fn parse_and_replay(input: &Arc<[u8]>, format: Format) -> u64 {
    let mut replay = new_replay();
    let mut chunk = Vec::with_capacity(CHUNK);
    for record in records(input, format).flatten() {
        chunk.push(record);
        if chunk.len() == CHUNK {
            replay.feed(&chunk);
            chunk.clear();
        }
    }
    replay.feed(&chunk);
    replay.finish().0.rejected
}

fn new_replay() -> Replay {
    match Replay::new(&Settings::default()) {
        Ok(replay) => replay,
        Err(e) => panic!("the default settings are refused: {e}"),
    }
}

fn new_sweep(settings: Vec<Settings>) -> Sweep {
    match Sweep::new(settings) {
        Ok(sweep) => sweep,
        Err(e) => panic!("the bench's settings are refused: {e}"),
    }
}

/// Parsing alone against parsing and replaying one setting.
fn read_and_replay(c: &mut Criterion) {
    let calls = calls();
    let inputs = [(Format::Jsonl, jsonl(&calls)), (Format::Clf, clf(&calls))];
    for (format, input) in &inputs {
        assert_eq!(parse(input, *format), RECORDS, "{format}");
    }
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (format, input) in &inputs {
        group.bench_function(format!("{format}/parse"), |b| {
            b.iter(|| parse(black_box(input), *format))
        });
        group.bench_function(format!("{format}/parse_and_replay"), |b| {
            b.iter(|| parse_and_replay(black_box(input), *format))
        });
    }
    group.finish();
}

/// One setting against 100 (10 windows by 10 thresholds) over records already read.
fn settings(c: &mut Criterion) {
    let input = jsonl(&calls());
    let read: Vec<Record> = records(&input, Format::Jsonl).flatten().collect();
    let windows: Vec<Duration> = [1, 2, 5, 10, 15, 20, 30, 45, 60, 120]
        .map(Duration::from_secs)
        .to_vec();
    let thresholds = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500].map(Some);
    let hundred = combinations(&Settings::default(), &windows, &thresholds);
    assert_eq!(hundred.len(), 100);

    let mut group = c.benchmark_group("settings");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("replay_1", |b| {
        b.iter(|| {
            let mut replay = new_replay();
            replay.feed(black_box(&read));
            replay.finish().0.rejected
        })
    });
    group.bench_function("sweep_1", |b| {
        b.iter(|| {
            let mut sweep = new_sweep(vec![Settings::default()]);
            sweep.feed(black_box(&read));
            sweep.finish().len()
        })
    });
    group.bench_function("sweep_100", |b| {
        b.iter(|| {
            let mut sweep = new_sweep(hundred.clone());
            sweep.feed(black_box(&read));
            sweep.finish().len()
        })
    });
    group.finish();
}

/// Few samples and short runs: each iteration is already 100 000 records.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = read_and_replay, settings
}
criterion_main!(benches);
