//! The operator commands against the real parts, through the real binary:
//! `check` (MariaDB, the broker, the shared HubSpot simulator of the stack
//! and a MySQL target), `status --json` after a reader ran, and `offsets
//! --reset-to` for a MySQL sink (the consumer group and the checkpoint
//! table, refused while the sink runs). Each test has its own databases,
//! topics and groups.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cdc_tests::pipeline::{Parts, Pipeline, WAIT};
use cdc_tests::sim::eventually;
use cdc_tests::stack::{repo_root, Schema};
use cdc_tests::streamer::Streamer;
use cdc_tests::Stack;
use mysql_async::prelude::*;
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

/// A pipeline with a source database and a MySQL sink `crm` writing into a
/// target database; with `hubspot`, also the sink `hubspot` pointed at the
/// stack's shared simulator (whose demo properties up.sh created).
async fn pipeline(source_url: &str, hubspot: bool) -> (Pipeline, String, String) {
    let stack = Stack::get();
    let source = stack.scratch_db("ops_src").await;
    let target = stack.scratch_db_with("ops_crm", &[Schema::Crm]).await;
    let mut p = Pipeline::new(Parts {
        db: &source,
        tables: &["users", "user_cim_details"],
        source_url: source_url.to_string(),
        sim: None,
        target_db: Some(&target),
        source_extra: "",
    });
    if hubspot {
        let local =
            std::fs::read_to_string(repo_root().join("deploy/local/cdc-streamer.toml")).unwrap();
        let section =
            &local[local.find("[sinks.hubspot]").unwrap()..local.find("[sinks.crm]").unwrap()];
        let section = section
            .replace("\"app.", &format!("\"{source}."))
            .replace("http://127.0.0.1:8089", &stack.sim_url)
            .replace(
                "group = \"cdc-sink-hubspot\"",
                &format!("group = \"{}-hubspot\"", p.name),
            );
        let mut text = std::fs::read_to_string(&p.config).unwrap();
        text.push_str(&section);
        std::fs::write(&p.config, text).unwrap();
        p.token = stack.sim_token.clone();
    }
    (p, source, target)
}

fn cdc_url() -> String {
    Stack::get().mysql_url_as("cdc", "cdc", None)
}

/// Runs `cdc-streamer ARGS --config <p's config>` to its end; returns
/// whether it succeeded and its output (stdout and stderr).
async fn run(p: &Pipeline, args: &[&str]) -> (bool, String) {
    static RUN: AtomicU32 = AtomicU32::new(0);
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let mut all = args.to_vec();
    all.extend_from_slice(&["--config", p.config.to_str().unwrap()]);
    let log = p.dir.join(format!("{}-{n}.log", args[0]));
    let mut s = Streamer::spawn_with_env(&all, &log, &[("HUBSPOT_TOKEN", &p.token)]);
    let status = s.wait_exit(WAIT).await;
    (status.success(), s.log_text())
}

async fn status_json(p: &Pipeline) -> Value {
    let (ok, out) = run(p, &["status", "--json"]).await;
    assert!(ok, "status failed:\n{out}");
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("status --json printed no JSON ({e}):\n{out}"))
}

async fn exec(db: &str, sql: &str) {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(db).as_str())
        .await
        .unwrap();
    conn.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.disconnect().await.ok();
}

async fn insert_users(db: &str, ids: std::ops::Range<u64>) {
    let rows: Vec<String> = ids
        .map(|id| format!("(NOW(3), {id}, 'u{id}@example.com', 'U{id}')"))
        .collect();
    exec(
        db,
        &format!(
            "INSERT INTO users (signed_up_at, id, email, first_name) VALUES {}",
            rows.join(",")
        ),
    )
    .await;
}

