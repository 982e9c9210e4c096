//! The command line: `driver [PORT] [OPTIONS]`, after the leading words of the command lines
//! people already type ([`LAUNCHERS`]).

use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use breaker_replay::cli::RuleArgs;
use breaker_replay::flags::{duration, one_line, positive_duration, threshold};
use clap::{Parser, ValueEnum};

/// The leading words that the command lines people already type put before the driver's own
/// arguments, and that [`parse`] skips: the image's own `driver 8080`, the brief's `python-free
/// driver 8080`, and the original demo's `python main.py 8080`. The `circuitbreaker` image runs
/// the driver as its entrypoint, so each of these gives the same demo with no Python (and no
/// shell) in the image.
pub const LAUNCHERS: [&[&str]; 3] = [
    &["driver"],
    &["python-free", "driver"],
    &["python", "main.py"],
];

/// Why the command line was not understood.
#[derive(Debug)]
pub enum ArgsError {
    /// A leading word that is neither a port, an option nor one of [`LAUNCHERS`].
    UnknownCommand(String),
    /// What clap refused (or `--help` and `--version`, which are not errors: see
    /// [`clap::Error::use_stderr`]).
    Clap(clap::Error),
    /// `--threshold none` with no other rule: nothing would ever open the circuit.
    NoRule,
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::UnknownCommand(word) => {
                let known: Vec<String> = LAUNCHERS
                    .iter()
                    .map(|l| format!("`{}`", l.join(" ")))
                    .collect();
                write!(
                    f,
                    "`{word}` is neither a port nor a command this driver knows (it takes a port, \
                     optionally after {})",
                    known.join(", ")
                )
            }
            // One line: what is wrong. `--help` says the rest.
            ArgsError::Clap(e) => f.write_str(&one_line(&e.render().to_string())),
            ArgsError::NoRule => f.write_str(
                "`--threshold none` turns the count rule off: give `--failure-rate` or \
                 `--consecutive` too, or nothing would open the circuit",
            ),
        }
    }
}

impl std::error::Error for ArgsError {}

/// Parses a whole command line, the program's name first, after skipping one of the leading
/// [`LAUNCHERS`].
///
/// ```
/// use driver::cli::parse;
///
/// for line in [
///     &["driver", "9000"][..],
///     &["driver", "driver", "9000"],
///     &["driver", "python-free", "driver", "9000"],
///     &["driver", "python", "main.py", "9000"],
/// ] {
///     assert_eq!(parse(line).unwrap().port, 9000);
/// }
/// assert!(parse(["driver", "ruby", "main.rb", "9000"]).is_err());
/// ```
///
/// # Errors
///
/// [`ArgsError::UnknownCommand`] for a leading word that is not a port, an option or a launcher
/// (`python` without `main.py` included), [`ArgsError::NoRule`] for `--threshold none` without
/// `--failure-rate` or `--consecutive`, else clap's own error.
pub fn parse<I, T>(args: I) -> Result<Cli, ArgsError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(first) = args.get(1).and_then(|a| a.to_str()) {
        let is_port = !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit());
        if !is_port && !first.starts_with('-') {
            let launcher = LAUNCHERS
                .iter()
                .find(|words| {
                    words.len() < args.len() && words.iter().zip(&args[1..]).all(|(w, a)| a == w)
                })
                .ok_or_else(|| ArgsError::UnknownCommand(first.to_string()))?;
            args.drain(1..=launcher.len());
        }
    }
    let cli = Cli::try_parse_from(args).map_err(ArgsError::Clap)?;
    if cli.threshold.0.is_none()
        && cli.rules.failure_rate.is_none()
        && cli.rules.consecutive.is_none()
    {
        return Err(ArgsError::NoRule);
    }
    Ok(cli)
}

