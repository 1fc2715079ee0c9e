//! The sink worker end to end: MariaDB → reader → broker → sinks → the
//! HubSpot simulator and a MySQL target, all real processes. Each test has
//! its own source and target databases, topics, consumer groups and
//! simulator.

use std::time::Duration;

use cdc_tests::converge::{both_match, crm_matches};
use cdc_tests::pipeline::{Parts, Pipeline, WAIT};
use cdc_tests::sim::{eventually, PrivateSim};
use cdc_tests::stack::Schema;
use cdc_tests::workload::{exec, insert_users};
use cdc_tests::Stack;
use mysql_async::prelude::*;
use serde_json::json;

struct Setup {
    source: String,
    target: String,
    sim: PrivateSim,
    pipeline: Pipeline,
}

async fn setup(sim_flags: &[&str]) -> Setup {
    setup_with(PrivateSim::start(sim_flags).await).await
}

async fn setup_with(sim: PrivateSim) -> Setup {
    let stack = Stack::get();
    let source = stack.scratch_db("src").await;
    let target = stack.scratch_db_with("crm", &[Schema::Crm]).await;
    let pipeline = Pipeline::new(Parts {
        db: &source,
        tables: &["users", "user_cim_details"],
        source_url: stack.mysql_url_as("cdc", "cdc", None),
        sim: Some(&sim),
        target_db: Some(&target),
        source_extra: "",
    });
    Setup {
        source,
        target,
        sim,
        pipeline,
    }
}

/// How long convergence may take: generous, because the whole suite shares
/// two cores (a 100,000-row transaction test may run beside) and
/// `eventually` returns as soon as it holds.
const CONVERGE: Duration = Duration::from_secs(180);

/// [`converged`], with the pipeline's state in the failure message.
async fn converged_or_explain(s: &Setup, sink: &cdc_tests::streamer::Streamer) {
    if let Err(e) = both_match(&s.source, &s.sim, &s.target, CONVERGE).await {
        panic!("not converged: {e}\n{}", s.pipeline.diagnose(sink));
    }
}

async fn converged(s: &Setup) {
    if let Err(e) = both_match(&s.source, &s.sim, &s.target, CONVERGE).await {
        panic!("{e}");
    }
}

#[tokio::test]
async fn writes_updates_and_deletes_converge_to_hubspot_and_crm() {
    let s = setup(&[]).await;
    let _reader = s.pipeline.start_reader().await;
    let _sink = s.pipeline.start_sink().await;
    insert_users(&s.source, 1, 60).await;
    exec(&s.source, "UPDATE users SET email = CONCAT('new', id, '@example.com'), balance = balance + 1 WHERE id % 3 = 0").await;
    exec(&s.source, "UPDATE user_cim_details SET company = 'Renamed', annual_purchase = NULL WHERE user_id % 4 = 0").await;
    exec(
        &s.source,
        "UPDATE users SET user_status = 'C' WHERE id IN (5, 6)",
    )
    .await;
    exec(&s.source, "UPDATE users SET user_status = 'G' WHERE id = 8").await;
    exec(&s.source, "DELETE FROM users WHERE id IN (10, 11)").await;
    exec(&s.source, "DELETE FROM user_cim_details WHERE user_id = 12").await;
    exec(&s.source, "UPDATE users SET first_name = NULL, phone = NULL, birthday = NULL, tags = '' WHERE id = 13").await;
    converged(&s).await;
    // A closed user who comes back is synced again.
    exec(&s.source, "UPDATE users SET user_status = 'A' WHERE id = 5").await;
    converged(&s).await;
    assert!(s.sim.contacts().await.contains_key(&5));
}

