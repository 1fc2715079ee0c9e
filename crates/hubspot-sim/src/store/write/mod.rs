//! Batch create, update and upsert: validate the whole batch, then apply it.
//!
//! HubSpot rejects a batch as a whole when one input is bad, and a client's
//! bisecting retry logic depends on "nothing was stored". So every input is
//! resolved and validated against the unchanged store first (collecting *all*
//! errors, not just the first, so one response names every bad input), and
//! only a batch without errors touches the store. The caller holds the store
//! lock across both phases, so no other request can interleave.

mod resolve;
#[cfg(test)]
mod tests;
mod unique;

use super::{Contact, Store};
use crate::errors::{ApiError, ErrorDetail};
use crate::values::{format_datetime, normalize};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// Which batch endpoint is writing; they differ in how an input finds its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Always a new record.
    Create,
    /// An existing record by record id, or by `idProperty` when given.
    Update,
    /// By `idProperty` value: update when found, create otherwise.
    Upsert,
}

/// One element of a batch's `inputs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteInput {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    #[serde(default)]
    pub id_property: Option<String>,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// Clients sometimes send record ids as JSON numbers; HubSpot accepts both.
pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "id must be a string, got {other}"
        ))),
    }
}

/// What happened to one input, in input order.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub contact: Contact,
    pub created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    New,
    Existing(u64),
}

/// An input that passed resolution: its record and normalised changes
/// (`""` = clear).
struct Planned {
    index: usize,
    target: Target,
    changes: BTreeMap<String, String>,
}

/// Why an input could not be matched to a record.
enum Unresolved {
    /// The input itself is malformed (no id, bad idProperty, …).
    Invalid(ErrorDetail),
    /// The id is not a valid value of the idProperty (reported with the
    /// other property values).
    BadValue(ErrorDetail),
    Missing,
}

