//! The simulator over real HTTP, one test per HubSpot rule it reproduces.
//! Each test starts its own simulator on 127.0.0.1:0 (no shared state, no
//! fixed ports) and needs nothing else running.

use hubspot_sim::{serve, SimConfig};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "test-token";
const DATED: &str = "/crm/objects/2026-03/contacts";
const LEGACY: &str = "/crm/v3/objects/contacts";
const PROPS: &str = "/crm/v3/properties/contacts";

struct Sim {
    base: String,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

fn config() -> SimConfig {
    SimConfig {
        tokens: vec![TOKEN.to_string()],
        ..Default::default()
    }
}

async fn start(config: SimConfig) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    Sim {
        base,
        client: reqwest::Client::new(),
        stop,
        task,
    }
}

impl Sim {
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        let url = format!("{}{path}", self.base);
        self.send(self.client.post(url).bearer_auth(TOKEN).json(&body))
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        let url = format!("{}{path}", self.base);
        self.send(self.client.get(url).bearer_auth(TOKEN)).await
    }

    /// Control endpoints: no token.
    async fn control_get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        self.send(self.client.get(url)).await.body
    }

    async fn control_post(&self, path: &str, body: Value) -> Reply {
        let url = format!("{}{path}", self.base);
        self.send(self.client.post(url).json(&body)).await
    }

    async fn upsert(&self, inputs: Value) -> Reply {
        self.post(
            &format!("{DATED}/batch/upsert"),
            json!({ "inputs": inputs }),
        )
        .await
    }

    async fn live_contacts(&self) -> Vec<Value> {
        let body = self.control_get("/__sim/contacts").await;
        body["results"].as_array().cloned().unwrap_or_default()
    }

    async fn create_property(&self, body: Value) -> Reply {
        self.post(PROPS, body).await
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

fn by_email(email: &str, properties: Value) -> Value {
    json!({ "id": email, "idProperty": "email", "properties": properties })
}

/// Asserts a whole-batch validation failure and returns its error codes.
fn validation_codes(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["status"], "error");
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert!(reply.body["correlationId"]
        .as_str()
        .is_some_and(|c| c.len() == 36));
    reply.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let sim = start(config()).await;
    let url = format!("{}{DATED}/batch/upsert", sim.base);
    let body = json!({ "inputs": [] });
    for request in [
        sim.client.post(&url).json(&body),
        sim.client.post(&url).bearer_auth("wrong").json(&body),
        sim.client
            .post(&url)
            .basic_auth(TOKEN, None::<&str>)
            .json(&body),
    ] {
        let reply = sim.send(request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.body["category"], "INVALID_AUTHENTICATION");
        assert!(reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Authentication credentials not found."));
        assert!(reply.body["correlationId"].is_string());
    }
    assert_eq!(sim.upsert(json!([])).await.status, StatusCode::OK);
    sim.stop().await;
}

#[tokio::test]
async fn more_than_100_inputs_is_400_and_stores_nothing() {
    let sim = start(config()).await;
    let inputs: Vec<Value> = (0..101)
        .map(|i| by_email(&format!("c{i}@example.com"), json!({})))
        .collect();
    let reply = sim.upsert(json!(inputs)).await;
    assert_eq!(validation_codes(&reply), vec!["TOO_MANY_INPUTS"]);
    assert!(sim.live_contacts().await.is_empty());
    let reply = sim.upsert(json!(inputs[..100])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 100);
    sim.stop().await;
}

#[tokio::test]
async fn one_bad_email_rejects_the_whole_batch() {
    let sim = start(config()).await;
    let reply = sim
        .post(
            &format!("{LEGACY}/batch/create"),
            json!({ "inputs": [
                { "properties": { "email": "ok1@example.com" } },
                { "properties": { "email": "not an email" } },
                { "properties": { "email": "ok2@example.com" } },
            ]}),
        )
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_EMAIL"]);
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Property values were not valid: ["),
        "{message}"
    );
    assert!(message.contains(r#""error":"INVALID_EMAIL""#), "{message}");
    assert!(message.contains("not an email"), "{message}");
    let error = &reply.body["errors"][0];
    assert_eq!(error["in"], "email");
    assert_eq!(error["context"]["propertyName"][0], "email");
    assert_eq!(error["context"]["inputIndex"][0], "1");
    assert!(sim.live_contacts().await.is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn date_not_at_midnight_utc_is_400() {
    let sim = start(config()).await;
    let created = sim
        .create_property(json!({
            "name": "signup_date", "label": "Signup date", "type": "date", "fieldType": "date"
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let reply = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "signup_date": "1430438400001" })
        )]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_DATE"]);
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("not midnight"));
    let reply = sim
        .upsert(json!([
            by_email("a@example.com", json!({ "signup_date": 1430438400000_i64 })),
            by_email("b@example.com", json!({ "signup_date": "2015-05-02" })),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["results"][0]["properties"]["signup_date"],
        "2015-05-01"
    );
    assert_eq!(
        reply.body["results"][1]["properties"]["signup_date"],
        "2015-05-02"
    );
    sim.stop().await;
}

#[tokio::test]
async fn bad_number_is_400() {
    let sim = start(config()).await;
    sim.create_property(json!({
        "name": "score", "label": "Score", "type": "number", "fieldType": "number"
    }))
    .await;
    let reply = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "score": "12abc" })
        )]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_DECIMAL"]);
    let reply = sim
        .upsert(json!([by_email("a@example.com", json!({ "score": 12.5 }))]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["results"][0]["properties"]["score"], "12.5");
    sim.stop().await;
}

#[tokio::test]
async fn unknown_enumeration_option_is_400() {
    let sim = start(config()).await;
    let reply = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "lifecyclestage": "Customer" })
        )]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_OPTION"]);
    let reply = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "lifecyclestage": "customer" })
        )]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    sim.stop().await;
}

