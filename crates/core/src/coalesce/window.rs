//! The coalescing window: change events in, one update per entity out.
//!
//! A sink consumer pushes events one at a time, in partition order, and
//! flushes when [`Window::is_due`] says so (or a push answers `Full`):
//! `drain()`, write the batches, then commit the drained offsets. Nothing
//! here reads a clock; the caller passes `now`, so tests are deterministic.
//!
//! Memory is bounded by `max_events` and `max_entities`: a push that would
//! exceed them is refused (`Full`) rather than accepted, so the caller can
//! flush and push it again.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::config::CoalesceConfig;
use super::drained::{Drained, WindowStats};
use super::entity::{Change, EntityKey};
use super::pending::{PendingEntity, SourceRef};
use super::recent::{PositionMap, RecentPositions};
use super::route::Route;
use super::stamp::{Interner, Position, Stamp};
use crate::event::ChangeEvent;
use crate::mapping::MappingError;

/// What happened to a pushed event.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// Folded into the window.
    Accepted,
    /// Made no change (table not mapped, filtered out, nothing mapped
    /// changed). Its offset is committed with the window.
    Skipped,
    /// A re-sent event at or below the highest position already seen for
    /// its table and key: dropped. Its offset is committed with the window.
    Duplicate,
    /// Mapping failed. Write the event to the dead-letter topic before the
    /// window is flushed: its offset is committed with the window.
    Rejected(MappingError),
    /// Not accepted, the window is full: drain and flush it, then push this
    /// same event again.
    Full,
}

/// One pushed event with what the window derives from it.
struct Incoming<'a> {
    event: &'a ChangeEvent,
    /// `source/db.table`: the scope of positions for duplicate detection.
    table_id: String,
    position: Position,
    /// A binlog change (not a snapshot row, not a replay).
    live: bool,
    partition: i32,
    offset: i64,
}

/// A bounded window of changes being coalesced.
#[derive(Debug)]
pub struct Window {
    config: CoalesceConfig,
    entities: Vec<PendingEntity>,
    index: HashMap<EntityKey, usize>,
    /// Events pushed into this window, duplicates excepted.
    events: usize,
    offsets: BTreeMap<i32, i64>,
    stats: WindowStats,
    opened_at: Option<Instant>,
    /// Highest live position per (table, key) seen in this window.
    seen: PositionMap,
    /// The same, remembered from earlier windows.
    recent: RecentPositions,
    names: Interner,
    arrivals: u64,
}

impl Window {
    pub fn new(config: CoalesceConfig) -> Self {
        Self {
            recent: RecentPositions::new(config.recent_positions),
            config,
            entities: Vec::new(),
            index: HashMap::new(),
            events: 0,
            offsets: BTreeMap::new(),
            stats: WindowStats::default(),
            opened_at: None,
            seen: PositionMap::default(),
            names: Interner::default(),
            arrivals: 0,
        }
    }

    pub fn config(&self) -> &CoalesceConfig {
        &self.config
    }

    /// Events in the window (duplicates excepted).
    pub fn events(&self) -> usize {
        self.events
    }

    /// Distinct entities in the window.
    pub fn entities(&self) -> usize {
        self.entities.len()
    }

    /// Positions remembered from earlier windows (at most `recent_positions`).
    pub fn remembered_positions(&self) -> usize {
        self.recent.len()
    }

    /// True when nothing was pushed since the last drain.
    pub fn is_empty(&self) -> bool {
        self.opened_at.is_none()
    }

    /// True when a limit is reached: the next push may be refused.
    pub fn is_full(&self) -> bool {
        self.events >= self.config.max_events || self.entities.len() >= self.config.max_entities
    }

    /// Whether to flush now: a limit is reached, or the first event pushed
    /// is `max_wait_ms` old.
    pub fn is_due(&self, now: Instant) -> bool {
        self.is_full()
            || self
                .opened_at
                .is_some_and(|t| now.saturating_duration_since(t) >= self.config.max_wait())
    }