#[tokio::test]
async fn one_invalid_email_in_a_batch_of_100_is_dead_lettered_alone() {
    let s = setup(&[]).await;
    let _reader = s.pipeline.start_reader().await;
    // All 100 in one transaction, so they reach HubSpot as one batch.
    insert_users(&s.source, 1, 100).await;
    exec(
        &s.source,
        "UPDATE users SET email = 'not-an-email' WHERE id = 42",
    )
    .await;
    let _sink = s.pipeline.start_sink().await;
    let r = eventually(WAIT, || async {
        let n = s.sim.contacts().await.len();
        if n == 99 {
            Ok(())
        } else {
            Err(format!("{n} contacts"))
        }
    })
    .await;
    assert!(r.is_ok(), "expected the 99 good contacts: {r:?}");
    assert!(!s.sim.contacts().await.contains_key(&42));
    let letters = s.pipeline.dead_letters(2, Duration::from_secs(10)).await;
    let hubspot: Vec<_> = letters.iter().filter(|l| l["sink"] == "hubspot").collect();
    assert_eq!(
        hubspot.len(),
        1,
        "exactly the bad record is dead-lettered: {letters:#?}"
    );
    assert_eq!(hubspot[0]["key"], "42");
    assert!(
        hubspot[0]["details"].to_string().contains("INVALID_EMAIL"),
        "{}",
        hubspot[0]
    );
    assert!(
        !hubspot[0]["sources"].as_array().unwrap().is_empty(),
        "the letter says where it came from"
    );
    // The MySQL target takes the email as it is.
    let r = eventually(WAIT, || async { crm_matches(&s.source, &s.target).await }).await;
    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test]
async fn rate_limit_and_5xx_storms_lose_nothing() {
    // 5 requests per second at most, a third of all answers a 503.
    let s = setup(&[
        "--rate-limit",
        "5",
        "--rate-window-ms",
        "1000",
        "--error-rate",
        "0.3",
        "--error-status",
        "503",
    ])
    .await;
    let _reader = s.pipeline.start_reader().await;
    let _sink = s.pipeline.start_sink().await;
    for batch in 0..6 {
        insert_users(&s.source, batch * 50 + 1, 50).await;
        exec(
            &s.source,
            &format!(
                "UPDATE users SET balance = balance + 1 WHERE id > {}",
                batch * 50
            ),
        )
        .await;
    }
    converged(&s).await;
    let stats = s.sim.stats().await;
    assert!(
        stats["faults_injected"].as_u64().unwrap() > 0,
        "the storm happened: {stats}"
    );
    let letters = s.pipeline.dead_letters(1, Duration::from_secs(3)).await;
    assert!(
        letters.is_empty(),
        "transient failures never dead-letter: {letters:#?}"
    );
}

#[tokio::test]
async fn a_sink_restarted_mid_stream_applies_nothing_twice_in_mysql() {
    let s = setup(&[]).await;
    // Every write the sink makes to crm.users is logged by a trigger: a
    // change applied twice would show as the same (user, balance) twice.
    exec(
        &s.target,
        "CREATE TABLE applied (user_id BIGINT UNSIGNED, balance DECIMAL(12,2))",
    )
    .await;
    exec(&s.target, "CREATE TRIGGER log_ins AFTER INSERT ON users FOR EACH ROW INSERT INTO applied VALUES (NEW.user_id, NEW.balance)").await;
    exec(
        &s.target,
        "CREATE TRIGGER log_upd AFTER UPDATE ON users FOR EACH ROW INSERT INTO applied SELECT NEW.user_id, NEW.balance FROM DUAL WHERE NOT (NEW.balance <=> OLD.balance)",
    )
    .await;
    let _reader = s.pipeline.start_reader().await;
    insert_users(&s.source, 1, 20).await;
    let mut sink = s.pipeline.start_sink().await;
    let source = s.source.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_writer = stop.clone();
    let writer = tokio::spawn(async move {
        let mut n = 0;
        while !stop_writer.load(std::sync::atomic::Ordering::Relaxed) {
            exec(&source, "UPDATE users SET balance = balance + 1").await;
            n += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        n
    });
    for pause in [150u64, 400, 250] {
        // Kill it while it works: after it applied something, mid-stream.
        sink.wait_for_log("window applied", WAIT).await;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        sink.kill9();
        sink = s.pipeline.start_sink().await;
    }
    sink.wait_for_log("window applied", WAIT).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let updates = writer.await.unwrap();
    println!("{updates} mass updates of 20 users while the sink was killed 3 times");
    converged(&s).await;
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(&s.target).as_str())
        .await
        .unwrap();
    let twice: Vec<(u64, String, u64)> = conn
        .query("SELECT user_id, CAST(balance AS CHAR), COUNT(*) FROM applied GROUP BY user_id, balance HAVING COUNT(*) > 1")
        .await
        .unwrap();
    assert!(
        twice.is_empty(),
        "changes applied twice after sink restarts: {twice:?}"
    );
    let writes: u64 = conn
        .query_first("SELECT COUNT(*) FROM applied")
        .await
        .unwrap()
        .unwrap();
    assert!(writes >= 20, "the trigger saw the writes ({writes})");
}

