//! Completing a contact that comes back into the sync filter.
//!
//! While a user is out of the filter (status `C`/`G`), its contact is
//! archived and the changes of its other tables (`user_cim_details`) are
//! skipped: there is no contact to update, and a secondary row must not
//! create one. When the user comes back, the `users` change re-creates the
//! contact, but the stream holds nothing more about the other tables. So for
//! such an update ([`PendingUpdate::refill`]) the sink reads those tables'
//! current rows from the source and maps them like change events.
//!
//! The read happens after the window's events were committed in the source,
//! so it is as new as or newer than them; any later change follows in the
//! stream and is applied after it. Properties the window itself set win over
//! what was read (they came with the change that re-created the contact).

use std::collections::HashMap;

use serde_json::Value;
use tracing::{debug, warn};

use cdc_core::coalesce::PendingUpdate;
use cdc_core::mapping::{Flavor, Properties, SinkMapping, TableMapping};
use cdc_source_mysql::binlog::TableDecoder;
use cdc_source_mysql::lookup::RowLookup;
use cdc_source_mysql::SourceConfig;

use super::writer::WriteError;

pub struct Refill {
    lookup: RowLookup,
    /// The mapping's tables other than the primary one.
    tables: Vec<TableMapping>,
}

impl Refill {
    /// `None` when nothing can need a refill: no primary table with a
    /// filter, or no other table.
    pub fn new(source: &SourceConfig, mapping: &SinkMapping) -> anyhow::Result<Option<Self>> {
        let filtered = mapping
            .tables
            .iter()
            .any(|t| t.primary && t.filter.is_some());
        let tables: Vec<TableMapping> = mapping
            .tables
            .iter()
            .filter(|t| !t.primary)
            .cloned()
            .collect();
        if !filtered || tables.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            lookup: RowLookup::new(source)?,
            tables,
        }))
    }

    /// The properties of the other tables' current rows, for each update
    /// that needs them, by entity key.
    pub async fn properties(
        &self,
        updates: &[PendingUpdate],
    ) -> Result<HashMap<String, Properties>, WriteError> {
        let keys: Vec<String> = updates
            .iter()
            .filter(|u| u.refill)
            .map(|u| u.key.key.clone())
            .collect();
        let mut found: HashMap<String, Properties> = HashMap::new();
        if keys.is_empty() {
            return Ok(found);
        }
        for t in &self.tables {
            let rows = self
                .lookup
                .rows(&t.table.db, &t.table.table, &t.key, &keys)
                .await
                .map_err(|e| {
                    let what = format!(
                        "reading {} from the source to complete {} re-created contact(s): {e}",
                        t.table,
                        keys.len()
                    );
                    // An outage passes; a missing grant or table does not, and
                    // retrying the window for ever would only hide it.
                    if e.is_transient() {
                        WriteError::Retriable(what)
                    } else {
                        WriteError::Fatal(anyhow::anyhow!(
                            "{what}. The HubSpot sink reads the mapping's other tables with [source].url when a user comes back into the filter: grant that user SELECT on them"
                        ))
                    }
                })?;
            for row in rows {
                let Some(key) = TableDecoder::key_of(&row, &t.key) else {
                    continue;
                };
                if let Some(f) = &t.filter {
                    if f.passes(&row) != Ok(true) {
                        continue;
                    }
                }
                match t.map_row(&row, Flavor::HubSpot) {
                    Ok(props) => found.entry(key).or_default().extend(props),
                    // Its own change would have been dead-lettered for the
                    // same reason; the contact is still written.
                    Err(e) => warn!(table = %t.table, %key, error = %e,
                        "a row read to complete a re-created contact does not map; its properties are left out"),
                }
            }
        }
        debug!(
            contacts = keys.len(),
            completed = found.len(),
            "read other tables for contacts back in the filter"
        );
        Ok(found)
    }
}

/// `window` with what was read added underneath: the window's own values win.
pub fn merged(window: &Properties, read: Option<&Properties>) -> Properties {
    let Some(read) = read else {
        return window.clone();
    };
    let mut all: Properties = read
        .iter()
        .filter(|(k, _)| !window.contains_key(*k))
        .map(|(k, v): (&String, &Value)| (k.clone(), v.clone()))
        .collect();
    all.extend(window.clone());
    all
}
