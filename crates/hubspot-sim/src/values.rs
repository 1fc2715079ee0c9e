//! Property value validation and normalisation, one rule per property type.
//!
//! Pure functions, so every rule HubSpot enforces (midnight dates, option
//! lists, email syntax, …) is unit-tested here without a server. A value that
//! passes comes back in the form HubSpot stores and returns: always a string,
//! dates as `YYYY-MM-DD`, datetimes as ISO 8601 UTC with milliseconds, emails
//! lower-cased. The empty string means "clear the property" and is valid for
//! every writable type, as HubSpot documents for batch update.

use crate::properties::{PropertyDef, PropertyType};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

/// Why one value was refused: HubSpot's error code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    pub code: &'static str,
    pub message: String,
}

impl ValueError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        ValueError {
            code,
            message: message.into(),
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// Formats an instant the way HubSpot's v3 responses do: `2024-05-01T12:00:00.000Z`.
pub fn format_datetime(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Turns a JSON value from a request into the string HubSpot would see.
/// Numbers and bools are accepted as their text, `null` clears like `""`.
pub fn raw_text(raw: &Value) -> Result<String, ValueError> {
    match raw {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        Value::Array(_) | Value::Object(_) => Err(ValueError::new(
            "INVALID_PROPERTY_VALUE",
            "Property values must be strings, numbers or booleans",
        )),
    }
}

/// Validates `raw` for `def` and returns the stored form.
pub fn normalize(def: &PropertyDef, raw: &Value) -> Result<String, ValueError> {
    if def.is_read_only() {
        return Err(ValueError::new(
            "READ_ONLY_VALUE",
            format!(
                "{} is a read only property; its value cannot be set",
                def.name
            ),
        ));
    }
    let text = raw_text(raw)?;
    if text.is_empty() {
        return Ok(text);
    }
    // Since January 2025 HubSpot refuses padded values for non-string types.
    if def.kind != PropertyType::String && text.trim() != text {
        return Err(ValueError::new(
            type_code(def),
            format!("{text:?} has leading or trailing whitespace"),
        ));
    }
    match def.kind {
        PropertyType::String if def.name == "email" => email(&text),
        PropertyType::String => Ok(text),
        PropertyType::Number => number(&text),
        PropertyType::Date => date(&text),
        PropertyType::Datetime => datetime(&text),
        PropertyType::Bool => boolean(&text),
        PropertyType::Enumeration if def.is_multi_select() => multi_option(def, &text),
        PropertyType::Enumeration => option(def, &text),
    }
}

/// The form a unique key is looked up by: the same as stored, so that
/// `A@X.COM` finds the contact stored as `a@x.com`.
pub fn lookup_key(def: &PropertyDef, raw: &str) -> String {
    if def.name == "email" {
        raw.trim().to_lowercase()
    } else {
        raw.to_string()
    }
}

fn type_code(def: &PropertyDef) -> &'static str {
    match def.kind {
        PropertyType::String => "INVALID_PROPERTY_VALUE",
        PropertyType::Number => "INVALID_DECIMAL",
        PropertyType::Date => "INVALID_DATE",
        PropertyType::Datetime => "INVALID_DATETIME",
        PropertyType::Bool => "INVALID_BOOLEAN",
        PropertyType::Enumeration => "INVALID_OPTION",
    }
}

/// A syntax check, not RFC 5322: one `@`, a non-empty local part, a dotted
/// domain without empty labels, no whitespace. That is what catches the
/// garbage a database column really holds.
pub fn is_valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

fn email(text: &str) -> Result<String, ValueError> {
    if is_valid_email(text) {
        Ok(text.to_lowercase())
    } else {
        Err(ValueError::new(
            "INVALID_EMAIL",
            format!("Email address {text} is invalid"),
        ))
    }
}

/// A plain decimal: optional minus, digits, optional fraction. No exponent,
/// no `NaN`, no thousands separators.
fn number(text: &str) -> Result<String, ValueError> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(int) && frac.is_none_or(digits) {
        Ok(text.to_string())
    } else {
        Err(ValueError::new(
            "INVALID_DECIMAL",
            format!("{text} was not a valid number."),
        ))
    }
}

fn epoch_millis(text: &str) -> Option<i64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Midnight-UTC epoch milliseconds, or `YYYY-MM-DD`; stored as `YYYY-MM-DD`.
fn date(text: &str) -> Result<String, ValueError> {
    if let Some(ms) = epoch_millis(text) {
        let at = DateTime::<Utc>::from_timestamp_millis(ms)
            .ok_or_else(|| ValueError::new("INVALID_DATE", format!("{text} is out of range")))?;
        let into_day = ms.rem_euclid(DAY_MS);
        if into_day != 0 {
            // HubSpot's own wording, e.g. "… is at 4:10:33.600 UTC, not midnight!"
            let (h, m, s, milli) = (
                into_day / 3_600_000,
                into_day / 60_000 % 60,
                into_day / 1000 % 60,
                into_day % 1000,
            );
            return Err(ValueError::new(
                "INVALID_DATE",
                format!("{text} is at {h}:{m:02}:{s:02}.{milli:03} UTC, not midnight!"),
            ));
        }
        return Ok(at.date_naive().to_string());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| {
            ValueError::new(
                "INVALID_DATE",
                format!("{text} is not a valid date: send midnight UTC epoch milliseconds or YYYY-MM-DD"),
            )
        })
}

