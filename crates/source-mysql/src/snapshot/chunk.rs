//! Reading a table in key order, one bounded chunk per query.
//!
//! Keyset pagination: each chunk starts after the key of the previous one's
//! last row (`WHERE key > last ORDER BY key LIMIT n`), so every query is an
//! index range read of `n` rows, however deep into the table; `OFFSET` would
//! re-read everything before it on every chunk.
//!
//! The row comparison `(a, b) > (?, ?)` is written out as
//! `a >= ? AND (a > ? OR (a = ? AND b > ?))`: MariaDB (10.11 at least) does
//! not turn a row-constructor comparison into an index range and would scan
//! the index from the start for every chunk; the expanded form is a range on
//! the key's first column that it does use.

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use crate::error::SourceError;
use crate::schema::TableSchema;
use crate::snapshot::convert::ColumnConverter;

/// The index rows are read in: the primary key, else a unique index whose
/// columns are all NOT NULL (so that it orders every row exactly once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadKey {
    pub index: String,
    pub columns: Vec<String>,
}

/// One row of `information_schema.STATISTICS`.
#[derive(Debug, Clone)]
pub struct IndexColumn {
    pub index: String,
    pub column: String,
    pub unique: bool,
    pub nullable: bool,
    /// A prefix index (`SUB_PART`) cannot order by the full value.
    pub prefix: bool,
}

/// Picks the read key from the table's index columns (in `SEQ_IN_INDEX`
/// order per index).
pub fn choose_key(columns: &[IndexColumn]) -> Option<ReadKey> {
    let mut names: Vec<&str> = columns.iter().map(|c| c.index.as_str()).collect();
    names.dedup();
    // PRIMARY first, then unique indexes by name, for a stable choice.
    names.sort_by_key(|n| (*n != "PRIMARY", n.to_string()));
    names.dedup();
    names.into_iter().find_map(|name| {
        let cols: Vec<&IndexColumn> = columns.iter().filter(|c| c.index == name).collect();
        let usable = cols.iter().all(|c| c.unique && !c.nullable && !c.prefix);
        usable.then(|| ReadKey {
            index: name.to_string(),
            columns: cols.iter().map(|c| c.column.clone()).collect(),
        })
    })
}

/// Loads the index columns of `db.table` and picks the read key.
pub async fn read_key(conn: &mut Conn, db: &str, table: &str) -> Result<ReadKey, SourceError> {
    let rows: Vec<(String, String, i64, String, Option<u64>)> = conn
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE, NULLABLE, SUB_PART \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (db, table),
        )
        .await?;
    let columns: Vec<IndexColumn> = rows
        .into_iter()
        .map(
            |(index, column, non_unique, nullable, sub_part)| IndexColumn {
                index,
                column,
                unique: non_unique == 0,
                nullable: nullable.eq_ignore_ascii_case("YES"),
                prefix: sub_part.is_some(),
            },
        )
        .collect();
    choose_key(&columns).ok_or_else(|| SourceError::Precondition {
        problem: format!(
            "table {db}.{table} has no primary key (nor a unique index on NOT NULL columns), so a snapshot cannot read it in key order"
        ),
        fix: format!(
            "add a primary key to {db}.{table}, or leave it out of the snapshot with `--tables`"
        ),
    })
}

/// The two statements that read a table: the first chunk, and every chunk
/// after a given key.
#[derive(Debug, Clone)]
pub struct ChunkQuery {
    /// `db.table`.
    pub table: String,
    pub columns: Vec<ColumnConverter>,
    pub key: ReadKey,
    first: String,
    next: String,
    /// For each `?` of `next`, which key column's value it takes.
    next_params: Vec<usize>,
}

/// `name` as a quoted identifier.
pub(crate) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl ChunkQuery {
    pub fn new(
        db: &str,
        table: &str,
        schema: &TableSchema,
        key: ReadKey,
        chunk_size: usize,
    ) -> Result<Self, SourceError> {
        let columns: Vec<ColumnConverter> =
            schema.columns.iter().map(ColumnConverter::new).collect();
        let col = |c: &str| format!("`s`.{}", quote(c));
        // The table's columns, then its key columns again, unconverted: their
        // values are the next chunk's parameters, and must compare exactly as
        // the server sent them.
        let mut select: Vec<String> = columns
            .iter()
            .map(|c| c.select_expr(&col(&c.name)))
            .collect();
        let mut placeholders = Vec::new();
        for k in &key.columns {
            let schema_col = schema
                .columns
                .iter()
                .find(|c| &c.name == k)
                .ok_or_else(|| {
                    SourceError::Config(format!("key column `{k}` of {db}.{table} not found"))
                })?;
            select.push(col(k));
            // A DECIMAL compared with a string parameter would be compared as
            // a double; cast the parameter to the column's exact type.
            placeholders.push(if schema_col.data_type == "decimal" {
                let ty = schema_col
                    .column_type
                    .split_whitespace()
                    .next()
                    .unwrap_or("decimal(65,30)");
                format!("CAST(? AS {ty})")
            } else {
                "?".to_string()
            });
        }
        let from = format!(
            "SELECT {} FROM {}.{} AS `s` FORCE INDEX ({})",
            select.join(", "),
            quote(db),
            quote(table),
            quote(&key.index)
        );
        let order = key
            .columns
            .iter()
            .map(|k| col(k))
            .collect::<Vec<_>>()
            .join(", ");
        let tail = format!("ORDER BY {order} LIMIT {}", chunk_size.max(1));
        let (filter, next_params) = after_key(
            &key.columns.iter().map(|k| col(k)).collect::<Vec<_>>(),
            &placeholders,
        );
        Ok(Self {
            table: format!("{db}.{table}"),
            first: format!("{from} {tail}"),
            next: format!("{from} WHERE {filter} {tail}"),
            next_params,
            columns,
            key,
        })
    }

    /// The statement and parameters for the chunk after `last` (the first
    /// chunk when `None`).
    pub fn statement(&self, last: Option<&[Value]>) -> (&str, Vec<Value>) {
        match last {
            None => (&self.first, Vec::new()),
            Some(key) => (
                &self.next,
                self.next_params.iter().map(|&i| key[i].clone()).collect(),
            ),
        }
    }

    /// Number of table columns (the key copies follow them in each row).
    pub fn width(&self) -> usize {
        self.columns.len()
    }
}

