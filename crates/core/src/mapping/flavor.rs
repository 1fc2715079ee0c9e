//! The kind of target a mapping writes to.
//!
//! The same mapping config converts values differently for HubSpot (every
//! property value is a string; an empty string clears a property) and for a
//! MySQL table (values bound as SQL parameters; NULL stays NULL), so every
//! conversion takes the flavor as a parameter instead of the mapping carrying
//! it: one `[[sinks.*.tables]]` syntax, two output dialects.

use serde_json::Value;

/// Which dialect converted values are produced in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// HubSpot CRM properties: strings only (numbers as decimal text, bools as
    /// `"true"`/`"false"`, dates as epoch milliseconds), NULL as `""`.
    HubSpot,
    /// Columns of a MySQL target table: numbers, strings and NULL as SQL
    /// parameters, dates as `YYYY-MM-DD`, datetimes as `YYYY-MM-DD HH:MM:SS.fff`.
    Sql,
}

impl Flavor {
    /// The value that stands for SQL NULL: `""` clears a HubSpot property;
    /// MySQL gets a real NULL.
    pub fn null(self) -> Value {
        match self {
            Flavor::HubSpot => Value::String(String::new()),
            Flavor::Sql => Value::Null,
        }
    }

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::HubSpot => "HubSpot",
            Flavor::Sql => "MySQL",
        }
    }
}
