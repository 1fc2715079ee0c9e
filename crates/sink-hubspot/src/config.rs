//! The `[hubspot]` section: where the API is, which token, how contacts are
//! identified, and how hard the client may push.
//!
//! Every field's doc comment is its reference documentation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::HubSpotError;

/// How the sink talks to HubSpot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSpotConfig {
    /// Root of the HubSpot API, without a trailing slash. Point it at the
    /// simulator (`http://127.0.0.1:PORT`) for tests and demos.
    #[serde(default = "default_base_url")]
    pub base_url: String,

    /// Name of the environment variable that holds the private app's access
    /// token (`pat-…`). The token itself never appears in the configuration
    /// file or in logs.
    #[serde(default = "default_token_env")]
    pub token_env: String,

    /// Which path family the object endpoints use. A date such as
    /// `"2026-03"` selects HubSpot's dated API
    /// (`/crm/objects/2026-03/contacts/batch/upsert`); `"v3"` selects the
    /// legacy `/crm/v3/objects/contacts/…` paths. Request and response bodies
    /// are the same for both.
    #[serde(default = "default_api_version")]
    pub api_version: String,

    /// Path of the contact properties endpoint read by the start-up check.
    /// HubSpot still serves it under `/crm/v3/properties/contacts`; change it
    /// only if your account serves a dated equivalent.
    #[serde(default = "default_properties_path")]
    pub properties_path: String,

    /// The contact property whose value identifies a contact in upserts and
    /// archives (HubSpot's `idProperty`). It must be `email` or a custom
    /// property with "unique value" turned on.
    ///
    /// `email` works out of the box, but when a user changes their address the
    /// next upsert creates a *second* contact and the old one keeps the old
    /// data, and deleting the user cannot find the contact any more. A custom
    /// unique property holding the product's user id (e.g. `app_user_id`)
    /// never changes, so the same HubSpot contact follows the user for life;
    /// prefer it.
    #[serde(default = "default_id_property")]
    pub id_property: String,

    /// Requests the client sends at most per `rate_limit_interval_ms`, for all
    /// calls of this client together. HubSpot's limit is per account and
    /// shared by every app of the account (Free/Starter: 100 per 10 s,
    /// Professional/Enterprise: 190 per 10 s), so leave room for other
    /// integrations. Pacing on our side keeps 429 answers rare.
    #[serde(default = "default_rate_limit_requests")]
    pub rate_limit_requests: u32,

    /// Length of the rolling window, in milliseconds, that
    /// `rate_limit_requests` applies to. HubSpot's burst window is 10 s.
    #[serde(default = "default_rate_limit_interval_ms")]
    pub rate_limit_interval_ms: u64,

    /// Time allowed for one HTTP request, connection to last byte, in
    /// milliseconds. A timeout is retried like a 5xx (upserts are
    /// idempotent, so a request that did land is harmless to repeat).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,

    /// Retries of one request after 5xx, 423, 477, timeouts and connection
    /// errors. When they are used up the call fails with a retriable error:
    /// the batch is *not* dropped, the caller keeps it and its offsets where
    /// they are and tries again later.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,

    /// Waits after 429 (rate limited) answers allowed for one request before
    /// the call fails with a retriable error. They have their own, larger
    /// budget because waiting out the window is the expected cure and says
    /// nothing about HubSpot being unwell.
    #[serde(default = "default_max_rate_limit_waits")]
    pub max_rate_limit_waits: u32,

    /// First retry delay, in milliseconds. The n-th retry waits a random time
    /// between 0 and `backoff_initial_ms · 2^n` (full jitter), capped by
    /// `backoff_max_ms`, so many workers that failed together do not retry
    /// together.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,

    /// Longest delay between two retries, in milliseconds.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,

    /// How many contacts the sink remembers as existing (written or found
    /// by it; archived ones are forgotten). A change of a table other than
    /// the primary one updates only an existing contact; for remembered ones
    /// the sink skips the `batch/read` that asks HubSpot. About 60 bytes
    /// each; the oldest are forgotten first. 0: always ask. A contact that
    /// a person deletes in HubSpot stays remembered until it ages out or the
    /// sink restarts, so a detail change may re-create it meanwhile. The
    /// memory is per process and survives partition moves: set 0 when one
    /// sink runs in several processes (another may archive a contact this
    /// one remembers).
    #[serde(default = "default_known_contacts")]
    pub known_contacts: usize,
}

