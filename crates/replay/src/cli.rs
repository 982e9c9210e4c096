//! The command line: `breaker-replay run FILE [flags]`, `breaker-replay sweep FILE [flags]` and
//! `breaker-replay check FILE [flags]`.
//!
//! The rule flags are the driver's, with the same names, defaults and checks, so that a setting
//! tried here is typed the same way there. The input is read on a thread of its own, in chunks
//! handed over a bounded channel (and handed back, to be refilled), so that parsing and
//! replaying overlap and memory stays a few chunks whatever the length of the log. `check`
//! reads the same way and replays nothing: it says whether a log parses, and it is the time of
//! reading alone, against which a run's time is measured. Every failure is one line on standard
//! error and exit code 2.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::draw::{self, DrawError, SweepPoint};
pub use crate::flags::Threshold;
use crate::flags::{duration, failure_ratio, one_line, positive_duration, threshold};
use crate::read::{self, Fields, Format, ReadError, ReadOptions, Records};
use crate::record::Record;
use crate::replay::Replay;
use crate::report::Skipped;
use crate::settings::{FailureRate, Settings, SettingsError};
use crate::sweep::{self, Sweep, SweepRow, Table};

/// Records per chunk handed from the reading thread to the replay.
const CHUNK: usize = 64 * 1024;

/// Replays a log of calls through the circuit breaker, and says what a window W and a
/// threshold T would have done to it.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "breaker-replay",
    version,
    after_help = "Input: jsonl ({\"t\": 12.5, \"outcome\": \"failure\", \"duration\": 0.12}, or \
                  \"status\": 503 for the outcome), csv with a header of the same names, or \
                  clf access logs; .gz is read transparently, - is standard input. The \
                  downstream's answers are taken as they were logged: a rejected call would \
                  have put no load on it, and the replay does not guess how that would have \
                  changed its answers.\n\n\
                  Durations are seconds (5, 0.25) or human strings (5s, 250ms).\n\n\
                  Exit code: 0 done, 2 for a bad argument or an unreadable input (under \
                  --strict, any unreadable line)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Replays the log under one setting and reports what the breaker did.
    Run(RunArgs),
    /// Replays the log under every combination of the windows and thresholds given, in
    /// parallel over one read, and ranks them.
    Sweep(SweepArgs),
    /// Reads and parses the whole log as `run` would, replays nothing, and says what was read:
    /// the records, the format, the time they cover and the lines left out.
    Check(CheckArgs),
}

/// The flags of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The log to read.
    #[command(flatten)]
    pub input: InputArgs,

    /// The breaker's time window W.
    #[arg(long, value_name = "W", default_value = "5", value_parser = positive_duration)]
    pub window: Duration,

    /// The count rule's error threshold T: more than T failures in the window open the
    /// circuit. `none` turns the count rule off, to trip on --failure-rate or --consecutive
    /// alone.
    #[arg(long, value_name = "T|none", default_value = "3", value_parser = threshold)]
    pub threshold: Threshold,

    /// The other rules.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// What to write.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The flags of `sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// The log to read.
    #[command(flatten)]
    pub input: InputArgs,

    /// The windows to try, separated by commas (`1s,5s,30s`).
    #[arg(
        long,
        value_name = "W,..",
        value_delimiter = ',',
        default_value = "5",
        value_parser = positive_duration
    )]
    pub window: Vec<Duration>,

    /// The thresholds to try, separated by commas (`1,3,10`); `none` is no count rule.
    #[arg(
        long,
        value_name = "T,..",
        value_delimiter = ',',
        default_value = "3",
        value_parser = threshold
    )]
    pub threshold: Vec<Threshold>,

    /// The other rules, the same for every setting.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// What to write.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The flags of `check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The log to read.
    #[command(flatten)]
    pub input: InputArgs,

    /// Write one JSON object on standard output instead of the human report.
    #[arg(long)]
    pub json: bool,
}

