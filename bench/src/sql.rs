//! Scratch databases, binlog positions and counts: the SQL the figures share.

use anyhow::{ensure, Context, Result};
use mysql_async::prelude::*;
use mysql_async::Conn;

use cdc_core::BinlogPosition;

use crate::stack::Stack;

/// The schema files of `deploy/local/sql/`.
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    /// The source tables `users` and `user_cim_details`.
    App,
    /// The MySQL sink's target tables, plus an `applied_at` column per table
    /// (see [`create_db`]).
    Crm,
}

/// Drops and creates `db` with `schema`. Target databases get
/// `applied_at TIMESTAMP(6) … ON UPDATE CURRENT_TIMESTAMP(6)`: the server
/// stamps each row when the sink's upsert writes it, which is how the
/// latency figure learns when a row reached the target without polling.
pub async fn create_db(stack: &Stack, conn: &mut Conn, db: &str, schema: Schema) -> Result<()> {
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
        .await?;
    conn.query_drop(format!(
        "CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))
    .await?;
    let file = match schema {
        Schema::App => "app-schema.sql",
        Schema::Crm => "crm-schema.sql",
    };
    let path = stack.repo.join("deploy/local/sql").join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    conn.query_drop(format!("USE `{db}`")).await?;
    // The files' own rule (see their header): whole-line `--` comments, no
    // semicolon inside a string.
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    for stmt in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.query_drop(stmt)
            .await
            .with_context(|| format!("{file}: {stmt}"))?;
    }
    if let Schema::Crm = schema {
        for table in ["users", "user_cim_details"] {
            conn.query_drop(format!(
                "ALTER TABLE `{db}`.`{table}` ADD COLUMN applied_at TIMESTAMP(6) NOT NULL \
                 DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"
            ))
            .await?;
        }
    }
    conn.query_drop("USE mysql").await?;
    Ok(())
}

/// The server's current binlog position (the end of what was written).
pub async fn master_position(conn: &mut Conn) -> Result<BinlogPosition> {
    let row: Option<mysql_async::Row> = conn.query_first("SHOW MASTER STATUS").await?;
    let row = row.context("SHOW MASTER STATUS is empty: is log_bin on?")?;
    let file: String = row.get(0).context("SHOW MASTER STATUS: no file")?;
    let pos: u64 = row.get(1).context("SHOW MASTER STATUS: no position")?;
    Ok(BinlogPosition::new(file, pos))
}

/// Starts a new binlog file and returns its first event's position, so a
/// figure's binlog range begins at a clean file start (what the peer's
/// `log_file`/`log_pos` expect too).
pub async fn fresh_binlog(conn: &mut Conn) -> Result<BinlogPosition> {
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let p = master_position(conn).await?;
    Ok(BinlogPosition::new(p.file, BinlogPosition::START_OF_FILE))
}

/// How many binlog events lie in `[from, to)` (both in one file), and how
/// many of them are row events.
pub async fn count_events(
    conn: &mut Conn,
    from: &BinlogPosition,
    to: &BinlogPosition,
) -> Result<(u64, u64)> {
    ensure!(
        from.file == to.file,
        "the range {from}..{to} spans binlog files; counting events needs one file"
    );
    let rows: Vec<(String, u64)> = conn
        .query_map(
            format!("SHOW BINLOG EVENTS IN '{}' FROM {}", from.file, from.pos),
            |row: mysql_async::Row| {
                (
                    row.get::<String, _>(2).unwrap_or_default(),
                    row.get::<u64, _>(1).unwrap_or_default(),
                )
            },
        )
        .await?;
    let mut events = 0;
    let mut row_events = 0;
    for (kind, pos) in rows {
        if pos >= to.pos {
            break;
        }
        events += 1;
        if ["Write_rows", "Update_rows", "Delete_rows"]
            .iter()
            .any(|k| kind.starts_with(k))
        {
            row_events += 1;
        }
    }
    Ok((events, row_events))
}

pub async fn count(conn: &mut Conn, sql: &str) -> Result<u64> {
    Ok(conn.query_first::<u64, _>(sql).await?.unwrap_or(0))
}

/// Quotes a string literal for MariaDB (backslashes and quotes).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}
