//! The simulator's settings. The binary fills them from flags and environment;
//! tests build them directly (`SimConfig { rate_limit: 5, ..Default::default() }`).

use crate::faults::FaultSettings;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a running simulator needs to know. Defaults match a free
/// HubSpot account (100 requests per 10 s, 250,000 per day).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Bearer tokens accepted as private app access tokens. Each token is
    /// rate-limited on its own, like a separate account.
    pub tokens: Vec<String>,
    /// Requests allowed per token within `rate_window`.
    pub rate_limit: u32,
    /// Length of the rolling rate-limit window (HubSpot: 10 s).
    pub rate_window: Duration,
    /// Requests allowed per token per UTC day.
    pub daily_limit: u64,
    /// Most inputs one batch request may carry (HubSpot: 100).
    pub max_batch_inputs: usize,
    /// Faults injected from the start; `POST /__sim/faults` changes them later.
    pub faults: FaultSettings,
    /// Seed of the fault dice, so a run with the same requests fails the same way.
    pub seed: u64,
    /// Where contacts and properties are loaded from at start and saved to on
    /// shutdown; `None` keeps everything in memory only.
    pub state_file: Option<PathBuf>,
}

pub const DEFAULT_TOKEN: &str = "local-dev-token";

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tokens: vec![DEFAULT_TOKEN.to_string()],
            rate_limit: 100,
            rate_window: Duration::from_millis(10_000),
            daily_limit: 250_000,
            max_batch_inputs: 100,
            faults: FaultSettings::default(),
            seed: 0x5eed,
            state_file: None,
        }
    }
}
