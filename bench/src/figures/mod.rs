//! The five figures, one file each, and the source table they share.
//!
//! - [`decode`]: binlog decode throughput, ours against the Python peer.
//! - [`reader_kafka`]: the `cdc-streamer reader` process, binlog to
//!   acknowledged Kafka messages.
//! - [`latency`]: commit in MariaDB → contact in the simulator and row in
//!   the MySQL target, at steady rates.
//! - [`mass_update`]: one UPDATE of every user: memory, drain time, calls.
//! - [`coalescing`]: a day of CRM activity: HubSpot calls against events.
//!
//! Figures 1 and 2 read the binlog range written by loading the `bench.users`
//! table ([`prepare_source`]); figures 3 and 4 change rows of that table.

pub mod coalescing;
pub mod decode;
pub mod latency;
pub mod mass_update;
pub mod reader_kafka;

use std::time::Duration;

use anyhow::Result;
use mysql_async::prelude::*;

use cdc_core::BinlogPosition;

use crate::sql::{create_db, fresh_binlog, master_position, Schema};
use crate::stack::Stack;
use crate::workload::load_users;

/// The source database of figures 1–4.
pub const DB: &str = "bench";

/// What every figure gets.
pub struct Ctx {
    pub stack: Stack,
    /// Users in `bench.users` (1,000,000; quick: 100,000).
    pub rows: u64,
    /// Length of each steady-rate latency run.
    pub duration: Duration,
    /// Users of the coalescing day (60,000; quick: 6,000).
    pub day_users: u64,
    /// The source server's own server_id (checkpoints carry it).
    pub server_id: u32,
}

/// The loaded `bench.users` table and the binlog range its load wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Source {
    pub rows: u64,
    #[serde(serialize_with = "as_string")]
    pub start: BinlogPosition,
    #[serde(serialize_with = "as_string")]
    pub end: BinlogPosition,
    pub binlog_bytes: u64,
    pub load_rows_per_s: f64,
}

pub fn as_string<S: serde::Serializer>(p: &BinlogPosition, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string())
}

/// Creates `bench` and loads `ctx.rows` users in multi-row INSERTs of 1,000
/// rows, one transaction each, at the start of a fresh binlog file.
pub async fn prepare_source(ctx: &Ctx) -> Result<Source> {
    let mut conn = ctx.stack.conn().await?;
    create_db(&ctx.stack, &mut conn, DB, Schema::App).await?;
    let start = fresh_binlog(&mut conn).await?;
    let rate = load_users(&mut conn, DB, 1, ctx.rows, 1_000, false).await?;
    let end = master_position(&mut conn).await?;
    // A later figure's writes must not land in this range's file: the peer
    // reads "to the end of the binlog" as much as to `end`.
    conn.query_drop("FLUSH BINARY LOGS").await?;
    conn.disconnect().await?;
    anyhow::ensure!(
        start.file == end.file,
        "the load spans binlog files ({start}..{end}); raise max_binlog_size"
    );
    Ok(Source {
        rows: ctx.rows,
        binlog_bytes: end.pos - start.pos,
        start,
        end,
        load_rows_per_s: rate.round(),
    })
}

/// One line of progress on stderr (the figures take minutes).
pub fn say(msg: impl AsRef<str>) {
    eprintln!(
        "[bench {}] {}",
        chrono::Local::now().format("%H:%M:%S"),
        msg.as_ref()
    );
}
