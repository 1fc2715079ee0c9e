//! Connecting as a replica and reading events.
//!
//! What the server needs from a replica, and what `mysql_async` does not do
//! by itself:
//! - MariaDB only sends its GTID events to replicas that declare the
//!   capability (`@mariadb_slave_capability=4`); without it they arrive as
//!   dummy events and we cannot record GTIDs.
//! - Heartbeats are off unless asked for (`@master_heartbeat_period`, in
//!   nanoseconds); we ask, and treat three missed heartbeats as a dead
//!   connection, because a half-open TCP connection otherwise hangs forever.
//! - The first, fake ROTATE arrives before the format description, so the
//!   stream reader does not yet know checksums are on and leaves the 4
//!   checksum bytes at the end of the file name (mysql_async issue #189). We
//!   strip them there and only there.

use std::time::Duration;

use futures::StreamExt;
use mysql_async::binlog::events::{Event, EventData, RowsEventData};
use mysql_async::prelude::*;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn, Opts};

use cdc_core::{BinlogPosition, Gtid, Row};

use mysql_common::io::ParseBuf;

use super::decode::TableDecoder;
use super::mariadb;
use super::rows;
use crate::error::SourceError;
use crate::schema::TableSchema;

/// Where the stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    Position(BinlogPosition),
    /// A MariaDB GTID state (`0-1-42[,…]`): the server finds the position.
    Gtid(String),
}

/// Header fields every event carries.
#[derive(Debug, Clone, Copy)]
pub struct EventHeader {
    /// Seconds since the epoch when the statement started on the source.
    pub timestamp: u32,
    pub server_id: u32,
    /// Position of the *next* event in the current file (0 for fake events).
    pub log_pos: u64,
    pub size: u32,
}

