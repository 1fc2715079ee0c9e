//! Figure 3: end-to-end latency, commit in MariaDB → contact applied in the
//! HubSpot simulator and row applied in the MySQL target, at steady rates.
//!
//! Method. A load generator updates `phone` and `last_name` of distinct
//! users (one autocommit UPDATE per change, spread over several connections
//! and paced to the rate). Each change's commit time is the client clock when
//! the server acknowledged the UPDATE (the commit is at most one round trip
//! earlier, well under a millisecond on loopback). Each user changes exactly
//! once, so:
//! - HubSpot: the simulator stamps `updatedAt` (millisecond resolution) when
//!   it applies the batch that carries the contact;
//! - MySQL target: the target table's `applied_at TIMESTAMP(6) ON UPDATE
//!   CURRENT_TIMESTAMP(6)` is stamped by the server when the sink's upsert
//!   runs (microseconds; the sink's commit follows in the same transaction).
//!
//! Latency = applied − committed, per change, read once after the run, so
//! nothing polls the pipeline while it is measured. All clocks are the same
//! machine's. The first 5 s at the rate are a warm-up and not counted.
//!
//! To tell the reader's part from the sinks', a probe consumer (the sinks'
//! consumer settings, its own group) notes when each change can first be
//! read from the topic: commit → on the topic is the reader and the broker;
//! the rest is the sink's window and write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mysql_async::prelude::*;
use serde::Serialize;

use super::{say, Ctx, DB};
use crate::pipeline::{Pipeline, Spec};
use crate::procs::{now_us, CpuMeter};
use crate::progress::SinkProgress;
use crate::sim::Sim;
use crate::sql::{create_db, Schema};
use crate::stats::{summarize, Summary};

const WARM_UP: Duration = Duration::from_secs(5);

/// One steady-rate run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub label: String,
    pub target_rate: u64,
    /// Requests per 10 s the sink and the simulator allow.
    pub hubspot_limit: u32,
    pub measured_changes: u64,
    pub achieved_rate: f64,
    /// Worst lag of the load generator behind its schedule.
    pub generator_max_behind_ms: f64,
    pub hubspot: Summary,
    pub hubspot_missing: u64,
    pub mysql: Summary,
    pub mysql_missing: u64,
    pub hubspot_calls: u64,
    /// Commit → readable from the topic (reader + broker + consumer fetch).
    pub on_topic: Summary,
    /// Commit → handed to the producer (the message's CreateTime, ms
    /// resolution): the reader's own part.
    pub produced: Summary,
    pub cpu_cores: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub duration_secs: u64,
    pub warm_up_secs: u64,
    pub runs: Vec<Run>,
}

pub async fn run(ctx: &Ctx) -> Result<Latency> {
    // Distinct users per run (ids from 1 up), so every change is a user's
    // only one in its run.
    let mut next_id = 1u64;
    let mut runs = Vec::new();
    // The last two are experiments on configuration, not new code: the
    // account limit of a HubSpot Starter account, and consumers that ask the
    // broker to answer a fetch after 50 ms instead of librdkafka's 500 ms
    // (`[kafka.client]`; tansu seems to hold a fetch for that long even
    // when data arrives).
    let fetch_50: &[(&str, &str)] = &[("fetch.wait.max.ms", "50")];
    for (label, rate, limit, client) in [
        ("1,000/s", 1_000u64, 100_000u32, &[][..]),
        ("5,000/s", 5_000, 100_000, &[][..]),
        ("1,000/s at 100 calls/10 s", 1_000, 100, &[][..]),
        ("1,000/s, fetch.wait.max.ms = 50", 1_000, 100_000, fetch_50),
    ] {
        let n = rate * (ctx.duration + WARM_UP).as_secs();
        if n > ctx.rows {
            say(format!(
                "latency {label}: skipped, needs {n} users, {} loaded",
                ctx.rows
            ));
            continue;
        }
        // Runs have their own simulator, target and topic, so a later run
        // may reuse users (its values differ: they carry the run's number).
        if next_id + n > ctx.rows + 1 {
            next_id = 1;
        }
        let r = one(ctx, label, rate, limit, client, next_id..next_id + n).await?;
        say(format!(
            "latency {label}: HubSpot p50 {} ms p99 {} ms max {} ms; MySQL p50 {} ms p99 {} ms max {} ms",
            r.hubspot.p50_ms, r.hubspot.p99_ms, r.hubspot.max_ms, r.mysql.p50_ms, r.mysql.p99_ms, r.mysql.max_ms
        ));
        runs.push(r);
        next_id += n;
    }
    Ok(Latency {
        duration_secs: ctx.duration.as_secs(),
        warm_up_secs: WARM_UP.as_secs(),
        runs,
    })
}

