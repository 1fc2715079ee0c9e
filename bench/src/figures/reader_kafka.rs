//! Figure 2: the real `cdc-streamer reader` publishing the load's binlog
//! range to the broker, timed from "binlog stream opened" to the first
//! checkpoint at or past the range's end. A checkpoint is only written once
//! the broker acknowledged every message before it, so this is published
//! *and acknowledged*, end to end. Resolution: the checkpoint interval
//! (100 ms here) on a run of several seconds.
//!
//! Beside it, two references:
//! - the **broker's ceiling**: `cdc_bus_kafka::Publisher` (the reader's own
//!   producer, same settings) sending already-encoded events of this range
//!   as fast as the broker acknowledges them; no binlog, no decoding. The
//!   reader cannot beat it.
//! - an **allocator experiment**: the same reader run with jemalloc
//!   preloaded, when installed (see figure 1 and docs/benchmarks.md).

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use cdc_bus_kafka::{admin, Publisher};

use super::decode::Samples;
use super::{say, Ctx, Source, DB};
use crate::pipeline::{Pipeline, Spec};
use crate::procs::{timestamp_us, wait_for_log, CpuMeter, RssSampler};
use crate::progress::ReaderProgress;

#[derive(Debug, Clone, Serialize)]
pub struct ReaderRun {
    pub label: String,
    pub rows: u64,
    pub secs: f64,
    pub rows_per_s: f64,
    /// Average cores used meanwhile, per process.
    pub cpu_cores: Vec<(String, f64)>,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReaderKafka {
    pub reader: ReaderRun,
    pub reader_jemalloc: Option<ReaderRun>,
    pub broker_ceiling: Option<ReaderRun>,
    pub partitions: i32,
    pub compression: String,
}

pub async fn run(ctx: &Ctx, source: &Source, samples: &Samples) -> Result<ReaderKafka> {
    // A freshly started broker is slower for its first messages (its SQLite
    // file grows); warm it up so the first run measured is not penalised.
    if !samples.is_empty() {
        ceiling(ctx, "broker-warm-up", source.rows.min(50_000), samples).await?;
    }
    let (reader, pipeline) = run_reader(ctx, source, "reader-kafka", None).await?;
    let reader_jemalloc = match &ctx.stack.jemalloc {
        Some(lib) => Some(
            run_reader(ctx, source, "reader-kafka-jemalloc", Some(lib))
                .await?
                .0,
        ),
        None => None,
    };
    let broker_ceiling = if samples.is_empty() {
        None
    } else {
        Some(ceiling(ctx, "broker-ceiling", source.rows, samples).await?)
    };
    Ok(ReaderKafka {
        reader,
        reader_jemalloc,
        broker_ceiling,
        partitions: pipeline.kafka.partitions,
        compression: pipeline.kafka.compression.clone(),
    })
}

async fn run_reader(
    ctx: &Ctx,
    source: &Source,
    name: &str,
    preload: Option<&std::path::Path>,
) -> Result<(ReaderRun, Pipeline)> {
    let stack = &ctx.stack;
    let pipeline = Pipeline::write(
        stack,
        &Spec {
            name,
            db: DB,
            hubspot: None,
            target_db: None,
            kafka_client: &[],
        },
    )?;
    pipeline
        .seed_checkpoint(&source.start, ctx.server_id)
        .await?;
    let mut reader = pipeline.spawn_reader(stack, preload)?;
    let opened = wait_for_log(&mut reader, "binlog stream opened", Duration::from_secs(60)).await?;
    let t0 = timestamp_us(&opened).unwrap_or_else(crate::procs::now_us);
    let mut pids = vec![("cdc-streamer reader", reader.pid())];
    if let Some(p) = stack.service_pid("tansu") {
        pids.push(("tansu (broker)", p));
    }
    if let Some(p) = stack.service_pid("mariadb") {
        pids.push(("mariadbd", p));
    }
    let meter = CpuMeter::start(&pids);
    let rss = RssSampler::start(reader.pid());
    let mut progress = ReaderProgress::open(&reader.log)?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut last_say = Instant::now();
    let t1 = loop {
        if let Some(ts) = progress.passed(&source.end) {
            break ts;
        }
        reader.ensure_running()?;
        if Instant::now() > deadline {
            bail!("the reader did not pass {} within an hour", source.end);
        }
        if last_say.elapsed() > Duration::from_secs(15) {
            if let Some((p, _)) = &progress.checkpoint {
                say(format!("{name}: checkpoint at {p} (end {})", source.end));
            }
            last_say = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cpu_cores = meter.cores();
    let peak = rss.finish().await;
    reader.stop(Duration::from_secs(20));
    let secs = (t1 - t0) as f64 / 1e6;
    let label = match preload {
        Some(_) => "cdc-streamer reader, jemalloc preloaded (experiment)",
        None => "cdc-streamer reader",
    };
    let r = ReaderRun {
        label: label.to_string(),
        rows: source.rows,
        secs: (secs * 1000.0).round() / 1000.0,
        rows_per_s: (source.rows as f64 / secs).round(),
        cpu_cores,
        peak_rss_mib: peak.hwm_mib.unwrap_or(peak.sampled_peak_mib),
    };
    say(format!(
        "{label} → kafka: {:.0} rows/s ({} rows in {:.1} s)",
        r.rows_per_s, r.rows, r.secs
    ));
    Ok((r, pipeline))
}

/// The reader's producer alone: `rows` messages cycling through real encoded
/// events (so compression sees realistic payloads), keyed as the reader keys
/// them, until the broker acknowledged all of them.
async fn ceiling(ctx: &Ctx, name: &str, rows: u64, samples: &Samples) -> Result<ReaderRun> {
    let stack = &ctx.stack;
    let pipeline = Pipeline::write(
        stack,
        &Spec {
            name,
            db: DB,
            hubspot: None,
            target_db: None,
            kafka_client: &[],
        },
    )?;
    let kafka = &pipeline.kafka;
    admin::ensure_topic(kafka, &kafka.topic, kafka.partitions, false).await?;
    let mut publisher = Publisher::new(kafka, &kafka.topic)?;
    let mut pids = vec![("cdc-bench (producer)", std::process::id())];
    if let Some(p) = stack.service_pid("tansu") {
        pids.push(("tansu (broker)", p));
    }
    let meter = CpuMeter::start(&pids);
    let started = Instant::now();
    for i in 0..rows as usize {
        let (key, payload) = &samples[i % samples.len()];
        publisher.publish_raw(key.as_bytes(), payload).await?;
    }
    publisher.flush().await?;
    let secs = started.elapsed().as_secs_f64();
    let acked = publisher.acknowledged;
    publisher.close();
    anyhow::ensure!(acked == rows, "the broker acknowledged {acked} of {rows}");
    let r = ReaderRun {
        label: "broker ceiling: the reader's producer alone, pre-encoded events".into(),
        rows,
        secs: (secs * 1000.0).round() / 1000.0,
        rows_per_s: (rows as f64 / secs).round(),
        cpu_cores: meter.cores(),
        peak_rss_mib: 0.0,
    };
    say(format!("{name}: {:.0} messages/s", r.rows_per_s));
    Ok(r)
}