/// Once failed in CI (the contacts of ~1,000 users lacked their detail properties after the
/// load, with a 60 s limit on a loaded machine); never since, alone or beside other suites.
/// A failure now says where each sink stood.
#[tokio::test]
async fn a_mass_update_makes_about_users_over_100_batch_calls() {
    let s = setup(&["--rate-limit", "1000"]).await;
    let users = 2_000u64;
    // Load first, then start: the sink sees the load and the mass update.
    let _reader = s.pipeline.start_reader().await;
    for chunk in 0..(users / 500) {
        insert_users(&s.source, chunk * 500 + 1, 500).await;
    }
    let sink = s.pipeline.start_sink().await;
    converged_or_explain(&s, &sink).await;
    let before = s.sim.calls("POST batch/upsert").await;
    exec(&s.source, "UPDATE users SET is_paid = 1 - is_paid").await;
    converged_or_explain(&s, &sink).await;
    let calls = s.sim.calls("POST batch/upsert").await - before;
    let minimum = users / 100;
    println!("mass update of {users} users: {calls} batch upsert calls (minimum {minimum})");
    assert!(
        calls >= minimum && calls <= minimum + 5,
        "{calls} upsert calls for {users} changed users; expected about {minimum}"
    );
}

/// MariaDB in a lax SQL mode stores dates no calendar has (`2024-02-00`); HubSpot and the
/// mapping's date conversion cannot take them. That user's change is dead-lettered by each
/// sink with the column, the value and why; the users around it are delivered.
#[tokio::test]
async fn an_invalid_date_in_the_data_is_dead_lettered_with_its_reason() {
    let s = setup(&[]).await;
    let _reader = s.pipeline.start_reader().await;
    let _sink = s.pipeline.start_sink().await;
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(&s.source).as_str())
        .await
        .unwrap();
    conn.query_drop("SET SESSION sql_mode = ''").await.unwrap();
    conn.query_drop(
        "INSERT INTO users (id, email, birthday, signed_up_at) VALUES \
         (1, 'one@example.com', '1990-01-31', NOW(3)), \
         (2, 'two@example.com', '2024-02-00', NOW(3)), \
         (3, 'three@example.com', NULL, NOW(3))",
    )
    .await
    .unwrap();
    conn.disconnect().await.ok();
    let letters = s.pipeline.dead_letters(2, WAIT).await;
    assert_eq!(letters.len(), 2, "one per sink: {letters:#?}");
    for l in &letters {
        assert_eq!(l["kind"], "unmappable", "{l:#}");
        assert_eq!(l["key"], "2", "{l:#}");
        let reason = l["reason"].as_str().unwrap();
        assert!(
            reason.contains("users.birthday")
                && reason.contains("2024-02-00")
                && reason.contains("not a valid date"),
            "{reason}"
        );
    }
    let delivered = eventually(CONVERGE, || async {
        let contacts = s.sim.contacts().await;
        match (contacts.contains_key(&1), contacts.contains_key(&3)) {
            (true, true) if !contacts.contains_key(&2) => Ok(()),
            _ => Err(format!(
                "contacts: {:?}",
                contacts.keys().collect::<Vec<_>>()
            )),
        }
    })
    .await;
    assert!(delivered.is_ok(), "{}", delivered.unwrap_err());
    let target = Stack::get().mysql_url_db(&s.target);
    let rows = eventually(CONVERGE, || async {
        let mut conn = mysql_async::Conn::from_url(target.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let ids: Vec<u64> = conn
            .query("SELECT user_id FROM users ORDER BY user_id")
            .await
            .map_err(|e| e.to_string())?;
        conn.disconnect().await.ok();
        if ids == [1, 3] {
            Ok(())
        } else {
            Err(format!("crm.users holds {ids:?}"))
        }
    })
    .await;
    assert!(rows.is_ok(), "{}", rows.unwrap_err());
}

