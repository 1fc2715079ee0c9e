//! Remembered source positions, for dropping re-sent duplicates.
//!
//! A producer retry or a reader restarted from an older checkpoint publishes
//! changes again. Applying them again is not only wasted API calls: it moves
//! a record back to an old state until the later changes come round again.
//! So the highest binlog position applied per (source table, key) is kept,
//! and a live change at or below it is a duplicate.
//!
//! Memory is bounded by two generations of at most `capacity / 2` entries:
//! when the current one is full it becomes the previous one and the old
//! previous one is dropped. That forgets the oldest half at once, with no
//! per-entry bookkeeping, which is all "evict the oldest" needs here: a key
//! not touched for a whole generation is very unlikely to see a re-send.

use std::collections::HashMap;
use std::sync::Arc;

use super::stamp::Position;

/// Highest position per (source table, key).
#[derive(Debug, Default)]
pub(crate) struct PositionMap {
    tables: HashMap<Arc<str>, HashMap<String, Position>>,
    len: usize,
}

impl PositionMap {
    pub fn get(&self, table: &str, key: &str) -> Option<&Position> {
        self.tables.get(table)?.get(key)
    }

    pub fn insert(&mut self, table: Arc<str>, key: String, position: Position) {
        if self
            .tables
            .entry(table)
            .or_default()
            .insert(key, position)
            .is_none()
        {
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn drain(&mut self) -> impl Iterator<Item = (Arc<str>, String, Position)> + '_ {
        self.len = 0;
        self.tables
            .drain()
            .flat_map(|(t, keys)| keys.into_iter().map(move |(k, p)| (t.clone(), k, p)))
    }
}

/// Positions remembered across windows, at most `capacity` entries.
#[derive(Debug)]
pub(crate) struct RecentPositions {
    generation: usize,
    current: PositionMap,
    previous: PositionMap,
}

impl RecentPositions {
    pub fn new(capacity: usize) -> Self {
        Self {
            generation: capacity / 2,
            current: PositionMap::default(),
            previous: PositionMap::default(),
        }
    }

    pub fn get(&self, table: &str, key: &str) -> Option<&Position> {
        self.current
            .get(table, key)
            .or_else(|| self.previous.get(table, key))
    }

    /// Records `position` as the highest seen for (table, key). The caller
    /// only passes positions newer than the one remembered.
    pub fn record(&mut self, table: Arc<str>, key: String, position: Position) {
        if self.generation == 0 {
            return;
        }
        if self.current.len() >= self.generation && self.current.get(&table, &key).is_none() {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(table, key, position);
    }

    pub fn clear(&mut self) {
        self.current = PositionMap::default();
        self.previous = PositionMap::default();
    }

    /// Entries held (a key may be counted in both generations).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(pos: u64) -> Position {
        Position {
            file: "b.000001".into(),
            pos,
            row: 0,
        }
    }

    #[test]
    fn remembers_and_overwrites() {
        let mut r = RecentPositions::new(10);
        let t: Arc<str> = "app/app.users".into();
        r.record(t.clone(), "1".into(), pos(10));
        r.record(t.clone(), "1".into(), pos(20));
        assert_eq!(r.get("app/app.users", "1"), Some(&pos(20)));
        assert_eq!(r.get("app/app.users", "2"), None);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn stays_within_capacity_forgetting_the_oldest() {
        let mut r = RecentPositions::new(100);
        let t: Arc<str> = "t".into();
        for k in 0..1_000u64 {
            r.record(t.clone(), k.to_string(), pos(k));
            assert!(r.len() <= 100);
        }
        assert_eq!(r.get("t", "999"), Some(&pos(999)));
        assert_eq!(r.get("t", "900"), Some(&pos(900)));
        assert_eq!(r.get("t", "0"), None);
        let mut off = RecentPositions::new(0);
        off.record(t, "1".into(), pos(1));
        assert_eq!(off.len(), 0);
    }
}
