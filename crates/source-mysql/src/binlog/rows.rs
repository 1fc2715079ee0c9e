//! The row images of a rows event, framed here, values decoded by
//! `mysql_common`.
//!
//! `mysql_common`'s own row iterator builds a full `Column` (schema, table
//! and column names, flags, character set) for every column of every row,
//! and re-reads the table map's optional metadata to do it: 40% of the
//! decode time in the profile (docs/benchmarks.md). What a row needs from
//! the table map does not change between rows, so [`ColumnFacts`] are worked
//! out once per table map (by the same rules), and this module only walks
//! the image framing: a null bitmap over the image's columns, then each
//! non-NULL value, parsed by `mysql_common`'s `BinlogValue`.

use std::io;

use mysql_async::binlog::events::{OptionalMetaExtractor, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_common::io::ParseBuf;

/// What decoding a column's values needs, from the table map.
#[derive(Debug, Clone)]
pub struct ColumnFacts {
    pub ty: ColumnType,
    /// The table map's metadata bytes of the column (lengths, precision).
    pub meta: Vec<u8>,
    pub unsigned: bool,
    /// Collation id of a text, ENUM or SET column; 0 when the binlog does not
    /// say (no row metadata).
    pub charset: u16,
}

/// Every column's facts, in table order: signedness and character sets as
/// `mysql_common` assigns them (numeric columns take the signedness list in
/// order, text columns the charset list, ENUM/SET columns theirs).
pub fn column_facts(tme: &TableMapEvent<'_>) -> io::Result<Vec<ColumnFacts>> {
    let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta())?;
    let mut signedness = extractor.iter_signedness();
    let mut charsets = extractor.iter_charset();
    let mut enum_set_charsets = extractor.iter_enum_and_set_charset();
    (0..tme.columns_count() as usize)
        .map(|i| {
            let ty = match tme.get_column_type(i) {
                Ok(Some(ty)) => ty,
                Ok(None) => return Err(invalid(format!("no type for column {i}"))),
                Err(e) => return Err(invalid(e.to_string())),
            };
            let unsigned = ty.is_numeric_type() && signedness.next().unwrap_or(false);
            let charset = if ty.is_character_type() {
                charsets.next().transpose()?.unwrap_or_default()
            } else if ty.is_enum_or_set_type() {
                enum_set_charsets.next().transpose()?.unwrap_or_default()
            } else {
                0
            };
            Ok(ColumnFacts {
                ty,
                meta: tme.get_column_metadata(i).unwrap_or(&[]).to_vec(),
                unsigned,
                charset,
            })
        })
        .collect()
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

/// Reads one row image at the start of `buf` (and moves `buf` past it):
/// calls `value` with each column of the image (table index, `None` for
/// NULL), in order. Every index passed is below `facts.len()`.
pub fn read_image(
    outer: &mut ParseBuf<'_>,
    facts: &[ColumnFacts],
    in_image: &[bool],
    mut value: impl FnMut(usize, Option<BinlogValue<'_>>) -> Result<(), String>,
) -> Result<(), String> {
    // `BinlogValue` ties the metadata's lifetime to the buffer's: parse from
    // a copy of the cursor that lives no longer than `facts`.
    let data = outer.0;
    let mut local = ParseBuf(data);
    let buf = &mut local;
    if in_image.len() > facts.len() {
        return Err(format!(
            "rows event has {} columns, its table map {}",
            in_image.len(),
            facts.len()
        ));
    }
    let present = in_image.iter().filter(|p| **p).count();
    let bitmap: &[u8] = buf
        .parse(present.div_ceil(8))
        .map_err(|e| format!("row image null bitmap: {e}"))?;
    let columns = in_image.iter().enumerate().filter(|(_, p)| **p);
    for (image_idx, (i, _)) in columns.enumerate() {
        let null = bitmap[image_idx / 8] & (1 << (image_idx % 8)) != 0;
        if null {
            value(i, None)?;
            continue;
        }
        let f = &facts[i];
        let v: BinlogValue<'_> = buf
            .parse((f.ty, f.meta.as_slice(), f.unsigned, false))
            .map_err(|e| format!("column {i} ({:?}): {e}", f.ty))?;
        value(i, Some(v))?;
    }
    let consumed = data.len() - local.0.len();
    outer.0 = &data[consumed..];
    Ok(())
}

/// Skips the shared image that opens the after image of a MySQL
/// `PARTIAL_UPDATE_ROWS_EVENT`; refuses partial JSON updates, which carry
/// diffs instead of values.
pub fn skip_shared_image(buf: &mut ParseBuf<'_>) -> Result<(), String> {
    let options = read_lenenc(buf)?;
    // PARTIAL_JSON_UPDATES
    if options & 1 != 0 {
        return Err("partial JSON update: set binlog_row_value_options='' on the server".into());
    }
    Ok(())
}

fn read_lenenc(buf: &mut ParseBuf<'_>) -> Result<u64, String> {
    let short = |e: io::Error| format!("length-encoded integer: {e}");
    let first: &[u8] = buf.parse(1).map_err(short)?;
    let width = match first[0] {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        b => return Ok(b as u64),
    };
    let bytes: &[u8] = buf.parse(width).map_err(short)?;
    Ok(bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}