/// `(k1, …, kn) > (v1, …, vn)` written so that the first key column bounds
/// an index range. Returns the condition and, per `?`, the key index.
fn after_key(cols: &[String], placeholders: &[String]) -> (String, Vec<usize>) {
    if cols.len() == 1 {
        return (format!("{} > {}", cols[0], placeholders[0]), vec![0]);
    }
    let mut params = vec![0];
    let mut alternatives = Vec::new();
    for i in 0..cols.len() {
        let mut terms = Vec::new();
        for j in 0..i {
            terms.push(format!("{} = {}", cols[j], placeholders[j]));
            params.push(j);
        }
        terms.push(format!("{} > {}", cols[i], placeholders[i]));
        params.push(i);
        alternatives.push(if terms.len() == 1 {
            terms.remove(0)
        } else {
            format!("({})", terms.join(" AND "))
        });
    }
    (
        format!(
            "{} >= {} AND ({})",
            cols[0],
            placeholders[0],
            alternatives.join(" OR ")
        ),
        params,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnSchema;

    fn ic(index: &str, column: &str, unique: bool, nullable: bool) -> IndexColumn {
        IndexColumn {
            index: index.into(),
            column: column.into(),
            unique,
            nullable,
            prefix: false,
        }
    }

    #[test]
    fn the_primary_key_wins_then_a_unique_not_null_index() {
        let cols = [
            ic("email", "email", true, false),
            ic("PRIMARY", "a", true, false),
            ic("PRIMARY", "b", true, false),
        ];
        assert_eq!(
            choose_key(&cols),
            Some(ReadKey {
                index: "PRIMARY".into(),
                columns: vec!["a".into(), "b".into()]
            })
        );
        let no_pk = [
            ic("by_status", "status", false, false),
            ic("nullable_uk", "x", true, true),
            ic("uk", "email", true, false),
        ];
        assert_eq!(choose_key(&no_pk).unwrap().index, "uk");
        assert_eq!(choose_key(&no_pk[..2]), None);
    }

    #[test]
    fn composite_keys_expand_to_an_index_range() {
        let cols = ["`a`".to_string(), "`b`".into(), "`c`".into()];
        let ph = ["?".to_string(), "?".into(), "?".into()];
        let (sql, params) = after_key(&cols, &ph);
        assert_eq!(
            sql,
            "`a` >= ? AND (`a` > ? OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?))"
        );
        assert_eq!(params, vec![0, 0, 0, 1, 0, 1, 2]);
        let (sql, params) = after_key(&cols[..1], &ph[..1]);
        assert_eq!((sql.as_str(), params), ("`a` > ?", vec![0]));
    }

    fn column(
        name: &str,
        data_type: &str,
        column_type: &str,
        charset: Option<&str>,
    ) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            data_type: data_type.into(),
            unsigned: false,
            is_json: false,
            labels: vec![],
            column_type: column_type.into(),
            fsp: 0,
            charset: charset.map(Into::into),
            collation_id: charset.map(|_| 8),
        }
    }

    #[test]
    fn statements_select_every_column_then_the_key_and_never_use_offset() {
        let schema = TableSchema {
            columns: vec![
                column("amount", "decimal", "decimal(12,2)", None),
                column("name", "varchar", "varchar(20)", Some("latin1")),
                column("v", "int", "int(11)", None),
            ],
        };
        let key = ReadKey {
            index: "PRIMARY".into(),
            columns: vec!["amount".into(), "name".into()],
        };
        let q = ChunkQuery::new("app", "t`x", &schema, key, 500).unwrap();
        let (first, none) = q.statement(None);
        assert_eq!(
            first,
            "SELECT `s`.`amount`, CAST(`s`.`name` AS BINARY), `s`.`v`, `s`.`amount`, `s`.`name` \
             FROM `app`.`t``x` AS `s` FORCE INDEX (`PRIMARY`) ORDER BY `s`.`amount`, `s`.`name` LIMIT 500"
        );
        assert!(none.is_empty());
        let last = [Value::Bytes(b"1.50".to_vec()), Value::Bytes(b"zz".to_vec())];
        let (next, params) = q.statement(Some(&last));
        assert!(next.contains(
            "WHERE `s`.`amount` >= CAST(? AS decimal(12,2)) AND (`s`.`amount` > CAST(? AS decimal(12,2)) OR (`s`.`amount` = CAST(? AS decimal(12,2)) AND `s`.`name` > ?))"
        ), "{next}");
        assert_eq!(params.len(), 4);
        assert_eq!(params[3], Value::Bytes(b"zz".to_vec()));
        assert!(!next.to_ascii_uppercase().contains("OFFSET"));
        assert_eq!(q.width(), 3);
    }
}