impl EventHeader {
    /// Start offset of this event in its file.
    pub fn start_pos(&self) -> u64 {
        self.log_pos.saturating_sub(self.size as u64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    Write,
    Update,
    Delete,
}

/// The events the reader handles; everything else is `Other`.
pub enum BinlogEvent {
    Rotate {
        file: String,
        pos: u64,
        fake: bool,
    },
    FormatDescription,
    Gtid(mariadb::GtidEvent),
    GtidList(Vec<Gtid>),
    Query {
        schema: String,
        query: String,
    },
    Xid,
    TableMap {
        table_id: u64,
        db: String,
        table: String,
    },
    Rows {
        table_id: u64,
        kind: RowsKind,
        event: Event,
    },
    Heartbeat,
    Other,
}

/// A binlog stream plus what it takes to read it safely.
pub struct BinlogClient {
    stream: BinlogStream,
    /// No format description yet: the next ROTATE is the first, fake one.
    before_fde: bool,
    /// The server writes checksums (binlog_checksum != NONE).
    checksums: bool,
    read_timeout: Duration,
}

/// One row change: `(before, after)` images.
pub type RowImages = (Option<Row>, Option<Row>);

impl BinlogClient {
    /// Opens a replica connection and requests the stream from `start`.
    /// Fails with [`SourceError::PositionPurged`] when the start file is gone.
    pub async fn open(
        opts: Opts,
        replica_server_id: u32,
        start: &StartAt,
        heartbeat: Duration,
    ) -> Result<Self, SourceError> {
        let url_for_errors = format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port());
        let mut conn = Conn::new(opts)
            .await
            .map_err(|e| SourceError::Unreachable {
                url: url_for_errors,
                reason: e.to_string(),
            })?;
        let version: String = conn
            .query_first("SELECT VERSION()")
            .await?
            .unwrap_or_default();
        let is_mariadb = version.to_ascii_lowercase().contains("mariadb");
        let checksum: Option<(String, String)> = conn
            .query_first("SHOW GLOBAL VARIABLES LIKE 'binlog_checksum'")
            .await?;
        let checksums = checksum
            .map(|(_, v)| !v.eq_ignore_ascii_case("NONE"))
            .unwrap_or(true);

        if let StartAt::Position(p) = start {
            let logs: Vec<(String, u64)> = crate::preflight::binary_logs(&mut conn).await?;
            if !logs.iter().any(|(f, _)| f == &p.file) {
                return Err(SourceError::PositionPurged {
                    position: p.clone(),
                    oldest: logs
                        .first()
                        .map(|(f, _)| format!("{f}:4"))
                        .unwrap_or_else(|| "none".into()),
                });
            }
        }

        let heartbeat_ns = heartbeat.as_nanos().max(1_000_000_000);
        conn.query_drop(format!("SET @master_heartbeat_period = {heartbeat_ns}"))
            .await?;
        if is_mariadb {
            // 4 = MARIA_SLAVE_CAPABILITY_GTID: send GTID events as themselves.
            conn.query_drop("SET @mariadb_slave_capability = 4").await?;
        }
        let (file, pos) = match start {
            StartAt::Position(p) => (p.file.clone(), p.pos),
            StartAt::Gtid(state) => {
                if !is_mariadb {
                    return Err(SourceError::Config(
                        "source.resume = \"gtid\" is implemented for MariaDB only; use \"position\"".into(),
                    ));
                }
                let state = state.replace('\'', "");
                conn.query_drop(format!("SET @slave_connect_state = '{state}'"))
                    .await?;
                conn.query_drop("SET @slave_gtid_strict_mode = 0").await?;
                conn.query_drop("SET @slave_gtid_ignore_duplicates = 0")
                    .await?;
                // With a connect state the server picks the file itself.
                (String::new(), BinlogPosition::START_OF_FILE)
            }
        };
        let request = BinlogStreamRequest::new(replica_server_id)
            .with_filename(file.as_bytes())
            .with_pos(pos);
        let stream = conn.get_binlog_stream(request).await?;
        Ok(Self {
            stream,
            before_fde: true,
            checksums,
            read_timeout: heartbeat * 3 + Duration::from_secs(1),
        })
    }

    /// The next event. A silent connection (no event and no heartbeat for
    /// three heartbeat periods) is an error, so the caller reconnects.
    pub async fn next(&mut self) -> Result<(EventHeader, BinlogEvent), SourceError> {
        let item = tokio::time::timeout(self.read_timeout, self.stream.next())
            .await
            .map_err(|_| {
                stream_err(format!(
                    "no event or heartbeat for {:?}: connection presumed dead",
                    self.read_timeout
                ))
            })?;
        let event = match item {
            Some(Ok(e)) => e,
            Some(Err(e)) => return Err(map_stream_error(e)),
            None => return Err(stream_err("server closed the binlog stream")),
        };
        let h = event.header();
        let header = EventHeader {
            timestamp: h.timestamp(),
            server_id: h.server_id(),
            log_pos: h.log_pos() as u64,
            size: h.event_size(),
        };
        let raw = h.event_type_raw();
        match raw {
            mariadb::GTID_EVENT => {
                let ev = mariadb::parse_gtid(event.data(), header.server_id)
                    .ok_or_else(|| stream_err("malformed MariaDB GTID event"))?;
                return Ok((header, BinlogEvent::Gtid(ev)));
            }
            mariadb::GTID_LIST_EVENT => {
                let list = mariadb::parse_gtid_list(event.data())
                    .ok_or_else(|| stream_err("malformed MariaDB GTID_LIST event"))?;
                return Ok((header, BinlogEvent::GtidList(list)));
            }
            _ => {}
        }
        let data = event
            .read_data()
            .map_err(|e| stream_err(format!("cannot parse event type {raw}: {e}")))?;
        let out = match data {
            Some(EventData::RotateEvent(r)) => {
                let mut name = r.name_raw().to_vec();
                if self.before_fde && self.checksums && name.len() > 4 {
                    name.truncate(name.len() - 4);
                }
                BinlogEvent::Rotate {
                    file: String::from_utf8_lossy(&name).into_owned(),
                    pos: r.position(),
                    fake: header.timestamp == 0 || header.log_pos == 0,
                }
            }
            Some(EventData::FormatDescriptionEvent(_)) => {
                self.before_fde = false;
                BinlogEvent::FormatDescription
            }
            Some(EventData::QueryEvent(q)) => BinlogEvent::Query {
                schema: q.schema().into_owned(),
                query: q.query().into_owned(),
            },
            Some(EventData::XidEvent(_)) => BinlogEvent::Xid,
            Some(EventData::TableMapEvent(t)) => BinlogEvent::TableMap {
                table_id: t.table_id(),
                db: t.database_name().into_owned(),
                table: t.table_name().into_owned(),
            },
            Some(EventData::RowsEvent(r)) => {
                let kind = match r {
                    RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => {
                        RowsKind::Write
                    }
                    RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => {
                        RowsKind::Delete
                    }
                    _ => RowsKind::Update,
                };
                let table_id = r.table_id();
                drop(r);
                return Ok((
                    header,
                    BinlogEvent::Rows {
                        table_id,
                        kind,
                        event,
                    },
                ));
            }
            Some(EventData::HeartbeatEvent) => BinlogEvent::Heartbeat,
            _ => BinlogEvent::Other,
        };
        Ok((header, out))
    }

    /// A decoder for the table map currently bound to `table_id`.
    pub fn table_decoder(
        &self,
        table_id: u64,
        schema: Option<&TableSchema>,
        tz_offset_secs: i32,
    ) -> Option<Result<TableDecoder, String>> {
        self.stream
            .get_tme(table_id)
            .map(|tme| TableDecoder::new(tme, schema, tz_offset_secs))
    }

    /// Decodes every row of a rows event.
    pub fn rows(&self, event: &Event, decoder: &TableDecoder) -> Result<Vec<RowImages>, String> {
        let data = match event.read_data().map_err(|e| e.to_string())? {
            Some(EventData::RowsEvent(r)) => r,
            _ => return Err("not a rows event".into()),
        };
        self.stream
            .get_tme(data.table_id())
            .ok_or_else(|| format!("rows event for unknown table id {}", data.table_id()))?;
        // Which columns each image holds (all of them with a FULL image).
        let before_cols: Option<Vec<bool>> = data
            .columns_before_image()
            .map(|c| c.iter().by_vals().collect());
        let after_cols: Option<Vec<bool>> = data
            .columns_after_image()
            .map(|c| c.iter().by_vals().collect());
        let shared_image = matches!(data, RowsEventData::PartialUpdateRowsEvent(_));
        let mut buf = ParseBuf(data.rows_data());
        let mut out = Vec::new();
        while !buf.is_empty() {
            let before = match &before_cols {
                Some(cols) => Some(decoder.decode_image(&mut buf, cols)?),
                None => None,
            };
            let after = match &after_cols {
                Some(cols) => {
                    if shared_image {
                        rows::skip_shared_image(&mut buf)?;
                    }
                    Some(decoder.decode_image(&mut buf, cols)?)
                }
                None => None,
            };
            out.push((before, after));
        }
        Ok(out)
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.stream.close()).await;
    }
}

