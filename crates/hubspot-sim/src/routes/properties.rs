//! `GET/POST …/properties/contacts` and `GET …/properties/contacts/{name}`.

use super::extract::{path_param, JsonBody};
use crate::errors::ApiError;
use crate::properties::{
    self, FieldType, ModificationMetadata, PropertyDef, PropertyOption, PropertyType,
};
use crate::state::AppState;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// What a client may send to create a property; HubSpot's other fields
/// (display order, form field, …) are accepted and ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProperty {
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: PropertyType,
    field_type: FieldType,
    #[serde(default)]
    group_name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: Vec<PropertyOption>,
    #[serde(default)]
    has_unique_value: bool,
}

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let store = state.store();
    let results: Vec<&PropertyDef> = store.properties().all().collect();
    Json(json!({ "results": results }))
}

pub async fn get(
    State(state): State<AppState>,
    params: RawPathParams,
) -> Result<Json<PropertyDef>, ApiError> {
    let name = path_param(&params, "name");
    state
        .store()
        .properties()
        .get(&name)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("Unable to find property {name}")))
}

pub async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewProperty>,
) -> Result<(StatusCode, Json<PropertyDef>), ApiError> {
    let options = if new.kind == PropertyType::Bool && new.options.is_empty() {
        properties::bool_options()
    } else {
        new.options
    };
    let def = PropertyDef {
        name: new.name,
        label: new.label,
        kind: new.kind,
        field_type: new.field_type,
        group_name: new
            .group_name
            .unwrap_or_else(|| "contactinformation".to_string()),
        description: new.description,
        options,
        has_unique_value: new.has_unique_value,
        hubspot_defined: false,
        modification_metadata: ModificationMetadata {
            archivable: true,
            read_only_definition: false,
            read_only_value: false,
        },
    };
    properties::check_new(&def).map_err(|m| ApiError::validation(m, vec![]))?;
    let mut store = state.store();
    if store.properties().get(&def.name).is_some() {
        return Err(ApiError::conflict(format!(
            "A property named '{}' already exists.",
            def.name
        )));
    }
    store.add_property(def.clone());
    tracing::info!(name = %def.name, kind = ?def.kind, unique = def.has_unique_value, "created property");
    Ok((StatusCode::CREATED, Json(def)))
}
