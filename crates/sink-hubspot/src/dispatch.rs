//! Sends one request until it gets an answer worth acting on: paced, and
//! retried per `retry::classify` on the `backoff` schedule.
//!
//! The two budgets are separate on purpose. A 429 means "come back when the
//! window has rolled", not "HubSpot is failing", so it has its own, larger
//! allowance (`max_rate_limit_waits`); 5xx, 423, 477 and transport errors use
//! `max_retries`. When either runs out the request fails with a *retriable*
//! error: the caller keeps the batch and its offsets, nothing is dropped.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use crate::backoff::Backoff;
use crate::config::HubSpotConfig;
use crate::error::HubSpotError;
use crate::pacer::{advertised_limit, Pacer};
use crate::request_builder::ApiRequest;
use crate::response::{ErrorBody, Rejection};
use crate::retry::{classify, refine_with_body, RetryDecision};
use crate::service::{HttpResponse, Transport};

/// The final answer to a request, and how many HTTP requests it took.
#[derive(Debug)]
pub struct Delivered {
    pub attempts: usize,
    pub answer: Answer,
}

#[derive(Debug)]
pub enum Answer {
    /// 2xx.
    Accepted(HttpResponse),
    /// A 4xx other than 401/403/429: the request as such was refused.
    Refused(Rejection),
}

/// Paces and retries requests over one transport.
#[derive(Debug)]
pub struct Dispatcher<T> {
    transport: T,
    pacer: Pacer,
    backoff: Backoff,
    max_retries: u32,
    max_rate_limit_waits: u32,
    /// Wait after a 429 that did not say how long.
    rate_limit_interval: Duration,
    /// Named in the 401 error, so the operator knows where the token lives.
    token_env: String,
}

impl<T: Transport> Dispatcher<T> {
    pub fn new(transport: T, config: &HubSpotConfig) -> Self {
        Dispatcher {
            transport,
            pacer: Pacer::new(config.rate_limit_requests, config.rate_limit_interval()),
            backoff: Backoff::new(
                Duration::from_millis(config.backoff_initial_ms),
                Duration::from_millis(config.backoff_max_ms),
            ),
            max_retries: config.max_retries,
            max_rate_limit_waits: config.max_rate_limit_waits,
            rate_limit_interval: config.rate_limit_interval(),
            token_env: config.token_env.clone(),
        }
    }