async fn one(
    ctx: &Ctx,
    label: &str,
    rate: u64,
    limit: u32,
    client: &[(&str, &str)],
    ids: std::ops::Range<u64>,
) -> Result<Run> {
    let stack = &ctx.stack;
    let tag = if client.is_empty() { "" } else { "-tuned" };
    let name = format!("latency-{rate}-{limit}{tag}");
    let target = format!("bench_lat_{rate}_{limit}{}", tag.replace('-', "_"));
    let mut conn = stack.conn().await?;
    create_db(stack, &mut conn, &target, Schema::Crm).await?;
    let sim = Sim::start(stack, limit).await?;
    let pipeline = Pipeline::write(
        stack,
        &Spec {
            name: &name,
            db: DB,
            hubspot: Some((&sim, limit)),
            target_db: Some(&target),
            kafka_client: client,
        },
    )?;
    let mut reader = pipeline.start_reader(stack).await?;
    let mut hub = pipeline.start_sink(stack, "hubspot").await?;
    let mut crm = pipeline.start_sink(stack, "crm").await?;
    // The sinks have subscribed; give the group assignment a moment, as a
    // deployment that has been running would have it.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut pids = vec![
        ("reader", reader.pid()),
        ("sink hubspot", hub.pid()),
        ("sink crm", crm.pid()),
        ("hubspot-sim", sim.pid()),
    ];
    if let Some(p) = stack.service_pid("tansu") {
        pids.push(("tansu (broker)", p));
    }
    if let Some(p) = stack.service_pid("mariadb") {
        pids.push(("mariadbd", p));
    }
    let probe = Probe::start(&pipeline)?;
    let meter = CpuMeter::start(&pids);
    let total = ids.end - ids.start;
    let warm = rate * WARM_UP.as_secs();
    say(format!(
        "latency {label}: {total} changes at {rate}/s ({} s warm-up)",
        WARM_UP.as_secs()
    ));
    let load = steady_updates(stack, ids.clone(), rate as f64, &name).await?;
    let cpu_cores = meter.cores();

    // Wait until both sinks consumed every change (or give up).
    let mut hub_progress = SinkProgress::open(&hub.log)?;
    let mut crm_progress = SinkProgress::open(&crm.log)?;
    let deadline = Instant::now() + Duration::from_secs(120).max(ctx.duration * 3);
    loop {
        let h = hub_progress.reached(total).is_some();
        let c = crm_progress.reached(total).is_some();
        if h && c {
            break;
        }
        reader.ensure_running()?;
        hub.ensure_running()?;
        crm.ensure_running()?;
        if Instant::now() > deadline {
            say(format!(
                "latency {label}: not drained in time (hubspot {} / crm {} of {total} events)",
                hub_progress.events, crm_progress.events
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let committed: HashMap<u64, i64> = load.issued[warm as usize..].iter().copied().collect();
    let contacts = sim.contacts().await?;
    let mut hub_lat = Vec::with_capacity(committed.len());
    for c in &contacts {
        let Some(id) = c
            .properties
            .get("app_user_id")
            .and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        if let Some(t) = committed.get(&id) {
            let applied = chrono::DateTime::parse_from_rfc3339(&c.updated_at)
                .context("simulator updatedAt")?
                .timestamp_micros();
            hub_lat.push(applied - t);
        }
    }
    let rows: Vec<(u64, i64)> = conn
        .query(format!(
            "SELECT user_id, CAST(UNIX_TIMESTAMP(applied_at) * 1000000 AS SIGNED) FROM `{target}`.users"
        ))
        .await?;
    let mysql_lat: Vec<i64> = rows
        .iter()
        .filter_map(|(id, applied)| committed.get(id).map(|t| applied - t))
        .collect();
    let seen = probe.finish().await;
    let topic_lat: Vec<i64> = committed
        .iter()
        .filter_map(|(id, t)| seen.get(id).map(|s| s.0 - t))
        .collect();
    let produced_lat: Vec<i64> = committed
        .iter()
        .filter_map(|(id, t)| seen.get(id).and_then(|s| s.1).map(|c| c - t))
        .collect();
    let stats = sim.stats().await?;
    drop((reader, hub, crm));
    conn.query_drop(format!("DROP DATABASE `{target}`")).await?;
    conn.disconnect().await?;

    let measured = committed.len() as u64;
    Ok(Run {
        label: label.to_string(),
        target_rate: rate,
        hubspot_limit: limit,
        measured_changes: measured,
        achieved_rate: load.achieved_rate.round(),
        generator_max_behind_ms: (load.max_behind_us as f64 / 100.0).round() / 10.0,
        hubspot_missing: measured - hub_lat.len() as u64,
        hubspot: summarize(hub_lat),
        mysql_missing: measured - mysql_lat.len() as u64,
        mysql: summarize(mysql_lat),
        hubspot_calls: stats["batch_calls"].as_u64().unwrap_or(0),
        on_topic: summarize(topic_lat),
        produced: summarize(produced_lat),
        cpu_cores,
    })
}

/// What the load generator did.
pub struct Load {
    /// `(user id, commit time µs)` in issue order.
    pub issued: Vec<(u64, i64)>,
    pub achieved_rate: f64,
    pub max_behind_us: u64,
}

/// Updates each user of `ids` once, at `rate` changes per second, each in its
/// own autocommit transaction, from enough connections that one slow commit
/// does not hold the schedule back.
pub async fn steady_updates(
    stack: &crate::stack::Stack,
    ids: std::ops::Range<u64>,
    rate: f64,
    run: &str,
) -> Result<Load> {
    let workers = ((rate / 250.0).ceil() as usize).clamp(4, 32);
    let ids: Arc<Vec<u64>> = Arc::new(ids.collect());
    let next = Arc::new(AtomicU64::new(0));
    let behind = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(Mutex::new(Vec::with_capacity(ids.len())));
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let mut conn = stack.conn().await?;
        let (ids, next, behind, issued) =
            (ids.clone(), next.clone(), behind.clone(), issued.clone());
        let run = run.to_string();
        tasks.push(tokio::spawn(async move {
            let stmt = conn
                .prep(format!(
                    "UPDATE `{DB}`.users SET phone = ?, last_name = ? WHERE id = ?"
                ))
                .await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&id) = ids.get(i) else { break };
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due).await;
                let late = tokio::time::Instant::now().saturating_duration_since(due);
                behind.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
                conn.exec_drop(&stmt, (format!("+1-555-{i:07}"), format!("{run}-{i}"), id))
                    .await?;
                let t = now_us();
                issued.lock().expect("issued lock").push((i, id, t));
            }
            conn.disconnect().await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut all = std::mem::take(&mut *issued.lock().expect("issued lock"));
    all.sort_unstable_by_key(|(i, _, _)| *i);
    Ok(Load {
        achieved_rate: all.len() as f64 / secs,
        issued: all.into_iter().map(|(_, id, t)| (id, t)).collect(),
        max_behind_us: behind.load(Ordering::Relaxed),
    })
}

/// A consumer of the pipeline's topic in its own group, with the sinks'
/// settings, noting when each key is first read (µs).
struct Probe {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<HashMap<u64, (i64, Option<i64>)>>,
}

impl Probe {
    fn start(pipeline: &Pipeline) -> Result<Probe> {
        use rdkafka::Message;
        let consumer = cdc_bus_kafka::consumer::subscribe(
            &pipeline.kafka,
            &format!("{}-probe", pipeline.source_name),
            &pipeline.kafka.topic,
            None,
        )?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let halt = stop.clone();
        let task = tokio::spawn(async move {
            let mut seen = HashMap::new();
            while !halt.load(Ordering::Relaxed) {
                let msg =
                    match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
                        Ok(Ok(m)) => m,
                        _ => continue,
                    };
                let t = now_us();
                // The producer's CreateTime (ms): when the reader handed the
                // change to its producer.
                let created = msg.timestamp().to_millis().map(|ms| ms * 1000);
                if let Some(id) = msg
                    .key()
                    .and_then(|k| std::str::from_utf8(k).ok())
                    .and_then(|k| k.parse::<u64>().ok())
                {
                    seen.entry(id).or_insert((t, created));
                }
            }
            seen
        });
        Ok(Probe { stop, task })
    }

    async fn finish(self) -> HashMap<u64, (i64, Option<i64>)> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}