fn stream_err(reason: impl Into<String>) -> SourceError {
    SourceError::Stream {
        position: BinlogPosition::new("?", 0),
        reason: reason.into(),
    }
}

fn map_stream_error(e: mysql_async::Error) -> SourceError {
    match e {
        // 1236: ER_MASTER_FATAL_ERROR_READING_BINLOG — purged or corrupt log.
        mysql_async::Error::Server(ref s) if s.code == 1236 => SourceError::Precondition {
            problem: format!("the server cannot send the requested binlog: {}", s.message),
            fix: "the position was probably purged: run `SHOW BINARY LOGS`, then `cdc-streamer snapshot` or `cdc-streamer replay --from` an available position".into(),
        },
        // 4052: ER_SLAVE_SAME_ID (MariaDB). Another replica connected with
        // our server id and the server dropped us for it. Reconnecting would
        // drop the other one in turn, forever: stop and say why.
        mysql_async::Error::Server(ref s)
            if s.code == 4052 || s.message.contains("same server_uuid/server_id") =>
        {
            SourceError::Precondition {
                problem: format!("another replica connected with this reader's server id, and the server dropped this connection ({})", s.message),
                fix: "give every reader (and every replica of this server) its own `source.server_id`; do not run two readers of one config at once".into(),
            }
        }
        other => stream_err(other.to_string()),
    }
}
