//! `cdc-streamer offsets`: where a sink is in the change topic, and moving it
//! (skip a poison stretch, re-apply from a point in time, start over).
//!
//! A sink's position has up to two records. Every sink commits offsets for
//! its consumer group. A MySQL sink also stores them in the target's
//! checkpoint table, in the transaction that writes the rows; those are
//! authoritative, because the sink skips whatever lies below them, whatever
//! the group says. A reset therefore writes both, and only while no process
//! is in the group: a running sink would overwrite the new offsets with its
//! next commit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::Serialize;

use cdc_bus_kafka::KafkaConfig;
use cdc_sink_mysql::MySqlTarget;

use crate::config::AppConfig;
use crate::sink::config::{SinkConfig, SinkKind};

/// How long one broker request may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long joining the group may take (a rebalance waits for live members
/// to rejoin, a static member that left within its session timeout).
const JOIN_TIMEOUT: Duration = Duration::from_secs(45);

#[derive(clap::Args)]
pub struct OffsetsArgs {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
    /// The sink (`[sinks.<name>]`).
    #[arg(long)]
    pub sink: String,
    /// Move the sink to `earliest`, `latest`, an RFC 3339 time (the first
    /// message at or after it, e.g. `2024-05-01T12:00:00Z`), or
    /// `PARTITION:OFFSET[,…]` (partitions not listed keep their position).
    /// Shows what would change; add `--yes` to apply.
    #[arg(long, value_name = "WHERE")]
    pub reset_to: Option<ResetTo>,
    /// Apply the reset. The sink's processes must be stopped.
    #[arg(long, requires = "reset_to")]
    pub yes: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where `--reset-to` moves a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetTo {
    /// The oldest message still on each partition.
    Earliest,
    /// The end of each partition: skip everything not yet read.
    Latest,
    /// The first message at or after this time (epoch ms).
    Time(i64),
    /// Explicit next offsets per partition.
    Offsets(BTreeMap<i32, i64>),
}

impl FromStr for ResetTo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "earliest" => return Ok(ResetTo::Earliest),
            "latest" => return Ok(ResetTo::Latest),
            _ => {}
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(ResetTo::Time(t.timestamp_millis()));
        }
        let mut offsets = BTreeMap::new();
        for part in s.split(',') {
            let parsed = part.split_once(':').and_then(|(p, o)| {
                Some((p.trim().parse::<i32>().ok()?, o.trim().parse::<i64>().ok()?))
            });
            match parsed {
                Some((p, o)) if p >= 0 && o >= 0 => {
                    offsets.insert(p, o);
                }
                _ => {
                    return Err(format!(
                        "`{s}` is none of: earliest, latest, an RFC 3339 time \
                         (2024-05-01T12:00:00Z), PARTITION:OFFSET[,…] (0:120,1:98)"
                    ))
                }
            }
        }
        Ok(ResetTo::Offsets(offsets))
    }
}

/// One partition of a sink's topic.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionPosition {
    pub partition: i32,
    /// Next offset committed for the consumer group; null when none.
    pub committed: Option<i64>,
    /// Next offset in the MySQL sink's checkpoint table; null when none (and
    /// for HubSpot sinks).
    pub stored: Option<i64>,
    /// Next offset the sink applies: `stored`, else `committed`, else `low`
    /// (a sink without offsets starts at the oldest message).
    pub position: i64,
    /// Oldest offset still on the partition.
    pub low: i64,
    /// End of the partition (high watermark): the offset of the next message.
    pub end: i64,
    /// Messages not yet applied: `end − max(position, low)`, at least 0.
    pub lag: i64,
}

/// Where a sink is.
#[derive(Debug, Clone, Serialize)]
pub struct SinkPositions {
    pub name: String,
    /// `hubspot` or `mysql`.
    pub kind: &'static str,
    pub enabled: bool,
    pub group: String,
    pub topic: String,
    /// Processes in the consumer group now; null when the broker cannot tell
    /// (tansu 0.6 cannot describe groups).
    pub members: Option<usize>,
    /// Why `members` is null.
    pub members_error: Option<String>,
    pub partitions: Vec<PartitionPosition>,
    /// Sum of the partitions' lag.
    pub lag: i64,
    /// What could not be read (the positions shown are then incomplete).
    pub errors: Vec<String>,
}

