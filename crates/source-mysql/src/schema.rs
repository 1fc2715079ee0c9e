//! Table schemas from `information_schema`.
//!
//! Used for what the binlog does not say: column names when the server does
//! not log row metadata (`binlog_row_metadata` other than FULL), and which
//! MariaDB LONGTEXT columns are really JSON (MariaDB logs JSON as text; only
//! the `json_valid()` check constraint tells). Entries are dropped when a DDL
//! statement for the table passes by in the binlog, so the next rows event
//! reloads them.

use std::collections::HashMap;

use mysql_async::prelude::*;
use mysql_async::{Conn, Pool};

use crate::error::SourceError;

/// What the reader needs to know about one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSchema {
    pub name: String,
    /// `information_schema.COLUMNS.DATA_TYPE`, lower case (`int`, `json`, …).
    pub data_type: String,
    pub unsigned: bool,
    /// The column holds JSON (MySQL's JSON type, or MariaDB's LONGTEXT with a
    /// `json_valid` check).
    pub is_json: bool,
    /// Labels of an ENUM or SET column, in definition order.
    pub labels: Vec<String>,
    /// `COLUMN_TYPE`, lower case (`decimal(12,2)`, `varchar(255)`, …).
    pub column_type: String,
    /// Fractional-second digits of a DATETIME, TIMESTAMP or TIME column.
    pub fsp: u8,
    /// Character set of a text column (`utf8mb4`, `latin1`, …).
    pub charset: Option<String>,
    /// Collation id of a text column: the number the binlog carries as the
    /// column's character set, so text is decoded by the same rules.
    pub collation_id: Option<u16>,
}

#[derive(Debug, Clone, Default)]
pub struct TableSchema {
    pub columns: Vec<ColumnSchema>,
}

/// Cache of table schemas keyed by `(db, table)`.
pub struct SchemaCache {
    pool: Pool,
    tables: HashMap<(String, String), TableSchema>,
}

impl SchemaCache {
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            tables: HashMap::new(),
        }
    }

    /// The table's current schema, loaded on first use.
    pub async fn get(&mut self, db: &str, table: &str) -> Result<&TableSchema, SourceError> {
        let key = (db.to_string(), table.to_string());
        if !self.tables.contains_key(&key) {
            let schema = load(&self.pool, db, table).await?;
            self.tables.insert(key.clone(), schema);
        }
        Ok(&self.tables[&key])
    }

    /// Forget a table after a DDL statement touched it.
    pub fn invalidate(&mut self, db: &str, table: &str) {
        self.tables.remove(&(db.to_string(), table.to_string()));
    }

    pub async fn close(self) {
        let _ = self.pool.disconnect().await;
    }
}

async fn load(pool: &Pool, db: &str, table: &str) -> Result<TableSchema, SourceError> {
    let mut conn = pool.get_conn().await?;
    load_table(&mut conn, db, table).await
}

/// Reads the schema of `db.table` on `conn` (the snapshot reads it on its
/// own connection, inside its transaction).
pub async fn load_table(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<TableSchema, SourceError> {
    type ColumnRow = (
        String,
        String,
        String,
        Option<u64>,
        Option<String>,
        Option<u64>,
    );
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT c.COLUMN_NAME, LOWER(c.DATA_TYPE), LOWER(c.COLUMN_TYPE), c.DATETIME_PRECISION, \
                    LOWER(c.CHARACTER_SET_NAME), co.ID \
             FROM information_schema.COLUMNS c \
             LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = c.COLLATION_NAME \
             WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION",
            (db, table),
        )
        .await?;
    // MariaDB: JSON is an alias of LONGTEXT plus CHECK (json_valid(`col`)).
    let checks: Vec<String> = conn
        .exec(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await
        .unwrap_or_default();
    let columns = rows
        .into_iter()
        .map(
            |(name, data_type, column_type, fsp, charset, collation_id)| {
                let is_json = data_type == "json"
                    || checks.iter().any(|c| {
                        c.replace(' ', "").to_ascii_lowercase()
                            == format!("json_valid(`{}`)", name.to_ascii_lowercase())
                    });
                ColumnSchema {
                    labels: parse_labels(&column_type),
                    unsigned: column_type.contains("unsigned"),
                    is_json,
                    fsp: fsp.unwrap_or(0).min(6) as u8,
                    charset,
                    collation_id: collation_id.and_then(|id| u16::try_from(id).ok()),
                    column_type,
                    data_type,
                    name,
                }
            },
        )
        .collect();
    Ok(TableSchema { columns })
}

/// `enum('a','b''c')` → `["a", "b'c"]`; anything else → empty.
fn parse_labels(column_type: &str) -> Vec<String> {
    let inner = match column_type
        .strip_prefix("enum(")
        .or_else(|| column_type.strip_prefix("set("))
        .and_then(|s| s.strip_suffix(')'))
    {
        Some(i) => i,
        None => return Vec::new(),
    };
    let mut labels = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', false) => quoted = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                cur.push('\'');
                chars.next();
            }
            ('\'', true) => {
                quoted = false;
                labels.push(std::mem::take(&mut cur));
            }
            (c, true) => cur.push(c),
            _ => {}
        }
    }
    labels
}

/// The tables a DDL statement touches, as far as a cheap scan can tell:
/// `ALTER TABLE`, `CREATE TABLE`, `DROP TABLE`, `RENAME TABLE`, `TRUNCATE`.
/// Over-reporting only costs a schema reload, so the scan is deliberately
/// loose.
pub fn ddl_tables(default_db: &str, query: &str) -> Vec<(String, String)> {
    let q = query.trim_start();
    let upper: String = q.chars().take(40).collect::<String>().to_ascii_uppercase();
    let is_ddl = ["ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE"]
        .iter()
        .any(|k| upper.starts_with(k));
    if !is_ddl {
        return Vec::new();
    }
    let mut out = Vec::new();
    let tokens: Vec<&str> = q
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .collect();
    for t in tokens {
        let t = t.replace('`', "");
        if let Some((d, n)) = t.split_once('.') {
            out.push((d.to_string(), n.to_string()));
        } else if !t.is_empty() {
            out.push((default_db.to_string(), t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_labels_parse() {
        assert_eq!(parse_labels("enum('a','b''c','')"), vec!["a", "b'c", ""]);
        assert_eq!(parse_labels("set('x','y')"), vec!["x", "y"]);
        assert!(parse_labels("int(11)").is_empty());
    }

    #[test]
    fn ddl_tables_found() {
        let t = ddl_tables("app", "ALTER TABLE users ADD COLUMN x INT");
        assert!(t.contains(&("app".into(), "users".into())));
        let t = ddl_tables("x", "alter table `app`.`users` add y int");
        assert!(t.contains(&("app".into(), "users".into())));
        assert!(ddl_tables("app", "INSERT INTO users VALUES (1)").is_empty());
    }
}
