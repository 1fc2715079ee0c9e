//! The shared state every handler sees: config, store, limiter, faults, stats.
//!
//! Plain `std::sync::Mutex`es, not async ones: no critical section awaits
//! anything, they are all short, and a std mutex is cheaper and cannot be
//! held across an `.await` by accident (the future would not be `Send`).

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::persist;
use crate::rate_limit::RateLimiter;
use crate::stats::Stats;
use crate::store::Store;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Locks a mutex, ignoring poisoning. A panic elsewhere cannot leave the
/// store half-written (batches are validated before anything is applied), so
/// serving on is better than failing every later request.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    config: SimConfig,
    store: Mutex<Store>,
    limiter: RateLimiter,
    faults: Faults,
    stats: Stats,
}

impl AppState {
    /// A simulator with an empty store (the state file is not read).
    pub fn new(config: SimConfig) -> Self {
        AppState::with_store(config, Store::default())
    }

    /// A simulator whose store comes from `config.state_file` when that file exists.
    pub fn load(config: SimConfig) -> anyhow::Result<Self> {
        let store = match &config.state_file {
            Some(path) => match persist::load(path)? {
                Some(snapshot) => {
                    tracing::info!(path = %path.display(), contacts = snapshot.contacts.len(), "loaded state");
                    Store::from_snapshot(snapshot)
                }
                None => Store::default(),
            },
            None => Store::default(),
        };
        Ok(AppState::with_store(config, store))
    }

    fn with_store(config: SimConfig, store: Store) -> Self {
        AppState(Arc::new(Shared {
            limiter: RateLimiter::new(config.rate_limit, config.rate_window, config.daily_limit),
            faults: Faults::new(config.faults.clone(), config.seed),
            stats: Stats::default(),
            store: Mutex::new(store),
            config,
        }))
    }

    /// Writes the store to `config.state_file`, if one is configured.
    pub fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.0.config.state_file else {
            return Ok(());
        };
        let snapshot = self.store().snapshot();
        persist::save(path, &snapshot)?;
        tracing::info!(path = %path.display(), contacts = snapshot.contacts.len(), "saved state");
        Ok(())
    }

    /// Back to a fresh simulator: no contacts, counters, faults or rate-limit
    /// history. Custom properties are kept unless `properties` is true.
    pub fn reset(&self, properties: bool) {
        self.store().reset(properties);
        self.0.stats.reset();
        self.0.faults.set(Default::default());
        self.0.limiter.reset();
    }

    pub fn config(&self) -> &SimConfig {
        &self.0.config
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.0.store)
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    pub fn faults(&self) -> &Faults {
        &self.0.faults
    }

    pub fn stats(&self) -> &Stats {
        &self.0.stats
    }
}
