//! The HubSpot side of the contacts sink: a client that upserts and archives
//! contacts in batches of 100, paced under HubSpot's rate limit, retried on
//! transient failures, and that isolates records HubSpot refuses as dead
//! letters instead of letting one bad record block its batch.
//!
//! The sink loop drives [`HubSpotClient`]: `check_properties` once at start,
//! then `upsert` / `archive` per coalesced batch. An `Ok` outcome means every
//! input was applied or dead-lettered, so the consumer offsets may move; an
//! `Err` means keep the batch and the offsets (see
//! [`HubSpotError::is_retriable`]).
//!
//! # Layout
//! - `config`: the `[hubspot]` configuration section (reference docs).
//! - `token`: the access token, never printed.
//! - `model`: inputs, dead letters and the batch outcome.
//! - `properties`: the start-up property check (pure comparison).
//! - `request_builder`: a batch → path and JSON body, for both API versions.
//! - `service`: one HTTP exchange; the only module doing network I/O.
//! - `retry`: which answers to retry (the decision).
//! - `backoff`: when to retry (capped exponential, full jitter).
//! - `pacer`: the rolling-window limiter shared by all calls of a client.
//! - `dispatch`: one request, paced and retried until a final answer.
//! - `response`: reading HubSpot's error and batch bodies.
//! - `bisect`: splitting refused batches down to the refused records.
//! - `operations`: upsert and archive of one batch over HTTP.
//! - `client`: the public handle tying these together.
//! - `error`: the crate's error enum.

pub mod backoff;
mod bisect;
mod client;
pub mod config;
mod dispatch;
mod error;
mod model;
mod operations;
pub mod pacer;
pub mod properties;
pub mod request_builder;
mod response;
pub mod retry;
mod service;
#[cfg(test)]
mod testing;
mod token;

pub use client::HubSpotClient;
pub use config::HubSpotConfig;
pub use error::HubSpotError;
pub use model::{ArchiveInput, BatchOutcome, DeadLetter, UpsertInput};
pub use properties::{ExpectedType, PropertyDefinition, PropertyProblem};
pub use retry::{classify, RetryDecision};
pub use token::AccessToken;
