//! The HubSpot contacts sink: a drained window → batch upserts and archives.
//!
//! Contacts are addressed by the client's `id_property` (e.g. `app_user_id`),
//! whose value is the entity key. An upsert that only secondary tables
//! contributed (e.g. a `user_cim_details` change) must not create a contact
//! for a user that is not synced: those are sent only for contacts that
//! already exist. A contact re-created because its user came back into the
//! filter is completed with its other tables' rows (`refill.rs`).

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tracing::debug;

use cdc_bus_kafka::dlq::DeadLetter;
use cdc_core::coalesce::{BatchKind, Drained, PendingUpdate};
use cdc_core::mapping::SinkMapping;
use cdc_sink_hubspot::{ArchiveInput, HubSpotClient, HubSpotError, UpsertInput};
use cdc_source_mysql::SourceConfig;

use super::config::SinkConfig;
use super::known::KnownContacts;
use super::letters;
use super::refill::{self, Refill};
use super::writer::{WriteError, WriteOutcome};

pub struct HubSpotWriter {
    name: String,
    client: HubSpotClient,
    /// Inputs per request (`window.batch_size`, at most 100).
    batch_size: usize,
    /// Reads the source for contacts back in the filter (`None` when the
    /// mapping has no filter or no other table).
    refill: Option<Refill>,
    /// Contacts written or found since the start: no `batch/read` for them.
    known: KnownContacts,
}

impl HubSpotWriter {
    pub async fn open(name: &str, config: &SinkConfig, source: &SourceConfig) -> Result<Self> {
        let api = config
            .hubspot
            .clone()
            .context("missing [hubspot] section")?;
        let client = HubSpotClient::from_env(api).with_context(|| format!("sinks.{name}"))?;
        check_properties(&client, &config.tables)
            .await
            .with_context(|| format!("sinks.{name}: HubSpot property check"))?;
        Ok(Self {
            name: name.to_string(),
            batch_size: config
                .window
                .batch_size
                .clamp(1, cdc_core::coalesce::HUBSPOT_MAX_BATCH),
            refill: Refill::new(source, &config.tables).with_context(|| format!("sinks.{name}"))?,
            known: KnownContacts::new(client.config().known_contacts),
            client,
        })
    }

    pub async fn write(&self, drained: &Drained) -> Result<WriteOutcome, WriteError> {
        let mut outcome = WriteOutcome::default();
        for batch in drained.chunks(self.batch_size) {
            match batch.kind {
                BatchKind::Upsert => self.upsert(batch.updates, &mut outcome).await?,
                BatchKind::Archive | BatchKind::Delete => {
                    self.archive(batch.updates, &mut outcome).await?
                }
            }
        }
        Ok(outcome)
    }

    async fn upsert(
        &self,
        updates: &[PendingUpdate],
        outcome: &mut WriteOutcome,
    ) -> Result<(), WriteError> {
        // Only secondary tables changed these: update them only if the
        // contact exists; ask HubSpot about those not known to.
        let unknown: Vec<String> = updates
            .iter()
            .filter(|u| !u.from_primary && !self.known.contains(&u.key.key))
            .map(|u| u.key.key.clone())
            .collect();
        if !unknown.is_empty() {
            outcome.calls += 1;
            let found = self.client.existing(&unknown).await.map_err(classify)?;
            self.known.insert(found.iter().map(String::as_str));
        }
        let read = match &self.refill {
            Some(r) => r.properties(updates).await?,
            None => HashMap::new(),
        };
        let mut inputs = Vec::with_capacity(updates.len());
        for (i, u) in updates.iter().enumerate() {
            if !u.from_primary && !self.known.contains(&u.key.key) {
                debug!(key = %u.key, "change of a secondary table for a contact that does not exist: not creating it");
                continue;
            }
            let Some(properties) = u.properties() else {
                continue;
            };
            inputs.push(UpsertInput {
                id: u.key.key.clone(),
                properties: refill::merged(properties, read.get(&u.key.key)),
                tag: i as u64,
            });
        }
        if inputs.is_empty() {
            return Ok(());
        }
        let sent: Vec<(u64, &str)> = inputs
            .iter()
            .map(|i| (i.tag, updates[i.tag as usize].key.key.as_str()))
            .collect();
        let result = self.client.upsert(inputs).await.map_err(classify)?;
        outcome.calls += result.calls;
        let refused: Vec<u64> = result.dead_letters.iter().map(|d| d.input.tag).collect();
        self.known.insert(
            sent.iter()
                .filter(|(tag, _)| !refused.contains(tag))
                .map(|(_, key)| *key),
        );
        for dl in result.dead_letters {
            let tag = dl.input.tag;
            self.refused(updates, tag, dl, outcome);
        }
        Ok(())
    }

    async fn archive(
        &self,
        updates: &[PendingUpdate],
        outcome: &mut WriteOutcome,
    ) -> Result<(), WriteError> {
        let inputs: Vec<ArchiveInput> = updates
            .iter()
            .enumerate()
            .map(|(i, u)| ArchiveInput {
                id: u.key.key.clone(),
                tag: i as u64,
            })
            .collect();
        let result = self.client.archive(inputs).await.map_err(classify)?;
        outcome.calls += result.calls;
        self.known
            .remove(updates.iter().map(|u| u.key.key.as_str()));
        for dl in result.dead_letters {
            let tag = dl.input.tag;
            self.refused(updates, tag, dl, outcome);
        }
        Ok(())
    }

