//! The error raised when one row cannot be mapped.
//!
//! It ends up on the dead-letter topic, read by an operator who did not write
//! the mapping: so it names the table, the source column (or template), the
//! target, the offending value and a reason in plain words.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Values longer than this are shortened in the message (the dead letter
/// carries the whole event anyway).
const SHOWN_VALUE_CHARS: usize = 200;

/// One row could not be mapped; the change goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingError {
    /// Source table, `db.table`.
    pub table: String,
    /// Source column, or the template text for a template column.
    pub column: String,
    /// Target property or column, when the failure is about one.
    pub to: Option<String>,
    /// The source value that failed (NULL when the column was missing).
    /// Boxed to keep `Result<_, MappingError>` small on the happy path.
    pub value: Box<Value>,
    /// Why, in words an operator can act on.
    pub reason: String,
}

impl MappingError {
    pub fn new(
        table: impl Into<String>,
        column: impl Into<String>,
        to: Option<String>,
        value: Value,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            table: table.into(),
            column: column.into(),
            to,
            value: Box::new(value),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)?;
        if let Some(to) = &self.to {
            write!(f, " → {to}")?;
        }
        let shown = self.value.to_string();
        if shown.chars().count() > SHOWN_VALUE_CHARS {
            let cut: String = shown.chars().take(SHOWN_VALUE_CHARS).collect();
            write!(f, ": {} (value: {cut}…)", self.reason)
        } else {
            write!(f, ": {} (value: {shown})", self.reason)
        }
    }
}

impl std::error::Error for MappingError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn message_names_table_column_target_value_and_reason() {
        let e = MappingError::new(
            "app.users",
            "birthday",
            Some("date_of_birth".into()),
            json!("2015-13-01"),
            "is not a date",
        );
        assert_eq!(
            e.to_string(),
            r#"app.users.birthday → date_of_birth: is not a date (value: "2015-13-01")"#
        );
        let long = MappingError::new("a.b", "c", None, json!("x".repeat(500)), "too long");
        assert!(long.to_string().ends_with("…)"));
        assert!(long.to_string().len() < 300);
    }
}
