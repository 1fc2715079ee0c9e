//! One entity's changes folded into one pending update.
//!
//! Properties merge one by one: each keeps the value from the newest change
//! that set it (see `stamp.rs`), so an out-of-order arrival cannot overwrite
//! a newer value. An archive or delete newer than every upsert replaces them.
//! An upsert newer than the removal re-creates the record with every
//! property seen in the window, except that a removal decided by the primary
//! table is only undone by a primary upsert: a secondary table's row must not
//! bring back a contact whose user left the filter.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::entity::{ChangeKind, EntityKey};
use super::stamp::Stamp;
use crate::mapping::Properties;

/// Where one folded change came from: enough for a dead letter to point an
/// operator at the binlog and at the topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    /// Source table, `db.table`.
    pub table: String,
    pub file: String,
    pub pos: u64,
    pub row: u32,
    pub partition: i32,
    pub offset: i64,
}

/// What to write for one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateKind {
    /// Set these properties (only those seen in the window).
    Upsert {
        properties: Properties,
    },
    Archive,
    Delete,
}

/// The coalesced write for one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingUpdate {
    pub key: EntityKey,
    pub kind: UpdateKind,
    /// For an upsert: whether the primary table contributed (newer than any
    /// removal), i.e. the record is known to exist and pass the filter. An
    /// upsert made only of secondary rows should update, not create.
    pub from_primary: bool,
    /// For an upsert: the entity came back into the primary table's filter
    /// (e.g. a user's status went from closed to active) and nothing removed
    /// it again since. Changes of its other tables were skipped while it was
    /// out, so the sink must read their current rows to write it whole.
    pub refill: bool,
    /// The changes folded in, in arrival order.
    pub sources: Vec<SourceRef>,
    /// How many change events were folded in.
    pub events: usize,
}

impl PendingUpdate {
    pub fn properties(&self) -> Option<&Properties> {
        match &self.kind {
            UpdateKind::Upsert { properties } => Some(properties),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Slot {
    name: String,
    value: Value,
    stamp: Stamp,
}

#[derive(Debug)]
struct Removal {
    delete: bool,
    stamp: Stamp,
    from_primary: bool,
}

/// An entity being folded.
#[derive(Debug)]
pub(crate) struct PendingEntity {
    key: EntityKey,
    slots: Vec<Slot>,
    index: HashMap<String, usize>,
    removal: Option<Removal>,
    newest_upsert: Option<Stamp>,
    newest_primary_upsert: Option<Stamp>,
    /// The newest primary upsert that brought the entity back into the filter.
    newest_refill: Option<Stamp>,
    sources: Vec<SourceRef>,
    events: usize,
}

fn keep_newest(slot: &mut Option<Stamp>, stamp: &Stamp) {
    if slot.as_ref().is_none_or(|s| stamp.is_newer_than(s)) {
        *slot = Some(stamp.clone());
    }
}

impl PendingEntity {
    pub fn new(key: EntityKey) -> Self {
        Self {
            key,
            slots: Vec::new(),
            index: HashMap::new(),
            removal: None,
            newest_upsert: None,
            newest_primary_upsert: None,
            newest_refill: None,
            sources: Vec::new(),
            events: 0,
        }
    }

    /// Folds one change in.
    pub fn apply(
        &mut self,
        kind: ChangeKind,
        from_primary: bool,
        refill: bool,
        stamp: &Stamp,
        source: &SourceRef,
    ) {
        // One event may route several changes to one entity: count it once.
        if self.sources.last() != Some(source) {
            self.sources.push(source.clone());
            self.events += 1;
        }
        match kind {
            ChangeKind::Upsert(properties) => {
                for (name, value) in properties {
                    match self.index.get(&name) {
                        Some(&i) => {
                            let slot = &mut self.slots[i];
                            if stamp.is_newer_than(&slot.stamp) {
                                slot.value = value;
                                slot.stamp = stamp.clone();
                            }
                        }
                        None => {
                            self.index.insert(name.clone(), self.slots.len());
                            self.slots.push(Slot {
                                name,
                                value,
                                stamp: stamp.clone(),
                            });
                        }
                    }
                }
                keep_newest(&mut self.newest_upsert, stamp);
                if from_primary {
                    keep_newest(&mut self.newest_primary_upsert, stamp);
                    if refill {
                        keep_newest(&mut self.newest_refill, stamp);
                    }
                }
            }
            ChangeKind::Archive | ChangeKind::Delete => {
                if self
                    .removal
                    .as_ref()
                    .is_none_or(|r| stamp.is_newer_than(&r.stamp))
                {
                    self.removal = Some(Removal {
                        delete: matches!(kind, ChangeKind::Delete),
                        stamp: stamp.clone(),
                        from_primary,
                    });
                }
            }
        }
    }

    /// The update to write.
    pub fn finish(self) -> PendingUpdate {
        let newer = |upsert: &Option<Stamp>, removal: &Removal| {
            upsert
                .as_ref()
                .is_some_and(|u| u.is_newer_than(&removal.stamp))
        };
        let removed = self.removal.as_ref().filter(|r| {
            let undoer = if r.from_primary {
                &self.newest_primary_upsert
            } else {
                &self.newest_upsert
            };
            !newer(undoer, r)
        });
        let (kind, from_primary, refill) = match removed {
            Some(r) if r.delete => (UpdateKind::Delete, false, false),
            Some(_) => (UpdateKind::Archive, false, false),
            None => {
                let since_removal = |upsert: &Option<Stamp>| match &self.removal {
                    Some(r) => newer(upsert, r),
                    None => upsert.is_some(),
                };
                let from_primary = since_removal(&self.newest_primary_upsert);
                let refill = since_removal(&self.newest_refill);
                let properties = self.slots.into_iter().map(|s| (s.name, s.value)).collect();
                (UpdateKind::Upsert { properties }, from_primary, refill)
            }
        };
        PendingUpdate {
            key: self.key,
            kind,
            from_primary,
            refill,
            sources: self.sources,
            events: self.events,
        }
    }
}
