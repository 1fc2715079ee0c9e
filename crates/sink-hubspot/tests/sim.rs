//! The client over real HTTP against `hubspot-sim`, started in-process on
//! 127.0.0.1:0. Needs nothing else: no HubSpot account, no network.
//!
//! Backoffs are shortened so the suite stays fast; the slowest tests are the
//! 429 storm (the simulator allows 5 requests per second) and 423/477 (at
//! least 2 s and 1 s of waiting, as HubSpot requires).

use std::time::Duration;

use cdc_sink_hubspot::{
    AccessToken, ArchiveInput, ExpectedType, HubSpotClient, HubSpotConfig, HubSpotError,
    UpsertInput,
};
use hubspot_sim::SimConfig;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;
use tokio::time::Instant;

const TOKEN: &str = "test-token";

/// A simulator running on its own port, stopped when dropped.
struct Sim {
    base_url: String,
    http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl Sim {
    async fn start(config: SimConfig) -> Sim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let config = SimConfig {
            tokens: vec![TOKEN.into()],
            ..config
        };
        tokio::spawn(hubspot_sim::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Sim {
            base_url,
            http: reqwest::Client::new(),
            _shutdown: shutdown,
        }
    }

    async fn default() -> Sim {
        Sim::start(SimConfig::default()).await
    }

    /// A client with test-sized backoffs and generous pacing.
    fn client(&self, adjust: impl FnOnce(&mut HubSpotConfig)) -> HubSpotClient {
        let mut config = HubSpotConfig {
            base_url: self.base_url.clone(),
            rate_limit_requests: 1000,
            rate_limit_interval_ms: 1000,
            request_timeout_ms: 5000,
            backoff_initial_ms: 10,
            backoff_max_ms: 100,
            ..HubSpotConfig::default()
        };
        adjust(&mut config);
        HubSpotClient::new(config, AccessToken::new(TOKEN)).unwrap()
    }

    async fn faults(&self, patch: Value) {
        let response = self
            .http
            .post(format!("{}/__sim/faults", self.base_url))
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{patch}");
    }

    async fn stats(&self) -> Value {
        self.get("/__sim/stats").await
    }

    async fn contacts(&self) -> Vec<Value> {
        let body = self.get("/__sim/contacts").await;
        body["results"].as_array().unwrap().clone()
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Creates a custom contact property through the API, as an operator
    /// would in HubSpot's settings.
    async fn create_property(&self, definition: Value) {
        let response = self
            .http
            .post(format!("{}/crm/v3/properties/contacts", self.base_url))
            .bearer_auth(TOKEN)
            .json(&definition)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{definition}");
    }

    /// Count of API answers with `status`, over all routes.
    async fn answers_with(&self, status: u16) -> u64 {
        let stats = self.stats().await;
        stats["requests"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|by_status| by_status.get(status.to_string()))
            .map(|n| n.as_u64().unwrap())
            .sum()
    }
}

fn contact(i: usize) -> UpsertInput {
    let mut properties = Map::new();
    properties.insert("firstname".into(), json!(format!("User{i}")));
    properties.insert("lastname".into(), json!("Test"));
    UpsertInput {
        id: format!("user{i}@example.com"),
        properties,
        tag: i as u64,
    }
}

fn contacts(range: std::ops::Range<usize>) -> Vec<UpsertInput> {
    range.map(contact).collect()
}

fn property_of<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["properties"][name].as_str()
}

#[tokio::test]
async fn upserts_250_contacts_in_3_calls() {
    let sim = Sim::default().await;
    let client = sim.client(|_| {});
    let outcome = client.upsert(contacts(0..250)).await.unwrap();
    assert_eq!(outcome.applied, 250);
    assert_eq!(outcome.calls, 3);
    assert_eq!(outcome.retries, 0);
    assert!(outcome.dead_letters.is_empty());
    assert_eq!(sim.stats().await["batch_calls"], 3);
    assert_eq!(sim.contacts().await.len(), 250);
}

#[tokio::test]
async fn legacy_v3_paths_work_too() {
    let sim = Sim::default().await;
    let client = sim.client(|c| c.api_version = "v3".into());
    let outcome = client.upsert(contacts(0..5)).await.unwrap();
    assert_eq!(outcome.applied, 5);
    assert_eq!(sim.contacts().await.len(), 5);
}

#[tokio::test]
async fn one_invalid_email_is_dead_lettered_and_99_delivered() {
    let sim = Sim::default().await;
    let client = sim.client(|_| {});
    let mut batch = contacts(0..100);
    batch[42].id = "not-an-email".into();
    let outcome = client.upsert(batch).await.unwrap();
    assert_eq!(outcome.applied, 99);
    assert_eq!(outcome.dead_letters.len(), 1);
    let dead = &outcome.dead_letters[0];
    assert_eq!(dead.input.tag, 42);
    assert_eq!(dead.status, 400);
    assert_eq!(dead.category.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(dead.error_codes(), vec!["INVALID_EMAIL"]);
    assert!(dead.correlation_id.is_some());
    // The simulator names the bad input: refused batch, the 99, the one.
    assert_eq!(outcome.calls, 3);
    assert_eq!(sim.contacts().await.len(), 99);
}

#[tokio::test]
async fn a_date_not_at_midnight_is_dead_lettered() {
    let sim = Sim::default().await;
    sim.create_property(json!({"name":"date_of_birth","label":"Date of birth",
        "type":"date","fieldType":"date"}))
        .await;
    let client = sim.client(|_| {});
    let mut batch = contacts(0..10);
    for input in &mut batch {
        // 1 May 2015, midnight UTC.
        input
            .properties
            .insert("date_of_birth".into(), json!("1430438400000"));
    }
    batch[7]
        .properties
        .insert("date_of_birth".into(), json!("1430438400001"));
    let outcome = client.upsert(batch).await.unwrap();
    assert_eq!(outcome.applied, 9);
    assert_eq!(outcome.dead_letters.len(), 1);
    assert_eq!(outcome.dead_letters[0].input.tag, 7);
    assert_eq!(outcome.dead_letters[0].error_codes(), vec!["INVALID_DATE"]);
    let stored = sim.contacts().await;
    assert_eq!(stored.len(), 9);
    assert!(stored
        .iter()
        .all(|c| property_of(c, "date_of_birth").is_some()));
}

#[tokio::test]
async fn a_429_storm_loses_nothing() {
    let sim = Sim::start(SimConfig {
        rate_limit: 5,
        rate_window: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    // Configured for HubSpot's free tier, far above what this "account"
    // allows: the client must learn from the 429s and headers.
    let client = sim.client(|c| {
        c.rate_limit_requests = 100;
        c.rate_limit_interval_ms = 10_000;
    });
    let mut tasks = tokio::task::JoinSet::new();
    for batch in 0..30 {
        let client = client.clone();
        tasks.spawn(async move { client.upsert(contacts(batch * 3..batch * 3 + 3)).await });
    }
    let mut applied = 0;
    while let Some(result) = tasks.join_next().await {
        let outcome = result.unwrap().unwrap();
        assert!(outcome.dead_letters.is_empty());
        applied += outcome.applied;
    }
    assert_eq!(applied, 90);
    assert_eq!(sim.contacts().await.len(), 90);
    let stats = sim.stats().await;
    assert!(stats["rate_limited"].as_u64().unwrap() >= 1, "{stats}");
}

#[tokio::test]
async fn three_503s_are_retried_and_the_batch_stored() {
    let sim = Sim::default().await;
    sim.faults(json!({"fail_next": 3, "error_status": 503}))
        .await;
    let client = sim.client(|_| {});
    let outcome = client.upsert(contacts(0..10)).await.unwrap();
    assert_eq!(outcome.applied, 10);
    assert_eq!(outcome.calls, 4);
    assert_eq!(outcome.retries, 3);
    assert_eq!(sim.answers_with(503).await, 3);
    assert_eq!(sim.contacts().await.len(), 10);
}

#[tokio::test]
async fn too_many_5xx_is_a_retriable_error_and_nothing_is_lost() {
    let sim = Sim::default().await;
    sim.faults(json!({"fail_next": 100, "error_status": 502}))
        .await;
    let client = sim.client(|c| c.max_retries = 2);
    let err = client.upsert(contacts(0..10)).await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
    assert!(matches!(err, HubSpotError::Retriable { attempts: 3, .. }));
    // The caller keeps the batch and tries again once HubSpot recovers.
    sim.faults(json!({"fail_next": 0})).await;
    assert_eq!(client.upsert(contacts(0..10)).await.unwrap().applied, 10);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported_as_retriable() {
    let sim = Sim::default().await;
    sim.faults(json!({"latency_ms": 400})).await;
    let client = sim.client(|c| {
        c.request_timeout_ms = 100;
        c.max_retries = 1;
    });
    let err = client.upsert(contacts(0..3)).await.unwrap_err();
    assert!(
        matches!(err, HubSpotError::Retriable { attempts: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    // A timed-out request may still have been applied; repeating it is safe.
    sim.faults(json!({"latency_ms": 0})).await;
    assert_eq!(client.upsert(contacts(0..3)).await.unwrap().applied, 3);
    assert_eq!(sim.contacts().await.len(), 3);
}

/// Sets a fault rate to 1, starts an upsert, waits for the client to meet
/// the fault, lifts it, and returns the outcome and how long it took.
async fn survive(sim: &Sim, rate: &str, status: u16) -> (cdc_sink_hubspot::BatchOutcome, Duration) {
    sim.faults(json!({ rate: 1.0 })).await;
    let client = sim.client(|_| {});
    let start = Instant::now();
    let upsert = tokio::spawn(async move { client.upsert(contacts(0..5)).await });
    while sim.answers_with(status).await == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.faults(json!({ rate: 0.0 })).await;
    let outcome = upsert.await.unwrap().unwrap();
    (outcome, start.elapsed())
}

#[tokio::test]
async fn locked_423_is_waited_out_for_at_least_2_seconds() {
    let sim = Sim::default().await;
    let (outcome, took) = survive(&sim, "locked_rate", 423).await;
    assert_eq!(outcome.applied, 5);
    assert!(outcome.retries >= 1);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert_eq!(sim.contacts().await.len(), 5);
}

#[tokio::test]
async fn status_477_honours_retry_after() {
    let sim = Sim::default().await;
    sim.faults(json!({"retry_after_s": 1})).await;
    let (outcome, took) = survive(&sim, "status_477_rate", 477).await;
    assert_eq!(outcome.applied, 5);
    assert!(outcome.retries >= 1);
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!(sim.contacts().await.len(), 5);
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_after_one_request() {
    let sim = Sim::default().await;
    let config = HubSpotConfig {
        base_url: sim.base_url.clone(),
        token_env: "MY_HUBSPOT_TOKEN".into(),
        ..HubSpotConfig::default()
    };
    let client = HubSpotClient::new(config, AccessToken::new("pat-na1-secret-value")).unwrap();
    let err = client.upsert(contacts(0..3)).await.unwrap_err();
    assert!(matches!(err, HubSpotError::Unauthorized { .. }), "{err}");
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("MY_HUBSPOT_TOKEN"));
    assert!(!err.to_string().contains("pat-na1-secret-value"));
    assert_eq!(sim.stats().await["total_requests"], 1);
}

fn expected(list: &[(&str, ExpectedType)]) -> Vec<(String, ExpectedType)> {
    list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

#[tokio::test]
async fn property_check_passes_for_matching_types() {
    let sim = Sim::default().await;
    sim.create_property(json!({"name":"date_of_birth","label":"Date of birth",
        "type":"date","fieldType":"date"}))
        .await;
    let client = sim.client(|_| {});
    client
        .check_properties(&expected(&[
            ("email", ExpectedType::String),
            ("firstname", ExpectedType::String),
            ("phone", ExpectedType::String),
            ("date_of_birth", ExpectedType::Date),
            ("lifecyclestage", ExpectedType::Enumeration),
        ]))
        .await
        .unwrap();
}

#[tokio::test]
async fn property_check_names_wrong_and_missing_properties() {
    let sim = Sim::default().await;
    sim.create_property(json!({"name":"date_of_birth","label":"Date of birth",
        "type":"string","fieldType":"text"}))
        .await;
    let client = sim.client(|_| {});
    let err = client
        .check_properties(&expected(&[
            ("email", ExpectedType::String),
            ("date_of_birth", ExpectedType::Date),
            ("favourite_colour", ExpectedType::Enumeration),
        ]))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HubSpotError::PropertyMismatch { ref problems } if problems.len() == 2));
    assert!(
        text.contains(
            "HubSpot property `date_of_birth` is of type `string`, the mapping converts to `date`"
        ),
        "{text}"
    );
    assert!(text.contains("`favourite_colour`"), "{text}");
}

#[tokio::test]
async fn property_check_requires_a_unique_custom_id_property() {
    let sim = Sim::default().await;
    sim.create_property(json!({"name":"app_user_id","label":"App user id",
        "type":"string","fieldType":"text"}))
        .await;
    let client = sim.client(|c| c.id_property = "app_user_id".into());
    let err = client.check_properties(&[]).await.unwrap_err();
    assert!(err.to_string().contains("unique value"), "{err}");
}

#[tokio::test]
async fn archive_by_custom_id_property_removes_the_contact() {
    let sim = Sim::default().await;
    sim.create_property(json!({"name":"app_user_id","label":"App user id",
        "type":"string","fieldType":"text","hasUniqueValue":true}))
        .await;
    let client = sim.client(|c| c.id_property = "app_user_id".into());
    client.check_properties(&[]).await.unwrap();
    let mut batch = contacts(0..3);
    for (i, input) in batch.iter_mut().enumerate() {
        let email = input.id.clone();
        input.properties.insert("email".into(), json!(email));
        input.id = format!("u-{i}");
    }
    assert_eq!(client.upsert(batch).await.unwrap().applied, 3);

    let outcome = client
        .archive(vec![
            ArchiveInput {
                id: "u-1".into(),
                tag: 1,
            },
            // Never existed: already gone, which is what archiving wants.
            ArchiveInput {
                id: "u-404".into(),
                tag: 2,
            },
        ])
        .await
        .unwrap();
    assert_eq!(outcome.applied, 2);
    assert!(outcome.dead_letters.is_empty());
    // batch/read, then batch/archive.
    assert_eq!(outcome.calls, 2);
    let left: Vec<String> = sim
        .contacts()
        .await
        .iter()
        .filter_map(|c| property_of(c, "app_user_id").map(String::from))
        .collect();
    assert_eq!(left, vec!["u-0", "u-2"]);
    assert_eq!(sim.stats().await["records_archived"], 1);
}

#[tokio::test]
async fn a_property_that_does_not_exist_stops_instead_of_dead_lettering_everything() {
    let sim = Sim::default().await;
    let client = sim.client(|_| {});
    let mut batch = contacts(0..20);
    for input in &mut batch {
        input
            .properties
            .insert("no_such_property".into(), json!("x"));
    }
    let err = client.upsert(batch).await.unwrap_err();
    assert!(
        matches!(err, HubSpotError::UnknownProperties { .. }),
        "{err}"
    );
    assert_eq!(sim.stats().await["total_requests"], 1);
}
