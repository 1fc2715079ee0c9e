//! `cdc-streamer snapshot`: publishes every row of the captured tables as
//! `op = "r"` events, then points the reader's checkpoint at the snapshot's
//! binlog position so that the reader streams every change made since.
//!
//! The order of writes is what makes it safe to kill at any moment:
//! 1. rows are published through the same bounded [`Publisher`] as the
//!    reader's changes;
//! 2. the progress record (`<source>#snapshot` in the checkpoint topic) is
//!    written only once every row before it is acknowledged, so a rerun
//!    resumes after the last chunk the broker has, never after a lost one;
//! 3. at the end, the reader's checkpoint is set to the snapshot position,
//!    and only then is the record marked complete.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tokio::sync::mpsc;
use tracing::{info, warn};

use cdc_bus_kafka::{admin, CheckpointStore, Publisher};
use cdc_core::{BinlogPosition, Checkpoint};
use cdc_source_mysql::reader::now_ms;
use cdc_source_mysql::snapshot::{
    decide, state_key, ChunkDone, Request, SnapshotReader, SnapshotState, Start, DEFAULT_CHUNK_SIZE,
};
use cdc_source_mysql::{preflight, SourceItem};

use crate::config::AppConfig;
use crate::shutdown::Shutdown;

/// Rows between the table read and the producer (same as the reader's).
const CHANNEL_CAPACITY: usize = 1024;

#[derive(clap::Args)]
pub struct SnapshotArgs {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
    /// Only these tables (`db.table`, comma separated); default: all of
    /// `source.tables`.
    #[arg(long, value_delimiter = ',')]
    pub tables: Option<Vec<String>>,
    /// Rows per chunk: one keyset query, and one progress record, each.
    #[arg(long, default_value_t = DEFAULT_CHUNK_SIZE)]
    pub chunk_size: usize,
    /// Drop an unfinished snapshot and start a new one instead of resuming it.
    #[arg(long)]
    pub restart: bool,
    /// Seconds between progress log lines when stderr is not a terminal.
    #[arg(long, default_value_t = 5)]
    pub progress_secs: u64,
}

/// What a snapshot run is asked to do.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// `db.table` subset of `source.tables`; `None` = all of them.
    pub tables: Option<Vec<String>>,
    pub chunk_size: usize,
    pub restart: bool,
    /// Between progress log lines (when there is no progress bar).
    pub progress_every: Duration,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            tables: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            restart: false,
            progress_every: Duration::from_secs(5),
        }
    }
}

/// What a finished snapshot did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub position: BinlogPosition,
    /// Rows in the snapshot (earlier, resumed runs included).
    pub rows: u64,
    pub tables: usize,
}

pub async fn run(args: SnapshotArgs) -> Result<()> {
    let config = AppConfig::load(&args.config)?;
    super::logging::init(&config.log);
    let opts = SnapshotOptions {
        tables: args.tables,
        chunk_size: args.chunk_size,
        restart: args.restart,
        progress_every: Duration::from_secs(args.progress_secs.max(1)),
    };
    let summary = snapshot(&config, &opts, Shutdown::install()).await?;
    println!(
        "snapshot complete: {} rows from {} tables at {}",
        summary.rows, summary.tables, summary.position
    );
    Ok(())
}

/// Runs (or resumes) a snapshot to completion and returns its position, at
/// which the reader's checkpoint now stands. For the reader's
/// `source.snapshot` modes.
pub async fn run_snapshot(
    config: &AppConfig,
    opts: &SnapshotOptions,
    shutdown: Shutdown,
) -> Result<BinlogPosition> {
    Ok(snapshot(config, opts, shutdown).await?.position)
}