pub fn kind_name(kind: SinkKind) -> &'static str {
    match kind {
        SinkKind::Hubspot => "hubspot",
        SinkKind::Mysql => "mysql",
    }
}

/// Reads a sink's positions. Never fails: what cannot be read is listed in
/// `errors`.
pub async fn positions(name: &str, sink: &SinkConfig, kafka: &KafkaConfig) -> SinkPositions {
    let group = sink.group(name);
    let topic = kafka.topic.clone();
    let mut out = SinkPositions {
        name: name.to_string(),
        kind: kind_name(sink.kind),
        enabled: sink.enabled,
        group: group.clone(),
        topic: topic.clone(),
        members: None,
        members_error: None,
        partitions: Vec::new(),
        lag: 0,
        errors: Vec::new(),
    };
    let (k, g, t) = (kafka.clone(), group.clone(), topic.clone());
    let broker = tokio::task::spawn_blocking(move || broker_side(&k, &g, &t)).await;
    let stored = match stored_offsets(name, sink, &group, &topic).await {
        Ok(s) => s,
        Err(e) => {
            out.errors.push(format!("checkpoint table: {e:#}"));
            None
        }
    };
    let broker = match broker {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            out.errors.push(format!("{e:#}"));
            return out;
        }
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    match broker.members {
        Ok(n) => out.members = Some(n),
        Err(e) => out.members_error = Some(e),
    }
    if let Some(e) = broker.committed_error {
        out.errors.push(format!("committed offsets: {e}"));
    }
    for (partition, (low, end)) in broker.watermarks {
        let committed = broker.committed.get(&partition).copied();
        let stored = stored.as_ref().and_then(|s| s.get(&partition).copied());
        let position = stored.or(committed).unwrap_or(low);
        if position > end {
            out.errors.push(format!(
                "partition {partition}: position {position} is past the end {end} (was the topic recreated? reset the offsets)"
            ));
        }
        let lag = (end - position.max(low)).max(0);
        out.lag += lag;
        out.partitions.push(PartitionPosition {
            partition,
            committed,
            stored,
            position,
            low,
            end,
            lag,
        });
    }
    out
}

/// What the broker knows about a sink.
struct BrokerSide {
    /// Partition → (low, high) watermarks.
    watermarks: BTreeMap<i32, (i64, i64)>,
    committed: BTreeMap<i32, i64>,
    committed_error: Option<String>,
    members: Result<usize, String>,
}

fn broker_side(kafka: &KafkaConfig, group: &str, topic: &str) -> Result<BrokerSide> {
    let view = GroupView::open(kafka, group, topic)?;
    let partitions = view.partitions()?;
    let mut watermarks = BTreeMap::new();
    for p in &partitions {
        watermarks.insert(*p, view.watermarks(*p)?);
    }
    let (committed, committed_error) = match view.committed(&partitions) {
        Ok(c) => (c, None),
        Err(e) => (BTreeMap::new(), Some(format!("{e:#}"))),
    };
    Ok(BrokerSide {
        watermarks,
        committed,
        committed_error,
        members: view.members().map_err(|e| format!("{e:#}")),
    })
}

/// The offsets a MySQL sink stored in its checkpoint table (`None` for
/// HubSpot sinks). Connecting creates the table when missing, as the sink does.
async fn stored_offsets(
    name: &str,
    sink: &SinkConfig,
    group: &str,
    topic: &str,
) -> Result<Option<BTreeMap<i32, i64>>> {
    let Some(target) = connect_target(name, sink).await? else {
        return Ok(None);
    };
    let offsets = target.offsets(group, topic).await;
    target.close().await;
    Ok(Some(offsets?.into_iter().collect()))
}

async fn connect_target(name: &str, sink: &SinkConfig) -> Result<Option<MySqlTarget>> {
    let (SinkKind::Mysql, Some(t)) = (sink.kind, &sink.target) else {
        return Ok(None);
    };
    let url = cdc_source_mysql::config::expand_env(&t.url)?;
    let target = MySqlTarget::connect(t, &url)
        .await
        .with_context(|| format!("sinks.{name}: connecting to the MySQL target"))?;
    Ok(Some(target))
}

/// Records the partitions the group coordinator assigns on joining.
#[derive(Default)]
struct JoinProbe {
    assigned: std::sync::Mutex<Option<usize>>,
}

impl ClientContext for JoinProbe {}