/// Where the log is and how to read it.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// The log: a file (`.gz` read transparently) or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// The log's format; guessed from the file's name or its first line if not given.
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// The names of the fields in a jsonl or csv log, as role=name pairs
    /// (`t=ts,status=code,duration=request_time`).
    #[arg(long, value_name = "ROLE=NAME,..")]
    pub fields: Option<Fields>,

    /// How far back in time a record may come after a later one and still be replayed in its
    /// place (logs are written when calls end); an older one is left out and counted.
    #[arg(long, value_name = "D", default_value = "60", value_parser = duration)]
    pub max_lag: Duration,

    /// Stop at the first unreadable line (exit code 2) instead of counting it and going on.
    #[arg(long)]
    pub strict: bool,
}

/// The rules besides the count rule: the driver's flags.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// The failure-rate rule: over the last W, once at least --min-calls calls have ended (as
    /// a success or a failure), the circuit opens when failures / calls >= R. R from 0
    /// (excluded) to 1.
    #[arg(long, value_name = "R", value_parser = failure_ratio)]
    pub failure_rate: Option<f64>,

    /// The failure-rate rule judges only once at least N calls have ended in the window (only
    /// with --failure-rate).
    #[arg(
        long,
        value_name = "N",
        default_value_t = Settings::DEFAULT_MIN_CALLS,
        requires = "failure_rate",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub min_calls: u32,

    /// The consecutive-failures rule: N failures in a row open the circuit (a success breaks
    /// the row).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub consecutive: Option<u32>,

    /// The slow-call rule: a success that took longer than S is recorded as a failure, for
    /// every rule.
    #[arg(long, value_name = "S", value_parser = positive_duration)]
    pub slow: Option<Duration>,

    /// Recover through a half-open state with N probes, after an open time of W.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4095))]
    pub half_open: Option<u32>,
}

/// What to write besides (or instead of) the human report.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Write JSON on standard output instead of the human report.
    #[arg(long)]
    pub json: bool,

    /// Also draw the result as SVG into this file.
    #[arg(long, value_name = "OUT")]
    pub svg: Option<PathBuf>,
}

impl RuleArgs {
    /// The settings for window `window` and threshold `threshold`, with these rules.
    pub fn settings(&self, window: Duration, threshold: Threshold) -> Settings {
        Settings {
            window,
            threshold: threshold.0,
            failure_rate: self.failure_rate.map(|ratio| FailureRate {
                ratio,
                min_calls: self.min_calls,
            }),
            consecutive: self.consecutive,
            slow: self.slow,
            half_open: self.half_open,
        }
    }
}

impl InputArgs {
    fn options(&self) -> ReadOptions {
        ReadOptions {
            format: self.format,
            fields: self.fields.clone().unwrap_or_default(),
            max_lag: self.max_lag,
            strict: self.strict,
        }
    }
}

/// Why a command failed: one line each.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Args(String),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Draw(#[from] DrawError),
    #[error("cannot write {path}: {error}")]
    WriteFile { path: String, error: io::Error },
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
    #[error("cannot write the output: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the reading thread stopped unexpectedly")]
    Reader,
}

/// Runs the command line of this process, printing to its standard output and error.
pub fn main() -> ExitCode {
    run(std::env::args_os(), &mut io::stdout(), &mut io::stderr())
}

