//! Row operations and the SQL they become. Pure: tested without a server.

use serde_json::Value as Json;

/// What to do with one target row.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Insert or update these columns (the key column included).
    Upsert(Vec<(String, Json)>),
    Delete,
}

/// One target row change, already mapped and coalesced.
#[derive(Debug, Clone, PartialEq)]
pub struct RowWrite {
    /// Target table, `db.table` or `table`.
    pub table: String,
    pub key_column: String,
    pub key: Json,
    pub op: WriteOp,
}

/// Quotes an identifier (`db.table` → `` `db`.`table` ``).
pub fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|p| format!("`{}`", p.replace('`', "``")))
        .collect::<Vec<_>>()
        .join(".")
}

/// A statement with its positional parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Json>,
}

/// Groups writes into as few statements as possible: upserts with the same
/// table and column list share one multi-row `INSERT … ON DUPLICATE KEY
/// UPDATE`, deletes of one table share one `DELETE … WHERE key IN (…)`.
/// Each key appears at most once per batch (the coalescer guarantees it), so
/// the order between statements does not matter.
pub fn statements(writes: &[RowWrite], max_rows: usize) -> Vec<Statement> {
    let max_rows = max_rows.max(1);
    let mut out = Vec::new();
    let mut upserts: Vec<(String, Vec<String>, Vec<&RowWrite>)> = Vec::new();
    let mut deletes: Vec<(String, String, Vec<&RowWrite>)> = Vec::new();
    for w in writes {
        match &w.op {
            WriteOp::Upsert(cols) => {
                let names: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
                match upserts
                    .iter_mut()
                    .find(|(t, n, _)| t == &w.table && n == &names)
                {
                    Some((_, _, rows)) => rows.push(w),
                    None => upserts.push((w.table.clone(), names, vec![w])),
                }
            }
            WriteOp::Delete => match deletes
                .iter_mut()
                .find(|(t, k, _)| t == &w.table && k == &w.key_column)
            {
                Some((_, _, rows)) => rows.push(w),
                None => deletes.push((w.table.clone(), w.key_column.clone(), vec![w])),
            },
        }
    }
    for (table, names, rows) in upserts {
        for chunk in rows.chunks(max_rows) {
            let cols = names
                .iter()
                .map(|n| quote_ident(n))
                .collect::<Vec<_>>()
                .join(", ");
            let one = format!("({})", vec!["?"; names.len()].join(", "));
            let values = vec![one; chunk.len()].join(", ");
            let updates = names
                .iter()
                .filter(|n| **n != chunk[0].key_column)
                .map(|n| format!("{0} = VALUES({0})", quote_ident(n)))
                .collect::<Vec<_>>();
            let on_dup = if updates.is_empty() {
                // Only the key: make the duplicate a no-op.
                let k = quote_ident(&chunk[0].key_column);
                format!("{k} = {k}")
            } else {
                updates.join(", ")
            };
            let sql = format!(
                "INSERT INTO {} ({cols}) VALUES {values} ON DUPLICATE KEY UPDATE {on_dup}",
                quote_ident(&table)
            );
            let params = chunk
                .iter()
                .flat_map(|w| match &w.op {
                    WriteOp::Upsert(c) => c.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    WriteOp::Delete => Vec::new(),
                })
                .collect();
            out.push(Statement { sql, params });
        }
    }
    for (table, key, rows) in deletes {
        for chunk in rows.chunks(max_rows) {
            let sql = format!(
                "DELETE FROM {} WHERE {} IN ({})",
                quote_ident(&table),
                quote_ident(&key),
                vec!["?"; chunk.len()].join(", ")
            );
            out.push(Statement {
                sql,
                params: chunk.iter().map(|w| w.key.clone()).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn up(table: &str, id: u64, email: &str) -> RowWrite {
        RowWrite {
            table: table.into(),
            key_column: "user_id".into(),
            key: json!(id),
            op: WriteOp::Upsert(vec![
                ("user_id".into(), json!(id)),
                ("email".into(), json!(email)),
            ]),
        }
    }

    #[test]
    fn upserts_of_one_shape_share_a_statement() {
        let w = vec![up("crm.users", 1, "a@x"), up("crm.users", 2, "b@x")];
        let s = statements(&w, 500);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].sql,
            "INSERT INTO `crm`.`users` (`user_id`, `email`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `email` = VALUES(`email`)"
        );
        assert_eq!(
            s[0].params,
            vec![json!(1), json!("a@x"), json!(2), json!("b@x")]
        );
    }

    #[test]
    fn deletes_and_chunks() {
        let mut w: Vec<RowWrite> = (0..5).map(|i| up("crm.users", i, "x@x")).collect();
        w.push(RowWrite {
            table: "crm.users".into(),
            key_column: "user_id".into(),
            key: json!(9),
            op: WriteOp::Delete,
        });
        let s = statements(&w, 2);
        assert_eq!(s.len(), 4);
        assert_eq!(s[3].sql, "DELETE FROM `crm`.`users` WHERE `user_id` IN (?)");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a`b.c"), "`a``b`.`c`");
    }
}
