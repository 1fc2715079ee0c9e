//! The MySQL target sink: applies coalesced changes to target tables with
//! exactly-once effect.
//!
//! Exactly once comes from one rule: the Kafka offsets a batch covers are
//! written to a checkpoint table **in the same transaction** as the batch's
//! rows. On start the sink seeks to the offsets in that table, not to the
//! consumer group's, so a crash between the commit and the Kafka offset commit
//! neither loses nor repeats a change.
//!
//! # Layout
//! - [`config`]: the sink's own settings (connection, checkpoint table).
//! - [`write`]: the row operations a batch is made of, and how they become
//!   multi-row `INSERT … ON DUPLICATE KEY UPDATE` and `DELETE` statements.
//! - [`service`]: the only I/O: applying a batch plus its offsets in one
//!   transaction, reading the offsets back.
//! - [`error`]: what can go wrong.

pub mod config;
pub mod error;
pub mod service;
pub mod write;

pub use config::MySqlTargetConfig;
pub use error::SinkError;
pub use service::MySqlTarget;
pub use write::{RowWrite, WriteOp};