impl ConsumerContext for JoinProbe {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            *self.assigned.lock().unwrap_or_else(|e| e.into_inner()) = Some(tpl.count());
        }
    }
}

/// A consumer with a sink's group id that never joins the group: it reads
/// the group's offsets and members and commits offsets for it. Blocking.
pub struct GroupView {
    consumer: BaseConsumer,
    group: String,
    topic: String,
}

impl GroupView {
    pub fn open(kafka: &KafkaConfig, group: &str, topic: &str) -> Result<Self> {
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .create()
            .context("creating a Kafka client")?;
        Ok(Self {
            consumer,
            group: group.to_string(),
            topic: topic.to_string(),
        })
    }

    /// The topic's partitions.
    pub fn partitions(&self) -> Result<Vec<i32>> {
        let md = self
            .consumer
            .fetch_metadata(Some(&self.topic), TIMEOUT)
            .with_context(|| format!("reading the metadata of topic {}", self.topic))?;
        let parts: Vec<i32> = md
            .topics()
            .iter()
            .filter(|t| t.name() == self.topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if parts.is_empty() {
            bail!(
                "topic {} does not exist yet (the reader creates it)",
                self.topic
            );
        }
        Ok(parts)
    }

    /// `(low, high)` watermarks of a partition.
    pub fn watermarks(&self, partition: i32) -> Result<(i64, i64)> {
        self.consumer
            .fetch_watermarks(&self.topic, partition, TIMEOUT)
            .with_context(|| format!("reading the watermarks of {}/{partition}", self.topic))
    }

    /// The group's committed next offsets (partitions without one are absent).
    pub fn committed(&self, partitions: &[i32]) -> Result<BTreeMap<i32, i64>> {
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition(&self.topic, *p);
        }
        let got = self
            .consumer
            .committed_offsets(tpl, TIMEOUT)
            .with_context(|| format!("reading the offsets of group {}", self.group))?;
        Ok(got
            .elements_for_topic(&self.topic)
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect())
    }

    /// Members of the group now (consumers that joined it).
    pub fn members(&self) -> Result<usize> {
        let list = self
            .consumer
            .fetch_group_list(Some(&self.group), TIMEOUT)
            .with_context(|| format!("describing group {}", self.group))?;
        Ok(list
            .groups()
            .iter()
            .filter(|g| g.name() == self.group)
            .map(|g| g.members().len())
            .sum())
    }

    /// Whether the group has members besides us, learnt by joining it and
    /// seeing which share of the topic's partitions the coordinator assigns
    /// us: all of them means nobody else is there. For brokers that cannot
    /// describe groups (tansu 0.6). Live members go through a rebalance,
    /// which stalls them for a few seconds.
    pub fn others_by_joining(&self, kafka: &KafkaConfig) -> Result<bool> {
        let partitions = self.partitions()?.len();
        let probe: BaseConsumer<JoinProbe> = kafka
            .client_config()
            .set("group.id", &self.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .create_with_context(JoinProbe::default())
            .context("creating a Kafka client")?;
        probe.subscribe(&[&self.topic])?;
        let deadline = std::time::Instant::now() + JOIN_TIMEOUT;
        while std::time::Instant::now() < deadline {
            // Drives the join; messages it may return are not committed.
            let _ = probe.poll(Duration::from_millis(200));
            let assigned = *probe
                .context()
                .assigned
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(n) = assigned {
                probe.unsubscribe();
                return Ok(n < partitions);
            }
        }
        bail!(
            "joining group {} gave no partition assignment within {} s",
            self.group,
            JOIN_TIMEOUT.as_secs()
        )
    }

    /// Per partition, the offset of the first message at or after `ts_ms`;
    /// `None` when there is none (the partition's end applies).
    pub fn offsets_for_time(
        &self,
        partitions: &[i32],
        ts_ms: i64,
    ) -> Result<BTreeMap<i32, Option<i64>>> {
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition_offset(&self.topic, *p, Offset::Offset(ts_ms))?;
        }
        let got = self
            .consumer
            .offsets_for_times(tpl, TIMEOUT)
            .with_context(|| format!("looking up offsets by time in {}", self.topic))?;
        let mut out = BTreeMap::new();
        for e in got.elements_for_topic(&self.topic) {
            if let Err(err) = e.error() {
                bail!(
                    "looking up offsets by time in {}/{}: {err}",
                    self.topic,
                    e.partition()
                );
            }
            out.insert(
                e.partition(),
                match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                },
            );
        }
        Ok(out)
    }

    /// Commits `offsets` (partition → next offset) for the group.
    pub fn commit(&self, offsets: &BTreeMap<i32, i64>) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for (p, o) in offsets {
            tpl.add_partition_offset(&self.topic, *p, Offset::Offset(*o))?;
        }
        self.consumer.assign(&tpl)?;
        let r = self.consumer.commit(&tpl, CommitMode::Sync);
        let _ = self.consumer.unassign();
        r.with_context(|| format!("committing offsets for group {}", self.group))
    }
}

