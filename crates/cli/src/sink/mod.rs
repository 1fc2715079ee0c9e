//! Sink workers. Each configured sink consumes the change topic in its own
//! consumer group, folds changes per entity in bounded windows (the
//! coalescer in `cdc-core`), writes them, and only then commits offsets.
//!
//! - `config`: the `[sinks.<name>]` section.
//! - `driver`: the consume → coalesce → write → dead-letter → commit loop,
//!   the same for every sink.
//! - `writer`: what the driver needs from a sink, and the dispatch to the two
//!   kinds: `hubspot` and `mysql` adapt a drained window to their client.
//! - `letters`: building dead letters.
//! - `known`: contacts the HubSpot sink knows to exist.
//! - `refill`: reading the source to complete a contact that comes back
//!   into the sync filter.

pub mod config;
pub mod driver;
mod hubspot;
mod known;
mod letters;
mod mysql;
mod refill;
pub mod writer;

pub use config::SinkConfig;
pub use driver::run_sink;