    /// Pushes one event read from `partition` at `offset`; `route` turns it
    /// into entity changes. Events of a partition must be pushed in offset
    /// order, and after `Full` the same event must be pushed again (after a
    /// drain) before any later one.
    pub fn push(
        &mut self,
        event: &ChangeEvent,
        partition: i32,
        offset: i64,
        route: &impl Route,
        now: Instant,
    ) -> PushOutcome {
        let incoming = Incoming {
            event,
            // Positions are per source: the source name is part of the table.
            table_id: format!("{}/{}.{}", event.source.name, event.db, event.table),
            position: self.names.position(&event.source),
            // Snapshot and replayed events always apply: they are not re-sends.
            live: !event.source.snapshot && !event.source.replay,
            partition,
            offset,
        };
        if incoming.live && self.is_duplicate(&incoming) {
            self.note(partition, offset, now);
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        if self.events > 0 && self.events >= self.config.max_events {
            return PushOutcome::Full;
        }
        let changes = match route.route(event) {
            Ok(changes) => changes,
            Err(e) => {
                // Dead-lettered counts as handled: a re-send is a duplicate.
                self.accept(&incoming, now);
                self.stats.rejected += 1;
                return PushOutcome::Rejected(e);
            }
        };
        if self.events > 0
            && self.entities.len() + self.new_entities(&changes) > self.config.max_entities
        {
            return PushOutcome::Full;
        }
        self.accept(&incoming, now);
        if changes.is_empty() {
            self.stats.skipped += 1;
            return PushOutcome::Skipped;
        }
        self.stats.applied += 1;
        let stamp = Stamp {
            position: incoming.position,
            snapshot: event.source.snapshot,
            arrival: self.arrivals,
        };
        self.arrivals += 1;
        let source = SourceRef {
            table: format!("{}.{}", event.db, event.table),
            file: event.source.file.clone(),
            pos: event.source.pos,
            row: event.source.row,
            partition,
            offset,
        };
        for change in changes {
            let i = match self.index.get(&change.entity) {
                Some(&i) => i,
                None => {
                    self.index
                        .insert(change.entity.clone(), self.entities.len());
                    self.entities.push(PendingEntity::new(change.entity));
                    self.entities.len() - 1
                }
            };
            self.entities[i].apply(
                change.kind,
                change.from_primary,
                change.refill,
                &stamp,
                &source,
            );
        }
        PushOutcome::Accepted
    }

    /// Closes the window: one update per entity, the offsets to commit after
    /// writing them, and the window's counters. The positions seen are
    /// remembered for duplicate detection in later windows.
    pub fn drain(&mut self) -> Drained {
        self.index.clear();
        let mut updates: Vec<_> = std::mem::take(&mut self.entities)
            .into_iter()
            .map(PendingEntity::finish)
            .collect();
        // Stable: within a kind, updates keep the order entities arrived in.
        updates.sort_by_key(|u| u.kind.batch_kind());
        for (table, key, position) in self.seen.drain() {
            self.recent.record(table, key, position);
        }
        let mut stats = std::mem::take(&mut self.stats);
        stats.updates_out = updates.len() as u64;
        self.events = 0;
        self.opened_at = None;
        Drained {
            updates,
            offsets: std::mem::take(&mut self.offsets),
            stats,
        }
    }

    /// Drops the window's content without producing updates, and forgets its
    /// positions (for a consumer that lost its partitions and will re-read
    /// from the committed offsets).
    pub fn discard(&mut self) {
        self.entities.clear();
        self.index.clear();
        self.seen = PositionMap::default();
        self.offsets.clear();
        self.stats = WindowStats::default();
        self.events = 0;
        self.opened_at = None;
    }

    /// Forgets the positions remembered from drained windows. Call it when
    /// drained updates were not written after all and their events will be
    /// read again (a seek back to the committed offsets), or they would be
    /// dropped as duplicates.
    pub fn forget_positions(&mut self) {
        self.recent.clear();
    }

    /// Counts an event into the window: its offset, and its position for
    /// duplicate detection.
    fn accept(&mut self, incoming: &Incoming<'_>, now: Instant) {
        self.note(incoming.partition, incoming.offset, now);
        self.events += 1;
        if incoming.live {
            let table = self.names.get(&incoming.table_id);
            let key = incoming.event.key.clone();
            self.seen.insert(table, key, incoming.position.clone());
        }
    }

    fn note(&mut self, partition: i32, offset: i64, now: Instant) {
        self.opened_at.get_or_insert(now);
        self.stats.events_in += 1;
        let next = self.offsets.entry(partition).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    fn is_duplicate(&self, incoming: &Incoming<'_>) -> bool {
        let (table, key) = (incoming.table_id.as_str(), incoming.event.key.as_str());
        let highest = self
            .seen
            .get(table, key)
            .or_else(|| self.recent.get(table, key));
        highest.is_some_and(|h| incoming.position.cmp_position(h).is_some_and(|o| o.is_le()))
    }

    /// Entities `changes` would add to the window.
    fn new_entities(&self, changes: &[Change]) -> usize {
        changes
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                !self.index.contains_key(&c.entity)
                    && !changes[..*i].iter().any(|d| d.entity == c.entity)
            })
            .count()
    }
}
