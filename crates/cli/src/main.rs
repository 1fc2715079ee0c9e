//! `cdc-streamer`: reads the MySQL/MariaDB binlog, publishes change events to
//! Kafka, and applies them to HubSpot and MySQL targets.
//!
//! The binary only parses flags, loads the config and wires crates together:
//! - `commands/`: one file per subcommand.
//! - `config`: the config file, assembled from each crate's section.
//! - `shutdown`: SIGINT/SIGTERM handling.

mod commands;
mod config;
mod metrics;
mod shutdown;
mod sink;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// jemalloc rather than glibc's malloc: the reader allocates per row and
/// value, and its decode ran at a third of the speed with glibc, whose arena
/// lock also made the thread freeing events wait (the benchmark's allocator
/// experiment, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "cdc-streamer",
    version,
    about = "MySQL/MariaDB binlog change-data-capture to Kafka, HubSpot and MySQL targets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reader and all sinks in one process (the local stack's default).
    Run(ConfigArg),
    /// Stream binlog row changes to the Kafka topic, resuming from the checkpoint.
    Reader(ConfigArg),
    /// Apply the change topic to the configured sinks (HubSpot, MySQL targets).
    Sink(SinkArgs),
    /// Inspect and replay the dead-letter topic.
    #[command(subcommand)]
    Dlq(commands::dlq::DlqCommand),
    /// Publish a binlog range again (messages flagged as replay).
    Replay(commands::replay::ReplayArgs),
    /// Check the config, the source server, the brokers and every sink, one line per check.
    Check(commands::check::CheckArgs),
    /// Show how far behind the reader and each sink are, and the dead letters.
    Status(commands::status::StatusArgs),
    /// Show a sink's offsets, or reset them (--reset-to, applied with --yes).
    Offsets(commands::offsets::OffsetsArgs),
    /// Publish every row of the captured tables (resumable), then point the reader at the snapshot's binlog position.
    Snapshot(commands::snapshot::SnapshotArgs),
}

#[derive(clap::Args)]
pub struct SinkArgs {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
    /// Run only these sinks (names of `[sinks.<name>]`, comma separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Option<Vec<String>>,
}

#[derive(clap::Args)]
pub struct ConfigArg {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
}

fn main() -> std::process::ExitCode {
    // Printing commands (`status`, `dlq list`) end quietly when piped into
    // `head`, as command-line tools do, instead of panicking on EPIPE.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => commands::run::run(&args.config).await,
            Command::Reader(args) => commands::reader::run(&args.config).await,
            Command::Sink(args) => commands::sink::run(&args.config, args.only).await,
            Command::Replay(args) => commands::replay::run(args).await,
            Command::Dlq(cmd) => commands::dlq::run(cmd).await,
            Command::Check(args) => commands::check::run(args).await,
            Command::Status(args) => commands::status::run(args).await,
            Command::Offsets(args) => commands::offsets::run(args).await,
            Command::Snapshot(args) => commands::snapshot::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
