//! Figure 5: coalescing over a day of CRM activity.
//!
//! A `bench_day` database of 60,000 users with CRM details is synced to a
//! fresh simulator first (that initial sync is not counted). Then "a day":
//! 600 users change, each two to eight times, across both tables (phone,
//! names, paid flag, balance; company, job title, country, phone number),
//! in random order, every value one HubSpot accepts (a refused record would
//! add the bisection's calls and measure something else). The day is played twice:
//! - **streamed**: the sink runs while the changes arrive evenly over the
//!   run's duration (a day compressed into a minute);
//! - **backlog**: the sink is stopped while another day's changes are
//!   published, then started: what a sink that runs periodically, or catches
//!   up after an outage, makes of a day.
//!
//! Counted: every request to the simulator's batch endpoints (upserts and the
//! reads that check whether a contact exists before a CRM-details-only change
//! is sent), against one call per change event and against the minimum of
//! one call per 100 changed users.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use mysql_async::prelude::*;
use mysql_async::Conn;
use serde::Serialize;

use super::{say, Ctx};
use crate::pipeline::{Pipeline, Spec};
use crate::procs::Proc;
use crate::progress::{ReaderProgress, SinkProgress};
use crate::sim::{Calls, Sim};
use crate::sql::{create_db, master_position, Schema};
use crate::workload::{load_users, Rng};

const DAY_DB: &str = "bench_day";

