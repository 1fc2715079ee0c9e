//! Pure building blocks of cdc-streamer. Nothing in this crate does I/O, so
//! everything here is tested without a database, a broker or a network.
//!
//! # Layout
//! - [`position`]: where a change came from — binlog file/offset positions and
//!   MariaDB GTIDs, as types that print and parse the way operators write them.
//! - [`event`]: the change-event envelope published on the topic (Debezium-like
//!   `op` / `before` / `after` / `source`), and its checkpoint record.
//! - [`mapping`]: the sink mapping configuration and the value conversions
//!   (HubSpot dates, enumerations, templates, …).
//! - [`coalesce`]: folds many changes of one entity into one pending update,
//!   inside a bounded window.

pub mod coalesce;
pub mod event;
pub mod mapping;
pub mod position;

pub use coalesce::{CoalesceConfig, Drained, EntityKey, PendingUpdate, PushOutcome, Window};
pub use event::{ChangeEvent, Checkpoint, Op, Row, SourceInfo};
pub use mapping::{Flavor, MappingError, SinkMapping, TableMapping};
pub use position::{BinlogPosition, Gtid, PositionParseError};
