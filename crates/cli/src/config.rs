//! The configuration file: one TOML file for every command. Each section is
//! owned by the crate that uses it; this module only assembles them and
//! reports errors with the offending key and line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use cdc_bus_kafka::KafkaConfig;
use cdc_source_mysql::SourceConfig;

use crate::sink::SinkConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The MySQL/MariaDB server to read.
    pub source: SourceConfig,
    /// The Kafka brokers and topics.
    pub kafka: KafkaConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Sinks by name (`[sinks.hubspot]`, `[sinks.crm]`).
    #[serde(default)]
    pub sinks: BTreeMap<String, SinkConfig>,
    /// The metrics and health endpoint (`[metrics]`).
    #[serde(default)]
    pub metrics: crate::metrics::MetricsConfig,
}

/// `[log]`: level and format of the service logs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a full `RUST_LOG`
    /// filter. `RUST_LOG` in the environment wins.
    #[serde(default = "default_level")]
    pub level: String,
    /// `text` for people, `json` for log shippers.
    #[serde(default = "default_format")]
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: default_level(),
            format: default_format(),
        }
    }
}

fn default_level() -> String {
    "info".into()
}
fn default_format() -> String {
    "text".into()
}

impl AppConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        // toml's error names the key and prints the line with a caret.
        let cfg: AppConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        cfg.source.table_pairs()?;
        cfg.source.time_zone_offset_secs()?;
        for (name, sink) in &cfg.sinks {
            sink.validate(name)?;
        }
        cfg.check_keys()?;
        Ok(cfg)
    }

    /// A sink table's `key` must be the column the reader routes that table
    /// by (`[source.keys]`): events carry that column's value as their key,
    /// and a mapping that reads another column would dead-letter every one.
    fn check_keys(&self) -> Result<()> {
        for (name, sink) in &self.sinks {
            for t in &sink.tables.tables {
                let Some(routed) = self.source.key_column(&t.table.db, &t.table.table) else {
                    continue;
                };
                if routed != t.key {
                    anyhow::bail!(
                        "sinks.{name}: table {} has key = \"{}\", but [source.keys] routes it by \"{routed}\": \
                         every event would carry the value of `{routed}` as its key and be dead-lettered. \
                         Use the same column in both places (the entity key, e.g. the user id)",
                        t.table,
                        t.key
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[source]
url = "mysql://cdc:cdc@127.0.0.1:3307"
tables = ["app.users"]
[kafka]
brokers = "127.0.0.1:9092"
"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = AppConfig::parse(MIN).unwrap();
        assert_eq!(c.kafka.topic, "cdc.changes");
        assert_eq!(c.source.time_zone, "UTC");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name_and_line() {
        let bad = MIN.replace("tables =", "tabels = [\"x.y\"]\ntables =");
        let err = format!("{:#}", AppConfig::parse(&bad).unwrap_err());
        assert!(err.contains("tabels"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn a_sink_key_other_than_the_routing_key_is_refused() {
        let text = include_str!("../../../deploy/local/cdc-streamer.toml");
        let bad = text.replace(
            "\"app.user_cim_details\" = \"user_id\"",
            "\"app.user_cim_details\" = \"company\"",
        );
        assert_ne!(bad, text);
        let err = format!("{:#}", AppConfig::parse(&bad).unwrap_err());
        assert!(
            err.contains("app.user_cim_details has key = \"user_id\"")
                && err.contains("routes it by \"company\""),
            "{err}"
        );
    }

    #[test]
    fn the_local_config_parses() {
        let text = include_str!("../../../deploy/local/cdc-streamer.toml");
        AppConfig::parse(text).unwrap();
    }
}
