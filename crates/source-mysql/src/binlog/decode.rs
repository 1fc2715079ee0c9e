//! Binlog row values → JSON, exactly.
//!
//! The rules (documented for consumers in `docs/change-events.md`): integers
//! stay exact (unsigned where the column is), DECIMAL is an exact string,
//! DATE is `YYYY-MM-DD`, DATETIME and TIMESTAMP are ISO-8601 in UTC with as
//! many fractional digits as the column declares, TIME is `[-]HH:MM:SS[.f]`,
//! JSON is JSON, ENUM/SET are their labels, text is decoded by its character
//! set, and binary data is base64.

use base64::Engine;
use mysql_async::binlog::events::{OptionalMetadataField, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_async::Value;
use serde_json::Value as Json;

use mysql_common::io::ParseBuf;

use super::rows::{self, ColumnFacts};
use crate::schema::TableSchema;
use crate::temporal::{self, timestamp};
use cdc_core::Row;

/// How one column's raw values turn into JSON.
#[derive(Debug, Clone)]
struct ColumnDecoder {
    name: String,
    ty: ColumnType,
    /// Fractional-second digits of a temporal column.
    fsp: u8,
    /// ENUM/SET labels.
    labels: Vec<String>,
    /// MariaDB JSON stored as text: parse it.
    text_json: bool,
}

/// Decoder for one table map: built once per table map event (i.e. once per
/// transaction and table), then applied to every row of its rows events.
#[derive(Debug, Clone)]
pub struct TableDecoder {
    pub db: String,
    pub table: String,
    columns: Vec<ColumnDecoder>,
    /// Offset of the source time zone, applied to DATETIME values.
    tz_offset_secs: i32,
    /// True when the names came from the table map (row metadata), false when
    /// they came from `information_schema`.
    pub names_from_binlog: bool,
    /// Column whose value is each row's routing key: the table's first
    /// column until the reader sets the configured one (`[source.keys]`).
    pub key_column: String,
    /// Per column: what the row-image parser needs, and the charset and
    /// signedness the conversions need.
    facts: Vec<ColumnFacts>,
}

impl TableDecoder {
    /// `schema` is the `information_schema` view of the table: used for names
    /// when the binlog has none, and for MariaDB's JSON columns.
    pub fn new(
        tme: &TableMapEvent<'_>,
        schema: Option<&TableSchema>,
        tz_offset_secs: i32,
    ) -> Result<Self, String> {
        let facts = rows::column_facts(tme).map_err(|e| format!("table map: {e}"))?;
        let n = tme.columns_count() as usize;
        let mut names: Vec<Option<String>> = vec![None; n];
        let mut enum_labels: Vec<Vec<String>> = Vec::new();
        let mut set_labels: Vec<Vec<String>> = Vec::new();
        for field in tme.iter_optional_meta().flatten() {
            match field {
                OptionalMetadataField::ColumnName(cn) => {
                    for (i, name) in cn.iter_names().flatten().enumerate() {
                        if i < n {
                            names[i] = Some(name.name().into_owned());
                        }
                    }
                }
                OptionalMetadataField::EnumStrValue(ev) => {
                    enum_labels = ev
                        .iter_values()
                        .flatten()
                        .map(|v| v.values().iter().map(|s| s.value().into_owned()).collect())
                        .collect();
                }
                OptionalMetadataField::SetStrValue(sv) => {
                    set_labels = sv
                        .iter_values()
                        .flatten()
                        .map(|v| v.values().iter().map(|s| s.value().into_owned()).collect())
                        .collect();
                }
                _ => {}
            }
        }
        let names_from_binlog = names.iter().all(Option::is_some) && n > 0;
        let (mut enums, mut sets) = (enum_labels.into_iter(), set_labels.into_iter());
        let columns: Vec<ColumnDecoder> = (0..n)
            .map(|i| {
                let ty = tme
                    .get_column_type(i)
                    .ok()
                    .flatten()
                    .unwrap_or(ColumnType::MYSQL_TYPE_NULL);
                let meta = tme.get_column_metadata(i).unwrap_or(&[]);
                let from_schema = schema.and_then(|s| s.columns.get(i));
                let labels = match real_type(ty, meta) {
                    ColumnType::MYSQL_TYPE_ENUM => enums.next(),
                    ColumnType::MYSQL_TYPE_SET => sets.next(),
                    _ => None,
                }
                .filter(|l| !l.is_empty())
                .or_else(|| from_schema.map(|c| c.labels.clone()))
                .unwrap_or_default();
                ColumnDecoder {
                    name: names[i]
                        .clone()
                        .or_else(|| from_schema.map(|c| c.name.clone()))
                        .unwrap_or_else(|| format!("@{i}")),
                    ty,
                    fsp: match ty {
                        ColumnType::MYSQL_TYPE_DATETIME2
                        | ColumnType::MYSQL_TYPE_TIMESTAMP2
                        | ColumnType::MYSQL_TYPE_TIME2 => meta.first().copied().unwrap_or(0).min(6),
                        _ => 0,
                    },
                    labels,
                    text_json: from_schema.is_some_and(|c| c.is_json),
                }
            })
            .collect();
        Ok(Self {
            key_column: columns.first().map(|c| c.name.clone()).unwrap_or_default(),
            db: tme.database_name().into_owned(),
            table: tme.table_name().into_owned(),
            columns,
            tz_offset_secs,
            names_from_binlog,
            facts,
        })
    }

    /// Reads and decodes the row image at the start of `buf` into
    /// `column → value`; `in_image` says which columns the image holds.
    pub fn decode_image(&self, buf: &mut ParseBuf<'_>, in_image: &[bool]) -> Result<Row, String> {
        let mut out = Row::with_capacity(in_image.len());
        rows::read_image(buf, &self.facts, in_image, |i, value| {
            // `read_image` checked `i` against the facts, one per column.
            let (col, facts) = (&self.columns[i], &self.facts[i]);
            let json = match value {
                None => Json::Null,
                Some(v) => self
                    .value(col, v, facts.charset, facts.unsigned)
                    .map_err(|e| format!("column `{}`: {e}", col.name))?,
            };
            out.insert(col.name.clone(), json);
            Ok(())
        })?;
        Ok(out)
    }

    /// The value of `column` in a decoded row as a routing key string.
    pub fn key_of(row: &Row, column: &str) -> Option<String> {
        match row.get(column)? {
            Json::String(s) => Some(s.clone()),
            Json::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn value(
        &self,
        col: &ColumnDecoder,
        value: BinlogValue<'_>,
        charset: u16,
        unsigned: bool,
    ) -> Result<Json, String> {
        let v = match value {
            BinlogValue::Value(v) => v,
            BinlogValue::Jsonb(j) => return Json::try_from(j).map_err(|e| e.to_string()),
            BinlogValue::JsonDiff(_) => {
                return Err(
                    "partial JSON update: set binlog_row_value_options='' on the server".into(),
                )
            }
        };
        use ColumnType::*;
        Ok(match v {
            Value::NULL => Json::Null,
            Value::Int(i) => match col.ty {
                MYSQL_TYPE_ENUM => label(&col.labels, i),
                MYSQL_TYPE_TIMESTAMP => timestamp(i, 0, 0),
                // mysql_common reads signed MEDIUMINT without sign extension.
                MYSQL_TYPE_INT24 if !unsigned && i >= 0x80_0000 => Json::from(i - 0x100_0000),
                // INT24 and TIMESTAMP arrive as Int even when unsigned.
                _ if unsigned && i < 0 => Json::from(i as u64),
                _ => Json::from(i),
            },
            Value::UInt(u) => Json::from(u),
            Value::Float(f) => serde_json::Number::from_f64(f as f64)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Double(f) => serde_json::Number::from_f64(f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Date(y, m, d, h, mi, s, us) => match col.ty {
                MYSQL_TYPE_NEWDATE | MYSQL_TYPE_DATE => temporal::date(y, m, d),
                _ => temporal::datetime(y, m, d, h, mi, s, us, col.fsp, self.tz_offset_secs),
            },
            Value::Time(neg, days, h, m, s, us) => {
                temporal::time(neg, days * 24 + h as u32, m, s, us, col.fsp)
            }
            Value::Bytes(b) => self.bytes(col, b, charset)?,
        })
    }

    fn bytes(&self, col: &ColumnDecoder, b: Vec<u8>, charset: u16) -> Result<Json, String> {
        use ColumnType::*;
        Ok(match real_type(col.ty, &[]) {
            MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
                Json::String(String::from_utf8(b).map_err(|e| e.to_string())?)
            }
            MYSQL_TYPE_TIMESTAMP2 => {
                let s = String::from_utf8(b).map_err(|e| e.to_string())?;
                let (sec, us) = match s.split_once('.') {
                    Some((a, b)) => (
                        a.parse().map_err(|_| s.clone())?,
                        b.parse().map_err(|_| s.clone())?,
                    ),
                    None => (s.parse().map_err(|_| s.clone())?, 0),
                };
                timestamp(sec, us, col.fsp)
            }
            MYSQL_TYPE_YEAR => {
                let s = String::from_utf8(b).map_err(|e| e.to_string())?;
                s.parse::<u16>().map(Json::from).unwrap_or(Json::String(s))
            }
            MYSQL_TYPE_BIT => Json::from(b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64)),
            MYSQL_TYPE_SET => {
                let mask = b.iter().rev().fold(0u64, |acc, x| (acc << 8) | *x as u64);
                let labels: Vec<&str> = col
                    .labels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1u64 << i) != 0)
                    .map(|(_, l)| l.as_str())
                    .collect();
                Json::String(labels.join(","))
            }
            MYSQL_TYPE_GEOMETRY => {
                Json::String(base64::engine::general_purpose::STANDARD.encode(&b))
            }
            _ => text(b, charset, col.text_json),
        })
    }
}

