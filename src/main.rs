//! The command line: `epdns serve` and `epdns check`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use epdns::load::{ConfigSource, load};
use epdns::server;
use epdns::snapshot::Tables;

#[derive(Parser)]
#[command(
    version,
    about = "Authoritative DNS for a lab PrivateLink + PrivateZone network"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve DNS (UDP and TCP) from a config.
    Serve {
        /// Config file; without it, the embedded default lab config.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address (repeatable); overrides the config's `listen`.
        #[arg(long)]
        listen: Vec<SocketAddr>,
        /// UDP sockets per listen address (default: one per core).
        #[arg(long)]
        udp_threads: Option<usize>,
        /// Admin API address; overrides (and enables) the config's `[admin]`.
        #[arg(long)]
        admin: Option<SocketAddr>,
        /// Once every listener is open, write the bound addresses here (JSON,
        /// atomically). Port 0 in `--listen`, inbound listeners or `--admin`
        /// lets the kernel choose; this file says what it chose.
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Where the control API's state lives: a folder, or
        /// etcd://HOST:PORT[,HOST:PORT…]/PREFIX shared by replicas;
        /// overrides `[state]`.
        #[arg(long, value_parser = epdns::store::StateLocation::parse)]
        state: Option<epdns::store::StateLocation>,
    },
    /// Validate a config and exit 0 when it would be served.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// hickory logs per packet, on input anyone can send: a WARN with every byte
/// of each query whose EDNS option is malformed (150 MB/s from one client).
/// Its crates stay at `error` unless the filter names them itself.
const HICKORY_CAPS: &str = "hickory_proto=error,hickory_net=error,hickory_resolver=error";

/// The log filter: `EPDNS_LOG` (e.g. `debug`), default `info`, with
/// hickory's crates capped.
fn log_filter(env: Option<&str>) -> String {
    match env.map(str::trim) {
        None | Some("") => format!("info,{HICKORY_CAPS}"),
        Some(f) if f.contains("hickory") => f.to_string(),
        Some(f) => format!("{f},{HICKORY_CAPS}"),
    }
}

fn source(config: Option<PathBuf>) -> ConfigSource {
    config.map_or(ConfigSource::Embedded, ConfigSource::File)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = log_filter(std::env::var("EPDNS_LOG").ok().as_deref());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .unwrap_or_else(|_| log_filter(None).into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Check { config } => {
            let source = source(config);
            match load(&source, None) {
                Ok(model) => {
                    let tables = Tables::build(&model, 1);
                    println!(
                        "{}: ok: {} endpoints, {} ENI addresses",
                        source.name().display(),
                        model.endpoints.len(),
                        tables.target_count()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve {
            config,
            listen,
            udp_threads,
            admin,
            ready_file,
            state,
        } => {
            let opts = server::Options {
                source: source(config),
                listen,
                admin,
                ready_file,
                state,
                udp_threads: udp_threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            };
            match server::run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("epdns: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hickory_is_capped_unless_named() {
        assert_eq!(log_filter(None), format!("info,{HICKORY_CAPS}"));
        assert_eq!(log_filter(Some(" ")), format!("info,{HICKORY_CAPS}"));
        assert_eq!(log_filter(Some("debug")), format!("debug,{HICKORY_CAPS}"));
        assert_eq!(
            log_filter(Some("info,hickory_proto=debug")),
            "info,hickory_proto=debug"
        );
        for f in [None, Some("trace"), Some("warn,epdns=debug")] {
            tracing_subscriber::EnvFilter::try_new(log_filter(f)).expect("parses");
        }
    }
}
