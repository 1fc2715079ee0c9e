//! Contacts as HubSpot's v3 responses show them.
//!
//! `GET` endpoints return only the requested properties (HubSpot's default
//! set when none are requested), with `null` for requested properties the
//! record does not have; batch writes return every property the record has,
//! which is what a client checking its write needs.

use crate::store::write::WriteOutcome;
use crate::store::Contact;
use crate::values::format_datetime;
use serde_json::{json, Map, Value};

/// What HubSpot returns when a request names no properties.
pub const DEFAULT_PROPERTIES: [&str; 3] = ["email", "firstname", "lastname"];

/// Always present, requested or not.
const SYSTEM_PROPERTIES: [&str; 3] = ["hs_object_id", "createdate", "lastmodifieddate"];

fn record(contact: &Contact, properties: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), contact.id.to_string().into());
    out.insert("properties".into(), Value::Object(properties));
    out.insert(
        "createdAt".into(),
        format_datetime(contact.created_at).into(),
    );
    out.insert(
        "updatedAt".into(),
        format_datetime(contact.updated_at).into(),
    );
    out.insert("archived".into(), contact.archived.into());
    out
}

/// A contact with the requested properties (defaults when `requested` is empty).
pub fn selected(contact: &Contact, requested: &[String]) -> Value {
    let names: Vec<&str> = if requested.is_empty() {
        DEFAULT_PROPERTIES.to_vec()
    } else {
        requested.iter().map(String::as_str).collect()
    };
    let mut properties = Map::new();
    for name in names.into_iter().chain(SYSTEM_PROPERTIES) {
        let value = contact
            .properties
            .get(name)
            .map_or(Value::Null, |v| Value::String(v.clone()));
        properties.insert(name.to_string(), value);
    }
    Value::Object(record(contact, properties))
}

/// A contact with every property it has.
pub fn full(contact: &Contact) -> Value {
    let properties = contact
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(record(contact, properties))
}

/// One result of a batch write; upsert results also say whether the record is `new`.
pub fn write_result(outcome: &WriteOutcome, with_new_flag: bool) -> Value {
    let mut value = full(&outcome.contact);
    if let (true, Value::Object(map)) = (with_new_flag, &mut value) {
        map.insert("new".into(), json!(outcome.created));
    }
    value
}
