//! The binlog reader against the real parts: MariaDB with a ROW binlog and the
//! Kafka-protocol broker of the test stack, through the real `cdc-streamer`
//! binary. Each test has its own database, topics, source name and replica id.

use std::time::Duration;

use cdc_tests::kafka::consume_all;
use cdc_tests::pipeline::{Pipeline, WAIT};
use cdc_tests::{unique, PrivateMariaDb, Stack};
use mysql_async::prelude::*;
use serde_json::{json, Value};

fn cdc_url() -> String {
    Stack::get().mysql_url_as("cdc", "cdc", None)
}

async fn exec(db: &str, sql: &str) {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(db).as_str())
        .await
        .unwrap();
    conn.query_drop("SET time_zone = '+00:00'").await.unwrap();
    conn.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.disconnect().await.ok();
}

async fn master_position() -> String {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url.as_str())
        .await
        .unwrap();
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    let (file, pos): (String, u64) = (row.get(0).unwrap(), row.get(1).unwrap());
    conn.disconnect().await.ok();
    format!("{file}:{pos}")
}

#[tokio::test]
async fn every_column_type_round_trips_exactly() {
    let stack = Stack::get();
    let db = stack.scratch_db("types").await;
    exec(
        &db,
        "CREATE TABLE types (
          id BIGINT UNSIGNED PRIMARY KEY,
          i8 TINYINT, u8 TINYINT UNSIGNED, b1 TINYINT(1), i16 SMALLINT, u24 MEDIUMINT UNSIGNED, i24 MEDIUMINT,
          i32 INT, u32 INT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED,
          dec1 DECIMAL(30,10), dec2 DECIMAL(12,2), f FLOAT, d DOUBLE,
          dt DATE, dtm DATETIME(6), dtm0 DATETIME, ts TIMESTAMP(3) NULL, tm TIME(3), yr YEAR,
          vc VARCHAR(50), ch CHAR(5), tx TEXT, lat VARCHAR(20) CHARACTER SET latin1,
          bin BINARY(4), vbin VARBINARY(10), bl BLOB,
          js JSON, en ENUM('red','green','blue'), st SET('a','b','c'), bt BIT(10), nul INT NULL
        ) DEFAULT CHARSET=utf8mb4",
    )
    .await;
    let setup = Pipeline::reader(&db, &["types"], &cdc_url());
    let _reader = setup.start_reader().await;
    exec(
        &db,
        "INSERT INTO types VALUES (
          18446744073709551615, -128, 255, 1, -32768, 16777215, -8388608,
          -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
          '-12345678901234567890.0123456789', '-0.50', 1.5, -2.25,
          '2024-02-29', '2024-01-02 03:04:05.123456', '1999-12-31 23:59:59', '2024-01-02 03:04:05.678', '-838:59:59.000', 2024,
          'Zoë 😀', 'ab', 'long text', 'café',
          X'00FF0102', X'DEADBEEF', X'00',
          '{\"a\": [1, 2], \"b\": null}', 'green', 'a,c', b'1000000001', NULL)",
    )
    .await;
    let events = setup.events(1).await;
    assert_eq!(events.len(), 1, "one insert → one event");
    let after = &events[0]["after"];
    let expected = json!({
        "id": 18446744073709551615u64, "i8": -128, "u8": 255, "b1": 1, "i16": -32768, "u24": 16777215, "i24": -8388608,
        "i32": -2147483648i64, "u32": 4294967295u64, "i64": i64::MIN, "u64": 18446744073709551615u64,
        "dec1": "-12345678901234567890.0123456789", "dec2": "-0.50", "f": 1.5, "d": -2.25,
        "dt": "2024-02-29", "dtm": "2024-01-02T03:04:05.123456Z", "dtm0": "1999-12-31T23:59:59Z",
        "ts": "2024-01-02T03:04:05.678Z", "tm": "-838:59:59.000", "yr": 2024,
        "vc": "Zoë 😀", "ch": "ab", "tx": "long text", "lat": "café",
        "bin": "AP8BAg==", "vbin": "3q2+7w==", "bl": "AA==",
        "js": {"a": [1, 2], "b": null}, "en": "green", "st": "a,c", "bt": 513, "nul": null
    });
    for (col, want) in expected.as_object().unwrap() {
        assert_eq!(&after[col], want, "column `{col}`");
    }
    assert_eq!(
        after.as_object().unwrap().len(),
        expected.as_object().unwrap().len(),
        "no extra columns"
    );
    assert_eq!(
        events[0]["key"], "18446744073709551615",
        "BIGINT key never rounded"
    );
    assert_eq!(events[0]["op"], "c");
}

