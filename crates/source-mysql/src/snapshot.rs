//! The snapshot: every row of the captured tables, read once, consistent
//! with a binlog position, so that a consumer starting from nothing gets the
//! current state followed by every change after it.
//!
//! Like the binlog reader, the snapshot yields items and does not decide
//! where they go: rows are sent as [`SourceItem::Change`] (`op = "r"`,
//! `source.snapshot = true`, `source.file`/`pos` = the snapshot position,
//! `source.row` = index in the chunk) into the caller's bounded channel, so a
//! slow broker stalls the table read instead of filling memory. After each
//! chunk a [`ChunkDone`] says how far the snapshot got; the caller stores it
//! once the chunk's rows are acknowledged, and a later run resumes there.
//!
//! - [`consistent`]: the consistent view and its binlog position (lock-free
//!   on MariaDB, a brief lock on MySQL).
//! - [`chunk`]: the key a table is read in, and the keyset queries.
//! - [`convert`]: result values → JSON, identical to the binlog decoder's.
//! - [`state`]: the progress record and whether an old one is resumed.
//!
//! Resuming opens a new view but keeps the first run's position. The new
//! view may contain changes made after that position; that stays correct
//! because the reader replays the binlog from the position afterwards, and
//! consumers order a snapshot row before any binlog change of a later
//! position (docs/snapshot.md explains it in full).

pub mod chunk;
pub mod consistent;
pub mod convert;
pub mod state;

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use cdc_core::{ChangeEvent, Op, Row, SourceInfo};

use crate::binlog::TableDecoder;
use crate::config::SourceConfig;
use crate::error::SourceError;
use crate::preflight::ServerInfo;
use crate::reader::{now_ms, SourceItem};
use crate::schema;

pub use chunk::{ChunkQuery, ReadKey};
pub use consistent::ViewPosition;
pub use state::{decide, state_key, KeyValue, Request, SnapshotState, Start, TableState};

/// Rows per chunk unless configured: big enough that the per-query cost
/// disappears, small enough that a chunk is re-read quickly after a crash.
pub const DEFAULT_CHUNK_SIZE: usize = 5_000;

/// Progress after one chunk.
#[derive(Debug, Clone)]
pub struct ChunkDone {
    /// The state including this chunk.
    pub state: SnapshotState,
    /// Rows this run has sent into the channel so far, this chunk included.
    /// The state may be stored once that many rows are acknowledged.
    pub rows_sent: u64,
}

/// An open snapshot: one connection inside its consistent-view transaction.
pub struct SnapshotReader {
    conn: Conn,
    config: SourceConfig,
    view: ViewPosition,
    started_ms: i64,
    tz_offset_secs: i32,
    chunk_size: usize,
    version: String,
}

