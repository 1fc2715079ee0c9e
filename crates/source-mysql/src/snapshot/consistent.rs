//! Opening a consistent view and learning its binlog position.
//!
//! Every chunk of a snapshot is read on one connection inside one
//! `REPEATABLE READ` transaction started `WITH CONSISTENT SNAPSHOT`, so all
//! tables are seen as of one instant. What makes the snapshot usable for CDC
//! is knowing which binlog position that instant is: the reader continues
//! there, and the binlog after it holds exactly the changes the view misses.
//!
//! - **MariaDB** reports it without any lock: inside such a transaction the
//!   status variables `binlog_snapshot_file` / `binlog_snapshot_position` are
//!   the binlog position of the view (MariaDB keeps InnoDB and the binlog in
//!   one commit order). `BINLOG_GTID_POS()` turns it into a GTID state.
//! - **MySQL 8** has no such variables, so commits must be held still for a
//!   moment. With `BACKUP_ADMIN`: `LOCK INSTANCE FOR BACKUP` (no DDL), read
//!   `performance_schema.log_status` (which blocks commits while it collects
//!   the binlog position), then open the view, then unlock. The view is taken
//!   *after* the position, so it may already contain a few transactions past
//!   it; the reader replays those again from the position, which is harmless
//!   (see docs/snapshot.md). Without it, with `RELOAD`: `FLUSH TABLES WITH
//!   READ LOCK`, open the view, `SHOW MASTER STATUS`, `UNLOCK TABLES`: writes
//!   wait for the few milliseconds in between. Best effort: the test stack
//!   runs MariaDB only.

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use tracing::{info, warn};

use cdc_core::BinlogPosition;

use crate::error::SourceError;

/// The position of a freshly opened view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewPosition {
    pub position: BinlogPosition,
    /// MariaDB GTID state at `position`, when the server has GTIDs.
    pub gtid: Option<String>,
}

/// Session settings of the snapshot connection. UTC so that TIMESTAMP
/// values come back as the instants the binlog stores; utf8mb4 so that text
/// is not mangled on the way; a long write timeout because the server waits
/// while the publisher applies back-pressure mid-chunk.
const SESSION_SETUP: &[&str] = &[
    "SET NAMES utf8mb4",
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION net_write_timeout = 600",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
];

/// Connects and opens the consistent view. The returned connection is inside
/// the snapshot transaction; every read must go through it.
pub async fn open(opts: Opts, is_mariadb: bool) -> Result<(Conn, ViewPosition), SourceError> {
    let mut conn = Conn::new(opts).await?;
    for statement in SESSION_SETUP {
        conn.query_drop(*statement).await?;
    }
    let view = if is_mariadb {
        open_mariadb(&mut conn).await?
    } else {
        open_mysql(&mut conn).await?
    };
    Ok((conn, view))
}

const START: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

async fn open_mariadb(conn: &mut Conn) -> Result<ViewPosition, SourceError> {
    conn.query_drop(START).await?;
    let status: Vec<(String, String)> = conn
        .query("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
        .await?;
    let get = |name: &str| {
        status
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let file = get("binlog_snapshot_file");
    let pos: u64 = get("binlog_snapshot_position").parse().unwrap_or(0);
    if file.is_empty() {
        return Err(SourceError::Precondition {
            problem: "the server reports no binlog_snapshot_file: binary logging is off".into(),
            fix: "start the server with `log-bin` and `binlog_format=ROW`".into(),
        });
    }
    // The GTID state at the position lets a `resume = "gtid"` reader continue
    // from the snapshot too. Not essential: positions work without it.
    let gtid: Option<String> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&file, pos))
        .await
        .unwrap_or_else(|e| {
            warn!(error = %e, "BINLOG_GTID_POS failed; the snapshot records no GTID state");
            None
        })
        .flatten()
        .filter(|g: &String| !g.is_empty());
    Ok(ViewPosition {
        position: BinlogPosition::new(file, pos),
        gtid,
    })
}

async fn open_mysql(conn: &mut Conn) -> Result<ViewPosition, SourceError> {
    match conn.query_drop("LOCK INSTANCE FOR BACKUP").await {
        Ok(()) => {
            let result = backup_lock_view(conn).await;
            let _ = conn.query_drop("UNLOCK INSTANCE").await;
            result
        }
        Err(mysql_async::Error::Server(e)) if e.code == 1227 => {
            info!("no BACKUP_ADMIN privilege; taking the snapshot position under FLUSH TABLES WITH READ LOCK");
            match conn.query_drop("FLUSH TABLES WITH READ LOCK").await {
                Ok(()) => {
                    let result = read_lock_view(conn).await;
                    let _ = conn.query_drop("UNLOCK TABLES").await;
                    result
                }
                Err(mysql_async::Error::Server(e)) if e.code == 1227 => {
                    Err(SourceError::Precondition {
                        problem: "on MySQL a consistent snapshot needs BACKUP_ADMIN (LOCK INSTANCE FOR BACKUP, performance_schema.log_status) or RELOAD (FLUSH TABLES WITH READ LOCK)".into(),
                        fix: "GRANT BACKUP_ADMIN ON *.* TO '<user>'@'<host>' (or GRANT RELOAD ON *.*)".into(),
                    })
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Position first (commits held while `log_status` collects it), view second.
async fn backup_lock_view(conn: &mut Conn) -> Result<ViewPosition, SourceError> {
    let local: Option<String> = conn
        .query_first("SELECT CAST(LOCAL AS CHAR) FROM performance_schema.log_status")
        .await?;
    let local: serde_json::Value = local
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let file = local["binary_log_file"].as_str().unwrap_or_default();
    let pos = local["binary_log_position"].as_u64().unwrap_or(0);
    if file.is_empty() {
        return Err(SourceError::Precondition {
            problem: "performance_schema.log_status names no binary log: binary logging is off"
                .into(),
            fix: "start the server with `log-bin` and `binlog_format=ROW`".into(),
        });
    }
    let position = BinlogPosition::new(file, pos);
    conn.query_drop(START).await?;
    Ok(ViewPosition {
        position,
        gtid: None,
    })
}

/// Commits are blocked: view and position are the same instant.
async fn read_lock_view(conn: &mut Conn) -> Result<ViewPosition, SourceError> {
    conn.query_drop(START).await?;
    // MySQL 8.4 renamed the statement.
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        Err(_) => conn.query_first("SHOW BINARY LOG STATUS").await?,
    };
    let (file, pos) = row
        .map(|r| {
            (
                r.get::<String, _>(0).unwrap_or_default(),
                r.get::<u64, _>(1).unwrap_or(0),
            )
        })
        .unwrap_or_default();
    if file.is_empty() {
        return Err(SourceError::Precondition {
            problem: "SHOW MASTER STATUS is empty: binary logging is off".into(),
            fix: "start the server with `log-bin` and `binlog_format=ROW`".into(),
        });
    }
    Ok(ViewPosition {
        position: BinlogPosition::new(file, pos),
        gtid: None,
    })
}

/// Binlog files the server still has, oldest first.
pub async fn binary_logs(conn: &mut Conn) -> Result<Vec<String>, SourceError> {
    Ok(crate::preflight::binary_logs(conn)
        .await?
        .into_iter()
        .map(|(f, _)| f)
        .collect())
}