#[tokio::test]
async fn insert_update_delete_carry_before_and_after() {
    let stack = Stack::get();
    let db = stack.scratch_db("crud").await;
    let setup = Pipeline::reader(&db, &["users", "user_cim_details"], &cdc_url());
    let _reader = setup.start_reader().await;
    exec(&db, "INSERT INTO users (signed_up_at, id, email, first_name, balance) VALUES (NOW(3), 7, 'a@example.com', 'Ann', 1.25)").await;
    exec(
        &db,
        "UPDATE users SET email = 'b@example.com', balance = balance - 2 WHERE id = 7",
    )
    .await;
    exec(
        &db,
        "INSERT INTO user_cim_details (user_id, company) VALUES (7, 'Acme')",
    )
    .await;
    exec(&db, "DELETE FROM users WHERE id = 7").await;
    let ev = setup.events(4).await;
    assert_eq!(ev.len(), 4, "{ev:#?}");
    let (c, u, cim, d) = (&ev[0], &ev[1], &ev[2], &ev[3]);
    assert_eq!(
        (
            c["op"].as_str(),
            c["before"].is_null(),
            c["after"]["email"].as_str()
        ),
        (Some("c"), true, Some("a@example.com"))
    );
    assert_eq!(u["op"], "u");
    assert_eq!(u["before"]["email"], "a@example.com");
    assert_eq!(u["after"]["email"], "b@example.com");
    assert_eq!(u["before"]["balance"], "1.25");
    assert_eq!(u["after"]["balance"], "-0.75");
    assert_eq!(
        (cim["table"].as_str(), cim["key"].as_str()),
        (Some("user_cim_details"), Some("7")),
        "cim rows keyed by user_id"
    );
    assert_eq!(
        (
            d["op"].as_str(),
            d["after"].is_null(),
            d["before"]["id"].as_u64()
        ),
        (Some("d"), true, Some(7))
    );
    for e in &ev {
        assert_eq!(e["key"], "7");
        assert_eq!(e["db"], db.as_str());
        assert!(
            e["source"]["file"]
                .as_str()
                .unwrap()
                .starts_with("mysql-bin."),
            "{e}"
        );
        assert!(
            e["source"]["gtid"].as_str().is_some(),
            "MariaDB GTID recorded: {e}"
        );
    }
}

