//! The snapshot against the real parts: MariaDB with a ROW binlog and the
//! Kafka-protocol broker of the test stack, through the real `cdc-streamer`
//! binary (`snapshot`, then `reader`).
//!
//! The main check folds the change topic the way a consumer does (per key:
//! snapshot rows in arrival order, then binlog changes by source position)
//! and compares the result with the source tables, column by column, while
//! another connection keeps writing during the snapshot. The expected values
//! are formatted by MariaDB itself (`JSON_OBJECT`), not by the streamer's
//! converter, so a conversion bug cannot hide on both sides.
//!
//! `CDC_TEST_SNAPSHOT_USERS` sets the table size (default 20,000; 60,000 by
//! hand is a good soak).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_tests::kafka::{group_consumer, recv_n};
use cdc_tests::pipeline::{Parts, Pipeline, WAIT};
use cdc_tests::stack::{read_sql, sql_statements};
use cdc_tests::streamer::{plain, Streamer};
use cdc_tests::{unique, PrivateMariaDb, Stack};
use mysql_async::prelude::*;
use rdkafka::consumer::Consumer;
use serde_json::{json, Value};

/// A snapshot of a few tens of thousands of rows on the 2-core CI machine,
/// while another test runs, can take minutes.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(600);

/// The two large scenarios take most of the machine; they run one at a time.
static LARGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn users_n() -> u64 {
    std::env::var("CDC_TEST_SNAPSHOT_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn cdc_url() -> String {
    Stack::get().mysql_url_as("cdc", "cdc", None)
}

/// The stack's MariaDB with `db` selected, as the admin.
fn db_url(db: &str) -> String {
    Stack::get().mysql_url_db(db)
}

/// A connection to `url` (a database selected) in UTC.
async fn conn(url: &str) -> mysql_async::Conn {
    let mut conn = mysql_async::Conn::from_url(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    conn.query_drop("SET time_zone = '+00:00'").await.unwrap();
    conn
}

async fn exec(url: &str, sql: &str) {
    let mut c = conn(url).await;
    c.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    c.disconnect().await.ok();
}

/// `n` users (ids 1..=n) and CRM details for every other one.
async fn load_users(url: &str, n: u64) {
    exec(
        url,
        &format!(
            "INSERT INTO users (id, email, first_name, last_name, phone, user_status, is_paid, \
               balance, birthday, tags, profile, signed_up_at) \
             SELECT seq, CONCAT('user', seq, '@example.com'), \
               ELT(1 + seq % 5, 'Olivia', 'Zoë', 'Björn', '娜', 'Sam 🚀'), \
               IF(seq % 37 = 0, NULL, CONCAT('Last', seq)), \
               IF(seq % 4 = 0, NULL, CONCAT('+1-555-', seq)), \
               IF(seq % 23 = 0, 'C', 'A'), seq % 3 = 0, \
               CAST(((seq * 7919) % 250000) / 100 AS DECIMAL(12,2)), \
               IF(seq % 9 = 0, NULL, DATE '1955-01-01' + INTERVAL ((seq * 6151) % 18250) DAY), \
               IF(seq % 5 = 0, NULL, CONCAT_WS(',', 1 + seq % 7, 8 + seq % 6)), \
               IF(seq % 50 = 0, JSON_OBJECT('batch', seq DIV 50, 'tags', JSON_ARRAY(1, 2)), NULL), \
               TIMESTAMP '2019-01-01 00:00:00' + INTERVAL (seq * 4872) SECOND \
                 + INTERVAL ((seq * 37) % 1000) * 1000 MICROSECOND \
             FROM seq_1_to_{n}"
        ),
    )
    .await;
    exec(
        url,
        &format!(
            "INSERT INTO user_cim_details (user_id, company, job_title, country, annual_purchase, tel_area_code, tel) \
             SELECT seq, ELT(1 + seq % 4, 'Acme Corp', 'Globex', 'Müller & Söhne KG', NULL), \
               'Buyer', 'Germany', seq % 11, '+49', LPAD(seq, 8, '0') \
             FROM seq_1_to_{n} WHERE seq % 2 = 0"
        ),
    )
    .await;
}

/// Keeps changing users and their CRM details until `stop`: updates of
/// existing rows, inserts of new ones, a few deletes, some of them in
/// multi-statement transactions. Returns the number of statements run.
fn start_writer(
    url: &str,
    first_new_id: u64,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    let url = url.to_string();
    tokio::spawn(async move {
        let mut c = conn(&url).await;
        let mut next_id = first_new_id;
        let mut seed = 0x2545_f491_u64;
        let mut ops = 0u64;
        while !stop.load(Ordering::Relaxed) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let id = 1 + (seed >> 33) % next_id;
            let statements = match (seed >> 20) % 10 {
                0..=4 => vec![format!(
                    "UPDATE users SET first_name = CONCAT('W', {ops}), balance = balance + 0.25, \
                     tags = IF(tags IS NULL, '3', NULL), profile = JSON_OBJECT('writes', {ops}) WHERE id = {id}"
                )],
                5 | 6 => {
                    next_id += 1;
                    vec![
                        "BEGIN".into(),
                        format!(
                            "INSERT INTO users (id, email, first_name, signed_up_at) \
                             VALUES ({next_id}, 'new{next_id}@example.com', 'New ✨', NOW(3))"
                        ),
                        format!("INSERT INTO user_cim_details (user_id, company) VALUES ({next_id}, 'Initech')"),
                        format!("UPDATE users SET is_paid = 1 - is_paid WHERE id = {id}"),
                        "COMMIT".into(),
                    ]
                }
                7 | 8 => vec![format!(
                    "UPDATE user_cim_details SET company = CONCAT('C', {ops}), annual_purchase = {ops} % 11 WHERE user_id = {id}"
                )],
                _ => vec![
                    "BEGIN".into(),
                    format!("DELETE FROM user_cim_details WHERE user_id = {id}"),
                    format!("DELETE FROM users WHERE id = {id}"),
                    "COMMIT".into(),
                ],
            };
            for s in &statements {
                c.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            ops += 1;
            // Leave the two cores some room for the snapshot itself.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        c.disconnect().await.ok();
        ops
    })
}

/// Every row of `db.table` as the change events should carry it, keyed by
/// the routing key `key_col`. Formatted by MariaDB from the column types.
async fn expected_rows(url: &str, db: &str, table: &str, key_col: &str) -> BTreeMap<String, Value> {
    let mut c = conn(url).await;
    let columns: Vec<(String, String, Option<u64>, String)> = c
        .exec(
            "SELECT COLUMN_NAME, LOWER(DATA_TYPE), DATETIME_PRECISION, LOWER(COLUMN_TYPE) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .unwrap();
    let json_cols: Vec<String> = c
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await
        .unwrap();
    let pairs: Vec<String> = columns
        .iter()
        .map(|(name, ty, precision, _)| {
            let q = format!("`{name}`");
            let is_json = json_cols.iter().any(|c| c.contains(&format!("`{name}`")));
            let expr = match ty.as_str() {
                _ if is_json => format!("JSON_EXTRACT({q}, '$')"),
                "decimal" => format!("CAST({q} AS CHAR)"),
                "date" => format!("DATE_FORMAT({q}, '%Y-%m-%d')"),
                "datetime" | "timestamp" => {
                    let digits = precision.unwrap_or(0);
                    let head = format!("DATE_FORMAT({q}, '%Y-%m-%dT%H:%i:%s')");
                    if digits == 0 {
                        format!("CONCAT({head}, 'Z')")
                    } else {
                        format!("CONCAT({head}, '.', LEFT(DATE_FORMAT({q}, '%f'), {digits}), 'Z')")
                    }
                }
                "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "varchar" | "char"
                | "text" | "longtext" => q,
                other => panic!("expected_rows: add a format for column type {other}"),
            };
            format!("'{name}', {expr}")
        })
        .collect();
    let rows: Vec<String> = c
        .query(format!(
            "SELECT JSON_OBJECT({}) FROM `{table}`",
            pairs.join(", ")
        ))
        .await
        .unwrap();
    c.disconnect().await.ok();
    rows.into_iter()
        .map(|text| {
            let row: Value = serde_json::from_str(&text).unwrap();
            let key = match &row[key_col] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, row)
        })
        .collect()
}

/// The change topic folded per `(table, key)` as a consumer applies it.
#[derive(Default)]
struct Fold {
    events: Vec<Value>,
    snapshot_rows: usize,
}

impl Fold {
    fn add(&mut self, event: Value) {
        if event["source"]["snapshot"] == true {
            assert_eq!(event["op"], "r", "{event}");
            assert!(event["before"].is_null(), "{event}");
            self.snapshot_rows += 1;
        }
        self.events.push(event);
    }

    /// Everything in source-position order, where a snapshot row stamped
    /// with position P comes just before the binlog change at P (it saw the
    /// data as of P), snapshot rows among themselves in arrival order (per
    /// key they share a partition, so arrival is publication order), binlog
    /// changes by `(file sequence, pos, row)`. With one snapshot this is
    /// "snapshot rows first, then the binlog by position".
    fn state(&self) -> BTreeMap<(String, String), Value> {
        let mut ordered: Vec<(usize, &Value)> = self.events.iter().enumerate().collect();
        ordered.sort_by_key(|(arrival, e)| {
            let s = &e["source"];
            let file = s["file"].as_str().unwrap();
            let seq: u64 = file.rsplit('.').next().unwrap().parse().unwrap();
            let snapshot = s["snapshot"] == true;
            let within = if snapshot {
                *arrival as u64
            } else {
                s["row"].as_u64().unwrap()
            };
            (seq, s["pos"].as_u64().unwrap(), !snapshot, within)
        });
        let mut state = BTreeMap::new();
        for (_, e) in ordered {
            let key = (
                e["table"].as_str().unwrap().to_string(),
                e["key"].as_str().unwrap().to_string(),
            );
            match e["op"].as_str().unwrap() {
                "d" => {
                    state.remove(&key);
                }
                _ => {
                    state.insert(key, e["after"].clone());
                }
            }
        }
        state
    }

    fn snapshot_rows(&self) -> usize {
        self.snapshot_rows
    }
}

/// What differs between the folded topic and the source, for the message.
fn differences(
    folded: &BTreeMap<(String, String), Value>,
    expected: &BTreeMap<(String, String), Value>,
) -> Option<String> {
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !folded.contains_key(*k))
        .collect();
    let extra: Vec<_> = folded
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(k, v)| folded.get(*k).is_some_and(|f| f != *v))
        .collect();
    if missing.is_empty() && extra.is_empty() && wrong.is_empty() {
        return None;
    }
    Some(format!(
        "{} missing (e.g. {:?}), {} extra (e.g. {:?}), {} different{}",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first(),
        wrong.len(),
        wrong
            .first()
            .map(|(k, v)| format!(" (e.g. {k:?}:\n  source {v}\n  folded {})", folded[*k]))
            .unwrap_or_default()
    ))
}

/// Reads the topic until its fold equals the source tables, or fails with
/// the differences after `timeout`. Returns the fold.
async fn fold_until_equal(
    topic: &str,
    expected: &BTreeMap<(String, String), Value>,
    timeout: Duration,
) -> Fold {
    let consumer = group_consumer(&Stack::get().brokers, &unique("fold"));
    consumer.subscribe(&[topic]).unwrap();
    let mut fold = Fold::default();
    let deadline = Instant::now() + timeout;
    loop {
        for (_, payload, _, _) in recv_n(&consumer, 1_000_000, Duration::from_secs(3)).await {
            fold.add(serde_json::from_slice(&payload.expect("payload")).unwrap());
        }
        let diff = differences(&fold.state(), expected);
        match diff {
            None => return fold,
            Some(d) if Instant::now() > deadline => panic!(
                "the folded topic ({} snapshot rows, {} binlog changes) differs from the source: {d}",
                fold.snapshot_rows,
                fold.events.len() - fold.snapshot_rows
            ),
            Some(_) => {}
        }
    }
}

async fn expected_app(url: &str, db: &str) -> BTreeMap<(String, String), Value> {
    let mut all = BTreeMap::new();
    for (table, key) in [("users", "id"), ("user_cim_details", "user_id")] {
        for (k, row) in expected_rows(url, db, table, key).await {
            all.insert((table.to_string(), k), row);
        }
    }
    all
}

/// The value of `field=` on the last log line containing `message`.
fn last_field(log: &str, message: &str, field: &str) -> Option<String> {
    let line = plain(log)
        .lines()
        .rev()
        .find(|l| l.contains(message))?
        .to_string();
    let at = line.find(&format!("{field}="))? + field.len() + 1;
    Some(
        line[at..]
            .split_whitespace()
            .next()?
            .trim_matches('"')
            .to_string(),
    )
}

/// `FILE:POS` from the summary line `snapshot complete: … at FILE:POS`.
fn summary_position(log: &str) -> String {
    let log = plain(log);
    let line = log
        .lines()
        .rev()
        .find(|l| l.starts_with("snapshot complete: "))
        .unwrap_or_else(|| panic!("no summary line in:\n{log}"));
    line.rsplit(" at ").next().unwrap().to_string()
}

async fn run_to_end(mut s: Streamer, what: &str) -> String {
    let status = s.wait_exit(SNAPSHOT_WAIT).await;
    let log = s.log_text();
    assert!(status.success(), "{what} failed ({status}):\n{log}");
    log
}

/// Snapshot under writes (optionally killed halfway and resumed), then the
/// reader from the snapshot position: the folded topic equals the source.
async fn snapshot_under_writes(kill_halfway: bool) {
    let _one_at_a_time = LARGE.lock().await;
    let started = Instant::now();
    let stack = Stack::get();
    let n = users_n();
    let db = stack.scratch_db("snap").await;
    load_users(&db_url(&db), n).await;
    let initial_rows = n + n / 2;
    let setup = Pipeline::reader(&db, &["users", "user_cim_details"], &cdc_url());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_writer(&db_url(&db), n + 1, stop.clone());

    let args = ["snapshot", "--chunk-size", "500", "--progress-secs", "1"];
    let log = if kill_halfway {
        let mut first = setup.spawn(&args);
        // Kill once some chunks are stored, before the end.
        let deadline = Instant::now() + SNAPSHOT_WAIT;
        loop {
            let log = first.log_text();
            assert!(
                !log.contains("snapshot complete"),
                "the snapshot finished before it could be killed; raise CDC_TEST_SNAPSHOT_USERS:\n{log}"
            );
            let saved: u64 = last_field(&log, "snapshot progress", "saved")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if saved > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "no progress logged:\n{log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        first.kill9();
        let first_log = first.log_text();
        let position = last_field(&first_log, "starting a new snapshot", "position")
            .unwrap_or_else(|| panic!("no start line:\n{first_log}"));
        println!(
            "killed the snapshot at {:?} after {:?}",
            last_field(&first_log, "snapshot progress", "saved"),
            started.elapsed()
        );
        let log = run_to_end(setup.spawn(&args), "the resumed snapshot").await;
        assert!(
            plain(&log).contains(&format!("resuming snapshot taken at {position}")),
            "the rerun must resume at {position}:\n{log}"
        );
        assert_eq!(
            summary_position(&log),
            position,
            "resuming keeps the position"
        );
        log
    } else {
        run_to_end(setup.spawn(&args), "the snapshot").await
    };
    let position = summary_position(&log);
    let snapshot_done = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(writes > 0, "the writer ran during the snapshot");

    let mut reader = setup.start_reader().await;
    assert!(
        plain(&reader.log_text()).contains(&position),
        "the reader resumes at the snapshot position {position}:\n{}",
        reader.log_text()
    );
    let expected = expected_app(&db_url(&db), &db).await;
    let fold = fold_until_equal(&setup.topic, &expected, Duration::from_secs(180)).await;
    assert!(
        (fold.snapshot_rows() as u64) < 2 * initial_rows,
        "{} snapshot rows for about {initial_rows} rows: the rerun started over",
        fold.snapshot_rows()
    );
    reader.terminate(WAIT).await;
    println!(
        "snapshot of {initial_rows} rows under {writes} concurrent writes{}: {} snapshot rows published, \
         snapshot done after {snapshot_done:?}, folded topic equal to the source after {:?}",
        if kill_halfway { " (killed and resumed)" } else { "" },
        fold.snapshot_rows(),
        started.elapsed()
    );
}

#[tokio::test]
async fn snapshot_then_reader_equals_the_source_under_writes() {
    snapshot_under_writes(false).await;
}

#[tokio::test]
async fn a_killed_snapshot_resumes_where_it_stopped() {
    snapshot_under_writes(true).await;
}

#[tokio::test]
async fn empty_tables_and_composite_keys() {
    let stack = Stack::get();
    let db = stack.scratch_db("snapkeys").await;
    exec(
        &db_url(&db),
        "CREATE TABLE empty_t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    // A composite key whose second part is text in a case-insensitive
    // collation, and several rows per first part across chunk boundaries.
    exec(
        &db_url(&db),
        "CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b)) \
         DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    )
    .await;
    exec(
        &db_url(&db),
        "INSERT INTO pairs SELECT seq DIV 47, CONCAT(ELT(1 + seq % 3, 'k', 'Zoë-', '😀-'), seq), seq \
         FROM seq_1_to_2345",
    )
    .await;
    let setup = Pipeline::reader(&db, &["empty_t", "pairs"], &cdc_url());
    let log = run_to_end(
        setup.spawn(&["snapshot", "--chunk-size", "100"]),
        "the snapshot",
    )
    .await;
    assert!(
        plain(&log).contains("snapshot complete: 2345 rows from 2 tables at "),
        "{log}"
    );

    let events = setup.events(2345).await;
    assert_eq!(events.len(), 2345);
    let mut seen: HashMap<(i64, String), i64> = HashMap::new();
    for e in &events {
        assert_eq!(
            (e["op"].as_str(), e["table"].as_str()),
            (Some("r"), Some("pairs")),
            "{e}"
        );
        let after = &e["after"];
        assert_eq!(
            e["key"],
            after["a"].to_string(),
            "keyed by the first column"
        );
        let key = (
            after["a"].as_i64().unwrap(),
            after["b"].as_str().unwrap().to_string(),
        );
        assert!(
            seen.insert(key, after["v"].as_i64().unwrap()).is_none(),
            "row read twice: {e}"
        );
    }
    for seq in 1..=2345i64 {
        let b = format!("{}{seq}", ["k", "Zoë-", "😀-"][(seq % 3) as usize]);
        assert_eq!(
            seen.get(&(seq / 47, b.clone())),
            Some(&seq),
            "row ({}, {b})",
            seq / 47
        );
    }

    // The reader continues at the snapshot position: the first row of the
    // empty table arrives as an insert.
    let mut reader = setup.start_reader().await;
    exec(&db_url(&db), "INSERT INTO empty_t VALUES (1, 'first')").await;
    let events = setup.events(2346).await;
    let inserts: Vec<&Value> = events.iter().filter(|e| e["op"] != "r").collect();
    assert_eq!(inserts.len(), 1, "{inserts:?}");
    assert_eq!(
        (inserts[0]["op"].as_str(), inserts[0]["table"].as_str()),
        (Some("c"), Some("empty_t"))
    );
    assert_eq!(inserts[0]["after"], json!({"id": 1, "v": "first"}));
    reader.terminate(WAIT).await;
}

#[tokio::test]
async fn every_column_type_is_read_exactly_as_the_binlog_writes_it() {
    let stack = Stack::get();
    let db = stack.scratch_db("snaptypes").await;
    // The table and values of tests/reader.rs `every_column_type_round_trips_exactly`.
    exec(
        &db_url(&db),
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
    exec(
        &db_url(&db),
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
    let setup = Pipeline::reader(&db, &["types"], &cdc_url());
    run_to_end(setup.spawn(&["snapshot"]), "the snapshot").await;
    let events = setup.events(1).await;
    assert_eq!(events.len(), 1);
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
        expected.as_object().unwrap().len()
    );
    let e = &events[0];
    assert_eq!(
        (e["op"].as_str(), e["key"].as_str()),
        (Some("r"), Some("18446744073709551615"))
    );
    assert_eq!(e["source"]["snapshot"], true);
    assert!(e["before"].is_null());
}

#[test]
fn fields_are_read_from_coloured_log_lines() {
    let line = "\u{1b}[2m2026\u{1b}[0m INFO snapshot progress \u{1b}[3msaved\u{1b}[0m\u{1b}[2m=\u{1b}[0m1500 rows=2000\n";
    assert_eq!(
        last_field(line, "snapshot progress", "saved").as_deref(),
        Some("1500")
    );
}

/// `source.snapshot = "when_needed"` through the reader: no checkpoint →
/// snapshot first; later the checkpoint's binlog is purged → snapshot again
/// and stream on. Binlogs are purged on a private server, never the shared
/// one.
#[tokio::test]
async fn the_reader_snapshots_when_there_is_no_checkpoint_and_when_its_binlog_is_purged() {
    let server = tokio::task::spawn_blocking(|| {
        PrivateMariaDb::start(&[
            "--log-bin=mysql-bin",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            "--default-time-zone=+00:00",
        ])
    })
    .await
    .unwrap();
    let db = "app";
    exec(
        &server.url(),
        &format!("CREATE DATABASE {db} CHARACTER SET utf8mb4"),
    )
    .await;
    let url = format!("{}/{db}", server.url());
    for statement in sql_statements(&read_sql("app-schema.sql")) {
        exec(&url, &statement).await;
    }
    load_users(&url, 300).await;
    let setup = Pipeline::new(Parts {
        db,
        tables: &["users", "user_cim_details"],
        source_url: server.url(),
        sim: None,
        target_db: None,
        source_extra: "snapshot = \"when_needed\"",
    });

    let mut reader = setup.start_reader().await;
    assert!(
        plain(&reader.log_text()).contains("no checkpoint; taking the initial snapshot first"),
        "{}",
        reader.log_text()
    );
    exec(&url, "UPDATE users SET first_name = 'Live' WHERE id = 1").await;
    fold_until_equal(&setup.topic, &expected_app(&url, db).await, WAIT).await;
    reader.terminate(WAIT).await;

    // Changes land in a binlog that is then purged with the checkpoint's.
    // (Not a delete: a snapshot cannot tell that a row is gone; see
    // docs/snapshot.md.)
    exec(&url, "FLUSH BINARY LOGS").await;
    exec(&url, "UPDATE users SET first_name = 'Lost' WHERE id <= 10").await;
    exec(
        &url,
        "INSERT INTO users (id, email, signed_up_at) VALUES (301, 'gap@example.com', NOW(3))",
    )
    .await;
    exec(&url, "FLUSH BINARY LOGS").await;
    let mut c = conn(&url).await;
    let logs: Vec<String> = c
        .query_map("SHOW BINARY LOGS", |row: mysql_async::Row| {
            row.get::<String, _>(0).unwrap()
        })
        .await
        .unwrap();
    c.query_drop(format!("PURGE BINARY LOGS TO '{}'", logs.last().unwrap()))
        .await
        .unwrap();
    c.disconnect().await.ok();

    let mut reader = setup.spawn(&["reader"]);
    reader
        .wait_for_log(
            "taking a snapshot (source.snapshot = \"when_needed\")",
            WAIT,
        )
        .await;
    reader.wait_for_log("binlog stream opened", WAIT).await;
    exec(&url, "UPDATE users SET first_name = 'After' WHERE id = 2").await;
    fold_until_equal(&setup.topic, &expected_app(&url, db).await, WAIT).await;
    reader.terminate(WAIT).await;
}