/// Runs `status --json` until `done` holds for it; returns that status.
async fn status_until(p: &Pipeline, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = status_json(p).await;
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status never got there; last:\n{s:#}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The lines of `out` that start with `prefix`.
fn lines<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[tokio::test]
async fn check_passes_on_a_good_config() {
    let (p, _, _) = pipeline(&cdc_url(), true).await;
    let (ok, out) = run(&p, &["check"]).await;
    assert!(ok, "check failed:\n{out}");
    assert!(!out.contains("FAIL"), "{out}");
    let mysql = lines(&out, "ok   mysql: connected to ");
    assert!(
        mysql.len() == 1 && mysql[0].contains("MariaDB") && mysql[0].contains(" as cdc "),
        "{out}"
    );
    for prefix in [
        "ok   config: ".to_string(),
        "ok   kafka: ".to_string(),
        format!("ok   topic {}: ", p.topic),
        format!("ok   topic {}.checkpoints: ", p.name),
        format!("ok   topic {}: ", p.dlq_topic),
        "ok   checkpoint: none for source".to_string(),
        "ok   sink crm: MySQL target reachable".to_string(),
        "ok   sink crm: target tables".to_string(),
        "ok   sink hubspot: HubSpot at".to_string(),
    ] {
        assert_eq!(lines(&out, &prefix).len(), 1, "no line `{prefix}…`:\n{out}");
    }
}

#[tokio::test]
async fn check_reports_a_bad_password_and_goes_on() {
    let url = Stack::get().mysql_url_as("cdc", "not-the-password", None);
    let (p, _, _) = pipeline(&url, false).await;
    let (ok, out) = run(&p, &["check"]).await;
    assert!(!ok, "check passed with a wrong password:\n{out}");
    let fail = lines(&out, "FAIL mysql: ");
    assert_eq!(fail.len(), 1, "{out}");
    assert!(fail[0].contains("Access denied"), "{out}");
    assert!(
        !fail[0].contains("not-the-password"),
        "the password is printed: {out}"
    );
    // The other checks still ran.
    assert_eq!(lines(&out, "ok   kafka: ").len(), 1, "{out}");
    assert_eq!(lines(&out, "ok   sink crm: ").len(), 2, "{out}");
    assert_eq!(lines(&out, "FAIL").len(), 1, "{out}");
}

#[tokio::test]
async fn check_names_a_missing_hubspot_property() {
    let (p, _, _) = pipeline(&cdc_url(), true).await;
    let text = std::fs::read_to_string(&p.config).unwrap();
    assert!(text.contains("to = \"jobtitle\""));
    std::fs::write(
        &p.config,
        text.replace("to = \"jobtitle\"", "to = \"no_such_property_x\""),
    )
    .unwrap();
    let (ok, out) = run(&p, &["check"]).await;
    assert!(!ok, "check passed with an unknown property:\n{out}");
    let fail: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("FAIL sink hubspot: "))
        .collect();
    assert!(!fail.is_empty(), "{out}");
    assert!(fail.join("\n").contains("no_such_property_x"), "{out}");
    assert_eq!(lines(&out, "ok   mysql: ").len(), 1, "{out}");
    assert_eq!(lines(&out, "FAIL").len(), 1, "{out}");
}

#[tokio::test]
async fn check_names_an_unknown_key_and_its_line() {
    let (p, _, _) = pipeline(&cdc_url(), false).await;
    let text = std::fs::read_to_string(&p.config).unwrap();
    let text = text.replace(
        "heartbeat_secs = 1\n",
        "heartbeat_secs = 1\nheartbeat_sec = 1\n",
    );
    let line = text.lines().position(|l| l == "heartbeat_sec = 1").unwrap() + 1;
    std::fs::write(&p.config, text).unwrap();
    let (ok, out) = run(&p, &["check"]).await;
    assert!(!ok, "{out}");
    let fail = lines(&out, "FAIL config: ");
    assert_eq!(fail.len(), 1, "{out}");
    assert!(fail[0].contains(&format!("line {line}")), "{out}");
    assert!(out.contains("unknown field `heartbeat_sec`"), "{out}");
}

#[tokio::test]
async fn status_json_shows_checkpoint_and_lag() {
    let (p, source, _) = pipeline(&cdc_url(), false).await;
    let _reader = p.start_reader().await;
    insert_users(&source, 1..6).await;
    assert_eq!(p.events(5).await.len(), 5);

    // Published, not yet applied: the crm sink is 5 messages behind.
    let last = status_until(&p, |s| {
        s["source"]["checkpoint"]["pos"].is_u64() && s["sinks"][0]["lag"] == 5
    })
    .await;
    let s = &last;
    assert_eq!(s["source"]["name"], p.name.as_str());
    assert!(
        s["source"]["checkpoint"]["file"]
            .as_str()
            .unwrap()
            .starts_with("mysql-bin."),
        "{s:#}"
    );
    assert!(
        s["source"]["server_position"]["pos"].as_u64().is_some(),
        "{s:#}"
    );
    assert!(s["source"]["bytes_behind"].as_u64().is_some(), "{s:#}");
    assert!(s["source"]["seconds_behind"].as_i64().is_some(), "{s:#}");
    let crm = &s["sinks"][0];
    assert_eq!(crm["name"], "crm");
    assert_eq!(crm["kind"], "mysql");
    assert_eq!(crm["group"], format!("{}-crm", p.name).as_str());
    assert_eq!(crm["topic"], p.topic.as_str());
    let parts = crm["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3, "{s:#}");
    assert_eq!(
        parts
            .iter()
            .map(|x| x["end"].as_i64().unwrap())
            .sum::<i64>(),
        5
    );
    assert!(
        parts
            .iter()
            .all(|x| x["committed"].is_null() && x["stored"].is_null()),
        "{s:#}"
    );
    assert_eq!(crm["dead_letters"], 0);
    assert_eq!(s["dlq"]["topic"], p.dlq_topic.as_str());
    assert_eq!(s["dlq"]["messages"], 0);

    // Once the sink applied them: no lag, and both offset records at the end.
    let mut sink = p.start_sink().await;
    status_until(&p, |s| {
        let crm = &s["sinks"][0];
        crm["lag"] == 0
            && crm["partitions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["end"] == 0 || (x["committed"] == x["end"] && x["stored"] == x["end"]))
    })
    .await;
    sink.terminate(WAIT).await;
}

/// The group's committed offsets, read with a client of the tests' own.
fn committed(group: &str, topic: &str) -> Vec<(i32, Option<i64>)> {
    let consumer = cdc_tests::kafka::group_consumer(&Stack::get().brokers, group);
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    got.elements()
        .iter()
        .map(|e| {
            (
                e.partition(),
                match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                },
            )
        })
        .collect()
}

async fn checkpoint_table(target: &str, group: &str) -> Vec<(i32, i64)> {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(target).as_str())
        .await
        .unwrap();
    let rows = conn
        .exec(
            "SELECT kafka_partition, next_offset FROM cdc_sink_offsets WHERE consumer_group = ? ORDER BY kafka_partition",
            (group,),
        )
        .await
        .unwrap();
    conn.disconnect().await.ok();
    rows
}

#[tokio::test]
async fn offsets_reset_moves_group_and_checkpoint_table_and_waits_for_the_sink_to_stop() {
    let (p, source, target) = pipeline(&cdc_url(), false).await;
    let group = format!("{}-crm", p.name);
    let _reader = p.start_reader().await;
    let mut sink = p.start_sink().await;
    insert_users(&source, 1..7).await;
    let r = eventually(WAIT, || async {
        let stored: i64 = checkpoint_table(&target, &group)
            .await
            .iter()
            .map(|(_, o)| o)
            .sum();
        if stored == 6 {
            Ok(())
        } else {
            Err(format!("{stored} of 6 messages applied"))
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "the sink did not apply the rows: {}",
        r.unwrap_err()
    );
    let applied = checkpoint_table(&target, &group).await;

    // While the sink runs: refused, nothing moved.
    let (ok, out) = run(
        &p,
        &[
            "offsets",
            "--sink",
            "crm",
            "--reset-to",
            "earliest",
            "--yes",
        ],
    )
    .await;
    assert!(!ok, "reset applied while the sink runs:\n{out}");
    assert!(out.contains("live member"), "{out}");
    assert!(out.contains("stop every `cdc-streamer sink`"), "{out}");
    assert_eq!(checkpoint_table(&target, &group).await, applied);

    sink.terminate(WAIT).await;
    // Without --yes: shows the move, changes nothing.
    let (ok, out) = run(&p, &["offsets", "--sink", "crm", "--reset-to", "earliest"]).await;
    assert!(ok && out.contains("dry run"), "{out}");
    assert_eq!(checkpoint_table(&target, &group).await, applied);

    // A stopped sink (a static member: it does not leave the group) stays a
    // member until its session times out (10 s); the reset says so and is
    // repeated.
    const RESET: &[&str] = &[
        "offsets",
        "--sink",
        "crm",
        "--reset-to",
        "earliest",
        "--yes",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    let (ok, out) = loop {
        let (ok, out) = run(&p, RESET).await;
        if ok || tokio::time::Instant::now() > deadline {
            break (ok, out);
        }
        assert!(out.contains("session times out"), "{out}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert!(ok, "reset failed:\n{out}");
    assert!(
        out.contains(&format!("committed for group {group}")),
        "{out}"
    );
    assert!(
        out.contains("stored in the target's checkpoint table"),
        "{out}"
    );
    assert_eq!(
        checkpoint_table(&target, &group).await,
        vec![(0, 0), (1, 0), (2, 0)]
    );
    let (g, t) = (group.clone(), p.topic.clone());
    let committed = tokio::task::spawn_blocking(move || committed(&g, &t))
        .await
        .unwrap();
    assert_eq!(committed, vec![(0, Some(0)), (1, Some(0)), (2, Some(0))]);
}

#[tokio::test]
async fn offsets_reset_to_a_time_finds_the_first_message_after_it() {
    let (p, source, _) = pipeline(&cdc_url(), false).await;
    let _reader = p.start_reader().await;
    insert_users(&source, 1..5).await;
    assert_eq!(p.events(4).await.len(), 4);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"])
        .output()
        .unwrap();
    let between = String::from_utf8(out.stdout).unwrap().trim().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    insert_users(&source, 5..8).await;
    assert_eq!(p.events(7).await.len(), 7);

    // A dry run: the 3 messages after `between` are what the sink would re-read.
    let (ok, out) = run(
        &p,
        &["offsets", "--sink", "crm", "--reset-to", &between, "--json"],
    )
    .await;
    assert!(ok, "{out}");
    let json: Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
    assert_eq!(json["applied"], false);
    let ends: Vec<i64> = json["sink"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["end"].as_i64().unwrap())
        .collect();
    let to: Vec<i64> = json["reset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["to"].as_i64().unwrap())
        .collect();
    let after: i64 = ends.iter().zip(&to).map(|(e, t)| e - t).sum();
    assert_eq!(after, 3, "{json:#}");
}
