//! Current rows by key, read outside the stream.
//!
//! A sink sometimes needs rows whose changes it could not use when they went
//! by. A HubSpot contact is archived when its user leaves the sync filter,
//! and the changes of the user's other tables (`user_cim_details`) are
//! skipped while it is out: there is no contact to update. When the user
//! comes back, the contact is re-created from the `users` row, and the sink
//! reads the other tables' current rows here to complete it.
//!
//! Values are converted exactly as snapshot rows are (`snapshot::convert`),
//! so mapping them gives what a change event of the same row would give.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::*;
use mysql_async::{Opts, OptsBuilder, Pool};
use tokio::sync::Mutex;

use cdc_core::Row;

use crate::config::SourceConfig;
use crate::error::SourceError;
use crate::schema::SchemaCache;
use crate::snapshot::chunk::quote;
use crate::snapshot::convert::{convert_row, ColumnConverter};

/// Keys per query: keeps the statement small whatever the window holds.
const KEYS_PER_QUERY: usize = 500;

/// How each column of one table is selected and converted.
type Converters = Arc<Vec<ColumnConverter>>;

/// Reads current rows of the source by a key column.
pub struct RowLookup {
    pool: Pool,
    schemas: Mutex<SchemaCache>,
    /// Converters per `(db, table)`, built from the schema once.
    columns: Mutex<HashMap<(String, String), Converters>>,
    tz_offset_secs: i32,
}

impl RowLookup {
    /// A lazily connecting pool to the source (nothing is opened until the
    /// first read), in UTC and utf8mb4 like the snapshot's connection.
    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        let url = config.resolved_url()?;
        let opts =
            Opts::from_url(&url).map_err(|e| SourceError::Config(format!("source.url: {e}")))?;
        let opts = OptsBuilder::from_opts(opts).setup(vec![
            "SET NAMES utf8mb4".to_string(),
            "SET SESSION time_zone = '+00:00'".to_string(),
        ]);
        let pool = Pool::new(opts);
        Ok(Self {
            schemas: Mutex::new(SchemaCache::new(pool.clone())),
            pool,
            columns: Mutex::new(HashMap::new()),
            tz_offset_secs: config.time_zone_offset_secs()?,
        })
    }

    /// Every row of `db.table` whose `column` equals one of `keys`, as the
    /// change events' `after` image would carry it. The order is the
    /// server's; a key without a row has none.
    pub async fn rows(
        &self,
        db: &str,
        table: &str,
        column: &str,
        keys: &[String],
    ) -> Result<Vec<Row>, SourceError> {
        let columns = self.converters(db, table).await?;
        if !columns.iter().any(|c| c.name == column) {
            return Err(SourceError::Config(format!(
                "key column `{column}` of {db}.{table} does not exist"
            )));
        }
        let select: Vec<String> = columns
            .iter()
            .map(|c| c.select_expr(&quote(&c.name)))
            .collect();
        let mut conn = self.pool.get_conn().await?;
        let mut rows = Vec::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let sql = format!(
                "SELECT {} FROM {}.{} WHERE {} IN ({})",
                select.join(", "),
                quote(db),
                quote(table),
                quote(column),
                vec!["?"; chunk.len()].join(", ")
            );
            let mut result = conn.exec_iter(sql, chunk.to_vec()).await?;
            while let Some(raw) = result.next().await? {
                let (row, _) = convert_row(&columns, raw, self.tz_offset_secs).map_err(
                    |(column, reason)| {
                        SourceError::Config(format!(
                            "reading {db}.{table}: column `{column}`: {reason}"
                        ))
                    },
                )?;
                rows.push(row);
            }
        }
        Ok(rows)
    }

    async fn converters(&self, db: &str, table: &str) -> Result<Converters, SourceError> {
        let key = (db.to_string(), table.to_string());
        if let Some(c) = self.columns.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let schema = self.schemas.lock().await.get(db, table).await?.clone();
        if schema.columns.is_empty() {
            return Err(SourceError::Config(format!(
                "table {db}.{table} does not exist on the source (or the user cannot see it)"
            )));
        }
        let converters = Arc::new(schema.columns.iter().map(ColumnConverter::new).collect());
        self.columns
            .lock()
            .await
            .insert(key, Arc::clone(&converters));
        Ok(converters)
    }

    pub async fn close(self) {
        let _ = self.pool.disconnect().await;
    }
}
