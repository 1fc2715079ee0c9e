//! `date` and `datetime` conversions.
//!
//! HubSpot is strict here (the first pitfall of the system this replaces): a
//! `date` property takes only midnight UTC as epoch milliseconds and rejects
//! any other instant; a `datetime` takes epoch milliseconds. The reader hands
//! us DATE as `YYYY-MM-DD`, DATETIME as a naive `YYYY-MM-DDTHH:MM:SS[.ffffff]`
//! already converted into UTC, and TIMESTAMP with a trailing `Z`; so naive
//! values are read as UTC and no time zone is applied here.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value;

use super::column::DateFormat;
use super::flavor::Flavor;

/// A parsed source value.
enum Temporal {
    Date(NaiveDate),
    /// An instant in UTC.
    DateTime(NaiveDateTime),
    /// MySQL's zero date `0000-00-00` (allowed by lax SQL modes): no value.
    Zero,
}

fn parse(value: &Value) -> Result<Temporal, String> {
    let s = match value {
        Value::String(s) => s.trim(),
        _ => {
            return Err(
                "is not a date: expected a DATE, DATETIME or TIMESTAMP string (YYYY-MM-DD…)".into(),
            )
        }
    };
    if s.starts_with("0000-00-00") {
        return Ok(Temporal::Zero);
    }
    if s.len() == 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Temporal::Date)
            .map_err(|e| format!("is not a valid date (expected YYYY-MM-DD): {e}"));
    }
    // Accept a space as the date/time separator too (MySQL's own output).
    let normalized = match s.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &s[..10], &s[11..]),
        _ => s.to_string(),
    };
    if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Temporal::DateTime(naive));
    }
    DateTime::parse_from_rfc3339(&normalized)
        .map(|dt| Temporal::DateTime(dt.naive_utc()))
        .map_err(|e| {
            format!("is not a valid datetime (expected YYYY-MM-DDTHH:MM:SS[.ffffff][Z]): {e}")
        })
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    date.and_hms_opt(0, 0, 0).expect("midnight exists")
}

/// A calendar date. A DATETIME/TIMESTAMP source keeps its UTC calendar day,
/// because HubSpot refuses a `date` that is not midnight UTC.
pub(super) fn date(value: &Value, format: DateFormat, flavor: Flavor) -> Result<Value, String> {
    let day = match parse(value)? {
        Temporal::Zero => return Ok(flavor.null()),
        Temporal::Date(d) => d,
        Temporal::DateTime(dt) => dt.date(),
    };
    Ok(Value::String(match (flavor, format) {
        (Flavor::HubSpot, DateFormat::EpochMs) => {
            midnight(day).and_utc().timestamp_millis().to_string()
        }
        (Flavor::HubSpot, DateFormat::Iso) | (Flavor::Sql, _) => day.format("%Y-%m-%d").to_string(),
    }))
}

/// An instant. Sub-millisecond digits are truncated for HubSpot (it stores
/// milliseconds); MySQL gets microseconds when the source has them.
pub(super) fn datetime(value: &Value, format: DateFormat, flavor: Flavor) -> Result<Value, String> {
    let at = match parse(value)? {
        Temporal::Zero => return Ok(flavor.null()),
        Temporal::Date(d) => midnight(d),
        Temporal::DateTime(dt) => dt,
    };
    Ok(Value::String(match (flavor, format) {
        (Flavor::HubSpot, DateFormat::EpochMs) => at.and_utc().timestamp_millis().to_string(),
        (Flavor::HubSpot, DateFormat::Iso) => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        (Flavor::Sql, _) if at.nanosecond() % 1_000_000 != 0 => {
            at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
        }
        (Flavor::Sql, _) => at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hs_date(v: Value) -> Result<Value, String> {
        date(&v, DateFormat::EpochMs, Flavor::HubSpot)
    }
    fn hs_datetime(v: Value) -> Result<Value, String> {
        datetime(&v, DateFormat::EpochMs, Flavor::HubSpot)
    }

    #[test]
    fn date_is_midnight_utc_epoch_ms() {
        assert_eq!(
            hs_date(json!("2015-05-01")).unwrap(),
            json!("1430438400000")
        );
        assert_eq!(hs_date(json!("1969-12-31")).unwrap(), json!("-86400000"));
        // A DATETIME mapped as a date keeps its day, never a non-midnight instant.
        assert_eq!(
            hs_date(json!("2015-05-01T23:59:59.999")).unwrap(),
            json!("1430438400000")
        );
        assert_eq!(
            hs_date(json!("2015-05-01T10:00:00Z")).unwrap(),
            json!("1430438400000")
        );
        assert_eq!(
            date(&json!("2015-05-01"), DateFormat::Iso, Flavor::HubSpot).unwrap(),
            json!("2015-05-01")
        );
        assert_eq!(
            date(&json!("2015-05-01"), DateFormat::EpochMs, Flavor::Sql).unwrap(),
            json!("2015-05-01")
        );
    }

    #[test]
    fn bad_dates_are_errors_and_zero_dates_are_null() {
        for bad in [
            json!("2015-13-01"),
            json!("2015-02-30"),
            json!("01/05/2015"),
            json!(20150501),
        ] {
            assert!(hs_date(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(hs_date(json!("0000-00-00")).unwrap(), json!(""));
        assert_eq!(
            datetime(
                &json!("0000-00-00T00:00:00"),
                DateFormat::EpochMs,
                Flavor::Sql
            )
            .unwrap(),
            Value::Null
        );
    }

    #[test]
    fn datetime_is_epoch_ms_with_fractions_truncated() {
        assert_eq!(
            hs_datetime(json!("2015-05-01T00:00:00")).unwrap(),
            json!("1430438400000")
        );
        assert_eq!(
            hs_datetime(json!("2015-05-01T12:34:56.789654")).unwrap(),
            json!("1430483696789")
        );
        // TIMESTAMP (with Z), a space separator, an explicit offset, a bare date.
        assert_eq!(
            hs_datetime(json!("2015-05-01T12:34:56.5Z")).unwrap(),
            json!("1430483696500")
        );
        assert_eq!(
            hs_datetime(json!("2015-05-01 12:34:56")).unwrap(),
            json!("1430483696000")
        );
        assert_eq!(
            hs_datetime(json!("2015-05-01T14:34:56+02:00")).unwrap(),
            json!("1430483696000")
        );
        assert_eq!(
            hs_datetime(json!("2015-05-01")).unwrap(),
            json!("1430438400000")
        );
        assert!(hs_datetime(json!("2015-05-01T25:00:00")).is_err());
    }

    #[test]
    fn datetime_formats_for_iso_and_sql() {
        let v = json!("2015-05-01T12:34:56.789654");
        assert_eq!(
            datetime(&v, DateFormat::Iso, Flavor::HubSpot).unwrap(),
            json!("2015-05-01T12:34:56.789Z")
        );
        assert_eq!(
            datetime(&v, DateFormat::EpochMs, Flavor::Sql).unwrap(),
            json!("2015-05-01 12:34:56.789654")
        );
        assert_eq!(
            datetime(
                &json!("2015-05-01T12:34:56Z"),
                DateFormat::EpochMs,
                Flavor::Sql
            )
            .unwrap(),
            json!("2015-05-01 12:34:56.000")
        );
    }
}