#[tokio::test]
async fn malformed_messages_are_dead_lettered_and_the_stream_goes_on() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let s = setup(&[]).await;
    let _reader = s.pipeline.start_reader().await;
    let producer: FutureProducer = cdc_tests::kafka::client_config(&Stack::get().brokers)
        .create()
        .unwrap();
    for (key, payload) in [
        ("1", &b"not json {"[..]),
        ("2", &br#"{"hello": "an unknown shape"}"#[..]),
    ] {
        producer
            .send(
                FutureRecord::to(&s.pipeline.topic)
                    .key(key)
                    .payload(payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    insert_users(&s.source, 1, 10).await;
    let _sink = s.pipeline.start_sink().await;
    converged(&s).await;
    let letters = s.pipeline.dead_letters(4, Duration::from_secs(20)).await;
    let malformed: Vec<_> = letters
        .iter()
        .filter(|l| l["kind"] == "malformed")
        .collect();
    assert_eq!(
        malformed.len(),
        4,
        "each sink dead-letters both messages: {letters:#?}"
    );
    assert!(
        malformed.iter().any(|l| l["payload"] == "not json {"),
        "the raw payload is kept"
    );
    assert!(malformed
        .iter()
        .all(|l| l["reason"].as_str().unwrap().contains("not a change event")));
}

#[tokio::test]
async fn a_hubspot_account_that_disagrees_with_the_mapping_stops_the_sink_with_the_fix() {
    let sim = PrivateSim::start_with_properties(&[], |props| {
        props.retain(|p| p["name"] != "work_phone");
        for p in props.iter_mut().filter(|p| p["name"] == "date_of_birth") {
            p["type"] = json!("string");
            p["fieldType"] = json!("text");
        }
    })
    .await;
    let s = setup_with(sim).await;
    let mut sink = s.pipeline.spawn(&["sink", "--only", "hubspot"]);
    let status = sink.wait_exit(WAIT).await;
    let log = sink.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("property `work_phone`") && log.contains("does not exist in HubSpot"),
        "{log}"
    );
    assert!(
        log.contains("property `date_of_birth` is of type `string`"),
        "{log}"
    );
}

#[tokio::test]
async fn an_initial_snapshot_under_concurrent_writes_converges_in_both_targets() {
    let stack = Stack::get();
    let source = stack.scratch_db("snap").await;
    let target = stack.scratch_db_with("crm", &[Schema::Crm]).await;
    let sim = PrivateSim::start(&["--rate-limit", "1000"]).await;
    // Rows that exist before the streamer ever ran: only a snapshot sees them.
    for chunk in 0..4 {
        insert_users(&source, chunk * 500 + 1, 500).await;
    }
    let pipeline = Pipeline::new(Parts {
        db: &source,
        tables: &["users", "user_cim_details"],
        source_url: stack.mysql_url_as("cdc", "cdc", None),
        sim: Some(&sim),
        target_db: Some(&target),
        source_extra: "snapshot = \"initial\"",
    });
    let writer_db = source.clone();
    let writer = tokio::spawn(async move {
        for i in 0..20u64 {
            exec(
                &writer_db,
                &format!("UPDATE users SET balance = balance + 1 WHERE id % 20 = {i}"),
            )
            .await;
            exec(
                &writer_db,
                &format!(
                    "UPDATE user_cim_details SET company = 'Moved {i}' WHERE user_id % 40 = {}",
                    i * 2
                ),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        insert_users(&writer_db, 5_001, 50).await;
        exec(&writer_db, "DELETE FROM users WHERE id % 97 = 0").await;
    });
    let mut reader = pipeline.spawn(&["reader"]);
    reader.wait_for_log("snapshot complete", WAIT).await;
    let _sink = pipeline.start_sink().await;
    writer.await.unwrap();
    let s = Setup {
        source,
        target,
        sim,
        pipeline,
    };
    converged(&s).await;
}
