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
//! The table's columns are read from `information_schema` on every call:
//! lookups are rare (a user coming back), and a cached column list would go
//! stale at the next `ALTER TABLE`.

use mysql_async::prelude::*;
use mysql_async::{Opts, OptsBuilder, Pool};

use cdc_core::Row;

use crate::config::SourceConfig;
use crate::error::SourceError;
use crate::schema;
use crate::snapshot::chunk::quote;
use crate::snapshot::convert::{convert_row, ColumnConverter};

/// Keys per query: keeps the statement small whatever the window holds.
const KEYS_PER_QUERY: usize = 500;

/// Reads current rows of the source by a key column.
pub struct RowLookup {
    pool: Pool,
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
        Ok(Self {
            pool: Pool::new(opts),
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
        let mut conn = self.pool.get_conn().await?;
        let table_schema = schema::load_table(&mut conn, db, table).await?;
        if table_schema.columns.is_empty() {
            return Err(SourceError::Config(format!(
                "table {db}.{table} does not exist on the source (or the user cannot see it)"
            )));
        }
        let columns: Vec<ColumnConverter> = table_schema
            .columns
            .iter()
            .map(ColumnConverter::new)
            .collect();
        if !columns.iter().any(|c| c.name == column) {
            return Err(SourceError::Config(format!(
                "key column `{column}` of {db}.{table} does not exist"
            )));
        }
        let select: Vec<String> = columns
            .iter()
            .map(|c| c.select_expr(&quote(&c.name)))
            .collect();
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

    pub async fn close(self) {
        let _ = self.pool.disconnect().await;
    }
}
