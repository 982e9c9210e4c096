//! `breaker-replay`: replays a log of calls through the circuit breaker (see `--help`).

fn main() -> std::process::ExitCode {
    breaker_replay::cli::main()
}
