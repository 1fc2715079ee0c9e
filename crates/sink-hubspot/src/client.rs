//! `HubSpotClient`: the handle the sink loop drives. Cheap to clone; all
//! clones share one pacer, so the rate limit holds across worker tasks.

use std::sync::Arc;

use serde::Deserialize;

use crate::bisect::deliver;
use crate::config::HubSpotConfig;
use crate::dispatch::{Answer, Dispatcher};
use crate::error::HubSpotError;
use crate::model::{ArchiveInput, BatchOutcome, UpsertInput};
use crate::operations::{Archive, Operations, Upsert};
use crate::properties::{compare, ExpectedType, PropertyDefinition};
use crate::request_builder::RequestBuilder;
use crate::response::excerpt;
use crate::service::HttpService;
use crate::token::AccessToken;

/// A paced, retrying HubSpot contacts client.
#[derive(Debug, Clone)]
pub struct HubSpotClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: HubSpotConfig,
    requests: RequestBuilder,
    dispatcher: Dispatcher<HttpService>,
}

impl HubSpotClient {
    /// Checks the configuration and builds the client; no request is sent.
    pub fn new(config: HubSpotConfig, token: AccessToken) -> Result<Self, HubSpotError> {
        config.validate()?;
        let service = HttpService::new(&config, &token)?;
        Ok(HubSpotClient {
            inner: Arc::new(Inner {
                requests: RequestBuilder::new(&config),
                dispatcher: Dispatcher::new(service, &config),
                config,
            }),
        })
    }

    /// Like [`new`](Self::new), with the token read from the environment
    /// variable named by `config.token_env`.
    pub fn from_env(config: HubSpotConfig) -> Result<Self, HubSpotError> {
        let token = AccessToken::from_env(&config.token_env)?;
        HubSpotClient::new(config, token)
    }

    pub fn config(&self) -> &HubSpotConfig {
        &self.inner.config
    }

    /// Every contact property definition of the account.
    pub async fn fetch_properties(&self) -> Result<Vec<PropertyDefinition>, HubSpotError> {
        #[derive(Deserialize)]
        struct Properties {
            results: Vec<PropertyDefinition>,
        }
        let request = self.inner.requests.properties();
        let delivered = self.inner.dispatcher.send(&request).await?;
        match delivered.answer {
            Answer::Accepted(response) => serde_json::from_slice::<Properties>(&response.body)
                .map(|p| p.results)
                .map_err(|e| HubSpotError::InvalidResponse {
                    what: request.what.into(),
                    reason: format!("{e}; body starts: {}", excerpt(&response.body)),
                }),
            Answer::Refused(rejection) => Err(HubSpotError::Unexpected {
                what: format!("{} (GET {})", request.what, request.path),
                status: rejection.status,
                message: rejection.body.message_or("no message"),
                correlation_id: rejection.body.correlation_id,
            }),
        }
    }

    /// Start-up check: every mapped property exists in HubSpot with a type
    /// the mapping's conversion fits, and `id_property` can identify
    /// contacts. The error lists all problems at once.
    pub async fn check_properties(
        &self,
        expected: &[(String, ExpectedType)],
    ) -> Result<(), HubSpotError> {
        let defined = self.fetch_properties().await?;
        let problems = compare(&defined, expected, &self.inner.config.id_property);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(HubSpotError::PropertyMismatch { problems })
        }
    }

    /// Creates or updates contacts by `id_property`, 100 per request, in
    /// order. Records HubSpot refuses come back as dead letters; all others
    /// are applied. An `Err` means nothing may be assumed applied: keep the
    /// inputs (and their offsets) and call again later if
    /// [`HubSpotError::is_retriable`], or stop if not.
    pub async fn upsert(
        &self,
        inputs: Vec<UpsertInput>,
    ) -> Result<BatchOutcome<UpsertInput>, HubSpotError> {
        deliver(&Upsert(self.operations()), inputs).await
    }

    /// Archives contacts by `id_property` value. Contacts that do not exist
    /// count as applied: the goal, "not in HubSpot", is met. Same retry and
    /// error rules as [`upsert`](Self::upsert).
    pub async fn archive(
        &self,
        inputs: Vec<ArchiveInput>,
    ) -> Result<BatchOutcome<ArchiveInput>, HubSpotError> {
        deliver(&Archive(self.operations()), inputs).await
    }

    /// Which of these id-property values exist as contacts (at most 100 per
    /// call are sent; more are looked up in several calls).
    pub async fn existing(&self, ids: &[String]) -> Result<Vec<String>, HubSpotError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(crate::request_builder::MAX_BATCH_INPUTS) {
            found.extend(crate::operations::existing(&self.operations(), chunk).await?);
        }
        Ok(found)
    }

    fn operations(&self) -> Operations<'_, HttpService> {
        Operations {
            dispatcher: &self.inner.dispatcher,
            requests: &self.inner.requests,
            id_property: &self.inner.config.id_property,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_can_be_spawned() {
        let client = HubSpotClient::new(HubSpotConfig::default(), AccessToken::new("t")).unwrap();
        assert_send(&client.upsert(Vec::new()));
        assert_send(&client.archive(Vec::new()));
        assert_send(&client.check_properties(&[]));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let client =
            HubSpotClient::new(HubSpotConfig::default(), AccessToken::new("pat-secret")).unwrap();
        assert!(!format!("{client:?}").contains("pat-secret"));
    }

    #[test]
    fn invalid_configuration_is_refused_up_front() {
        let config = HubSpotConfig {
            base_url: "api.hubapi.com".into(),
            ..HubSpotConfig::default()
        };
        assert!(matches!(
            HubSpotClient::new(config, AccessToken::new("t")),
            Err(HubSpotError::Config(_))
        ));
    }
}
