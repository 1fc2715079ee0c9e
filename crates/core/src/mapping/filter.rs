//! Row filters: which rows of a table belong in the target at all.
//!
//! The system this replaces kept users with status `C` or `G` out of HubSpot
//! with a trigger; here that is `filter = { column = "user_status",
//! not_in = ["C", "G"], action = "archive" }`. A filter looks at the row's
//! current image, so a status change moves the entity in or out.

use serde::Deserialize;
use serde_json::Value;

use super::number::number_text;
use crate::event::Row;

/// What happens to a change whose row fails the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterAction {
    /// Archive the entity (HubSpot, primary table only): a user who leaves
    /// the filter leaves the CRM.
    Archive,
    /// Ignore the change: the target keeps whatever it had.
    Skip,
    /// Delete the target row (MySQL sinks).
    Delete,
}

fn default_filter_action() -> FilterAction {
    // The least destructive choice: nothing is archived or deleted unless
    // the config says so.
    FilterAction::Skip
}

/// A condition on one column of the row. Set exactly one of `in` and `not_in`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    /// Column whose value decides.
    pub column: String,
    /// The row passes when the column's value is one of these. Values are
    /// compared as text (`1` matches `"1"`; `true`/`false` match 1/0). NULL
    /// never matches.
    #[serde(rename = "in")]
    pub is_in: Option<Vec<Value>>,
    /// The row passes when the column's value is none of these (NULL passes).
    pub not_in: Option<Vec<Value>>,
    /// For rows that fail: `skip` (default: ignore the change), `archive`
    /// (HubSpot primary table: archive the contact) or `delete` (MySQL:
    /// delete the target row).
    #[serde(default = "default_filter_action")]
    pub action: FilterAction,
}

/// Text used for filter comparisons: booleans as MySQL stores them (1/0).
fn filter_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_text(n)),
        Value::Bool(b) => Some(u8::from(*b).to_string()),
        _ => None,
    }
}

impl RowFilter {
    /// Whether the row passes. `Err` when the row has no such column: a
    /// renamed column must not silently let every row through.
    pub fn passes(&self, row: &Row) -> Result<bool, String> {
        let value = row.get(&self.column).ok_or_else(|| {
            format!(
                "filter column `{}` is not in the row image (binlog_row_image must be FULL; \
                 was it renamed?)",
                self.column
            )
        })?;
        let text = filter_text(value);
        let listed = |list: &[Value]| {
            text.as_ref()
                .is_some_and(|t| list.iter().any(|v| filter_text(v).as_ref() == Some(t)))
        };
        let in_ok = self.is_in.as_deref().is_none_or(listed);
        let not_in_ok = self.not_in.as_deref().is_none_or(|l| !listed(l));
        Ok(in_ok && not_in_ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(toml_filter: &str) -> RowFilter {
        #[derive(Deserialize)]
        struct One {
            f: RowFilter,
        }
        toml::from_str::<One>(&format!("f = {toml_filter}"))
            .unwrap()
            .f
    }

    fn passes(f: &RowFilter, v: Value) -> bool {
        f.passes(json!({ "s": v }).as_object().unwrap()).unwrap()
    }

    #[test]
    fn not_in_and_in() {
        let f = filter(r#"{ column = "s", not_in = ["C", "G"], action = "archive" }"#);
        assert_eq!(f.action, FilterAction::Archive);
        assert!(passes(&f, json!("A")));
        assert!(!passes(&f, json!("C")));
        assert!(!passes(&f, json!("G")));
        assert!(passes(&f, Value::Null));
        let f = filter(r#"{ column = "s", in = [1, "2", true] }"#);
        assert_eq!(f.action, FilterAction::Skip);
        assert!(passes(&f, json!(1)));
        assert!(passes(&f, json!(2)));
        assert!(!passes(&f, json!(3)));
        assert!(!passes(&f, Value::Null));
    }

    #[test]
    fn a_missing_column_is_an_error() {
        let f = filter(r#"{ column = "s", not_in = ["C"] }"#);
        assert!(f.passes(json!({"x": 1}).as_object().unwrap()).is_err());
    }
}
