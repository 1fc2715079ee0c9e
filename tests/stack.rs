//! The local stack itself: what `deploy/local/up.sh` promises, checked against the running
//! test stack (MariaDB, broker, simulator) and a private MariaDB. If these fail, every other
//! integration test's failure is suspect. Run: `bash deploy/local/test.sh -p cdc-tests --test stack`.

use std::collections::HashMap;
use std::time::Duration;

use cdc_tests::kafka::{consume_all, create_topic, group_consumer, recv_n};
use cdc_tests::{unique, PrivateMariaDb, Stack};
use mysql_async::prelude::Queryable;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Offset;
use serde_json::{json, Value};

async fn cdc_conn(stack: &Stack) -> mysql_async::Conn {
    let url = stack.mysql_url_as("cdc", "cdc", None);
    mysql_async::Conn::from_url(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("connecting as cdc to {url}: {e}"))
}

async fn variables(conn: &mut mysql_async::Conn, names: &[&str]) -> HashMap<String, String> {
    let list = names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(",");
    conn.query(format!("SHOW VARIABLES WHERE Variable_name IN ({list})"))
        .await
        .unwrap()
        .into_iter()
        .collect()
}

// --- MariaDB ---------------------------------------------------------------------------------

#[tokio::test]
async fn cdc_user_sees_a_full_row_binlog_and_has_replication_grants() {
    let mut conn = cdc_conn(Stack::get()).await;
    let vars = variables(
        &mut conn,
        &[
            "log_bin",
            "binlog_format",
            "binlog_row_image",
            "binlog_row_metadata",
            "max_allowed_packet",
        ],
    )
    .await;
    assert_eq!(vars["log_bin"], "ON");
    assert_eq!(vars["binlog_format"], "ROW");
    assert_eq!(vars["binlog_row_image"], "FULL");
    assert_eq!(vars["binlog_row_metadata"], "FULL");
    // The large-row tests send 17 MB rows.
    assert!(vars["max_allowed_packet"].parse::<u64>().unwrap() >= 64 << 20);

    let grants: Vec<String> = conn.query("SHOW GRANTS").await.unwrap();
    let on_all = grants
        .iter()
        .find(|g| g.contains(" ON *.* "))
        .unwrap_or_else(|| panic!("no global grant for cdc: {grants:?}"));
    assert!(on_all.contains("REPLICATION SLAVE"), "{on_all}");
    // MariaDB 10.5+ shows REPLICATION CLIENT under its new name, BINLOG MONITOR.
    assert!(
        on_all.contains("REPLICATION CLIENT") || on_all.contains("BINLOG MONITOR"),
        "{on_all}"
    );
    assert!(
        on_all.contains("SELECT") && on_all.contains("RELOAD"),
        "{on_all}"
    );

    // The position API the reader starts from answers for cdc.
    let status: Option<mysql_async::Row> = conn.query_first("SHOW MASTER STATUS").await.unwrap();
    assert!(status.is_some(), "SHOW MASTER STATUS returned nothing");
}

#[tokio::test]
async fn app_holds_sample_users_and_crm_its_target_tables() {
    let mut conn = cdc_conn(Stack::get()).await;
    let users: u64 = conn
        .query_first("SELECT COUNT(*) FROM app.users")
        .await
        .unwrap()
        .unwrap();
    assert!((200..=1000).contains(&users), "{users} users in app.users");
    let details: u64 = conn
        .query_first("SELECT COUNT(*) FROM app.user_cim_details")
        .await
        .unwrap()
        .unwrap();
    assert!(
        details * 10 >= users * 7 && details < users,
        "{details} of {users}"
    );

    let emoji: Option<String> = conn
        .query_first("SELECT first_name FROM app.users WHERE first_name LIKE '%🚀%' LIMIT 1")
        .await
        .unwrap();
    assert!(emoji.is_some(), "the utf8mb4 sample name did not survive");

    let crm: Vec<String> = conn.query("SHOW TABLES FROM crm").await.unwrap();
    assert_eq!(crm, ["user_cim_details", "users"]);
}

