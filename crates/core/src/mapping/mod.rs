//! Sink mappings: which source tables feed a sink, how each source column
//! becomes a target property (HubSpot) or column (MySQL), and how values are
//! converted on the way.
//!
//! Everything here is configuration plus pure functions over row images: no
//! I/O, so every conversion edge case is a unit test. The sinks call
//! [`TableMapping::classify`] for each change event and hand the result to
//! the coalescer; at start they call [`SinkMapping::validate`] and, for
//! HubSpot, compare [`SinkMapping::target_properties`] with the account.
//!
//! # Layout
//! - `sink.rs`, `table.rs`, `column.rs`, `filter.rs`, `table_name.rs`: the
//!   config structs (their doc comments are the configuration reference).
//! - `conversion.rs`, `number.rs`, `temporal.rs`, `template.rs`: value
//!   conversions, one source value in, one target value out.
//! - `flavor.rs`: HubSpot strings vs MySQL parameters.
//! - `row.rs`: one row image → properties; `classify.rs`: one change event →
//!   [`Action`].
//! - `validate.rs`: whole-mapping checks; `properties.rs`: the property list
//!   with HubSpot types; `error.rs`: the per-row error that is dead-lettered.

mod classify;
mod column;
mod conversion;
mod error;
mod filter;
mod flavor;
mod number;
mod properties;
mod row;
mod sink;
mod table;
mod table_name;
mod template;
mod temporal;
mod validate;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

pub use classify::{Action, SkipReason};
pub use column::{ColumnMapping, ColumnSource, ColumnSpec, ColumnType, DateFormat, Unmapped};
pub use conversion::{Conversion, HUBSPOT_MULTI_SELECT_SEPARATOR};
pub use error::MappingError;
pub use filter::{FilterAction, RowFilter};
pub use flavor::Flavor;
pub use properties::{PropertyType, TargetProperty};
pub use row::Properties;
pub use sink::SinkMapping;
pub use table::{DeleteAction, TableMapping};
pub use table_name::{TableName, TableNameError};
pub use template::Template;
pub use validate::MappingConfigError;
