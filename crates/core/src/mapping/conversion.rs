//! Value conversions: one source value in, one target value out.
//!
//! Each [`Conversion`] carries exactly the settings its column type uses, so
//! a conversion cannot see a setting meant for another type. NULL is handled
//! once, before dispatch: it becomes the flavor's null (`""` for HubSpot,
//! which clears the property; NULL for MySQL). A value a conversion cannot
//! represent is an error, never a guess, because a wrong value written to a
//! CRM is worse than a dead letter an operator can fix.

use std::collections::BTreeMap;

use serde_json::Value;

use super::column::{ColumnType, DateFormat, Unmapped};
use super::flavor::Flavor;
use super::number::{decimal_text, number_text};
use super::temporal;

/// HubSpot joins the options of a multi-select (checkbox) property with `;`.
pub const HUBSPOT_MULTI_SELECT_SEPARATOR: &str = ";";

/// How many known codes an "unknown code" error lists.
const CODES_SHOWN: usize = 10;

/// A checked conversion, built from a column's `type` and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// Text. Numbers become their decimal text, JSON its JSON text.
    String,
    /// An exact decimal number.
    Number,
    /// True/false from 0/1, JSON booleans and common spellings.
    Bool,
    /// A calendar date.
    Date(DateFormat),
    /// An instant.
    Datetime(DateFormat),
    /// Several values in one column, split on `separator` (or taken from a
    /// JSON array), trimmed, empties dropped; joined with `;` for HubSpot and
    /// with `target_separator` (default `,`) for MySQL.
    MultiSelect {
        separator: String,
        target_separator: Option<String>,
    },
    /// A code looked up in `values`; `unmapped` decides about unknown codes.
    Enumeration {
        values: BTreeMap<String, String>,
        unmapped: Unmapped,
    },
}

impl Conversion {
    pub fn column_type(&self) -> ColumnType {
        match self {
            Conversion::String => ColumnType::String,
            Conversion::Number => ColumnType::Number,
            Conversion::Bool => ColumnType::Bool,
            Conversion::Date(_) => ColumnType::Date,
            Conversion::Datetime(_) => ColumnType::Datetime,
            Conversion::MultiSelect { .. } => ColumnType::MultiSelect,
            Conversion::Enumeration { .. } => ColumnType::Enumeration,
        }
    }

    /// Converts one source value. The error is a reason phrased to follow
    /// the value ("is not a number …").
    pub fn apply(&self, value: &Value, flavor: Flavor) -> Result<Value, String> {
        if value.is_null() {
            return Ok(flavor.null());
        }
        match self {
            Conversion::String => Ok(string(value, flavor)),
            Conversion::Number => number(value, flavor),
            Conversion::Bool => boolean(value, flavor),
            Conversion::Date(format) => temporal::date(value, *format, flavor),
            Conversion::Datetime(format) => temporal::datetime(value, *format, flavor),
            Conversion::MultiSelect {
                separator,
                target_separator,
            } => multi_select(value, separator, target_separator.as_deref(), flavor),
            Conversion::Enumeration { values, unmapped } => {
                enumeration(value, values, *unmapped, flavor)
            }
        }
    }
}

/// The text of a scalar (strings as they are, numbers exactly, booleans as
/// `true`/`false`); `None` for objects and arrays.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn string(value: &Value, flavor: Flavor) -> Value {
    match (flavor, value) {
        // MySQL binds numbers and strings as they are; JSON documents as text.
        (Flavor::Sql, Value::String(_) | Value::Number(_) | Value::Bool(_)) => value.clone(),
        _ => Value::String(scalar_text(value).unwrap_or_else(|| value.to_string())),
    }
}

fn number(value: &Value, flavor: Flavor) -> Result<Value, String> {
    match value {
        Value::Number(n) => Ok(match flavor {
            Flavor::HubSpot => Value::String(number_text(n)),
            Flavor::Sql => value.clone(),
        }),
        // A blank string in a legacy VARCHAR holds no number: treat as NULL.
        Value::String(s) if s.trim().is_empty() => Ok(flavor.null()),
        Value::String(s) => decimal_text(s).map(Value::String).ok_or_else(|| {
            "is not a number (expected decimal digits like -12.50, no thousands separators)".into()
        }),
        Value::Bool(b) => Ok(match flavor {
            Flavor::HubSpot => Value::String(u8::from(*b).to_string()),
            Flavor::Sql => Value::from(u8::from(*b)),
        }),
        _ => Err("is not a number (a JSON document)".into()),
    }
}