async fn snapshot(
    config: &AppConfig,
    opts: &SnapshotOptions,
    shutdown: Shutdown,
) -> Result<Summary> {
    let source = &config.source;
    let tables = selected_tables(config, opts.tables.as_deref())?;
    let server = preflight::check(source).await?;
    for w in &server.warnings {
        warn!("{w}");
    }
    let kafka = &config.kafka;
    admin::ensure_topic(kafka, &kafka.topic, kafka.partitions, false)
        .await
        .with_context(|| format!("preparing topic {}", kafka.topic))?;
    let store = CheckpointStore::open(kafka).await?;
    let key = state_key(&source.name);

    let mut reader = SnapshotReader::open(source, &server, opts.chunk_size).await?;
    let previous: Option<SnapshotState> = store
        .load_state(&key)
        .await
        .context("reading the snapshot progress record")?;
    let binlogs = reader.binary_logs().await?;
    let request = Request {
        source: &source.name,
        server_id: server.server_id,
        tables: &tables,
        restart: opts.restart,
        binlogs: &binlogs,
    };
    let state = match decide(previous, &request) {
        Start::Resume(mut state) => {
            reader.refresh(&mut state).await?;
            info!(
                "resuming snapshot taken at {}: {} of {} tables left, {} rows already read",
                state.position,
                state.remaining(),
                state.tables.len(),
                state.rows()
            );
            *state
        }
        Start::Fresh(why) => {
            let mut state = reader.plan(server.server_id, &tables).await?;
            info!(
                position = %state.position,
                gtid = ?state.gtid,
                reason = %why,
                "starting a new snapshot of {} tables (about {} rows)",
                state.tables.len(),
                state.estimate()
            );
            // Recorded before the first row: a crash now resumes at this
            // position instead of starting at a later one.
            save(&store, &key, &mut state).await?;
            state
        }
    };

    let state = publish(config, &store, &key, reader, state, opts, shutdown).await?;
    finish(config, &store, &key, server.server_id, state, &tables).await
}

/// `--tables`, checked against `source.tables`, in config order.
fn selected_tables(config: &AppConfig, only: Option<&[String]>) -> Result<Vec<String>> {
    let all = &config.source.tables;
    if let Some(only) = only {
        for t in only {
            if !all.contains(t) {
                bail!("--tables: `{t}` is not in source.tables");
            }
        }
    }
    Ok(all
        .iter()
        .filter(|t| only.is_none_or(|o| o.contains(t)))
        .cloned()
        .collect())
}

/// Drives the table read into the publisher and stores progress as the
/// broker acknowledges it. Returns the state with every table read.
async fn publish(
    config: &AppConfig,
    store: &CheckpointStore,
    key: &str,
    reader: SnapshotReader,
    state: SnapshotState,
    opts: &SnapshotOptions,
    mut shutdown: Shutdown,
) -> Result<SnapshotState> {
    let (tx, mut rows) = mpsc::channel(CHANNEL_CAPACITY);
    let (progress_tx, mut progress) = mpsc::channel::<ChunkDone>(64);
    let task = tokio::spawn(reader.run(state.clone(), tx, progress_tx));
    let mut publisher = Publisher::new(&config.kafka, &config.kafka.topic)?;
    let mut report = Reporter::new(&state, opts.progress_every);
    // Progress records waiting for their rows' acknowledgements, oldest first.
    let mut pending: VecDeque<ChunkDone> = VecDeque::new();
    let mut saved = state.rows();
    let mut current = state.current_table().unwrap_or_default().to_string();
    let (mut rows_open, mut progress_open) = (true, true);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut interrupted = false;
    while rows_open || progress_open {
        // Rows are nearly always ready: they come last, or the rarer
        // branches (and with them the stored progress) would starve.
        tokio::select! {
            biased;
            _ = shutdown.requested() => {
                interrupted = true;
                break;
            }
            done = progress.recv(), if progress_open => match done {
                Some(done) => {
                    current = done.state.current_table().unwrap_or_default().to_string();
                    pending.push_back(done);
                }
                None => progress_open = false,
            },
            _ = tick.tick() => {
                publisher.take_acked()?;
                if let Some(rows) = save_acked(store, key, &publisher, &mut pending).await? {
                    saved = rows;
                }
                report.show(&current, saved);
            }
            item = rows.recv(), if rows_open => match item {
                Some(SourceItem::Change(event)) => {
                    publisher.publish(&event).await?;
                    report.published += 1;
                }
                Some(_) => {}
                None => rows_open = false,
            },
        }
    }
    // Stop the table read (it ends when its channels close), then wait for
    // every acknowledgement and store what they cover.
    drop(rows);
    drop(progress);
    let outcome = task.await;
    publisher.flush().await?;
    if let Some(rows) = save_acked(store, key, &publisher, &mut pending).await? {
        saved = rows;
    }
    publisher.close();
    report.finish();
    let state = match outcome {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => {
            return Err(e).context(format!(
                "snapshot stopped after {saved} rows; run it again to resume"
            ))
        }
        Err(e) => bail!("snapshot task failed: {e}"),
    };
    if interrupted || state.remaining() > 0 {
        bail!("snapshot interrupted after {saved} stored rows; run `cdc-streamer snapshot` again to resume");
    }
    Ok(state)
}

