//! The read loop: binlog events in, [`SourceItem`]s out.
//!
//! One handler per event kind. The loop tracks transaction boundaries
//! because that is the only place a resume position is safe: resuming in the
//! middle of a transaction would skip its table map events and its first rows.
//! Changes are emitted as they are decoded (a million-row transaction is never
//! held in memory: the bounded channel to the publisher pushes back on the
//! binlog read), and a [`SourceItem::Commit`] follows the last change of each
//! transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::{Opts, Pool};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use cdc_core::{BinlogPosition, ChangeEvent, Gtid, Op, SourceInfo};

use crate::binlog::{
    mariadb, BinlogClient, BinlogEvent, EventHeader, RowsKind, StartAt, TableDecoder,
};
use crate::config::{ResumeMode, SourceConfig};
use crate::error::SourceError;
use crate::preflight::ServerInfo;
use crate::schema::{ddl_tables, SchemaCache};

/// What the reader yields.
#[derive(Debug, Clone)]
pub enum SourceItem {
    /// One row change.
    Change(Box<ChangeEvent>),
    /// A transaction ended: every change before this item is complete, and
    /// reading can resume at `position` (or at the GTID state `gtid`).
    Commit {
        position: BinlogPosition,
        gtid: Option<String>,
        ts_ms: i64,
    },
    /// Nothing happened; the server is at `position` (for lag reporting).
    Heartbeat { position: BinlogPosition },
    /// The requested range (`ReadRange::to`) was read completely.
    End,
}

/// Which part of the binlog to read.
#[derive(Debug, Clone)]
pub struct ReadRange {
    pub from: StartAt,
    /// Stop after the first transaction ending at or after this position.
    pub to: Option<BinlogPosition>,
    /// Mark events as replayed (`source.replay = true`).
    pub replay: bool,
    /// Restrict to these tables (`db.table`), a subset of the configured ones.
    pub only_tables: Option<Vec<String>>,
}

/// Per-connection state of the loop.
#[derive(Default)]
struct TxnState {
    file: String,
    in_txn: bool,
    standalone: bool,
    gtid: Option<Gtid>,
}

pub struct BinlogReader {
    config: SourceConfig,
    opts: Opts,
    tz_offset_secs: i32,
    include: HashSet<(String, String)>,
    schema: SchemaCache,
    server: ServerInfo,
    /// Decoders by table id; `None` marks a table that is not captured.
    decoders: HashMap<u64, Option<Arc<TableDecoder>>>,
    /// Last GTID per domain, at the last commit.
    gtid_state: BTreeMap<u32, Gtid>,
    warned_fallback: bool,
    version: String,
}

