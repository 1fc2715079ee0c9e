//! Figure 1: binlog decode throughput, with no Kafka.
//!
//! Ours: `cdc_source_mysql::BinlogReader` reads the load's binlog range into
//! a channel whose receiver only counts (a second pass also serialises each
//! event to JSON, as the publisher does, to bound what the reader could
//! publish with an infinitely fast broker). The peer: python-mysql-replication
//! on the same range, touching every row's values. Both talk to the same
//! server over TCP; the server's own CPU is reported beside each.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use mysql_async::prelude::*;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;

use cdc_core::BinlogPosition;
use cdc_source_mysql::binlog::StartAt;
use cdc_source_mysql::{preflight, BinlogReader, ReadRange, SourceConfig, SourceItem};

use super::{say, Ctx, Source, DB};
use crate::procs::{cpu_seconds, CpuMeter};
use crate::sql::count_events;
use crate::stack::{ADMIN_PASSWORD, ADMIN_USER};

/// One decoder's pass over the range.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Pass {
    pub rows: u64,
    pub transactions: u64,
    pub secs: f64,
    pub rows_per_s: f64,
    pub events_per_s: f64,
    pub mib_per_s: f64,
    /// CPU of the decoding process, in cores (1.0 = one core busy).
    pub cpu_cores: f64,
    /// CPU of mariadbd meanwhile (it reads and sends the binlog).
    pub server_cpu_cores: Option<f64>,
    /// Bytes of JSON produced (the encoding pass only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decode {
    pub source: Source,
    /// Binlog events in the range (all kinds) and rows events among them.
    pub binlog_events: u64,
    pub row_events: u64,
    pub ours: Pass,
    pub ours_with_json: Pass,
    /// Experiment: the first pass again in a child process with jemalloc
    /// preloaded (`LD_PRELOAD`), when Debian's libjemalloc2 is installed.
    pub ours_jemalloc: Option<Pass>,
    /// The peer's passes: `is_mariadb=True` from the GTID state, and
    /// `is_mariadb=False` from file:position.
    pub peers: Vec<PeerPass>,
    pub peer_errors: Vec<String>,
    /// ours.rows_per_s / the faster peer pass's rows_per_s.
    pub ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeerPass {
    pub label: String,
    pub library: String,
    #[serde(flatten)]
    pub pass: Pass,
}

