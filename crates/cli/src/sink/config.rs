//! `[sinks.<name>]`: one section per sink. Each sink is its own consumer
//! group, so a slow or failing sink never holds back another.

use serde::Deserialize;

use cdc_core::coalesce::CoalesceConfig;
use cdc_core::mapping::{Flavor, SinkMapping};
use cdc_sink_hubspot::HubSpotConfig;
use cdc_sink_mysql::MySqlTargetConfig;

/// What a sink writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// HubSpot contacts (`[sinks.<name>.hubspot]` required).
    Hubspot,
    /// MySQL target tables (`[sinks.<name>.target]` required).
    Mysql,
}

impl SinkKind {
    pub fn flavor(self) -> Flavor {
        match self {
            SinkKind::Hubspot => Flavor::HubSpot,
            SinkKind::Mysql => Flavor::Sql,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `hubspot` or `mysql`.
    pub kind: SinkKind,
    /// Consumer group of this sink. Default: `cdc-sink-<name>`. Run more
    /// processes with the same group to share the topic's partitions.
    #[serde(default)]
    pub group: Option<String>,
    /// Static group membership id of this process (`group.instance.id`).
    /// Default: `<group>@<hostname>`, so a crashed sink that restarts takes
    /// its own place back at once. When running several processes of one
    /// sink on the same host, give each its own (environment variable
    /// `CDC_SINK_INSTANCE` overrides this key).
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Set to `false` to keep the section but not run the sink.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The coalescing window (see docs/configuration.md).
    #[serde(default)]
    pub window: CoalesceConfig,
    /// HubSpot API settings (kind = "hubspot").
    #[serde(default)]
    pub hubspot: Option<HubSpotConfig>,
    /// MySQL target connection (kind = "mysql").
    #[serde(default)]
    pub target: Option<MySqlTargetConfig>,
    /// Which source tables feed this sink and how their columns map.
    pub tables: SinkMapping,
}

fn yes() -> bool {
    true
}

impl SinkConfig {
    pub fn group(&self, name: &str) -> String {
        self.group
            .clone()
            .unwrap_or_else(|| format!("cdc-sink-{name}"))
    }

    /// The static membership id (see `instance_id`).
    pub fn instance(&self, name: &str) -> String {
        if let Ok(id) = std::env::var("CDC_SINK_INSTANCE") {
            return format!("{id}-{name}");
        }
        self.instance_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "localhost".into());
            format!("{}@{host}", self.group(name))
        })
    }

    /// Whole-sink checks the field types cannot express.
    pub fn validate(&self, name: &str) -> anyhow::Result<()> {
        let flavor = self.kind.flavor();
        match (self.kind, &self.hubspot, &self.target) {
            (SinkKind::Hubspot, None, _) => anyhow::bail!(
                "sinks.{name}: kind = \"hubspot\" needs a [sinks.{name}.hubspot] section"
            ),
            (SinkKind::Hubspot, _, Some(_)) => {
                anyhow::bail!("sinks.{name}: [sinks.{name}.target] is for kind = \"mysql\"")
            }
            (SinkKind::Mysql, _, None) => anyhow::bail!(
                "sinks.{name}: kind = \"mysql\" needs a [sinks.{name}.target] section"
            ),
            (SinkKind::Mysql, Some(_), _) => {
                anyhow::bail!("sinks.{name}: [sinks.{name}.hubspot] is for kind = \"hubspot\"")
            }
            _ => {}
        }
        self.tables
            .validate(flavor)
            .map_err(|e| anyhow::anyhow!("sinks.{name}.tables: {e}"))?;
        self.window
            .validate(flavor)
            .map_err(|e| anyhow::anyhow!("sinks.{name}.window: {e}"))?;
        Ok(())
    }
}
