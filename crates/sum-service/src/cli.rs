//! The command line: where to listen.
//!
//! `--host` has no environment variable on purpose: shells such as zsh set `HOST` to the machine's
//! name, which would silently move the service off 0.0.0.0.

use clap::Parser;

/// The number summator: a drop-in for the original demo's Flask microservice.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "sum-service", version, about)]
pub struct Cli {
    /// The port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// The address to listen on: an IP address or a host name.
    #[arg(long, default_value = "0.0.0.0")]
    pub host: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    // The PORT variable is left to the binary's own runs: tests that set it would race each other.

    #[test]
    fn flags_set_the_port_and_host() {
        let cli = Cli::try_parse_from(["sum-service", "--port", "18080", "--host", "127.0.0.1"])
            .expect("valid flags");
        assert_eq!(cli.port, 18080);
        assert_eq!(cli.host, "127.0.0.1");
    }

    #[test]
    fn a_bad_port_is_an_error() {
        assert!(Cli::try_parse_from(["sum-service", "--port", "80800"]).is_err());
        assert!(Cli::try_parse_from(["sum-service", "--port", "http"]).is_err());
    }

    #[test]
    fn the_command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
