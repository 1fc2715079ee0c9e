//! One batch → one HubSpot request (path and JSON body). Pure: no I/O, so
//! the paths of both API versions and the body shapes are unit-tested.

use reqwest::Method;
use serde_json::{json, Value};

use crate::config::HubSpotConfig;
use crate::model::{ArchiveInput, UpsertInput};

/// HubSpot accepts at most 100 inputs per batch request; more is a 400.
pub const MAX_BATCH_INPUTS: usize = 100;

/// A request ready for the service to send.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub method: Method,
    /// Path below `base_url`, starting with `/`.
    pub path: String,
    pub body: Option<Value>,
    /// What the request is for, in words, for logs and errors.
    pub what: &'static str,
}

/// Builds requests for one configuration.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    /// `/crm/objects/2026-03/contacts` or `/crm/v3/objects/contacts`.
    contacts: String,
    properties: String,
    id_property: String,
}

impl RequestBuilder {
    pub fn new(config: &HubSpotConfig) -> Self {
        let contacts = if config.api_version == "v3" {
            "/crm/v3/objects/contacts".to_string()
        } else {
            format!("/crm/objects/{}/contacts", config.api_version)
        };
        RequestBuilder {
            contacts,
            properties: config.properties_path.clone(),
            id_property: config.id_property.clone(),
        }
    }

    /// `batch/upsert` by `id_property`. Each input carries its position as
    /// `objectWriteTraceId`, which HubSpot echoes in per-record errors, so
    /// a refusal can be traced back to its input.
    pub fn upsert(&self, inputs: &[UpsertInput]) -> ApiRequest {
        let inputs: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                json!({
                    "id": input.id,
                    "idProperty": self.id_property,
                    "objectWriteTraceId": index.to_string(),
                    "properties": input.properties,
                })
            })
            .collect();
        self.post(
            "batch/upsert",
            json!({ "inputs": inputs }),
            "upserting contacts",
        )
    }

    /// `batch/read` by `id_property`, asking only for that property back, to
    /// learn the record ids that `batch/archive` needs.
    pub fn read_ids(&self, inputs: &[ArchiveInput]) -> ApiRequest {
        let inputs: Vec<Value> = inputs.iter().map(|i| json!({ "id": i.id })).collect();
        self.post(
            "batch/read",
            json!({
                "properties": [self.id_property],
                "idProperty": self.id_property,
                "inputs": inputs,
            }),
            "looking up contacts to archive",
        )
    }

    /// `batch/archive` by HubSpot record id.
    pub fn archive(&self, record_ids: &[String]) -> ApiRequest {
        let inputs: Vec<Value> = record_ids.iter().map(|id| json!({ "id": id })).collect();
        self.post(
            "batch/archive",
            json!({ "inputs": inputs }),
            "archiving contacts",
        )
    }

    /// `GET` every contact property definition.
    pub fn properties(&self) -> ApiRequest {
        ApiRequest {
            method: Method::GET,
            path: self.properties.clone(),
            body: None,
            what: "reading contact properties",
        }
    }

    fn post(&self, action: &str, body: Value, what: &'static str) -> ApiRequest {
        ApiRequest {
            method: Method::POST,
            path: format!("{}/{action}", self.contacts),
            body: Some(body),
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn builder(api_version: &str, id_property: &str) -> RequestBuilder {
        RequestBuilder::new(&HubSpotConfig {
            api_version: api_version.into(),
            id_property: id_property.into(),
            ..HubSpotConfig::default()
        })
    }

    fn input(id: &str) -> UpsertInput {
        let mut properties = Map::new();
        properties.insert("firstname".into(), "Ada".into());
        UpsertInput {
            id: id.into(),
            properties,
            tag: 7,
        }
    }

    #[test]
    fn dated_api_paths() {
        let b = builder("2026-03", "email");
        assert_eq!(
            b.upsert(&[input("a@x.io")]).path,
            "/crm/objects/2026-03/contacts/batch/upsert"
        );
        assert_eq!(
            b.read_ids(&[]).path,
            "/crm/objects/2026-03/contacts/batch/read"
        );
        assert_eq!(
            b.archive(&[]).path,
            "/crm/objects/2026-03/contacts/batch/archive"
        );
        assert_eq!(b.properties().path, "/crm/v3/properties/contacts");
        assert_eq!(b.properties().method, Method::GET);
    }

    #[test]
    fn legacy_v3_paths() {
        let b = builder("v3", "email");
        assert_eq!(
            b.upsert(&[input("a@x.io")]).path,
            "/crm/v3/objects/contacts/batch/upsert"
        );
        assert_eq!(b.read_ids(&[]).path, "/crm/v3/objects/contacts/batch/read");
        assert_eq!(
            b.archive(&[]).path,
            "/crm/v3/objects/contacts/batch/archive"
        );
    }

    #[test]
    fn upsert_body_names_the_id_property_and_traces_inputs() {
        let request = builder("2026-03", "app_user_id").upsert(&[input("u-1"), input("u-2")]);
        assert_eq!(request.method, Method::POST);
        assert_eq!(
            request.body.unwrap(),
            json!({"inputs":[
                {"id":"u-1","idProperty":"app_user_id","objectWriteTraceId":"0","properties":{"firstname":"Ada"}},
                {"id":"u-2","idProperty":"app_user_id","objectWriteTraceId":"1","properties":{"firstname":"Ada"}}
            ]})
        );
    }

    #[test]
    fn read_and_archive_bodies() {
        let b = builder("2026-03", "app_user_id");
        let read = b.read_ids(&[ArchiveInput {
            id: "u-1".into(),
            tag: 0,
        }]);
        assert_eq!(
            read.body.unwrap(),
            json!({"properties":["app_user_id"],"idProperty":"app_user_id","inputs":[{"id":"u-1"}]})
        );
        assert_eq!(
            b.archive(&["101".into()]).body.unwrap(),
            json!({"inputs":[{"id":"101"}]})
        );
    }
}
