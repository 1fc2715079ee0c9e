//! The only place that talks to the network: one HTTP exchange, no retries,
//! no interpretation. Everything above it works on `HttpResponse` values and
//! is tested without sockets.

use std::future::Future;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;

use crate::config::HubSpotConfig;
use crate::error::HubSpotError;
use crate::request_builder::ApiRequest;
use crate::token::AccessToken;

/// An answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The request did not produce an answer (timeout, refused connection,
/// reset mid-body, …). Always worth retrying: the request may or may not
/// have reached HubSpot, and every write we send is idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

/// Sends one request. The real implementation is [`HttpService`]; tests put
/// a scripted one in its place.
pub trait Transport: Send + Sync {
    fn call(
        &self,
        request: &ApiRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send;
}

/// reqwest (rustls) against `base_url`, with the bearer token on every
/// request.
#[derive(Debug, Clone)]
pub struct HttpService {
    client: reqwest::Client,
    base_url: String,
    authorization: HeaderValue,
}

impl HttpService {
    pub fn new(config: &HubSpotConfig, token: &AccessToken) -> Result<Self, HubSpotError> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| {
                HubSpotError::Config(format!(
                    "the token in `{}` contains characters not allowed in an HTTP header",
                    config.token_env
                ))
            })?;
        // Keeps the header out of reqwest's and hyper's debug output.
        authorization.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout())
            .user_agent(concat!("cdc-streamer/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HubSpotError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpService {
            client,
            base_url: config.base_url.trim_end_matches('/').to_string(),
            authorization,
        })
    }
}

impl Transport for HttpService {
    async fn call(&self, request: &ApiRequest) -> Result<HttpResponse, TransportError> {
        let url = format!("{}{}", self.base_url, request.path);
        let mut builder = self
            .client
            .request(request.method.clone(), url)
            .header(AUTHORIZATION, self.authorization.clone());
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(describe)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(describe)?.to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// reqwest's top-level message is generic ("error sending request"); the
/// cause (refused, reset, DNS) is further down the chain, so include it.
/// The URL in it carries no secret.
fn describe(error: reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    TransportError(text)
}
