//! MySQL sink errors.

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("invalid MySQL target configuration: {0}")]
    Config(String),

    #[error("cannot reach the MySQL target: {0}. Check sinks.<name>.target.url and that the server runs")]
    Unreachable(String),

    /// The target rejected the data itself (a type or constraint error):
    /// retrying will not help, the records go to the dead-letter topic.
    #[error("the target rejected a row of {table}: {reason}")]
    Rejected { table: String, reason: String },

    /// Connection loss, deadlock, lock timeout, server restart: retry.
    #[error("transient MySQL error: {0}")]
    Transient(String),
}

impl SinkError {
    pub fn from_mysql(e: mysql_async::Error, table: &str) -> Self {
        match e {
            mysql_async::Error::Server(s) => match s.code {
                // Deadlock, lock wait timeout, server shutting down, read-only.
                1213 | 1205 | 1053 | 1290 | 1836 | 2006 | 2013 => {
                    SinkError::Transient(s.to_string())
                }
                // Access denied / unknown table: the operator must act.
                1044 | 1045 | 1142 | 1146 | 1049 => SinkError::Config(s.to_string()),
                _ => SinkError::Rejected {
                    table: table.to_string(),
                    reason: s.to_string(),
                },
            },
            other => SinkError::Transient(other.to_string()),
        }
    }
}
