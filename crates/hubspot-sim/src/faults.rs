//! Fault injection: failures a HubSpot client must survive, on demand.
//!
//! Real HubSpot occasionally answers 5xx, `423 Locked` (bulk writes on a busy
//! portal) and `477` (migration in progress, with `Retry-After`), and is
//! sometimes slow. The sink's retry classifier and backoff are only trusted if
//! tests can provoke each of these. Two mechanisms:
//! - `fail_next: n` fails exactly the next n API requests — the knob tests
//!   should prefer, because it needs no probability;
//! - rates, drawn from a seeded generator, so a soak run with a given seed
//!   and request sequence fails the same way every time.
//!
//! A faulted request is answered before its handler runs, so it stores nothing.

use crate::errors::{category, ApiError};
use crate::state::{lock, AppState};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// The current fault settings, as `GET /__sim/faults` shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSettings {
    /// Share of requests answered with `error_status` (0.0–1.0).
    pub error_rate: f64,
    /// The 5xx status used by `error_rate` and `fail_next`.
    pub error_status: u16,
    /// Share of requests answered `423 Locked`.
    pub locked_rate: f64,
    /// Share of requests answered `477` with `Retry-After`.
    pub status_477_rate: f64,
    /// `Retry-After` seconds sent with 477.
    pub retry_after_s: u64,
    /// Delay added before every API request is handled.
    pub latency_ms: u64,
    /// The next this many API requests fail with `error_status`.
    pub fail_next: u64,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            error_rate: 0.0,
            error_status: 500,
            locked_rate: 0.0,
            status_477_rate: 0.0,
            retry_after_s: 1,
            latency_ms: 0,
            fail_next: 0,
        }
    }
}

/// A partial update from `POST /__sim/faults`; absent fields keep their value.
/// Unknown fields are refused so a typo does not silently inject nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    pub error_rate: Option<f64>,
    pub error_status: Option<u16>,
    pub locked_rate: Option<f64>,
    pub status_477_rate: Option<f64>,
    pub retry_after_s: Option<u64>,
    pub latency_ms: Option<u64>,
    pub fail_next: Option<u64>,
}

impl FaultSettings {
    /// Checks ranges, so the dice below can trust them.
    pub fn check(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("locked_rate", self.locked_rate),
            ("status_477_rate", self.status_477_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0.0 and 1.0, got {rate}"));
            }
        }
        if self.error_rate + self.locked_rate + self.status_477_rate > 1.0 {
            return Err("error_rate + locked_rate + status_477_rate must not exceed 1.0".into());
        }
        if !(500..=599).contains(&self.error_status) {
            return Err(format!(
                "error_status must be a 5xx status, got {}",
                self.error_status
            ));
        }
        Ok(())
    }

    pub fn patched(&self, patch: FaultPatch) -> FaultSettings {
        FaultSettings {
            error_rate: patch.error_rate.unwrap_or(self.error_rate),
            error_status: patch.error_status.unwrap_or(self.error_status),
            locked_rate: patch.locked_rate.unwrap_or(self.locked_rate),
            status_477_rate: patch.status_477_rate.unwrap_or(self.status_477_rate),
            retry_after_s: patch.retry_after_s.unwrap_or(self.retry_after_s),
            latency_ms: patch.latency_ms.unwrap_or(self.latency_ms),
            fail_next: patch.fail_next.unwrap_or(self.fail_next),
        }
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Error(u16),
    Locked,
    MigrationInProgress { retry_after_s: u64 },
}

/// SplitMix64: tiny, seedable, and good enough for dice; a dependency on
/// `rand` would buy nothing here.
#[derive(Debug, Clone)]
struct Dice(u64);

impl Dice {
    /// A uniform draw in [0, 1).
    fn roll(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Settings plus dice, behind one lock so each decision sees one consistent state.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<(FaultSettings, Dice)>,
}

impl Faults {
    pub fn new(settings: FaultSettings, seed: u64) -> Self {
        Faults {
            inner: Mutex::new((settings, Dice(seed))),
        }
    }

    pub fn settings(&self) -> FaultSettings {
        lock(&self.inner).0.clone()
    }

    pub fn set(&self, settings: FaultSettings) {
        lock(&self.inner).0 = settings;
    }