    /// A record HubSpot refused, as a dead letter of its coalesced update
    /// (`tag` is the update's index in `updates`).
    fn refused<I>(
        &self,
        updates: &[PendingUpdate],
        tag: u64,
        dl: cdc_sink_hubspot::DeadLetter<I>,
        outcome: &mut WriteOutcome,
    ) {
        if let Some(update) = updates.get(tag as usize) {
            outcome.dead_letters.push(letters::rejected(
                &self.name,
                update,
                dl.message,
                json!({"status": dl.status, "category": dl.category, "correlationId": dl.correlation_id, "errors": dl.errors}),
            ));
        }
    }

    /// Sends a dead letter's record again; returns a new dead letter if
    /// HubSpot still refuses it.
    pub async fn replay(&self, letter: &DeadLetter) -> Result<Option<DeadLetter>, WriteError> {
        let (kind, properties) = record_parts(&letter.record);
        let result = match kind.as_deref() {
            Some("upsert") => {
                let input = UpsertInput {
                    id: letter.key.clone(),
                    properties: properties.unwrap_or_default(),
                    tag: 0,
                };
                self.client
                    .upsert(vec![input])
                    .await
                    .map_err(classify)?
                    .dead_letters
                    .into_iter()
                    .next()
                    .map(|d| (d.message, d.errors))
            }
            Some("archive") | Some("delete") => self
                .client
                .archive(vec![ArchiveInput {
                    id: letter.key.clone(),
                    tag: 0,
                }])
                .await
                .map_err(classify)?
                .dead_letters
                .into_iter()
                .next()
                .map(|d| (d.message, d.errors)),
            _ => {
                return Err(WriteError::Fatal(anyhow::anyhow!(
                    "dead letter of kind `{}` has no record to replay",
                    letter.kind
                )))
            }
        };
        Ok(result.map(|(message, errors)| DeadLetter {
            reason: message,
            details: json!({ "errors": errors }),
            ts_ms: cdc_source_mysql::reader::now_ms(),
            ..letter.clone()
        }))
    }
}

/// `(kind, properties)` of a serialized `PendingUpdate`.
pub fn record_parts(record: &Value) -> (Option<String>, Option<serde_json::Map<String, Value>>) {
    let kind = record
        .get("kind")
        .and_then(|k| k.get("kind"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let props = record
        .get("kind")
        .and_then(|k| k.get("properties"))
        .and_then(Value::as_object)
        .cloned();
    (kind, props)
}

fn classify(e: HubSpotError) -> WriteError {
    if e.is_retriable() {
        WriteError::Retriable(e.to_string())
    } else {
        WriteError::Fatal(e.into())
    }
}

/// Refuses to start when a mapped property is missing in the account or has
/// a type the conversion cannot produce, or when an enumeration value the
/// mapping sends is not an option of the property.
async fn check_properties(client: &HubSpotClient, mapping: &SinkMapping) -> Result<()> {
    let defs = client.fetch_properties().await?;
    let by_name: HashMap<&str, _> = defs.iter().map(|d| (d.name.as_str(), d)).collect();
    let mut problems = Vec::new();
    for p in mapping.target_properties() {
        match by_name.get(p.name.as_str()) {
            None => problems.push(format!(
                "property `{}` (from {}) does not exist in HubSpot: create it (Settings → Properties → Contact properties) as type `{}`, or fix the mapping",
                p.name,
                p.table,
                p.kind.as_str()
            )),
            Some(def) if !p.kind.accepts(&def.kind) => problems.push(format!(
                "property `{}` is of type `{}` in HubSpot, the mapping converts {} to `{}`: change the column's `type` in the mapping or the property in HubSpot",
                p.name,
                def.kind,
                p.table,
                p.kind.as_str()
            )),
            Some(def) => {
                let known: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
                let unknown: Vec<&String> = p.options.iter().filter(|o| !known.contains(&o.as_str())).collect();
                if def.kind == "enumeration" && !unknown.is_empty() {
                    problems.push(format!(
                        "enumeration property `{}` has no option(s) {:?} that the mapping's value map sends: add them in HubSpot or fix `values`",
                        p.name, unknown
                    ));
                }
            }
        }
    }
    let id = &client.config().id_property;
    match by_name.get(id.as_str()) {
        None => problems.push(format!("hubspot.id_property `{id}` does not exist in HubSpot")),
        Some(def) if id != "email" && !def.has_unique_value => problems.push(format!(
            "hubspot.id_property `{id}` is not a unique-value property in HubSpot: upserts by it are impossible; create a property with \"unique value\" turned on"
        )),
        _ => {}
    }
    problems.sort();
    problems.dedup();
    if !problems.is_empty() {
        bail!(
            "the HubSpot account does not match the mapping:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(())
}
