//! `cdc-bench`: the benchmarks of issue 7, run against the stack that
//! `bench/run.sh` starts (its own MariaDB, broker and directory), with the
//! release `cdc-streamer` and `hubspot-sim` binaries.
//!
//! # Layout
//! - [`stack`]: where the benchmark's stack and binaries are.
//! - [`machine`]: the machine a run happened on.
//! - [`sql`], [`workload`]: scratch databases, positions, realistic rows.
//! - [`procs`]: child processes, their JSON logs, CPU and memory from /proc.
//! - [`pipeline`]: a figure's config for the real binary, reader and sinks.
//! - [`progress`]: how far a pipeline got, from its logs.
//! - [`sim`]: a private HubSpot simulator per figure.
//! - [`figures`]: the five figures, one file each.
//! - [`stats`], [`report`]: percentiles; the JSON and Markdown results.

mod figures;
mod machine;
mod pipeline;
mod procs;
mod progress;
mod report;
mod sim;
mod sql;
mod stack;
mod stats;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use mysql_async::prelude::*;

use cdc_core::BinlogPosition;
use figures::{say, Ctx};
use report::Report;

/// The allocator cdc-streamer itself uses, so figure 1 (the decode library
/// in this process) measures what the reader binary does.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "cdc-bench",
    about = "Benchmarks of cdc-streamer (run them with bash bench/run.sh)"
)]
struct Cli {
    /// Directory holding the release cdc-streamer and hubspot-sim.
    #[arg(long, global = true)]
    bin_dir: Option<PathBuf>,
    /// Python of the venv with mysql-replication.
    #[arg(long, global = true)]
    python: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the figures and writes bench/results/.
    Run(RunArgs),
    /// Decodes one binlog range of the `bench` database with BinlogReader
    /// (for profiling: `perf record … cdc-bench decode …`).
    Decode {
        #[arg(long)]
        from: BinlogPosition,
        #[arg(long)]
        to: BinlogPosition,
        /// Also serialise every event to JSON, as the publisher does.
        #[arg(long)]
        encode: bool,
    },
    /// Loads N users into a fresh `bench` database and prints the binlog
    /// range the load wrote (for profiling).
    Load {
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// About 10× smaller: 100,000 users, 10 s per latency rate, 6,000-user day.
    #[arg(long)]
    quick: bool,
    /// Users in the source table (overrides the mode's).
    #[arg(long)]
    rows: Option<u64>,
    /// Seconds per latency rate (overrides the mode's).
    #[arg(long)]
    duration: Option<u64>,
    /// Users of the coalescing day (overrides the mode's).
    #[arg(long)]
    day_users: Option<u64>,
    /// Only these figures: decode, kafka, latency, mass, coalescing.
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Where to write the results (`latest.md`/`latest.json`, or
    /// `quick.md`/`quick.json` in quick mode).
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let stack = stack::Stack::from_env(cli.bin_dir, cli.python)?;
    match cli.command {
        Cmd::Run(args) => run(stack, args).await,
        Cmd::Decode { from, to, encode } => {
            let ctx = ctx(stack, 0, 0, 0).await?;
            let config = figures::decode::source_config(&ctx, 7_990)?;
            let (pass, _, _) = figures::decode::decode_range(&config, &from, &to, encode).await?;
            println!("{}", serde_json::to_string_pretty(&pass)?);
            Ok(())
        }
        Cmd::Load { rows } => {
            let ctx = ctx(stack, rows, 0, 0).await?;
            let source = figures::prepare_source(&ctx).await?;
            println!("{}", serde_json::to_string_pretty(&source)?);
            Ok(())
        }
    }
}

async fn ctx(stack: stack::Stack, rows: u64, secs: u64, day_users: u64) -> Result<Ctx> {
    let mut conn = stack.conn().await?;
    let server_id: u32 = conn
        .query_first("SELECT @@server_id")
        .await?
        .context("no server_id")?;
    conn.disconnect().await?;
    Ok(Ctx {
        stack,
        rows,
        duration: Duration::from_secs(secs),
        day_users,
        server_id,
    })
}

async fn run(stack: stack::Stack, args: RunArgs) -> Result<()> {
    let (rows, secs, day) = if args.quick {
        (100_000, 10, 6_000)
    } else {
        (1_000_000, 60, 60_000)
    };
    let ctx = ctx(
        stack,
        args.rows.unwrap_or(rows),
        args.duration.unwrap_or(secs),
        args.day_users.unwrap_or(day),
    )
    .await?;
    let wanted = |f: &str| args.only.as_ref().is_none_or(|o| o.iter().any(|x| x == f));
    let machine = machine::Machine::probe(&ctx.stack).await;
    say(format!("machine: {}", machine.line()));
    let mut report = Report {
        machine,
        mode: if args.quick { "quick" } else { "full" }.into(),
        rows: ctx.rows,
        decode: None,
        reader_kafka: None,
        latency: None,
        mass_update: None,
        coalescing: None,
        load_averages: Vec::new(),
        errors: Vec::new(),
        finished_at: None,
    };
    let base = if args.quick { "quick" } else { "latest" };
    let out_dir = if args.out.is_absolute() {
        args.out.clone()
    } else {
        ctx.stack.repo.join(&args.out)
    };
    std::fs::create_dir_all(&out_dir)?;
    let save = |report: &Report| -> Result<()> {
        std::fs::write(
            out_dir.join(format!("{base}.json")),
            serde_json::to_string_pretty(report)?,
        )?;
        std::fs::write(out_dir.join(format!("{base}.md")), report.markdown())?;
        Ok(())
    };

    let needs_source = ["decode", "kafka", "latency", "mass"]
        .iter()
        .any(|f| wanted(f));
    let source = if needs_source {
        say(format!("loading {} users into bench.users", ctx.rows));
        let s = figures::prepare_source(&ctx).await?;
        say(format!(
            "loaded at {:.0} rows/s; binlog range {}..{}",
            s.load_rows_per_s, s.start, s.end
        ));
        Some(s)
    } else {
        None
    };
    macro_rules! figure {
        ($name:literal, $field:ident, $call:expr) => {
            if wanted($name) {
                say(format!(
                    "--- {} (load average {})",
                    $name,
                    machine::load_average()
                ));
                match $call.await {
                    Ok(r) => report.$field = Some(r),
                    Err(e) => {
                        say(format!("{} failed: {e:#}", $name));
                        report.errors.push(($name.to_string(), format!("{e:#}")));
                    }
                }
                save(&report)?;
            }
        };
    }
    if let Some(source) = &source {
        let mut samples = Vec::new();
        figure!("decode", decode, async {
            figures::decode::run(&ctx, source).await.map(|(d, s)| {
                samples = s;
                d
            })
        });
        figure!(
            "kafka",
            reader_kafka,
            figures::reader_kafka::run(&ctx, source, &samples)
        );
    }
    figure!("latency", latency, figures::latency::run(&ctx));
    figure!("mass", mass_update, figures::mass_update::run(&ctx));
    figure!("coalescing", coalescing, figures::coalescing::run(&ctx));
    report.finished_at =
        Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    save(&report)?;
    println!("{}", report.markdown());
    say(format!(
        "results: {}/{base}.md and {base}.json",
        out_dir.display()
    ));
    if !report.errors.is_empty() {
        anyhow::bail!("{} figure(s) failed", report.errors.len());
    }
    Ok(())
}
