//! Query result values → JSON, exactly as the binlog decoder writes them.
//!
//! A snapshot row and a binlog row of the same data must be the same JSON, or
//! a consumer would see a change where there is none. The binlog decoder
//! ([`crate::binlog::decode`]) knows each column's type from the table map;
//! here the type comes from `information_schema` ([`ColumnSchema`]), and the
//! value from the query result, which differs from the binlog in a few ways
//! handled below: ENUM and SET arrive as their labels, TIMESTAMP as a date in
//! the session time zone (the snapshot connection runs in UTC), and text
//! converted to the connection's utf8mb4, except columns in other character
//! sets, which the snapshot selects as raw bytes so that the shared
//! [`text`] rules (latin1 byte for byte, unknown bytes as base64) apply to
//! exactly the bytes the binlog would carry.
//!
//! Values come from the binary protocol (prepared statements), where numbers
//! and dates are typed; text-protocol strings are accepted too, so the
//! converter does not depend on how the query was sent.

use base64::Engine;
use mysql_async::Value;
use serde_json::Value as Json;

use crate::binlog::decode::text;
use crate::schema::ColumnSchema;
use crate::temporal::{date, datetime, time};

/// Collation id of binary strings.
const BINARY: u16 = 63;

/// What a column holds, as far as encoding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Decimal,
    Float,
    Year,
    Date,
    DateTime,
    Timestamp,
    Time,
    Bit,
    Json,
    Geometry,
    /// CHAR, TEXT, ENUM, SET, BINARY, BLOB and anything unknown: decoded by
    /// character set (binary → base64).
    Text,
}

fn kind_of(col: &ColumnSchema) -> Kind {
    if col.is_json {
        return Kind::Json;
    }
    match col.data_type.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Kind::Integer,
        "decimal" | "numeric" => Kind::Decimal,
        "float" | "double" | "real" => Kind::Float,
        "year" => Kind::Year,
        "date" => Kind::Date,
        "datetime" => Kind::DateTime,
        "timestamp" => Kind::Timestamp,
        "time" => Kind::Time,
        "bit" => Kind::Bit,
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => Kind::Geometry,
        _ => Kind::Text,
    }
}

/// One result row of a query that selected `columns` first, as a change
/// event's row image, and the values selected after them (unconverted).
/// `Err((column, reason))` names the column that would not convert.
pub fn convert_row(
    columns: &[ColumnConverter],
    raw: mysql_async::Row,
    tz_offset_secs: i32,
) -> Result<(cdc_core::Row, Vec<Value>), (String, String)> {
    // The character set each result column reports (the connection's for
    // converted text, 63 for binary).
    let charsets: Vec<u16> = raw
        .columns_ref()
        .iter()
        .map(|c| c.character_set())
        .collect();
    let mut values = raw.unwrap();
    let rest = values.split_off(columns.len().min(values.len()));
    let mut row = cdc_core::Row::with_capacity(columns.len());
    for ((conv, value), charset) in columns.iter().zip(values).zip(charsets) {
        let json = conv
            .convert(value, charset, tz_offset_secs)
            .map_err(|reason| (conv.name.clone(), reason))?;
        row.insert(conv.name.clone(), json);
    }
    Ok((row, rest))
}

/// How one column of a snapshot query becomes JSON.
#[derive(Debug, Clone)]
pub struct ColumnConverter {
    pub name: String,
    kind: Kind,
    fsp: u8,
    unsigned: bool,
    /// The column is selected as `CAST(col AS BINARY)`: its bytes are in the
    /// column's own character set, `collation_id`.
    raw: bool,
    collation_id: u16,
}

impl ColumnConverter {
    pub fn new(col: &ColumnSchema) -> Self {
        let kind = kind_of(col);
        Self {
            name: col.name.clone(),
            kind,
            fsp: col.fsp.min(6),
            unsigned: col.unsigned,
            raw: kind == Kind::Text && needs_raw_bytes(col),
            collation_id: col.collation_id.unwrap_or(BINARY),
        }
    }

