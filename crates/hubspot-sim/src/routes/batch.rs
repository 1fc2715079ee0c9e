//! `POST …/contacts/batch/{upsert,create,update,read,archive}`.
//!
//! Handlers only parse, call the store under its lock, count, and render;
//! the all-or-nothing validation lives in [`crate::store::write`].

use super::extract::JsonBody;
use super::render;
use crate::errors::{ApiError, ErrorDetail};
use crate::state::AppState;
use crate::store::write::{string_or_number, WriteInput, WriteKind};
use crate::store::Contact;
use crate::values::format_datetime;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;

/// `{"inputs":[…]}` of create, update and upsert. `inputs` is required:
/// a body without it is malformed, not an empty batch.
#[derive(Deserialize)]
pub struct WriteBody {
    inputs: Vec<WriteInput>,
}

/// An element of read and archive inputs.
#[derive(Deserialize)]
pub struct IdInput {
    #[serde(default, deserialize_with = "string_or_number")]
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadBody {
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    id_property: Option<String>,
    inputs: Vec<IdInput>,
}

#[derive(Deserialize)]
pub struct ArchiveBody {
    inputs: Vec<IdInput>,
}

/// Runs one write batch and renders HubSpot's `BatchResponse`. An empty
/// batch succeeds with no results (HubSpot does not document it; answering
/// 200 keeps a client's flush of an empty buffer harmless).
fn write(state: &AppState, kind: WriteKind, inputs: &[WriteInput]) -> Result<Value, ApiError> {
    let started = Utc::now();
    let outcomes =
        state
            .store()
            .write_batch(kind, inputs, state.config().max_batch_inputs, started)?;
    let created = outcomes.iter().filter(|o| o.created).count() as u64;
    state
        .stats()
        .writes(created, outcomes.len() as u64 - created);
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| render::write_result(o, kind == WriteKind::Upsert))
        .collect();
    Ok(json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": format_datetime(started),
        "completedAt": format_datetime(Utc::now()),
    }))
}

pub async fn upsert(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<WriteBody>,
) -> Result<Json<Value>, ApiError> {
    write(&state, WriteKind::Upsert, &body.inputs).map(Json)
}

/// 201 Created, as HubSpot answers batch create.
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<WriteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    write(&state, WriteKind::Create, &body.inputs).map(|v| (StatusCode::CREATED, Json(v)))
}

pub async fn update(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<WriteBody>,
) -> Result<Json<Value>, ApiError> {
    write(&state, WriteKind::Update, &body.inputs).map(Json)
}

fn check_size(state: &AppState, n: usize) -> Result<(), ApiError> {
    let max = state.config().max_batch_inputs;
    if n > max {
        let message =
            format!("Batch input limit exceeded: {n} inputs given, at most {max} are allowed");
        return Err(ApiError::validation(
            message.clone(),
            vec![ErrorDetail::new("TOO_MANY_INPUTS", message)],
        ));
    }
    Ok(())
}

/// Found records are returned; missing ones make the answer a 207 with an
/// `OBJECT_NOT_FOUND` error listing them, as HubSpot's batch read does.
pub async fn read(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ReadBody>,
) -> Result<Response, ApiError> {
    check_size(&state, body.inputs.len())?;
    let started = Utc::now();
    let store = state.store();
    let id_property = body.id_property.as_deref().filter(|p| *p != "hs_object_id");
    if let Some(p) = id_property {
        if !store.properties().get(p).is_some_and(|d| d.is_unique_key()) {
            return Err(ApiError::validation(
                format!("Unable to read by non-unique or unknown property {p}"),
                vec![ErrorDetail::new(
                    "INVALID_ID_PROPERTY",
                    format!("{p} is not a unique property"),
                )
                .property(p)],
            ));
        }
    }
    let mut seen = HashSet::new();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for id in body.inputs.iter().map(|i| i.id.clone().unwrap_or_default()) {
        let found: Option<&Contact> = match id_property {
            Some(p) => store.find_by(p, &id),
            None => store.get_by_text(&id),
        };
        match found {
            Some(contact) if seen.insert(contact.id) => {
                results.push(render::selected(contact, &body.properties))
            }
            Some(_) => {}
            None => missing.push(id),
        }
    }
    drop(store);
    let mut response = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": format_datetime(started),
        "completedAt": format_datetime(Utc::now()),
    });
    if missing.is_empty() {
        return Ok(Json(response).into_response());
    }
    response["numErrors"] = json!(1);
    response["errors"] = json!([{
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
        "context": {"ids": missing},
    }]);
    Ok((StatusCode::MULTI_STATUS, Json(response)).into_response())
}

/// 204 whether or not the ids existed, like HubSpot.
pub async fn archive(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ArchiveBody>,
) -> Result<StatusCode, ApiError> {
    check_size(&state, body.inputs.len())?;
    let ids: Vec<String> = body.inputs.into_iter().filter_map(|i| i.id).collect();
    let archived = state.store().archive(&ids, Utc::now());
    state.stats().archived(archived as u64);
    Ok(StatusCode::NO_CONTENT)
}
