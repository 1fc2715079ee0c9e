//! Sink-side consumption: a consumer group per sink, offsets committed by
//! the sink only after its batch is applied or dead-lettered.

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::error::BusError;

/// Creates a consumer in `group` subscribed to `topic`. Auto-commit is off:
/// the sink commits explicitly with [`commit_offsets`].
///
/// `instance` turns on static membership (`group.instance.id`): a process
/// restarted after a crash takes its predecessor's place in the group at
/// once, instead of waiting for the dead member to be expired — which some
/// brokers (tansu) never do. Two live processes must never share one.
pub fn subscribe(
    config: &KafkaConfig,
    group: &str,
    topic: &str,
    instance: Option<&str>,
) -> Result<StreamConsumer, BusError> {
    let mut client = config.client_config();
    client
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        // Also the rebalance timeout: how long a rebalance waits for members
        // that died without leaving (SIGKILL). A sink stuck retrying a write
        // longer than this drops out of the group and rejoins; its window is
        // then re-read (at-least-once; the MySQL sink filters by its own
        // stored offsets).
        .set("max.poll.interval.ms", "30000")
        // What librdkafka may hold ahead of the sink is most of a sink's
        // memory during a backlog, the fetch size above all (each response is
        // decompressed and kept while any of its records waits): at 4 MiB the
        // sinks peaked at ~98 MiB in the 100,000-user mass update, at 1 MiB at
        // 57 MiB (docs/benchmarks.md). 1 MiB is still thousands of change
        // events, and a larger record is fetched whole (a fetch returns at
        // least one record). The short backoff refills the small queue at
        // once instead of after librdkafka's default second, which had halved
        // the drain rate.
        .set("fetch.max.bytes", "1048576")
        .set("queued.max.messages.kbytes", "1024")
        .set("fetch.queue.backoff.ms", "20")
        // How long the broker may hold a fetch that has no data yet. The
        // default (500 ms) is most of the latency of a change at a steady
        // trickle: p99 commit → applied went from 1.3 s to 0.7 s with 50 ms
        // (docs/benchmarks.md). At 100 ms an idle sink sends ten fetches a
        // second per broker, which costs nothing worth saving.
        .set("fetch.wait.max.ms", "100");
    // The operator's [kafka.client] settings win over those defaults…
    for (k, v) in &config.client {
        client.set(k, v);
    }
    // …but not over what the delivery guarantee rests on: offsets are
    // committed by the sink, after a window is written, and only for its group.
    client
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    if let Some(id) = instance {
        client.set("group.instance.id", id);
    }
    let consumer: StreamConsumer = client.create()?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// Synchronously commits `next offset` per partition (`(partition, offset)`
/// where offset is the next one to read).
pub fn commit_offsets(
    consumer: &StreamConsumer,
    topic: &str,
    offsets: &[(i32, i64)],
) -> Result<(), BusError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        tpl.add_partition_offset(topic, *p, Offset::Offset(*o))?;
    }
    consumer.commit(&tpl, rdkafka::consumer::CommitMode::Sync)?;
    Ok(())
}
