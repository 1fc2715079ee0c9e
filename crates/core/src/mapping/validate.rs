//! Whole-mapping checks, run once at start.
//!
//! Entry-level mistakes already failed at parse time (see `column.rs`); what
//! is left needs the whole list of tables, or the kind of sink: which delete
//! and filter actions a target supports, whether `target` is required, and
//! whether two columns write the same property. Every problem is reported at
//! once, each prefixed with where it is, so one run fixes the whole file.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::column::ColumnSource;
use super::conversion::Conversion;
use super::filter::FilterAction;
use super::flavor::Flavor;
use super::sink::SinkMapping;
use super::table::{DeleteAction, TableMapping};

/// The mapping is not usable; `problems` lists every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for MappingConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the sink mapping is invalid:")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingConfigError {}

impl SinkMapping {
    /// Checks the mapping for a sink of kind `flavor`.
    pub fn validate(&self, flavor: Flavor) -> Result<(), MappingConfigError> {
        let mut problems = Vec::new();
        if self.tables.is_empty() {
            problems.push("`tables` is empty: map at least one source table".to_string());
        }
        // (source table, target) → first index, to find repeated entries.
        let mut sources: HashMap<(String, Option<&str>), usize> = HashMap::new();
        // (target, `to`) → where it was first written, and whether from a key
        // column. Several tables may write their key column to the same
        // property (e.g. the HubSpot id property): check_key makes it the same
        // value in all of them. Any other shared `to` is a conflict.
        let mut targets: HashMap<(Option<&str>, &str), (String, bool)> = HashMap::new();
        for (i, table) in self.tables.iter().enumerate() {
            let at = format!("tables[{i}] ({})", table.table);
            let mut problem = |msg: String| problems.push(format!("{at}: {msg}"));
            check_table(table, flavor, &mut problem);
            let target = table.target.as_deref();
            let source_key = (
                table.table.to_string(),
                if flavor == Flavor::Sql { target } else { None },
            );
            if let Some(first) = sources.insert(source_key, i) {
                problem(format!("maps the same source table as tables[{first}]"));
            }
            for column in &table.columns {
                let owner = format!("{at} column `{}`", column.source_label());
                let is_key = column.source == ColumnSource::Column(table.key.clone());
                match targets.get(&(target, column.to.as_str())) {
                    Some((_, true)) if is_key => {}
                    Some((first, _)) => problem(format!(
                        "`to = \"{}\"` is also written by {first}",
                        column.to
                    )),
                    None => {
                        targets.insert((target, column.to.as_str()), (owner, is_key));
                    }
                }
                if let Conversion::MultiSelect {
                    target_separator: Some(_),
                    ..
                } = &column.conversion
                {
                    if flavor == Flavor::HubSpot {
                        problem(format!(
                            "column `{}`: `target_separator` is for MySQL sinks; HubSpot \
                             multi-select values are always joined with `;`",
                            column.to
                        ));
                    }
                }
            }
        }
        if flavor == Flavor::HubSpot && !self.tables.is_empty() {
            let primaries: Vec<String> = self
                .tables
                .iter()
                .filter(|t| t.primary)
                .map(|t| t.table.to_string())
                .collect();
            if primaries.len() != 1 {
                problems.push(format!(
                    "a HubSpot sink needs exactly one table with `primary = true` (the table \
                     whose rows are the contacts); found {}",
                    if primaries.is_empty() {
                        "none".to_string()
                    } else {
                        primaries.join(", ")
                    }
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(MappingConfigError { problems })
        }
    }
}

fn check_table(table: &TableMapping, flavor: Flavor, problem: &mut impl FnMut(String)) {
    if table.key.trim().is_empty() {
        problem("`key` is empty: name the column holding the entity key".into());
    }
    if table.columns.is_empty() {
        problem("`columns` is empty: map at least one column".into());
    }
    match flavor {
        Flavor::HubSpot => {
            if table.target.is_some() || table.target_key.is_some() {
                problem(
                    "`target`/`target_key` are for MySQL sinks; a HubSpot sink writes contact \
                     properties"
                        .into(),
                );
            }
        }
        Flavor::Sql => {
            if table.target.as_deref().is_none_or(|t| t.trim().is_empty()) {
                problem("`target` (the target table) is required for a MySQL sink".into());
            }
            if table
                .target_key
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
            {
                problem(
                    "`target_key` (the target's key column) is required for a MySQL sink".into(),
                );
            }
        }
    }
    if let Some(action) = table.on_delete {
        let supported = match (flavor, action) {
            (Flavor::HubSpot, DeleteAction::Archive) => table.primary,
            (Flavor::HubSpot, DeleteAction::Clear | DeleteAction::Ignore) => true,
            (Flavor::Sql, DeleteAction::Delete | DeleteAction::Ignore) => true,
            _ => false,
        };
        if !supported {
            problem(format!(
                "`on_delete = \"{}\"` is not supported here; {}",
                delete_name(action),
                match flavor {
                    Flavor::HubSpot if table.primary => "use archive, clear or ignore",
                    Flavor::HubSpot => "a non-primary table can only clear or ignore",
                    Flavor::Sql => "a MySQL sink can delete or ignore",
                }
            ));
        }
    }
    if let Some(filter) = &table.filter {
        if filter.column.trim().is_empty() {
            problem("filter `column` is empty".into());
        }
        match (&filter.is_in, &filter.not_in) {
            (Some(_), Some(_)) => problem("filter: set `in` or `not_in`, not both".into()),
            (None, None) => problem("filter: set `in = [...]` or `not_in = [...]`".into()),
            (Some(list), None) | (None, Some(list)) => {
                if list.is_empty() {
                    problem("filter: the value list is empty".into());
                }
                if list
                    .iter()
                    .any(|v| matches!(v, Value::Array(_) | Value::Object(_)))
                {
                    problem("filter: values must be strings, numbers or booleans".into());
                }
            }
        }
        let supported = match (flavor, filter.action) {
            (_, FilterAction::Skip) => true,
            (Flavor::HubSpot, FilterAction::Archive) => table.primary,
            (Flavor::Sql, FilterAction::Delete) => true,
            _ => false,
        };
        if !supported {
            problem(match flavor {
                Flavor::HubSpot if filter.action == FilterAction::Archive => {
                    "filter `action = \"archive\"` is only allowed on the primary table (a \
                     secondary row cannot decide that the contact goes)"
                        .into()
                }
                Flavor::HubSpot => "filter `action`: a HubSpot sink can archive or skip".into(),
                Flavor::Sql => "filter `action`: a MySQL sink can delete or skip".into(),
            });
        }
    }
}

fn delete_name(action: DeleteAction) -> &'static str {
    match action {
        DeleteAction::Archive => "archive",
        DeleteAction::Clear => "clear",
        DeleteAction::Delete => "delete",
        DeleteAction::Ignore => "ignore",
    }
}
