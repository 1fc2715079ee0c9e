//! One test's pipeline: its own source database, topics, checkpoint key,
//! replica id, and (optionally) sinks writing to a private simulator and a
//! target database. The config is written to a file and the real binary runs
//! it. The sink sections are taken from `deploy/local/cdc-streamer.toml`, so
//! the tests exercise the mapping users run.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::kafka::consume_all;
use crate::sim::PrivateSim;
use crate::stack::{repo_root, unique, Stack};
use crate::streamer::Streamer;

pub const WAIT: Duration = Duration::from_secs(60);

pub struct Pipeline {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub name: String,
    pub topic: String,
    pub dlq_topic: String,
    pub db: String,
    /// Token the sinks send (the private simulator's).
    pub token: String,
}

/// What a pipeline is made of.
pub struct Parts<'a> {
    pub db: &'a str,
    /// Captured tables of `db`.
    pub tables: &'a [&'a str],
    /// MySQL URL of the source.
    pub source_url: String,
    /// Adds `[sinks.hubspot]` pointed at this simulator.
    pub sim: Option<&'a PrivateSim>,
    /// Adds `[sinks.crm]` writing into this database (with the crm schema).
    pub target_db: Option<&'a str>,
    /// Extra TOML appended to `[source]`.
    pub source_extra: &'a str,
}

fn replica_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Distinct per process and per test: replicas with equal ids kick each
    // other off the server.
    10_000 + (std::process::id() % 500) * 100 + NEXT.fetch_add(1, Ordering::Relaxed) % 100
}

impl Pipeline {
    /// A reader-only pipeline.
    pub fn reader(db: &str, tables: &[&str], source_url: &str) -> Pipeline {
        Pipeline::new(Parts {
            db,
            tables,
            source_url: source_url.to_string(),
            sim: None,
            target_db: None,
            source_extra: "",
        })
    }

    pub fn new(parts: Parts<'_>) -> Pipeline {
        let stack = Stack::get();
        let name = unique("pl");
        let dir = stack.dir.join("tests").join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let db = parts.db;
        let topic = format!("{name}.changes");
        let dlq_topic = format!("{name}.dlq");
        let tables = parts
            .tables
            .iter()
            .map(|t| format!("\"{db}.{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut text = format!(
            r#"
[source]
name = "{name}"
url = "{url}"
server_id = {server_id}
tables = [{tables}]
start = "current"
heartbeat_secs = 1
{extra}

[source.keys]
"{db}.users" = "id"
"{db}.user_cim_details" = "user_id"

[kafka]
brokers = "{brokers}"
topic = "{topic}"
partitions = 3
checkpoint_topic = "{name}.checkpoints"
dlq_topic = "{dlq_topic}"
checkpoint_interval_ms = 200
"#,
            url = parts.source_url,
            server_id = replica_id(),
            extra = parts.source_extra,
            brokers = stack.brokers,
        );
        let local =
            std::fs::read_to_string(repo_root().join("deploy/local/cdc-streamer.toml")).unwrap();
        let sinks_at = local
            .find("[sinks.hubspot]")
            .expect("the local config has [sinks.hubspot]");
        let crm_at = local
            .find("[sinks.crm]")
            .expect("the local config has [sinks.crm]");
        let hubspot_part = &local[sinks_at..crm_at];
        let crm_part = &local[crm_at..];
        let retarget = |s: &str| s.replace("\"app.", &format!("\"{db}."));
        let token = parts.sim.map(|s| s.token.clone()).unwrap_or_default();
        if let Some(sim) = parts.sim {
            text.push_str(
                &retarget(hubspot_part)
                    .replace("http://127.0.0.1:8089", &sim.url)
                    .replace(
                        "group = \"cdc-sink-hubspot\"",
                        &format!("group = \"{name}-hubspot\""),
                    ),
            );
        }
        if let Some(target) = parts.target_db {
            let url = stack.mysql_url_db(target);
            text.push_str(
                &retarget(crm_part)
                    .replace("\"crm.", &format!("\"{target}."))
                    .replace(
                        "mysql://cdc:${CDC_MYSQL_PASSWORD:-cdc}@127.0.0.1:3307/crm",
                        &url,
                    )
                    .replace(
                        "group = \"cdc-sink-crm\"",
                        &format!("group = \"{name}-crm\""),
                    ),
            );
        }
        let config = dir.join("cdc-streamer.toml");
        std::fs::write(&config, text).unwrap();
        Pipeline {
            dir,
            config,
            name,
            topic,
            dlq_topic,
            db: db.to_string(),
            token,
        }
    }

    /// Runs `cdc-streamer ARGS --config <this pipeline's config>`.
    pub fn spawn(&self, args: &[&str]) -> Streamer {
        let mut all = args.to_vec();
        let cfg = self.config.to_str().unwrap();
        all.extend_from_slice(&["--config", cfg]);
        static RUN: AtomicU32 = AtomicU32::new(0);
        let n = RUN.fetch_add(1, Ordering::Relaxed);
        let log = self.dir.join(format!(
            "{}-{n}.log",
            args.first().copied().unwrap_or("streamer")
        ));
        Streamer::spawn_with_env(&all, &log, &[("HUBSPOT_TOKEN", &self.token)])
    }

    /// `cdc-streamer status` (the reader's checkpoint, each sink's committed offsets and lag)
    /// and `sink`'s log without the broker's connection noise: what a failure message needs.
    pub fn diagnose(&self, sink: &Streamer) -> String {
        let status = std::process::Command::new(crate::streamer::binary())
            .args(["status", "--config", self.config.to_str().unwrap()])
            .output()
            .unwrap();
        format!(
            "`cdc-streamer status`:\n{}{}\nsink log:\n{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr),
            crate::streamer::plain(&sink.log_text())
                .lines()
                .filter(|l| !l.contains("Connection refused") && !l.contains("brokers are down"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }

    pub async fn start_reader(&self) -> Streamer {
        let mut s = self.spawn(&["reader"]);
        s.wait_for_log("binlog stream opened", WAIT).await;
        s
    }

    pub async fn start_sink(&self) -> Streamer {
        let mut s = self.spawn(&["sink"]);
        s.wait_for_log("sink started", WAIT).await;
        s
    }

    /// The change events on the topic (waits for `n`), as JSON.
    pub async fn events(&self, n: usize) -> Vec<Value> {
        Self::json(
            consume_all(&Stack::get().brokers, &self.topic, n, WAIT).await,
            true,
        )
    }

    /// The dead letters (waits for `n` or a few seconds), as JSON.
    pub async fn dead_letters(&self, n: usize, wait: Duration) -> Vec<Value> {
        Self::json(
            consume_all(&Stack::get().brokers, &self.dlq_topic, n, wait).await,
            false,
        )
    }

    fn json(records: Vec<crate::kafka::Record>, keyed: bool) -> Vec<Value> {
        records
            .into_iter()
            .map(|(key, payload, _, _)| {
                let v: Value =
                    serde_json::from_slice(&payload.expect("payload")).expect("JSON payload");
                if keyed {
                    assert_eq!(
                        key.as_deref(),
                        Some(v["key"].as_str().unwrap().as_bytes()),
                        "message key is the routing key"
                    );
                }
                v
            })
            .collect()
    }
}