    #[cfg(test)]
    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub async fn send(&self, request: &ApiRequest) -> Result<Delivered, HubSpotError> {
        let mut attempts = 0usize;
        let mut retries = 0u32;
        let mut rate_limit_waits = 0u32;
        loop {
            self.pacer.acquire().await;
            attempts += 1;
            let (at_least, last) = match self.transport.call(request).await {
                Err(error) => {
                    metrics::counter!("cdc_hubspot_requests_total", "status" => "error")
                        .increment(1);
                    (Duration::ZERO, error.0)
                }
                Ok(response) => {
                    metrics::counter!("cdc_hubspot_requests_total", "status" => response.status.as_u16().to_string())
                        .increment(1);
                    self.learn_limit(&response);
                    let decision = classify(response.status, &response.headers);
                    match decision {
                        RetryDecision::Success => {
                            return Ok(Delivered {
                                attempts,
                                answer: Answer::Accepted(response),
                            })
                        }
                        RetryDecision::Transient { at_least } => (
                            at_least,
                            summary(&response, &ErrorBody::parse(&response.body)),
                        ),
                        RetryDecision::RateLimited { .. } => {
                            metrics::counter!("cdc_hubspot_rate_limited_total").increment(1);
                            rate_limit_waits += 1;
                            self.rate_limited(
                                request,
                                &response,
                                decision,
                                rate_limit_waits,
                                attempts,
                            )?;
                            continue;
                        }
                        _ => return self.refused(request, response, decision, attempts),
                    }
                }
            };
            if retries >= self.max_retries {
                return Err(HubSpotError::Retriable {
                    attempts: attempts as u32,
                    last,
                });
            }
            // The thread-local RNG is not `Send`: draw before awaiting.
            let delay = self
                .backoff
                .delay(retries, &mut rand::thread_rng())
                .max(at_least);
            retries += 1;
            metrics::counter!("cdc_hubspot_retries_total").increment(1);
            warn!(
                what = request.what,
                retry = retries,
                max_retries = self.max_retries,
                delay_ms = delay.as_millis() as u64,
                "HubSpot request failed ({last}); retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Slows this client down to the limit HubSpot advertises, if stricter.
    fn learn_limit(&self, response: &HttpResponse) {
        if let Some((max, interval)) = advertised_limit(&response.headers) {
            if self.pacer.observe_limit(max, interval) {
                warn!(
                    max,
                    interval_ms = interval.as_millis() as u64,
                    "HubSpot advertises a lower rate limit than hubspot.rate_limit_requests per \
                     rate_limit_interval_ms; pacing to HubSpot's (lower the setting to match)"
                );
            }
        }
    }

    /// Handles a 429: holds every request of this client for the wait, or
    /// gives up when the daily allowance or the wait budget is spent.
    fn rate_limited(
        &self,
        request: &ApiRequest,
        response: &HttpResponse,
        decision: RetryDecision,
        waits: u32,
        attempts: usize,
    ) -> Result<(), HubSpotError> {
        let body = ErrorBody::parse(&response.body);
        let wait = match refine_with_body(decision, &body) {
            RetryDecision::RateLimited { wait } => wait.unwrap_or(self.rate_limit_interval),
            _ => {
                return Err(HubSpotError::DailyLimit {
                    message: body.message_or("daily limit reached"),
                })
            }
        };
        if waits > self.max_rate_limit_waits {
            return Err(HubSpotError::Retriable {
                attempts: attempts as u32,
                last: format!(
                    "still rate limited after {} waits: {}",
                    self.max_rate_limit_waits,
                    summary(response, &body)
                ),
            });
        }
        debug!(
            what = request.what,
            wait_ms = wait.as_millis() as u64,
            policy = body.policy_name.as_deref().unwrap_or("-"),
            "HubSpot rate limit reached; pausing this client's requests"
        );
        self.pacer.hold_until(Instant::now() + wait);
        Ok(())
    }

    /// Answers that must not be repeated: 401 and 403 are fatal, the rest
    /// go back to the caller to interpret.
    fn refused(
        &self,
        request: &ApiRequest,
        response: HttpResponse,
        decision: RetryDecision,
        attempts: usize,
    ) -> Result<Delivered, HubSpotError> {
        let body = ErrorBody::parse(&response.body);
        match decision {
            RetryDecision::Unauthorized => Err(HubSpotError::Unauthorized {
                token_env: self.token_env.clone(),
                message: body.message_or("no message"),
                correlation_id: body.correlation_id,
            }),
            RetryDecision::Forbidden => Err(HubSpotError::MissingScopes {
                message: body.message_or("no message"),
                correlation_id: body.correlation_id,
            }),
            RetryDecision::DailyLimitExhausted => Err(HubSpotError::DailyLimit {
                message: body.message_or("daily limit reached"),
            }),
            _ => {
                debug!(
                    what = request.what,
                    status = response.status.as_u16(),
                    "HubSpot refused the request"
                );
                Ok(Delivered {
                    attempts,
                    answer: Answer::Refused(Rejection {
                        status: response.status.as_u16(),
                        body,
                    }),
                })
            }
        }
    }
}

fn summary(response: &HttpResponse, body: &ErrorBody) -> String {
    let mut text = format!("HTTP {}", response.status.as_u16());
    if let Some(message) = &body.message {
        text.push_str(&format!(" {message}"));
    }
    if let Some(id) = &body.correlation_id {
        text.push_str(&format!(" (correlationId {id})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::TransportError;
    use crate::testing::{answer, Script};
    use reqwest::Method;

    fn ok() -> Result<HttpResponse, TransportError> {
        Ok(answer(200, &[], "{}"))
    }

    fn config() -> HubSpotConfig {
        HubSpotConfig {
            max_retries: 3,
            max_rate_limit_waits: 2,
            backoff_initial_ms: 100,
            backoff_max_ms: 1000,
            ..HubSpotConfig::default()
        }
    }

    fn request() -> ApiRequest {
        ApiRequest {
            method: Method::POST,
            path: "/x".into(),
            body: None,
            what: "testing",
        }
    }

    fn arrivals(d: &Dispatcher<Script>) -> Vec<Duration> {
        d.transport.arrivals.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_then_succeed() {
        let d = Dispatcher::new(
            Script::new(vec![
                Ok(answer(503, &[], "")),
                Err(TransportError("timed out".into())),
                ok(),
            ]),
            &config(),
        );
        let delivered = d.send(&request()).await.unwrap();
        assert_eq!(delivered.attempts, 3);
        assert!(matches!(delivered.answer, Answer::Accepted(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_retriably_after_max_retries() {
        let d = Dispatcher::new(
            Script::new(
                (0..4)
                    .map(|_| Ok(answer(500, &[], "{\"message\":\"boom\"}")))
                    .collect(),
            ),
            &config(),
        );
        let err = d.send(&request()).await.unwrap_err();
        assert!(err.is_retriable());
        assert!(
            matches!(err, HubSpotError::Retriable { attempts: 4, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("boom"));
    }

    #[tokio::test(start_paused = true)]
    async fn locked_waits_two_seconds_and_477_its_retry_after() {
        let d = Dispatcher::new(
            Script::new(vec![
                Ok(answer(423, &[], "")),
                Ok(answer(477, &[("retry-after", "5")], "")),
                ok(),
            ]),
            &config(),
        );
        d.send(&request()).await.unwrap();
        let t = arrivals(&d);
        assert!(t[1] - t[0] >= Duration::from_secs(2));
        assert!(t[2] - t[1] >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_wait_out_the_window_on_their_own_budget() {
        let limited = || {
            Ok(answer(
                429,
                &[("x-hubspot-ratelimit-interval-milliseconds", "10000")],
                "",
            ))
        };
        // Two 429s plus three 503s: within both budgets although five
        // failures exceed max_retries = 3.
        let d = Dispatcher::new(
            Script::new(vec![
                limited(),
                Ok(answer(503, &[], "")),
                limited(),
                Ok(answer(503, &[], "")),
                Ok(answer(503, &[], "")),
                ok(),
            ]),
            &config(),
        );
        let delivered = d.send(&request()).await.unwrap();
        assert_eq!(delivered.attempts, 6);
        let t = arrivals(&d);
        assert!(t[1] - t[0] >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn endless_rate_limiting_ends_retriably() {
        let d = Dispatcher::new(
            Script::new(
                (0..3)
                    .map(|_| Ok(answer(429, &[("retry-after", "1")], "")))
                    .collect(),
            ),
            &config(),
        );
        let err = d.send(&request()).await.unwrap_err();
        assert!(err.is_retriable(), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn daily_limit_stops_at_once() {
        let d = Dispatcher::new(
            Script::new(vec![Ok(answer(
                429,
                &[],
                r#"{"errorType":"RATE_LIMIT","policyName":"DAILY","message":"daily"}"#,
            ))]),
            &config(),
        );
        let err = d.send(&request()).await.unwrap_err();
        assert!(matches!(err, HubSpotError::DailyLimit { .. }));
        assert_eq!(arrivals(&d).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn auth_errors_are_fatal_without_retry() {
        let d = Dispatcher::new(
            Script::new(vec![Ok(answer(
                401,
                &[],
                r#"{"category":"INVALID_AUTHENTICATION"}"#,
            ))]),
            &config(),
        );
        let err = d.send(&request()).await.unwrap_err();
        assert!(
            matches!(err, HubSpotError::Unauthorized { ref token_env, .. } if token_env == "HUBSPOT_TOKEN")
        );
        assert!(!err.is_retriable());

        let d = Dispatcher::new(Script::new(vec![Ok(answer(403, &[], ""))]), &config());
        let err = d.send(&request()).await.unwrap_err();
        assert!(matches!(err, HubSpotError::MissingScopes { .. }));
        assert_eq!(arrivals(&d).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn validation_errors_return_to_the_caller_unretried() {
        let d = Dispatcher::new(
            Script::new(vec![Ok(answer(
                400,
                &[],
                r#"{"category":"VALIDATION_ERROR","message":"bad"}"#,
            ))]),
            &config(),
        );
        let delivered = d.send(&request()).await.unwrap();
        assert_eq!(delivered.attempts, 1);
        let Answer::Refused(rejection) = delivered.answer else {
            panic!("expected a refusal")
        };
        assert_eq!(rejection.status, 400);
        assert_eq!(rejection.body.message.as_deref(), Some("bad"));
    }
}
