//! HubSpot's error bodies, as one type every handler and middleware returns.
//!
//! HubSpot answers every failure with the same JSON envelope
//! (`status`, `message`, `correlationId`, `category`, optional `errors[]`),
//! and clients (our sink included) parse that envelope to decide whether to
//! retry, bisect or dead-letter. Building all bodies here keeps the field names
//! in one place, so a typo cannot make one endpoint disagree with the others.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// HubSpot's `category` values that the simulator produces.
pub mod category {
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    pub const INVALID_AUTHENTICATION: &str = "INVALID_AUTHENTICATION";
    pub const OBJECT_NOT_FOUND: &str = "OBJECT_NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITS: &str = "RATE_LIMITS";
    /// Not documented by HubSpot for injected 5xx; chosen to be recognisable.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
    /// *Inferred*: HubSpot documents 423 but not its body.
    pub const LOCKED: &str = "LOCKED";
    /// *Inferred*: HubSpot's 477 means "migration in progress".
    pub const MIGRATION_IN_PROGRESS: &str = "MIGRATION_IN_PROGRESS";
}

/// One entry of `errors[]`: which input and property failed, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorDetail {
    pub message: String,
    pub code: String,
    /// HubSpot puts the offending property name here.
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<String>,
    /// `propertyName`, plus `inputIndex` and `id` so a client can find the
    /// bad input of a batch without re-parsing `message`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, Vec<String>>,
}

impl ErrorDetail {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorDetail {
            message: message.into(),
            code: code.to_string(),
            in_: None,
            context: BTreeMap::new(),
        }
    }

    /// Names the property the error is about (`in` and `context.propertyName`).
    pub fn property(mut self, name: &str) -> Self {
        self.in_ = Some(name.to_string());
        self.context
            .insert("propertyName".into(), vec![name.to_string()]);
        self
    }

    /// Names the batch input (position and, when it has one, its id).
    pub fn input(mut self, index: usize, id: Option<&str>) -> Self {
        self.context
            .insert("inputIndex".into(), vec![index.to_string()]);
        if let Some(id) = id {
            self.context.insert("id".into(), vec![id.to_string()]);
        }
        self
    }
}

/// An error response in HubSpot's shape. Handlers return `Result<_, ApiError>`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub category: &'static str,
    pub message: String,
    pub errors: Vec<ErrorDetail>,
    /// Fields some bodies carry beyond the common ones (`errorType`,
    /// `policyName`). A list, not a map, to keep the error small: it travels
    /// in every handler's `Result`.
    pub extra: Vec<(&'static str, Value)>,
    /// Headers such as `Retry-After`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            category,
            message: message.into(),
            errors: Vec::new(),
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A 400 `VALIDATION_ERROR` with details.
    pub fn validation(message: impl Into<String>, errors: Vec<ErrorDetail>) -> Self {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, category::VALIDATION_ERROR, message);
        e.errors = errors;
        e
    }

    /// A 400 whose message follows HubSpot's
    /// `Property values were not valid: [{"isValid":false,…}]` form, listing
    /// every bad value of the batch (not only the first one).
    pub fn invalid_properties(errors: Vec<ErrorDetail>) -> Self {
        let listed: Vec<Value> = errors
            .iter()
            .map(|d| {
                serde_json::json!({
                    "isValid": false,
                    "message": d.message,
                    "error": d.code,
                    "name": d.in_.clone().unwrap_or_default(),
                })
            })
            .collect();
        let message = format!("Property values were not valid: {}", Value::Array(listed));
        ApiError::validation(message, errors)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, category::OBJECT_NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, category::CONFLICT, message)
    }

    /// The 401 HubSpot sends for a missing, malformed or unknown token.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            category::INVALID_AUTHENTICATION,
            "Authentication credentials not found. This API supports OAuth 2.0 \
             authentication and you can find more details at \
             https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    }

    pub fn with_extra(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let mut body = Map::new();
        body.insert("status".into(), "error".into());
        body.insert("message".into(), self.message.into());
        body.insert("correlationId".into(), correlation_id.clone().into());
        body.insert("category".into(), self.category.into());
        if !self.errors.is_empty() {
            // Serialising plain strings and maps cannot fail; fall back to
            // null rather than panic if it ever did.
            body.insert(
                "errors".into(),
                serde_json::to_value(&self.errors).unwrap_or(Value::Null),
            );
        }
        body.extend(self.extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&correlation_id) {
            headers.insert("x-hubspot-correlation-id", v);
        }
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_properties_message_lists_every_bad_value() {
        let e = ApiError::invalid_properties(vec![
            ErrorDetail::new("INVALID_EMAIL", "Email address x is invalid").property("email"),
            ErrorDetail::new("INVALID_OPTION", "bad option").property("lifecyclestage"),
        ]);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.starts_with("Property values were not valid: [{"));
        assert!(e.message.contains(r#""error":"INVALID_EMAIL""#));
        assert!(e.message.contains(r#""name":"lifecyclestage""#));
    }

    #[test]
    fn detail_names_input_and_property() {
        let d = ErrorDetail::new("INVALID_EMAIL", "m")
            .property("email")
            .input(3, Some("x"));
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["in"], "email");
        assert_eq!(v["context"]["propertyName"][0], "email");
        assert_eq!(v["context"]["inputIndex"][0], "3");
        assert_eq!(v["context"]["id"][0], "x");
    }
}
