//! The MySQL/MariaDB source: reads the binary log as a replica and turns row
//! events into [`cdc_core::ChangeEvent`]s, with the position after each
//! transaction. It does not decide where events go: the caller (the CLI's
//! reader pipeline) hands them to the bus and checkpoints.
//!
//! # Layout
//! - [`config`]: the `[source]` section of the config file.
//! - [`error`]: everything that can go wrong, phrased as what to fix.
//! - [`preflight`]: server settings and privileges checked before streaming.
//! - [`binlog`]: the binlog client (the only module that speaks the replica
//!   protocol through `mysql_async`), the MariaDB GTID events that
//!   `mysql_common` does not decode, and value decoding.
//! - [`schema`]: column names and types from `information_schema`, used where
//!   the binlog carries no row metadata, and for MariaDB's JSON columns.
//! - [`reader`]: the read loop: one handler per event kind, table filtering,
//!   transaction boundaries, reconnects.
//! - [`lookup`]: current rows by key, for a sink that must complete a
//!   record it re-creates (a user back in the sync filter).
//! - [`temporal`]: dates and times as text, the same for binlog and
//!   snapshot rows.
//! - [`snapshot`]: the initial load: every row in key order, in chunks, from
//!   one consistent view whose binlog position the reader continues at.
//!
//! # What the server needs
//! `log_bin=ON`, `binlog_format=ROW`, `binlog_row_image=FULL` and, so that old
//! events carry their own column names, `binlog_row_metadata=FULL`. The user
//! needs `REPLICATION SLAVE`, `REPLICATION CLIENT` and `SELECT` on the
//! included tables (on MySQL, `BACKUP_ADMIN` or `RELOAD` too for snapshots:
//! see docs/snapshot.md).

pub mod binlog;
pub mod config;
pub mod error;
pub mod lookup;
pub mod preflight;
pub mod reader;
pub mod schema;
pub mod snapshot;
pub mod temporal;

pub use config::SourceConfig;
pub use error::SourceError;
pub use reader::{BinlogReader, ReadRange, SourceItem};
