//! One figure's pipeline: a config file for the real `cdc-streamer` binary
//! with its own topics, checkpoint key and consumer groups, and the reader
//! and sink processes started from it.
//!
//! The sink sections are cut from `deploy/local/cdc-streamer.toml` (as the
//! integration tests do), so the benchmarks run the mapping, windows and
//! batch sizes users run; only addresses, names and, where a figure says so,
//! the HubSpot rate limit are changed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{ensure, Context, Result};

use cdc_bus_kafka::{CheckpointStore, KafkaConfig};
use cdc_core::{BinlogPosition, Checkpoint};

use crate::procs::{wait_for_log, Proc};
use crate::sim::{Sim, TOKEN};
use crate::stack::Stack;

/// What a pipeline is made of.
pub struct Spec<'a> {
    /// Short name, unique within the run (`latency-1000`).
    pub name: &'a str,
    /// Source database (tables `users` and `user_cim_details`).
    pub db: &'a str,
    /// `[sinks.hubspot]` against this simulator, with this many requests
    /// allowed per 10 s (`rate_limit_requests`; the local config says 100).
    pub hubspot: Option<(&'a Sim, u32)>,
    /// `[sinks.crm]` writing into this database.
    pub target_db: Option<&'a str>,
    /// Extra librdkafka settings (`[kafka.client]`), for experiments.
    pub kafka_client: &'a [(&'a str, &'a str)],
}

pub struct Pipeline {
    pub name: String,
    pub source_name: String,
    pub config: PathBuf,
    pub kafka: KafkaConfig,
    dir: PathBuf,
}

/// Replica ids, distinct per pipeline so two readers never kick each other off.
fn replica_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    7_000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Replaces `from` by `to` in `text`, insisting that `from` is there: a
/// changed local config must fail loudly, not bench something else.
fn replace(text: &str, from: &str, to: &str) -> Result<String> {
    ensure!(
        text.contains(from),
        "deploy/local/cdc-streamer.toml no longer contains {from:?}; update bench/src/pipeline.rs"
    );
    Ok(text.replace(from, to))
}

