//! Figure 4: one `UPDATE users SET is_paid = 1 - is_paid` over every user,
//! through the whole pipeline: reader, HubSpot sink and MySQL sink each in
//! its own process, as a deployment runs them.
//!
//! Memory: each process's VmRSS sampled every 100 ms from `/proc`, and its
//! VmHWM (the kernel's peak) read before it is stopped. Drain: from the
//! UPDATE's commit to the last window each sink applied (from their logs).
//! Calls: the simulator's own count of batch requests, against the minimum
//! of one call per 100 changed users. The simulator and the sink allow
//! 100,000 requests per 10 s so the run is not paced by the API limit (at
//! HubSpot's 100 per 10 s the 10,000 calls alone would take 17 minutes).

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use mysql_async::prelude::*;
use serde::Serialize;

use super::{say, Ctx, DB};
use crate::pipeline::{Pipeline, Spec};
use crate::procs::{now_us, CpuMeter, RssPeak, RssSampler};
use crate::progress::{ReaderProgress, SinkProgress};
use crate::sim::{Calls, Sim};
use crate::sql::{count, create_db, master_position, Schema};

#[derive(Debug, Clone, Serialize)]
pub struct MassUpdate {
    pub rows: u64,
    /// How long MariaDB took to run the UPDATE.
    pub update_secs: f64,
    /// From the commit to the reader's checkpoint past it.
    pub reader_secs: f64,
    pub hubspot_drain_secs: f64,
    pub mysql_drain_secs: f64,
    pub reader_rss: RssPeak,
    pub hubspot_sink_rss: RssPeak,
    pub mysql_sink_rss: RssPeak,
    pub hubspot_calls: Calls,
    pub minimum_calls: u64,
    pub contacts: u64,
    pub target_rows: u64,
    pub cpu_cores: Vec<(String, f64)>,
}

pub async fn run(ctx: &Ctx) -> Result<MassUpdate> {
    let stack = &ctx.stack;
    let target = "bench_mass_crm";
    let mut conn = stack.conn().await?;
    create_db(stack, &mut conn, target, Schema::Crm).await?;
    let limit = 100_000;
    let sim = Sim::start(stack, limit).await?;
    let pipeline = Pipeline::write(
        stack,
        &Spec {
            name: "mass-update",
            db: DB,
            hubspot: Some((&sim, limit)),
            target_db: Some(target),
            kafka_client: &[],
        },
    )?;
    let mut reader = pipeline.start_reader(stack).await?;
    let mut hub = pipeline.start_sink(stack, "hubspot").await?;
    let mut crm = pipeline.start_sink(stack, "crm").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samplers = [
        RssSampler::start(reader.pid()),
        RssSampler::start(hub.pid()),
        RssSampler::start(crm.pid()),
    ];
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
    let meter = CpuMeter::start(&pids);
    let before = sim.stats().await?;

    say(format!(
        "mass update: UPDATE {DB}.users SET is_paid = 1 - is_paid ({} rows)",
        ctx.rows
    ));
    let t0 = Instant::now();
    conn.query_drop(format!("UPDATE `{DB}`.users SET is_paid = 1 - is_paid"))
        .await?;
    let committed_us = now_us();
    let update_secs = t0.elapsed().as_secs_f64();
    let end = master_position(&mut conn).await?;
    let changed = ctx.rows;

    let mut rp = ReaderProgress::open(&reader.log)?;
    let mut hp = SinkProgress::open(&hub.log)?;
    let mut cp = SinkProgress::open(&crm.log)?;
    let (mut r_done, mut h_done, mut c_done) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(7200);
    let mut last_say = Instant::now();
    while r_done.is_none() || h_done.is_none() || c_done.is_none() {
        r_done = r_done.or_else(|| rp.passed(&end));
        h_done = h_done.or_else(|| hp.reached(changed));
        c_done = c_done.or_else(|| cp.reached(changed));
        reader.ensure_running()?;
        hub.ensure_running()?;
        crm.ensure_running()?;
        if Instant::now() > deadline {
            bail!(
                "mass update not drained in 2 h: hubspot {} / crm {} of {changed} events",
                hp.events,
                cp.events
            );
        }
        if last_say.elapsed() > Duration::from_secs(20) {
            say(format!(
                "mass update: hubspot sink {} / crm sink {} of {changed} events",
                hp.events, cp.events
            ));
            last_say = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cpu_cores = meter.cores();
    let [rs, hs, cs] = samplers;
    let (reader_rss, hubspot_sink_rss, mysql_sink_rss) =
        (rs.finish().await, hs.finish().await, cs.finish().await);
    let after = sim.stats().await?;
    drop((reader, hub, crm));
    let secs =
        |t: Option<i64>| ((t.unwrap_or(committed_us) - committed_us) as f64 / 1e3).round() / 1e3;
    let target_rows = count(&mut conn, &format!("SELECT COUNT(*) FROM `{target}`.users")).await?;
    conn.query_drop(format!("DROP DATABASE `{target}`")).await?;
    conn.disconnect().await?;
    let r = MassUpdate {
        rows: changed,
        update_secs: (update_secs * 1000.0).round() / 1000.0,
        reader_secs: secs(r_done),
        hubspot_drain_secs: secs(h_done),
        mysql_drain_secs: secs(c_done),
        reader_rss,
        hubspot_sink_rss,
        mysql_sink_rss,
        hubspot_calls: Calls::between(&before, &after),
        minimum_calls: changed.div_ceil(100),
        contacts: after["live_contacts"].as_u64().unwrap_or(0),
        target_rows,
        cpu_cores,
    };
    say(format!(
        "mass update: drained in {:.1} s (HubSpot) / {:.1} s (MySQL); peak RSS reader {:.1} MiB, sink hubspot {:.1} MiB, sink crm {:.1} MiB; {} HubSpot calls (minimum {})",
        r.hubspot_drain_secs,
        r.mysql_drain_secs,
        peak(&r.reader_rss),
        peak(&r.hubspot_sink_rss),
        peak(&r.mysql_sink_rss),
        r.hubspot_calls.batch_calls,
        r.minimum_calls
    ));
    Ok(r)
}

/// The larger of the sampled peak and the kernel's high-water mark.
pub fn peak(p: &RssPeak) -> f64 {
    p.hwm_mib.unwrap_or(0.0).max(p.sampled_peak_mib)
}
