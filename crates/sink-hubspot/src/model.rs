//! What the caller hands in (inputs) and gets back (outcome, dead letters).
//!
//! Every input carries an opaque `tag` chosen by the caller, so that a dead
//! letter can be traced back to the Kafka offset (or anything else) it came
//! from without this crate knowing about offsets.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One contact to create or update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpsertInput {
    /// Value of the configured `id_property` (an email address, or the
    /// product's user id when a custom unique property is used).
    pub id: String,
    /// Property name → value. Values should be strings already converted to
    /// HubSpot's formats (dates as midnight-UTC epoch milliseconds, …).
    pub properties: Map<String, Value>,
    /// Opaque to this crate; returned unchanged in dead letters.
    pub tag: u64,
}

/// One contact to archive (HubSpot's soft delete), named by its
/// `id_property` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInput {
    /// Value of the configured `id_property`.
    pub id: String,
    /// Opaque to this crate; returned unchanged in dead letters.
    pub tag: u64,
}

/// Anything the batch machinery can send: it only needs the id that HubSpot
/// may name in an error, to find the culprit of a rejected batch.
pub trait BatchItem: Clone {
    fn id(&self) -> &str;
}

impl BatchItem for UpsertInput {
    fn id(&self) -> &str {
        &self.id
    }
}

impl BatchItem for ArchiveInput {
    fn id(&self) -> &str {
        &self.id
    }
}

/// An input HubSpot refused on its own (never because of a neighbour in its
/// batch), with HubSpot's explanation. Retrying it unchanged would fail
/// again: it belongs in a dead-letter queue for a person to look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter<I = UpsertInput> {
    pub input: I,
    /// HTTP status of the refusal (400, 409, … or the per-record status of
    /// a 207 answer).
    pub status: u16,
    /// HubSpot's `category`, e.g. `VALIDATION_ERROR`.
    pub category: Option<String>,
    /// HubSpot's message, e.g. `Email address foo@ is invalid`.
    pub message: String,
    /// HubSpot's `correlationId`, to quote when asking HubSpot support.
    pub correlation_id: Option<String>,
    /// HubSpot's `errors[]` detail (codes such as `INVALID_EMAIL`, the
    /// property in `in` / `context.propertyName`), `null` when absent.
    pub errors: Value,
}

impl<I> DeadLetter<I> {
    /// The `code` of every entry of `errors[]` (e.g. `INVALID_EMAIL`).
    pub fn error_codes(&self) -> Vec<&str> {
        self.errors
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.get("code").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What one `upsert` or `archive` call achieved. Counters are plain fields
/// so the caller can feed them to its metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchOutcome<I = UpsertInput> {
    /// Inputs HubSpot accepted.
    pub applied: usize,
    /// Inputs HubSpot refused individually; the rest were applied.
    pub dead_letters: Vec<DeadLetter<I>>,
    /// HTTP requests sent, retries and bisection included.
    pub calls: usize,
    /// Requests that repeated an earlier one after a retriable answer
    /// (429, 5xx, 423, 477, timeout, connection error).
    pub retries: usize,
}

impl<I> Default for BatchOutcome<I> {
    fn default() -> Self {
        BatchOutcome {
            applied: 0,
            dead_letters: Vec::new(),
            calls: 0,
            retries: 0,
        }
    }
}