/// Stores the newest progress record whose rows are all acknowledged.
/// Returns its row count when one was stored.
async fn save_acked(
    store: &CheckpointStore,
    key: &str,
    publisher: &Publisher,
    pending: &mut VecDeque<ChunkDone>,
) -> Result<Option<u64>> {
    let mut newest = None;
    while pending
        .front()
        .is_some_and(|p| p.rows_sent <= publisher.acknowledged)
    {
        newest = pending.pop_front();
    }
    match newest {
        Some(done) => {
            let mut state = done.state;
            save(store, key, &mut state).await?;
            Ok(Some(state.rows()))
        }
        None => Ok(None),
    }
}

async fn save(store: &CheckpointStore, key: &str, state: &mut SnapshotState) -> Result<()> {
    state.written_ms = now_ms();
    store
        .save_state(key, state)
        .await
        .context("storing the snapshot progress record")
}

/// Every row is acknowledged: point the reader at the snapshot position,
/// then mark the snapshot complete.
async fn finish(
    config: &AppConfig,
    store: &CheckpointStore,
    key: &str,
    server_id: u32,
    mut state: SnapshotState,
    tables: &[String],
) -> Result<Summary> {
    let name = &config.source.name;
    let existing = store.load(name).await?;
    // A snapshot of every table replaces all history before its position.
    // A partial one must not move an existing checkpoint forward: the
    // other tables' changes before the position would be skipped.
    let whole = tables.len() == config.source.tables.len();
    let keep = match &existing {
        Some(cp) if !whole => cp.position() < state.position,
        _ => false,
    };
    if keep {
        info!(checkpoint = %existing.as_ref().map(|c| c.position().to_string()).unwrap_or_default(), snapshot = %state.position, "partial snapshot: the reader's earlier checkpoint stays");
    } else {
        store
            .save(&Checkpoint {
                source: name.clone(),
                server_id,
                file: state.position.file.clone(),
                pos: state.position.pos,
                gtid: state.gtid.clone(),
                ts_ms: state.started_ms,
                written_ms: now_ms(),
            })
            .await?;
        info!(position = %state.position, "reader checkpoint set to the snapshot position");
    }
    state.complete = true;
    save(store, key, &mut state).await?;
    let summary = Summary {
        position: state.position.clone(),
        rows: state.rows(),
        tables: state.tables.len(),
    };
    info!(
        "snapshot complete: {} rows from {} tables at {}",
        summary.rows, summary.tables, summary.position
    );
    Ok(summary)
}

/// Progress for people: a bar on a terminal, log lines otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
    every: Duration,
    last_line: Instant,
    started: Instant,
    /// Rows read by earlier runs of a resumed snapshot.
    earlier: u64,
    estimate: u64,
    /// Rows published by this run.
    published: u64,
}

impl Reporter {
    fn new(state: &SnapshotState, every: Duration) -> Self {
        let earlier = state.rows();
        let estimate = state.estimate();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(estimate), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg:24} {wide_bar} {human_pos}/{human_len} rows  {rate} rows/s  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", HumanCount(s.per_sec() as u64));
            });
            bar.set_style(style);
            bar.set_position(earlier);
            // The rate and ETA are about this run, not the resumed part.
            bar.reset_eta();
            bar
        });
        Self {
            bar,
            every,
            last_line: Instant::now(),
            started: Instant::now(),
            earlier,
            estimate,
            published: 0,
        }
    }

    fn show(&mut self, table: &str, saved: u64) {
        let done = self.earlier + self.published;
        // TABLE_ROWS is an estimate: never show more than 100 %.
        self.estimate = self.estimate.max(done);
        if let Some(bar) = &self.bar {
            bar.set_length(self.estimate);
            bar.set_position(done);
            bar.set_message(table.to_string());
            return;
        }
        if self.last_line.elapsed() < self.every {
            return;
        }
        self.last_line = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.published as f64 / secs;
        let eta = if rate > 0.0 {
            format!("{:.0}s", (self.estimate - done) as f64 / rate)
        } else {
            "?".into()
        };
        info!(
            table,
            rows = done,
            total = self.estimate,
            saved,
            rows_per_sec = rate as u64,
            eta = %eta,
            "snapshot progress"
        );
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