impl Default for HubSpotConfig {
    fn default() -> Self {
        HubSpotConfig {
            base_url: default_base_url(),
            token_env: default_token_env(),
            api_version: default_api_version(),
            properties_path: default_properties_path(),
            id_property: default_id_property(),
            rate_limit_requests: default_rate_limit_requests(),
            rate_limit_interval_ms: default_rate_limit_interval_ms(),
            request_timeout_ms: default_request_timeout_ms(),
            max_retries: default_max_retries(),
            max_rate_limit_waits: default_max_rate_limit_waits(),
            backoff_initial_ms: default_backoff_initial_ms(),
            backoff_max_ms: default_backoff_max_ms(),
            known_contacts: default_known_contacts(),
        }
    }
}

impl HubSpotConfig {
    /// Rejects settings that would make the client misbehave at run time
    /// (no pacing at all, a zero window, an unknown path family).
    pub fn validate(&self) -> Result<(), HubSpotError> {
        let bad = |reason: String| Err(HubSpotError::Config(reason));
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad(format!(
                "hubspot.base_url `{}` must start with http:// or https://",
                self.base_url
            ));
        }
        if !is_known_api_version(&self.api_version) {
            return bad(format!(
                "hubspot.api_version `{}` must be `v3` or a date like `2026-03`",
                self.api_version
            ));
        }
        if !self.properties_path.starts_with('/') {
            return bad(format!(
                "hubspot.properties_path `{}` must start with `/`",
                self.properties_path
            ));
        }
        if self.id_property.trim().is_empty() {
            return bad("hubspot.id_property must name a property".into());
        }
        if self.rate_limit_requests == 0 || self.rate_limit_interval_ms == 0 {
            return bad(
                "hubspot.rate_limit_requests and rate_limit_interval_ms must be > 0".into(),
            );
        }
        if self.request_timeout_ms == 0 {
            return bad("hubspot.request_timeout_ms must be > 0".into());
        }
        if self.backoff_initial_ms > self.backoff_max_ms {
            return bad("hubspot.backoff_initial_ms must not exceed backoff_max_ms".into());
        }
        Ok(())
    }

    pub(crate) fn rate_limit_interval(&self) -> Duration {
        Duration::from_millis(self.rate_limit_interval_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// `v3`, or a `YYYY-MM` date as HubSpot names its API releases.
fn is_known_api_version(version: &str) -> bool {
    if version == "v3" {
        return true;
    }
    let bytes = version.as_bytes();
    bytes.len() == 7
        && bytes[4] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || b.is_ascii_digit())
}

fn default_base_url() -> String {
    "https://api.hubapi.com".into()
}

fn default_token_env() -> String {
    "HUBSPOT_TOKEN".into()
}

fn default_api_version() -> String {
    "2026-03".into()
}

fn default_properties_path() -> String {
    "/crm/v3/properties/contacts".into()
}

fn default_id_property() -> String {
    "email".into()
}

fn default_rate_limit_requests() -> u32 {
    100
}

fn default_rate_limit_interval_ms() -> u64 {
    10_000
}

fn default_request_timeout_ms() -> u64 {
    30_000
}

fn default_max_retries() -> u32 {
    8
}

fn default_max_rate_limit_waits() -> u32 {
    30
}

fn default_backoff_initial_ms() -> u64 {
    500
}

fn default_backoff_max_ms() -> u64 {
    30_000
}

fn default_known_contacts() -> usize {
    100_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_documented_defaults() {
        let config: HubSpotConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, HubSpotConfig::default());
        assert_eq!(config.base_url, "https://api.hubapi.com");
        assert_eq!(config.api_version, "2026-03");
        assert_eq!(config.id_property, "email");
        assert_eq!(config.rate_limit_requests, 100);
        assert_eq!(config.max_retries, 8);
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<HubSpotConfig>(r#"{"token":"pat-x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `token`"), "{err}");
    }

    #[test]
    fn api_version_must_be_v3_or_a_date() {
        for ok in ["v3", "2026-03", "2025-09"] {
            assert!(is_known_api_version(ok), "{ok}");
        }
        for bad in ["v4", "2026-3", "2026/03", "latest", ""] {
            assert!(!is_known_api_version(bad), "{bad}");
        }
        let config = HubSpotConfig {
            api_version: "v4".into(),
            ..HubSpotConfig::default()
        };
        assert!(matches!(config.validate(), Err(HubSpotError::Config(_))));
    }

    #[test]
    fn zero_pacing_is_rejected() {
        let config = HubSpotConfig {
            rate_limit_requests: 0,
            ..HubSpotConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
