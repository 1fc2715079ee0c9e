//! A private HubSpot simulator per figure (the release `hubspot-sim` on a free
//! port), so each figure's API call counts start at zero and its rate limit
//! is its own.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::stack::Stack;

pub const TOKEN: &str = "bench-token";

pub struct Sim {
    child: Child,
    pub url: String,
    http: reqwest::Client,
}

/// One contact of `/__sim/contacts`, the parts the figures read.
#[derive(Debug, Deserialize)]
pub struct Contact {
    pub properties: HashMap<String, String>,
    /// RFC 3339 with milliseconds: when the simulator last wrote it.
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

impl Sim {
    /// Starts the simulator allowing `rate_limit` requests per 10 s, and
    /// creates the demo's custom properties.
    pub async fn start(stack: &Stack, rate_limit: u32) -> Result<Sim> {
        let bin = stack.binary("hubspot-sim")?;
        let mut child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(["--rate-limit", &rate_limit.to_string()])
            .args(["--rate-window-ms", "10000", "--daily-limit", "1000000000"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("hubspot-sim listening on ") else {
            let _ = child.kill();
            bail!("unexpected first line from hubspot-sim: {line:?}");
        };
        let sim = Sim {
            url: format!("http://{addr}"),
            child,
            http: reqwest::Client::new(),
        };
        let path = stack.repo.join("deploy/local/hubspot-properties.json");
        let props: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        for p in props {
            let r = sim
                .http
                .post(format!("{}/crm/v3/properties/contacts", sim.url))
                .bearer_auth(TOKEN)
                .json(&p)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("creating property {}: {}", p["name"], r.status());
            }
        }
        Ok(sim)
    }

    /// `/__sim/stats` (not itself counted).
    pub async fn stats(&self) -> Result<Value> {
        Ok(self
            .http
            .get(format!("{}/__sim/stats", self.url))
            .timeout(Duration::from_secs(30))
            .send()
            .await?
            .json()
            .await?)
    }

    /// Every live contact.
    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        #[derive(Deserialize)]
        struct All {
            results: Vec<Contact>,
        }
        let all: All = self
            .http
            .get(format!("{}/__sim/contacts", self.url))
            .timeout(Duration::from_secs(300))
            .send()
            .await?
            .json()
            .await?;
        Ok(all.results)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls made to `batch/*` endpoints, and per route, from two stats snapshots.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Calls {
    pub batch_calls: u64,
    pub by_route: std::collections::BTreeMap<String, u64>,
    pub rate_limited: u64,
}

impl Calls {
    pub fn between(before: &Value, after: &Value) -> Calls {
        let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
        let routes = |v: &Value| -> std::collections::BTreeMap<String, u64> {
            v["requests"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(route, by_status)| {
                            let total = by_status
                                .as_object()
                                .map(|s| s.values().filter_map(Value::as_u64).sum())
                                .unwrap_or(0);
                            (route.clone(), total)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (a, b) = (routes(before), routes(after));
        Calls {
            batch_calls: n(after, "batch_calls") - n(before, "batch_calls"),
            by_route: b
                .iter()
                .map(|(r, v)| (r.clone(), v - a.get(r).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect(),
            rate_limited: n(after, "rate_limited") - n(before, "rate_limited"),
        }
    }
}
