//! The HTTP surface: which path reaches which handler, behind which layers.
//!
//! API routes are served under both path families HubSpot has — the
//! date-versioned `/crm/objects/{YYYY-MM}/contacts/…` and the legacy
//! `/crm/v3/objects/contacts/…` — by the same handlers, so a client can switch
//! family by configuration alone. Every API request passes, outermost first:
//! stats (so 401s and 429s are counted) → auth → rate limit → fault
//! injection → handler. Control routes (`/__sim/*`) skip all of that: a test
//! must be able to reset or inspect a simulator it has just rate-limited.

mod batch;
mod control;
mod extract;
mod objects;
mod properties;
mod render;

use crate::errors::ApiError;
use crate::state::AppState;
use crate::{auth, faults, rate_limit, stats};
use axum::extract::{RawPathParams, Request};
use axum::http::Uri;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// The whole application, ready for `axum::serve`.
pub fn router(state: AppState) -> Router {
    let dated = Router::new()
        .merge(contact_routes("/crm/objects/{version}/contacts"))
        .merge(property_routes("/crm/properties/{version}/contacts"))
        .route_layer(from_fn(check_version));
    let api = Router::new()
        .merge(contact_routes("/crm/v3/objects/contacts"))
        .merge(property_routes("/crm/v3/properties/contacts"))
        .merge(dated)
        // Layers wrap what is already there; the last added runs first.
        .layer(from_fn_with_state(state.clone(), faults::inject))
        .layer(from_fn_with_state(state.clone(), rate_limit::enforce))
        .layer(from_fn_with_state(state.clone(), auth::require_token))
        .layer(from_fn_with_state(state.clone(), stats::record));
    Router::new()
        .merge(api)
        .merge(control::routes())
        .fallback(no_route)
        .with_state(state)
}

fn contact_routes(base: &str) -> Router<AppState> {
    Router::new()
        .route(&format!("{base}/batch/upsert"), post(batch::upsert))
        .route(&format!("{base}/batch/create"), post(batch::create))
        .route(&format!("{base}/batch/update"), post(batch::update))
        .route(&format!("{base}/batch/read"), post(batch::read))
        .route(&format!("{base}/batch/archive"), post(batch::archive))
        .route(base, get(objects::list))
        .route(&format!("{base}/{{id}}"), get(objects::get))
}

fn property_routes(base: &str) -> Router<AppState> {
    Router::new()
        .route(base, get(properties::list).post(properties::create))
        .route(&format!("{base}/{{name}}"), get(properties::get))
}

/// Is `v` a `YYYY-MM` API version?
fn is_version(v: &str) -> bool {
    let Some((year, month)) = v.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && month.len() == 2
        && matches!(month.parse::<u8>(), Ok(1..=12))
}

/// Route layer of the dated family: any `YYYY-MM` version is served (the
/// simulator has one behaviour), anything else is not a HubSpot path.
async fn check_version(params: RawPathParams, request: Request, next: Next) -> Response {
    let version = params
        .iter()
        .find(|(k, _)| *k == "version")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    if is_version(&version) {
        next.run(request).await
    } else {
        ApiError::not_found(format!(
            "Unknown API version '{version}': expected YYYY-MM, e.g. 2026-03"
        ))
        .into_response()
    }
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("No route for {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::is_version;

    #[test]
    fn versions() {
        assert!(is_version("2026-03"));
        assert!(!is_version("2026-13"));
        assert!(!is_version("v3"));
        assert!(!is_version("26-03"));
    }
}
