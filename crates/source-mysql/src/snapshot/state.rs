//! A snapshot's progress: the record the caller stores after each chunk, and
//! the rule that decides whether an earlier record is resumed.
//!
//! The record names the snapshot's binlog position, and per table the key of
//! the last row of the last finished chunk. Key values are stored losslessly
//! ([`KeyValue`], the driver's value as it came) because they go back into
//! the next query as parameters: a DATETIME key converted to UTC text, or a
//! BIGINT UNSIGNED read as a float, would not compare equal to the stored row.

use base64::Engine;
use mysql_async::Value;
use serde::{Deserialize, Serialize};

use cdc_core::BinlogPosition;

/// The key under which a source's snapshot record is stored (beside the
/// reader's checkpoint, which is keyed by the bare source name).
pub fn state_key(source: &str) -> String {
    format!("{source}#snapshot")
}

/// Where a snapshot stands. Written by the caller only once every row
/// published before it was acknowledged, so resuming from it never skips a
/// row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// Source name from the config.
    pub source: String,
    /// `server_id` of the server the position belongs to.
    pub server_id: u32,
    /// The binlog position the snapshot is consistent with: the reader
    /// continues here once the snapshot is complete.
    pub position: BinlogPosition,
    /// MariaDB GTID state at `position`, when the server has GTIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// Tables in the order they are read.
    pub tables: Vec<TableState>,
    /// Every table was read and the reader's checkpoint was set.
    pub complete: bool,
    /// When the consistent view was taken, epoch ms (stamped on every row as
    /// `source.ts_ms`).
    pub started_ms: i64,
    /// When this record was written, epoch ms.
    #[serde(default)]
    pub written_ms: i64,
}

/// One table's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    /// `db.table`.
    pub table: String,
    /// The columns rows are read in order of (the primary key, or a unique
    /// NOT NULL key).
    pub key_columns: Vec<String>,
    /// Key of the last row of the last finished chunk; `None` before the
    /// first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_key: Option<Vec<KeyValue>>,
    /// Rows read so far.
    pub rows: u64,
    /// Estimated row count (`information_schema.TABLES.TABLE_ROWS`), for
    /// progress display only.
    pub estimate: u64,
    pub done: bool,
}

impl SnapshotState {
    /// Rows read so far, over all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Estimated total rows: per table the larger of its estimate and what
    /// was already read.
    pub fn estimate(&self) -> u64 {
        self.tables.iter().map(|t| t.estimate.max(t.rows)).sum()
    }

    /// Tables not finished yet.
    pub fn remaining(&self) -> usize {
        self.tables.iter().filter(|t| !t.done).count()
    }

    /// The table being read (the first unfinished one).
    pub fn current_table(&self) -> Option<&str> {
        self.tables
            .iter()
            .find(|t| !t.done)
            .map(|t| t.table.as_str())
    }

    pub fn table_names(&self) -> Vec<&str> {
        self.tables.iter().map(|t| t.table.as_str()).collect()
    }
}

/// What to do with an earlier snapshot record.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Continue it: same position, each table from its last finished chunk.
    Resume(Box<SnapshotState>),
    /// Take a new snapshot; the string says why (for the log).
    Fresh(String),
}

/// What this run asks for, to compare with an earlier record.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub source: &'a str,
    pub server_id: u32,
    /// `db.table`, in reading order.
    pub tables: &'a [String],
    /// Drop an unfinished snapshot instead of resuming it.
    pub restart: bool,
    /// Binlog files the server still has (`SHOW BINARY LOGS`).
    pub binlogs: &'a [String],
}

/// Whether `previous` can be resumed. An unfinished snapshot is resumed
/// unless it cannot be finished correctly: its binlog position must still be
/// on the same server, because the reader continues from there afterwards.
pub fn decide(previous: Option<SnapshotState>, req: &Request<'_>) -> Start {
    let Some(prev) = previous else {
        return Start::Fresh("no earlier snapshot".into());
    };
    let at = &prev.position;
    if prev.complete {
        return Start::Fresh(format!("the last snapshot (at {at}) is complete"));
    }
    if req.restart {
        return Start::Fresh(format!(
            "--restart: dropping the unfinished snapshot at {at}"
        ));
    }
    if prev.source != req.source {
        return Start::Fresh(format!("the record belongs to source `{}`", prev.source));
    }
    if prev.server_id != req.server_id {
        return Start::Fresh(format!(
            "the unfinished snapshot at {at} was taken on server_id {}, this server is {}",
            prev.server_id, req.server_id
        ));
    }
    if !req.binlogs.iter().any(|f| f == &at.file) {
        return Start::Fresh(format!(
            "the unfinished snapshot's position {at} is no longer on the server (purged)"
        ));
    }
    if prev.table_names() != req.tables.iter().map(String::as_str).collect::<Vec<_>>() {
        return Start::Fresh(format!(
            "the unfinished snapshot at {at} covers other tables ({})",
            prev.table_names().join(", ")
        ));
    }
    Start::Resume(Box::new(prev))
}

/// A driver value stored losslessly as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyValue {
    Null,
    Int(i64),
    Uint(u64),
    Float(f32),
    Double(f64),
    /// Bytes that are valid UTF-8.
    Text(String),
    /// Any other bytes, base64.
    Base64(String),
    /// `(year, month, day, hour, minute, second, µs)`.
    Date(u16, u8, u8, u8, u8, u8, u32),
    /// `(negative, days, hours, minutes, seconds, µs)`.
    Time(bool, u32, u8, u8, u8, u32),
}