#[derive(Debug, Clone, Serialize)]
pub struct Day {
    pub mode: String,
    pub changed_users: u64,
    pub events: u64,
    pub users_table_events: u64,
    pub cim_table_events: u64,
    pub calls: Calls,
    /// changed users / 100, rounded up.
    pub minimum_calls: u64,
    pub secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Coalescing {
    pub users: u64,
    pub initial_sync_calls: u64,
    pub streamed: Day,
    pub backlog: Day,
}

pub async fn run(ctx: &Ctx) -> Result<Coalescing> {
    let stack = &ctx.stack;
    let users = ctx.day_users;
    let changed = users / 100;
    let mut conn = stack.conn().await?;
    create_db(stack, &mut conn, DAY_DB, Schema::App).await?;
    let limit = 100_000;
    let sim = Sim::start(stack, limit).await?;
    let pipeline = Pipeline::write(
        stack,
        &Spec {
            name: "coalescing",
            db: DAY_DB,
            hubspot: Some((&sim, limit)),
            target_db: None,
            kafka_client: &[],
        },
    )?;
    let mut reader = pipeline.start_reader(stack).await?;
    let mut sink = pipeline.start_sink(stack, "hubspot").await?;

    say(format!("coalescing: initial sync of {users} users"));
    load_users(&mut conn, DAY_DB, 1, users, 1_000, true).await?;
    let mut progress = SinkProgress::open(&sink.log)?;
    wait_events(&mut progress, &mut sink, 2 * users, "initial sync").await?;
    let synced = sim.stats().await?;

    let streamed = {
        let plan = day(users, changed, 1);
        let secs = ctx.duration.as_secs_f64();
        say(format!(
            "coalescing: streamed day, {} changes of {changed} users over {secs:.0} s",
            plan.len()
        ));
        let t0 = Instant::now();
        play(&mut conn, &plan, Some(Duration::from_secs_f64(secs))).await?;
        wait_events(
            &mut progress,
            &mut sink,
            2 * users + plan.len() as u64,
            "streamed day",
        )
        .await?;
        let after = sim.stats().await?;
        summary("streamed", &plan, Calls::between(&synced, &after), t0)
    };

    let before = sim.stats().await?;
    sink.stop(Duration::from_secs(20));
    let backlog = {
        let plan = day(users, changed, 2);
        say(format!(
            "coalescing: backlog day, {} changes of {changed} users with the sink stopped",
            plan.len()
        ));
        play(&mut conn, &plan, None).await?;
        let end = master_position(&mut conn).await?;
        let mut rp = ReaderProgress::open(&reader.log)?;
        let deadline = Instant::now() + Duration::from_secs(600);
        while rp.passed(&end).is_none() {
            reader.ensure_running()?;
            if Instant::now() > deadline {
                bail!("coalescing: the reader did not publish the backlog day");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let t0 = Instant::now();
        let mut sink = pipeline.start_sink(stack, "hubspot").await?;
        let mut progress = SinkProgress::open(&sink.log)?;
        wait_events(&mut progress, &mut sink, plan.len() as u64, "backlog day").await?;
        let after = sim.stats().await?;
        summary("backlog", &plan, Calls::between(&before, &after), t0)
    };
    reader.stop(Duration::from_secs(20));
    conn.query_drop(format!("DROP DATABASE `{DAY_DB}`")).await?;
    conn.disconnect().await?;
    for d in [&streamed, &backlog] {
        say(format!(
            "coalescing ({}): {} events of {} users → {} HubSpot calls (minimum {}, one per event {})",
            d.mode, d.events, d.changed_users, d.calls.batch_calls, d.minimum_calls, d.events
        ));
    }
    Ok(Coalescing {
        users,
        initial_sync_calls: synced["batch_calls"].as_u64().unwrap_or(0),
        streamed,
        backlog,
    })
}

/// One change: which table, which user, and the SET clause.
struct Change {
    cim: bool,
    user: u64,
    set: String,
}

/// A day's changes: `changed` distinct users of `1..=users`, each changed 2–8
/// times, about 60% on `users` and 40% on `user_cim_details`, shuffled.
fn day(users: u64, changed: u64, seed: u64) -> Vec<Change> {
    let mut rng = Rng::new(0xda7 + seed);
    let mut picked = BTreeSet::new();
    while (picked.len() as u64) < changed {
        picked.insert(1 + rng.below(users));
    }
    // Every value carries the change's number, so no UPDATE is a no-op
    // (a no-op writes no row event, and the counts would not add up).
    let mut plan = Vec::new();
    for &user in &picked {
        for _ in 0..2 + rng.below(7) {
            let n = seed * 1_000_000 + plan.len() as u64;
            let k = rng.below(10);
            let set = match k {
                0 | 1 => format!("phone = '+1-555-{n:07}'"),
                2 => format!("last_name = 'Renamed-{n}'"),
                3 => "is_paid = 1 - is_paid".to_string(),
                4 => format!("balance = {n}.{:02}", rng.below(100)),
                5 => format!("first_name = 'First-{n}'"),
                6 => format!("company = 'Company {n}'"),
                7 => format!("job_title = 'Title {n}'"),
                8 => format!("country = 'Country {n}'"),
                _ => format!("tel = '{n:07}'"),
            };
            plan.push(Change {
                cim: k >= 6,
                user,
                set,
            });
        }
    }
    // Fisher–Yates with our generator: the day's changes interleave.
    for i in (1..plan.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        plan.swap(i, j);
    }
    plan
}

/// Runs the changes, each its own autocommit UPDATE, evenly over `over`
/// (or as fast as they go).
async fn play(conn: &mut Conn, plan: &[Change], over: Option<Duration>) -> Result<()> {
    let start = tokio::time::Instant::now();
    for (i, c) in plan.iter().enumerate() {
        if let Some(over) = over {
            let due = start + over.mul_f64(i as f64 / plan.len() as f64);
            tokio::time::sleep_until(due).await;
        }
        let (table, key) = if c.cim {
            ("user_cim_details", "user_id")
        } else {
            ("users", "id")
        };
        conn.query_drop(format!(
            "UPDATE `{DAY_DB}`.{table} SET {} WHERE {key} = {}",
            c.set, c.user
        ))
        .await?;
    }
    Ok(())
}

async fn wait_events(
    progress: &mut SinkProgress,
    sink: &mut Proc,
    n: u64,
    what: &str,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(900);
    while progress.reached(n).is_none() {
        sink.ensure_running()?;
        if Instant::now() > deadline {
            bail!(
                "coalescing: {what} not applied ({} of {n} events)",
                progress.events
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn summary(mode: &str, plan: &[Change], calls: Calls, t0: Instant) -> Day {
    let users: BTreeSet<u64> = plan.iter().map(|c| c.user).collect();
    let cim = plan.iter().filter(|c| c.cim).count() as u64;
    Day {
        mode: mode.to_string(),
        changed_users: users.len() as u64,
        events: plan.len() as u64,
        users_table_events: plan.len() as u64 - cim,
        cim_table_events: cim,
        calls,
        minimum_calls: (users.len() as u64).div_ceil(100),
        secs: (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    }
}