impl BinlogReader {
    pub fn new(config: &SourceConfig, server: ServerInfo) -> Result<Self, SourceError> {
        let url = config.resolved_url()?;
        let opts =
            Opts::from_url(&url).map_err(|e| SourceError::Config(format!("source.url: {e}")))?;
        let include = config.table_pairs()?.into_iter().collect();
        Ok(Self {
            tz_offset_secs: config.time_zone_offset_secs()?,
            config: config.clone(),
            schema: SchemaCache::new(Pool::new(opts.clone())),
            opts,
            include,
            server,
            decoders: HashMap::new(),
            gtid_state: BTreeMap::new(),
            warned_fallback: false,
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    /// Reads `range` and sends items to `tx` until the range ends, the
    /// receiver goes away, or a non-transient error happens. Dropped
    /// connections are reopened with backoff at the last transaction
    /// boundary; changes of a half-read transaction are then sent again, with
    /// the same source positions, for consumers to drop.
    pub async fn run(
        &mut self,
        range: ReadRange,
        tx: mpsc::Sender<SourceItem>,
    ) -> Result<(), SourceError> {
        if let Some(only) = &range.only_tables {
            self.include
                .retain(|(d, t)| only.iter().any(|o| o == &format!("{d}.{t}")));
        }
        if let StartAt::Gtid(state) = &range.from {
            for g in state
                .split(',')
                .filter_map(|g| g.trim().parse::<Gtid>().ok())
            {
                self.gtid_state.insert(g.domain, g);
            }
        }
        let mut resume = range.from.clone();
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.stream(&resume, &range, &tx, &mut backoff).await {
                Ok(Some(last_commit)) => resume = last_commit,
                Ok(None) => return Ok(()),
                Err((e, last_commit)) if e.is_transient() => {
                    if let Some(p) = last_commit {
                        resume = p;
                    }
                    warn!(error = %e, retry_in = ?backoff, "binlog connection lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// One connection's worth of streaming. `Ok(None)`: done; `Ok(Some(p))`
    /// never happens today but lets a clean server-side close resume at `p`.
    async fn stream(
        &mut self,
        start: &StartAt,
        range: &ReadRange,
        tx: &mpsc::Sender<SourceItem>,
        backoff: &mut Duration,
    ) -> Result<Option<StartAt>, (SourceError, Option<StartAt>)> {
        let heartbeat = Duration::from_secs(self.config.heartbeat_secs.max(1));
        let mut client =
            BinlogClient::open(self.opts.clone(), self.config.server_id, start, heartbeat)
                .await
                .map_err(|e| (e, None))?;
        info!(from = ?start, "binlog stream opened");
        self.decoders.clear();
        let mut st = TxnState::default();
        if let StartAt::Position(p) = start {
            st.file = p.file.clone();
        }
        let mut last_commit: Option<StartAt> = None;
        loop {
            let (header, event) = match client.next().await {
                Ok(x) => x,
                Err(e) => {
                    client.close().await;
                    return Err((with_position(e, &st.file, 0), last_commit));
                }
            };
            *backoff = Duration::from_millis(500);
            let outcome = self
                .handle(&client, &mut st, header, event, range, tx)
                .await
                .map_err(|e| (e, last_commit.clone()))?;
            match outcome {
                Step::Continue => {}
                Step::Committed(pos) => {
                    last_commit = Some(match self.config.resume {
                        ResumeMode::Gtid if !self.gtid_state.is_empty() => {
                            StartAt::Gtid(self.gtid_string())
                        }
                        _ => StartAt::Position(pos.clone()),
                    });
                    if let Some(to) = &range.to {
                        if matches!(
                            pos.partial_cmp(to),
                            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                        ) {
                            let _ = tx.send(SourceItem::End).await;
                            client.close().await;
                            return Ok(None);
                        }
                    }
                }
                Step::Stop => {
                    client.close().await;
                    return Ok(None);
                }
            }
        }
    }

    fn gtid_string(&self) -> String {
        mariadb::format_state(&self.gtid_state.values().copied().collect::<Vec<_>>())
    }

    async fn handle(
        &mut self,
        client: &BinlogClient,
        st: &mut TxnState,
        header: EventHeader,
        event: BinlogEvent,
        range: &ReadRange,
        tx: &mpsc::Sender<SourceItem>,
    ) -> Result<Step, SourceError> {
        match event {
            BinlogEvent::Rotate { file, pos, fake } => {
                debug!(%file, pos, fake, "rotate");
                st.file = file;
                // A real ROTATE ends a file between transactions: the next
                // file's start is a safe resume point.
                if !fake && !st.in_txn {
                    return self
                        .commit(st, BinlogPosition::new(st.file.clone(), pos), header, tx)
                        .await;
                }
            }
            BinlogEvent::Gtid(g) => {
                st.in_txn = true;
                st.standalone = g.standalone;
                st.gtid = Some(g.gtid);
            }
            BinlogEvent::GtidList(list) => {
                for g in list {
                    self.gtid_state.entry(g.domain).or_insert(g);
                }
            }
            BinlogEvent::Query { schema, query } => {
                return self.on_query(st, header, &schema, &query, tx).await
            }
            BinlogEvent::Xid => return self.commit(st, self.pos(st, header), header, tx).await,
            BinlogEvent::TableMap {
                table_id,
                db,
                table,
            } => self.on_table_map(client, table_id, db, table).await?,
            BinlogEvent::Rows {
                table_id,
                kind,
                event,
            } => {
                let decoder = match self.decoders.get(&table_id) {
                    Some(Some(d)) => d.clone(),
                    _ => return Ok(Step::Continue),
                };
                let rows = client
                    .rows(&event, &decoder)
                    .map_err(|reason| SourceError::Decode {
                        table: format!("{}.{}", decoder.db, decoder.table),
                        position: BinlogPosition::new(st.file.clone(), header.start_pos()),
                        reason,
                    })?;
                // One wait for room for every row of the event, rather than
                // one per row: the consumer then wakes once per event, not
                // per row (task switches were 8% of the decode profile).
                let Ok(mut permits) = tx.reserve_many(rows.len().min(tx.max_capacity())).await
                else {
                    return Ok(Step::Stop);
                };
                let shared = EventShared {
                    gtid: st.gtid.map(|g| g.to_string()),
                    replay: range.replay,
                };
                for (i, (before, after)) in rows.into_iter().enumerate() {
                    let ev = self.change(
                        st, &header, &decoder, &shared, kind, i as u32, before, after,
                    );
                    let item = SourceItem::Change(Box::new(ev));
                    match permits.next() {
                        Some(permit) => permit.send(item),
                        // An event with more rows than the channel holds.
                        None => {
                            if tx.send(item).await.is_err() {
                                return Ok(Step::Stop);
                            }
                        }
                    }
                }
            }
            BinlogEvent::Heartbeat => {
                if !st.in_txn && header.log_pos > 0 {
                    let position = BinlogPosition::new(st.file.clone(), header.log_pos);
                    if tx.send(SourceItem::Heartbeat { position }).await.is_err() {
                        return Ok(Step::Stop);
                    }
                }
            }
            BinlogEvent::FormatDescription | BinlogEvent::Other => {}
        }
        Ok(Step::Continue)
    }

    fn pos(&self, st: &TxnState, header: EventHeader) -> BinlogPosition {
        BinlogPosition::new(st.file.clone(), header.log_pos)
    }

    async fn on_query(
        &mut self,
        st: &mut TxnState,
        header: EventHeader,
        schema: &str,
        query: &str,
        tx: &mpsc::Sender<SourceItem>,
    ) -> Result<Step, SourceError> {
        let q = query.trim();
        if q.eq_ignore_ascii_case("BEGIN") {
            st.in_txn = true;
            return Ok(Step::Continue);
        }
        if q.eq_ignore_ascii_case("COMMIT") {
            return self.commit(st, self.pos(st, header), header, tx).await;
        }
        for (db, table) in ddl_tables(schema, q) {
            if self.include.contains(&(db.clone(), table.clone())) {
                info!(%db, %table, ddl = %q, "DDL on a captured table; reloading its schema");
                self.schema.invalidate(&db, &table);
            }
        }
        if !st.in_txn || st.standalone {
            return self.commit(st, self.pos(st, header), header, tx).await;
        }
        Ok(Step::Continue)
    }

    async fn on_table_map(
        &mut self,
        client: &BinlogClient,
        table_id: u64,
        db: String,
        table: String,
    ) -> Result<(), SourceError> {
        if !self.include.contains(&(db.clone(), table.clone())) {
            self.decoders.insert(table_id, None);
            return Ok(());
        }
        // information_schema is consulted for names only without row
        // metadata, and on MariaDB for JSON columns (logged as plain text).
        let need_schema = !self.server.row_metadata_full || self.server.is_mariadb;
        let schema = if need_schema {
            Some(self.schema.get(&db, &table).await?.clone())
        } else {
            None
        };
        let mut decoder = client
            .table_decoder(table_id, schema.as_ref(), self.tz_offset_secs)
            .ok_or_else(|| SourceError::Config(format!("table map for {db}.{table} vanished")))?
            .map_err(|reason| SourceError::Decode {
                table: format!("{db}.{table}"),
                position: BinlogPosition::new("?", 0),
                reason,
            })?;
        if !decoder.names_from_binlog && !self.warned_fallback {
            warn!(%db, %table, "binlog has no column names (binlog_row_metadata != FULL); using information_schema. Replaying events from before an ALTER TABLE can mislabel columns");
            self.warned_fallback = true;
        }
        if let Some(key) = self.config.key_column(&db, &table) {
            decoder.key_column = key.to_string();
        }
        self.decoders.insert(table_id, Some(Arc::new(decoder)));
        Ok(())
    }

    async fn commit(
        &mut self,
        st: &mut TxnState,
        position: BinlogPosition,
        header: EventHeader,
        tx: &mpsc::Sender<SourceItem>,
    ) -> Result<Step, SourceError> {
        if let Some(g) = st.gtid.take() {
            self.gtid_state.insert(g.domain, g);
        }
        st.in_txn = false;
        st.standalone = false;
        let gtid = (!self.gtid_state.is_empty()).then(|| self.gtid_string());
        let item = SourceItem::Commit {
            position: position.clone(),
            gtid,
            ts_ms: header.timestamp as i64 * 1000,
        };
        if tx.send(item).await.is_err() {
            return Ok(Step::Stop);
        }
        Ok(Step::Committed(position))
    }

    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::too_many_arguments)]
    fn change(
        &self,
        st: &TxnState,
        header: &EventHeader,
        decoder: &TableDecoder,
        shared: &EventShared,
        kind: RowsKind,
        row: u32,
        before: Option<cdc_core::Row>,
        after: Option<cdc_core::Row>,
    ) -> ChangeEvent {
        let op = match kind {
            RowsKind::Write => Op::Create,
            RowsKind::Update => Op::Update,
            RowsKind::Delete => Op::Delete,
        };
        let image = after.as_ref().or(before.as_ref());
        let key = image
            .and_then(|r| TableDecoder::key_of(r, &decoder.key_column))
            .unwrap_or_default();
        ChangeEvent {
            op,
            db: decoder.db.clone(),
            table: decoder.table.clone(),
            key,
            before,
            after,
            source: SourceInfo {
                version: self.version.clone(),
                connector: "mysql".into(),
                name: self.config.name.clone(),
                server_id: header.server_id,
                db: decoder.db.clone(),
                table: decoder.table.clone(),
                file: st.file.clone(),
                pos: header.start_pos(),
                gtid: shared.gtid.clone(),
                ts_ms: header.timestamp as i64 * 1000,
                row,
                snapshot: false,
                replay: shared.replay,
            },
            ts_ms: now_ms(),
        }
    }

    pub async fn close(self) {
        self.schema.close().await;
    }
}

/// What every row of one rows event shares, worked out once per event.
struct EventShared {
    gtid: Option<String>,
    replay: bool,
}

enum Step {
    Continue,
    Committed(BinlogPosition),
    Stop,
}

fn with_position(e: SourceError, file: &str, pos: u64) -> SourceError {
    match e {
        SourceError::Stream { reason, .. } => SourceError::Stream {
            position: BinlogPosition::new(file, pos),
            reason,
        },
        other => other,
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