impl Pipeline {
    pub fn write(stack: &Stack, spec: &Spec<'_>) -> Result<Pipeline> {
        let run = stack
            .run_dir
            .file_name()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let prefix = format!("bench-{run}-{}", spec.name);
        let dir = stack.run_dir.join(spec.name);
        std::fs::create_dir_all(&dir)?;
        let db = spec.db;
        let mut kafka = KafkaConfig::new(&stack.brokers);
        kafka.topic = format!("{prefix}.changes");
        kafka.checkpoint_topic = format!("{prefix}.checkpoints");
        kafka.dlq_topic = format!("{prefix}.dlq");
        // Frequent checkpoints: the reader figure times the checkpoint that
        // passes the end of the load, so their interval is its resolution.
        kafka.checkpoint_interval_ms = 100;
        let mut text = format!(
            r#"# Written by cdc-bench for the figure "{name}".
[source]
name = "{prefix}"
url = "{url}"
server_id = {server_id}
tables = ["{db}.users", "{db}.user_cim_details"]
start = "current"
heartbeat_secs = 1

[source.keys]
"{db}.users" = "id"
"{db}.user_cim_details" = "user_id"

[kafka]
brokers = "{brokers}"
topic = "{topic}"
checkpoint_topic = "{checkpoints}"
dlq_topic = "{dlq}"
checkpoint_interval_ms = {interval}
{client}
[log]
# JSON lines, read by cdc-bench: "binlog stream opened", "sink started",
# "window applied" (info) and the reader's "checkpoint saved" (debug).
level = "info,cdc_streamer::commands::publish=debug"
format = "json"

"#,
            name = spec.name,
            url = stack.mysql_url(None),
            server_id = replica_id(),
            brokers = stack.brokers,
            topic = kafka.topic,
            checkpoints = kafka.checkpoint_topic,
            dlq = kafka.dlq_topic,
            interval = kafka.checkpoint_interval_ms,
            client = if spec.kafka_client.is_empty() {
                String::new()
            } else {
                format!(
                    "client = {{ {} }}\n",
                    spec.kafka_client
                        .iter()
                        .map(|(k, v)| format!("{k:?} = {v:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        for (k, v) in spec.kafka_client {
            kafka.client.insert(k.to_string(), v.to_string());
        }
        let local_path = stack.repo.join("deploy/local/cdc-streamer.toml");
        let local = std::fs::read_to_string(&local_path)
            .with_context(|| format!("reading {}", local_path.display()))?;
        let hubspot_at = local
            .find("[sinks.hubspot]")
            .context("the local config has no [sinks.hubspot]")?;
        let crm_at = local
            .find("[sinks.crm]")
            .context("the local config has no [sinks.crm]")?;
        let (hubspot, crm) = if hubspot_at < crm_at {
            (&local[hubspot_at..crm_at], &local[crm_at..])
        } else {
            (&local[hubspot_at..], &local[crm_at..hubspot_at])
        };
        let retarget = |s: &str| replace(s, "\"app.", &format!("\"{db}."));
        if let Some((sim, limit)) = spec.hubspot {
            let mut s = retarget(hubspot)?;
            s = replace(&s, "http://127.0.0.1:8089", &sim.url)?;
            s = replace(
                &s,
                "group = \"cdc-sink-hubspot\"",
                &format!("group = \"{prefix}-hubspot\""),
            )?;
            s = replace(
                &s,
                "rate_limit_requests = 100\n",
                &format!("rate_limit_requests = {limit}\n"),
            )?;
            text.push_str(&s);
        }
        if let Some(target) = spec.target_db {
            let mut s = retarget(crm)?;
            s = replace(&s, "\"crm.", &format!("\"{target}."))?;
            s = replace(
                &s,
                "mysql://cdc:${CDC_MYSQL_PASSWORD:-cdc}@127.0.0.1:3307/crm",
                &stack.mysql_url(Some(target)),
            )?;
            s = replace(
                &s,
                "group = \"cdc-sink-crm\"",
                &format!("group = \"{prefix}-crm\""),
            )?;
            text.push_str(&s);
        }
        let config = dir.join("cdc-streamer.toml");
        std::fs::write(&config, text)?;
        Ok(Pipeline {
            name: spec.name.to_string(),
            source_name: prefix,
            config,
            kafka,
            dir,
        })
    }

    /// Makes the reader start at `pos` (it resumes from its checkpoint).
    pub async fn seed_checkpoint(&self, pos: &BinlogPosition, server_id: u32) -> Result<()> {
        let store = CheckpointStore::open(&self.kafka).await?;
        store
            .save(&Checkpoint {
                source: self.source_name.clone(),
                server_id,
                file: pos.file.clone(),
                pos: pos.pos,
                gtid: None,
                ts_ms: 0,
                written_ms: crate::procs::now_us() / 1000,
            })
            .await?;
        Ok(())
    }

    fn spawn(
        &self,
        stack: &Stack,
        args: &[&str],
        log: &str,
        preload: Option<&std::path::Path>,
    ) -> Result<Proc> {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let log = format!("{log}-{}", RUN.fetch_add(1, Ordering::Relaxed));
        let bin = stack.binary("cdc-streamer")?;
        let mut all = args.to_vec();
        let cfg = self.config.to_str().context("config path is not UTF-8")?;
        all.extend_from_slice(&["--config", cfg]);
        // CDC_BENCH_PRELOAD: a library preloaded into every cdc-streamer
        // process (allocator experiments by hand).
        let from_env = std::env::var("CDC_BENCH_PRELOAD").unwrap_or_default();
        let preload = preload
            .and_then(|p| p.to_str())
            .unwrap_or(from_env.as_str());
        let mut env = vec![("HUBSPOT_TOKEN", TOKEN)];
        if !preload.is_empty() {
            env.push(("LD_PRELOAD", preload));
        }
        Proc::spawn(
            &format!("{} {log}", self.name),
            &bin,
            &all,
            &env,
            &self.dir.join(format!("{log}.log")),
        )
    }

    /// `cdc-streamer reader`, just spawned (with `preload` as LD_PRELOAD).
    pub fn spawn_reader(&self, stack: &Stack, preload: Option<&std::path::Path>) -> Result<Proc> {
        self.spawn(stack, &["reader"], "reader", preload)
    }

    /// `cdc-streamer reader`, once its binlog stream is open.
    pub async fn start_reader(&self, stack: &Stack) -> Result<Proc> {
        let mut p = self.spawn_reader(stack, None)?;
        wait_for_log(&mut p, "binlog stream opened", Duration::from_secs(60)).await?;
        Ok(p)
    }

    /// `cdc-streamer sink --only NAME`, once it has started.
    pub async fn start_sink(&self, stack: &Stack, only: &str) -> Result<Proc> {
        let mut p = self.spawn(
            stack,
            &["sink", "--only", only],
            &format!("sink-{only}"),
            None,
        )?;
        wait_for_log(&mut p, "sink started", Duration::from_secs(60)).await?;
        Ok(p)
    }
}