/// Fires a scripted mix of good and bad requests at the sum service through a circuit breaker,
/// and prints what the breaker decides: green when it forwards a request, red when it rejects
/// one, yellow for a half-open probe, white for the responses.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "driver",
    version,
    after_help = "Trip rules: the count rule (--threshold) is on unless `--threshold none`; \
                  --failure-rate and --consecutive add rules to it, and the circuit opens as soon \
                  as any of them fires; --slow makes slow successes failures for all of them. A \
                  trip by the count rule lasts until the failures in the window fall back to T; \
                  a trip by another rule lasts W. With --half-open, every trip lasts W, then \
                  probes decide. The summary lists the rules in force and why each state change \
                  happened.\n\n\
                  The leading words of `driver 8080`, `python-free driver 8080` and the original \
                  demo's `python main.py 8080` are skipped, so that each of these command lines \
                  runs the same demo (in the Docker image too, which holds no Python).\n\n\
                  Exit code: 0 when the scenario ran and the service answered at least once \
                  (whatever the status), 1 when no request reached it (a refused port, an \
                  unknown host, no answer within the timeout), 2 for a bad argument or setup."
)]
pub struct Cli {
    /// The port the sum service listens on.
    #[arg(default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// The host the sum service runs on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// The breaker's time window W: seconds (fractions allowed) or a duration like `250ms`.
    #[arg(long, default_value = "5", value_parser = positive_duration)]
    pub window: Duration,

    /// The count rule's error threshold T: more than T failures in the window open the
    /// circuit. `none` turns the count rule off, to trip on --failure-rate or --consecutive
    /// alone. The rules below add to the count rule; they do not replace it.
    #[arg(long, value_name = "T|none", default_value = "3", value_parser = threshold)]
    pub threshold: Threshold,

    /// The trip rules besides the count rule, read as `breaker-replay` reads them.
    #[command(flatten)]
    pub rules: RuleArgs,

    /// The request timeout (seconds, or a duration like `2s`), from sending the request to the
    /// last byte of the answer: a slower answer is a failure. By default W / (N + 1), N being
    /// the failures in W that open the circuit (T + 1 with the count rule, else --min-calls
    /// with --failure-rate), between 0.1 s and 2 s: so a service that never answers still
    /// opens the circuit (W / 5 = 1 s with the defaults). --slow at or above it never fires:
    /// a call that slow times out, a failure anyway. With --half-open it is the probe timeout
    /// too.
    #[arg(long, value_name = "S", value_parser = positive_duration)]
    pub timeout: Option<Duration>,

    /// The script to play.
    #[arg(long, value_enum, default_value_t = Scenario::Demo)]
    pub scenario: Scenario,

    /// Random scenario: the number of requests.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub requests: u32,

    /// Random scenario: the share of bad requests, from 0 to 1.
    #[arg(long, default_value = "0.3", value_parser = rate)]
    pub error_rate: f64,

    /// Random scenario: the seed (random if not given; the summary prints it).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Random scenario: the pause between requests (seconds, or a duration like `250ms`).
    #[arg(long, default_value = "0.25", value_parser = duration)]
    pub interval: Duration,

    /// Fleet mode: share one circuit with every driver on this Redis server under the same
    /// --name (and the same window and threshold): a failure seen by any of them counts for
    /// all, and a trip opens every one. Calls never wait on Redis; while it is unreachable the
    /// breaker works locally and rejoins by itself.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// Fleet mode: the shared circuit's name (only with --redis).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "sum-service",
        requires = "redis"
    )]
    pub name: String,

    /// Shadow mode: the breaker decides as usual (every rule, every state change) but every
    /// request is forwarded; one it would have rejected is said to be, in red, and counted in
    /// the summary. For trying settings without rejecting anyone.
    #[arg(long)]
    pub shadow: bool,

    /// Write every request that reached the service to FILE, one `jsonl` record each (its
    /// start since the run began, its duration and the outcome seen), for `breaker-replay`.
    /// With --shadow the trace holds every request.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Draw the run to FILE as an SVG picture, as `breaker-replay run --svg` draws a replay:
    /// the requests per time step by what the breaker decided and how they ended, the open
    /// periods shaded and named by reason, and the failures in the window against T. A
    /// request the breaker rejected is drawn by the answer the service would have given it.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Print the breaker's metrics (Prometheus text format) after the summary.
    #[arg(long)]
    pub metrics: bool,

    /// When to colour the output: auto colours only a terminal, and not when NO_COLOR is set
    /// or TERM is dumb.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl Cli {
    /// The request timeout: `--timeout` if given, else [`default_timeout`] for these rules.
    pub fn request_timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(|| {
            default_timeout(
                self.window,
                self.threshold.0,
                self.rules.failure_rate.map(|_| self.rules.min_calls),
            )
        })
    }
}