#[tokio::test]
async fn ddl_mid_stream_keeps_names_right_also_on_replay() {
    let stack = Stack::get();
    let db = stack.scratch_db("ddl").await;
    let setup = Pipeline::reader(&db, &["users"], &cdc_url());
    let mut reader = setup.start_reader().await;
    let from = master_position().await;
    exec(&db, "INSERT INTO users (signed_up_at, id, email, first_name, last_name) VALUES (NOW(3), 1, 'a@example.com', 'Ann', 'Lee')").await;
    exec(
        &db,
        "ALTER TABLE users ADD COLUMN nickname VARCHAR(20) NULL AFTER first_name",
    )
    .await;
    exec(&db, "INSERT INTO users (signed_up_at, id, email, first_name, nickname, last_name) VALUES (NOW(3), 2, 'b@example.com', 'Bob', 'bobby', 'Ray')").await;
    let to = master_position().await;
    // Users 1 and 2 may sit in different partitions: order them by key.
    let mut live = setup.events(2).await;
    live.sort_by_key(|e| e["key"].as_str().unwrap().to_string());
    assert_eq!(live.len(), 2);
    assert!(
        live[0]["after"].get("nickname").is_none(),
        "row written before the ALTER has no nickname: {}",
        live[0]
    );
    assert_eq!(live[0]["after"]["last_name"], "Lee");
    assert_eq!(live[1]["after"]["nickname"], "bobby");
    assert_eq!(live[1]["after"]["last_name"], "Ray");
    reader.terminate(WAIT).await;

    // Replay the range after the DDL: the old event keeps its own names.
    let mut replay = setup.spawn(&["replay", "--from", &from, "--to", &to]);
    let status = replay.wait_exit(WAIT).await;
    assert!(status.success(), "replay failed:\n{}", replay.log_text());
    assert!(
        replay.log_text().contains("replayed 2 row changes"),
        "{}",
        replay.log_text()
    );
    let all = setup.events(4).await;
    assert_eq!(all.len(), 4);
    let mut replayed: Vec<&Value> = all
        .iter()
        .filter(|e| e["source"]["replay"] == true)
        .collect();
    replayed.sort_by_key(|e| e["key"].as_str().unwrap().to_string());
    assert_eq!(replayed.len(), 2, "exactly the range is replayed");
    assert!(replayed[0]["after"].get("nickname").is_none());
    assert_eq!(replayed[0]["after"]["last_name"], "Lee");
    assert_eq!(replayed[1]["after"]["nickname"], "bobby");
    assert_eq!(
        replayed[0]["source"]["pos"], live[0]["source"]["pos"],
        "same source position as the live event"
    );
}

#[tokio::test]
async fn kill_9_and_restart_loses_nothing() {
    let stack = Stack::get();
    let db = stack.scratch_db("kill").await;
    let setup = Pipeline::reader(&db, &["users"], &cdc_url());
    let mut reader = setup.start_reader().await;
    let total = 3_000u64;
    let writer_db = db.clone();
    let writer = tokio::spawn(async move {
        for batch in 0..30u64 {
            let values: Vec<String> = (0..100u64)
                .map(|i| {
                    let id = batch * 100 + i + 1;
                    format!("(NOW(3), {id}, 'u{id}@example.com', 'U{id}')")
                })
                .collect();
            exec(
                &writer_db,
                &format!(
                    "INSERT INTO users (signed_up_at, id, email, first_name) VALUES {}",
                    values.join(",")
                ),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    reader.kill9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _reader = setup.start_reader().await;
    writer.await.unwrap();

    // Read until every id is seen (duplicates from the resend window allowed).
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = std::collections::HashMap::<u64, usize>::new();
    while seen.len() < total as usize && tokio::time::Instant::now() < deadline {
        seen.clear();
        let evs = consume_all(
            &stack.brokers,
            &setup.topic,
            total as usize * 3,
            Duration::from_secs(5),
        )
        .await;
        for (_, payload, _, _) in evs {
            let v: Value = serde_json::from_slice(&payload.unwrap()).unwrap();
            *seen.entry(v["after"]["id"].as_u64().unwrap()).or_default() += 1;
        }
    }
    let missing: Vec<u64> = (1..=total).filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "lost {} rows after kill -9, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let dups: usize = seen.values().map(|n| n - 1).sum();
    println!(
        "kill -9: {total} rows, {dups} resent duplicates (bounded by the checkpoint interval)"
    );
}

async fn expect_failure(setup: &Pipeline, needles: &[&str]) {
    let mut s = setup.spawn(&["reader"]);
    let status = s.wait_exit(WAIT).await;
    let log = s.log_text();
    assert!(!status.success(), "reader should fail:\n{log}");
    for n in needles {
        assert!(log.contains(n), "expected `{n}` in:\n{log}");
    }
}

#[tokio::test]
async fn binlog_disabled_is_reported_with_the_fix() {
    let server = PrivateMariaDb::start(&[]);
    let setup = Pipeline::reader("mysql", &["user"], &server.url());
    expect_failure(&setup, &["log_bin=OFF", "log-bin"]).await;
}

#[tokio::test]
async fn statement_format_is_reported_with_the_fix() {
    let server = PrivateMariaDb::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=STATEMENT",
        "--server-id=9",
    ]);
    let setup = Pipeline::reader("mysql", &["user"], &server.url());
    expect_failure(&setup, &["binlog_format is STATEMENT", "binlog_format=ROW"]).await;
}

#[tokio::test]
async fn minimal_row_image_is_reported_with_the_fix() {
    let server = PrivateMariaDb::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--binlog-row-image=MINIMAL",
        "--server-id=9",
    ]);
    let setup = Pipeline::reader("mysql", &["user"], &server.url());
    expect_failure(
        &setup,
        &["binlog_row_image is MINIMAL", "binlog_row_image=FULL"],
    )
    .await;
}

