//! Window limits: how much a sink holds before it must flush.
//!
//! The system this replaces loaded every flagged user at once and ran a
//! 1 GB server out of memory on a mass update. Here a window closes on the
//! first limit reached (events, distinct entities, or age), so memory is
//! bounded by these numbers, never by the backlog on the topic.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::mapping::Flavor;

/// HubSpot's batch endpoints take at most 100 inputs per request.
pub const HUBSPOT_MAX_BATCH: usize = 100;

/// Coalescing window and batching settings of a sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoalesceConfig {
    /// Most change events in one window before it is flushed. Default 10000.
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// Most distinct entities (contacts, target rows) in one window. Default 1000.
    #[serde(default = "default_max_entities")]
    pub max_entities: usize,
    /// Longest a window stays open after its first event, in milliseconds:
    /// the added latency bought for coalescing. Default 500.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// Updates per write request. Default 100, which is also HubSpot's
    /// maximum.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How many (table, key) source positions are remembered across windows
    /// to drop re-sent duplicates; the oldest are forgotten first. About 100
    /// bytes each. 0 turns cross-window de-duplication off. Default 100000:
    /// more than a checkpoint interval of re-sent changes, within the sink's
    /// 64 MiB budget (docs/benchmarks.md).
    #[serde(default = "default_recent_positions")]
    pub recent_positions: usize,
}

fn default_max_events() -> usize {
    10_000
}

fn default_max_entities() -> usize {
    1_000
}

fn default_max_wait_ms() -> u64 {
    500
}

fn default_batch_size() -> usize {
    HUBSPOT_MAX_BATCH
}

fn default_recent_positions() -> usize {
    100_000
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        Self {
            max_events: default_max_events(),
            max_entities: default_max_entities(),
            max_wait_ms: default_max_wait_ms(),
            batch_size: default_batch_size(),
            recent_positions: default_recent_positions(),
        }
    }
}

/// The coalesce settings are not usable; `problems` lists every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoalesceConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for CoalesceConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid coalesce settings: {}", self.problems.join("; "))
    }
}

impl std::error::Error for CoalesceConfigError {}

impl CoalesceConfig {
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms)
    }

    /// Checks the limits for a sink of kind `flavor`.
    pub fn validate(&self, flavor: Flavor) -> Result<(), CoalesceConfigError> {
        let mut problems = Vec::new();
        for (name, value) in [
            ("max_events", self.max_events),
            ("max_entities", self.max_entities),
            ("batch_size", self.batch_size),
        ] {
            if value == 0 {
                problems.push(format!("`{name}` must be at least 1"));
            }
        }
        if flavor == Flavor::HubSpot && self.batch_size > HUBSPOT_MAX_BATCH {
            problems.push(format!(
                "`batch_size` is {} but HubSpot batch requests take at most {HUBSPOT_MAX_BATCH}",
                self.batch_size
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CoalesceConfigError { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let c: CoalesceConfig = toml::from_str("").unwrap();
        assert_eq!(c, CoalesceConfig::default());
        assert_eq!(
            (c.max_events, c.max_entities, c.max_wait_ms),
            (10_000, 1_000, 500)
        );
        assert_eq!((c.batch_size, c.recent_positions), (100, 100_000));
        c.validate(Flavor::HubSpot).unwrap();
        let big: CoalesceConfig = toml::from_str("batch_size = 500").unwrap();
        big.validate(Flavor::Sql).unwrap();
        assert!(big
            .validate(Flavor::HubSpot)
            .unwrap_err()
            .to_string()
            .contains("at most 100"));
        let zero: CoalesceConfig = toml::from_str("max_entities = 0").unwrap();
        assert!(zero.validate(Flavor::Sql).is_err());
        assert!(toml::from_str::<CoalesceConfig>("max_event = 1").is_err());
    }
}