pub async fn run(args: OffsetsArgs) -> Result<()> {
    // No log output: the command prints what it finds and does, and errors
    // come back as its result.
    let config = AppConfig::load(&args.config)?;
    let sink = config.sinks.get(&args.sink).with_context(|| {
        format!(
            "no [sinks.{}] in the config (sinks: {})",
            args.sink,
            config.sinks.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    let now = positions(&args.sink, sink, &config.kafka).await;
    let Some(reset) = &args.reset_to else {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&now)?);
        } else {
            print_positions(&now);
        }
        return fail_on_errors(&now);
    };
    // A reset computed from half-read positions could undo more than asked.
    if !now.errors.is_empty() {
        bail!(
            "cannot read the positions of sink {}: {}",
            args.sink,
            now.errors.join("; ")
        );
    }
    if !args.json {
        println!(
            "sink {} ({}, group {}, topic {}): reset to {}",
            now.name,
            now.kind,
            now.group,
            now.topic,
            describe_reset(reset)
        );
    }
    let targets = new_offsets(reset, &now, &config.kafka, args.json).await?;
    let changes: Vec<Change> = now
        .partitions
        .iter()
        .filter_map(|p| {
            targets.get(&p.partition).map(|to| Change {
                partition: p.partition,
                from: (p.stored.is_some() || p.committed.is_some()).then_some(p.position),
                to: *to,
            })
        })
        .collect();
    if !args.json {
        for c in &changes {
            let from = c.from.map_or("none".to_string(), |o| o.to_string());
            println!("  partition {}: {from} -> {}", c.partition, c.to);
        }
    }
    if args.yes {
        apply(&args.sink, sink, &config.kafka, &now, &targets, args.json).await?;
    }
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            sink: &'a SinkPositions,
            reset: &'a [Change],
            applied: bool,
        }
        let out = Out {
            sink: &now,
            reset: &changes,
            applied: args.yes,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if args.yes {
        println!("offsets reset; start the sink again");
    } else {
        println!("dry run, nothing changed: add --yes to apply (stop the sink's processes first)");
    }
    Ok(())
}

/// One partition's move.
#[derive(Debug, Serialize)]
struct Change {
    partition: i32,
    /// The position before (null: the sink has no offsets there).
    from: Option<i64>,
    to: i64,
}

fn describe_reset(reset: &ResetTo) -> String {
    match reset {
        ResetTo::Earliest => "earliest".into(),
        ResetTo::Latest => "latest".into(),
        ResetTo::Time(ms) => format!(
            "the first message at or after {}",
            super::status::rfc3339(*ms)
        ),
        ResetTo::Offsets(_) => "the given offsets".into(),
    }
}

/// Progress and notes of a reset: on stdout, or on stderr when stdout is
/// the JSON document.
fn note(json: bool, message: impl std::fmt::Display) {
    if json {
        eprintln!("{message}");
    } else {
        println!("{message}");
    }
}

