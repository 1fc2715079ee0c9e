//! HubSpot's rate limits: a rolling window per token plus a daily quota.
//!
//! The window is a log of admission instants (not a fixed bucket that resets
//! on the tick), because HubSpot's policy is named `TEN_SECONDLY_ROLLING` and a
//! fixed bucket would let a client burst 2× the limit across a boundary —
//! exactly the behaviour a pacing client must not be tested against. Refused
//! requests are not logged, so a client that waits out the window recovers.
//!
//! The `X-HubSpot-RateLimit-*` headers go on every API response, so clients
//! can pace from them before ever seeing a 429.

use crate::auth::Token;
use crate::errors::{category, ApiError};
use crate::state::{lock, AppState};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which policy refused a request (HubSpot's `policyName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    TenSecondlyRolling,
    Daily,
}

/// The numbers the rate-limit headers report, after this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub max: u32,
    pub remaining: u32,
    pub interval_ms: u64,
    pub daily: u64,
    pub daily_remaining: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed(Quota),
    Limited(Policy, Quota),
}

#[derive(Debug)]
struct Bucket {
    recent: VecDeque<Instant>,
    day: NaiveDate,
    daily_used: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    daily: u64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration, daily: u64) -> Self {
        RateLimiter {
            max,
            window,
            daily,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets all history (used by `/__sim/reset`).
    pub fn reset(&self) {
        lock(&self.buckets).clear();
    }

    /// Admits or refuses one request of `token` at `now` (on UTC day `today`).
    pub fn check(&self, token: &str, now: Instant, today: NaiveDate) -> Decision {
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.entry(token.to_string()).or_insert_with(|| Bucket {
            recent: VecDeque::new(),
            day: today,
            daily_used: 0,
        });
        // HubSpot resets the daily count at midnight in the account's time
        // zone; the simulator's account lives in UTC.
        if bucket.day != today {
            bucket.day = today;
            bucket.daily_used = 0;
        }
        while let Some(oldest) = bucket.recent.front() {
            if now.duration_since(*oldest) >= self.window {
                bucket.recent.pop_front();
            } else {
                break;
            }
        }
        let quota = |recent: usize, daily_used: u64| Quota {
            max: self.max,
            remaining: self
                .max
                .saturating_sub(u32::try_from(recent).unwrap_or(u32::MAX)),
            interval_ms: u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX),
            daily: self.daily,
            daily_remaining: self.daily.saturating_sub(daily_used),
        };
        if bucket.daily_used >= self.daily {
            return Decision::Limited(Policy::Daily, quota(bucket.recent.len(), bucket.daily_used));
        }
        if bucket.recent.len() >= self.max as usize {
            return Decision::Limited(
                Policy::TenSecondlyRolling,
                quota(bucket.recent.len(), bucket.daily_used),
            );
        }
        bucket.recent.push_back(now);
        bucket.daily_used += 1;
        Decision::Allowed(quota(bucket.recent.len(), bucket.daily_used))
    }
}

fn set_headers(headers: &mut HeaderMap, quota: &Quota) {
    let pairs = [
        ("x-hubspot-ratelimit-max", u64::from(quota.max)),
        ("x-hubspot-ratelimit-remaining", u64::from(quota.remaining)),
        (
            "x-hubspot-ratelimit-interval-milliseconds",
            quota.interval_ms,
        ),
        ("x-hubspot-ratelimit-daily", quota.daily),
        ("x-hubspot-ratelimit-daily-remaining", quota.daily_remaining),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from(value));
    }
}

fn limited(policy: Policy) -> ApiError {
    let (message, name) = match policy {
        Policy::TenSecondlyRolling => (
            "You have reached your ten_secondly_rolling limit.",
            "TEN_SECONDLY_ROLLING",
        ),
        Policy::Daily => ("You have reached your daily limit.", "DAILY"),
    };
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        category::RATE_LIMITS,
        message,
    )
    .with_extra("errorType", "RATE_LIMIT")
    .with_extra("policyName", name)
}

/// Middleware: runs after authentication (it needs the [`Token`]).
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = request
        .extensions()
        .get::<Token>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    match state
        .limiter()
        .check(&token, Instant::now(), Utc::now().date_naive())
    {
        Decision::Allowed(quota) => {
            let mut response = next.run(request).await;
            set_headers(response.headers_mut(), &quota);
            response
        }
        Decision::Limited(policy, quota) => {
            let mut response = limited(policy).into_response();
            set_headers(response.headers_mut(), &quota);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn rolling_window_refuses_then_recovers() {
        let limiter = RateLimiter::new(3, Duration::from_millis(1000), 1000);
        let t0 = Instant::now();
        for i in 0..3 {
            let at = t0 + Duration::from_millis(i * 100);
            assert!(matches!(
                limiter.check("a", at, day(1)),
                Decision::Allowed(_)
            ));
        }
        let refused = limiter.check("a", t0 + Duration::from_millis(900), day(1));
        assert!(
            matches!(refused, Decision::Limited(Policy::TenSecondlyRolling, q) if q.remaining == 0)
        );
        // Another token has its own window.
        assert!(matches!(
            limiter.check("b", t0, day(1)),
            Decision::Allowed(_)
        ));
        // The first admission leaves the window at t0 + 1000 ms: one slot frees.
        match limiter.check("a", t0 + Duration::from_millis(1000), day(1)) {
            Decision::Allowed(q) => assert_eq!(q.remaining, 0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rolling_not_fixed_buckets() {
        // A fixed 1 s bucket would admit 2 at 0.9 s and 2 more at 1.0 s.
        let limiter = RateLimiter::new(2, Duration::from_millis(1000), 1000);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(matches!(
            limiter.check("a", at(900), day(1)),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            limiter.check("a", at(950), day(1)),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            limiter.check("a", at(1000), day(1)),
            Decision::Limited(..)
        ));
    }

    #[test]
    fn daily_quota_resets_with_the_day() {
        let limiter = RateLimiter::new(100, Duration::from_millis(1000), 2);
        let t0 = Instant::now();
        limiter.check("a", t0, day(1));
        match limiter.check("a", t0, day(1)) {
            Decision::Allowed(q) => assert_eq!(q.daily_remaining, 0),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            limiter.check("a", t0, day(1)),
            Decision::Limited(Policy::Daily, _)
        ));
        assert!(matches!(
            limiter.check("a", t0, day(2)),
            Decision::Allowed(_)
        ));
    }
}
