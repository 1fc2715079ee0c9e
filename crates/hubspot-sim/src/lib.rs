//! hubspot-sim: a local stand-in for HubSpot's CRM v3 contacts API, so the
//! cdc-streamer HubSpot sink can be developed, tested and demonstrated
//! without a HubSpot account — including the failures a real account only
//! shows under load (429s, 5xx, 423, 477, slow answers).
//!
//! It reproduces the contract in `/work/shared/hubspot-api.md`: both path
//! families, bearer auth, 100-input batches that fail as a whole, HubSpot's
//! value rules per property type, its error bodies and rate-limit headers.
//! It is a test double, not a CRM: everything lives in memory (optionally
//! saved to a JSON file on shutdown).
//!
//! # Layout
//! - [`config`]: [`SimConfig`], the settings (tokens, limits, faults, state file).
//! - [`state`]: [`AppState`], what handlers share, and the locking policy.
//! - [`store`]: contacts and unique-value indexes; [`store::write`] holds the
//!   validate-everything-then-apply batch logic.
//! - [`properties`]: property definitions and HubSpot's default contact properties.
//! - [`values`]: per-type value validation and normalisation (pure).
//! - [`errors`]: HubSpot's error envelope, the one error type handlers return.
//! - [`auth`], [`rate_limit`], [`faults`], [`stats`]: the middleware an API
//!   request passes through, one concern each.
//! - [`persist`]: the state file.
//! - `routes`: path → handler wiring (`batch`, `objects`, `properties`, and
//!   the `/__sim/*` `control` endpoints).
//!
//! A library takes a bound listener and a shutdown future ([`serve`]); the
//! binary parses flags, binds and prints `hubspot-sim listening on ADDR`.

pub mod auth;
pub mod config;
pub mod errors;
pub mod faults;
pub mod persist;
pub mod properties;
pub mod rate_limit;
mod routes;
pub mod state;
pub mod stats;
pub mod store;
pub mod values;

pub use config::SimConfig;
pub use faults::FaultSettings;
pub use routes::router;
pub use state::AppState;

use std::future::Future;

/// Serves the simulator on `listener` until `shutdown` completes, then lets
/// in-flight requests finish and saves the state file (if configured).
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::load(config)?;
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    state.save()?;
    Ok(())
}
