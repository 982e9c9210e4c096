//! The `sum-service` binary: parse the command line, bind, serve until SIGINT or SIGTERM.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sum_service::cli::Cli;
use sum_service::log::RequestLog;

/// Every error ends the service with one line on stderr, saying what was being done, and exit
/// code 2.
#[actix_web::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sum-service: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help or --version
            return Ok(());
        }
        Err(e) => {
            // One line: what is wrong. `--help` says the rest.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            anyhow::bail!(
                "reading the command line: {}",
                first.trim_start_matches("error: ")
            );
        }
    };
    colored::control::set_override(sum_service::log::stdout_wants_colour());

    let listener = TcpListener::bind((cli.host.as_str(), cli.port))
        .with_context(|| format!("listening on {}:{}", cli.host, cli.port))?;
    let address = match listener.local_addr() {
        Ok(address) => address.to_string(),
        Err(_) => format!("{}:{}", cli.host, cli.port),
    };
    let server =
        sum_service::run(listener).with_context(|| format!("starting the server on {address}"))?;
    RequestLog::Stdout.write(&format!(
        "sum-service listening on http://{address} (Ctrl-C to stop)"
    ));
    let served = server
        .await
        .with_context(|| format!("serving on {address}"));
    RequestLog::Stdout.write("sum-service stopped");
    // Waits a little for the last lines, and never for a stdout that nobody reads.
    RequestLog::Stdout.finish(LOG_FLUSH_BOUND);
    served
}

/// How long the binary waits at exit for queued log lines to reach stdout.
const LOG_FLUSH_BOUND: Duration = Duration::from_millis(500);