/// Epoch milliseconds, ISO 8601 / RFC 3339, or a bare date (midnight UTC);
/// stored as ISO 8601 UTC.
fn datetime(text: &str) -> Result<String, ValueError> {
    let parsed = if let Some(ms) = epoch_millis(text) {
        DateTime::<Utc>::from_timestamp_millis(ms)
    } else if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        Some(at.with_timezone(&Utc))
    } else {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|n| n.and_utc())
    };
    parsed.map(format_datetime).ok_or_else(|| {
        ValueError::new(
            "INVALID_DATETIME",
            format!("{text} is not a valid datetime: send epoch milliseconds or ISO 8601"),
        )
    })
}

fn boolean(text: &str) -> Result<String, ValueError> {
    match text {
        "true" | "false" => Ok(text.to_string()),
        _ => Err(ValueError::new(
            "INVALID_BOOLEAN",
            format!("{text} is not a valid boolean: use true or false"),
        )),
    }
}

fn allowed(def: &PropertyDef) -> String {
    let values: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
    format!("[{}]", values.join(", "))
}

fn is_option(def: &PropertyDef, value: &str) -> bool {
    def.options.iter().any(|o| o.value == value)
}

fn option(def: &PropertyDef, text: &str) -> Result<String, ValueError> {
    if is_option(def, text) {
        Ok(text.to_string())
    } else {
        Err(ValueError::new(
            "INVALID_OPTION",
            format!(
                "{text} was not one of the allowed options: {}",
                allowed(def)
            ),
        ))
    }
}