    /// The select-list expression for the column (`quoted` is its quoted
    /// name).
    pub fn select_expr(&self, quoted: &str) -> String {
        if self.raw {
            format!("CAST({quoted} AS BINARY)")
        } else {
            quoted.to_string()
        }
    }

    /// Converts one value. `result_charset` is the character set the result
    /// column reports (the connection's for converted text, 63 for binary).
    pub fn convert(
        &self,
        value: Value,
        result_charset: u16,
        tz_offset_secs: i32,
    ) -> Result<Json, String> {
        Ok(match value {
            Value::NULL => Json::Null,
            Value::Int(i) if self.unsigned && i < 0 => Json::from(i as u64),
            Value::Int(i) => Json::from(i),
            Value::UInt(u) => Json::from(u),
            Value::Float(f) => float(f as f64),
            Value::Double(f) => float(f),
            Value::Date(y, m, d, h, mi, s, us) => self.date(y, m, d, h, mi, s, us, tz_offset_secs),
            Value::Time(neg, days, h, m, s, us) => {
                time(neg, days * 24 + h as u32, m, s, us, self.fsp)
            }
            Value::Bytes(b) => self.bytes(b, result_charset, tz_offset_secs)?,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn date(&self, y: u16, m: u8, d: u8, h: u8, mi: u8, s: u8, us: u32, tz: i32) -> Json {
        match self.kind {
            Kind::Date => date(y, m, d),
            // The binlog stores a TIMESTAMP as seconds since the epoch, so its
            // zero value is the epoch; the connection runs in UTC.
            Kind::Timestamp if y == 0 && m == 0 && d == 0 => {
                datetime(1970, 1, 1, 0, 0, 0, 0, self.fsp, 0)
            }
            Kind::Timestamp => datetime(y, m, d, h, mi, s, us, self.fsp, 0),
            _ => datetime(y, m, d, h, mi, s, us, self.fsp, tz),
        }
    }

    fn bytes(&self, b: Vec<u8>, result_charset: u16, tz: i32) -> Result<Json, String> {
        let utf8 = |b: Vec<u8>| String::from_utf8(b).map_err(|e| e.to_string());
        Ok(match self.kind {
            Kind::Decimal => Json::String(utf8(b)?),
            Kind::Integer => {
                let s = utf8(b)?;
                match s.parse::<i64>() {
                    Ok(i) => Json::from(i),
                    Err(_) => Json::from(s.parse::<u64>().map_err(|_| format!("`{s}`"))?),
                }
            }
            Kind::Float => {
                let s = utf8(b)?;
                float(s.parse().map_err(|_| format!("`{s}`"))?)
            }
            Kind::Year => {
                let s = utf8(b)?;
                s.parse::<u16>().map(Json::from).unwrap_or(Json::String(s))
            }
            Kind::Bit => Json::from(b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64)),
            Kind::Geometry => Json::String(base64::engine::general_purpose::STANDARD.encode(&b)),
            // MySQL reports JSON results as binary: parse whatever the set.
            Kind::Json => match std::str::from_utf8(&b).ok().map(serde_json::from_str) {
                Some(Ok(v)) => v,
                _ => text(b, result_charset, false),
            },
            Kind::Date | Kind::DateTime | Kind::Timestamp => {
                let s = utf8(b)?;
                let (y, m, d, h, mi, sec, us) =
                    parse_datetime(&s).ok_or_else(|| format!("`{s}` is not a date"))?;
                self.date(y, m, d, h, mi, sec, us, tz)
            }
            Kind::Time => {
                let s = utf8(b)?;
                let (neg, hours, m, sec, us) =
                    parse_time(&s).ok_or_else(|| format!("`{s}` is not a time"))?;
                time(neg, hours, m, sec, us, self.fsp)
            }
            Kind::Text if self.raw => text(b, self.collation_id, false),
            Kind::Text => text(b, result_charset, false),
        })
    }
}

/// Text in a character set other than UTF-8 is read as raw bytes: the
/// connection would convert it to Unicode properly, but the binlog carries
/// the stored bytes, and both must agree.
fn needs_raw_bytes(col: &ColumnSchema) -> bool {
    match col.charset.as_deref() {
        None | Some("binary") => false,
        Some(cs) => !cs.starts_with("utf8"),
    }
}

fn float(f: f64) -> Json {
    serde_json::Number::from_f64(f)
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` (text protocol).
fn parse_datetime(s: &str) -> Option<(u16, u8, u8, u8, u8, u8, u32)> {
    let (date, rest) = s.split_once([' ', 'T']).unwrap_or((s, ""));
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if rest.is_empty() {
        return Some((y, m, day, 0, 0, 0, 0));
    }
    let (_, h, mi, sec, us) = parse_time(rest)?;
    Some((y, m, day, u8::try_from(h).ok()?, mi, sec, us))
}

/// `[-]H…H:MM:SS[.ffffff]` (text protocol).
fn parse_time(s: &str) -> Option<(bool, u32, u8, u8, u32)> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (hms, fraction) = s.split_once('.').unwrap_or((s, ""));
    let mut t = hms.splitn(3, ':');
    let (h, m, sec) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let us = if fraction.is_empty() {
        0
    } else {
        // ".5" is 500000 µs: pad to six digits before parsing.
        format!("{fraction:0<6}").get(..6)?.parse().ok()?
    };
    Some((neg, h, m, sec, us))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn col(name: &str, data_type: &str, column_type: &str) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            data_type: data_type.into(),
            unsigned: column_type.contains("unsigned"),
            is_json: data_type == "json",
            labels: Vec::new(),
            column_type: column_type.into(),
            fsp: column_type
                .split_once('(')
                .filter(|_| matches!(data_type, "datetime" | "timestamp" | "time"))
                .and_then(|(_, p)| p.trim_end_matches(')').parse().ok())
                .unwrap_or(0),
            charset: None,
            collation_id: None,
        }
    }

    fn text_col(name: &str, data_type: &str, charset: &str, collation_id: u16) -> ColumnSchema {
        ColumnSchema {
            charset: Some(charset.into()),
            collation_id: Some(collation_id),
            ..col(name, data_type, data_type)
        }
    }

    /// The table of tests/reader.rs `every_column_type_round_trips_exactly`,
    /// as the binary protocol delivers it (utf8mb4 connection, UTC session),
    /// must give that test's expected JSON.
    #[test]
    fn every_column_type_matches_the_binlog_encoding() {
        const UTF8MB4: u16 = 224;
        let cases: Vec<(ColumnSchema, Value, u16, Json)> = vec![
            (
                col("id", "bigint", "bigint(20) unsigned"),
                Value::UInt(u64::MAX),
                BINARY,
                json!(18446744073709551615u64),
            ),
            (
                col("i8", "tinyint", "tinyint(4)"),
                Value::Int(-128),
                BINARY,
                json!(-128),
            ),
            (
                col("u8", "tinyint", "tinyint(3) unsigned"),
                Value::UInt(255),
                BINARY,
                json!(255),
            ),
            (
                col("b1", "tinyint", "tinyint(1)"),
                Value::Int(1),
                BINARY,
                json!(1),
            ),
            (
                col("i16", "smallint", "smallint(6)"),
                Value::Int(-32768),
                BINARY,
                json!(-32768),
            ),
            (
                col("u24", "mediumint", "mediumint(8) unsigned"),
                Value::UInt(16777215),
                BINARY,
                json!(16777215),
            ),
            (
                col("i24", "mediumint", "mediumint(9)"),
                Value::Int(-8388608),
                BINARY,
                json!(-8388608),
            ),
            (
                col("i32", "int", "int(11)"),
                Value::Int(-2147483648),
                BINARY,
                json!(-2147483648i64),
            ),
            (
                col("u32", "int", "int(10) unsigned"),
                Value::UInt(4294967295),
                BINARY,
                json!(4294967295u64),
            ),
            (
                col("i64", "bigint", "bigint(20)"),
                Value::Int(i64::MIN),
                BINARY,
                json!(i64::MIN),
            ),
            (
                col("u64", "bigint", "bigint(20) unsigned"),
                Value::UInt(u64::MAX),
                BINARY,
                json!(18446744073709551615u64),
            ),
            (
                col("dec1", "decimal", "decimal(30,10)"),
                Value::Bytes(b"-12345678901234567890.0123456789".to_vec()),
                BINARY,
                json!("-12345678901234567890.0123456789"),
            ),
            (
                col("dec2", "decimal", "decimal(12,2)"),
                Value::Bytes(b"-0.50".to_vec()),
                BINARY,
                json!("-0.50"),
            ),
            (
                col("f", "float", "float"),
                Value::Float(1.5),
                BINARY,
                json!(1.5),
            ),
            (
                col("d", "double", "double"),
                Value::Double(-2.25),
                BINARY,
                json!(-2.25),
            ),
            (
                col("dt", "date", "date"),
                Value::Date(2024, 2, 29, 0, 0, 0, 0),
                BINARY,
                json!("2024-02-29"),
            ),
            (
                col("dtm", "datetime", "datetime(6)"),
                Value::Date(2024, 1, 2, 3, 4, 5, 123456),
                BINARY,
                json!("2024-01-02T03:04:05.123456Z"),
            ),
            (
                col("dtm0", "datetime", "datetime"),
                Value::Date(1999, 12, 31, 23, 59, 59, 0),
                BINARY,
                json!("1999-12-31T23:59:59Z"),
            ),
            (
                col("ts", "timestamp", "timestamp(3)"),
                Value::Date(2024, 1, 2, 3, 4, 5, 678000),
                BINARY,
                json!("2024-01-02T03:04:05.678Z"),
            ),
            (
                col("tm", "time", "time(3)"),
                Value::Time(true, 34, 22, 59, 59, 0),
                BINARY,
                json!("-838:59:59.000"),
            ),
            (
                col("yr", "year", "year(4)"),
                Value::Int(2024),
                BINARY,
                json!(2024),
            ),
            (
                text_col("vc", "varchar", "utf8mb4", UTF8MB4),
                Value::Bytes("Zoë 😀".as_bytes().to_vec()),
                UTF8MB4,
                json!("Zoë 😀"),
            ),
            (
                text_col("ch", "char", "utf8mb4", UTF8MB4),
                Value::Bytes(b"ab".to_vec()),
                UTF8MB4,
                json!("ab"),
            ),
            (
                text_col("tx", "text", "utf8mb4", UTF8MB4),
                Value::Bytes(b"long text".to_vec()),
                UTF8MB4,
                json!("long text"),
            ),
            // latin1 is selected raw: 'café' is 63 61 66 E9, decoded by its collation (8).
            (
                text_col("lat", "varchar", "latin1", 8),
                Value::Bytes(vec![0x63, 0x61, 0x66, 0xE9]),
                BINARY,
                json!("café"),
            ),
            (
                col("bin", "binary", "binary(4)"),
                Value::Bytes(vec![0, 0xFF, 1, 2]),
                BINARY,
                json!("AP8BAg=="),
            ),
            (
                col("vbin", "varbinary", "varbinary(10)"),
                Value::Bytes(vec![0xDE, 0xAD, 0xBE, 0xEF]),
                BINARY,
                json!("3q2+7w=="),
            ),
            (
                col("bl", "blob", "blob"),
                Value::Bytes(vec![0]),
                BINARY,
                json!("AA=="),
            ),
            // MariaDB JSON: LONGTEXT with a json_valid check.
            (
                ColumnSchema {
                    is_json: true,
                    ..text_col("js", "longtext", "utf8mb4", 46)
                },
                Value::Bytes(br#"{"a": [1, 2], "b": null}"#.to_vec()),
                UTF8MB4,
                json!({"a": [1, 2], "b": null}),
            ),
            (
                text_col("en", "enum", "utf8mb4", UTF8MB4),
                Value::Bytes(b"green".to_vec()),
                UTF8MB4,
                json!("green"),
            ),
            (
                text_col("st", "set", "utf8mb4", UTF8MB4),
                Value::Bytes(b"a,c".to_vec()),
                UTF8MB4,
                json!("a,c"),
            ),
            (
                col("bt", "bit", "bit(10)"),
                Value::Bytes(vec![0x02, 0x01]),
                BINARY,
                json!(513),
            ),
            (
                col("nul", "int", "int(11)"),
                Value::NULL,
                BINARY,
                Json::Null,
            ),
        ];
        for (schema, value, charset, want) in cases {
            let conv = ColumnConverter::new(&schema);
            assert_eq!(
                conv.convert(value, charset, 0).unwrap(),
                want,
                "column `{}`",
                schema.name
            );
        }
    }

    #[test]
    fn datetime_applies_the_source_time_zone_and_timestamp_does_not() {
        let dt = ColumnConverter::new(&col("a", "datetime", "datetime(3)"));
        let ts = ColumnConverter::new(&col("b", "timestamp", "timestamp(3)"));
        let v = || Value::Date(2024, 1, 2, 3, 4, 5, 678000);
        assert_eq!(
            dt.convert(v(), BINARY, 7200).unwrap(),
            json!("2024-01-02T01:04:05.678Z")
        );
        assert_eq!(
            ts.convert(v(), BINARY, 7200).unwrap(),
            json!("2024-01-02T03:04:05.678Z")
        );
    }

    #[test]
    fn zero_dates_match_the_binlog() {
        let dt = ColumnConverter::new(&col("a", "datetime", "datetime"));
        let ts = ColumnConverter::new(&col("b", "timestamp", "timestamp(3)"));
        let d = ColumnConverter::new(&col("c", "date", "date"));
        let zero = || Value::Date(0, 0, 0, 0, 0, 0, 0);
        assert_eq!(
            dt.convert(zero(), BINARY, 0).unwrap(),
            json!("0000-00-00T00:00:00")
        );
        assert_eq!(
            ts.convert(zero(), BINARY, 0).unwrap(),
            json!("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(d.convert(zero(), BINARY, 0).unwrap(), json!("0000-00-00"));
    }

    #[test]
    fn text_protocol_strings_are_typed_too() {
        let cases = [
            (
                col("u", "bigint", "bigint(20) unsigned"),
                "18446744073709551615",
                json!(18446744073709551615u64),
            ),
            (col("i", "int", "int(11)"), "-7", json!(-7)),
            (col("f", "double", "double"), "-2.25", json!(-2.25)),
            (col("y", "year", "year(4)"), "2024", json!(2024)),
            (
                col("d", "datetime", "datetime(6)"),
                "2024-01-02 03:04:05.123456",
                json!("2024-01-02T03:04:05.123456Z"),
            ),
            (
                col("t", "timestamp", "timestamp(3)"),
                "2024-01-02 03:04:05.678",
                json!("2024-01-02T03:04:05.678Z"),
            ),
            (col("dd", "date", "date"), "2024-02-29", json!("2024-02-29")),
            (
                col("tm", "time", "time(3)"),
                "-838:59:59.000",
                json!("-838:59:59.000"),
            ),
            (
                col("tm1", "time", "time(1)"),
                "12:00:01.5",
                json!("12:00:01.5"),
            ),
        ];
        for (schema, s, want) in cases {
            let conv = ColumnConverter::new(&schema);
            assert_eq!(
                conv.convert(Value::Bytes(s.as_bytes().to_vec()), 224, 0)
                    .unwrap(),
                want,
                "column `{}`",
                schema.name
            );
        }
    }

    #[test]
    fn only_non_utf8_text_is_selected_raw() {
        let latin = ColumnConverter::new(&text_col("a", "varchar", "latin1", 8));
        let utf = ColumnConverter::new(&text_col("b", "varchar", "utf8mb4", 224));
        let bin = ColumnConverter::new(&col("c", "varbinary", "varbinary(4)"));
        assert_eq!(latin.select_expr("`a`"), "CAST(`a` AS BINARY)");
        assert_eq!(utf.select_expr("`b`"), "`b`");
        assert_eq!(bin.select_expr("`c`"), "`c`");
    }
}
