//! The `breaker-replay` binary end to end: small logs in every format, in files, gzipped and on
//! standard input, through `run` and `sweep`, with the JSON keys checked exactly and every
//! failure one line with exit code 2.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The original demo's sixteen requests as a trace: a burst of six failures, a pause of W plus
/// one second, then four failures in a row. `(start in ms, outcome)`; each call lasts 10 ms.
const DEMO: [(u64, &str); 16] = [
    (0, "success"),
    (100, "success"),
    (200, "failure"),
    (300, "failure"),
    (400, "failure"),
    (500, "failure"),
    (600, "failure"),
    (700, "failure"),
    (800, "success"),
    (6_800, "failure"),
    (6_900, "success"),
    (7_000, "success"),
    (7_100, "failure"),
    (7_200, "failure"),
    (7_300, "failure"),
    (7_400, "failure"),
];

/// Milliseconds as seconds with three decimals, from an origin of 100 s.
fn seconds(ms: u64) -> String {
    let ms = 100_000 + ms;
    format!("{}.{:03}", ms / 1_000, ms % 1_000)
}

fn status(outcome: &str) -> u16 {
    if outcome == "failure" { 500 } else { 200 }
}

fn demo_jsonl() -> String {
    DEMO.iter()
        .map(|&(t, outcome)| {
            format!(
                "{{\"t\": {}, \"outcome\": \"{outcome}\", \"duration\": 0.01}}\n",
                seconds(t)
            )
        })
        .collect()
}

fn demo_csv() -> String {
    let rows: String = DEMO
        .iter()
        .map(|&(t, outcome)| format!("{},{},0.010\n", seconds(t), status(outcome)))
        .collect();
    format!("ts,code,request_time\n{rows}")
}