/// The new next offset per partition (only the partitions that move).
async fn new_offsets(
    reset: &ResetTo,
    now: &SinkPositions,
    kafka: &KafkaConfig,
    json: bool,
) -> Result<BTreeMap<i32, i64>> {
    let parts = &now.partitions;
    Ok(match reset {
        ResetTo::Earliest => parts.iter().map(|p| (p.partition, p.low)).collect(),
        ResetTo::Latest => parts.iter().map(|p| (p.partition, p.end)).collect(),
        ResetTo::Time(ms) => {
            let ranges: Vec<(i32, i64, i64)> =
                parts.iter().map(|p| (p.partition, p.low, p.end)).collect();
            let (k, g, t, ms) = (kafka.clone(), now.group.clone(), now.topic.clone(), *ms);
            let (found, searched) =
                tokio::task::spawn_blocking(move || offsets_at_time(&k, &g, &t, &ranges, ms))
                    .await??;
            if searched {
                note(
                    json,
                    "the broker's lookup by time did not match the messages' timestamps (tansu 0.6 ignores the time); found the offsets by reading messages instead",
                );
            }
            found
        }
        ResetTo::Offsets(wanted) => {
            for (partition, offset) in wanted {
                let Some(p) = parts.iter().find(|p| p.partition == *partition) else {
                    bail!(
                        "topic {} has no partition {partition} (partitions 0..{})",
                        now.topic,
                        parts.len()
                    );
                };
                if *offset < p.low || *offset > p.end {
                    bail!(
                        "offset {offset} is outside partition {partition}'s range {}..={}",
                        p.low,
                        p.end
                    );
                }
            }
            wanted.clone()
        }
    })
}

/// Per partition (`(partition, low, end)`), the first offset whose message
/// is at or after `ts_ms`, or `end` when there is none; and whether the
/// broker's answer had to be replaced. The broker is asked first (`ListOffsets`
/// by time), and its answer checked against the messages on both sides of
/// it; where it does not hold, the offset is found by a binary search over
/// message timestamps (timestamps of one partition rise with its offsets, the
/// reader being its only producer).
fn offsets_at_time(
    kafka: &KafkaConfig,
    group: &str,
    topic: &str,
    ranges: &[(i32, i64, i64)],
    ts_ms: i64,
) -> Result<(BTreeMap<i32, i64>, bool)> {
    let ids: Vec<i32> = ranges.iter().map(|r| r.0).collect();
    let answered = GroupView::open(kafka, group, topic)?.offsets_for_time(&ids, ts_ms)?;
    let peek = Peek::open(kafka, topic)?;
    let mut out = BTreeMap::new();
    let mut searched = false;
    for &(partition, low, end) in ranges {
        let at = |o: i64| peek.timestamp(partition, o);
        let first_at_or_after = |o: i64| -> Result<bool> {
            Ok((o == end || at(o)? >= ts_ms) && (o == low || at(o - 1)? < ts_ms))
        };
        let offset = match answered.get(&partition).copied().flatten() {
            None if first_at_or_after(end)? => end,
            Some(o) if (low..=end).contains(&o) && first_at_or_after(o)? => o,
            _ => {
                searched = true;
                let (mut lo, mut hi) = (low, end);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if at(mid)? >= ts_ms {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            }
        };
        out.insert(partition, offset);
    }
    Ok((out, searched))
}

/// Reads single messages by offset, outside any group.
struct Peek {
    consumer: BaseConsumer,
    topic: String,
}

impl Peek {
    fn open(kafka: &KafkaConfig, topic: &str) -> Result<Self> {
        let consumer: BaseConsumer = kafka
            .client_config()
            .set("group.id", "cdc-streamer-offsets")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .context("creating a Kafka client")?;
        Ok(Self {
            consumer,
            topic: topic.to_string(),
        })
    }

    /// The timestamp (epoch ms) of the message at `offset`.
    fn timestamp(&self, partition: i32, offset: i64) -> Result<i64> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, partition, Offset::Offset(offset))?;
        self.consumer.assign(&tpl)?;
        let deadline = std::time::Instant::now() + TIMEOUT;
        while std::time::Instant::now() < deadline {
            match self.consumer.poll(Duration::from_millis(200)) {
                // Messages of an earlier assignment may still arrive: only
                // the one asked for counts.
                Some(Ok(m)) if m.partition() == partition && m.offset() == offset => {
                    return m.timestamp().to_millis().with_context(|| {
                        format!(
                            "message {}/{partition}@{offset} has no timestamp",
                            self.topic
                        )
                    });
                }
                Some(Err(e)) => return Err(e.into()),
                _ => {}
            }
        }
        bail!(
            "reading message {}/{partition}@{offset} timed out",
            self.topic
        )
    }
}

