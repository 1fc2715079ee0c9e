//! Client-side pacing: at most N requests in any rolling window, shared by
//! every call of one client.
//!
//! HubSpot counts requests per account in a rolling ten-second window and
//! answers 429 beyond it; each 429 is itself counted against the account's
//! error budget. Booking a time slot before each request keeps us under the
//! limit instead of bouncing off it. When HubSpot does answer 429 anyway
//! (another app of the account spends the same budget), `hold_until` makes
//! every caller of this client wait, not only the one that was refused.
//! And when HubSpot's `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds`
//! headers advertise a stricter limit than configured, the pacer adopts it
//! (`observe_limit`): otherwise every waiting caller would rush in together
//! when a hold ends, and most would bounce again.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// A rolling-window limiter. Slots are handed out first come, first served.
#[derive(Debug)]
pub struct Pacer {
    // A std mutex: it is held for a few comparisons and never across an
    // await, which is cheaper than an async one.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests allowed per `interval`; only ever lowered.
    max: usize,
    interval: Duration,
    /// Start times of the last `max` booked requests, oldest first. Times in
    /// the future are slots booked by callers still waiting for them.
    booked: VecDeque<Instant>,
    /// No request may start before this (set after a 429).
    held_until: Option<Instant>,
}

impl Pacer {
    pub fn new(max: u32, interval: Duration) -> Self {
        Pacer {
            state: Mutex::new(State {
                max: max.max(1) as usize,
                interval,
                booked: VecDeque::new(),
                held_until: None,
            }),
        }
    }

    /// Adopts the limit HubSpot advertises if it is stricter than the
    /// current one (fewer requests per unit of time); returns whether it
    /// was. A looser advertised limit is ignored: the configured share is
    /// deliberate, other apps of the account spend the same budget.
    pub fn observe_limit(&self, max: u32, interval: Duration) -> bool {
        if max == 0 || interval.is_zero() {
            return false;
        }
        let mut state = self.lock();
        // max / interval < state.max / state.interval, without division.
        let stricter =
            u128::from(max) * state.interval.as_micros() < state.max as u128 * interval.as_micros();
        if stricter {
            state.max = max as usize;
            // HubSpot counts a request when it arrives, a little after we
            // booked it; pacing exactly at its limit would graze the edge
            // of its window. A tenth more time keeps clear of it.
            state.interval = interval + interval / 10;
        }
        stricter
    }

    /// The limit in force: requests per window.
    pub fn limit(&self) -> (u32, Duration) {
        let state = self.lock();
        (state.max as u32, state.interval)
    }

    /// Waits until one more request fits the window, then returns; the
    /// request is counted from that moment.
    pub async fn acquire(&self) {
        let slot = self.book(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// Stops every caller from starting a request before `until`.
    pub fn hold_until(&self, until: Instant) {
        let mut state = self.lock();
        state.held_until = Some(state.held_until.map_or(until, |h| h.max(until)));
    }

    /// Books the earliest slot at or after `now` and returns it.
    fn book(&self, now: Instant) -> Instant {
        let mut state = self.lock();
        let mut slot = now;
        if let Some(held) = state.held_until {
            slot = slot.max(held);
        }
        // Nobody overtakes an earlier booking, so `booked` stays sorted.
        if let Some(&last) = state.booked.back() {
            slot = slot.max(last);
        }
        let (max, interval) = (state.max, state.interval);
        if state.booked.len() >= max {
            // The request `max` places back must have left the window.
            slot = slot.max(state.booked[state.booked.len() - max] + interval);
        }
        state.booked.push_back(slot);
        while state.booked.len() > max {
            state.booked.pop_front();
        }
        slot
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue in a state
        // worse than "slightly too cautious", so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The burst limit HubSpot reports on every response
/// (`X-HubSpot-RateLimit-Max` per `X-HubSpot-RateLimit-Interval-Milliseconds`).
pub fn advertised_limit(headers: &HeaderMap) -> Option<(u32, Duration)> {
    let number =
        |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    let max = u32::try_from(number("x-hubspot-ratelimit-max")?).ok()?;
    let interval = number("x-hubspot-ratelimit-interval-milliseconds")?;
    Some((max, Duration::from_millis(interval)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn since(start: Instant) -> Duration {
        Instant::now() - start
    }

    #[tokio::test(start_paused = true)]
    async fn allows_max_per_window_then_waits_for_the_oldest_to_leave() {
        let pacer = Pacer::new(3, Duration::from_secs(1));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            pacer.acquire().await;
            times.push(since(start).as_millis());
        }
        assert_eq!(times, vec![0, 0, 0, 1000, 1000, 1000, 2000]);
    }

    #[tokio::test(start_paused = true)]
    async fn spread_out_requests_do_not_wait() {
        let pacer = Pacer::new(2, Duration::from_secs(1));
        let start = Instant::now();
        for _ in 0..5 {
            pacer.acquire().await;
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        // 5 requests 600 ms apart never put 3 in one second.
        assert_eq!(since(start), Duration::from_millis(3000));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_window() {
        let pacer = Arc::new(Pacer::new(2, Duration::from_secs(10)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let pacer = pacer.clone();
                tokio::spawn(async move {
                    pacer.acquire().await;
                    since(start).as_secs()
                })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        assert_eq!(times, vec![0, 0, 10, 10, 20, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn hold_delays_everyone() {
        let pacer = Pacer::new(100, Duration::from_secs(10));
        let start = Instant::now();
        pacer.hold_until(start + Duration::from_secs(4));
        // An earlier hold never shortens a longer one.
        pacer.hold_until(start + Duration::from_secs(1));
        pacer.acquire().await;
        assert_eq!(since(start), Duration::from_secs(4));
        pacer.acquire().await;
        assert_eq!(since(start), Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn adopts_a_stricter_advertised_limit_only() {
        let pacer = Pacer::new(100, Duration::from_secs(10));
        // 190 per 10 s is looser than our 100: keep ours.
        assert!(!pacer.observe_limit(190, Duration::from_secs(10)));
        // 5 per second is stricter than 10 per second.
        assert!(pacer.observe_limit(5, Duration::from_secs(1)));
        assert_eq!(pacer.limit(), (5, Duration::from_millis(1100)));
        let start = Instant::now();
        for _ in 0..6 {
            pacer.acquire().await;
        }
        assert_eq!(since(start), Duration::from_millis(1100));
    }

    #[test]
    fn reads_the_advertised_limit_from_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-hubspot-ratelimit-max", "190".parse().unwrap());
        headers.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "10000".parse().unwrap(),
        );
        assert_eq!(
            advertised_limit(&headers),
            Some((190, Duration::from_secs(10)))
        );
        headers.remove("x-hubspot-ratelimit-max");
        assert_eq!(advertised_limit(&headers), None);
    }
}