/// The shortest default request timeout.
pub const MIN_DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest default request timeout.
pub const MAX_DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The request timeout when `--timeout` is not given: W / (N + 1), N being the failures that
/// must fall in the window to open the circuit (T + 1 for the count rule, else the failure-rate
/// rule's fewest calls), kept between [`MIN_DEFAULT_TIMEOUT`] and [`MAX_DEFAULT_TIMEOUT`].
/// Requests go one at a time, so N requests that each time out then end within W: a service
/// that never answers opens the circuit. The consecutive rule alone counts no window, and gets
/// the longest.
///
/// ```
/// use std::time::Duration;
/// use driver::cli::default_timeout;
///
/// // W = 5 s, T = 3: four timeouts of 1 s end within 5 s.
/// assert_eq!(default_timeout(Duration::from_secs(5), Some(3), None), Duration::from_secs(1));
/// ```
pub fn default_timeout(
    window: Duration,
    threshold: Option<u32>,
    min_calls: Option<u32>,
) -> Duration {
    let needed = match (threshold, min_calls) {
        (Some(t), _) => Some(t.saturating_add(1)),
        (None, Some(n)) => Some(n),
        (None, None) => None,
    };
    needed
        .map_or(MAX_DEFAULT_TIMEOUT, |n| window / n.saturating_add(1))
        .clamp(MIN_DEFAULT_TIMEOUT, MAX_DEFAULT_TIMEOUT)
}

/// The fewest calls the failure-rate rule judges when `--min-calls` is not given.
pub const DEFAULT_MIN_CALLS: u32 = breaker_replay::Settings::DEFAULT_MIN_CALLS;

/// The count rule's threshold T, or `None` for `--threshold none` (no count rule): read as
/// `breaker-replay` reads it, like every rule flag.
pub use breaker_replay::flags::Threshold;

/// The scripts the driver can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The original demo's sequence of 16 requests.
    Demo,
    /// Seeded random good and bad sums.
    Random,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour a terminal, unless NO_COLOR is set or TERM is dumb.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given the environment: `no_color` is NO_COLOR's value, `term` TERM's,
    /// and `tty` whether stdout is a terminal.
    pub fn resolve(self, no_color: Option<&str>, term: Option<&str>, tty: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && no_color.is_none_or(str::is_empty) && term != Some("dumb"),
        }
    }

    /// Whether to colour this process's stdout.
    pub fn for_stdout(self) -> bool {
        let no_color = std::env::var("NO_COLOR").ok();
        let term = std::env::var("TERM").ok();
        self.resolve(
            no_color.as_deref(),
            term.as_deref(),
            std::io::stdout().is_terminal(),
        )
    }
}

