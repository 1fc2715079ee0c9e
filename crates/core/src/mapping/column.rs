//! One mapped column: the config as written ([`ColumnSpec`]) and its checked
//! form ([`ColumnMapping`]).
//!
//! Column entries are flat TOML inline tables in which most keys only mean
//! something for one `type`. Rather than silently ignore a misplaced key, each
//! entry is read as a `ColumnSpec` and checked into a `ColumnMapping` on the
//! spot, whose [`Conversion`] holds exactly the settings its type uses. A
//! mistake inside one entry therefore fails while the file is parsed, with the
//! TOML line in the message. Checks that need the whole mapping, or the kind
//! of sink, are in `SinkMapping::validate`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::conversion::Conversion;
use super::flavor::Flavor;
use super::template::Template;
use crate::event::Row;

/// What a source value is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Text, as it is; numbers as their exact decimal text. The default.
    #[default]
    String,
    /// A number. Integers and DECIMAL stay exact (`"12.50"` stays `"12.50"`).
    Number,
    /// true/false, from 0/1, JSON booleans or `"0"`/`"1"`/`"true"`/`"yes"`….
    Bool,
    /// A calendar date. HubSpot: midnight UTC in epoch milliseconds.
    Date,
    /// An instant. HubSpot: epoch milliseconds.
    Datetime,
    /// Several options in one column, split on `separator`; for HubSpot
    /// joined with `;` (a checkbox property).
    MultiSelect,
    /// A code translated to a label through `values`.
    Enumeration,
}

/// How `date` and `datetime` values are written to HubSpot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// Epoch milliseconds (`"1430438400000"`): what the CRM API accepts.
    #[default]
    EpochMs,
    /// ISO 8601 (`"2015-05-01"`, `"2015-05-01T12:00:00.000Z"`), for string
    /// properties or APIs that take it.
    Iso,
}

/// What an `enumeration` does with a code that `values` does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// Fail the change: it goes to the dead-letter topic. The default,
    /// because HubSpot would reject an unknown option anyway.
    #[default]
    Error,
    /// Send the code itself.
    Pass,
    /// Send NULL (clears the property in HubSpot).
    Null,
}

/// One entry of a table's `columns` list, as written in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Source column to read. Exactly one of `from` and `template` is set.
    pub from: Option<String>,
    /// Builds the value from several columns: `"{first_name} {last_name}"`.
    /// Placeholders whose value is NULL or empty are dropped together with
    /// the separator text before the next one; all missing gives NULL.
    /// Always text (`type` must stay `string`). `{{`/`}}` are literal braces.
    pub template: Option<String>,
    /// Target property (HubSpot internal name) or target column (MySQL).
    pub to: String,
    /// Conversion: `string` (default), `number`, `bool`, `date`, `datetime`,
    /// `multi_select` or `enumeration`.
    #[serde(rename = "type", default)]
    pub kind: ColumnType,
    /// `date`/`datetime` only, HubSpot only: `epoch_ms` (default) or `iso`.
    pub date_format: Option<DateFormat>,
    /// `multi_select` only: what separates options in the source (default `,`).
    pub separator: Option<String>,
    /// `multi_select` only, MySQL only: what joins options in the target
    /// (default `,`). HubSpot always uses `;`.
    pub target_separator: Option<String>,
    /// `enumeration` only (required): source code → target value, e.g.
    /// `{ "0" = "0-1k USD", "3" = "5k-10k USD" }`. Codes are compared as text,
    /// so the number 3 matches `"3"`.
    pub values: Option<BTreeMap<String, String>>,
    /// `enumeration` only: a code missing from `values` is an `error`
    /// (default: the change is dead-lettered), `pass`ed through, or `null`.
    pub unmapped: Option<Unmapped>,
    /// Source value used when the column (or the whole template) is NULL; it
    /// goes through the same conversion, e.g. `default = "n/a"`.
    pub default: Option<Value>,
}

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSource {
    Column(String),
    Template(Template),
}

/// A checked column entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ColumnSpec")]
pub struct ColumnMapping {
    /// Target property or column.
    pub to: String,
    pub source: ColumnSource,
    pub conversion: Conversion,
    /// Source value standing in for NULL.
    pub default: Option<Value>,
}

