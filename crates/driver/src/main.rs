//! `driver [PORT]`: the demo's client. See `driver --help`.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use driver::cli::{Cli, Scenario};
use driver::render::{render, summary};
use driver::run::{Config, Driver, Pace};
use driver::scenario;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // One line: what is wrong. `--help` says the rest.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("driver: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print(); // --help or --version
            return ExitCode::SUCCESS;
        }
    };
    let color = cli.color.for_stdout();
    // Rendering decides per line whether to colour; the library must not second-guess it.
    colored::control::set_override(true);

    let config = Config {
        host: cli.host.clone(),
        port: cli.port,
        window: cli.window,
        threshold: cli.threshold,
        timeout: cli.timeout,
        half_open: cli.half_open,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("driver: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let driver = match Driver::new(&config, Pace::Real) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("driver: {e}");
            return ExitCode::from(2);
        }
    };

    let mut stdout = std::io::stdout();
    let steps = match cli.scenario {
        Scenario::Demo => scenario::demo(cli.window),
        Scenario::Random => {
            let seed = cli.seed.unwrap_or_else(|| fastrand::u64(..));
            let _ = writeln!(stdout, "Random scenario, seed {seed}.");
            scenario::random(cli.requests, cli.error_rate, seed, cli.interval)
        }
    };
    let mut broken = false;
    let totals = runtime.block_on(driver.play(&steps, &mut |line| {
        if !broken && writeln!(stdout, "{}", render(&line, color)).is_err() {
            broken = true; // stdout closed (a pipe into `head`): finish quietly
        }
    }));
    let _ = write!(stdout, "\n{}", summary(&totals, driver.target()));
    ExitCode::SUCCESS
}
