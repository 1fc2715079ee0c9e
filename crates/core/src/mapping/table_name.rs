//! `db.table`, the name of a source table as written in the config.
//!
//! Parsed once when the config is read, so a missing database part is a
//! config error with a line number rather than a table that never matches.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A `db.table` string that has no `.`, or an empty part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table `{0}` is not of the form DB.TABLE (e.g. app.users)")]
pub struct TableNameError(pub String);

/// A source table, `db.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TableName {
    pub db: String,
    pub table: String,
}

impl TableName {
    pub fn new(db: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            db: db.into(),
            table: table.into(),
        }
    }

    /// Whether this names `db`.`table` (as carried by a change event).
    pub fn is(&self, db: &str, table: &str) -> bool {
        self.db == db && self.table == table
    }
}

impl FromStr for TableName {
    type Err = TableNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The first dot splits: MySQL database names cannot contain one.
        match s.split_once('.') {
            Some((db, table)) if !db.is_empty() && !table.is_empty() => Ok(Self::new(db, table)),
            _ => Err(TableNameError(s.to_string())),
        }
    }
}

impl TryFrom<String> for TableName {
    type Error = TableNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TableName> for String {
    fn from(t: TableName) -> String {
        t.to_string()
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.db, self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_db_dot_table() {
        let t: TableName = "app.users".parse().unwrap();
        assert_eq!(t, TableName::new("app", "users"));
        assert_eq!(t.to_string(), "app.users");
        assert!(t.is("app", "users"));
        assert!(!t.is("app", "user"));
        for bad in ["users", ".users", "app.", ""] {
            assert!(bad.parse::<TableName>().is_err(), "{bad}");
        }
    }
}