/// Writes the new offsets: the group's first, then the checkpoint table (the
/// one a MySQL sink goes by), so a failure half-way leaves the sink where the
/// table says, and running the command again completes it.
async fn apply(
    name: &str,
    sink: &SinkConfig,
    kafka: &KafkaConfig,
    now: &SinkPositions,
    targets: &BTreeMap<i32, i64>,
    json: bool,
) -> Result<()> {
    let (k, g, t, offsets) = (
        kafka.clone(),
        now.group.clone(),
        now.topic.clone(),
        targets.clone(),
    );
    let committed = tokio::task::spawn_blocking(move || -> Result<()> {
        let view = GroupView::open(&k, &g, &t)?;
        let live = match view.members() {
            Ok(0) => None,
            Ok(n) => Some(format!("{n} live member(s)")),
            Err(e) => {
                // tansu 0.6 cannot describe groups: ask the coordinator by
                // joining the group instead.
                note(json, format!(
                    "the broker cannot describe group {g} ({e:#}); checking for live members by joining it briefly"
                ));
                view.others_by_joining(&k)?
                    .then(|| "live members (it shares the partitions with us)".to_string())
            }
        };
        if let Some(live) = live {
            bail!(
                "group {g} has {live}: stop every `cdc-streamer sink` (or `run`) process of this sink first, then run this again. A running sink would overwrite the new offsets with its next commit; a sink stopped just now may stay a member until its session times out (10 s)"
            );
        }
        view.commit(&offsets)
    })
    .await?;
    committed?;
    note(json, format!("committed for group {}", now.group));
    if let Some(target) = connect_target(name, sink).await? {
        let pairs: Vec<(i32, i64)> = targets.iter().map(|(p, o)| (*p, *o)).collect();
        let r = target.set_offsets(&now.group, &now.topic, &pairs).await;
        target.close().await;
        r.context("writing the offsets to the checkpoint table")?;
        let table = sink
            .target
            .as_ref()
            .map(|t| t.checkpoint_table.as_str())
            .unwrap_or_default();
        note(
            json,
            format!("stored in the target's checkpoint table {table}"),
        );
    }
    Ok(())
}

/// Prints a sink's positions as a table.
pub fn print_positions(s: &SinkPositions) {
    let members = match (s.members, &s.members_error) {
        (Some(n), _) => format!("{n} member(s)"),
        (None, Some(_)) => "members unknown: the broker cannot describe groups".into(),
        (None, None) => "members unknown".into(),
    };
    let disabled = if s.enabled { "" } else { ", disabled" };
    println!(
        "sink {} ({}{disabled}, group {}, topic {}, {members})",
        s.name, s.kind, s.group, s.topic
    );
    if !s.partitions.is_empty() {
        let dash = |o: Option<i64>| o.map_or("-".to_string(), |o| o.to_string());
        println!(
            "  {:>9} {:>12} {:>12} {:>12} {:>12} {:>10}",
            "partition", "committed", "stored", "low", "end", "lag"
        );
        for p in &s.partitions {
            println!(
                "  {:>9} {:>12} {:>12} {:>12} {:>12} {:>10}",
                p.partition,
                dash(p.committed),
                if s.kind == "mysql" {
                    dash(p.stored)
                } else {
                    "n/a".into()
                },
                p.low,
                p.end,
                p.lag
            );
        }
        println!("  lag {} message(s)", s.lag);
    }
    for e in &s.errors {
        println!("  error: {e}");
    }
}

fn fail_on_errors(s: &SinkPositions) -> Result<()> {
    if s.partitions.is_empty() && !s.errors.is_empty() {
        bail!("cannot read the positions of sink {}", s.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_targets_parse() {
        assert_eq!("earliest".parse::<ResetTo>(), Ok(ResetTo::Earliest));
        assert_eq!("latest".parse::<ResetTo>(), Ok(ResetTo::Latest));
        assert_eq!(
            "2024-05-01T12:00:00Z".parse::<ResetTo>(),
            Ok(ResetTo::Time(1_714_564_800_000))
        );
        assert_eq!(
            "2024-05-01T14:00:00+02:00".parse::<ResetTo>(),
            Ok(ResetTo::Time(1_714_564_800_000))
        );
        assert_eq!(
            "0:120, 2:7".parse::<ResetTo>(),
            Ok(ResetTo::Offsets(BTreeMap::from([(0, 120), (2, 7)])))
        );
        for bad in ["", "yesterday", "0:", ":5", "0:-1", "a:b", "2024-05-01"] {
            assert!(bad.parse::<ResetTo>().is_err(), "{bad}");
        }
    }
}