    /// Decides the fate of one API request: the latency to add, and the
    /// fault (if any). Dice are rolled only when a rate is set, so enabling
    /// `fail_next` alone does not shift a seeded sequence.
    pub fn decide(&self) -> (Duration, Option<Fault>) {
        let mut guard = lock(&self.inner);
        let (settings, dice) = &mut *guard;
        let latency = Duration::from_millis(settings.latency_ms);
        if settings.fail_next > 0 {
            settings.fail_next -= 1;
            return (latency, Some(Fault::Error(settings.error_status)));
        }
        let total = settings.error_rate + settings.locked_rate + settings.status_477_rate;
        if total <= 0.0 {
            return (latency, None);
        }
        let roll = dice.roll();
        let fault = if roll < settings.error_rate {
            Some(Fault::Error(settings.error_status))
        } else if roll < settings.error_rate + settings.locked_rate {
            Some(Fault::Locked)
        } else if roll < total {
            Some(Fault::MigrationInProgress {
                retry_after_s: settings.retry_after_s,
            })
        } else {
            None
        };
        (latency, fault)
    }
}

impl Fault {
    pub fn into_error(self) -> ApiError {
        match self {
            Fault::Error(status) => ApiError::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                category::INTERNAL_ERROR,
                "internal error (injected by hubspot-sim)",
            ),
            Fault::Locked => ApiError::new(
                StatusCode::LOCKED,
                category::LOCKED,
                "The resource is locked; wait at least 2 seconds before retrying (injected by hubspot-sim)",
            ),
            Fault::MigrationInProgress { retry_after_s } => {
                // 477 is not a registered status, but http accepts any 3-digit code.
                let status = StatusCode::from_u16(477).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                ApiError::new(
                    status,
                    category::MIGRATION_IN_PROGRESS,
                    "Portal migration in progress; retry after the given delay (injected by hubspot-sim)",
                )
                .with_header(
                    axum::http::header::RETRY_AFTER,
                    HeaderValue::from(retry_after_s),
                )
            }
        }
    }
}

/// Middleware: delays and fails API requests according to the settings.
pub async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (latency, fault) = state.faults().decide();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(fault) => {
            state.stats().fault_injected();
            tracing::debug!(?fault, path = %request.uri().path(), "injecting fault");
            fault.into_error().into_response()
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_counts_down() {
        let faults = Faults::new(
            FaultSettings {
                fail_next: 2,
                error_status: 503,
                ..Default::default()
            },
            1,
        );
        assert_eq!(faults.decide().1, Some(Fault::Error(503)));
        assert_eq!(faults.decide().1, Some(Fault::Error(503)));
        assert_eq!(faults.decide().1, None);
        assert_eq!(faults.settings().fail_next, 0);
    }

    #[test]
    fn seeded_rates_are_reproducible_and_roughly_right() {
        let settings = FaultSettings {
            error_rate: 0.2,
            locked_rate: 0.1,
            status_477_rate: 0.1,
            ..Default::default()
        };
        let run = |seed| {
            let f = Faults::new(settings.clone(), seed);
            (0..2000).map(|_| f.decide().1).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let errors = a
            .iter()
            .filter(|f| matches!(f, Some(Fault::Error(_))))
            .count();
        let locked = a.iter().filter(|f| **f == Some(Fault::Locked)).count();
        assert!((300..500).contains(&errors), "{errors}");
        assert!((120..280).contains(&locked), "{locked}");
    }

    #[test]
    fn check_refuses_bad_settings() {
        let ok = FaultSettings::default();
        assert!(ok.check().is_ok());
        assert!(ok
            .patched(FaultPatch {
                error_rate: Some(1.5),
                ..Default::default()
            })
            .check()
            .is_err());
        assert!(ok
            .patched(FaultPatch {
                error_status: Some(404),
                ..Default::default()
            })
            .check()
            .is_err());
        let too_much = FaultPatch {
            error_rate: Some(0.6),
            locked_rate: Some(0.6),
            ..Default::default()
        };
        assert!(ok.patched(too_much).check().is_err());
    }

    #[test]
    fn status_477_carries_retry_after() {
        let e = Fault::MigrationInProgress { retry_after_s: 3 }.into_error();
        assert_eq!(e.status.as_u16(), 477);
        assert_eq!(e.headers[0].1, "3");
    }
}