/// Runs a command line (the program's name first), writing the report to `out` and errors and
/// warnings to `err`: exit code 0 when done, 2 for a bad argument or an unreadable input.
///
/// ```
/// use std::process::ExitCode;
///
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let code = breaker_replay::cli::run(
///     ["breaker-replay", "run", "/no/such/log", "--window", "5s"],
///     &mut out,
///     &mut err,
/// );
/// assert_eq!(code, ExitCode::from(2));
/// let said = String::from_utf8(err).unwrap();
/// assert!(said.starts_with("breaker-replay: cannot open /no/such/log"), "{said}");
/// assert_eq!(said.lines().count(), 1);
/// ```
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let _ = writeln!(err, "breaker-replay: {}", one_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version.
            let _ = write!(out, "{}", e.render());
            return ExitCode::SUCCESS;
        }
    };
    let done = match &cli.command {
        Command::Run(args) => run_one(args, out, err),
        Command::Sweep(args) => run_sweep(args, out, err),
        Command::Check(args) => run_check(args, out, err),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "breaker-replay: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_one(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Failure> {
    let settings = args.rules.settings(args.window, args.threshold);
    let mut replay = Replay::new(&settings)?;
    if args.output.svg.is_some() {
        replay = replay.with_timeline();
    }
    let records = read::open(&args.input.file, &args.input.options())?;
    let skipped = in_chunks(records, |chunk| replay.feed(chunk))?;
    let (mut report, timeline) = replay.finish();
    report.skipped = skipped.clone();
    warn(err, &report.skipped);
    if args.output.json {
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{settings} on {}", args.input.file)?;
        write!(out, "{report}")?;
    }
    if let (Some(path), Some(timeline)) = (&args.output.svg, timeline) {
        let svg = draw::timeline_svg(&timeline, &format!("{settings} on {}", args.input.file))?;
        write_file(path, &svg)?;
    }
    Ok(())
}

fn run_sweep(args: &SweepArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Failure> {
    let thresholds: Vec<Option<u32>> = args.threshold.iter().map(|t| t.0).collect();
    let base = args
        .rules
        .settings(Settings::DEFAULT_WINDOW, Threshold(None));
    let settings = sweep::combinations(&base, &args.window, &thresholds);
    if settings.is_empty() {
        return Err(Failure::Args("no setting to sweep".into()));
    }
    let mut sweep = Sweep::new(settings)?;
    let records = read::open(&args.input.file, &args.input.options())?;
    let skipped = in_chunks(records, |chunk| sweep.feed(chunk))?;
    let mut rows = sweep.finish();
    for row in &mut rows {
        row.report.skipped = skipped.clone();
    }
    if let Some(first) = rows.first() {
        warn(err, &first.report.skipped);
    }
    if args.output.json {
        serde_json::to_writer(&mut *out, &rows)?;
        writeln!(out)?;
    } else {
        write!(out, "{} settings on {}", rows.len(), args.input.file)?;
        let others = base.other_rules();
        if !others.is_empty() {
            write!(out, ", each with {}", others.join(" "))?;
        }
        writeln!(out)?;
        write!(out, "{}", Table(&rows))?;
    }
    if let Some(path) = &args.output.svg {
        let points: Vec<SweepPoint> = rows.iter().map(point).collect();
        let svg = draw::sweep_svg(&points, &format!("sweep of {}", args.input.file))?;
        write_file(path, &svg)?;
    }
    Ok(())
}

/// What `check` found in a log: `{"records", "format", "seconds", "skipped": {"unreadable",
/// "out_of_order"}}` in JSON.
#[derive(Debug, Serialize)]
struct Checked {
    /// The records read, in start order, the skipped ones left out.
    records: u64,
    /// The format read: the one given, or the one guessed.
    format: &'static str,
    /// From the first call's start to the last call's end.
    seconds: f64,
    /// The lines left out (the first unreadable ones only in the human report).
    skipped: Skipped,
}

fn run_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Failure> {
    let records = read::open(&args.input.file, &args.input.options())?;
    let format = records.format();
    let mut count: u64 = 0;
    // The records come in start order: the first start is the first record's.
    let mut first: Option<i64> = None;
    let mut last = i64::MIN;
    let skipped = in_chunks(records, |chunk| {
        count += chunk.len() as u64;
        if let (None, Some(record)) = (first, chunk.first()) {
            first = Some(record.start);
        }
        last = chunk.iter().map(Record::end).fold(last, i64::max);
    })?;
    let span = first.map_or(0, |first| last.saturating_sub(first).max(0));
    let mut checked = Checked {
        records: count,
        format: format.name(),
        seconds: Duration::from_nanos(span.unsigned_abs()).as_secs_f64(),
        skipped: Skipped::default(),
    };
    checked.skipped = skipped;
    warn(err, &checked.skipped);
    if args.json {
        serde_json::to_writer(&mut *out, &checked)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{} read as {}", args.input.file, checked.format)?;
        writeln!(out, "records  {}", checked.records)?;
        writeln!(
            out,
            "span     {:.3}s  (from the first call's start to the last call's end)",
            checked.seconds
        )?;
        write!(out, "skipped  ")?;
        let skipped = &checked.skipped;
        write!(
            out,
            "{} unreadable {}",
            skipped.unreadable,
            if skipped.unreadable == 1 {
                "line"
            } else {
                "lines"
            }
        )?;
        let first: Vec<String> = skipped
            .first_unreadable
            .iter()
            .map(|(line, why)| format!("line {line}: {why}"))
            .collect();
        if !first.is_empty() {
            write!(out, " ({})", first.join("; "))?;
        }
        writeln!(
            out,
            ", {} out of order (started before the allowed lag)",
            skipped.out_of_order
        )?;
    }
    Ok(())
}

fn point(row: &SweepRow) -> SweepPoint {
    let t = row
        .settings
        .threshold
        .map_or_else(|| "none".to_owned(), |t| t.to_string());
    SweepPoint {
        label: format!(
            "W={} T={t}",
            humantime::format_duration(row.settings.window)
        ),
        failures_let_through: row.report.failures_let_through(),
        successes_rejected: row.report.successes_rejected(),
        pareto: row.pareto,
    }
}

/// Reads `records` on a thread of its own, in chunks, and hands each chunk to `replay` here;
/// returns what the reader skipped.
fn in_chunks(
    records: Records,
    mut replay: impl FnMut(&[Record]),
) -> Result<read::Skipped, Failure> {
    let (full, filled) = mpsc::sync_channel::<Vec<Record>>(2);
    let (empty, emptied) = mpsc::channel::<Vec<Record>>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<read::Skipped, ReadError> {
            let mut records = records;
            loop {
                let mut chunk = emptied
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
                chunk.clear();
                let mut failed = None;
                for item in records.by_ref() {
                    match item {
                        Ok(record) => chunk.push(record),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                    if chunk.len() == CHUNK {
                        break;
                    }
                }
                if let Some(e) = failed {
                    return Err(e);
                }
                if chunk.is_empty() || full.send(chunk).is_err() {
                    return Ok(records.skipped());
                }
            }
        });
        for chunk in filled {
            replay(&chunk);
            // The reader may have finished: then the chunk is simply dropped.
            let _ = empty.send(chunk);
        }
        match reader.join() {
            Ok(result) => result.map_err(Failure::from),
            Err(_) => Err(Failure::Reader),
        }
    })
}