#[tokio::test]
async fn unreachable_server_and_wrong_password_are_reported() {
    let setup = Pipeline::reader("app", &["users"], "mysql://cdc:cdc@127.0.0.1:1");
    expect_failure(
        &setup,
        &["cannot connect to MySQL at mysql://cdc:***@127.0.0.1:1"],
    )
    .await;
    let url = Stack::get().mysql_url_as("cdc", "wrong-password", None);
    let setup = Pipeline::reader("app", &["users"], &url);
    expect_failure(&setup, &["cannot connect to MySQL", "Access denied"]).await;
}

#[tokio::test]
async fn missing_privileges_and_tables_are_reported() {
    let stack = Stack::get();
    let user = unique("np");
    let mut conn = mysql_async::Conn::from_url(stack.mysql_url.as_str())
        .await
        .unwrap();
    conn.query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'"))
        .await
        .unwrap();
    conn.query_drop(format!("GRANT SELECT ON *.* TO '{user}'@'%'"))
        .await
        .unwrap();
    conn.disconnect().await.ok();
    let setup = Pipeline::reader("app", &["users"], &stack.mysql_url_as(&user, "pw", None));
    expect_failure(&setup, &["REPLICATION SLAVE", "GRANT REPLICATION SLAVE"]).await;

    let setup = Pipeline::reader("app", &["no_such_table"], &cdc_url());
    expect_failure(&setup, &["app.no_such_table", "does not exist"]).await;
}

#[tokio::test]
async fn a_purged_position_names_the_recovery() {
    let stack = Stack::get();
    let db = stack.scratch_db("purged").await;
    let setup = Pipeline::reader(&db, &["users"], &cdc_url());
    let mut replay = setup.spawn(&[
        "replay",
        "--from",
        "mysql-bin.999999:4",
        "--to",
        "mysql-bin.999999:500",
    ]);
    let status = replay.wait_exit(WAIT).await;
    let log = replay.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("no longer on the server")
            && log.contains("SHOW BINARY LOGS")
            && log.contains("snapshot"),
        "{log}"
    );
}

#[tokio::test]
async fn a_row_larger_than_16_mb_is_decoded_published_and_checkpointed() {
    let stack = Stack::get();
    let db = stack.scratch_db("big").await;
    let setup = Pipeline::reader(&db, &["users"], &cdc_url());
    let mut reader = setup.start_reader().await;
    let size = 17 * 1024 * 1024;
    let blob = "x".repeat(size);
    let mut conn = mysql_async::Conn::from_url(stack.mysql_url_db(&db).as_str())
        .await
        .unwrap();
    conn.exec_drop(
        "INSERT INTO users (id, email, first_name, signed_up_at, profile) VALUES (1, 'big@example.com', 'Big', NOW(3), JSON_OBJECT('blob', ?))",
        (blob.as_str(),),
    )
    .await
    .unwrap();
    conn.disconnect().await.ok();
    let after: cdc_core::BinlogPosition = master_position().await.parse().unwrap();
    // The checkpoint passes the row only once the broker acknowledged it.
    // (Reading a 17 MB message back is left out: tansu 0.6 does not serve
    // record batches that large to librdkafka; Apache Kafka does, with
    // message.max.bytes raised. See docs/operations.md.)
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let cps = consume_all(
            &stack.brokers,
            &format!("{}.checkpoints", setup.name),
            1000,
            Duration::from_secs(3),
        )
        .await;
        let passed = cps
            .iter()
            .filter_map(|(_, p, _, _)| serde_json::from_slice::<Value>(p.as_deref()?).ok())
            .any(|cp| {
                let pos = cdc_core::BinlogPosition::new(
                    cp["file"].as_str().unwrap_or(""),
                    cp["pos"].as_u64().unwrap_or(0),
                );
                pos >= after
            });
        if passed {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the checkpoint never passed the 17 MB row:\n{}",
            reader.log_text()
        );
    }
    let status = reader.terminate(WAIT).await;
    assert!(status.success(), "{}", reader.log_text());
}

