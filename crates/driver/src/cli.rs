//! The command line: `driver [PORT] [OPTIONS]`, after the leading words of the command lines
//! people already type ([`LAUNCHERS`]).

use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::time::Duration;

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
            ArgsError::Clap(e) => {
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                f.write_str(first.trim_start_matches("error: "))
            }
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
/// (`python` without `main.py` included), else clap's own error.
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
    Cli::try_parse_from(args).map_err(ArgsError::Clap)
}

/// Fires a scripted mix of good and bad requests at the sum service through a circuit breaker,
/// and prints what the breaker decides: green when it forwards a request, red when it rejects
/// one, yellow for a half-open probe, white for the responses.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "driver",
    version,
    after_help = "The leading words of `driver 8080`, `python-free driver 8080` and the original \
                  demo's `python main.py 8080` are skipped, so that each of these command lines \
                  runs the same demo (in the Docker image too, which holds no Python)."
)]
pub struct Cli {
    /// The port the sum service listens on.
    #[arg(default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// The host the sum service runs on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// The breaker's time window W, in seconds (fractions allowed).
    #[arg(long, default_value = "5", value_parser = positive_seconds)]
    pub window: Duration,

    /// The breaker's error threshold T: more than T failures in the window open the circuit.
    #[arg(long, default_value_t = 3)]
    pub threshold: u32,

    /// The request timeout, in seconds: a slower answer is a failure.
    #[arg(long, default_value = "2", value_parser = positive_seconds)]
    pub timeout: Duration,

    /// Recover through a half-open state with N probes, after an open time of W.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4095))]
    pub half_open: Option<u32>,

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

    /// Random scenario: the pause between requests, in seconds.
    #[arg(long, default_value = "0.25", value_parser = seconds)]
    pub interval: Duration,

    /// Print the breaker's metrics (Prometheus text format) after the summary.
    #[arg(long)]
    pub metrics: bool,

    /// When to colour the output: auto colours only a terminal, and not when NO_COLOR is set
    /// or TERM is dumb.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

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

fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("`{s}` is not a usable number of seconds"))
}

fn positive_seconds(s: &str) -> Result<Duration, String> {
    let d = seconds(s)?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
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
        assert_eq!(cli.threshold, 3);
        assert_eq!(cli.scenario, Scenario::Demo);
        assert_eq!(cli.half_open, None);
    }

    #[test]
    fn fractions_of_seconds_are_allowed() {
        let cli = parse(&["9000", "--window", "0.2", "--timeout", "0.5"]).unwrap();
        assert_eq!(cli.port, 9000);
        assert_eq!(cli.window, Duration::from_millis(200));
        assert_eq!(cli.timeout, Duration::from_millis(500));
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
