//! A closed window: the updates to write, and what to commit once written.

use std::collections::BTreeMap;

use super::pending::{PendingUpdate, UpdateKind};

/// Which write call a batch needs (HubSpot: batch upsert vs batch archive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BatchKind {
    Upsert,
    Archive,
    Delete,
}

impl UpdateKind {
    pub fn batch_kind(&self) -> BatchKind {
        match self {
            UpdateKind::Upsert { .. } => BatchKind::Upsert,
            UpdateKind::Archive => BatchKind::Archive,
            UpdateKind::Delete => BatchKind::Delete,
        }
    }
}

/// Counters of one window, for metrics and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Events pushed (accepted, skipped, duplicate or rejected).
    pub events_in: u64,
    /// Events that made at least one change.
    pub applied: u64,
    /// Events that made no change (table not mapped, filtered, unchanged).
    pub skipped: u64,
    /// Re-sent events dropped by source position.
    pub duplicates: u64,
    /// Events whose mapping failed (dead-lettered by the caller).
    pub rejected: u64,
    /// Updates produced.
    pub updates_out: u64,
}

impl WindowStats {
    /// Applied events per update written (10 changes of one user → 10.0).
    pub fn coalescing_ratio(&self) -> f64 {
        if self.updates_out == 0 {
            0.0
        } else {
            self.applied as f64 / self.updates_out as f64
        }
    }
}

/// Up to `batch_size` updates that go in one write request.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub kind: BatchKind,
    pub updates: &'a [PendingUpdate],
}

/// What [`Window::drain`](super::Window::drain) returns.
#[derive(Debug, Clone, Default)]
pub struct Drained {
    /// One update per entity: upserts first, then archives, then deletes,
    /// each in order of the entity's first change.
    pub updates: Vec<PendingUpdate>,
    /// Per partition, the offset to commit once every update is written (or
    /// dead-lettered): the highest offset pushed + 1.
    pub offsets: BTreeMap<i32, i64>,
    pub stats: WindowStats,
}

impl Drained {
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// The updates in write requests: batches of at most `batch_size`, each
    /// of one kind (different kinds are different API calls).
    pub fn chunks(&self, batch_size: usize) -> impl Iterator<Item = Batch<'_>> + '_ {
        let size = batch_size.max(1);
        let mut rest = self.updates.as_slice();
        std::iter::from_fn(move || {
            let kind = rest.first()?.kind.batch_kind();
            let n = rest
                .iter()
                .take(size)
                .take_while(|u| u.kind.batch_kind() == kind)
                .count();
            let (batch, tail) = rest.split_at(n);
            rest = tail;
            Some(Batch {
                kind,
                updates: batch,
            })
        })
    }
}