#[tokio::test]
async fn without_row_metadata_names_come_from_information_schema_with_a_warning() {
    let server = PrivateMariaDb::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--binlog-row-metadata=MINIMAL",
        "--server-id=9",
    ]);
    let mut conn = mysql_async::Conn::from_url(server.url().as_str())
        .await
        .unwrap();
    conn.query_drop("CREATE DATABASE app CHARACTER SET utf8mb4")
        .await
        .unwrap();
    conn.query_drop("USE app").await.unwrap();
    for st in cdc_tests::stack::sql_statements(&cdc_tests::stack::read_sql("app-schema.sql")) {
        conn.query_drop(&st).await.unwrap();
    }
    let setup = Pipeline::reader("app", &["users"], &server.url());
    let mut reader = setup.start_reader().await;
    conn.query_drop("INSERT INTO users (id, email, first_name, signed_up_at, profile) VALUES (5, 'm@example.com', 'Min', '2020-02-02 02:02:02.5', '{\"k\": 1}')")
        .await
        .unwrap();
    conn.disconnect().await.ok();
    let events = setup.events(1).await;
    assert_eq!(events.len(), 1);
    let after = &events[0]["after"];
    assert_eq!(
        after["email"], "m@example.com",
        "names from information_schema: {after}"
    );
    assert_eq!(after["signed_up_at"], "2020-02-02T02:02:02.500Z");
    assert_eq!(after["profile"], json!({"k": 1}), "MariaDB JSON recognised");
    reader
        .wait_for_log("binlog_row_metadata is MINIMAL", WAIT)
        .await;
}

/// Two readers with one `server_id` (a copied config, say) would push each other off the
/// server forever: the server drops the older connection when the newer registers. The one
/// dropped stops with a message naming the cause and the fix; the other streams on.
#[tokio::test]
async fn a_second_reader_with_the_same_server_id_is_a_clear_fatal_error() {
    let stack = Stack::get();
    let db = stack.scratch_db("sameid").await;
    let first = Pipeline::reader(&db, &["users"], &cdc_url());
    let second = Pipeline::reader(&db, &["users"], &cdc_url());
    let id_line = |p: &Pipeline| {
        let text = std::fs::read_to_string(&p.config).unwrap();
        text.lines()
            .find(|l| l.starts_with("server_id"))
            .unwrap()
            .to_string()
    };
    let text = std::fs::read_to_string(&second.config).unwrap();
    std::fs::write(
        &second.config,
        text.replace(&id_line(&second), &id_line(&first)),
    )
    .unwrap();
    let mut older = first.start_reader().await;
    let newer = second.start_reader().await;
    let status = older.wait_exit(WAIT).await;
    let log = older.log_text();
    assert!(!status.success(), "the dropped reader stops:\n{log}");
    assert!(
        log.contains("same server_uuid/server_id") && log.contains("its own `source.server_id`"),
        "{log}"
    );
    // The newer one streams on.
    exec(
        &db,
        "INSERT INTO users (id, email, signed_up_at) VALUES (1, 'a@example.com', NOW(3))",
    )
    .await;
    let ev = second.events(1).await;
    assert_eq!(ev[0]["key"], "1");
    drop(newer);
}