/// Runs the figure; also returns encoded sample events for figure 2.
pub async fn run(ctx: &Ctx, source: &Source) -> Result<(Decode, Samples)> {
    let mut conn = ctx.stack.conn().await?;
    let (binlog_events, row_events) = count_events(&mut conn, &source.start, &source.end).await?;
    conn.disconnect().await?;
    let pass = |p: Pass| {
        let mut p = p;
        p.events_per_s = (binlog_events as f64 / p.secs).round();
        p.mib_per_s = round2(source.binlog_bytes as f64 / p.secs / 1_048_576.0);
        p
    };
    say(format!(
        "decode: {} rows, {binlog_events} binlog events ({row_events} rows events), {:.0} MiB",
        source.rows,
        source.binlog_bytes as f64 / 1_048_576.0
    ));
    let ours = pass(decode_ours(ctx, source, false).await?.0);
    say(format!("decode: ours {:.0} rows/s", ours.rows_per_s));
    let (with_json, samples) = decode_ours(ctx, source, true).await?;
    let ours_with_json = pass(with_json);
    say(format!(
        "decode: ours + JSON encoding {:.0} rows/s",
        ours_with_json.rows_per_s
    ));
    let ours_jemalloc = match &ctx.stack.jemalloc {
        Some(lib) => {
            let p = pass(decode_preloaded(source, lib).await?);
            say(format!(
                "decode: ours with jemalloc preloaded {:.0} rows/s",
                p.rows_per_s
            ));
            Some(p)
        }
        None => None,
    };
    let mut conn = ctx.stack.conn().await?;
    let gtid: Option<String> = conn
        .exec_first(
            "SELECT BINLOG_GTID_POS(?, ?)",
            (&source.start.file, source.start.pos),
        )
        .await?;
    conn.disconnect().await?;
    let mut peers = Vec::new();
    let mut peer_errors = Vec::new();
    for (mode, label) in [
        ("gtid", "is_mariadb=True, auto_position (GTID)"),
        ("position", "is_mariadb=False, log_file/log_pos"),
    ] {
        match decode_peer(ctx, source, mode, gtid.as_deref()).await {
            Ok((p, library)) => {
                say(format!(
                    "decode: peer ({label}) {:.0} rows/s ({library})",
                    p.rows_per_s
                ));
                peers.push(PeerPass {
                    label: label.to_string(),
                    library,
                    pass: pass(p),
                });
            }
            Err(e) => {
                say(format!("decode: the peer ({label}) failed: {e:#}"));
                peer_errors.push(format!("{label}: {e:#}"));
            }
        }
    }
    let best = peers
        .iter()
        .map(|p| p.pass.rows_per_s)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
    let ratio = best.map(|b| round2(ours.rows_per_s / b));
    Ok((
        Decode {
            source: source.clone(),
            binlog_events,
            row_events,
            ours,
            ours_with_json,
            ours_jemalloc,
            peers,
            peer_errors,
            ratio,
        },
        samples,
    ))
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The source config a decoding pass uses: the benchmark's tables, keyed as
/// the local config keys them.
pub fn source_config(ctx: &Ctx, server_id: u32) -> Result<SourceConfig> {
    serde_json::from_value(json!({
        "name": "bench-decode",
        "url": ctx.stack.mysql_url(None),
        "server_id": server_id,
        "tables": [format!("{DB}.users"), format!("{DB}.user_cim_details")],
        "keys": {
            format!("{DB}.users"): "id",
            format!("{DB}.user_cim_details"): "user_id",
        },
    }))
    .context("building the decode pass's [source] config")
}

/// Up to this many encoded events are kept from the encoding pass, as the
/// payloads of the broker-ceiling measurement (figure 2).
pub const SAMPLES: usize = 1_000;

/// Encoded events kept from the encoding pass: `(key, JSON payload)`.
pub type Samples = Vec<(String, Vec<u8>)>;

/// Reads `range` with BinlogReader and counts (or also encodes) the changes.
pub async fn decode_range(
    config: &SourceConfig,
    from: &BinlogPosition,
    to: &BinlogPosition,
    encode: bool,
) -> Result<(Pass, u64, Samples)> {
    let server = preflight::check(config).await?;
    let mut reader = BinlogReader::new(config, server)?;
    // The product's channel size (crates/cli/src/commands/reader.rs).
    let (tx, mut rx) = mpsc::channel(1024);
    let range = ReadRange {
        from: StartAt::Position(from.clone()),
        to: Some(to.clone()),
        replay: false,
        only_tables: None,
    };
    let cpu0 = cpu_seconds(std::process::id()).unwrap_or(0.0);
    let started = Instant::now();
    let task = tokio::spawn(async move {
        let r = reader.run(range, tx).await;
        reader.close().await;
        r
    });
    let (mut rows, mut transactions, mut json_bytes) = (0u64, 0u64, 0u64);
    let mut samples = Vec::new();
    let mut ended = false;
    while let Some(item) = rx.recv().await {
        match item {
            SourceItem::Change(ev) => {
                rows += 1;
                if encode {
                    let json = serde_json::to_vec(&ev)?;
                    json_bytes += json.len() as u64;
                    if samples.len() < SAMPLES {
                        samples.push((ev.key.clone(), json));
                    }
                }
            }
            SourceItem::Commit { .. } => transactions += 1,
            SourceItem::Heartbeat { .. } => {}
            SourceItem::End => {
                ended = true;
                break;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(std::process::id()).unwrap_or(0.0) - cpu0;
    drop(rx);
    task.await??;
    if !ended {
        bail!("the reader stopped before the end of the range {from}..{to}");
    }
    Ok((
        Pass {
            rows,
            transactions,
            secs: (secs * 1000.0).round() / 1000.0,
            rows_per_s: (rows as f64 / secs).round(),
            events_per_s: 0.0,
            mib_per_s: 0.0,
            cpu_cores: round2(cpu / secs),
            server_cpu_cores: None,
            json_bytes: encode.then_some(json_bytes),
        },
        rows,
        samples,
    ))
}

async fn decode_ours(ctx: &Ctx, source: &Source, encode: bool) -> Result<(Pass, Samples)> {
    let config = source_config(ctx, 7_900 + encode as u32)?;
    let server = ctx.stack.service_pid("mariadb");
    let meter = server.map(|p| CpuMeter::start(&[("mariadbd", p)]));
    let (mut pass, rows, samples) =
        decode_range(&config, &source.start, &source.end, encode).await?;
    pass.server_cpu_cores = meter.and_then(|m| m.cores().first().map(|c| c.1));
    anyhow::ensure!(
        rows == source.rows,
        "ours decoded {rows} rows of the {} loaded",
        source.rows
    );
    Ok((pass, samples))
}

/// The plain pass in a child `cdc-bench decode` with `lib` as `LD_PRELOAD`.
async fn decode_preloaded(source: &Source, lib: &std::path::Path) -> Result<Pass> {
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .args(["decode", "--from", &source.start.to_string()])
        .args(["--to", &source.end.to_string()])
        .env("LD_PRELOAD", lib)
        .kill_on_drop(true)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "cdc-bench decode with {} preloaded: {}",
            lib.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

async fn decode_peer(
    ctx: &Ctx,
    source: &Source,
    mode: &str,
    gtid: Option<&str>,
) -> Result<(Pass, String)> {
    let script = ctx
        .stack
        .repo
        .join("bench/peer/decode_mysql_replication.py");
    anyhow::ensure!(
        ctx.stack.python.is_file(),
        "{} is missing (bench/run.sh creates the venv with `pip install mysql-replication`)",
        ctx.stack.python.display()
    );
    let server = ctx.stack.service_pid("mariadb");
    let meter = server.map(|p| CpuMeter::start(&[("mariadbd", p)]));
    let mut cmd = tokio::process::Command::new(&ctx.stack.python);
    cmd.arg(&script)
        .args(["--port", &ctx.stack.mysql_port.to_string()])
        .args(["--user", ADMIN_USER, "--password", ADMIN_PASSWORD])
        .args(["--schema", DB, "--server-id", "7950"])
        .args(["--log-file", &source.start.file])
        .args(["--log-pos", &source.start.pos.to_string()])
        .args(["--end-pos", &source.end.pos.to_string()])
        .args(["--rows", &source.rows.to_string()])
        .args(["--mode", mode])
        .kill_on_drop(true);
    if let Some(g) = gtid {
        cmd.args(["--gtid", g]);
    }
    // In GTID mode the peer blocks at the end of the binlog; it stops on its
    // row count, and this bounds a run that never gets there.
    let out = tokio::time::timeout(std::time::Duration::from_secs(3600), cmd.output())
        .await
        .context("the peer did not finish within an hour")?
        .with_context(|| format!("running {}", script.display()))?;
    let server_cpu = meter.and_then(|m| m.cores().first().map(|c| c.1));
    if !out.status.success() {
        bail!(
            "{} exited with {}: {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the peer printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let rows = v["rows"].as_u64().unwrap_or(0);
    let secs = v["secs"].as_f64().unwrap_or(f64::NAN);
    anyhow::ensure!(
        rows == source.rows,
        "the peer decoded {rows} rows of the {} loaded",
        source.rows
    );
    Ok((
        Pass {
            rows,
            transactions: 0,
            secs: (secs * 1000.0).round() / 1000.0,
            rows_per_s: (rows as f64 / secs).round(),
            events_per_s: 0.0,
            mib_per_s: 0.0,
            cpu_cores: round2(v["cpu_secs"].as_f64().unwrap_or(0.0) / secs),
            server_cpu_cores: server_cpu,
            json_bytes: None,
        },
        v["library"]
            .as_str()
            .unwrap_or("mysql-replication")
            .to_string(),
    ))
}