impl From<&Value> for KeyValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::NULL => KeyValue::Null,
            Value::Int(i) => KeyValue::Int(*i),
            Value::UInt(u) => KeyValue::Uint(*u),
            Value::Float(f) => KeyValue::Float(*f),
            Value::Double(f) => KeyValue::Double(*f),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => KeyValue::Text(s.to_string()),
                Err(_) => KeyValue::Base64(base64::engine::general_purpose::STANDARD.encode(b)),
            },
            Value::Date(y, m, d, h, mi, s, us) => KeyValue::Date(*y, *m, *d, *h, *mi, *s, *us),
            Value::Time(n, d, h, m, s, us) => KeyValue::Time(*n, *d, *h, *m, *s, *us),
        }
    }
}

impl TryFrom<&KeyValue> for Value {
    type Error = String;

    fn try_from(k: &KeyValue) -> Result<Self, String> {
        Ok(match k {
            KeyValue::Null => Value::NULL,
            KeyValue::Int(i) => Value::Int(*i),
            KeyValue::Uint(u) => Value::UInt(*u),
            KeyValue::Float(f) => Value::Float(*f),
            KeyValue::Double(f) => Value::Double(*f),
            KeyValue::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
            KeyValue::Base64(s) => Value::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| format!("stored key `{s}` is not base64: {e}"))?,
            ),
            KeyValue::Date(y, m, d, h, mi, s, us) => Value::Date(*y, *m, *d, *h, *mi, *s, *us),
            KeyValue::Time(n, d, h, m, s, us) => Value::Time(*n, *d, *h, *m, *s, *us),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(tables: &[&str]) -> SnapshotState {
        SnapshotState {
            source: "app".into(),
            server_id: 1,
            position: BinlogPosition::new("mysql-bin.000003", 1234),
            gtid: Some("0-1-42".into()),
            tables: tables
                .iter()
                .map(|t| TableState {
                    table: t.to_string(),
                    key_columns: vec!["id".into()],
                    last_key: Some(vec![KeyValue::Uint(5000)]),
                    rows: 5000,
                    estimate: 20000,
                    done: false,
                })
                .collect(),
            complete: false,
            started_ms: 1,
            written_ms: 2,
        }
    }

    fn request<'a>(tables: &'a [String], binlogs: &'a [String]) -> Request<'a> {
        Request {
            source: "app",
            server_id: 1,
            tables,
            restart: false,
            binlogs,
        }
    }

    #[test]
    fn an_unfinished_snapshot_is_resumed_at_its_own_position() {
        let tables = vec!["app.users".to_string()];
        let logs = vec![
            "mysql-bin.000003".to_string(),
            "mysql-bin.000004".to_string(),
        ];
        let prev = state(&["app.users"]);
        assert_eq!(
            decide(Some(prev.clone()), &request(&tables, &logs)),
            Start::Resume(Box::new(prev))
        );
    }

    #[test]
    fn a_fresh_snapshot_when_resuming_would_be_wrong_or_was_not_asked() {
        let tables = vec!["app.users".to_string()];
        let logs = vec!["mysql-bin.000003".to_string()];
        let fresh = |s: Start| matches!(s, Start::Fresh(_));
        assert!(fresh(decide(None, &request(&tables, &logs))));
        let mut done = state(&["app.users"]);
        done.complete = true;
        assert!(fresh(decide(Some(done), &request(&tables, &logs))));
        let restart = Request {
            restart: true,
            ..request(&tables, &logs)
        };
        assert!(fresh(decide(Some(state(&["app.users"])), &restart)));
        let other_server = Request {
            server_id: 2,
            ..request(&tables, &logs)
        };
        assert!(fresh(decide(Some(state(&["app.users"])), &other_server)));
        let purged = vec!["mysql-bin.000004".to_string()];
        match decide(Some(state(&["app.users"])), &request(&tables, &purged)) {
            Start::Fresh(why) => assert!(why.contains("purged"), "{why}"),
            other => panic!("{other:?}"),
        }
        let more = vec!["app.users".to_string(), "app.user_cim_details".to_string()];
        assert!(fresh(decide(
            Some(state(&["app.users"])),
            &request(&more, &logs)
        )));
    }

    #[test]
    fn key_values_round_trip_through_json_exactly() {
        let values = vec![
            Value::UInt(u64::MAX),
            Value::Int(i64::MIN),
            Value::Bytes("Zoë".as_bytes().to_vec()),
            Value::Bytes(vec![0, 0xFF]),
            Value::Date(2024, 1, 2, 3, 4, 5, 678000),
            Value::Time(true, 34, 22, 59, 59, 0),
            Value::Double(-2.25),
            Value::NULL,
        ];
        for v in values {
            let stored = serde_json::to_string(&KeyValue::from(&v)).unwrap();
            let back: KeyValue = serde_json::from_str(&stored).unwrap();
            assert_eq!(Value::try_from(&back).unwrap(), v, "{stored}");
        }
    }

    #[test]
    fn the_record_serialises_with_its_position() {
        let s = state(&["app.users"]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["position"]["file"], "mysql-bin.000003");
        assert_eq!(v["tables"][0]["last_key"][0]["uint"], 5000);
        let back: SnapshotState = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        assert_eq!(state_key("app"), "app#snapshot");
    }
}