/// Why one column of a row could not be mapped (completed with the table by
/// the caller).
#[derive(Debug)]
pub(super) struct ColumnError {
    pub column: String,
    pub value: Value,
    pub reason: String,
}

impl ColumnMapping {
    /// The column's name for messages: the source column or the template.
    pub fn source_label(&self) -> &str {
        match &self.source {
            ColumnSource::Column(c) => c,
            ColumnSource::Template(t) => t.text(),
        }
    }

    /// The source columns this entry reads.
    pub fn source_columns(&self) -> Vec<&str> {
        match &self.source {
            ColumnSource::Column(c) => vec![c.as_str()],
            ColumnSource::Template(t) => t.columns().collect(),
        }
    }

    /// Maps this column of one row image.
    pub(super) fn map(&self, row: &Row, flavor: Flavor) -> Result<Value, ColumnError> {
        let missing = |column: &str| ColumnError {
            column: column.to_string(),
            value: Value::Null,
            reason: "is not in the row image (binlog_row_image must be FULL; \
                     was the column renamed or dropped?)"
                .into(),
        };
        let raw: Cow<'_, Value> = match &self.source {
            ColumnSource::Column(c) => Cow::Borrowed(row.get(c).ok_or_else(|| missing(c))?),
            ColumnSource::Template(t) => Cow::Owned(t.render(row).map_err(|c| missing(&c))?),
        };
        let value = match (&self.default, raw.is_null()) {
            (Some(default), true) => Cow::Borrowed(default),
            _ => raw,
        };
        self.conversion
            .apply(&value, flavor)
            .map_err(|reason| ColumnError {
                column: self.source_label().to_string(),
                value: value.into_owned(),
                reason,
            })
    }
}

impl TryFrom<ColumnSpec> for ColumnMapping {
    type Error = String;

