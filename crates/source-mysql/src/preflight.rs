//! Checks run before streaming: binlog settings, privileges and tables, each
//! failing with the statement or setting that fixes it. Running them first
//! turns "the stream silently produced nothing" into one clear message.

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use crate::config::SourceConfig;
use crate::error::SourceError;

/// What the checks found out about the server.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: String,
    pub is_mariadb: bool,
    pub server_id: u32,
    /// `binlog_row_metadata=FULL`: every table map carries column names.
    pub row_metadata_full: bool,
    /// Problems that do not stop the reader but that the operator should know.
    pub warnings: Vec<String>,
}

/// Connects with the source URL, mapping connection failures to an
/// actionable error (the URL is printed without its password).
pub async fn connect(config: &SourceConfig) -> Result<Conn, SourceError> {
    let url = config.resolved_url()?;
    let opts = Opts::from_url(&url).map_err(|e| SourceError::Config(format!("source.url: {e}")))?;
    Conn::new(opts).await.map_err(|e| SourceError::Unreachable {
        url: redact(&url),
        reason: e.to_string(),
    })
}

/// Runs every check and returns the first failure, or what was learnt.
pub async fn check(config: &SourceConfig) -> Result<ServerInfo, SourceError> {
    let mut conn = connect(config).await?;
    let info = check_conn(&mut conn, config).await;
    let _ = conn.disconnect().await;
    info
}

async fn variable(conn: &mut Conn, name: &str) -> Result<Option<String>, SourceError> {
    let row: Option<(String, String)> = conn
        .query_first(format!("SHOW GLOBAL VARIABLES LIKE '{name}'"))
        .await?;
    Ok(row.map(|(_, v)| v))
}

fn precondition(problem: impl Into<String>, fix: impl Into<String>) -> SourceError {
    SourceError::Precondition {
        problem: problem.into(),
        fix: fix.into(),
    }
}

pub async fn check_conn(conn: &mut Conn, config: &SourceConfig) -> Result<ServerInfo, SourceError> {
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await?
        .unwrap_or_default();
    let is_mariadb = version.to_ascii_lowercase().contains("mariadb");
    let mut warnings = Vec::new();

    let log_bin = variable(conn, "log_bin").await?.unwrap_or_default();
    if !log_bin.eq_ignore_ascii_case("ON") {
        return Err(precondition(
            "binary logging is disabled (log_bin=OFF)",
            "start the server with `log-bin` (and `binlog_format=ROW`, `binlog_row_image=FULL`) in its config, then restart it",
        ));
    }
    let format = variable(conn, "binlog_format").await?.unwrap_or_default();
    if !format.eq_ignore_ascii_case("ROW") {
        return Err(precondition(
            format!("binlog_format is {format}, row events are needed"),
            "set `binlog_format=ROW` in the server config (and `SET GLOBAL binlog_format='ROW'`), then reconnect the application's sessions so they log rows",
        ));
    }
    let image = variable(conn, "binlog_row_image")
        .await?
        .unwrap_or_else(|| "FULL".into());
    if !image.eq_ignore_ascii_case("FULL") {
        return Err(precondition(
            format!("binlog_row_image is {image}, so updates do not carry every column"),
            "set `binlog_row_image=FULL` in the server config (and `SET GLOBAL binlog_row_image='FULL'`)",
        ));
    }
    let metadata = variable(conn, "binlog_row_metadata")
        .await?
        .unwrap_or_else(|| "NO_LOG".into());
    let row_metadata_full = metadata.eq_ignore_ascii_case("FULL");
    if !row_metadata_full {
        warnings.push(format!(
            "binlog_row_metadata is {metadata}: column names come from information_schema, so replaying events from before an ALTER TABLE can mislabel columns; set `binlog_row_metadata=FULL` (MariaDB >= 10.5, MySQL >= 8.0.1)"
        ));
    }

    let server_id: u32 = variable(conn, "server_id")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if server_id == config.server_id {
        return Err(precondition(
            format!(
                "source.server_id {} equals the server's own server_id",
                config.server_id
            ),
            "choose a source.server_id that no server or replica in the topology uses",
        ));
    }

    check_privileges(conn).await?;
    check_tables(conn, config).await?;

    Ok(ServerInfo {
        version,
        is_mariadb,
        server_id,
        row_metadata_full,
        warnings,
    })
}

async fn check_privileges(conn: &mut Conn) -> Result<(), SourceError> {
    let grants: Vec<String> = conn.query("SHOW GRANTS").await?;
    let all = grants.join("\n").to_ascii_uppercase();
    let global_all = all.contains("GRANT ALL PRIVILEGES ON *.*");
    if !global_all && !all.contains("REPLICATION SLAVE") {
        return Err(precondition(
            "the user lacks the REPLICATION SLAVE privilege needed to read the binlog",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '<user>'@'<host>'",
        ));
    }
    if let Err(e) = conn.query_drop("SHOW BINARY LOGS").await {
        return Err(match e {
            mysql_async::Error::Server(ref s) if s.code == 1227 => precondition(
                "the user lacks REPLICATION CLIENT (BINLOG MONITOR on MariaDB >= 10.5) needed to list binlogs",
                "GRANT REPLICATION CLIENT ON *.* TO '<user>'@'<host>'",
            ),
            other => other.into(),
        });
    }
    Ok(())
}

async fn check_tables(conn: &mut Conn, config: &SourceConfig) -> Result<(), SourceError> {
    for (db, table) in config.table_pairs()? {
        let q = format!(
            "SELECT 1 FROM `{}`.`{}` LIMIT 0",
            db.replace('`', "``"),
            table.replace('`', "``")
        );
        if let Err(e) = conn.query_drop(q).await {
            return Err(match e {
                mysql_async::Error::Server(ref s) if s.code == 1146 || s.code == 1049 => {
                    precondition(
                        format!("table {db}.{table} listed in source.tables does not exist"),
                        "fix the name in source.tables, or create the table first",
                    )
                }
                mysql_async::Error::Server(ref s) if s.code == 1142 || s.code == 1044 => {
                    precondition(
                        format!("the user cannot SELECT from {db}.{table}"),
                        format!("GRANT SELECT ON `{db}`.* TO '<user>'@'<host>'"),
                    )
                }
                other => other.into(),
            });
        }
    }
    Ok(())
}

/// `SHOW BINARY LOGS`: the binlog files the server still has, oldest
/// first, with their sizes (the end position of the last one is the
/// server's current position).
pub async fn binary_logs(conn: &mut Conn) -> Result<Vec<(String, u64)>, SourceError> {
    Ok(conn
        .query_map("SHOW BINARY LOGS", |row: mysql_async::Row| {
            (
                row.get::<String, _>(0).unwrap_or_default(),
                row.get::<u64, _>(1).unwrap_or_default(),
            )
        })
        .await?)
}

/// [`binary_logs`] on a connection of its own.
pub async fn server_binary_logs(config: &SourceConfig) -> Result<Vec<(String, u64)>, SourceError> {
    let mut conn = connect(config).await?;
    let logs = binary_logs(&mut conn).await;
    let _ = conn.disconnect().await;
    logs
}

/// The URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(
            super::redact("mysql://cdc:secret@h:3307/db"),
            "mysql://cdc:***@h:3307/db"
        );
        assert_eq!(super::redact("mysql://cdc@h"), "mysql://cdc@h");
    }
}
