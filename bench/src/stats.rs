//! Percentiles, the one bit of statistics the figures need.

use serde::Serialize;

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
fn rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[i - 1]
}

/// Summarises latencies given in microseconds.
pub fn summarize(mut us: Vec<i64>) -> Summary {
    us.sort_unstable();
    let ms: Vec<f64> = us.iter().map(|v| *v as f64 / 1000.0).collect();
    let round = |v: f64| (v * 10.0).round() / 10.0;
    Summary {
        count: ms.len(),
        p50_ms: round(rank(&ms, 0.50)),
        p90_ms: round(rank(&ms, 0.90)),
        p99_ms: round(rank(&ms, 0.99)),
        max_ms: round(ms.last().copied().unwrap_or(f64::NAN)),
        mean_ms: round(ms.iter().sum::<f64>() / ms.len().max(1) as f64),
    }
}

/// `1234567.8` → `1,234,568` (tables read better with separators).
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s = summarize((1..=100).map(|v| v * 1000).collect());
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(summarize(vec![5_000]).p99_ms, 5.0);
    }

    #[test]
    fn separators() {
        assert_eq!(thousands(1_234_567.8), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-1000.0), "-1,000");
    }
}
