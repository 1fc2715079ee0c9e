//! The test stack that `deploy/local/test.sh` starts, as the tests see it.
//!
//! Every test shares one MariaDB, one broker and one simulator, and tests run in parallel, so
//! nothing here hands out a shared name: databases, topics and groups get unique names.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;

/// Where the parts of the test stack listen, from the `CDC_TEST_*` environment variables.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Admin URL without a database: `mysql://cdc_admin:cdc_admin@127.0.0.1:3317`.
    pub mysql_url: String,
    pub mysql_port: u16,
    /// Kafka bootstrap servers: `127.0.0.1:9192`.
    pub brokers: String,
    /// HubSpot simulator base URL: `http://127.0.0.1:8189`.
    pub sim_url: String,
    /// Bearer token the simulator accepts.
    pub sim_token: String,
    /// The stack's directory (logs, data); private servers live under `private/`.
    pub dir: PathBuf,
}

/// The SQL schema files in `deploy/local/sql/` that a scratch database can be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The source tables `users` and `user_cim_details` (`app-schema.sql`).
    App,
    /// The MySQL sink's target tables, same names (`crm-schema.sql`).
    Crm,
}

impl Schema {
    fn file(self) -> &'static str {
        match self {
            Schema::App => "app-schema.sql",
            Schema::Crm => "crm-schema.sql",
        }
    }
}

impl Stack {
    /// The stack, read once per test binary.
    ///
    /// Panics when the variables are missing, that is when the tests were started with plain
    /// `cargo test` instead of `bash deploy/local/test.sh`.
    pub fn get() -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        STACK.get_or_init(Stack::from_env)
    }

    fn from_env() -> Stack {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: these tests need the local test stack. \
                     Run them with `bash deploy/local/test.sh` (arguments are passed to \
                     cargo test), or start a stack and export the CDC_TEST_* variables \
                     as that script does."
                )
            })
        };
        let mysql_port = var("CDC_TEST_MYSQL_PORT")
            .parse()
            .expect("CDC_TEST_MYSQL_PORT is not a port number");
        Stack {
            mysql_url: var("CDC_TEST_MYSQL_URL").trim_end_matches('/').to_owned(),
            mysql_port,
            brokers: var("CDC_TEST_BROKERS"),
            sim_url: var("CDC_TEST_SIM_URL").trim_end_matches('/').to_owned(),
            sim_token: var("CDC_TEST_SIM_TOKEN"),
            dir: PathBuf::from(var("CDC_TEST_STACK_DIR")),
        }
    }

    /// A URL for `user`/`password` on the stack's MariaDB, optionally with a database.
    /// `stack.mysql_url_as("cdc", "cdc", None)` is how the streamer logs in.
    pub fn mysql_url_as(&self, user: &str, password: &str, db: Option<&str>) -> String {
        let db = db.map(|db| format!("/{db}")).unwrap_or_default();
        format!(
            "mysql://{user}:{password}@127.0.0.1:{}{db}",
            self.mysql_port
        )
    }

    /// The admin URL with `db` selected.
    pub fn mysql_url_db(&self, db: &str) -> String {
        format!("{}/{db}", self.mysql_url)
    }

    /// A new pool for the admin user (`cdc_admin`, all privileges). A pool per call because
    /// each `#[tokio::test]` has its own runtime and a pool must not outlive it.
    pub async fn mysql(&self) -> mysql_async::Pool {
        mysql_async::Pool::new(self.mysql_url.as_str())
    }

    /// Creates a database `t_<prefix>_<unique>` holding the `app` schema and returns its name.
    pub async fn scratch_db(&self, prefix: &str) -> String {
        self.scratch_db_with(prefix, &[Schema::App]).await
    }

    /// Creates a database `t_<prefix>_<unique>` holding the given schemas, in order.
    pub async fn scratch_db_with(&self, prefix: &str, schemas: &[Schema]) -> String {
        let name = format!("t_{}", unique(prefix));
        let mut conn = mysql_async::Conn::from_url(self.mysql_url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connecting to {} failed: {e}", self.mysql_url));
        conn.query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        conn.query_drop(format!("USE `{name}`")).await.unwrap();
        for schema in schemas {
            for statement in sql_statements(&read_sql(schema.file())) {
                conn.query_drop(&statement)
                    .await
                    .unwrap_or_else(|e| panic!("{} in {name}: {e}\n{statement}", schema.file()));
            }
        }
        conn.disconnect().await.ok();
        name
    }
}

/// The repository root (the `tests/` package's parent).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
}

/// A file of `deploy/local/sql/`.
pub fn read_sql(file: &str) -> String {
    let path = repo_root().join("deploy/local/sql").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Splits one of our schema files into statements: `--` comment lines dropped, split on `;`.
/// Good for our own files only (they promise no `;` inside strings or comments).
pub fn sql_statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .map(|line| format!("{line}\n"))
        .collect();
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A name no other test (in this or another test binary) uses: `<prefix>_<hex time>_<n>`,
/// lowercase letters, digits and `_` only, at most 60 characters, so that it is valid as a
/// database, topic, group or user name.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64;
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    clean.truncate(32);
    format!("{clean}_{nanos:x}_{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_are_identifier_safe() {
        let a = unique("Reader test-1");
        let b = unique("Reader test-1");
        assert_ne!(a, b);
        assert!(a.starts_with("reader_test_1_"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(format!("t_{}", unique(&"x".repeat(100))).len() <= 64);
    }

    #[test]
    fn schema_files_split_into_create_statements() {
        for file in ["app-schema.sql", "crm-schema.sql"] {
            let statements = sql_statements(&read_sql(file));
            assert_eq!(statements.len(), 2, "{file}");
            assert!(statements
                .iter()
                .all(|s| s.starts_with("CREATE TABLE IF NOT EXISTS")));
        }
    }
}