impl Store {
    /// Validates and applies one batch; on error nothing is stored.
    pub fn write_batch(
        &mut self,
        kind: WriteKind,
        inputs: &[WriteInput],
        max_inputs: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<WriteOutcome>, ApiError> {
        if inputs.len() > max_inputs {
            let message = format!(
                "Batch input limit exceeded: {} inputs given, at most {max_inputs} are allowed",
                inputs.len()
            );
            return Err(ApiError::validation(
                message.clone(),
                vec![ErrorDetail::new("TOO_MANY_INPUTS", message)],
            ));
        }
        let planned = self.plan(kind, inputs)?;
        self.check_unique(kind, &planned, inputs)?;
        Ok(self.apply(planned, now))
    }

    /// Resolves every input to a record and validates its values.
    fn plan(&self, kind: WriteKind, inputs: &[WriteInput]) -> Result<Vec<Planned>, ApiError> {
        let mut input_errors = Vec::new();
        let mut value_errors = Vec::new();
        let mut missing = Vec::new();
        let mut planned = Vec::with_capacity(inputs.len());
        // Two inputs aimed at one record would make the outcome depend on
        // input order; HubSpot refuses such batches, so do we.
        let mut seen_keys: HashSet<(String, String)> = HashSet::new();
        let mut seen_records: HashSet<u64> = HashSet::new();

        for (index, input) in inputs.iter().enumerate() {
            let id = input.id.as_deref();
            let changes = self.validate_values(index, input, &mut value_errors);
            let (target, key) = match self.resolve(kind, index, input) {
                Ok(resolved) => resolved,
                Err(Unresolved::Invalid(detail)) => {
                    input_errors.push(detail);
                    continue;
                }
                Err(Unresolved::BadValue(detail)) => {
                    value_errors.push(detail);
                    continue;
                }
                Err(Unresolved::Missing) => {
                    missing.push(id.unwrap_or_default().to_string());
                    continue;
                }
            };
            let duplicate_key = key.as_ref().is_some_and(|k| !seen_keys.insert(k.clone()));
            let duplicate_record = matches!(target, Target::Existing(r) if !seen_records.insert(r));
            if duplicate_key || duplicate_record {
                let shown = id.unwrap_or_default();
                input_errors.push(
                    ErrorDetail::new(
                        "DUPLICATE_ID",
                        format!(
                            "Duplicate IDs found in batch input: [{shown}]. IDs must be unique"
                        ),
                    )
                    .input(index, id),
                );
                continue;
            }
            let mut changes = changes;
            // Upsert sets the identifying value on the record; it wins over a
            // different value for the same property in `properties`.
            if let (WriteKind::Upsert, Some((property, value))) = (kind, key) {
                changes.insert(property, value);
            }
            planned.push(Planned {
                index,
                target,
                changes,
            });
        }

        if !input_errors.is_empty() {
            let message = input_errors
                .iter()
                .map(|d| d.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            input_errors.extend(value_errors);
            return Err(ApiError::validation(message, input_errors));
        }
        if !value_errors.is_empty() {
            return Err(ApiError::invalid_properties(value_errors));
        }
        if !missing.is_empty() {
            // Decision: HubSpot does not document this case for batch update;
            // the simulator fails the whole batch with 400 and category
            // OBJECT_NOT_FOUND, so a client treats it like other bad input.
            let mut error = ApiError::validation(
                format!(
                    "Could not find some CONTACT objects, they may be deleted or not exist. Check that ids are valid: [{}]",
                    missing.join(", ")
                ),
                Vec::new(),
            );
            error.category = crate::errors::category::OBJECT_NOT_FOUND;
            return Err(error);
        }
        Ok(planned)
    }

    /// Normalises every property of one input, recording errors.
    fn validate_values(
        &self,
        index: usize,
        input: &WriteInput,
        errors: &mut Vec<ErrorDetail>,
    ) -> BTreeMap<String, String> {
        let id = input.id.as_deref();
        let mut changes = BTreeMap::new();
        for (name, raw) in &input.properties {
            let Some(def) = self.properties.get(name) else {
                errors.push(
                    ErrorDetail::new(
                        "PROPERTY_DOESNT_EXIST",
                        format!("Property \"{name}\" does not exist"),
                    )
                    .property(name)
                    .input(index, id),
                );
                continue;
            };
            match normalize(def, raw) {
                Ok(value) => {
                    changes.insert(name.clone(), value);
                }
                Err(e) => errors.push(
                    ErrorDetail::new(e.code, e.message)
                        .property(name)
                        .input(index, id),
                ),
            }
        }
        changes
    }

    /// Stores a validated batch. Cannot fail: everything was checked.
    fn apply(&mut self, planned: Vec<Planned>, now: DateTime<Utc>) -> Vec<WriteOutcome> {
        let unique: HashSet<String> = self.properties.unique_keys().map(String::from).collect();
        let stamp = format_datetime(now);
        let mut outcomes = Vec::with_capacity(planned.len());
        for p in planned {
            let (id, created) = match p.target {
                Target::Existing(id) => (id, false),
                Target::New => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let mut properties = BTreeMap::new();
                    properties.insert("hs_object_id".to_string(), id.to_string());
                    properties.insert("createdate".to_string(), stamp.clone());
                    let contact = Contact {
                        id,
                        properties,
                        created_at: now,
                        updated_at: now,
                        archived: false,
                        archived_at: None,
                    };
                    self.contacts.insert(id, contact);
                    (id, true)
                }
            };
            let Some(contact) = self.contacts.get_mut(&id) else {
                continue; // unreachable: resolved against this store under the same lock
            };
            for (name, value) in p.changes {
                if unique.contains(&name) {
                    if let Some(old) = contact.properties.get(&name) {
                        if let Some(index) = self.unique.get_mut(&name) {
                            index.remove(old);
                        }
                    }
                    if !value.is_empty() {
                        self.unique
                            .entry(name.clone())
                            .or_default()
                            .insert(value.clone(), id);
                    }
                }
                if value.is_empty() {
                    contact.properties.remove(&name);
                } else {
                    contact.properties.insert(name, value);
                }
            }
            contact
                .properties
                .insert("lastmodifieddate".to_string(), stamp.clone());
            contact.updated_at = now;
            outcomes.push(WriteOutcome {
                contact: contact.clone(),
                created,
            });
        }
        outcomes
    }
}
