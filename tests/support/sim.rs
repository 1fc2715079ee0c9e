//! A private HubSpot simulator per test: its own contacts, stats, rate limit
//! and faults, so tests that count API calls or inject 429s run in parallel.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::stack::repo_root;

pub struct PrivateSim {
    child: Child,
    pub url: String,
    pub token: String,
}

impl PrivateSim {
    /// Starts `hubspot-sim` on a free port with `extra` flags (e.g.
    /// `["--rate-limit", "5", "--rate-window-ms", "1000"]`) and creates the
    /// demo's custom properties from `deploy/local/hubspot-properties.json`.
    pub async fn start(extra: &[&str]) -> PrivateSim {
        PrivateSim::start_with_properties(extra, |_| {}).await
    }

    /// Like [`start`](Self::start), with the property definitions edited by
    /// `edit` first (to make the account disagree with the mapping).
    pub async fn start_with_properties(
        extra: &[&str],
        edit: impl FnOnce(&mut Vec<Value>),
    ) -> PrivateSim {
        let bin = crate::streamer::binary().with_file_name("hubspot-sim");
        let token = "private-sim-token".to_string();
        let mut child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--token", &token])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the simulator's first line");
        let addr = line
            .trim()
            .strip_prefix("hubspot-sim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from hubspot-sim: {line}"))
            .to_string();
        let sim = PrivateSim {
            child,
            url: format!("http://{addr}"),
            token,
        };
        let mut props: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("deploy/local/hubspot-properties.json"))
                .unwrap(),
        )
        .unwrap();
        edit(&mut props);
        let http = reqwest::Client::new();
        for p in props {
            // The simulator may be started with a small rate limit or
            // injected faults: retry those answers.
            for attempt in 0.. {
                let r = http
                    .post(format!("{}/crm/v3/properties/contacts", sim.url))
                    .bearer_auth(&sim.token)
                    .json(&p)
                    .send()
                    .await
                    .expect("creating a property");
                let status = r.status().as_u16();
                if r.status().is_success() {
                    break;
                }
                assert!(
                    (status == 429 || status >= 500) && attempt < 50,
                    "creating property {}: {status}",
                    p["name"]
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        sim
    }

    /// Every live contact's properties, by `app_user_id`.
    pub async fn contacts(
        &self,
    ) -> std::collections::BTreeMap<u64, serde_json::Map<String, Value>> {
        let v: Value = reqwest::get(format!("{}/__sim/contacts", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| {
                let props = c["properties"].as_object()?.clone();
                let id = props.get("app_user_id")?.as_str()?.parse().ok()?;
                Some((id, props))
            })
            .collect()
    }

    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/__sim/stats", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `POST /__sim/faults` with `body`.
    pub async fn faults(&self, body: Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/__sim/faults", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "setting faults: {}", r.status());
    }

    /// Number of API calls to `route` (e.g. `POST batch/upsert`) by status.
    pub async fn calls(&self, route: &str) -> u64 {
        let s = self.stats().await;
        s["requests"][route]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    }
}

impl Drop for PrivateSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to `timeout` for `check` to return `Ok`; returns the last error.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let r = check().await;
        if r.is_ok() || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
