//! Faults: crash anywhere, lose nothing, explain every error (issue 8).
//!
//! Each test runs the real processes (reader, sink, HubSpot simulator, MariaDB, broker) under
//! the seeded random workload of `cdc_tests::workload`, injects its fault while the workload
//! writes, and ends with the convergence check of `cdc_tests::converge`: every source row
//! equals its HubSpot contact and its crm row, and nothing extra exists. docs/reliability.md
//! lists each fault, its test, and what the system promises.
//!
//! Sizes: CI by default (each test well under a minute, fixed seeds). `CDC_SOAK=1` runs the
//! soak size (more writes, more kills, longer outages, a 1,000,000-row transaction) with a
//! random seed per test, printed at the start; `CDC_SEED=n` repeats a seed. Run with
//! `--nocapture` to see the reports (duplicates, peak memory, what the workload did).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_core::BinlogPosition;
use cdc_tests::converge::{both_match, crm_matches};
use cdc_tests::kafka::group_consumer;
use cdc_tests::pipeline::{Parts, Pipeline, WAIT};
use cdc_tests::sim::{eventually, PrivateSim};
use cdc_tests::stack::{read_sql, sql_statements, Schema};
use cdc_tests::streamer::{plain, Streamer};
use cdc_tests::workload::{copy_app_tables, exec, exec_url, Workload};
use cdc_tests::{unique, PrivateMariaDb, Stack};
use mysql_async::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio::sync::Mutex;

// ---------------------------------------------------------------------------------------------
// Sizes and seeds
// ---------------------------------------------------------------------------------------------

/// The size of a run (CI or soak) and its seed.
struct Plan {
    seed: u64,
    soak: bool,
}

impl Plan {
    fn new(test: &str, ci_seed: u64) -> Plan {
        let soak = std::env::var("CDC_SOAK").is_ok_and(|v| v == "1");
        let seed = match std::env::var("CDC_SEED") {
            Ok(s) => s.parse().expect("CDC_SEED is a number"),
            Err(_) if soak => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
            Err(_) => ci_seed,
        };
        println!(
            "{test}: seed {seed} ({}; repeat with CDC_SEED={seed})",
            if soak { "soak" } else { "CI size" }
        );
        Plan { seed, soak }
    }

    fn size<T>(&self, ci: T, soak: T) -> T {
        if self.soak {
            soak
        } else {
            ci
        }
    }

    /// The dice for timing (when to kill, how long to stay down), apart from the workload's.
    fn timing(&self) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ 0x7157_7157)
    }

    /// How long convergence may take after the last fault.
    fn converge_within(&self) -> Duration {
        self.size(WAIT, Duration::from_secs(600))
    }
}

fn ms(rng: &mut StdRng, range: std::ops::Range<u64>) -> Duration {
    Duration::from_millis(rng.gen_range(range))
}

// ---------------------------------------------------------------------------------------------
// A pipeline from a scratch source to a private simulator and a crm target
// ---------------------------------------------------------------------------------------------

struct Rig {
    source: String,
    target: String,
    sim: PrivateSim,
    pipeline: Pipeline,
}

impl Rig {
    async fn new(sim_flags: &[&str]) -> Rig {
        let stack = Stack::get();
        let sim = PrivateSim::start(sim_flags).await;
        let source = stack.scratch_db("fsrc").await;
        let target = stack.scratch_db_with("fcrm", &[Schema::Crm]).await;
        let pipeline = Pipeline::new(Parts {
            db: &source,
            tables: &["users", "user_cim_details"],
            source_url: stack.mysql_url_as("cdc", "cdc", None),
            sim: Some(&sim),
            target_db: Some(&target),
            source_extra: "",
        });
        Rig {
            source,
            target,
            sim,
            pipeline,
        }
    }

    async fn converged(&self, within: Duration) {
        converged(&self.source, &self.target, &self.sim, within).await;
    }
}

/// Waits until HubSpot and the crm target equal the source.
async fn converged(source: &str, target: &str, sim: &PrivateSim, within: Duration) {
    let started = Instant::now();
    if let Err(e) = both_match(source, sim, target, within).await {
        panic!("{e}");
    }
    println!(
        "converged {:.1} s after the writes stopped",
        started.elapsed().as_secs_f64()
    );
}

/// A workload writing in the background until stopped; [`Writer::stop`] returns it.
struct Writer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
    workload: Arc<Mutex<Workload>>,
}

impl Writer {
    /// Steps of `workload` every `pause`, each under the lock, so a test can slip its own
    /// transactions (a big one, a mass update) in between.
    fn start(workload: Workload, pause: Duration) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let workload = Arc::new(Mutex::new(workload));
        let (stop2, workload2) = (stop.clone(), workload.clone());
        let task = tokio::spawn(async move {
            let mut steps = 0;
            while !stop2.load(Ordering::Relaxed) {
                workload2.lock().await.step().await;
                steps += 1;
                tokio::time::sleep(pause).await;
            }
            steps
        });
        Writer {
            stop,
            task,
            workload,
        }
    }

    async fn stop(self) -> Workload {
        self.stop.store(true, Ordering::Relaxed);
        let steps = self.task.await.expect("the workload panicked");
        let workload = Arc::try_unwrap(self.workload)
            .ok()
            .expect("the writer task is done")
            .into_inner();
        println!(
            "workload: {steps} background steps; {:?}; {} users now",
            workload.counts,
            workload.users()
        );
        workload
    }
}

// ---------------------------------------------------------------------------------------------
// What arrived twice
// ---------------------------------------------------------------------------------------------

/// Logs every write the MySQL sink makes to `users` of `target` (inserts and updates, also
/// updates that change nothing) as (user, state). The workload never returns a user to an
/// earlier state (module doc of `workload`), so a state logged twice was applied twice.
async fn install_apply_log(target: &str) {
    exec(
        target,
        "CREATE TABLE applied (user_id BIGINT UNSIGNED NOT NULL, state CHAR(32) NOT NULL)",
    )
    .await;
    let state = "MD5(CONCAT_WS('|', IFNULL(NEW.email, '-'), IFNULL(NEW.full_name, '-'), IFNULL(NEW.user_status, '-'), IFNULL(NEW.is_paid, '-'), IFNULL(NEW.balance, '-'), IFNULL(NEW.birthday, '-'), IFNULL(NEW.signed_up_at, '-')))";
    for event in ["INSERT", "UPDATE"] {
        exec(
            target,
            &format!(
                "CREATE TRIGGER log_{event} AFTER {event} ON users FOR EACH ROW INSERT INTO applied VALUES (NEW.user_id, {state})"
            ),
        )
        .await;
    }
}

