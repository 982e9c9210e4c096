//! The `sum-service` binary: parse the command line, bind, serve until SIGINT or SIGTERM.

use std::net::TcpListener;
use std::process::ExitCode;

use clap::Parser;
use sum_service::cli::Cli;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    colored::control::set_override(sum_service::log::stdout_wants_colour());

    let listener = match TcpListener::bind((cli.host.as_str(), cli.port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "sum-service: cannot listen on {}:{}: {error}",
                cli.host, cli.port
            );
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address.to_string(),
        Err(_) => format!("{}:{}", cli.host, cli.port),
    };
    let server = match sum_service::run(listener) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("sum-service: cannot start on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    sum_service::log::RequestLog::Stdout.write(&format!(
        "sum-service listening on http://{address} (Ctrl-C to stop)"
    ));

    match server.await {
        Ok(()) => {
            sum_service::log::RequestLog::Stdout.write("sum-service stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sum-service: {error}");
            ExitCode::FAILURE
        }
    }
}