/// The demo as an nginx access log: the logged time is the call's end (with milliseconds),
/// followed by the request time.
fn demo_clf() -> String {
    DEMO.iter()
        .map(|&(t, outcome)| {
            let end = 100_000 + t + 10;
            let (minutes, secs, ms) = (end / 60_000, end / 1_000 % 60, end % 1_000);
            format!(
                "10.0.0.1 - - [10/Oct/2024:13:{minutes:02}:{secs:02}.{ms:03} +0000] \
                 \"POST /sum HTTP/1.1\" {} 12 \"-\" \"driver\" 0.010\n",
                status(outcome)
            )
        })
        .collect()
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("breaker-replay-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn replay(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_breaker-replay"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What W = 5 s and T = 3 do to the demo: the trip on the fourth failure, the close 5 s after
/// the first of the four, the second trip, and its close after the last call; four rejected.
fn assert_demo(report: &Value) {
    assert_eq!(report["calls"], 16);
    assert_eq!(report["admitted"], 12);
    assert_eq!(report["rejected"], 4);
    assert_eq!(
        report["rejected_by_outcome"],
        serde_json::json!({"success": 1, "failure": 3, "ignored": 0})
    );
    assert_eq!(report["trips"], 2);
    let changes: Vec<(String, String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let at = c["at"].as_f64().unwrap();
            (
                format!("{at:.2}"),
                format!(
                    "{} -> {}",
                    c["from"].as_str().unwrap(),
                    c["to"].as_str().unwrap()
                ),
                c["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("0.51", "closed -> open", "failure_count"),
        ("5.21", "open -> closed", "window_emptied"),
        ("7.31", "closed -> open", "failure_count"),
        ("11.81", "open -> closed", "window_emptied"),
    ];
    assert_eq!(changes.len(), expected.len(), "{changes:?}");
    for (got, want) in changes.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), want);
    }
}

#[test]
fn run_json_has_exactly_the_documented_keys() {
    let dir = Scratch::new("keys");
    let file = dir.file("demo.jsonl", demo_jsonl().as_bytes());
    let report = json(&replay(&["run", path(&file), "--json"], None));
    assert_eq!(
        keys(&report),
        sorted(vec![
            "calls",
            "admitted",
            "rejected",
            "outcomes",
            "rejected_by_outcome",
            "trips",
            "open_seconds",
            "changes",
            "skipped"
        ])
    );
    for tally in ["outcomes", "rejected_by_outcome"] {
        assert_eq!(keys(&report[tally]), ["failure", "ignored", "success"]);
    }
    assert_eq!(keys(&report["skipped"]), ["out_of_order", "unreadable"]);
    for change in report["changes"].as_array().unwrap() {
        assert_eq!(keys(change), ["at", "from", "reason", "to"]);
    }
    assert_demo(&report);
    // Open from 0.51 s to 5.21 s, and from 7.31 s to the last event (the last call's start).
    let open = report["open_seconds"].as_f64().unwrap();
    assert!((open - (4.7 + 0.09)).abs() < 1e-9, "{open}");
}

#[test]
fn every_format_gives_the_same_report() {
    let dir = Scratch::new("formats");
    let jsonl = dir.file("demo.jsonl", demo_jsonl().as_bytes());
    let csv = dir.file("demo.csv", demo_csv().as_bytes());
    let clf = dir.file("access.log", demo_clf().as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(demo_jsonl().as_bytes()).unwrap();
    let gzipped = dir.file("demo.jsonl.gz", &gz.finish().unwrap());
    for args in [
        vec!["run", path(&jsonl), "--json"],
        vec!["run", path(&gzipped), "--json"],
        vec![
            "run",
            path(&csv),
            "--json",
            "--fields",
            "t=ts,status=code,duration=request_time",
        ],
        vec!["run", path(&clf), "--json", "--format", "clf"],
        vec!["run", path(&clf), "--json"],
    ] {
        let report = json(&replay(&args, None));
        assert_demo(&report);
        assert_eq!(report["skipped"]["unreadable"], 0, "{args:?}");
    }
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let output = replay(
        &["run", "-", "--window", "5s", "--threshold", "3", "--json"],
        Some(demo_jsonl().as_bytes()),
    );
    assert_demo(&json(&output));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(demo_jsonl().as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap();
    assert_demo(&json(&replay(&["run", "-", "--json"], Some(&gzipped))));
}

#[test]
fn the_human_report_lists_counts_and_changes() {
    let output = replay(&["run", "-"], Some(demo_jsonl().as_bytes()));
    assert!(output.status.success());
    let out = text(&output.stdout);
    assert!(out.contains("calls      16"), "{out}");
    assert!(
        out.contains("rejected    4  (would have been 1 success, 3 failures)"),
        "{out}"
    );
    assert!(
        out.contains("   0.510s  closed -> open  (failure_count)"),
        "{out}"
    );
    assert!(
        out.contains("  11.810s  open -> closed  (window_emptied)  after the last event"),
        "{out}"
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn sweep_json_is_an_array_of_reports_with_their_setting() {
    let output = replay(
        &[
            "sweep",
            "-",
            "--window",
            "1s,5s,30s",
            "--threshold",
            "1,3,10",
            "--json",
        ],
        Some(demo_jsonl().as_bytes()),
    );
    let rows = json(&output);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 9);
    for row in rows {
        assert_eq!(
            keys(row),
            sorted(vec![
                "window",
                "threshold",
                "calls",
                "admitted",
                "rejected",
                "outcomes",
                "rejected_by_outcome",
                "trips",
                "open_seconds",
                "skipped",
                "pareto"
            ])
        );
    }
    let five_three = rows
        .iter()
        .find(|r| r["window"] == 5.0 && r["threshold"] == 3)
        .unwrap();
    assert_eq!(
        (five_three["rejected"].clone(), five_three["trips"].clone()),
        (4.into(), 2.into())
    );
    // Letting every failure through rejects no success: that setting is on the front.
    let thirty_ten = rows
        .iter()
        .find(|r| r["window"] == 30.0 && r["threshold"] == 10)
        .unwrap();
    assert_eq!(thirty_ten["rejected"], 0);
    assert_eq!(thirty_ten["pareto"], true);
    assert!(rows.iter().any(|r| r["pareto"] == false));
}

#[test]
fn the_human_sweep_ranks_and_marks_the_front() {
    let output = replay(
        &[
            "sweep",
            "-",
            "--window",
            "1,5",
            "--threshold",
            "none,3",
            "--consecutive",
            "2",
        ],
        Some(demo_jsonl().as_bytes()),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(out.contains("failures let through"), "{out}");
    assert!(out.lines().any(|l| l.starts_with('*')), "{out}");
    assert!(out.contains("none"), "{out}");
}

#[test]
fn unreadable_lines_are_reported_and_under_strict_are_an_error() {
    let mut log = demo_jsonl();
    log.insert_str(
        0,
        "{\"t\": 99, \"outcome\": \"success\"}\nnot json at all\n",
    );
    let dir = Scratch::new("strict");
    let file = dir.file("bad.jsonl", log.as_bytes());

    let output = replay(&["run", path(&file), "--json"], None);
    let report = json(&output);
    assert_eq!(report["skipped"]["unreadable"], 1);
    let warning = text(&output.stderr);
    assert_eq!(warning.lines().count(), 1, "{warning}");
    assert!(warning.contains("line 2"), "{warning}");

    let human = text(&replay(&["run", path(&file)], None).stdout);
    assert!(human.contains("1 unreadable line (line 2: "), "{human}");

    let output = replay(&["run", path(&file), "--strict"], None);
    assert_eq!(output.status.code(), Some(2));
    let error = text(&output.stderr);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.starts_with("breaker-replay: line 2: "), "{error}");
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let dir = Scratch::new("bad");
    let file = dir.file("demo.jsonl", demo_jsonl().as_bytes());
    let file = path(&file);
    for (args, says) in [
        (vec!["run", file, "--window", "0"], "must be more than zero"),
        (
            vec!["run", file, "--threshold", "none"],
            "turns the count rule off",
        ),
        (vec!["run", file, "--min-calls", "3"], "--failure-rate"),
        (vec!["run", file, "--failure-rate", "2"], "not more than 0"),
        (vec!["run", file, "--half-open", "5000"], "--half-open"),
        (vec!["run", file, "--format", "yaml"], "yaml"),
        (
            vec!["sweep", file, "--threshold", "none,3"],
            "turns the count rule off",
        ),
        (vec!["run", "no-such-file.jsonl"], "no-such-file.jsonl"),
        (vec!["jog", file], "jog"),
    ] {
        let output = replay(&args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let error = text(&output.stderr);
        assert_eq!(error.lines().count(), 1, "{args:?}: {error}");
        assert!(error.contains(says), "{args:?}: {error}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn svg_writes_a_picture_for_run_and_sweep() {
    let dir = Scratch::new("svg");
    let file = dir.file("demo.jsonl", demo_jsonl().as_bytes());
    let run_svg = dir.path("run.svg");
    let output = replay(&["run", path(&file), "--svg", path(&run_svg)], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let svg = std::fs::read_to_string(&run_svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));

    let sweep_svg = dir.path("sweep.svg");
    let output = replay(
        &[
            "sweep",
            path(&file),
            "--window",
            "1,5",
            "--threshold",
            "1,3",
            "--svg",
            path(&sweep_svg),
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let svg = std::fs::read_to_string(&sweep_svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("W="), "{svg}");

    let output = replay(
        &[
            "run",
            path(&file),
            "--svg",
            path(&dir.path("no-dir/run.svg")),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot write"));
}

#[test]
fn check_json_has_exactly_the_documented_keys() {
    let dir = Scratch::new("check-keys");
    let file = dir.file("demo.jsonl", demo_jsonl().as_bytes());
    let checked = json(&replay(&["check", path(&file), "--json"], None));
    assert_eq!(keys(&checked), ["format", "records", "seconds", "skipped"]);
    assert_eq!(keys(&checked["skipped"]), ["out_of_order", "unreadable"]);
}

#[test]
fn check_reads_every_format_and_replays_nothing() {
    let dir = Scratch::new("check-formats");
    let jsonl = dir.file("demo.jsonl", demo_jsonl().as_bytes());
    let csv = dir.file("demo.csv", demo_csv().as_bytes());
    let clf = dir.file("access.log", demo_clf().as_bytes());
    for (args, format) in [
        (vec!["check", path(&jsonl), "--json"], "jsonl"),
        (
            vec![
                "check",
                path(&csv),
                "--json",
                "--fields",
                "t=ts,status=code,duration=request_time",
            ],
            "csv",
        ),
        (vec!["check", path(&clf), "--json"], "clf"),
    ] {
        let checked = json(&replay(&args, None));
        assert_eq!(checked["records"], 16, "{args:?}");
        assert_eq!(checked["format"], format, "{args:?}");
        // From the first call's start (100.000 s) to the last call's end (107.410 s).
        let seconds = checked["seconds"].as_f64().unwrap();
        assert!((seconds - 7.41).abs() < 1e-9, "{args:?}: {seconds}");
        assert_eq!(
            checked["skipped"],
            serde_json::json!({"unreadable": 0, "out_of_order": 0})
        );
    }
    // Standard input, gzipped, and the flags of a setting are not taken.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(demo_jsonl().as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap();
    let checked = json(&replay(&["check", "-", "--json"], Some(&gzipped)));
    assert_eq!(checked["records"], 16);
    let output = replay(&["check", "-", "--threshold", "3"], Some(b""));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--threshold"));
}

#[test]
fn check_says_which_lines_are_unreadable_and_under_strict_exits_2() {
    let mut log = demo_jsonl();
    log.insert_str(0, "not json at all\n");
    // A call 100 s after the first lets the others go (the lag is 60 s); one that then
    // starts before them is out of order.
    log.push_str("{\"t\": 200, \"outcome\": \"success\"}\n");
    log.push_str("{\"t\": 101, \"outcome\": \"success\"}\n");
    let dir = Scratch::new("check-bad");
    let file = dir.file("bad.jsonl", log.as_bytes());

    let output = replay(&["check", path(&file)], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(out.contains("read as jsonl"), "{out}");
    assert!(out.contains("records  17"), "{out}");
    assert!(out.contains("span     100.000s"), "{out}");
    assert!(
        out.contains("skipped  1 unreadable line (line 1: "),
        "{out}"
    );
    assert!(out.contains(", 1 out of order"), "{out}");

    let checked = json(&replay(&["check", path(&file), "--json"], None));
    assert_eq!(
        checked["skipped"],
        serde_json::json!({"unreadable": 1, "out_of_order": 1})
    );

    let output = replay(&["check", path(&file), "--strict"], None);
    assert_eq!(output.status.code(), Some(2));
    let error = text(&output.stderr);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.starts_with("breaker-replay: line 1: "), "{error}");
    assert!(output.stdout.is_empty());
}

#[test]
fn check_of_an_empty_log_reads_no_records() {
    let output = replay(&["check", "-", "--format", "jsonl", "--json"], Some(b""));
    let checked = json(&output);
    assert_eq!(checked["records"], 0);
    assert_eq!(checked["seconds"], 0.0);
    assert_eq!(checked["format"], "jsonl");
}
