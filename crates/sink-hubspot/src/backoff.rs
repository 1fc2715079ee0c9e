//! When to retry: capped exponential backoff with full jitter.
//!
//! Full jitter (a uniform delay between zero and the exponential ceiling)
//! spreads out sink workers that failed at the same moment, so they do not
//! hit a recovering HubSpot in lockstep. Whether to retry at all is decided
//! elsewhere (`retry`).

use std::time::Duration;

use rand::Rng;

/// The retry delay schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
        }
    }

    /// The longest delay before retry number `retry` (0 for the first):
    /// `initial · 2^retry`, never above `max`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        // 2^30 · any sane initial delay is already far above any cap; stop
        // doubling there so the multiplication cannot overflow.
        let factor = 1u32 << retry.min(30);
        self.initial
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// A random delay in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry).as_nanos() as u64;
        Duration::from_nanos(rng.gen_range(0..=ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn backoff() -> Backoff {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = backoff();
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(5), Duration::from_secs(16));
        assert_eq!(b.ceiling(6), Duration::from_secs(30));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 0..40 {
            let delays: Vec<Duration> = (0..50).map(|_| b.delay(retry, &mut rng)).collect();
            assert!(delays.iter().all(|d| *d <= b.ceiling(retry)));
            assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
            // Full jitter: the delays of one retry number differ.
            let first = delays[0];
            assert!(delays.iter().any(|d| *d != first), "retry {retry}");
        }
    }

    #[test]
    fn jitter_reaches_low_and_high_parts_of_the_range() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(1);
        let ceiling = b.ceiling(10);
        let delays: Vec<Duration> = (0..1000).map(|_| b.delay(10, &mut rng)).collect();
        assert!(delays.iter().any(|d| *d < ceiling / 4));
        assert!(delays.iter().any(|d| *d > ceiling * 3 / 4));
    }
}