fn boolean(value: &Value, flavor: Flavor) -> Result<Value, String> {
    let b = match value {
        Value::Bool(b) => *b,
        // MySQL's truth: any non-zero TINYINT is true.
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" => return Ok(flavor.null()),
            "1" | "true" | "t" | "yes" | "y" | "on" => true,
            "0" | "false" | "f" | "no" | "n" | "off" => false,
            _ => return Err("is not a boolean (expected 0/1, true/false or yes/no)".into()),
        },
        _ => return Err("is not a boolean (a JSON document)".into()),
    };
    Ok(match flavor {
        Flavor::HubSpot => Value::String(b.to_string()),
        Flavor::Sql => Value::from(u8::from(b)),
    })
}

fn multi_select(
    value: &Value,
    separator: &str,
    target_separator: Option<&str>,
    flavor: Flavor,
) -> Result<Value, String> {
    let mut items: Vec<String> = Vec::new();
    let mut add = |text: &str| {
        let t = text.trim();
        if !t.is_empty() {
            items.push(t.to_string());
        }
    };
    match value {
        Value::String(s) => s.split(separator).for_each(&mut add),
        // A JSON column holding a list of options.
        Value::Array(list) => {
            for item in list.iter().filter(|v| !v.is_null()) {
                let text = scalar_text(item)
                    .ok_or("is not a list of options: an element is itself a JSON document")?;
                add(&text);
            }
        }
        Value::Number(_) | Value::Bool(_) => add(&scalar_text(value).unwrap_or_default()),
        Value::Null | Value::Object(_) => {
            return Err("is not a list of options (a JSON object)".into());
        }
    }
    let joiner = match flavor {
        Flavor::HubSpot => {
            if items
                .iter()
                .any(|i| i.contains(HUBSPOT_MULTI_SELECT_SEPARATOR))
            {
                return Err(
                    "has an option containing `;`, HubSpot's multi-select separator; \
                            set `separator` to split on it"
                        .into(),
                );
            }
            HUBSPOT_MULTI_SELECT_SEPARATOR
        }
        Flavor::Sql => target_separator.unwrap_or(","),
    };
    Ok(Value::String(items.join(joiner)))
}