#[tokio::test]
async fn multi_select_checkbox_values() {
    let sim = start(config()).await;
    let created = sim
        .create_property(json!({
            "name": "interests", "label": "Interests", "type": "enumeration", "fieldType": "checkbox",
            "options": [
                { "label": "Rust", "value": "rust" },
                { "label": "Go", "value": "go" },
                { "label": "SQL", "value": "sql" },
            ]
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let ok = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "interests": "rust;sql" })
        )]))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["results"][0]["properties"]["interests"], "rust;sql");
    let bad = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "interests": "rust;cobol" })
        )]))
        .await;
    assert_eq!(validation_codes(&bad), vec!["INVALID_OPTION"]);
    assert!(bad.body["message"].as_str().unwrap().contains("cobol"));
    let cleared = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "interests": "" })
        )]))
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert!(cleared.body["results"][0]["properties"]
        .get("interests")
        .is_none());
    sim.stop().await;
}

#[tokio::test]
async fn unknown_property_is_400() {
    let sim = start(config()).await;
    let reply = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "favourite_colour": "blue" })
        )]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["PROPERTY_DOESNT_EXIST"]);
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("favourite_colour"));
    sim.stop().await;
}

#[tokio::test]
async fn read_only_property_is_400() {
    let sim = start(config()).await;
    let reply = sim
        .upsert(json!([by_email(
            "a@example.com",
            json!({ "hs_object_id": "5" })
        )]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["READ_ONLY_VALUE"]);
    sim.stop().await;
}

#[tokio::test]
async fn duplicate_ids_in_one_batch_are_400() {
    let sim = start(config()).await;
    let reply = sim
        .upsert(json!([
            by_email("a@example.com", json!({ "firstname": "A" })),
            by_email("A@Example.com", json!({ "firstname": "B" })),
        ]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["DUPLICATE_ID"]);
    assert!(sim.live_contacts().await.is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn upsert_by_email_creates_then_updates() {
    let sim = start(config()).await;
    let first = sim
        .upsert(json!([by_email(
            "Ann@Example.com",
            json!({ "firstname": "Ann", "phone": 5551234 })
        )]))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["status"], "COMPLETE");
    let result = &first.body["results"][0];
    assert_eq!(result["new"], true);
    assert_eq!(result["archived"], false);
    assert_eq!(result["id"], "1");
    assert_eq!(result["properties"]["email"], "ann@example.com");
    assert_eq!(result["properties"]["phone"], "5551234");
    assert_eq!(result["properties"]["hs_object_id"], "1");
    for field in ["createdAt", "updatedAt"] {
        assert!(result[field].as_str().unwrap().ends_with('Z'));
    }
    assert!(first.body["startedAt"].is_string() && first.body["completedAt"].is_string());

    let second = sim
        .upsert(json!([by_email(
            "ann@example.com",
            json!({ "lastname": "Lee" })
        )]))
        .await;
    let result = &second.body["results"][0];
    assert_eq!(result["new"], false);
    assert_eq!(result["id"], "1");
    assert_eq!(result["properties"]["firstname"], "Ann");
    assert_eq!(result["properties"]["lastname"], "Lee");
    assert_eq!(sim.live_contacts().await.len(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn upsert_by_custom_unique_number_property() {
    let sim = start(config()).await;
    let created = sim
        .create_property(json!({
            "name": "customer_id", "label": "Customer id", "type": "number",
            "fieldType": "number", "hasUniqueValue": true
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["hasUniqueValue"], true);
    let upsert = |email: &str| json!([{ "id": "42", "idProperty": "customer_id", "properties": { "email": email } }]);
    let first = sim.upsert(upsert("old@example.com")).await;
    assert_eq!(first.body["results"][0]["new"], true);
    assert_eq!(first.body["results"][0]["properties"]["customer_id"], "42");
    // The email changes; the stable id keeps it the same record.
    let second = sim.upsert(upsert("new@example.com")).await;
    assert_eq!(second.body["results"][0]["new"], false);
    assert_eq!(
        second.body["results"][0]["id"],
        first.body["results"][0]["id"]
    );
    assert_eq!(
        second.body["results"][0]["properties"]["email"],
        "new@example.com"
    );
    // Non-unique idProperty and non-numeric id are refused.
    let reply = sim
        .upsert(json!([{ "id": "Ann", "idProperty": "firstname", "properties": {} }]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_ID_PROPERTY"]);
    let reply = sim
        .upsert(json!([{ "id": "x42", "idProperty": "customer_id", "properties": {} }]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_DECIMAL"]);
    sim.stop().await;
}

#[tokio::test]
async fn batch_create_conflict_is_409_and_update_by_id() {
    let sim = start(config()).await;
    let created = sim
        .post(
            &format!("{DATED}/batch/create"),
            json!({ "inputs": [{ "properties": { "email": "a@example.com", "firstname": "A" } }] }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(created.body["results"][0].get("new").is_none());
    let conflict = sim
        .post(
            &format!("{DATED}/batch/create"),
            json!({ "inputs": [
                { "properties": { "email": "b@example.com" } },
                { "properties": { "email": "A@example.com" } },
            ]}),
        )
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.body["category"], "CONFLICT");
    assert_eq!(
        conflict.body["message"],
        "Contact already exists. Existing ID: 1"
    );
    assert_eq!(sim.live_contacts().await.len(), 1);

    let updated = sim
        .post(
            &format!("{DATED}/batch/update"),
            json!({ "inputs": [{ "id": "1", "properties": { "firstname": "", "city": "Oslo" } }] }),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    let properties = &updated.body["results"][0]["properties"];
    assert!(properties.get("firstname").is_none(), "empty string clears");
    assert_eq!(properties["city"], "Oslo");
    let by_email = sim
        .post(
            &format!("{DATED}/batch/update"),
            json!({ "inputs": [{ "id": "a@example.com", "idProperty": "email", "properties": { "city": "Bergen" } }] }),
        )
        .await;
    assert_eq!(by_email.body["results"][0]["properties"]["city"], "Bergen");
    let missing = sim
        .post(
            &format!("{DATED}/batch/update"),
            json!({ "inputs": [
                { "id": "1", "properties": { "city": "Nowhere" } },
                { "id": "999", "properties": {} },
            ]}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["category"], "OBJECT_NOT_FOUND");
    assert!(missing.body["message"].as_str().unwrap().contains("999"));
    assert_eq!(sim.live_contacts().await[0]["properties"]["city"], "Bergen");
    sim.stop().await;
}

#[tokio::test]
async fn batch_read_and_archive() {
    let sim = start(config()).await;
    sim.upsert(json!([
        by_email("a@example.com", json!({ "firstname": "A", "city": "Oslo" })),
        by_email("b@example.com", json!({ "firstname": "B" })),
    ]))
    .await;
    let read = sim
        .post(
            &format!("{LEGACY}/batch/read"),
            json!({ "properties": ["city"], "idProperty": "email",
                    "inputs": [{ "id": "a@example.com" }, { "id": "b@example.com" }] }),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let results = read.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["properties"]["city"], "Oslo");
    assert_eq!(results[1]["properties"]["city"], Value::Null);
    assert!(results[0]["properties"].get("firstname").is_none());
    assert_eq!(results[0]["properties"]["hs_object_id"], "1");

    let archived = sim
        .post(
            &format!("{LEGACY}/batch/archive"),
            json!({ "inputs": [{ "id": "1" }, { "id": "12345" }] }),
        )
        .await;
    assert_eq!(archived.status, StatusCode::NO_CONTENT);
    let read = sim
        .post(
            &format!("{LEGACY}/batch/read"),
            json!({ "inputs": [{ "id": "1" }, { "id": "2" }] }),
        )
        .await;
    assert_eq!(read.status, StatusCode::MULTI_STATUS);
    assert_eq!(read.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(read.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(read.body["errors"][0]["context"]["ids"][0], "1");
    assert_eq!(
        sim.get(&format!("{LEGACY}/1")).await.status,
        StatusCode::NOT_FOUND
    );
    let live = sim.live_contacts().await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["id"], "2");
    // The archived contact's email is free again: upsert creates a new record.
    let again = sim
        .upsert(json!([by_email("a@example.com", json!({}))]))
        .await;
    assert_eq!(again.body["results"][0]["new"], true);
    assert_eq!(again.body["results"][0]["id"], "3");
    sim.stop().await;
}

#[tokio::test]
async fn list_pages_with_after() {
    let sim = start(config()).await;
    let inputs: Vec<Value> = (0..25)
        .map(|i| {
            by_email(
                &format!("c{i:02}@example.com"),
                json!({ "city": format!("city{i}") }),
            )
        })
        .collect();
    sim.upsert(json!(inputs)).await;

    let first = sim.get(LEGACY).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.body["results"].as_array().unwrap().len(),
        10,
        "default limit"
    );
    let props = &first.body["results"][0]["properties"];
    assert_eq!(props["email"], "c00@example.com");
    assert!(props.get("city").is_none(), "only default properties");

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("{DATED}?limit=7&properties=city&after={a}"),
            None => format!("{DATED}?limit=7&properties=city"),
        };
        let page = sim.get(&path).await;
        for r in page.body["results"].as_array().unwrap() {
            assert!(r["properties"]["city"].is_string());
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        match page.body["paging"]["next"]["after"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (1..=25).map(|i| i.to_string()).collect();
    assert_eq!(seen, expected);
    let capped = sim.get(&format!("{LEGACY}?limit=500")).await;
    assert_eq!(capped.body["results"].as_array().unwrap().len(), 25);
    let bad = sim.get(&format!("{LEGACY}?limit=many")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    sim.stop().await;
}

#[tokio::test]
async fn get_by_id_and_by_email_and_404() {
    let sim = start(config()).await;
    sim.upsert(json!([by_email(
        "a@example.com",
        json!({ "firstname": "A", "jobtitle": "CTO" })
    )]))
    .await;
    let by_id = sim.get(&format!("{LEGACY}/1")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.body["id"], "1");
    assert_eq!(by_id.body["properties"]["firstname"], "A");
    assert_eq!(by_id.body["properties"]["lastname"], Value::Null);
    assert!(by_id.body["properties"]["createdate"].is_string());
    assert!(by_id.body["properties"]["lastmodifieddate"].is_string());

    let by_email = sim
        .get(&format!(
            "{DATED}/A@example.com?idProperty=email&properties=jobtitle"
        ))
        .await;
    assert_eq!(by_email.status, StatusCode::OK);
    assert_eq!(by_email.body["id"], "1");
    assert_eq!(by_email.body["properties"]["jobtitle"], "CTO");
    assert!(by_email.body["properties"].get("firstname").is_none());

    for path in [
        format!("{LEGACY}/2"),
        format!("{LEGACY}/abc"),
        format!("{DATED}/z@example.com?idProperty=email"),
    ] {
        let missing = sim.get(&path).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.body["status"], "error");
        assert_eq!(missing.body["category"], "OBJECT_NOT_FOUND");
    }
    sim.stop().await;
}

#[tokio::test]
async fn properties_list_get_create_and_409() {
    let sim = start(config()).await;
    let list = sim.get(PROPS).await;
    let names: Vec<&str> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "email",
        "firstname",
        "lifecyclestage",
        "hs_object_id",
        "createdate",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    let stage = sim.get(&format!("{PROPS}/lifecyclestage")).await;
    assert_eq!(stage.body["type"], "enumeration");
    assert_eq!(stage.body["options"][0]["value"], "subscriber");
    assert_eq!(stage.body["options"][0]["hidden"], false);
    assert_eq!(stage.body["groupName"], "contactinformation");
    assert_eq!(
        sim.get(&format!("{PROPS}/nope")).await.status,
        StatusCode::NOT_FOUND
    );

    let new =
        json!({ "name": "vip", "label": "VIP", "type": "bool", "fieldType": "booleancheckbox" });
    let created = sim.create_property(new.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["options"][0]["value"], "true");
    let dup = sim.create_property(new).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["category"], "CONFLICT");
    let bad = sim
        .create_property(
            json!({ "name": "x", "label": "X", "type": "number", "fieldType": "select" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The dated family serves properties too.
    let dated = sim.get("/crm/properties/2026-03/contacts/vip").await;
    assert_eq!(dated.body["type"], "bool");
    // And the new bool property validates values.
    let reply = sim
        .upsert(json!([by_email("a@example.com", json!({ "vip": "yes" }))]))
        .await;
    assert_eq!(validation_codes(&reply), vec!["INVALID_BOOLEAN"]);
    sim.stop().await;
}

#[tokio::test]
async fn rate_limit_429_with_headers_then_recovery() {
    let sim = start(SimConfig {
        rate_limit: 5,
        rate_window: Duration::from_millis(1000),
        ..config()
    })
    .await;
    for i in 0..5 {
        let ok = sim.get(LEGACY).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.header("x-hubspot-ratelimit-max"), "5");
        assert_eq!(
            ok.header("x-hubspot-ratelimit-remaining"),
            (4 - i).to_string()
        );
        assert_eq!(
            ok.header("x-hubspot-ratelimit-interval-milliseconds"),
            "1000"
        );
        assert_eq!(ok.header("x-hubspot-ratelimit-daily"), "250000");
    }
    let limited = sim
        .upsert(json!([by_email("a@example.com", json!({}))]))
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["status"], "error");
    assert_eq!(limited.body["errorType"], "RATE_LIMIT");
    assert_eq!(limited.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(limited.body["category"], "RATE_LIMITS");
    assert_eq!(
        limited.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(limited.header("x-hubspot-ratelimit-remaining"), "0");
    assert_eq!(
        limited.header("x-hubspot-ratelimit-daily-remaining"),
        "249995"
    );
    assert!(sim.live_contacts().await.is_empty(), "a 429 stores nothing");
    // Control endpoints are never limited.
    assert_eq!(sim.control_get("/__sim/stats").await["rate_limited"], 1);

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let recovered = sim
        .upsert(json!([by_email("a@example.com", json!({}))]))
        .await;
    assert_eq!(recovered.status, StatusCode::OK);
    assert_eq!(recovered.header("x-hubspot-ratelimit-remaining"), "4");
    sim.stop().await;
}

#[tokio::test]
async fn fail_next_fails_then_succeeds() {
    let sim = start(config()).await;
    let set = sim
        .control_post(
            "/__sim/faults",
            json!({ "fail_next": 2, "error_status": 503 }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(set.body["fail_next"], 2);
    for _ in 0..2 {
        let failed = sim
            .upsert(json!([by_email("a@example.com", json!({}))]))
            .await;
        assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(failed.body["status"], "error");
        assert!(!failed.header("x-hubspot-ratelimit-max").is_empty());
    }
    assert!(
        sim.live_contacts().await.is_empty(),
        "faulted requests store nothing"
    );
    let ok = sim
        .upsert(json!([by_email("a@example.com", json!({}))]))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let faults = sim.control_get("/__sim/faults").await;
    assert_eq!(faults["fail_next"], 0);
    assert_eq!(faults["error_status"], 503);
    // Typos and out-of-range values are refused.
    let typo = sim
        .control_post("/__sim/faults", json!({ "fail_nxt": 1 }))
        .await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    let range = sim
        .control_post("/__sim/faults", json!({ "error_rate": 2.0 }))
        .await;
    assert_eq!(range.status, StatusCode::BAD_REQUEST);
    sim.stop().await;
}

#[tokio::test]
async fn injected_477_has_retry_after_and_423_locked() {
    let sim = start(config()).await;
    sim.control_post(
        "/__sim/faults",
        json!({ "status_477_rate": 1.0, "retry_after_s": 3 }),
    )
    .await;
    let reply = sim.get(LEGACY).await;
    assert_eq!(reply.status.as_u16(), 477);
    assert_eq!(reply.header("retry-after"), "3");
    sim.control_post(
        "/__sim/faults",
        json!({ "status_477_rate": 0.0, "locked_rate": 1.0 }),
    )
    .await;
    assert_eq!(sim.get(LEGACY).await.status, StatusCode::LOCKED);
    sim.control_post(
        "/__sim/faults",
        json!({ "locked_rate": 0.0, "latency_ms": 50 }),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(sim.get(LEGACY).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(50));
    sim.stop().await;
}

#[tokio::test]
async fn stats_count_requests_batches_and_inputs() {
    let sim = start(config()).await;
    sim.upsert(json!([
        by_email("a@example.com", json!({})),
        by_email("b@example.com", json!({})),
    ]))
    .await;
    sim.post(
        &format!("{LEGACY}/batch/upsert"),
        json!({ "inputs": [by_email("a@example.com", json!({ "firstname": "A" }))] }),
    )
    .await;
    sim.upsert(json!([by_email("bad", json!({}))])).await;
    sim.get(LEGACY).await;
    let stats = sim.control_get("/__sim/stats").await;
    assert_eq!(stats["requests"]["POST batch/upsert"]["200"], 2);
    assert_eq!(stats["requests"]["POST batch/upsert"]["400"], 1);
    assert_eq!(stats["requests"]["GET contacts"]["200"], 1);
    assert_eq!(stats["batch_calls"], 3);
    assert_eq!(stats["inputs_accepted"], 3);
    assert_eq!(stats["records_created"], 2);
    assert_eq!(stats["records_updated"], 1);
    assert_eq!(stats["rate_limited"], 0);
    assert_eq!(stats["live_contacts"], 2);

    let reset = sim.control_post("/__sim/reset", json!({})).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    let stats = sim.control_get("/__sim/stats").await;
    assert_eq!(stats["total_requests"], 0);
    assert_eq!(stats["live_contacts"], 0);
    sim.stop().await;
}

#[tokio::test]
async fn both_path_families_share_one_store() {
    let sim = start(config()).await;
    sim.post(
        &format!("{LEGACY}/batch/upsert"),
        json!({ "inputs": [by_email("a@example.com", json!({ "firstname": "Legacy" }))] }),
    )
    .await;
    let dated = sim.get(&format!("{DATED}/1")).await;
    assert_eq!(dated.body["properties"]["firstname"], "Legacy");
    let other_version = sim.get("/crm/objects/2025-09/contacts/1").await;
    assert_eq!(other_version.status, StatusCode::OK);
    let bad_version = sim.get("/crm/objects/latest/contacts/1").await;
    assert_eq!(bad_version.status, StatusCode::NOT_FOUND);
    let no_route = sim.get("/crm/v3/objects/deals").await;
    assert_eq!(no_route.status, StatusCode::NOT_FOUND);
    assert_eq!(no_route.body["status"], "error");
    sim.stop().await;
}

#[tokio::test]
async fn malformed_body_gets_a_hubspot_error() {
    let sim = start(config()).await;
    let url = format!("{}{DATED}/batch/upsert", sim.base);
    let reply = sim
        .send(
            sim.client
                .post(url)
                .bearer_auth(TOKEN)
                .body("{\"inputs\": [")
                .header("content-type", "text/plain"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid input JSON"));
    sim.stop().await;
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("hubspot-sim-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let state_file = dir.join("state.json");
    let with_file = || SimConfig {
        state_file: Some(state_file.clone()),
        ..config()
    };
    let sim = start(with_file()).await;
    sim.create_property(json!({
        "name": "customer_id", "label": "Customer id", "type": "number",
        "fieldType": "number", "hasUniqueValue": true
    }))
    .await;
    sim.upsert(json!([{ "id": "7", "idProperty": "customer_id", "properties": { "email": "a@example.com" } }]))
        .await;
    sim.stop().await;
    assert!(state_file.exists());

    let sim = start(with_file()).await;
    let again = sim
        .upsert(
            json!([{ "id": "7", "idProperty": "customer_id", "properties": { "firstname": "A" } }]),
        )
        .await;
    assert_eq!(again.body["results"][0]["new"], false, "{}", again.body);
    let next = sim
        .upsert(json!([by_email("b@example.com", json!({}))]))
        .await;
    assert_eq!(next.body["results"][0]["id"], "2");
    sim.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
