//! A sink's whole mapping: the list of source tables it reads.

use serde::Deserialize;

use super::table::TableMapping;

/// The `tables = [ … ]` list of one sink. Deserialises from the list itself,
/// so a sink's config struct declares `tables: SinkMapping`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(transparent)]
pub struct SinkMapping {
    pub tables: Vec<TableMapping>,
}

impl SinkMapping {
    /// The mappings of source table `db`.`table` (MySQL sinks may copy one
    /// source table into several targets; HubSpot allows one).
    pub fn tables_for<'a: 'b, 'b>(
        &'a self,
        db: &'b str,
        table: &'b str,
    ) -> impl Iterator<Item = &'a TableMapping> + 'b {
        self.tables.iter().filter(move |t| t.is_for(db, table))
    }

    /// The primary table (the one whose rows are the entities), if any.
    pub fn primary(&self) -> Option<&TableMapping> {
        self.tables.iter().find(|t| t.primary)
    }
}
