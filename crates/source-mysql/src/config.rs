//! The `[source]` section: which server to read, as which replica, which
//! tables, and how each table's rows are keyed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where and how to read the binary log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Logical name of this source: stamped on every event (`source.name`)
    /// and the key of its checkpoint. Changing it starts from scratch.
    #[serde(default = "default_name")]
    pub name: String,
    /// MySQL URL, e.g. `mysql://cdc@127.0.0.1:3307`. A `${VAR}` (or `${VAR:-default}`) in it
    /// is replaced by the environment variable `VAR` (for the password).
    pub url: String,
    /// Replica `server_id` this reader registers with. Must be unique among
    /// all replicas of the server, and differ from the server's own id.
    #[serde(default = "default_server_id")]
    pub server_id: u32,
    /// Tables to capture, as `db.table`. Events of other tables are skipped
    /// before their rows are decoded.
    pub tables: Vec<String>,
    /// Routing key column per table (`"app.users" = "id"`,
    /// `"app.user_cim_details" = "user_id"`): its value is the Kafka message
    /// key, so all changes of one entity stay in one partition, in order.
    /// Tables without an entry are keyed by their first column.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// Time zone that DATETIME values are written in: `UTC` or a fixed offset
    /// like `+02:00`. DATETIME values are published converted to UTC.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Seconds between heartbeats the server sends when idle. The stream is
    /// considered dead after three missed heartbeats, and reconnected.
    #[serde(default = "default_heartbeat_secs")]
    pub heartbeat_secs: u64,
    /// Resume by `"position"` (file:pos, the default) or by MariaDB `"gtid"`,
    /// which survives a failover to another server of the same domain.
    #[serde(default)]
    pub resume: ResumeMode,
    /// Where to start when there is no checkpoint: `"current"` (the server's
    /// current position: only changes from now on) or `"earliest"` (the
    /// oldest binlog the server still has).
    #[serde(default)]
    pub start: StartMode,
    /// Initial load: `"never"`, `"initial"` (when there is no checkpoint) or
    /// `"when_needed"` (also when the checkpoint was purged).
    #[serde(default)]
    pub snapshot: SnapshotMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeMode {
    #[default]
    Position,
    Gtid,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMode {
    #[default]
    Current,
    Earliest,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    #[default]
    Never,
    Initial,
    WhenNeeded,
}

fn default_name() -> String {
    "mysql".into()
}
fn default_server_id() -> u32 {
    5701
}
fn default_time_zone() -> String {
    "UTC".into()
}
fn default_heartbeat_secs() -> u64 {
    5
}

impl SourceConfig {
    /// The URL with `${VAR}` references replaced from the environment.
    pub fn resolved_url(&self) -> Result<String, crate::SourceError> {
        expand_env(&self.url)
    }

    /// The key column for `db.table`, if configured.
    pub fn key_column(&self, db: &str, table: &str) -> Option<&str> {
        self.keys.get(&format!("{db}.{table}")).map(String::as_str)
    }

    /// Included tables as `(db, table)` pairs.
    pub fn table_pairs(&self) -> Result<Vec<(String, String)>, crate::SourceError> {
        self.tables
            .iter()
            .map(|t| match t.split_once('.') {
                Some((d, n)) if !d.is_empty() && !n.is_empty() => {
                    Ok((d.to_string(), n.to_string()))
                }
                _ => Err(crate::SourceError::Config(format!(
                    "source.tables entry `{t}` must be `database.table`"
                ))),
            })
            .collect()
    }

    /// The configured DATETIME offset from UTC, in seconds.
    pub fn time_zone_offset_secs(&self) -> Result<i32, crate::SourceError> {
        parse_offset(&self.time_zone).ok_or_else(|| {
            crate::SourceError::Config(format!(
                "source.time_zone `{}` must be `UTC` or a fixed offset like `+02:00`",
                self.time_zone
            ))
        })
    }
}

fn parse_offset(tz: &str) -> Option<i32> {
    let tz = tz.trim();
    if tz.eq_ignore_ascii_case("utc") || tz == "Z" || tz == "+00:00" {
        return Some(0);
    }
    let sign = match tz.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = tz[1..].split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Replaces `${VAR}` with the value of the environment variable `VAR`, and
/// `${VAR:-default}` with `default` when `VAR` is not set.
pub fn expand_env(s: &str) -> Result<String, crate::SourceError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| crate::SourceError::Config(format!("unterminated `${{` in `{s}`")))?;
        let spec = &after[..end];
        // `${VAR:-default}` falls back to `default` when VAR is unset.
        let (var, default) = match spec.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (spec, None),
        };
        let val = match (std::env::var(var), default) {
            (Ok(v), _) => v,
            (Err(_), Some(d)) => d.to_string(),
            (Err(_), None) => {
                return Err(crate::SourceError::Config(format!(
                    "environment variable `{var}` referenced in the config is not set"
                )))
            }
        };
        out.push_str(&val);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("+02:00"), Some(7200));
        assert_eq!(parse_offset("-05:30"), Some(-19800));
        assert_eq!(parse_offset("Europe/Paris"), None);
    }

    #[test]
    fn env_expands() {
        std::env::set_var("CDC_TEST_EXPAND_PW", "s3cret");
        assert_eq!(
            expand_env("mysql://u:${CDC_TEST_EXPAND_PW}@h").unwrap(),
            "mysql://u:s3cret@h"
        );
        assert!(expand_env("mysql://u:${CDC_TEST_NOT_SET_X}@h").is_err());
        assert_eq!(
            expand_env("u:${CDC_TEST_NOT_SET_X:-cdc}@h").unwrap(),
            "u:cdc@h"
        );
    }
}