/// (writes logged, states written more than once).
async fn double_applies(target: &str) -> (u64, u64) {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(target).as_str())
        .await
        .unwrap();
    let writes: u64 = conn
        .query_first("SELECT COUNT(*) FROM applied")
        .await
        .unwrap()
        .unwrap();
    let twice: u64 = conn
        .query_first("SELECT COUNT(*) - COUNT(DISTINCT user_id, state) FROM applied")
        .await
        .unwrap()
        .unwrap();
    conn.disconnect().await.ok();
    (writes, twice)
}

/// Every message on `topic` (as many as its high watermarks say it holds): (messages,
/// distinct row changes by source position). The difference is what the reader published
/// more than once.
async fn census(brokers: &str, topic: &str) -> (usize, usize) {
    let total = TopicSize::new(brokers, topic).now().await as usize;
    let consumer = group_consumer(brokers, &unique("census"));
    consumer.subscribe(&[topic]).unwrap();
    let mut messages = 0;
    let mut positions = std::collections::HashSet::new();
    // Long idle allowance: a big topic on a busy broker can pause between fetches.
    while messages < total {
        let next = tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await;
        let Ok(next) = next else {
            panic!("reading {topic}: {messages} of {total} messages, then nothing for 60 s");
        };
        let Ok(m) = next else { continue };
        messages += 1;
        if let Some(v) = m
            .payload()
            .and_then(|p| serde_json::from_slice::<Value>(p).ok())
        {
            let s = &v["source"];
            positions.insert((s["file"].to_string(), s["pos"].as_u64(), s["row"].as_u64()));
        }
    }
    (messages, positions.len())
}

/// What one sink did, summed over the "window applied" log lines of every sink process the
/// pipeline ran (`sink`/`run` logs).
#[derive(Debug, Default, Clone, Copy)]
struct Applied {
    /// Messages read into windows that were written and committed (`events`).
    events: u64,
    /// Of those, re-sent changes dropped by their source position (`duplicates`).
    duplicates: u64,
    /// Requests to the target (`calls`).
    calls: u64,
}

impl Applied {
    fn add(&mut self, other: Applied) {
        self.events += other.events;
        self.duplicates += other.duplicates;
        self.calls += other.calls;
    }
}

/// (HubSpot sink, crm sink) over every sink process the pipeline ran.
fn applied(pipeline: &Pipeline) -> (Applied, Applied) {
    let (mut hubspot, mut crm) = (Applied::default(), Applied::default());
    for entry in std::fs::read_dir(&pipeline.dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("sink-") || name.starts_with("run-") {
            let (h, c) = applied_in(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            hubspot.add(h);
            crm.add(c);
        }
    }
    (hubspot, crm)
}

/// (HubSpot sink, crm sink) in one process's log.
fn applied_in(log: &str) -> (Applied, Applied) {
    let (mut hubspot, mut crm) = (Applied::default(), Applied::default());
    for line in plain(log).lines().filter(|l| l.contains("window applied")) {
        let field = |name: &str| -> u64 {
            line.split(&format!(" {name}="))
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let sink = if line.contains("sink=\"hubspot\"") {
            &mut hubspot
        } else {
            &mut crm
        };
        sink.add(Applied {
            events: field("events"),
            duplicates: field("duplicates"),
            calls: field("calls"),
        });
    }
    (hubspot, crm)
}

/// Prints what both sinks read against what the topic holds.
fn report_sinks(pipeline: &Pipeline, messages: usize) -> (Applied, Applied) {
    let (hubspot, crm) = applied(pipeline);
    for (name, a) in [("HubSpot", hubspot), ("crm", crm)] {
        println!(
            "{name} sink: {} messages in logged windows for the {messages} on the topic ({} read again after a kill), {} re-sent changes dropped by position",
            a.events,
            a.events.saturating_sub(messages as u64),
            a.duplicates
        );
    }
    (hubspot, crm)
}

/// Prints what HubSpot received: accepted upsert inputs against the row changes on the
/// topic. Coalescing makes the inputs fewer than the changes; re-sent windows add to them.
async fn report_hubspot(sim: &PrivateSim, changes: usize) {
    let s = sim.stats().await;
    println!(
        "HubSpot: {} upsert inputs accepted ({} created, {} updated), {} archived, {} batch calls, {} faults injected, {} rate limited, for {changes} distinct row changes; {} live contacts",
        s["inputs_accepted"], s["records_created"], s["records_updated"], s["records_archived"],
        s["batch_calls"], s["faults_injected"], s["rate_limited"], sim.contacts().await.len()
    );
}

/// Watches how many messages a topic holds (the sum of its partitions' high watermarks).
struct TopicSize {
    consumer: Arc<BaseConsumer>,
    topic: String,
    /// Learnt at the first call (the reader creates the topic).
    partitions: std::sync::OnceLock<i32>,
}

impl TopicSize {
    fn new(brokers: &str, topic: &str) -> TopicSize {
        let consumer: BaseConsumer = cdc_tests::kafka::client_config(brokers)
            .set("group.id", unique("watermarks"))
            .create()
            .unwrap();
        TopicSize {
            consumer: Arc::new(consumer),
            topic: topic.to_string(),
            partitions: std::sync::OnceLock::new(),
        }
    }

    async fn now(&self) -> i64 {
        let (consumer, topic) = (self.consumer.clone(), self.topic.clone());
        let known = self.partitions.get().copied();
        let (partitions, size) = tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(5);
            let partitions = known.unwrap_or_else(|| {
                consumer
                    .fetch_metadata(Some(&topic), timeout)
                    .ok()
                    .and_then(|m| m.topics().first().map(|t| t.partitions().len() as i32))
                    .unwrap_or(0)
            });
            let size = (0..partitions)
                .filter_map(|p| consumer.fetch_watermarks(&topic, p, timeout).ok())
                .map(|(_, high)| high)
                .sum();
            (partitions, size)
        })
        .await
        .unwrap();
        if partitions > 0 {
            let _ = self.partitions.set(partitions);
        }
        size
    }
}

