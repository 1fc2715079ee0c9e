//! Which of two changes is newer.
//!
//! Per property, the change from the later source position wins, whatever
//! order the changes arrived in (re-sends and replays arrive late). Where
//! positions say nothing, arrival decides: positions in differently named
//! binlogs cannot be compared, and snapshot rows carry the snapshot's
//! position with a row index that restarts per chunk, so snapshot rows are
//! ordered among themselves by arrival. A snapshot row read at position P
//! saw the data as it was before the binlog event at P, so at an equal
//! position the binlog change is the newer one.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use crate::event::SourceInfo;
use crate::position::BinlogPosition;

/// A row change's place in the binlog: file, offset, row index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub file: Arc<str>,
    pub pos: u64,
    pub row: u32,
}

impl Position {
    /// Orders by file (by sequence, as [`BinlogPosition`] does), then offset.
    /// Same answer as [`SourceInfo::cmp_position`] without the row, and
    /// without allocating in the common same-file case.
    fn cmp_file_pos(&self, other: &Position) -> Option<Ordering> {
        if self.file == other.file {
            return Some(self.pos.cmp(&other.pos));
        }
        BinlogPosition::new(&*self.file, self.pos)
            .partial_cmp(&BinlogPosition::new(&*other.file, other.pos))
    }

    /// [`SourceInfo::cmp_position`] for stored positions.
    pub fn cmp_position(&self, other: &Position) -> Option<Ordering> {
        match self.cmp_file_pos(other)? {
            Ordering::Equal => Some(self.row.cmp(&other.row)),
            o => Some(o),
        }
    }
}

/// When a change happened (source position) and when it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    pub position: Position,
    pub snapshot: bool,
    /// Arrival sequence number in this coalescer, increasing.
    pub arrival: u64,
}

impl Stamp {
    pub fn is_newer_than(&self, other: &Stamp) -> bool {
        let by_arrival = self.arrival > other.arrival;
        if self.snapshot && other.snapshot {
            return by_arrival;
        }
        match self.position.cmp_file_pos(&other.position) {
            Some(Ordering::Greater) => true,
            Some(Ordering::Less) => false,
            None => by_arrival,
            Some(Ordering::Equal) if self.snapshot != other.snapshot => !self.snapshot,
            Some(Ordering::Equal) => match self.position.row.cmp(&other.position.row) {
                Ordering::Equal => by_arrival,
                o => o == Ordering::Greater,
            },
        }
    }
}

/// Shares the few distinct file and table names among the many positions
/// that mention them.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    names: HashSet<Arc<str>>,
}

impl Interner {
    /// Names seen over a long run grow by one per binlog rotation; past this
    /// many the set is simply restarted (sharing is an optimisation only).
    const MAX_NAMES: usize = 4_096;

    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        if self.names.len() >= Self::MAX_NAMES {
            self.names.clear();
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(n.clone());
        n
    }

    pub fn position(&mut self, source: &SourceInfo) -> Position {
        Position {
            file: self.get(&source.file),
            pos: source.pos,
            row: source.row,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::fixtures::source;

    fn stamp(file: &str, pos: u64, row: u32, snapshot: bool, arrival: u64) -> Stamp {
        Stamp {
            position: Position {
                file: file.into(),
                pos,
                row,
            },
            snapshot,
            arrival,
        }
    }

    #[test]
    fn agrees_with_source_info_cmp_position() {
        let mut names = Interner::default();
        let cases = [
            (("mysql-bin.000009", 900, 3), ("mysql-bin.000010", 4, 0)),
            (("mysql-bin.000009", 900, 3), ("mysql-bin.000009", 900, 4)),
            (("mysql-bin.000009", 900, 3), ("mysql-bin.000009", 900, 3)),
            (("mysql-bin.999999", 900, 0), ("mysql-bin.1000000", 4, 0)),
            (("mysql-bin.000009", 900, 3), ("other.000001", 4, 0)),
        ];
        for ((f1, p1, r1), (f2, p2, r2)) in cases {
            let (a, b) = (source("t", f1, p1, r1), source("t", f2, p2, r2));
            let (pa, pb) = (names.position(&a), names.position(&b));
            assert_eq!(pa.cmp_position(&pb), a.cmp_position(&b));
            assert_eq!(pb.cmp_position(&pa), b.cmp_position(&a));
        }
    }

    #[test]
    fn later_position_wins_whatever_the_arrival() {
        let old = stamp("b.000001", 100, 0, false, 2);
        let new = stamp("b.000001", 200, 0, false, 1);
        assert!(new.is_newer_than(&old));
        assert!(!old.is_newer_than(&new));
        let next_file = stamp("b.000002", 4, 0, false, 0);
        assert!(next_file.is_newer_than(&new));
    }

    #[test]
    fn arrival_decides_when_positions_cannot() {
        let a = stamp("a.000001", 900, 0, false, 1);
        let b = stamp("b.000001", 4, 0, false, 2);
        assert!(b.is_newer_than(&a));
        assert!(!a.is_newer_than(&b));
        // Snapshot rows among themselves: arrival, whatever their row index.
        let s1 = stamp("b.000001", 100, 900, true, 1);
        let s2 = stamp("b.000001", 100, 3, true, 2);
        assert!(s2.is_newer_than(&s1));
        // A binlog change at the snapshot's own position is newer than it.
        let live = stamp("b.000001", 100, 0, false, 0);
        assert!(live.is_newer_than(&s1));
        assert!(!s1.is_newer_than(&live));
        // A binlog change before the snapshot position is older.
        let before = stamp("b.000001", 50, 0, false, 9);
        assert!(s1.is_newer_than(&before));
    }
}
