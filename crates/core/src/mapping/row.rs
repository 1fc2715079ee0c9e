//! Mapping one row image onto target properties or columns.

use serde_json::Value;

use super::column::ColumnSource;
use super::conversion::scalar_text;
use super::error::MappingError;
use super::flavor::Flavor;
use super::table::TableMapping;
use crate::event::Row;

/// Target property/column name → converted value, in `columns` order.
/// (`serde_json::Map` keeps insertion order: the workspace enables
/// `preserve_order`.)
pub type Properties = serde_json::Map<String, Value>;

impl TableMapping {
    /// Maps one row image: every `columns` entry, converted for `flavor`.
    /// The first column that fails stops the mapping: a half-mapped row must
    /// not be written.
    pub fn map_row(&self, row: &Row, flavor: Flavor) -> Result<Properties, MappingError> {
        let mut out = Properties::new();
        for column in &self.columns {
            let value = column.map(row, flavor).map_err(|e| {
                MappingError::new(
                    self.table.to_string(),
                    e.column,
                    Some(column.to.clone()),
                    e.value,
                    e.reason,
                )
            })?;
            out.insert(column.to.clone(), value);
        }
        Ok(out)
    }

    /// This table's properties set to empty (HubSpot `""`, MySQL NULL): what
    /// a `clear` writes when the source row is deleted. Columns read from the
    /// key column are left out: the key identifies the entity (it may be the
    /// HubSpot id property) and clearing it would detach the record.
    pub fn cleared(&self, flavor: Flavor) -> Properties {
        self.columns
            .iter()
            .filter(|c| !matches!(&c.source, ColumnSource::Column(from) if *from == self.key))
            .map(|c| (c.to.clone(), flavor.null()))
            .collect()
    }

    /// Checks that the row's key column holds the event's routing key, so a
    /// misconfigured `key` cannot write one user's data onto another.
    pub fn check_key(&self, row: &Row, routing_key: &str) -> Result<(), MappingError> {
        let fail = |value: Value, reason: String| {
            MappingError::new(
                self.table.to_string(),
                self.key.clone(),
                None,
                value,
                reason,
            )
        };
        let value = row.get(&self.key).ok_or_else(|| {
            fail(
                Value::Null,
                "the key column is not in the row image (check the table's `key`)".into(),
            )
        })?;
        if scalar_text(value).as_deref() == Some(routing_key) {
            Ok(())
        } else {
            Err(fail(
                value.clone(),
                format!(
                    "does not match the event's routing key `{routing_key}` (is `key` the \
                     column the source routes this table on?)"
                ),
            ))
        }
    }

    /// For MySQL targets: puts the key under `target_key` first, unless a
    /// column entry already writes it, so the sink always has the target key.
    pub(super) fn with_target_key(
        &self,
        props: Properties,
        row: &Row,
        flavor: Flavor,
    ) -> Properties {
        let Some(target_key) = self.target_key.as_ref().filter(|_| flavor == Flavor::Sql) else {
            return props;
        };
        if props.contains_key(target_key) {
            return props;
        }
        let mut out = Properties::new();
        out.insert(
            target_key.clone(),
            row.get(&self.key).cloned().unwrap_or(Value::Null),
        );
        out.extend(props);
        out
    }
}