/// One warning line when some input was left out.
fn warn(err: &mut dyn Write, skipped: &Skipped) {
    if skipped.unreadable == 0 && skipped.out_of_order == 0 {
        return;
    }
    let mut line = format!(
        "breaker-replay: warning: {} unreadable {}",
        skipped.unreadable,
        if skipped.unreadable == 1 {
            "line"
        } else {
            "lines"
        }
    );
    if let Some((number, why)) = skipped.first_unreadable.first() {
        line.push_str(&format!(" (the first, line {number}: {why})"));
    }
    if skipped.out_of_order > 0 {
        line.push_str(&format!(
            ", {} out of order beyond the allowed lag",
            skipped.out_of_order
        ));
    }
    line.push_str("; left out");
    let _ = writeln!(err, "{line}");
}

fn write_file(path: &PathBuf, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|error| Failure::WriteFile {
        path: path.display().to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("breaker-replay").chain(args.iter().copied()))
    }

    fn run_args(args: &[&str]) -> RunArgs {
        match parse(&[&["run", "trace.jsonl"][..], args].concat()) {
            Ok(Cli {
                command: Command::Run(run),
            }) => run,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn run_defaults_to_the_breakers_defaults() {
        let run = run_args(&[]);
        let settings = run.rules.settings(run.window, run.threshold);
        assert_eq!(settings, Settings::default());
        assert_eq!(run.input.max_lag, Duration::from_secs(60));
        assert!(!run.input.strict && !run.output.json && run.output.svg.is_none());
    }

    #[test]
    fn the_rule_flags_read_seconds_or_human_durations() {
        let run = run_args(&[
            "--window",
            "250ms",
            "--threshold",
            "none",
            "--failure-rate",
            "0.5",
            "--min-calls",
            "4",
            "--consecutive",
            "3",
            "--slow",
            "0.5",
            "--half-open",
            "2",
            "--max-lag",
            "2m",
        ]);
        let settings = run.rules.settings(run.window, run.threshold);
        assert_eq!(
            settings,
            Settings {
                window: Duration::from_millis(250),
                threshold: None,
                failure_rate: Some(FailureRate {
                    ratio: 0.5,
                    min_calls: 4
                }),
                consecutive: Some(3),
                slow: Some(Duration::from_millis(500)),
                half_open: Some(2),
            }
        );
        assert_eq!(run.input.max_lag, Duration::from_secs(120));
    }

    #[test]
    fn sweep_takes_lists_of_windows_and_thresholds() {
        let cli = parse(&[
            "sweep",
            "-",
            "--window",
            "1s,5,30s",
            "--threshold",
            "1,none,10",
            "--consecutive",
            "5",
        ])
        .unwrap();
        let Command::Sweep(sweep) = cli.command else {
            panic!("not a sweep");
        };
        assert_eq!(sweep.window, [1, 5, 30].map(Duration::from_secs).to_vec());
        assert_eq!(
            sweep.threshold,
            [Threshold(Some(1)), Threshold(None), Threshold(Some(10))]
        );
        assert_eq!(sweep.input.file, "-");
    }

    #[test]
    fn bad_flags_are_refused_on_one_line() {
        for (args, says) in [
            (&["run", "f", "--window", "0"][..], "must be more than zero"),
            (&["run", "f", "--window", "soon"], "`soon` is neither"),
            (&["run", "f", "--threshold", "-1"], "-1"),
            (&["run", "f", "--threshold", "3.5"], "nor `none`"),
            (&["run", "f", "--failure-rate", "1.5"], "not more than 0"),
            (&["run", "f", "--min-calls", "4"], "--failure-rate"),
            (&["run", "f", "--consecutive", "0"], "--consecutive"),
            (&["run", "f", "--half-open", "0"], "--half-open"),
            (&["run", "f", "--format", "xml"], "xml"),
            (&["run", "f", "--fields", "colour=red"], "colour"),
            (&["sweep", "f", "--window", "1s,,5s"], "--window"),
            (&["check", "f", "--window", "5"], "--window"),
            (&["check", "f", "--format", "xml"], "xml"),
            (&["run"], "FILE"),
            (&["walk", "f"], "walk"),
        ] {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let argv = std::iter::once("breaker-replay").chain(args.iter().copied());
            let code = run(argv, &mut out, &mut err);
            assert_eq!(code, ExitCode::from(2), "{args:?}");
            let text = String::from_utf8(err).unwrap();
            assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
            assert!(text.starts_with("breaker-replay: "), "{text}");
            assert!(text.contains(says), "{args:?}: {text}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn a_setting_the_breaker_refuses_is_one_line_before_any_reading() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let argv = [
            "breaker-replay",
            "run",
            "no-such-file",
            "--threshold",
            "none",
        ];
        assert_eq!(run(argv, &mut out, &mut err), ExitCode::from(2));
        let text = String::from_utf8(err).unwrap();
        assert!(text.contains("turns the count rule off"), "{text}");
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn help_is_not_an_error() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        assert_eq!(
            run(["breaker-replay", "--help"], &mut out, &mut err),
            ExitCode::SUCCESS
        );
        assert!(String::from_utf8(out).unwrap().contains("sweep"));
    }
}
