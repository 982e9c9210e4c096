//! `driver [PORT]`: the demo's client. See `driver --help`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use driver::cli::{self, ArgsError, Scenario};
use driver::played::{timeline, write_jsonl};
use driver::render::{render, summary};
use driver::run::{Config, Driver, FleetConfig, Pace};
use driver::scenario;

/// Every error ends the run with one line on stderr, saying what was being done, and exit code 2.
/// A run in which no request reached the service ends with exit code 1, after its summary.
fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("driver: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(ArgsError::Clap(e)) if !e.use_stderr() => {
            let _ = e.print(); // --help or --version
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e).context("reading the command line"),
    };
    let color = cli.color.for_stdout();
    // Rendering decides per line whether to colour; the library must not second-guess it.
    colored::control::set_override(true);

    let config = Config {
        host: cli.host.clone(),
        port: cli.port,
        window: cli.window,
        threshold: cli.threshold.0,
        failure_rate: cli
            .rules
            .failure_rate
            .map(|ratio| (ratio, cli.rules.min_calls)),
        consecutive: cli.rules.consecutive,
        slow: cli.rules.slow,
        timeout: cli.request_timeout(),
        half_open: cli.rules.half_open,
        shadow: cli.shadow,
    };
    // The recorder goes in before the breaker is built: the breaker binds its metrics then.
    let metrics = if cli.metrics {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).context("installing the metrics recorder")?;
        Some(handle)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Fleet mode's background task runs on this runtime.
    let _runtime = runtime.enter();
    let fleet = cli.redis.clone().map(|redis| FleetConfig {
        redis,
        name: cli.name.clone(),
    });
    let driver = match &fleet {
        None => Driver::new(&config, Pace::Real),
        Some(fleet) => Driver::in_fleet(&config, Pace::Real, fleet),
    }
    .with_context(|| {
        format!(
            "setting up the client of the service at {}:{}",
            config.host, config.port
        )
    })?;

    // Made before the first request, so that a path that cannot be written stops the run.
    let trace = cli
        .trace
        .as_ref()
        .map(|path| {
            std::fs::File::create(path)
                .with_context(|| format!("creating the trace file {}", path.display()))
        })
        .transpose()?;
    let mut stdout = std::io::stdout();
    let steps = match cli.scenario {
        Scenario::Demo => scenario::demo(cli.window),
        Scenario::Random => {
            let seed = cli.seed.unwrap_or_else(|| fastrand::u64(..));
            let _ = writeln!(stdout, "Random scenario, seed {seed}.");
            scenario::random(cli.requests, cli.error_rate, seed, cli.interval)
        }
    };
    if let Some(fleet) = &fleet {
        let _ = writeln!(
            stdout,
            "Fleet mode: circuit `{}` shared through {}.",
            fleet.name, fleet.redis
        );
    }
    let mut broken = false;
    let totals = runtime.block_on(driver.play(&steps, &mut |line| {
        if !broken && writeln!(stdout, "{}", render(&line, color)).is_err() {
            broken = true; // stdout closed (a pipe into `head`): finish quietly
        }
    }));
    if let Some(fleet) = driver.fleet() {
        // The last failures, recorded just now, reach the fleet before the process ends.
        runtime.block_on(fleet.flush(std::time::Duration::from_secs(1)));
    }
    let _ = write!(
        stdout,
        "\n{}",
        summary(&totals, &driver.rules(), driver.target())
    );
    if let (Some(path), Some(file)) = (&cli.trace, trace) {
        let written = write_jsonl(&totals.played, std::io::BufWriter::new(file))
            .with_context(|| format!("writing the trace to {}", path.display()))?;
        let _ = writeln!(
            stdout,
            "\nTrace: {written} requests written to {} (replay it with `breaker-replay run {}`).",
            path.display(),
            path.display()
        );
    }
    if let Some(path) = &cli.svg {
        let rules = driver.rules();
        let title = format!(
            "The demo's run: {}{}",
            rules.describe(),
            if cli.shadow { " (shadow mode)" } else { "" }
        );
        let picture = timeline(&totals.played, &totals.changes, rules.threshold);
        let svg =
            breaker_replay::draw::timeline_svg(&picture, &title).context("drawing the run")?;
        std::fs::write(path, svg)
            .with_context(|| format!("writing the picture to {}", path.display()))?;
        let _ = writeln!(stdout, "\nPicture: the run drawn to {}.", path.display());
    }
    if let Some(fleet) = driver.fleet() {
        let stats = fleet.stats();
        let _ = writeln!(
            stdout,
            "\nFleet: {} failures shared, {} trips heard, {} failures dropped; {}.",
            stats.published,
            stats.remote_trips,
            stats.dropped,
            if fleet.is_joined() {
                "joined"
            } else {
                "Redis unreachable, working locally"
            }
        );
    }
    if let Some(metrics) = metrics {
        let _ = write!(stdout, "\nThe breaker's metrics:\n{}", metrics.render());
    }
    Ok(if totals.reached_nothing() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