impl SnapshotReader {
    /// Connects and opens the consistent view.
    pub async fn open(
        config: &SourceConfig,
        server: &ServerInfo,
        chunk_size: usize,
    ) -> Result<Self, SourceError> {
        let url = config.resolved_url()?;
        let opts =
            Opts::from_url(&url).map_err(|e| SourceError::Config(format!("source.url: {e}")))?;
        let (conn, view) = consistent::open(opts, server.is_mariadb).await?;
        debug!(position = %view.position, gtid = ?view.gtid, "consistent view opened");
        Ok(Self {
            conn,
            tz_offset_secs: config.time_zone_offset_secs()?,
            config: config.clone(),
            view,
            started_ms: now_ms(),
            chunk_size: chunk_size.max(1),
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    /// The binlog position of this run's view.
    pub fn view(&self) -> &ViewPosition {
        &self.view
    }

    /// Binlog files the server still has.
    pub async fn binary_logs(&mut self) -> Result<Vec<String>, SourceError> {
        consistent::binary_logs(&mut self.conn).await
    }

    /// A new snapshot of `tables` (`db.table`) at this view's position.
    pub async fn plan(
        &mut self,
        server_id: u32,
        tables: &[String],
    ) -> Result<SnapshotState, SourceError> {
        let mut state = SnapshotState {
            source: self.config.name.clone(),
            server_id,
            position: self.view.position.clone(),
            gtid: self.view.gtid.clone(),
            tables: Vec::new(),
            complete: false,
            started_ms: self.started_ms,
            written_ms: 0,
        };
        for table in tables {
            let (db, name) = split(table)?;
            let key = chunk::read_key(&mut self.conn, db, name).await?;
            state.tables.push(TableState {
                table: table.clone(),
                key_columns: key.columns,
                last_key: None,
                rows: 0,
                estimate: self.estimate(db, name).await?,
                done: false,
            });
        }
        Ok(state)
    }

    /// Checks an earlier run's state against the tables as they are now: a
    /// table whose read key changed starts over (its stored last key would
    /// mean something else), and estimates are refreshed.
    pub async fn refresh(&mut self, state: &mut SnapshotState) -> Result<(), SourceError> {
        for t in state.tables.iter_mut().filter(|t| !t.done) {
            let (db, name) = split(&t.table)?;
            let key = chunk::read_key(&mut self.conn, db, name).await?;
            if key.columns != t.key_columns {
                warn!(table = %t.table, was = ?t.key_columns, now = ?key.columns, "the table's key changed since the snapshot started; reading it again from the start");
                t.key_columns = key.columns;
                t.last_key = None;
                t.rows = 0;
            }
            t.estimate = self.estimate(db, name).await?;
        }
        Ok(())
    }

    async fn estimate(&mut self, db: &str, table: &str) -> Result<u64, SourceError> {
        let rows: Option<Option<u64>> = self
            .conn
            .exec_first(
                "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, table),
            )
            .await?;
        Ok(rows.flatten().unwrap_or(0))
    }

    /// Reads every unfinished table of `state`, chunk by chunk, sending rows
    /// to `tx` and a [`ChunkDone`] to `progress` after each chunk. Returns
    /// the final state (every table done), or the state so far when a
    /// receiver went away. The transaction ends with the reader.
    pub async fn run(
        mut self,
        mut state: SnapshotState,
        tx: mpsc::Sender<SourceItem>,
        progress: mpsc::Sender<ChunkDone>,
    ) -> Result<SnapshotState, SourceError> {
        let mut sent = 0u64;
        for i in 0..state.tables.len() {
            if state.tables[i].done {
                continue;
            }
            let query = self.query_for(&state.tables[i]).await?;
            info!(table = %query.table, key = ?query.key.columns, resumed_after = state.tables[i].rows, "snapshot of table started");
            loop {
                let Some(chunk) = self.read_chunk(&query, &state, i, &tx).await? else {
                    return Ok(state);
                };
                sent += chunk.rows;
                let t = &mut state.tables[i];
                t.rows += chunk.rows;
                if let Some(last) = chunk.last_key {
                    t.last_key = Some(last);
                }
                t.done = chunk.rows < self.chunk_size as u64;
                let done = t.done;
                let item = ChunkDone {
                    state: state.clone(),
                    rows_sent: sent,
                };
                if progress.send(item).await.is_err() {
                    return Ok(state);
                }
                if done {
                    info!(table = %query.table, rows = state.tables[i].rows, "snapshot of table finished");
                    break;
                }
            }
        }
        let _ = self.conn.query_drop("COMMIT").await;
        let _ = self.conn.disconnect().await;
        Ok(state)
    }

    async fn query_for(&mut self, t: &TableState) -> Result<ChunkQuery, SourceError> {
        let (db, name) = split(&t.table)?;
        let table_schema = schema::load_table(&mut self.conn, db, name).await?;
        if table_schema.columns.is_empty() {
            return Err(SourceError::Precondition {
                problem: format!("table {} does not exist", t.table),
                fix: "fix the name in source.tables (or --tables), or create the table".into(),
            });
        }
        let key = ReadKey {
            index: chunk::read_key(&mut self.conn, db, name).await?.index,
            columns: t.key_columns.clone(),
        };
        ChunkQuery::new(db, name, &table_schema, key, self.chunk_size)
    }

    /// One keyset query. `None` when the row receiver went away.
    async fn read_chunk(
        &mut self,
        query: &ChunkQuery,
        state: &SnapshotState,
        table: usize,
        tx: &mpsc::Sender<SourceItem>,
    ) -> Result<Option<Chunk>, SourceError> {
        let t = &state.tables[table];
        let last: Option<Vec<mysql_async::Value>> = match &t.last_key {
            Some(k) => Some(
                k.iter()
                    .map(mysql_async::Value::try_from)
                    .collect::<Result<_, _>>()
                    .map_err(|reason| self.decode_error(&t.table, reason))?,
            ),
            None => None,
        };
        let (sql, params) = query.statement(last.as_deref());
        let (db, name) = split(&t.table)?;
        let key_col = self
            .config
            .key_column(db, name)
            .map(str::to_string)
            .or_else(|| query.columns.first().map(|c| c.name.clone()))
            .unwrap_or_default();
        let tz = self.tz_offset_secs;
        let version = self.version.clone();
        let mut rows = 0u64;
        let mut last_key = None;
        let mut result = self.conn.exec_iter(sql, params).await?;
        while let Some(raw) = result.next().await? {
            let (row, key_values) =
                convert::convert_row(&query.columns, raw, tz).map_err(|(column, reason)| {
                    SourceError::Decode {
                        table: t.table.clone(),
                        position: state.position.clone(),
                        reason: format!("column `{column}`: {reason}"),
                    }
                })?;
            let event = snapshot_event(&version, state, db, name, &key_col, rows as u32, row);
            if tx.send(SourceItem::Change(Box::new(event))).await.is_err() {
                return Ok(None);
            }
            rows += 1;
            last_key = Some(key_values.iter().map(KeyValue::from).collect());
        }
        Ok(Some(Chunk { rows, last_key }))
    }

    fn decode_error(&self, table: &str, reason: String) -> SourceError {
        SourceError::Decode {
            table: table.to_string(),
            position: self.view.position.clone(),
            reason,
        }
    }
}

/// A snapshot row as a change event: `op = "r"`, stamped with the
/// snapshot's position.
fn snapshot_event(
    version: &str,
    state: &SnapshotState,
    db: &str,
    table: &str,
    key_col: &str,
    row: u32,
    after: Row,
) -> ChangeEvent {
    ChangeEvent {
        op: Op::Read,
        db: db.to_string(),
        table: table.to_string(),
        key: TableDecoder::key_of(&after, key_col).unwrap_or_default(),
        before: None,
        after: Some(after),
        source: SourceInfo {
            version: version.to_string(),
            connector: "mysql".into(),
            name: state.source.clone(),
            // Snapshot rows were written by no binlog event.
            server_id: 0,
            db: db.to_string(),
            table: table.to_string(),
            file: state.position.file.clone(),
            pos: state.position.pos,
            gtid: None,
            ts_ms: state.started_ms,
            row,
            snapshot: true,
            replay: false,
        },
        ts_ms: now_ms(),
    }
}

struct Chunk {
    rows: u64,
    last_key: Option<Vec<KeyValue>>,
}

fn split(table: &str) -> Result<(&str, &str), SourceError> {
    table
        .split_once('.')
        .filter(|(d, t)| !d.is_empty() && !t.is_empty())
        .ok_or_else(|| SourceError::Config(format!("table `{table}` must be `database.table`")))
}