/// MySQL logs some types under a different id in the table map (STRING
/// carries ENUM and SET in its metadata).
fn real_type(ty: ColumnType, meta: &[u8]) -> ColumnType {
    if ty == ColumnType::MYSQL_TYPE_STRING && meta.len() >= 2 {
        if let Ok(real) = ColumnType::try_from(meta[0]) {
            if matches!(
                real,
                ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET
            ) {
                return real;
            }
        }
    }
    ty
}

fn label(labels: &[String], index: i64) -> Json {
    // ENUM index 0 is the "invalid value" empty string; labels are 1-based.
    match index {
        0 => Json::String(String::new()),
        i => labels
            .get((i - 1) as usize)
            .map(|l| Json::String(l.clone()))
            .unwrap_or(Json::from(i)),
    }
}

/// Character sets whose bytes are Latin-1 (MySQL's latin1 is cp1252; the
/// eight cp1252-only characters are rare enough that mapping bytes to the
/// same code points is the pragmatic choice).
const LATIN1_CHARSETS: &[u16] = &[5, 8, 15, 31, 47, 48, 49, 94];
const BINARY_CHARSET: u16 = 63;

/// Text bytes in character set `charset` (a collation id) → JSON. Shared
/// with the snapshot, which must decode text by the same rules.
pub(crate) fn text(b: Vec<u8>, charset: u16, json: bool) -> Json {
    if charset == BINARY_CHARSET {
        return Json::String(base64::engine::general_purpose::STANDARD.encode(&b));
    }
    let s = if LATIN1_CHARSETS.contains(&charset) {
        b.iter().map(|&c| c as char).collect()
    } else {
        match String::from_utf8(b) {
            Ok(s) => s,
            // Unknown charset and not UTF-8: never lose the bytes.
            Err(e) => {
                return Json::String(
                    base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                )
            }
        }
    };
    if json {
        if let Ok(v) = serde_json::from_str(&s) {
            return v;
        }
    }
    Json::String(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc() {
        assert_eq!(
            timestamp(0, 0, 0),
            Json::String("1970-01-01T00:00:00Z".into())
        );
        assert_eq!(
            timestamp(1430438400, 5000, 3),
            Json::String("2015-05-01T00:00:00.005Z".into())
        );
    }

    #[test]
    fn text_by_charset() {
        assert_eq!(text(vec![0xE9], 8, false), Json::String("é".into()));
        assert_eq!(
            text("😀".as_bytes().to_vec(), 45, false),
            Json::String("😀".into())
        );
        assert_eq!(text(vec![0, 255], 63, false), Json::String("AP8=".into()));
        assert_eq!(
            text(b"{\"a\":1}".to_vec(), 45, true),
            serde_json::json!({"a": 1})
        );
    }

    #[test]
    fn enum_labels_are_one_based() {
        let labels = vec!["a".to_string(), "b".to_string()];
        assert_eq!(label(&labels, 2), Json::String("b".into()));
        assert_eq!(label(&labels, 0), Json::String(String::new()));
    }
}
