//! `GET …/contacts` (paged list) and `GET …/contacts/{id}`.

use super::extract::{path_param, QueryParams};
use super::render;
use crate::errors::{ApiError, ErrorDetail};
use crate::state::AppState;
use axum::extract::{RawPathParams, State};
use axum::http::Uri;
use axum::Json;
use serde_json::{json, Value};

/// HubSpot's page size when none is asked for, and its maximum.
const DEFAULT_LIMIT: u64 = 10;
const MAX_LIMIT: u64 = 100;

/// Pages by id. `after` is the id the next page starts at, which HubSpot
/// calls an opaque cursor; a limit above 100 is capped, not refused.
pub async fn list(
    State(state): State<AppState>,
    uri: Uri,
    query: QueryParams,
) -> Result<Json<Value>, ApiError> {
    let limit = query
        .number("limit")?
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let after = query.number("after")?.unwrap_or(0);
    let requested = query.list("properties");
    let store = state.store();
    let (page, next) = store.page(after, limit as usize);
    let results: Vec<Value> = page
        .into_iter()
        .map(|c| render::selected(c, &requested))
        .collect();
    let mut body = json!({ "results": results });
    if let Some(next) = next {
        let mut link = format!("{}?limit={limit}&after={next}", uri.path());
        if !requested.is_empty() {
            link.push_str(&format!("&properties={}", requested.join(",")));
        }
        body["paging"] = json!({ "next": { "after": next.to_string(), "link": link } });
    }
    Ok(Json(body))
}

/// By record id, or by a unique property with `?idProperty=`.
pub async fn get(
    State(state): State<AppState>,
    params: RawPathParams,
    query: QueryParams,
) -> Result<Json<Value>, ApiError> {
    let id = path_param(&params, "id");
    let requested = query.list("properties");
    let store = state.store();
    let found = match query.get("idProperty").filter(|p| *p != "hs_object_id") {
        None => store.get_by_text(&id),
        Some(p) => {
            if !store.properties().get(p).is_some_and(|d| d.is_unique_key()) {
                return Err(ApiError::validation(
                    format!("Unable to get by non-unique or unknown property {p}"),
                    vec![ErrorDetail::new(
                        "INVALID_ID_PROPERTY",
                        format!("{p} is not a unique property"),
                    )
                    .property(p)],
                ));
            }
            store.find_by(p, &id)
        }
    };
    match found {
        Some(contact) => Ok(Json(render::selected(contact, &requested))),
        None => Err(ApiError::not_found(format!(
            "Object not found. objectId {id} does not exist or is archived"
        ))),
    }
}
