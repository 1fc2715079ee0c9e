//! Which HubSpot answers are worth repeating, and how soon at the earliest.
//!
//! This is only the *decision*; when exactly to retry is `backoff`'s job and
//! the loop that sleeps lives in `dispatch`. Keeping the rules in one pure
//! function makes every status testable without a server.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::response::ErrorBody;

/// HubSpot documents that 423 Locked must be waited out for at least 2 s.
const LOCKED_MIN_WAIT: Duration = Duration::from_secs(2);

/// What to do with one HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// 2xx: the request was accepted (a 207 may still refuse single records).
    Success,
    /// 400, 404, 409 and the other 4xx: the request itself was refused and
    /// repeating it unchanged would fail again. The caller interprets it
    /// (bisect a batch, treat as "not found", …).
    Refused,
    /// 401: the token is wrong or revoked. Fatal, never retried.
    Unauthorized,
    /// 403: the token lacks scopes. Fatal, never retried.
    Forbidden,
    /// 429 over the rolling window: wait and repeat. `wait` is what HubSpot
    /// told us (Retry-After or the window length), `None` when it said
    /// nothing and the configured window applies.
    RateLimited { wait: Option<Duration> },
    /// 429 because the account's daily allowance is gone: waiting seconds
    /// cannot help, so stop and let the caller retry much later.
    DailyLimitExhausted,
    /// 5xx, 408, 423, 477: HubSpot is busy or unwell; repeat after the
    /// backoff delay, but not sooner than `at_least`.
    Transient { at_least: Duration },
}

/// Classifies an answer by its status and headers.
pub fn classify(status: StatusCode, headers: &HeaderMap) -> RetryDecision {
    let retry_after = retry_after(headers);
    match status.as_u16() {
        200..=299 => RetryDecision::Success,
        401 => RetryDecision::Unauthorized,
        403 => RetryDecision::Forbidden,
        429 if header_u64(headers, "x-hubspot-ratelimit-daily-remaining") == Some(0) => {
            RetryDecision::DailyLimitExhausted
        }
        429 => RetryDecision::RateLimited {
            wait: retry_after.or_else(|| rate_limit_window(headers)),
        },
        423 => RetryDecision::Transient {
            at_least: retry_after.unwrap_or_default().max(LOCKED_MIN_WAIT),
        },
        // 477 "migration in progress" and every server-side failure.
        408 | 477 | 500..=599 => RetryDecision::Transient {
            at_least: retry_after.unwrap_or_default(),
        },
        _ => RetryDecision::Refused,
    }
}

/// A 429 body can say more than the headers: HubSpot names the exhausted
/// policy (`DAILY` or the ten-second one) in `policyName`.
pub fn refine_with_body(decision: RetryDecision, body: &ErrorBody) -> RetryDecision {
    match decision {
        RetryDecision::RateLimited { .. } if body.policy_name.as_deref() == Some("DAILY") => {
            RetryDecision::DailyLimitExhausted
        }
        other => other,
    }
}

/// `Retry-After` in seconds (HubSpot sends seconds; the HTTP-date form is
/// ignored rather than guessed at).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// How long until the exhausted window has surely rolled over. HubSpot does
/// not say where in the window we are, so wait a whole window — except when
/// only the per-second policy is exhausted, which clears within a second.
fn rate_limit_window(headers: &HeaderMap) -> Option<Duration> {
    let interval_left = header_u64(headers, "x-hubspot-ratelimit-remaining");
    let secondly_left = header_u64(headers, "x-hubspot-ratelimit-secondly-remaining");
    if secondly_left == Some(0) && interval_left.is_some_and(|n| n > 0) {
        return Some(Duration::from_secs(1));
    }
    header_u64(headers, "x-hubspot-ratelimit-interval-milliseconds").map(Duration::from_millis)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn success_statuses() {
        for code in [200, 201, 204, 207] {
            assert_eq!(
                classify(status(code), &HeaderMap::new()),
                RetryDecision::Success
            );
        }
    }

    #[test]
    fn client_errors_are_refused_not_retried() {
        for code in [400, 404, 405, 409, 413, 422] {
            assert_eq!(
                classify(status(code), &HeaderMap::new()),
                RetryDecision::Refused,
                "{code}"
            );
        }
    }

    #[test]
    fn auth_failures_are_fatal() {
        let none = HeaderMap::new();
        assert_eq!(classify(status(401), &none), RetryDecision::Unauthorized);
        assert_eq!(classify(status(403), &none), RetryDecision::Forbidden);
    }

    #[test]
    fn rate_limited_honours_retry_after_then_the_window() {
        assert_eq!(
            classify(status(429), &headers(&[("retry-after", "3")])),
            RetryDecision::RateLimited {
                wait: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            classify(
                status(429),
                &headers(&[
                    ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
                    ("x-hubspot-ratelimit-remaining", "0"),
                ])
            ),
            RetryDecision::RateLimited {
                wait: Some(Duration::from_secs(10))
            }
        );
        assert_eq!(
            classify(status(429), &HeaderMap::new()),
            RetryDecision::RateLimited { wait: None }
        );
    }

    #[test]
    fn secondly_limit_waits_a_second() {
        let h = headers(&[
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-remaining", "40"),
            ("x-hubspot-ratelimit-secondly-remaining", "0"),
        ]);
        assert_eq!(
            classify(status(429), &h),
            RetryDecision::RateLimited {
                wait: Some(Duration::from_secs(1))
            }
        );
    }

    #[test]
    fn daily_limit_stops_by_header_or_body() {
        let h = headers(&[("x-hubspot-ratelimit-daily-remaining", "0")]);
        assert_eq!(
            classify(status(429), &h),
            RetryDecision::DailyLimitExhausted
        );
        let body = ErrorBody {
            policy_name: Some("DAILY".into()),
            ..ErrorBody::default()
        };
        let decision = classify(status(429), &HeaderMap::new());
        assert_eq!(
            refine_with_body(decision, &body),
            RetryDecision::DailyLimitExhausted
        );
    }

    #[test]
    fn locked_waits_at_least_two_seconds() {
        assert_eq!(
            classify(status(423), &HeaderMap::new()),
            RetryDecision::Transient {
                at_least: Duration::from_secs(2)
            }
        );
        assert_eq!(
            classify(status(423), &headers(&[("retry-after", "5")])),
            RetryDecision::Transient {
                at_least: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn status_477_honours_retry_after() {
        assert_eq!(
            classify(status(477), &headers(&[("retry-after", "1")])),
            RetryDecision::Transient {
                at_least: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn server_errors_are_transient() {
        for code in [408, 500, 502, 503, 504] {
            assert_eq!(
                classify(status(code), &HeaderMap::new()),
                RetryDecision::Transient {
                    at_least: Duration::ZERO
                },
                "{code}"
            );
        }
    }

    #[test]
    fn unparsable_retry_after_is_ignored() {
        assert_eq!(
            classify(
                status(503),
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])
            ),
            RetryDecision::Transient {
                at_least: Duration::ZERO
            }
        );
    }
}
