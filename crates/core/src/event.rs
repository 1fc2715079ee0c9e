//! The change-event envelope: one JSON message per changed row.
//!
//! The shape follows Debezium's (`op`, `before`, `after`, `source`, `ts_ms`)
//! closely enough that a Debezium-aware consumer can read it; the full schema
//! is documented in `docs/change-events.md`. Values inside `before`/`after`
//! are typed by the source (see that document): exact integers, DECIMAL as a
//! string, dates as ISO-8601 strings, JSON as JSON, binary as base64.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::position::{BinlogPosition, Gtid};

/// Column name → value, in table column order.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// What happened to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    /// Created (INSERT).
    #[serde(rename = "c")]
    Create,
    /// Updated (UPDATE): `before` and `after` are both set.
    #[serde(rename = "u")]
    Update,
    /// Deleted (DELETE): only `before` is set.
    #[serde(rename = "d")]
    Delete,
    /// Read by a snapshot (initial load): only `after` is set.
    #[serde(rename = "r")]
    Read,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
        }
    }
}

/// Where the change came from. Together `file`, `pos` and `row` identify a
/// row change uniquely, which is what consumers de-duplicate on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Version of cdc-streamer that produced the event.
    pub version: String,
    /// Always `"mysql"` (MariaDB included), as in Debezium.
    pub connector: String,
    /// The logical source name from the config (also the checkpoint key).
    pub name: String,
    /// `server_id` of the server that wrote the binlog event (0 for snapshots).
    pub server_id: u32,
    pub db: String,
    pub table: String,
    /// Binlog file of the rows event (for snapshots: the snapshot's position).
    pub file: String,
    /// Start offset of the rows event in `file`.
    pub pos: u64,
    /// GTID of the transaction, where the server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// Commit time of the event on the source, epoch milliseconds.
    pub ts_ms: i64,
    /// Index of the row inside its rows event (or inside a snapshot chunk).
    pub row: u32,
    /// Set when the row was read by a snapshot, not from the binlog.
    #[serde(default)]
    pub snapshot: bool,
    /// Set when the row was published again by `cdc-streamer replay`.
    #[serde(default)]
    pub replay: bool,
}

impl SourceInfo {
    pub fn position(&self) -> BinlogPosition {
        BinlogPosition::new(self.file.clone(), self.pos)
    }

    /// Orders two row changes of one source by binlog position, then row
    /// index. `None` when the files are not comparable (different binlog base
    /// names), which callers must treat as "cannot tell", not as "older".
    pub fn cmp_position(&self, other: &SourceInfo) -> Option<Ordering> {
        let a = BinlogPosition::new(self.file.as_str(), self.pos);
        let b = BinlogPosition::new(other.file.as_str(), other.pos);
        match a.partial_cmp(&b)? {
            Ordering::Equal => Some(self.row.cmp(&other.row)),
            o => Some(o),
        }
    }
}

/// One changed row, as published on the change topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub op: Op,
    pub db: String,
    pub table: String,
    /// The routing key (e.g. the user id): the Kafka message key, so every
    /// change of one entity lands in one partition, in order.
    pub key: String,
    pub before: Option<Row>,
    pub after: Option<Row>,
    pub source: SourceInfo,
    /// When cdc-streamer read the event, epoch milliseconds.
    pub ts_ms: i64,
}

impl ChangeEvent {
    /// The row image that describes the row's current state: `after`, or
    /// `before` for a delete.
    pub fn current(&self) -> Option<&Row> {
        self.after.as_ref().or(self.before.as_ref())
    }
}

/// The reader's resume point, stored durably (a compacted topic keyed by the
/// source name). It always names a transaction boundary whose events, and all
/// events before them, were acknowledged by the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Source name from the config.
    pub source: String,
    /// Server the position belongs to (positions are per server).
    pub server_id: u32,
    pub file: String,
    pub pos: u64,
    /// MariaDB GTID state at that point (`domain-server-seq[,…]`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// Commit time of the last transaction covered, epoch ms.
    pub ts_ms: i64,
    /// When the checkpoint was written, epoch ms.
    pub written_ms: i64,
}

impl Checkpoint {
    pub fn position(&self) -> BinlogPosition {
        BinlogPosition::new(self.file.clone(), self.pos)
    }

    pub fn gtids(&self) -> Vec<Gtid> {
        self.gtid
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|g| g.trim().parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(file: &str, pos: u64, row: u32) -> SourceInfo {
        SourceInfo {
            version: "0".into(),
            connector: "mysql".into(),
            name: "app".into(),
            server_id: 1,
            db: "app".into(),
            table: "users".into(),
            file: file.into(),
            pos,
            gtid: Some("0-1-7".into()),
            ts_ms: 1,
            row,
            snapshot: false,
            replay: false,
        }
    }

    #[test]
    fn envelope_serialises_in_debezium_shape() {
        let ev = ChangeEvent {
            op: Op::Update,
            db: "app".into(),
            table: "users".into(),
            key: "42".into(),
            before: Some(
                json!({"id": 42, "email": "a@x.io"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            after: Some(
                json!({"id": 42, "email": "b@x.io"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            source: source("mysql-bin.000001", 400, 0),
            ts_ms: 2,
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["op"], "u");
        assert_eq!(v["after"]["email"], "b@x.io");
        assert_eq!(v["source"]["file"], "mysql-bin.000001");
        let back: ChangeEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn source_positions_order_by_file_pos_then_row() {
        let a = source("mysql-bin.000009", 900, 3);
        let b = source("mysql-bin.000010", 4, 0);
        let c = source("mysql-bin.000009", 900, 4);
        assert_eq!(a.cmp_position(&b), Some(Ordering::Less));
        assert_eq!(a.cmp_position(&c), Some(Ordering::Less));
        assert_eq!(c.cmp_position(&c), Some(Ordering::Equal));
        assert_eq!(a.cmp_position(&source("x.1", 1, 0)), None);
    }

    #[test]
    fn checkpoint_gtids_parse_the_state_list() {
        let cp = Checkpoint {
            source: "app".into(),
            server_id: 1,
            file: "f.1".into(),
            pos: 4,
            gtid: Some("0-1-42,1-2-7".into()),
            ts_ms: 0,
            written_ms: 0,
        };
        assert_eq!(cp.gtids().len(), 2);
    }
}
