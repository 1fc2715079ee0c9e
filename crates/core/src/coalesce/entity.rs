//! What the coalescer folds: changes addressed to entities.
//!
//! The coalescer does not know HubSpot or MySQL. A sink routes each change
//! event to zero or more [`Change`]s (see `route.rs`), each addressed by an
//! [`EntityKey`]: `contact/42` for HubSpot, `crm.users/42` for a MySQL target.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::mapping::Properties;

/// The identity of one target record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityKey {
    /// Kind of record: `"contact"` for HubSpot, the target table for MySQL.
    pub entity: String,
    /// The entity key (the routing key, e.g. the user id).
    pub key: String,
}

impl EntityKey {
    pub fn new(entity: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            entity: entity.into(),
            key: key.into(),
        }
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.entity, self.key)
    }
}

/// What one change does to its entity.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// Set these properties (an empty value clears one).
    Upsert(Properties),
    /// Archive the record (HubSpot).
    Archive,
    /// Delete the record (MySQL).
    Delete,
}

/// One change to one entity, produced by a sink's [`Route`](super::Route).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub entity: EntityKey,
    pub kind: ChangeKind,
    /// Whether the entity's primary table decided this change. Only a
    /// primary upsert may (re-)create a record that a primary archive
    /// removed, so a secondary row cannot bring back a filtered-out user.
    pub from_primary: bool,
    /// The entity came back into the primary table's filter with this
    /// change: rows of its other tables may have changed unseen meanwhile.
    pub refill: bool,
}

impl Change {
    pub fn upsert(entity: EntityKey, properties: Properties, from_primary: bool) -> Self {
        Self {
            entity,
            kind: ChangeKind::Upsert(properties),
            from_primary,
            refill: false,
        }
    }

    pub fn archive(entity: EntityKey, from_primary: bool) -> Self {
        Self {
            entity,
            kind: ChangeKind::Archive,
            from_primary,
            refill: false,
        }
    }

    pub fn delete(entity: EntityKey, from_primary: bool) -> Self {
        Self {
            entity,
            kind: ChangeKind::Delete,
            from_primary,
            refill: false,
        }
    }
}