    fn try_from(spec: ColumnSpec) -> Result<Self, String> {
        let to = spec.to.trim().to_string();
        if to.is_empty() {
            return Err("a column has an empty `to`".into());
        }
        let fail = |msg: &str| format!("column `to = \"{to}\"`: {msg}");
        let source = match (spec.from, spec.template) {
            (Some(from), None) if from.trim().is_empty() => return Err(fail("`from` is empty")),
            (Some(from), None) => ColumnSource::Column(from.trim().to_string()),
            (None, Some(template)) => {
                if spec.kind != ColumnType::String {
                    return Err(fail("a `template` always produces text; remove `type`"));
                }
                ColumnSource::Template(template.parse().map_err(|e: String| fail(&e))?)
            }
            (Some(_), Some(_)) => return Err(fail("set either `from` or `template`, not both")),
            (None, None) => {
                return Err(fail("needs `from` (a source column) or `template`"));
            }
        };
        let kind = spec.kind;
        let only_for = |set: bool, key: &str, types: &[ColumnType]| {
            if set && !types.contains(&kind) {
                Err(fail(&format!("`{key}` does not apply to type {kind:?}")))
            } else {
                Ok(())
            }
        };
        use ColumnType as T;
        only_for(
            spec.date_format.is_some(),
            "date_format",
            &[T::Date, T::Datetime],
        )?;
        only_for(spec.separator.is_some(), "separator", &[T::MultiSelect])?;
        only_for(
            spec.target_separator.is_some(),
            "target_separator",
            &[T::MultiSelect],
        )?;
        only_for(spec.values.is_some(), "values", &[T::Enumeration])?;
        only_for(spec.unmapped.is_some(), "unmapped", &[T::Enumeration])?;
        let format = spec.date_format.unwrap_or_default();
        let conversion = match kind {
            T::String => Conversion::String,
            T::Number => Conversion::Number,
            T::Bool => Conversion::Bool,
            T::Date => Conversion::Date(format),
            T::Datetime => Conversion::Datetime(format),
            T::MultiSelect => {
                let separator = spec.separator.unwrap_or_else(|| ",".into());
                if separator.is_empty() || spec.target_separator.as_deref() == Some("") {
                    return Err(fail("separators must not be empty"));
                }
                Conversion::MultiSelect {
                    separator,
                    target_separator: spec.target_separator,
                }
            }
            T::Enumeration => match spec.values {
                Some(values) if !values.is_empty() => Conversion::Enumeration {
                    values,
                    unmapped: spec.unmapped.unwrap_or_default(),
                },
                _ => {
                    return Err(fail(
                        "an enumeration needs `values = { code = \"label\", … }`",
                    ))
                }
            },
        };
        if let Some(default) = &spec.default {
            if !(default.is_string() || default.is_number() || default.is_boolean()) {
                return Err(fail("`default` must be a string, number or boolean"));
            }
            for flavor in [Flavor::HubSpot, Flavor::Sql] {
                conversion
                    .apply(default, flavor)
                    .map_err(|reason| fail(&format!("`default` {default} {reason}")))?;
            }
        }
        Ok(Self {
            to,
            source,
            conversion,
            default: spec.default,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(toml_entry: &str) -> Result<ColumnMapping, String> {
        #[derive(Deserialize)]
        struct One {
            c: ColumnMapping,
        }
        toml::from_str::<One>(&format!("c = {toml_entry}"))
            .map(|o| o.c)
            .map_err(|e| e.to_string())
    }

    fn row(v: Value) -> Row {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn type_defaults_to_string() {
        let c = parse(r#"{ from = "email", to = "email" }"#).unwrap();
        assert_eq!(c.conversion, Conversion::String);
        assert_eq!(c.source, ColumnSource::Column("email".into()));
    }

    #[test]
    fn default_replaces_null_only() {
        let c = parse(r#"{ from = "phone", to = "phone", default = "n/a" }"#).unwrap();
        let map = |v: Value| c.map(&row(json!({ "phone": v })), Flavor::HubSpot).unwrap();
        assert_eq!(map(Value::Null), json!("n/a"));
        assert_eq!(map(json!("")), json!(""));
        assert_eq!(map(json!("555")), json!("555"));
        let t = parse(r#"{ template = "{a}-{b}", to = "x", default = "none" }"#).unwrap();
        let r = row(json!({"a": null, "b": ""}));
        assert_eq!(t.map(&r, Flavor::Sql).unwrap(), json!("none"));
    }

    #[test]
    fn errors_carry_column_and_value() {
        let c = parse(r#"{ from = "birthday", to = "dob", type = "date" }"#).unwrap();
        let e = c
            .map(&row(json!({"birthday": "1990-02-31"})), Flavor::HubSpot)
            .unwrap_err();
        assert_eq!(e.column, "birthday");
        assert_eq!(e.value, json!("1990-02-31"));
        let e = c
            .map(&row(json!({"other": 1})), Flavor::HubSpot)
            .unwrap_err();
        assert!(e.reason.contains("not in the row image"), "{}", e.reason);
    }

    #[test]
    fn misplaced_or_missing_settings_fail_at_parse() {
        let cases = [
            (r#"{ to = "x" }"#, "needs `from`"),
            (r#"{ from = "a", template = "{a}", to = "x" }"#, "not both"),
            (r#"{ from = "a", to = " " }"#, "empty `to`"),
            (
                r#"{ from = "a", to = "x", type = "enumeration" }"#,
                "needs `values",
            ),
            (
                r#"{ from = "a", to = "x", type = "enumeration", values = {} }"#,
                "needs `values",
            ),
            (
                r#"{ from = "a", to = "x", separator = ";" }"#,
                "`separator` does not apply",
            ),
            (
                r#"{ from = "a", to = "x", type = "date", values = { a = "b" } }"#,
                "`values`",
            ),
            (
                r#"{ from = "a", to = "x", date_format = "iso" }"#,
                "`date_format`",
            ),
            (
                r#"{ template = "{a}", to = "x", type = "number" }"#,
                "always produces text",
            ),
            (
                r#"{ template = "plain", to = "x" }"#,
                "references no column",
            ),
            (
                r#"{ from = "a", to = "x", type = "number", default = "n/a" }"#,
                "`default`",
            ),
            (
                r#"{ from = "a", to = "x", type = "multi_select", separator = "" }"#,
                "empty",
            ),
            (r#"{ from = "a", to = "x", typo = 1 }"#, "unknown field"),
            (
                r#"{ from = "a", to = "x", type = "money" }"#,
                "unknown variant",
            ),
        ];
        for (entry, expected) in cases {
            let err = parse(entry).unwrap_err();
            assert!(err.contains(expected), "{entry}: {err}");
        }
    }
}
