//! Counters for `GET /__sim/stats`, so tests and demos can assert on what a
//! client actually did (how many batch calls, how many 429s it provoked, how
//! many inputs were accepted) instead of inferring it from logs.

use crate::state::{lock, AppState};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The counters, in the JSON shape `/__sim/stats` returns (plus `live_contacts`,
/// which the handler reads from the store).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Route label (`"POST batch/upsert"`) → status code → count.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    pub total_requests: u64,
    /// Requests to any `batch/*` endpoint, whatever their outcome.
    pub batch_calls: u64,
    /// Inputs of successful create/update/upsert batches.
    pub inputs_accepted: u64,
    pub records_created: u64,
    pub records_updated: u64,
    pub records_archived: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Requests answered by fault injection.
    pub faults_injected: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    counters: Mutex<Counters>,
}

impl Stats {
    pub fn snapshot(&self) -> Counters {
        lock(&self.counters).clone()
    }

    pub fn reset(&self) {
        *lock(&self.counters) = Counters::default();
    }

    pub fn request(&self, label: &str, status: StatusCode) {
        let mut c = lock(&self.counters);
        *c.requests
            .entry(label.to_string())
            .or_default()
            .entry(status.as_u16())
            .or_default() += 1;
        c.total_requests += 1;
        if label.contains(" batch/") {
            c.batch_calls += 1;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            c.rate_limited += 1;
        }
    }

    pub fn writes(&self, created: u64, updated: u64) {
        let mut c = lock(&self.counters);
        c.inputs_accepted += created + updated;
        c.records_created += created;
        c.records_updated += updated;
    }

    pub fn archived(&self, n: u64) {
        lock(&self.counters).records_archived += n;
    }

    pub fn fault_injected(&self) {
        lock(&self.counters).faults_injected += 1;
    }
}

/// A short, version-independent name for a route: both path families of one
/// endpoint count together (`/crm/objects/2026-03/contacts/batch/upsert` and
/// `/crm/v3/objects/contacts/batch/upsert` are both `POST batch/upsert`).
pub fn route_label(method: &Method, matched: Option<&str>) -> String {
    let Some(path) = matched else {
        return format!("{method} unmatched");
    };
    let Some((prefix, rest)) = path.split_once("/contacts") else {
        return format!("{method} {path}");
    };
    let family = if prefix.contains("/properties") {
        "properties"
    } else {
        "contacts"
    };
    let label = match rest.strip_prefix('/') {
        None => family.to_string(),
        Some(batch) if family == "contacts" && batch.starts_with("batch/") => batch.to_string(),
        Some(other) => format!("{family}/{other}"),
    };
    format!("{method} {label}")
}

/// Middleware (outermost on API routes, so 401s and 429s are counted too).
pub async fn record(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let label = route_label(request.method(), matched.as_ref().map(MatchedPath::as_str));
    let response = next.run(request).await;
    tracing::debug!(route = %label, status = response.status().as_u16(), "request");
    state.stats().request(&label, response.status());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_ignore_the_path_family() {
        let post = Method::POST;
        assert_eq!(
            route_label(&post, Some("/crm/objects/{version}/contacts/batch/upsert")),
            "POST batch/upsert"
        );
        assert_eq!(
            route_label(&post, Some("/crm/v3/objects/contacts/batch/upsert")),
            "POST batch/upsert"
        );
        assert_eq!(
            route_label(&Method::GET, Some("/crm/v3/objects/contacts/{id}")),
            "GET contacts/{id}"
        );
        assert_eq!(
            route_label(&Method::GET, Some("/crm/v3/objects/contacts")),
            "GET contacts"
        );
        assert_eq!(
            route_label(&Method::GET, Some("/crm/v3/properties/contacts/{name}")),
            "GET properties/{name}"
        );
        assert_eq!(route_label(&Method::GET, None), "GET unmatched");
    }

    #[test]
    fn counts_batches_and_429s() {
        let stats = Stats::default();
        stats.request("POST batch/upsert", StatusCode::OK);
        stats.request("POST batch/upsert", StatusCode::TOO_MANY_REQUESTS);
        stats.request("GET contacts", StatusCode::OK);
        stats.writes(2, 3);
        let c = stats.snapshot();
        assert_eq!(c.batch_calls, 2);
        assert_eq!(c.rate_limited, 1);
        assert_eq!(c.requests["POST batch/upsert"][&429], 1);
        assert_eq!(c.inputs_accepted, 5);
    }
}