#[tokio::test]
async fn scratch_databases_are_separate_and_carry_the_app_schema() {
    let stack = Stack::get();
    let (a, b) = (
        stack.scratch_db("stack").await,
        stack.scratch_db("stack").await,
    );
    assert_ne!(a, b);
    let mut conn = mysql_async::Conn::from_url(stack.mysql_url_db(&a).as_str())
        .await
        .unwrap();
    let tables: Vec<String> = conn.query("SHOW TABLES").await.unwrap();
    assert_eq!(tables, ["user_cim_details", "users"]);
    conn.query_drop(
        "INSERT INTO users (email, first_name, signed_up_at) VALUES ('a@example.com', 'A', NOW(3))",
    )
    .await
    .unwrap();
    let in_b: u64 = conn
        .query_first(format!("SELECT COUNT(*) FROM `{b}`.users"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_b, 0);
}

#[tokio::test]
async fn private_mariadb_runs_with_the_settings_it_was_given() {
    let server = tokio::task::spawn_blocking(|| {
        PrivateMariaDb::start(&["--log-bin", "--binlog-format=STATEMENT"])
    })
    .await
    .unwrap();
    let mut conn = mysql_async::Conn::from_url(server.url().as_str())
        .await
        .unwrap();
    let (format, log_bin): (String, u8) = conn
        .query_first("SELECT @@binlog_format, @@log_bin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((format.as_str(), log_bin), ("STATEMENT", 1));
    conn.disconnect().await.unwrap();

    let dir = server.dir().to_owned();
    drop(server);
    assert!(!dir.exists(), "{} left behind", dir.display());
}

// --- Broker ----------------------------------------------------------------------------------

#[tokio::test]
async fn idempotent_producer_and_group_offsets_round_trip() {
    let brokers = &Stack::get().brokers;
    let topic = unique("stack_roundtrip");
    create_topic(brokers, &topic, 3).await;

    let producer: FutureProducer = cdc_tests::kafka::client_config(brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()
        .expect("creating the producer");
    let send = |i: u32| {
        let (producer, topic) = (&producer, &topic);
        async move {
            let (key, payload) = (format!("user-{i}"), format!("{{\"n\":{i}}}"));
            producer
                .send(
                    FutureRecord::to(topic).key(&key).payload(&payload),
                    Duration::from_secs(10),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("delivering message {i}: {e}"))
        }
    };
    for i in 0..10 {
        send(i).await;
    }

    // A fresh group sees all ten, keys intact.
    let all = consume_all(brokers, &topic, 10, Duration::from_secs(30)).await;
    let mut keys: Vec<String> = all
        .iter()
        .map(|(k, ..)| String::from_utf8(k.clone().unwrap()).unwrap())
        .collect();
    keys.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("user-{i}")).collect();
    expected.sort();
    assert_eq!(keys, expected);

    // A named group reads them, commits, and the committed offsets add up to ten.
    let group = unique("stack_group");
    {
        let consumer = group_consumer(brokers, &group);
        consumer.subscribe(&[&topic]).unwrap();
        let got = recv_n(&consumer, 10, Duration::from_secs(30)).await;
        assert_eq!(got.len(), 10);
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
        let committed = consumer.committed(Duration::from_secs(10)).unwrap();
        let total: i64 = committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(n) => Some(n),
                _ => None,
            })
            .sum();
        assert_eq!(total, 10, "committed offsets {committed:?}");
    }

    // The same group, re-opened, resumes after the commit: only the new message arrives.
    let consumer = group_consumer(brokers, &group);
    consumer.subscribe(&[&topic]).unwrap();
    send(10).await;
    let again = recv_n(&consumer, 2, Duration::from_secs(20)).await;
    let again_keys: Vec<_> = again.iter().map(|(k, ..)| k.clone().unwrap()).collect();
    assert_eq!(again_keys, [b"user-10".to_vec()], "re-delivered: {again:?}");
}

// --- HubSpot simulator -----------------------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn upsert(inputs: Vec<Value>) -> (u16, Value) {
    let stack = Stack::get();
    let response = http()
        .post(format!(
            "{}/crm/v3/objects/contacts/batch/upsert",
            stack.sim_url
        ))
        .bearer_auth(&stack.sim_token)
        .json(&json!({ "inputs": inputs }))
        .send()
        .await
        .expect("POST batch/upsert");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn contact(email: &str) -> Value {
    json!({"id": email, "idProperty": "email", "properties": {"email": email, "firstname": "T"}})
}

/// The HTTP status of reading one contact by email.
async fn get_status(email: &str) -> u16 {
    let stack = Stack::get();
    http()
        .get(format!(
            "{}/crm/v3/objects/contacts/{email}?idProperty=email",
            stack.sim_url
        ))
        .bearer_auth(&stack.sim_token)
        .send()
        .await
        .expect("GET contact")
        .status()
        .as_u16()
}

#[tokio::test]
async fn simulator_requires_the_token() {
    let stack = Stack::get();
    let response = http()
        .get(format!("{}/crm/v3/properties/contacts", stack.sim_url))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn simulator_has_the_demo_properties() {
    let stack = Stack::get();
    let body: Value = http()
        .get(format!("{}/crm/v3/properties/contacts", stack.sim_url))
        .bearer_auth(&stack.sim_token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let results = body["results"].as_array().expect("results[]");
    let find = |name: &str| {
        results
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("property {name} missing"))
    };
    assert_eq!(find("app_user_id")["hasUniqueValue"], true);
    assert_eq!(find("segments")["options"].as_array().unwrap().len(), 20);
    assert_eq!(
        find("annual_purchase_range")["options"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
    assert_eq!(find("user_status")["type"], "enumeration");
    for name in [
        "is_paid",
        "date_of_birth",
        "signed_up_at",
        "account_balance",
        "work_phone",
    ] {
        find(name);
    }
}

#[tokio::test]
async fn simulator_rejects_batches_over_100_inputs() {
    let run = unique("big");
    let inputs = (0..101)
        .map(|i| contact(&format!("{run}-{i}@example.com")))
        .collect();
    let (status, body) = upsert(inputs).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(get_status(&format!("{run}-0@example.com")).await, 404);
}

#[tokio::test]
async fn simulator_rejects_a_whole_batch_for_one_bad_email() {
    let run = unique("bad");
    let good = [
        format!("{run}-a@example.com"),
        format!("{run}-b@example.com"),
    ];
    let (status, body) = upsert(vec![
        contact(&good[0]),
        contact("not-an-email"),
        contact(&good[1]),
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    for email in &good {
        assert_eq!(get_status(email).await, 404, "{email} was stored");
    }

    // The same good contacts without the bad one are stored: the 404s above were real.
    let (status, body) = upsert(good.iter().map(|e| contact(e)).collect()).await;
    assert_eq!(status, 200, "{body}");
    for email in &good {
        assert_eq!(get_status(email).await, 200, "{email} not stored");
    }
}
