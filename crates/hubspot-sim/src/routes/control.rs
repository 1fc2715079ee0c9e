//! `/__sim/*`: inspect and steer the simulator. No auth, no rate limit, not
//! counted in stats — these are for the test harness, not the client under test.

use super::extract::{JsonBody, QueryParams};
use super::render;
use crate::errors::ApiError;
use crate::faults::{FaultPatch, FaultSettings};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/__sim/health", get(|| async { "ok" }))
        .route("/__sim/stats", get(stats))
        .route("/__sim/faults", get(faults).post(set_faults))
        .route("/__sim/reset", post(reset))
        .route("/__sim/contacts", get(contacts))
}

async fn stats(State(state): State<AppState>) -> Json<Value> {
    let live = state.store().live_count();
    let mut body = serde_json::to_value(state.stats().snapshot()).unwrap_or_else(|_| json!({}));
    body["live_contacts"] = json!(live);
    Json(body)
}

async fn faults(State(state): State<AppState>) -> Json<FaultSettings> {
    Json(state.faults().settings())
}

/// Changes the given fields only; answers with the settings now in force.
async fn set_faults(
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<FaultPatch>,
) -> Result<Json<FaultSettings>, ApiError> {
    let settings = state.faults().settings().patched(patch);
    settings
        .check()
        .map_err(|m| ApiError::validation(m, vec![]))?;
    state.faults().set(settings.clone());
    tracing::info!(?settings, "fault settings changed");
    Ok(Json(settings))
}

/// `?properties=true` also drops custom properties.
async fn reset(State(state): State<AppState>, query: QueryParams) -> StatusCode {
    state.reset(query.get("properties") == Some("true"));
    StatusCode::NO_CONTENT
}

/// Every live contact with all its properties, unpaged, for convergence checks.
async fn contacts(State(state): State<AppState>) -> Json<Value> {
    let store = state.store();
    let results: Vec<Value> = store.live().map(render::full).collect();
    Json(json!({ "total": results.len(), "results": results }))
}