/// `;`-separated option values. Empty segments are dropped (HubSpot clients
/// often send a leading `;`), so `";"` clears like `""`.
fn multi_option(def: &PropertyDef, text: &str) -> Result<String, ValueError> {
    let chosen: Vec<&str> = text.split(';').filter(|v| !v.is_empty()).collect();
    let bad: Vec<&str> = chosen
        .iter()
        .copied()
        .filter(|v| !is_option(def, v))
        .collect();
    if bad.is_empty() {
        Ok(chosen.join(";"))
    } else {
        Err(ValueError::new(
            "INVALID_OPTION",
            format!(
                "{} was not one of the allowed options: {}",
                bad.join(";"),
                allowed(def)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::{FieldType, Properties, PropertyDef, PropertyOption};
    use serde_json::json;

    fn def(kind: PropertyType, field_type: FieldType) -> PropertyDef {
        let mut d = Properties::default().get("firstname").unwrap().clone();
        d.name = "x".into();
        d.kind = kind;
        d.field_type = field_type;
        d.options = ["a", "b", "c"]
            .iter()
            .map(|v| PropertyOption {
                label: v.to_uppercase(),
                value: v.to_string(),
                display_order: 0,
                hidden: false,
            })
            .collect();
        d
    }

    fn email_def() -> PropertyDef {
        Properties::default().get("email").unwrap().clone()
    }

    fn code(d: &PropertyDef, v: Value) -> &'static str {
        normalize(d, &v).unwrap_err().code
    }

    #[test]
    fn emails() {
        let d = email_def();
        assert_eq!(
            normalize(&d, &json!("Ann@Example.COM")).unwrap(),
            "ann@example.com"
        );
        for bad in [
            "ann",
            "@x.com",
            "ann@x",
            "ann@@x.com",
            "a b@x.com",
            "ann@x..com",
            "ann@.x.com",
        ] {
            assert_eq!(code(&d, json!(bad)), "INVALID_EMAIL", "{bad}");
        }
        let e = normalize(&d, &json!("nope")).unwrap_err();
        assert_eq!(e.message, "Email address nope is invalid");
    }

    #[test]
    fn empty_clears_every_type() {
        for kind in [
            (PropertyType::String, FieldType::Text),
            (PropertyType::Number, FieldType::Number),
            (PropertyType::Date, FieldType::Date),
            (PropertyType::Datetime, FieldType::Date),
            (PropertyType::Bool, FieldType::Booleancheckbox),
            (PropertyType::Enumeration, FieldType::Select),
            (PropertyType::Enumeration, FieldType::Checkbox),
        ] {
            let d = def(kind.0, kind.1);
            assert_eq!(normalize(&d, &json!("")).unwrap(), "");
            assert_eq!(normalize(&d, &Value::Null).unwrap(), "");
        }
        assert_eq!(normalize(&email_def(), &json!("")).unwrap(), "");
    }

    #[test]
    fn read_only_refused_even_when_clearing() {
        let d = Properties::default().get("hs_object_id").unwrap().clone();
        assert_eq!(code(&d, json!("1")), "READ_ONLY_VALUE");
        assert_eq!(code(&d, json!("")), "READ_ONLY_VALUE");
    }

    #[test]
    fn numbers() {
        let d = def(PropertyType::Number, FieldType::Number);
        assert_eq!(normalize(&d, &json!(42)).unwrap(), "42");
        assert_eq!(normalize(&d, &json!(-1.5)).unwrap(), "-1.5");
        assert_eq!(normalize(&d, &json!("0.25")).unwrap(), "0.25");
        for bad in ["abc", "1.", ".5", "1e3", "1,000", "NaN", "-", " 1"] {
            assert_eq!(code(&d, json!(bad)), "INVALID_DECIMAL", "{bad}");
        }
    }

    #[test]
    fn dates_need_midnight_utc() {
        let d = def(PropertyType::Date, FieldType::Date);
        assert_eq!(
            normalize(&d, &json!("1430438400000")).unwrap(),
            "2015-05-01"
        );
        assert_eq!(
            normalize(&d, &json!(1430438400000_i64)).unwrap(),
            "2015-05-01"
        );
        assert_eq!(normalize(&d, &json!("2015-05-01")).unwrap(), "2015-05-01");
        let e = normalize(&d, &json!("1570233600")).unwrap_err();
        assert_eq!(e.code, "INVALID_DATE");
        assert_eq!(e.message, "1570233600 is at 4:10:33.600 UTC, not midnight!");
        assert_eq!(code(&d, json!("1430438400001")), "INVALID_DATE");
        assert_eq!(code(&d, json!("2015-13-01")), "INVALID_DATE");
        assert_eq!(code(&d, json!("yesterday")), "INVALID_DATE");
    }

    #[test]
    fn datetimes() {
        let d = def(PropertyType::Datetime, FieldType::Date);
        assert_eq!(
            normalize(&d, &json!("1427997766000")).unwrap(),
            "2015-04-02T18:02:46.000Z"
        );
        assert_eq!(
            normalize(&d, &json!("2015-04-02T20:02:46.5+02:00")).unwrap(),
            "2015-04-02T18:02:46.500Z"
        );
        assert_eq!(
            normalize(&d, &json!("2015-04-02")).unwrap(),
            "2015-04-02T00:00:00.000Z"
        );
        assert_eq!(code(&d, json!("noon")), "INVALID_DATETIME");
    }

    #[test]
    fn bools() {
        let d = def(PropertyType::Bool, FieldType::Booleancheckbox);
        assert_eq!(normalize(&d, &json!(true)).unwrap(), "true");
        assert_eq!(normalize(&d, &json!("false")).unwrap(), "false");
        assert_eq!(code(&d, json!("yes")), "INVALID_BOOLEAN");
        assert_eq!(code(&d, json!(1)), "INVALID_BOOLEAN");
    }

    #[test]
    fn single_options() {
        let d = def(PropertyType::Enumeration, FieldType::Select);
        assert_eq!(normalize(&d, &json!("b")).unwrap(), "b");
        let e = normalize(&d, &json!("z")).unwrap_err();
        assert_eq!(e.code, "INVALID_OPTION");
        assert!(e.message.contains("[a, b, c]"));
        // Option values are case-sensitive, and padded values are refused.
        assert_eq!(code(&d, json!("B")), "INVALID_OPTION");
        assert_eq!(code(&d, json!("b ")), "INVALID_OPTION");
        // A multi-value string is not one option.
        assert_eq!(code(&d, json!("a;b")), "INVALID_OPTION");
    }

    #[test]
    fn multi_select_options() {
        let d = def(PropertyType::Enumeration, FieldType::Checkbox);
        assert_eq!(normalize(&d, &json!("a;c")).unwrap(), "a;c");
        assert_eq!(normalize(&d, &json!(";a;b")).unwrap(), "a;b");
        assert_eq!(normalize(&d, &json!(";")).unwrap(), "");
        let e = normalize(&d, &json!("a;z;y")).unwrap_err();
        assert_eq!(e.code, "INVALID_OPTION");
        assert!(e.message.starts_with("z;y was not one"));
    }

    #[test]
    fn structured_values_are_refused() {
        let d = def(PropertyType::String, FieldType::Text);
        assert_eq!(code(&d, json!(["a"])), "INVALID_PROPERTY_VALUE");
        assert_eq!(code(&d, json!({"a": 1})), "INVALID_PROPERTY_VALUE");
        // Strings keep their whitespace.
        assert_eq!(normalize(&d, &json!(" Ann ")).unwrap(), " Ann ");
    }

    #[test]
    fn lookup_key_matches_stored_email() {
        assert_eq!(lookup_key(&email_def(), " A@X.com"), "a@x.com");
        let d = def(PropertyType::Number, FieldType::Number);
        assert_eq!(lookup_key(&d, "42"), "42");
    }
}
