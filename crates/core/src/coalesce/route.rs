//! From a change event to the changes it makes: the sink's part.
//!
//! The window takes a [`Route`] so that it stays ignorant of HubSpot and
//! MySQL; [`MappingRoute`] is the route both sinks use, built on the sink
//! mapping. Any closure `Fn(&ChangeEvent) -> Result<Vec<Change>, _>` is a
//! route too (tests, special cases).

use super::entity::{Change, ChangeKind, EntityKey};
use crate::event::ChangeEvent;
use crate::mapping::{Action, Flavor, MappingError, SinkMapping};

/// Maps a change event to the entity changes it makes (none when the table
/// is not mapped or the change is skipped).
pub trait Route {
    fn route(&self, event: &ChangeEvent) -> Result<Vec<Change>, MappingError>;
}

impl<F> Route for F
where
    F: Fn(&ChangeEvent) -> Result<Vec<Change>, MappingError>,
{
    fn route(&self, event: &ChangeEvent) -> Result<Vec<Change>, MappingError> {
        self(event)
    }
}

/// The route of a sink mapping: each mapped table classifies the event;
/// entities are `entity` (e.g. `"contact"`) or, for MySQL, the table's
/// `target`, keyed by the event's routing key.
#[derive(Debug, Clone)]
pub struct MappingRoute {
    mapping: SinkMapping,
    flavor: Flavor,
    entity: String,
}

impl MappingRoute {
    /// `entity` names the records of tables without a `target` (HubSpot:
    /// `"contact"`).
    pub fn new(mapping: SinkMapping, flavor: Flavor, entity: impl Into<String>) -> Self {
        Self {
            mapping,
            flavor,
            entity: entity.into(),
        }
    }

    pub fn mapping(&self) -> &SinkMapping {
        &self.mapping
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }
}

impl Route for MappingRoute {
    fn route(&self, event: &ChangeEvent) -> Result<Vec<Change>, MappingError> {
        let mut changes = Vec::new();
        for table in self.mapping.tables_for(&event.db, &event.table) {
            let entity = table.target.as_deref().unwrap_or(&self.entity);
            let entity = EntityKey::new(entity, event.key.as_str());
            let (kind, from_primary, refill) = match table.classify(event, self.flavor)? {
                Action::Upsert(props) => (ChangeKind::Upsert(props), table.primary, false),
                Action::Reenter(props) => (ChangeKind::Upsert(props), table.primary, true),
                // A clear must never create the record just to empty it.
                Action::Clear(props) => (ChangeKind::Upsert(props), false, false),
                Action::Archive => (ChangeKind::Archive, table.primary, false),
                Action::Delete => (ChangeKind::Delete, table.primary, false),
                Action::Skip(_) => continue,
            };
            changes.push(Change {
                entity,
                kind,
                from_primary,
                refill,
            });
        }
        Ok(changes)
    }
}
