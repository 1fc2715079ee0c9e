//! The coalescer: many change events in, one update per entity out, inside
//! a bounded window.
//!
//! HubSpot allows about 100 requests per 10 seconds on the lowest tier, and
//! the same user often changes several times in a second (several tables,
//! several statements). So a sink folds everything that arrives within a
//! short window into one update per entity, drops re-sent duplicates by
//! source position, and writes in batches of at most 100. The window is
//! bounded by events and entities, never by the backlog, so a mass update
//! becomes a steady series of full batches instead of an out-of-memory crash.
//!
//! The coalescer knows nothing of HubSpot or MySQL: a [`Route`] (usually
//! [`MappingRoute`], built on the sink mapping) turns each event into
//! entity [`Change`]s.
//!
//! # Layout
//! - `config.rs`: [`CoalesceConfig`], the window limits.
//! - `entity.rs`: [`EntityKey`], [`Change`]; `route.rs`: [`Route`], [`MappingRoute`].
//! - `stamp.rs`: which of two changes is newer (source position, then arrival).
//! - `recent.rs`: bounded memory of positions, for duplicate detection.
//! - `pending.rs`: one entity's changes folded into a [`PendingUpdate`].
//! - `window.rs`: [`Window`], push / is_due / drain.
//! - `drained.rs`: [`Drained`]: updates, batches, offsets to commit, stats.

mod config;
mod drained;
mod entity;
mod pending;
mod recent;
mod route;
mod stamp;
mod window;

#[cfg(test)]
mod tests;

pub use config::{CoalesceConfig, CoalesceConfigError, HUBSPOT_MAX_BATCH};
pub use drained::{Batch, BatchKind, Drained, WindowStats};
pub use entity::{Change, ChangeKind, EntityKey};
pub use pending::{PendingUpdate, SourceRef, UpdateKind};
pub use route::{MappingRoute, Route};
pub use window::{PushOutcome, Window};