/// The newest checkpoint of a pipeline's reader, read from the end of its checkpoint topic.
async fn latest_checkpoint(brokers: &str, pipeline: &Pipeline) -> Option<BinlogPosition> {
    let consumer: BaseConsumer = cdc_tests::kafka::client_config(brokers)
        .set("group.id", unique("checkpoint"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let topic = format!("{}.checkpoints", pipeline.name);
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(5);
        let (_, high) = consumer.fetch_watermarks(&topic, 0, timeout).ok()?;
        if high == 0 {
            return None;
        }
        let mut at = TopicPartitionList::new();
        at.add_partition_offset(&topic, 0, Offset::Offset(high - 1))
            .unwrap();
        consumer.assign(&at).unwrap();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
                let cp: Value = serde_json::from_slice(m.payload()?).ok()?;
                return Some(BinlogPosition::new(
                    cp["file"].as_str()?,
                    cp["pos"].as_u64()?,
                ));
            }
        }
        None
    })
    .await
    .unwrap()
}

/// Waits until the reader of `pipeline` checkpointed the stack server's current binlog
/// position: it published (and the broker acknowledged) everything written before, including
/// what it re-sends after a restart.
async fn caught_up(pipeline: &Pipeline) {
    caught_up_on(&Stack::get().brokers, pipeline).await;
}

