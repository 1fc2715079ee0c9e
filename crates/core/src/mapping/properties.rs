//! The target properties a mapping writes, with the HubSpot type each needs.
//!
//! The HubSpot sink compares this list with the account's property
//! definitions (`GET /crm/v3/properties/contacts`) at start, so a missing
//! property or a `date` mapped onto a `string` property fails at start with
//! one clear message, not as a dead letter for every contact.

use super::column::ColumnType;
use super::conversion::Conversion;
use super::sink::SinkMapping;
use super::table_name::TableName;

/// HubSpot property types a mapping can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    String,
    Number,
    Date,
    Datetime,
    Bool,
    Enumeration,
}

impl PropertyType {
    /// HubSpot's name of the type (`type` in a property definition).
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::Datetime => "datetime",
            PropertyType::Bool => "bool",
            PropertyType::Enumeration => "enumeration",
        }
    }

    /// Whether a HubSpot property of type `hubspot_type` accepts what this
    /// mapping sends: the same type; text into `phone_number`, or into an
    /// `enumeration` when the source already holds the option values (e.g. a
    /// status code); an enumeration's labels into a free-text `string`.
    pub fn accepts(self, hubspot_type: &str) -> bool {
        hubspot_type == self.as_str()
            || matches!(
                (self, hubspot_type),
                (PropertyType::String, "phone_number" | "enumeration")
                    | (PropertyType::Enumeration, "string")
            )
    }
}

impl From<ColumnType> for PropertyType {
    fn from(t: ColumnType) -> Self {
        match t {
            ColumnType::String => PropertyType::String,
            ColumnType::Number => PropertyType::Number,
            ColumnType::Bool => PropertyType::Bool,
            ColumnType::Date => PropertyType::Date,
            ColumnType::Datetime => PropertyType::Datetime,
            ColumnType::MultiSelect | ColumnType::Enumeration => PropertyType::Enumeration,
        }
    }
}

/// One property (or target column) a mapping writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetProperty {
    /// Property or column name (`to`).
    pub name: String,
    /// The HubSpot type it needs.
    pub kind: PropertyType,
    /// The source table that writes it.
    pub table: TableName,
    /// The MySQL target table (None for HubSpot).
    pub target: Option<String>,
    /// For an `enumeration`, the option values the mapping can send (check
    /// them against the property's options); empty otherwise.
    pub options: Vec<String>,
}

impl SinkMapping {
    /// Every property the mapping writes, in config order.
    pub fn target_properties(&self) -> Vec<TargetProperty> {
        let mut out = Vec::new();
        for table in &self.tables {
            for column in &table.columns {
                let mut options: Vec<String> = match &column.conversion {
                    Conversion::Enumeration { values, .. } => values.values().cloned().collect(),
                    _ => Vec::new(),
                };
                options.sort();
                options.dedup();
                out.push(TargetProperty {
                    name: column.to.clone(),
                    kind: column.conversion.column_type().into(),
                    table: table.table.clone(),
                    target: table.target.clone(),
                    options,
                });
            }
        }
        out
    }
}
