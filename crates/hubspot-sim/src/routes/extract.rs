//! Request extractors that fail the HubSpot way.
//!
//! axum's own `Json` and `Query` reject with plain-text bodies and insist on
//! a `Content-Type`; a HubSpot client expects the JSON error envelope for a
//! malformed body too, so these wrap parsing and answer with [`ApiError`].

use crate::errors::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON request body, whatever the `Content-Type` says.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            ApiError::validation(format!("Could not read the request body: {e}"), vec![])
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::validation(
                format!(
                    "Invalid input JSON on line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
                vec![],
            )
        })
    }
}

/// Query parameters as pairs, because HubSpot allows a list both as
/// `properties=a,b` and as `properties=a&properties=b`.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| QueryParams(pairs))
            .map_err(|e| ApiError::validation(format!("Invalid query string: {e}"), vec![]))
    }
}

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a list parameter, split on commas, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect()
    }

    /// A numeric parameter, or a 400 naming it.
    pub fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::validation(
                        format!("Query parameter {name}={v} is not a valid number"),
                        vec![],
                    )
                })
            })
            .transpose()
    }
}

/// One named path parameter. Handlers shared by both path families cannot use
/// `Path<String>`, because the dated family has an extra `{version}` segment.
pub fn path_param(params: &RawPathParams, name: &str) -> String {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}
