//! The only I/O of the MySQL sink: one transaction per batch, carrying the
//! rows and the offsets they came from.

use mysql_async::prelude::*;
use mysql_async::{Opts, Pool, TxOpts, Value};
use serde_json::Value as Json;

use crate::config::MySqlTargetConfig;
use crate::error::SinkError;
use crate::write::{quote_ident, statements, RowWrite};

pub struct MySqlTarget {
    pool: Pool,
    config: MySqlTargetConfig,
}

impl MySqlTarget {
    /// Connects and creates the checkpoint table when missing.
    pub async fn connect(config: &MySqlTargetConfig, url: &str) -> Result<Self, SinkError> {
        let opts =
            Opts::from_url(url).map_err(|e| SinkError::Config(format!("target url: {e}")))?;
        let pool = Pool::new(opts);
        let mut conn = pool
            .get_conn()
            .await
            .map_err(|e| SinkError::Unreachable(e.to_string()))?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (
                consumer_group VARCHAR(255) NOT NULL,
                topic VARCHAR(255) NOT NULL,
                kafka_partition INT NOT NULL,
                next_offset BIGINT NOT NULL,
                updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
                PRIMARY KEY (consumer_group, topic, kafka_partition)
            )",
            quote_ident(&config.checkpoint_table)
        ))
        .await
        .map_err(|e| SinkError::from_mysql(e, &config.checkpoint_table))?;
        Ok(Self {
            pool,
            config: config.clone(),
        })
    }

    /// Next offset to read per partition, as stored by the last batch.
    pub async fn offsets(&self, group: &str, topic: &str) -> Result<Vec<(i32, i64)>, SinkError> {
        let mut conn = self
            .pool
            .get_conn()
            .await
            .map_err(|e| SinkError::Unreachable(e.to_string()))?;
        conn.exec(
            format!(
                "SELECT kafka_partition, next_offset FROM {} WHERE consumer_group = ? AND topic = ? ORDER BY kafka_partition",
                quote_ident(&self.config.checkpoint_table)
            ),
            (group, topic),
        )
        .await
        .map_err(|e| SinkError::from_mysql(e, &self.config.checkpoint_table))
    }

    /// Overwrites the stored offsets (operator reset).
    pub async fn set_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<(), SinkError> {
        self.apply(&[], group, topic, offsets).await
    }

    /// Applies `writes` and records `offsets` (partition → next offset) in
    /// one transaction. Either both land or neither does.
    pub async fn apply(
        &self,
        writes: &[RowWrite],
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<(), SinkError> {
        let mut conn = self
            .pool
            .get_conn()
            .await
            .map_err(|e| SinkError::Transient(e.to_string()))?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(|e| SinkError::Transient(e.to_string()))?;
        for st in statements(writes, self.config.max_rows_per_statement) {
            let params: Vec<Value> = st.params.iter().map(to_mysql).collect();
            let table = st.sql.split_whitespace().nth(2).unwrap_or("?").to_string();
            tx.exec_drop(&st.sql, params)
                .await
                .map_err(|e| SinkError::from_mysql(e, &table))?;
        }
        for (partition, next) in offsets {
            tx.exec_drop(
                format!(
                    "INSERT INTO {} (consumer_group, topic, kafka_partition, next_offset) VALUES (?, ?, ?, ?) \
                     ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset)",
                    quote_ident(&self.config.checkpoint_table)
                ),
                (group, topic, partition, next),
            )
            .await
            .map_err(|e| SinkError::from_mysql(e, &self.config.checkpoint_table))?;
        }
        tx.commit()
            .await
            .map_err(|e| SinkError::Transient(e.to_string()))?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.pool.disconnect().await;
    }
}

/// JSON value → MySQL parameter. Strings stay strings (DECIMAL and dates
/// arrive as exact strings and MySQL converts them losslessly).
fn to_mysql(v: &Json) -> Value {
    match v {
        Json::Null => Value::NULL,
        Json::Bool(b) => Value::Int(*b as i64),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Double(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::Bytes(s.as_bytes().to_vec()),
        other => Value::Bytes(other.to_string().into_bytes()),
    }
}
