//! One source table of a sink: its key, its role, its filter, its columns.

use serde::Deserialize;

use super::column::ColumnMapping;
use super::filter::RowFilter;
use super::flavor::Flavor;
use super::table_name::TableName;

/// What the delete of a source row does to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteAction {
    /// HubSpot, primary table: archive the contact.
    Archive,
    /// HubSpot: set this table's properties to empty (the key property is
    /// kept), leaving the contact in place.
    Clear,
    /// MySQL: delete the target row.
    Delete,
    /// Do nothing.
    Ignore,
}

/// How one source table maps onto the sink's target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMapping {
    /// Source table, `db.table`.
    pub table: TableName,
    /// Column holding the entity key (e.g. the user id). Its value must equal
    /// the event's routing key; a mismatch is a mapping error.
    pub key: String,
    /// Whether this table defines whether the entity exists (e.g. `app.users`
    /// for contacts): its deletes apply `on_delete`, its filter may archive,
    /// and only its rows may (re-)create a HubSpot contact. Default false.
    #[serde(default)]
    pub primary: bool,
    /// What a delete of a source row does. HubSpot: `archive` (primary table
    /// only), `clear` or `ignore`; default `archive` for the primary table,
    /// `clear` for the others. MySQL: `delete` (default) or `ignore`.
    pub on_delete: Option<DeleteAction>,
    /// MySQL sinks only (required there): target table, `db.table` or `table`.
    pub target: Option<String>,
    /// MySQL sinks only (required there): the target table's key column. It
    /// receives the key column's value unless a `columns` entry writes it.
    pub target_key: Option<String>,
    /// Optional row filter, e.g. `{ column = "user_status", not_in = ["C",
    /// "G"], action = "archive" }`.
    pub filter: Option<RowFilter>,
    /// The mapped columns, in the order they are written to the target.
    pub columns: Vec<ColumnMapping>,
}

impl TableMapping {
    /// `on_delete`, or the default for this table and flavor.
    pub fn delete_action(&self, flavor: Flavor) -> DeleteAction {
        self.on_delete.unwrap_or(match (flavor, self.primary) {
            (Flavor::HubSpot, true) => DeleteAction::Archive,
            (Flavor::HubSpot, false) => DeleteAction::Clear,
            (Flavor::Sql, _) => DeleteAction::Delete,
        })
    }

    /// Whether a change event of `db`.`table` belongs to this mapping.
    pub fn is_for(&self, db: &str, table: &str) -> bool {
        self.table.is(db, table)
    }
}