fn rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("`{s}` is not between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("driver").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_original_demo() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.port, 8080);
        assert_eq!(cli.host, "127.0.0.1");
        assert_eq!(cli.window, Duration::from_secs(5));
        assert_eq!(cli.threshold, Threshold(Some(3)));
        assert_eq!(cli.scenario, Scenario::Demo);
        assert_eq!(cli.rules.half_open, None);
        // The count rule alone.
        assert_eq!(
            (
                cli.rules.failure_rate,
                cli.rules.consecutive,
                cli.rules.slow
            ),
            (None, None, None)
        );
    }

    #[test]
    fn fleet_mode_takes_a_redis_url_and_a_name_that_defaults_to_the_service() {
        let plain = parse(&[]).unwrap();
        assert_eq!(plain.redis, None);
        let fleet = parse(&["--redis", "redis://127.0.0.1:6379/"]).unwrap();
        assert_eq!(fleet.redis.as_deref(), Some("redis://127.0.0.1:6379/"));
        assert_eq!(fleet.name, "sum-service");
        let named = parse(&["--redis", "redis://r/", "--name", "payments"]).unwrap();
        assert_eq!(named.name, "payments");
        // A name means nothing without a fleet.
        assert!(parse(&["--name", "payments"]).is_err());
    }

    #[test]
    fn by_default_a_service_that_never_answers_opens_the_circuit() {
        // Requests go one at a time: T + 1 timeouts in a row must end within W.
        let fits = |cli: &Cli, failures: u32| {
            let timeout = cli.request_timeout();
            assert!(timeout >= MIN_DEFAULT_TIMEOUT && timeout <= MAX_DEFAULT_TIMEOUT);
            timeout * failures < cli.window
        };
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.timeout, None);
        assert_eq!(cli.request_timeout(), Duration::from_secs(1));
        assert!(fits(&cli, 4));
        for (args, failures) in [
            (&["--window", "1"][..], 4),
            (&["--window", "5", "--threshold", "0"], 1),
            (&["--window", "5", "--threshold", "9"], 10),
            (&["--window", "60", "--threshold", "100"], 101),
            (
                &[
                    "--threshold",
                    "none",
                    "--failure-rate",
                    "0.5",
                    "--min-calls",
                    "4",
                ],
                4,
            ),
        ] {
            let cli = parse(args).unwrap();
            assert!(
                fits(&cli, failures),
                "{args:?}: {:?}",
                cli.request_timeout()
            );
        }
        // Never longer than 2 s, never shorter than 0.1 s.
        let long = parse(&["--window", "600"]).unwrap();
        assert_eq!(long.request_timeout(), MAX_DEFAULT_TIMEOUT);
        let short = parse(&["--window", "0.1"]).unwrap();
        assert_eq!(short.request_timeout(), MIN_DEFAULT_TIMEOUT);
        let streak = parse(&["--threshold", "none", "--consecutive", "2"]).unwrap();
        assert_eq!(streak.request_timeout(), MAX_DEFAULT_TIMEOUT);
        // `--timeout` wins.
        let given = parse(&["--timeout", "7"]).unwrap();
        assert_eq!(given.request_timeout(), Duration::from_secs(7));
    }

    #[test]
    fn the_rule_flags_read_their_values() {
        let cli = parse(&[
            "--failure-rate",
            "0.5",
            "--min-calls",
            "4",
            "--consecutive",
            "2",
            "--slow",
            "0.25",
        ])
        .unwrap();
        assert_eq!(cli.rules.failure_rate, Some(0.5));
        assert_eq!(cli.rules.min_calls, 4);
        assert_eq!(cli.rules.consecutive, Some(2));
        assert_eq!(cli.rules.slow, Some(Duration::from_millis(250)));
        // The count rule stays, at its default, unless told otherwise.
        assert_eq!(cli.threshold, Threshold(Some(3)));
        let cli = parse(&["--threshold", "none", "--failure-rate", "1"]).unwrap();
        assert_eq!(cli.threshold, Threshold(None));
        assert_eq!(cli.rules.failure_rate, Some(1.0));
        assert_eq!(cli.rules.min_calls, DEFAULT_MIN_CALLS);
        assert_eq!(
            parse(&["--threshold", "0"]).unwrap().threshold,
            Threshold(Some(0))
        );
    }

    #[test]
    fn bad_rule_flags_are_refused_on_one_line() {
        for (args, says) in [
            (
                &["--failure-rate", "0"][..],
                "`0` is not more than 0 and at most 1",
            ),
            (
                &["--failure-rate", "1.5"],
                "`1.5` is not more than 0 and at most 1",
            ),
            (
                &["--failure-rate", "NaN"],
                "is not more than 0 and at most 1",
            ),
            (&["--failure-rate", "half"], "`half` is not a number"),
            (
                &["--min-calls", "0", "--failure-rate", "0.5"],
                "--min-calls",
            ),
            (
                &["--min-calls", "4"],
                "required arguments were not provided: --failure-rate <R>",
            ),
            (&["--consecutive", "0"], "--consecutive"),
            (&["--consecutive", "-2"], "-2"),
            (&["--slow", "0"], "must be more than zero"),
            (&["--slow", "-1"], "-1"),
            (
                &["--slow=-1"],
                "`-1` is neither a number of seconds nor a duration like `250ms`",
            ),
            (
                &["--slow", "soon"],
                "`soon` is neither a number of seconds nor a duration like `250ms`",
            ),
            (&["--threshold", "never"], "nor `none`"),
            (
                &["--threshold", "none"],
                "`--threshold none` turns the count rule off",
            ),
            (
                &["--threshold", "none", "--slow", "1"],
                "turns the count rule off",
            ),
        ] {
            let line = std::iter::once("driver").chain(args.iter().copied());
            let error = super::parse(line)
                .map(|_| ())
                .expect_err(&format!("{args:?} was accepted"));
            let text = error.to_string();
            assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
            assert!(text.contains(says), "{args:?}: {text}");
        }
    }

    #[test]
    fn fractions_of_seconds_are_allowed() {
        let cli = parse(&["9000", "--window", "0.2", "--timeout", "0.5"]).unwrap();
        assert_eq!(cli.port, 9000);
        assert_eq!(cli.window, Duration::from_millis(200));
        assert_eq!(cli.request_timeout(), Duration::from_millis(500));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["notaport"][..],
            &["70000"],
            &["0"],
            &["--window", "0"],
            &["--window", "-1"],
            &["--window", "NaN"],
            &["--window", "inf"],
            &["--threshold", "-1"],
            &["--threshold", "3.5"],
            &["--error-rate", "1.5"],
            &["--half-open", "0"],
            &["--scenario", "chaos"],
            &["--color", "sometimes"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn the_command_lines_people_type_give_the_same_arguments() {
        let plain = parse(&["8080", "--window", "1"]).unwrap();
        for line in [
            &["driver", "driver", "8080", "--window", "1"][..],
            &["driver", "python-free", "driver", "8080", "--window", "1"],
            &["driver", "python", "main.py", "8080", "--window", "1"],
            &["driver", "driver", "--window", "1"], // the default port
        ] {
            let cli = super::parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert_eq!(
                (cli.port, cli.window, cli.threshold),
                (plain.port, plain.window, plain.threshold),
                "{line:?}"
            );
        }
    }

    #[test]
    fn an_unknown_leading_word_is_a_clear_error() {
        for line in [
            &["driver", "ruby", "main.rb", "8080"][..],
            &["driver", "python", "8080"],
            &["driver", "python", "other.py", "8080"],
            &["driver", "python-free", "8080"],
            &["driver", "python"],
            &["driver", "80a"],
        ] {
            let error = super::parse(line).unwrap_err();
            assert!(matches!(error, ArgsError::UnknownCommand(_)), "{line:?}");
            let text = error.to_string();
            assert!(
                text.starts_with(&format!("`{}` is neither", line[1])),
                "{text}"
            );
            assert!(text.contains("`python main.py`"), "{text}");
            assert_eq!(text.lines().count(), 1);
        }
        // Only one launcher is skipped; what follows is the driver's own arguments.
        assert!(matches!(
            super::parse(["driver", "driver", "driver", "8080"]),
            Err(ArgsError::Clap(_))
        ));
    }

    #[test]
    fn auto_colour_follows_the_terminal() {
        let auto = ColorChoice::Auto;
        assert!(auto.resolve(None, Some("xterm"), true));
        assert!(!auto.resolve(None, Some("xterm"), false));
        assert!(!auto.resolve(Some("1"), Some("xterm"), true));
        assert!(auto.resolve(Some(""), Some("xterm"), true));
        assert!(!auto.resolve(None, Some("dumb"), true));
        assert!(ColorChoice::Always.resolve(Some("1"), None, false));
        assert!(!ColorChoice::Never.resolve(None, None, true));
    }
}