/// [`caught_up`] for a pipeline on another broker.
async fn caught_up_on(brokers: &str, pipeline: &Pipeline) {
    let stack = Stack::get();
    let mut conn = mysql_async::Conn::from_url(stack.mysql_url.as_str())
        .await
        .unwrap();
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    conn.disconnect().await.ok();
    let now = BinlogPosition::new(row.get::<String, _>(0).unwrap(), row.get(1).unwrap());
    let deadline = Instant::now() + WAIT;
    loop {
        let checkpoint = latest_checkpoint(brokers, pipeline).await;
        if checkpoint.as_ref().is_some_and(|cp| cp >= &now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the reader did not catch up with {now} (checkpoint {checkpoint:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one [`kill_reader_mid_transaction`] did.
struct MidTransactionKill {
    /// Rows of the big transaction.
    rows: i64,
    /// How many of them were on the topic when the reader died.
    published: i64,
}

/// With the background writer paused and the reader caught up (so the topic grows only with
/// what follows), commits a big transaction (`new_users` inserts, their detail rows and
/// updates of them and of 100 others: about three rows per new user) and SIGKILLs the reader
/// once a random share of the first half of its rows is on the topic, so the kill normally
/// lands inside the transaction.
async fn kill_reader_mid_transaction(
    reader: &mut Streamer,
    pipeline: &Pipeline,
    writer: &Writer,
    topic: &TopicSize,
    new_users: usize,
    timing: &mut StdRng,
) -> MidTransactionKill {
    let mut workload = writer.workload.lock().await;
    caught_up(pipeline).await;
    let before = topic.now().await;
    let counted = workload.counts.rows();
    workload.big_transaction(new_users).await;
    let rows = (workload.counts.rows() - counted) as i64;
    // In the first half: the second half is the margin for the reader racing on between the
    // last look at the topic and the kill, on a busy machine.
    let kill_at = before + timing.gen_range(1..rows / 2);
    let deadline = Instant::now() + WAIT;
    while topic.now().await < kill_at {
        assert!(
            Instant::now() < deadline,
            "the reader published too little of a {rows}-row transaction:\n{}",
            reader.log_text()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    reader.kill9();
    let published = topic.now().await - before;
    MidTransactionKill { rows, published }
}

// ---------------------------------------------------------------------------------------------
// Processes by pid
// ---------------------------------------------------------------------------------------------

/// The pid of the live `cdc-streamer COMMAND … --config CONFIG` process, if there is one.
/// (The harness's `Streamer` does not hand out its child's pid.)
fn pid_of(config: &Path, command: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let ours = args.get(1) == Some(&command.as_bytes())
            && args
                .windows(2)
                .any(|w| w[0] == b"--config" && w[1] == config.as_os_str().as_bytes());
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if ours && !zombie {
            return Some(pid);
        }
    }
    None
}

/// Asserts that `cdc-streamer COMMAND` of `pipeline` is still running (did not crash).
fn assert_running(pipeline: &Pipeline, command: &str, process: &Streamer) {
    assert!(
        pid_of(&pipeline.config, command).is_some(),
        "`cdc-streamer {command}` is no longer running:\n{}",
        process.log_text()
    );
}

/// `VmHWM` (peak resident memory) of a process, in kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// 1–3. Crashes
// ---------------------------------------------------------------------------------------------

/// The reader is SIGKILLed again and again while it publishes a transaction of about 850 rows
/// (1,350 in soak mode), under the workload. The sink keeps running, so the re-sent changes
/// are dropped by its position memory: no duplicate reaches HubSpot or MySQL.
#[tokio::test]
async fn reader_killed_mid_transaction_repeatedly_loses_nothing() {
    let plan = Plan::new("reader kill", 0x0fa1_0001);
    let mut timing = plan.timing();
    let rig = Rig::new(&[]).await;
    install_apply_log(&rig.target).await;
    let mut reader = rig.pipeline.start_reader().await;
    let sink = rig.pipeline.start_sink().await;
    let mut workload = Workload::on_stack(&rig.source, plan.seed);
    workload.populate(500).await;
    let writer = Writer::start(workload, Duration::from_millis(20));
    let topic = TopicSize::new(&Stack::get().brokers, &rig.pipeline.topic);
    let kills = plan.size(4, 30);
    // The most the reader may send twice: the part of each big transaction it had published
    // when it died (a checkpoint sits only between transactions, and it was caught up and
    // checkpointed before each one; the background writer waits meanwhile).
    let mut resend_bound = 0;
    let mut inside = 0;
    for _ in 0..kills {
        let new_users = plan.size(300, 500);
        let kill = kill_reader_mid_transaction(
            &mut reader,
            &rig.pipeline,
            &writer,
            &topic,
            new_users,
            &mut timing,
        )
        .await;
        println!(
            "reader killed with {} of the {} rows of a transaction on the topic",
            kill.published, kill.rows
        );
        if kill.published < kill.rows {
            inside += 1;
        }
        resend_bound += kill.published.min(kill.rows) as usize;
        tokio::time::sleep(ms(&mut timing, 0..600)).await;
        reader = rig.pipeline.start_reader().await;
    }
    writer.stop().await;
    assert!(
        inside > 0,
        "no kill landed inside its transaction: the machine is too busy for this test"
    );
    rig.converged(plan.converge_within()).await;
    assert_running(&rig.pipeline, "sink", &sink);

    let (messages, changes) = census(&Stack::get().brokers, &rig.pipeline.topic).await;
    println!(
        "reader killed {kills} times: {messages} messages on the topic for {changes} row changes ({} re-sent, at most {resend_bound} allowed)",
        messages - changes
    );
    assert!(
        messages - changes <= resend_bound,
        "the reader re-sent more than the transactions it was killed in"
    );
    report_hubspot(&rig.sim, changes).await;
    let (hubspot, crm) = report_sinks(&rig.pipeline, messages);
    assert_eq!(
        (hubspot.duplicates as usize, crm.duplicates as usize),
        (messages - changes, messages - changes),
        "every re-sent change is dropped before it reaches HubSpot or MySQL"
    );
    let (writes, twice) = double_applies(&rig.target).await;
    println!("MySQL: {writes} writes to crm.users, {twice} of them a state written before");
    assert_eq!(
        twice, 0,
        "re-sent changes were applied to MySQL again although the sink never restarted"
    );
}

/// The sink is SIGKILLed again and again while it writes windows (the simulator answers a
/// little slowly and mass updates make windows of many batches, so kills land between the
/// batches of a window). MySQL gets every message exactly once; HubSpot gets the windows whose
/// commit did not land again, which is harmless.
#[tokio::test]
async fn sink_killed_mid_batch_repeatedly_converges() {
    let plan = Plan::new("sink kill", 0x0fa1_0002);
    let mut timing = plan.timing();
    let rig = Rig::new(&[]).await;
    install_apply_log(&rig.target).await;
    rig.sim.faults(json!({ "latency_ms": 60 })).await;
    let _reader = rig.pipeline.start_reader().await;
    let mut sink = rig.pipeline.start_sink().await;
    let mut workload = Workload::on_stack(&rig.source, plan.seed);
    workload.populate(plan.size(300, 2000)).await;
    let writer = Writer::start(workload, Duration::from_millis(40));
    let kills = plan.size(4, 30);
    let batch_calls = || async { rig.sim.stats().await["batch_calls"].as_u64().unwrap() };
    let mut calls_at_start = batch_calls().await;
    let (mut cut_short, mut unfinished_batches) = (0, 0);
    for _ in 0..kills {
        sink.wait_for_log("window applied", WAIT).await;
        // A window of every user: a dozen HubSpot batches and a big MySQL transaction. Once
        // its batches are going out, the sink dies after a random share of them.
        let before = batch_calls().await;
        writer.workload.lock().await.mass_update().await;
        let deadline = Instant::now() + WAIT;
        while batch_calls().await < before + 2 {
            assert!(
                Instant::now() < deadline,
                "the sink sent nothing:\n{}",
                sink.log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(ms(&mut timing, 0..600)).await;
        sink.kill9();
        // Batches this process sent beyond those of the windows it finished: it died in the
        // middle of a HubSpot window, which its successor sends again.
        let sent = batch_calls().await - calls_at_start;
        let finished = applied_in(&sink.log_text()).0.calls;
        if sent > finished {
            cut_short += 1;
            unfinished_batches += sent - finished;
        }
        tokio::time::sleep(ms(&mut timing, 0..300)).await;
        calls_at_start = batch_calls().await;
        sink = rig.pipeline.start_sink().await;
    }
    writer.stop().await;
    println!(
        "{cut_short} of {kills} kills cut a HubSpot window short: {unfinished_batches} batch requests of unfinished windows, sent again by the next sink (at most 100 contacts each)"
    );
    rig.sim.faults(json!({ "latency_ms": 0 })).await;
    rig.converged(plan.converge_within()).await;

    let (messages, changes) = census(&Stack::get().brokers, &rig.pipeline.topic).await;
    println!("sink killed {kills} times: {messages} messages, {changes} row changes");
    report_hubspot(&rig.sim, changes).await;
    report_sinks(&rig.pipeline, messages);
    let (writes, twice) = double_applies(&rig.target).await;
    println!("MySQL: {writes} writes to crm.users, {twice} of them a state written before");
    assert_eq!(twice, 0, "a topic message was applied to MySQL twice");
}

/// Reader, sink or both (in turn) are SIGKILLed at random moments while the workload inserts, updates,
/// deletes and mass-updates. Everything converges. When the sink restarts while the reader
/// re-sends, the sink no longer remembers the positions it applied, and applies the re-sent
/// changes again, in order (docs/architecture.md, "De-duplication by source position"): those
/// are counted, not forbidden.
#[tokio::test]
async fn reader_and_sink_killed_at_random_under_a_mixed_workload_converge() {
    let plan = Plan::new("both killed", 0x0fa1_0003);
    let mut timing = plan.timing();
    let rig = Rig::new(&[]).await;
    install_apply_log(&rig.target).await;
    let mut reader = rig.pipeline.start_reader().await;
    let mut sink = rig.pipeline.start_sink().await;
    let mut workload = Workload::on_stack(&rig.source, plan.seed);
    workload.populate(200).await;
    let writer = Writer::start(workload, Duration::from_millis(40));
    let topic = TopicSize::new(&Stack::get().brokers, &rig.pipeline.topic);
    // A restarted sink needs a few seconds to rejoin its group and apply a window, so rounds
    // are dear: 4 in CI.
    let rounds = plan.size(4, 40);
    let mut killed = [0; 3];
    for round in 0..rounds {
        // 0: the reader, 1: the sink, 2: both, in turn. Each victim is killed while it works:
        // the reader in the middle of a big transaction, the sink after it applied a window.
        let victim = round % 3;
        killed[victim] += 1;
        if victim != 0 {
            sink.wait_for_log("window applied", WAIT).await;
        }
        if victim == 1 {
            tokio::time::sleep(ms(&mut timing, 0..800)).await;
        } else {
            kill_reader_mid_transaction(
                &mut reader,
                &rig.pipeline,
                &writer,
                &topic,
                100,
                &mut timing,
            )
            .await;
        }
        if victim != 0 {
            sink.kill9();
        }
        tokio::time::sleep(ms(&mut timing, 0..500)).await;
        if victim != 1 {
            reader = rig.pipeline.start_reader().await;
        }
        if victim != 0 {
            sink = rig.pipeline.start_sink().await;
        }
    }
    writer.stop().await;
    rig.converged(plan.converge_within()).await;

    let (messages, changes) = census(&Stack::get().brokers, &rig.pipeline.topic).await;
    println!(
        "{rounds} rounds: reader killed alone {}×, sink alone {}×, both {}×; {messages} messages for {changes} row changes ({} re-sent)",
        killed[0], killed[1], killed[2], messages - changes
    );
    report_hubspot(&rig.sim, changes).await;
    report_sinks(&rig.pipeline, messages);
    let (writes, twice) = double_applies(&rig.target).await;
    println!("MySQL: {writes} writes to crm.users, {twice} re-applied re-sent changes");
    assert!(
        twice as usize <= messages - changes,
        "more states written twice ({twice}) than changes the reader re-sent"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Dependency faults
// ---------------------------------------------------------------------------------------------

/// HubSpot answers errors, one kind after the other, while the workload writes: a total
/// outage (every request 503), every request 423 Locked, every request 477 with Retry-After.
/// Then it is healthy again: the sink never stopped, nothing was dead-lettered, everything
/// converges.
#[tokio::test]
async fn hubspot_errors_503_423_477_then_recovery_converge() {
    let plan = Plan::new("hubspot errors", 0x0fa1_0004);
    hubspot_faults(
        &plan,
        &[
            (
                "outage: every request 503",
                json!({ "error_rate": 1.0, "error_status": 503 }),
                "503",
            ),
            (
                "every request 423 Locked",
                json!({ "error_rate": 0.0, "locked_rate": 1.0 }),
                "423",
            ),
            (
                "every request 477 with Retry-After: 1",
                json!({ "locked_rate": 0.0, "status_477_rate": 1.0, "retry_after_s": 1 }),
                "477",
            ),
        ],
    )
    .await;
}

/// HubSpot is slow, then throttles, while the workload writes: answers later than the
/// client's timeout (so requests that did land are sent again), slow answers, and 429s
/// because another integration spends the account's rate limit (8 requests a second here).
/// Then it is healthy again: the sink never stopped, nothing was dead-lettered, everything
/// converges.
#[tokio::test]
async fn hubspot_timeouts_slowness_and_429s_then_recovery_converge() {
    let plan = Plan::new("hubspot slow", 0x0fa1_0007);
    hubspot_faults(
        &plan,
        &[
            (
                "answers after 1.5 s, client timeout 1 s",
                json!({ "latency_ms": 1500 }),
                "timeout",
            ),
            ("slow answers (400 ms)", json!({ "latency_ms": 400 }), "-"),
            (
                "429: another app spends the rate limit",
                json!({ "latency_ms": 0 }),
                "429",
            ),
        ],
    )
    .await;
}

/// Runs `phases` of HubSpot faults — (what, `/__sim/faults` body, what the sink must have met
/// before the phase ends) — under the workload, then checks recovery.
async fn hubspot_faults(plan: &Plan, phases: &[(&str, Value, &str)]) {
    let rig = Rig::new(&["--rate-limit", "8", "--rate-window-ms", "1000"]).await;
    // A short request timeout, so that answers after 1.5 s are timeouts.
    let config = std::fs::read_to_string(&rig.pipeline.config).unwrap();
    let config = config.replace(
        "rate_limit_interval_ms = 10000\n",
        "rate_limit_interval_ms = 10000\nrequest_timeout_ms = 1000\n",
    );
    assert!(config.contains("request_timeout_ms = 1000"));
    std::fs::write(&rig.pipeline.config, config).unwrap();
    let reader = rig.pipeline.start_reader().await;
    let sink = rig.pipeline.start_sink().await;
    let mut workload = Workload::on_stack(&rig.source, plan.seed);
    workload.populate(200).await;
    // Calm writes: the backlog each fault builds must drain at 8 requests a second.
    workload.mass_update_chance = 0.0;
    let writer = Writer::start(workload, Duration::from_millis(100));
    // The sink's first window comes only after it joined its group (seconds on tansu): the
    // faults start once HubSpot has seen it.
    let r = eventually(WAIT, || async {
        match rig.sim.stats().await["inputs_accepted"].as_u64() {
            Some(n) if n > 0 => Ok(()),
            _ => Err("no contact written yet".to_string()),
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "the sink never wrote to HubSpot:\n{}",
        sink.log_text()
    );
    let phase = plan.size(Duration::from_secs(3), Duration::from_secs(60));
    // Each phase lasts at least `phase` and until the sink met what it injects (the sink sends
    // one request at a time and backs off between retries, so a short phase may see none).
    for (what, faults, sign) in phases {
        println!("HubSpot fault: {what}");
        rig.sim.faults(faults.clone()).await;
        let before = seen(&rig.sim, &sink, sign).await;
        let started = Instant::now();
        loop {
            if *sign == "429" {
                spend_rate_limit(&rig.sim, Duration::from_millis(500)).await;
            } else {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let now = seen(&rig.sim, &sink, sign).await;
            if started.elapsed() >= phase && (now > before || *sign == "-") {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "the sink met no `{sign}` in {WAIT:?} of `{what}`:\n{}",
                sink.log_text()
            );
        }
        assert_running(&rig.pipeline, "sink", &sink);
        println!("  lasted {:.1} s", started.elapsed().as_secs_f64());
    }
    rig.sim
        .faults(json!({ "error_rate": 0.0, "locked_rate": 0.0, "status_477_rate": 0.0, "latency_ms": 0 }))
        .await;
    writer.stop().await;
    rig.converged(plan.converge_within()).await;
    assert_running(&rig.pipeline, "sink", &sink);
    assert_running(&rig.pipeline, "reader", &reader);
    let letters = rig.pipeline.dead_letters(1, Duration::from_secs(3)).await;
    assert!(
        letters.is_empty(),
        "transient failures never dead-letter: {letters:#?}"
    );
    report_hubspot(&rig.sim, 0).await;
}

/// How often the sink met `sign` so far: a status of its batch requests, `timeout`, or
/// nothing to wait for (`-`).
async fn seen(sim: &PrivateSim, sink: &Streamer, sign: &str) -> u64 {
    if sign == "-" {
        0
    } else if sign == "timeout" {
        plain(&sink.log_text()).matches("timed out").count() as u64
    } else {
        sink_answers(sim, sign).await
    }
}

/// How many of the sink's batch requests the simulator answered with `status`.
async fn sink_answers(sim: &PrivateSim, status: &str) -> u64 {
    let stats = sim.stats().await;
    stats["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.starts_with("POST batch/"))
        .filter_map(|(_, by_status)| by_status[status].as_u64())
        .sum()
}

/// Sends API requests with the sink's token as fast as the simulator answers for `how_long`,
/// as another integration of the same HubSpot account would: the sink's share of the rate
/// limit is gone, and it gets 429s.
async fn spend_rate_limit(sim: &PrivateSim, how_long: Duration) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + how_long;
    while Instant::now() < deadline {
        let _ = http
            .get(format!("{}/crm/v3/properties/contacts", sim.url))
            .bearer_auth(&sim.token)
            .send()
            .await;
    }
}

/// A private MariaDB with the stack's binlog settings, a `cdc` user with the streamer's
/// grants, and the app schema in `app`.
fn private_source_args() -> [&'static str; 6] {
    [
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--binlog-row-metadata=FULL",
        "--server-id=7",
        "--default-time-zone=+00:00",
    ]
}

async fn private_source() -> PrivateMariaDb {
    let server = tokio::task::spawn_blocking(|| PrivateMariaDb::start(&private_source_args()))
        .await
        .unwrap();
    let root = server.url();
    for sql in [
        "CREATE DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "CREATE USER 'cdc'@'%' IDENTIFIED BY 'cdc'",
        "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO 'cdc'@'%'",
    ] {
        exec_url(&root, sql).await;
    }
    for statement in sql_statements(&read_sql("app-schema.sql")) {
        exec_url(&format!("{root}/app"), &statement).await;
    }
    server
}

/// The source MariaDB is restarted twice mid-stream, once cleanly and once after a crash
/// (SIGKILL), each time right after a big transaction committed. The reader notices, retries
/// with backoff, resumes at its last transaction boundary by itself and everything converges.
/// The source is a private server, so the shared one is never disturbed.
#[tokio::test]
async fn mariadb_restarted_mid_stream_the_reader_reconnects_by_itself() {
    let plan = Plan::new("mariadb restart", 0x0fa1_0005);
    let mut server = private_source().await;
    let stack = Stack::get();
    let sim = PrivateSim::start(&[]).await;
    let target = stack.scratch_db_with("fcrm", &[Schema::Crm]).await;
    let pipeline = Pipeline::new(Parts {
        db: "app",
        tables: &["users", "user_cim_details"],
        source_url: format!("mysql://cdc:cdc@127.0.0.1:{}", server.port()),
        sim: Some(&sim),
        target_db: Some(&target),
        source_extra: "",
    });
    let source_url = format!("{}/app", server.url());
    let reader = pipeline.start_reader().await;
    let sink = pipeline.start_sink().await;
    let mut workload = Workload::new(&source_url, plan.seed, 1);
    workload.populate(200).await;
    let restarts = plan.size(2, 10);
    for round in 0..restarts {
        workload.run(plan.size(100, 500)).await;
        workload.big_transaction(300).await;
        workload.disconnect().await;
        let crash = round % 2 == 1;
        server = tokio::task::spawn_blocking(move || {
            if crash {
                server.kill_and_restart();
            } else {
                server.restart();
            }
            server
        })
        .await
        .unwrap();
        println!(
            "MariaDB {}",
            if crash {
                "killed and restarted"
            } else {
                "restarted"
            }
        );
        // The next restart must find the reader streaming again, not still in its backoff.
        let deadline = Instant::now() + WAIT;
        while plain(&reader.log_text())
            .matches("binlog stream opened")
            .count()
            < round + 2
        {
            assert!(
                Instant::now() < deadline,
                "the reader did not reconnect:\n{}",
                reader.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    workload.run(plan.size(100, 500)).await;
    println!("workload: {:?}", workload.counts);

    // The convergence check reads the source on the stack's server: compare a copy.
    let copy = stack.scratch_db("fcopy").await;
    copy_app_tables(&source_url, &stack.mysql_url_db(&copy)).await;
    converged(&copy, &target, &sim, plan.converge_within()).await;
    assert_running(&pipeline, "reader", &reader);
    assert_running(&pipeline, "sink", &sink);
    let log = plain(&reader.log_text());
    let reconnects = log.matches("binlog connection lost; reconnecting").count();
    assert!(
        reconnects >= restarts,
        "the reader saw every restart: {log}"
    );
    println!(
        "reader: {reconnects} reconnect attempts, {} streams opened",
        log.matches("binlog stream opened").count()
    );
}

/// A tansu broker of one test, with its own port and SQLite file, that the test may stop.
struct PrivateBroker {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl PrivateBroker {
    async fn start() -> PrivateBroker {
        let dir = Stack::get().dir.join("private").join(unique("tansu"));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut broker = PrivateBroker {
            child: None,
            dir,
            port,
        };
        broker.start_again().await;
        broker
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts tansu on the same port and storage.
    async fn start_again(&mut self) {
        let tools = std::env::var_os("CDC_TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                    .join(".cache/cdc-streamer/tools")
            });
        let bin = tools.join("bin/tansu");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("tansu.log"))
            .unwrap();
        // tansu resolves a sqlite:// URL against its working directory (see up.sh).
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} (deploy/local/install-tools.sh installs it): {e}",
                    bin.display()
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: the broker disappears without a goodbye.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How long the sinks may take to make progress again after the broker came back. An outage
/// longer than the consumers' `session.timeout.ms` (10 s; on a busy machine a shorter one
/// too) makes them rejoin their groups, which took 40–70 s on tansu in the soak run.
const BROKER_RECOVERY: Duration = Duration::from_secs(150);

/// The broker is killed and started again (same storage) while the workload writes: the
/// reader's producer and the sinks' consumers wait and reconnect, no process exits, and
/// everything converges. A private tansu, so the shared broker is never disturbed.
#[tokio::test]
async fn broker_killed_and_restarted_mid_stream_progress_resumes() {
    let plan = Plan::new("broker restart", 0x0fa1_0006);
    let mut timing = plan.timing();
    let mut broker = PrivateBroker::start().await;
    let rig = Rig::new(&[]).await;
    let config = std::fs::read_to_string(&rig.pipeline.config).unwrap();
    let shared = format!("brokers = \"{}\"", Stack::get().brokers);
    assert!(config.contains(&shared));
    std::fs::write(
        &rig.pipeline.config,
        config.replace(&shared, &format!("brokers = \"{}\"", broker.brokers())),
    )
    .unwrap();
    let reader = rig.pipeline.start_reader().await;
    let sink = rig.pipeline.start_sink().await;
    let mut workload = Workload::on_stack(&rig.source, plan.seed);
    workload.populate(200).await;
    let writer = Writer::start(workload, Duration::from_millis(20));
    let outages = plan.size(2, 10);
    // Windows applied so far by each sink: (HubSpot, crm).
    let windows = || {
        let log = plain(&sink.log_text());
        let count = |name: &str| {
            log.lines()
                .filter(|l| l.contains("window applied") && l.contains(name))
                .count()
        };
        (count("sink=\"hubspot\""), count("sink=\"crm\""))
    };
    for _ in 0..outages {
        let applied = windows();
        let deadline = Instant::now() + BROKER_RECOVERY;
        // Kill it while everything works: each sink applied a window since the last outage.
        while windows().0 == applied.0 || windows().1 == applied.1 {
            if Instant::now() > deadline {
                panic!(
                    "no progress in {BROKER_RECOVERY:?} after the broker came back\n{}",
                    rig.pipeline.diagnose(&sink)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let back = Instant::now();
        tokio::time::sleep(ms(&mut timing, 500..2000)).await;
        broker.kill();
        let down = ms(&mut timing, 2000..plan.size(5000, 20000));
        println!(
            "broker killed {:.1} s after the sinks made progress, down for {down:?}",
            back.elapsed().as_secs_f64()
        );
        tokio::time::sleep(down).await;
        broker.start_again().await;
    }
    writer.stop().await;
    // The reader resumed by itself: its checkpoint reaches the end of the binlog.
    let started = Instant::now();
    caught_up_on(&broker.brokers(), &rig.pipeline).await;
    println!(
        "reader caught up {:.1} s after the writes stopped",
        started.elapsed().as_secs_f64()
    );
    // Converged, or the state of every part to tell why not.
    let within = plan.converge_within().max(BROKER_RECOVERY);
    if let Err(e) = both_match(&rig.source, &rig.sim, &rig.target, within).await {
        panic!(
            "not converged after the broker outages: {e}\n{}",
            rig.pipeline.diagnose(&sink)
        );
    }
    assert_running(&rig.pipeline, "reader", &reader);
    assert_running(&rig.pipeline, "sink", &sink);
    let (messages, changes) = census(&broker.brokers(), &rig.pipeline.topic).await;
    println!(
        "{outages} broker outages: {messages} messages for {changes} row changes ({} re-sent)",
        messages - changes
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Bad input
// ---------------------------------------------------------------------------------------------

/// One transaction of 100,000 rows (1,000,000 in soak mode) streams through the reader with
/// bounded memory (it stops reading while `kafka.max_in_flight` messages wait for the broker)
/// and converges in the crm target. HubSpot is left out: at 100 contacts a call and HubSpot's
/// pace that is a quarter of an hour, and the batching is tested in tests/sink.rs.
#[tokio::test]
async fn a_transaction_of_100_000_rows_streams_through() {
    let plan = Plan::new("big transaction", 0);
    let rows: u64 = plan.size(100_000, 1_000_000);
    let stack = Stack::get();
    let source = stack.scratch_db("fbig").await;
    let target = stack.scratch_db_with("fcrm", &[Schema::Crm]).await;
    let pipeline = Pipeline::new(Parts {
        db: &source,
        tables: &["users", "user_cim_details"],
        source_url: stack.mysql_url_as("cdc", "cdc", None),
        sim: None,
        target_db: Some(&target),
        source_extra: "",
    });
    let reader = pipeline.start_reader().await;
    let sink = pipeline.start_sink().await;
    let started = Instant::now();
    // One statement, so one transaction; MariaDB's sequence engine makes the rows.
    exec(
        &source,
        &format!(
            "INSERT INTO users (id, email, first_name, last_name, user_status, is_paid, birthday, signed_up_at, tags, balance)
             SELECT seq, CONCAT('big', seq, '@example.com'), CONCAT('Zoë ', seq), IF(seq % 7 = 0, NULL, '😀'),
                    IF(seq % 10 = 0, 'C', 'A'), seq % 2, DATE('1970-01-01') + INTERVAL (seq % 20000) DAY,
                    TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL (seq % 1000) * 1000 MICROSECOND,
                    CONCAT(seq % 20 + 1), (CAST((seq * 829348951) % 1999999999999 AS SIGNED) - 999999999999) / 100
             FROM seq_1_to_{rows}"
        ),
    )
    .await;
    println!(
        "{rows} rows committed in one transaction in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let reader_pid = pid_of(&pipeline.config, "reader").expect("the reader runs");
    // About 40 s alone; three times that on a busy 2-core machine.
    let within = plan.size(Duration::from_secs(180), Duration::from_secs(1800));
    let r = eventually(within, || async { crm_matches(&source, &target).await }).await;
    assert!(r.is_ok(), "crm did not converge: {}", r.unwrap_err());
    println!(
        "converged {:.1} s after the commit; reader peak RSS (VmHWM) {} kB",
        started.elapsed().as_secs_f64(),
        peak_rss_kb(reader_pid).unwrap_or(0)
    );
    assert_running(&pipeline, "reader", &reader);
    assert_running(&pipeline, "sink", &sink);
}

/// A reader whose checkpoint points into a purged binlog (and `source.snapshot` is not
/// `when_needed`) stops with the position, what is left, and both ways to recover. (With
/// `when_needed` it snapshots by itself: tests/snapshot.rs.)
#[tokio::test]
async fn a_checkpoint_in_a_purged_binlog_stops_the_reader_with_the_recovery() {
    let server = private_source().await;
    let url = format!("{}/app", server.url());
    let pipeline = Pipeline::reader("app", &["users"], &server.url());
    let mut reader = pipeline.start_reader().await;
    Workload::new(&url, 1, 1).populate(10).await;
    let status = reader.terminate(WAIT).await;
    assert!(status.success(), "{}", reader.log_text());
    for sql in [
        "FLUSH BINARY LOGS",
        "UPDATE users SET is_paid = 1 - is_paid",
        "FLUSH BINARY LOGS",
    ] {
        exec_url(&url, sql).await;
    }
    let mut conn = mysql_async::Conn::from_url(url.as_str()).await.unwrap();
    let logs: Vec<String> = conn
        .query_map("SHOW BINARY LOGS", |row: mysql_async::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .await
        .unwrap();
    conn.query_drop(format!("PURGE BINARY LOGS TO '{}'", logs.last().unwrap()))
        .await
        .unwrap();
    conn.disconnect().await.ok();

    let mut reader = pipeline.spawn(&["reader"]);
    let status = reader.wait_exit(WAIT).await;
    let log = reader.log_text();
    assert!(!status.success(), "{log}");
    for needle in [
        "no longer on the server",
        "SHOW BINARY LOGS",
        "cdc-streamer snapshot",
        "cdc-streamer replay --from",
    ] {
        assert!(log.contains(needle), "expected `{needle}` in:\n{log}");
    }
}

/// A sink whose mapping names a target table that does not exist stops at start, naming it.
#[tokio::test]
async fn a_mapping_to_a_missing_target_table_stops_the_sink_naming_it() {
    let stack = Stack::get();
    let source = stack.scratch_db("fsrc").await;
    // The target database exists, its tables do not.
    let target = stack.scratch_db_with("fempty", &[]).await;
    let pipeline = Pipeline::new(Parts {
        db: &source,
        tables: &["users", "user_cim_details"],
        source_url: stack.mysql_url_as("cdc", "cdc", None),
        sim: None,
        target_db: Some(&target),
        source_extra: "",
    });
    let _reader = pipeline.start_reader().await;
    Workload::on_stack(&source, 1).populate(5).await;
    let mut sink = pipeline.spawn(&["sink"]);
    let status = sink.wait_exit(WAIT).await;
    let log = sink.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains(&format!("{target}.users")),
        "the message names the table: {log}"
    );
}

// ---------------------------------------------------------------------------------------------
// Product bugs the workload found
// ---------------------------------------------------------------------------------------------

/// A user who enters the sync filter (status C/G → A) gets a contact with the properties of
/// its `user_cim_details` row too, although that row was written (and its change skipped)
/// while the user was out: the sink reads it from the source when it re-creates the contact.
/// Also while out: a detail row changed, and one was deleted.
#[tokio::test]
async fn a_user_entering_the_sync_filter_gets_its_detail_properties() {
    let rig = Rig::new(&[]).await;
    let _reader = rig.pipeline.start_reader().await;
    let _sink = rig.pipeline.start_sink().await;
    let db = &rig.source;
    // 1: synced, then closed, then active again. 2 and 3: closed from the start, active later.
    exec(db, "INSERT INTO users (id, email, user_status, signed_up_at) VALUES (1, 'one@example.com', 'A', NOW(3)), (2, 'two@example.com', 'C', NOW(3)), (3, 'three@example.com', 'G', NOW(3))").await;
    exec(db, "INSERT INTO user_cim_details (user_id, company, country, tel_area_code, tel) VALUES (1, 'Acme', 'Ísland', '+354', '555'), (2, 'Zoë Ltd', '日本', NULL, '03'), (3, 'Gone GmbH', 'DE', '+49', '1')").await;
    rig.converged(WAIT).await;
    exec(db, "UPDATE users SET user_status = 'C' WHERE id = 1").await;
    rig.converged(WAIT).await;
    // While they are out: 1's details change, 3's are deleted.
    exec(
        db,
        "UPDATE user_cim_details SET company = 'Acme 2 😀', annual_purchase = 3 WHERE user_id = 1",
    )
    .await;
    exec(db, "DELETE FROM user_cim_details WHERE user_id = 3").await;
    // Nothing brings their contacts back meanwhile (1 was known to the sink before it left).
    rig.converged(WAIT).await;
    exec(
        db,
        "UPDATE users SET user_status = 'A' WHERE id IN (1, 2, 3)",
    )
    .await;
    rig.converged(WAIT).await;
    let contacts = rig.sim.contacts().await;
    assert_eq!(contacts[&1]["company"], "Acme 2 😀");
    assert_eq!(contacts[&1]["annual_purchase_range"], "5k-10k USD");
    assert_eq!(contacts[&2]["country"], "日本");
}

/// When a user comes back into the filter the HubSpot sink reads the user's detail rows from
/// the source. A source user without `SELECT` on that table is an error to fix, not an outage:
/// the sink stops and names the grant, rather than retrying the window for ever.
#[tokio::test]
async fn a_refill_the_source_user_may_not_read_stops_the_sink_with_the_grant() {
    let rig = Rig::new(&[]).await;
    let stack = Stack::get();
    let user = unique("norefill");
    exec_url(
        &stack.mysql_url,
        &format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'"),
    )
    .await;
    exec_url(
        &stack.mysql_url,
        &format!("GRANT SELECT ON `{}`.`users` TO '{user}'@'%'", rig.source),
    )
    .await;
    // The sink reads the source as that user; the reader keeps its own.
    let text = std::fs::read_to_string(&rig.pipeline.config).unwrap();
    let restricted = text.replace(
        &stack.mysql_url_as("cdc", "cdc", None),
        &stack.mysql_url_as(&user, "pw", None),
    );
    assert_ne!(restricted, text);
    let config = rig.pipeline.dir.join("sink-restricted.toml");
    std::fs::write(&config, restricted).unwrap();
    let _reader = rig.pipeline.start_reader().await;
    let mut sink = Streamer::spawn_with_env(
        &[
            "sink",
            "--only",
            "hubspot",
            "--config",
            config.to_str().unwrap(),
        ],
        &rig.pipeline.dir.join("sink-restricted.log"),
        &[("HUBSPOT_TOKEN", &rig.pipeline.token)],
    );
    sink.wait_for_log("sink started", WAIT).await;
    let db = &rig.source;
    exec(db, "INSERT INTO users (id, email, user_status, signed_up_at) VALUES (1, 'one@example.com', 'C', NOW(3))").await;
    exec(
        db,
        "INSERT INTO user_cim_details (user_id, company) VALUES (1, 'Acme')",
    )
    .await;
    exec(db, "UPDATE users SET user_status = 'A' WHERE id = 1").await;
    let status = sink.wait_exit(WAIT).await;
    let log = plain(&sink.log_text());
    assert!(!status.success(), "the sink stops:\n{log}");
    assert!(
        log.contains("user_cim_details") && log.contains("grant that user SELECT on them"),
        "{log}"
    );
    assert!(
        rig.sim.contacts().await.is_empty(),
        "nothing written for the window it could not complete"
    );
}
