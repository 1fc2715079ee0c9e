//! Dead letters: every record a sink gives up on, with the reason and where
//! it came from, so nothing is dropped silently.

use cdc_bus_kafka::dlq::DeadLetter;
use cdc_core::coalesce::PendingUpdate;
use serde_json::Value;

use cdc_source_mysql::reader::now_ms;

/// A refused coalesced record.
pub fn rejected(sink: &str, update: &PendingUpdate, reason: String, details: Value) -> DeadLetter {
    DeadLetter {
        sink: sink.to_string(),
        kind: "rejected".into(),
        reason,
        details,
        key: update.key.key.clone(),
        record: serde_json::to_value(update).unwrap_or(Value::Null),
        sources: update
            .sources
            .iter()
            .map(|s| format!("{} {}:{}#{}", s.table, s.file, s.pos, s.row))
            .collect(),
        origin: update
            .sources
            .iter()
            .map(|s| format!("{}@{}", s.partition, s.offset))
            .collect(),
        payload: None,
        ts_ms: now_ms(),
    }
}

/// A message that is not a change event at all.
pub fn malformed(
    sink: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    reason: String,
) -> DeadLetter {
    DeadLetter {
        sink: sink.to_string(),
        kind: "malformed".into(),
        reason,
        details: Value::Null,
        key: key
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default(),
        record: Value::Null,
        sources: Vec::new(),
        origin: vec![format!("{topic}/{partition}@{offset}")],
        payload: payload.map(|p| String::from_utf8_lossy(p).into_owned()),
        ts_ms: now_ms(),
    }
}

/// A change event whose mapping failed (a value the conversion refuses).
pub fn unmappable(
    sink: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    event: &cdc_core::ChangeEvent,
    reason: String,
) -> DeadLetter {
    DeadLetter {
        sink: sink.to_string(),
        kind: "unmappable".into(),
        reason,
        details: Value::Null,
        key: event.key.clone(),
        record: serde_json::to_value(event).unwrap_or(Value::Null),
        sources: vec![format!(
            "{}.{} {}:{}#{}",
            event.db, event.table, event.source.file, event.source.pos, event.source.row
        )],
        origin: vec![format!("{topic}/{partition}@{offset}")],
        payload: None,
        ts_ms: now_ms(),
    }
}