fn enumeration(
    value: &Value,
    values: &BTreeMap<String, String>,
    unmapped: Unmapped,
    flavor: Flavor,
) -> Result<Value, String> {
    let code = scalar_text(value).ok_or("is not an enumeration code (a JSON document)")?;
    if let Some(label) = values.get(&code) {
        return Ok(Value::String(label.clone()));
    }
    match unmapped {
        Unmapped::Pass => Ok(Value::String(code)),
        Unmapped::Null => Ok(flavor.null()),
        Unmapped::Error => {
            let mut known: Vec<&str> = values
                .keys()
                .map(String::as_str)
                .take(CODES_SHOWN)
                .collect();
            if values.len() > CODES_SHOWN {
                known.push("…");
            }
            Err(format!(
                "is a code missing from `values` (known: {}); add it, or set `unmapped = \"pass\"` or \"null\"",
                known.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hs(c: &Conversion, v: Value) -> Result<Value, String> {
        c.apply(&v, Flavor::HubSpot)
    }
    fn sql(c: &Conversion, v: Value) -> Result<Value, String> {
        c.apply(&v, Flavor::Sql)
    }

    #[test]
    fn null_is_empty_for_hubspot_and_null_for_sql() {
        for c in [Conversion::String, Conversion::Number, Conversion::Bool] {
            assert_eq!(hs(&c, Value::Null).unwrap(), json!(""));
            assert_eq!(sql(&c, Value::Null).unwrap(), Value::Null);
        }
    }

    #[test]
    fn strings_keep_utf8mb4_and_numbers_exact() {
        let s = Conversion::String;
        assert_eq!(hs(&s, json!("Zoë 李 🎉")).unwrap(), json!("Zoë 李 🎉"));
        assert_eq!(
            hs(&s, json!(u64::MAX)).unwrap(),
            json!("18446744073709551615")
        );
        assert_eq!(hs(&s, json!(true)).unwrap(), json!("true"));
        assert_eq!(hs(&s, json!({"a": [1]})).unwrap(), json!(r#"{"a":[1]}"#));
        assert_eq!(sql(&s, json!(42)).unwrap(), json!(42));
        assert_eq!(sql(&s, json!({"a": 1})).unwrap(), json!(r#"{"a":1}"#));
    }

    #[test]
    fn numbers_stay_exact() {
        let n = Conversion::Number;
        assert_eq!(
            hs(&n, json!(u64::MAX)).unwrap(),
            json!("18446744073709551615")
        );
        assert_eq!(hs(&n, json!(-42)).unwrap(), json!("-42"));
        assert_eq!(hs(&n, json!("-0.50")).unwrap(), json!("-0.50"));
        assert_eq!(hs(&n, json!("12.50")).unwrap(), json!("12.50"));
        assert_eq!(hs(&n, json!(2.5)).unwrap(), json!("2.5"));
        assert_eq!(hs(&n, json!("  ")).unwrap(), json!(""));
        assert_eq!(hs(&n, json!(true)).unwrap(), json!("1"));
        assert!(hs(&n, json!("12,50")).is_err());
        assert!(hs(&n, json!("n/a")).is_err());
        assert!(hs(&n, json!([1])).is_err());
        assert_eq!(sql(&n, json!(u64::MAX)).unwrap(), json!(u64::MAX));
        assert_eq!(sql(&n, json!("-0.50")).unwrap(), json!("-0.50"));
    }

    #[test]
    fn booleans_from_tinyint_strings_and_json() {
        let b = Conversion::Bool;
        assert_eq!(hs(&b, json!(0)).unwrap(), json!("false"));
        assert_eq!(hs(&b, json!(1)).unwrap(), json!("true"));
        assert_eq!(hs(&b, json!(2)).unwrap(), json!("true"));
        assert_eq!(hs(&b, json!("0")).unwrap(), json!("false"));
        assert_eq!(hs(&b, json!(" Yes ")).unwrap(), json!("true"));
        assert_eq!(hs(&b, json!(true)).unwrap(), json!("true"));
        assert_eq!(hs(&b, json!("")).unwrap(), json!(""));
        assert!(hs(&b, json!("maybe")).is_err());
        assert_eq!(sql(&b, json!(true)).unwrap(), json!(1));
        assert_eq!(sql(&b, json!("false")).unwrap(), json!(0));
    }

    #[test]
    fn multi_select_trims_drops_empties_and_rejoins() {
        let m = Conversion::MultiSelect {
            separator: ",".into(),
            target_separator: None,
        };
        assert_eq!(hs(&m, json!("1,2,3")).unwrap(), json!("1;2;3"));
        assert_eq!(hs(&m, json!(" a , ,b,, c ")).unwrap(), json!("a;b;c"));
        assert_eq!(hs(&m, json!(",,")).unwrap(), json!(""));
        assert_eq!(hs(&m, json!(["x", 2, null, " "])).unwrap(), json!("x;2"));
        assert_eq!(hs(&m, json!(7)).unwrap(), json!("7"));
        assert!(hs(&m, json!("a;b,c")).is_err());
        assert_eq!(sql(&m, json!(" a , ,b")).unwrap(), json!("a,b"));
        let piped = Conversion::MultiSelect {
            separator: "|".into(),
            target_separator: Some("/".into()),
        };
        assert_eq!(hs(&piped, json!("a|b")).unwrap(), json!("a;b"));
        assert_eq!(sql(&piped, json!("a|b")).unwrap(), json!("a/b"));
    }

    #[test]
    fn enumeration_hits_misses_and_unmapped_policies() {
        let values: BTreeMap<String, String> = [("0", "0-1k USD"), ("3", "5k-10k USD")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let strict = Conversion::Enumeration {
            values: values.clone(),
            unmapped: Unmapped::Error,
        };
        assert_eq!(hs(&strict, json!(3)).unwrap(), json!("5k-10k USD"));
        assert_eq!(hs(&strict, json!("0")).unwrap(), json!("0-1k USD"));
        let err = hs(&strict, json!(7)).unwrap_err();
        assert!(err.contains("known: 0, 3"), "{err}");
        assert_eq!(hs(&strict, Value::Null).unwrap(), json!(""));
        let pass = Conversion::Enumeration {
            values: values.clone(),
            unmapped: Unmapped::Pass,
        };
        assert_eq!(hs(&pass, json!(7)).unwrap(), json!("7"));
        let null = Conversion::Enumeration {
            values,
            unmapped: Unmapped::Null,
        };
        assert_eq!(hs(&null, json!(7)).unwrap(), json!(""));
        assert_eq!(sql(&null, json!(7)).unwrap(), Value::Null);
    }
}
