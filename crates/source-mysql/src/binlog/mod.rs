//! The binlog client boundary. Everything that knows `mysql_async`'s binlog
//! types lives here; the reader sees only [`BinlogEvent`]s and decoded rows,
//! so the client could be swapped without touching the read loop.
//!
//! - [`client`]: connecting as a replica, requesting the stream, heartbeats
//!   and read timeouts, the first fake ROTATE's checksum bytes.
//! - [`mariadb`]: MariaDB's GTID events.
//! - [`rows`]: the row images of a rows event (framing; values by
//!   `mysql_common`).
//! - [`decode`]: row values → JSON.

pub mod client;
pub mod decode;
pub mod mariadb;
pub mod rows;

pub use client::{BinlogClient, BinlogEvent, EventHeader, RowsKind, StartAt};
pub use decode::TableDecoder;
