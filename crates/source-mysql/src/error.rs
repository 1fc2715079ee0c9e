//! Source errors. Each variant says what the operator has to change; errors
//! raised while streaming carry the binlog position where they happened.

use cdc_core::BinlogPosition;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("invalid source configuration: {0}")]
    Config(String),

    #[error("cannot connect to MySQL at {url}: {reason}. Check that the server runs and that host, port, user and password in source.url are right")]
    Unreachable { url: String, reason: String },

    #[error("MySQL precondition failed: {problem}. Fix: {fix}")]
    Precondition { problem: String, fix: String },

    #[error("binlog position {position} is no longer on the server (purged; oldest available: {oldest}). Run `SHOW BINARY LOGS` to see what is left; recover with `cdc-streamer snapshot` (full reload) or `cdc-streamer replay --from` an available position")]
    PositionPurged {
        position: BinlogPosition,
        oldest: String,
    },

    #[error("binlog stream error at {position}: {reason}")]
    Stream {
        position: BinlogPosition,
        reason: String,
    },

    #[error("cannot decode a row of {table} at {position}: {reason}")]
    Decode {
        table: String,
        position: BinlogPosition,
        reason: String,
    },

    #[error("MySQL query failed: {0}")]
    Query(#[from] mysql_async::Error),
}

impl SourceError {
    /// Whether reconnecting may help (a dropped connection or a restarting
    /// server), as opposed to an error the operator has to fix.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Stream { .. } | SourceError::Unreachable { .. } => true,
            SourceError::Query(e) => {
                matches!(e, mysql_async::Error::Io(_) | mysql_async::Error::Driver(_))
            }
            _ => false,
        }
    }
}
