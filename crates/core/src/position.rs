//! Binlog positions and GTIDs.
//!
//! A position is `file:offset`, printed and parsed the way operators write it
//! (`mysql-bin.000042:1337`). Positions are only *partially* ordered: two
//! positions in binlogs with different base names cannot be compared, and two
//! files of the same base name are ordered by their numeric sequence suffix,
//! never by string comparison (`mysql-bin.1000000` comes after `mysql-bin.999999`).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a position or GTID string could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PositionParseError {
    #[error("binlog position `{0}` is not of the form FILE:OFFSET (e.g. mysql-bin.000042:1337)")]
    Position(String),
    #[error("GTID `{0}` is not of the form DOMAIN-SERVER-SEQUENCE (e.g. 0-1-42)")]
    Gtid(String),
}

/// A position in the source server's binary log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// Binlog file name as listed by `SHOW BINARY LOGS`.
    pub file: String,
    /// Byte offset inside that file.
    pub pos: u64,
}

impl BinlogPosition {
    /// The offset of the first event after the 4-byte magic header.
    pub const START_OF_FILE: u64 = 4;

    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        Self {
            file: file.into(),
            pos,
        }
    }

    /// `(base name, sequence number)` of the file, e.g. `("mysql-bin", 42)`.
    pub fn file_sequence(&self) -> Option<(&str, u64)> {
        let (base, seq) = self.file.rsplit_once('.')?;
        seq.parse().ok().map(|n| (base, n))
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        if self.file == other.file {
            return Some(self.pos.cmp(&other.pos));
        }
        match (self.file_sequence(), other.file_sequence()) {
            (Some((a, x)), Some((b, y))) if a == b => Some(x.cmp(&y)),
            _ => None,
        }
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

impl FromStr for BinlogPosition {
    type Err = PositionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PositionParseError::Position(s.to_string());
        let (file, pos) = s.rsplit_once(':').ok_or_else(err)?;
        if file.is_empty() {
            return Err(err());
        }
        let pos = pos.parse().map_err(|_| err())?;
        Ok(Self::new(file, pos))
    }
}

/// A MariaDB GTID: `domain-server-sequence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Gtid {
    pub domain: u32,
    pub server_id: u32,
    pub sequence: u64,
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server_id, self.sequence)
    }
}

impl FromStr for Gtid {
    type Err = PositionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PositionParseError::Gtid(s.to_string());
        let mut parts = s.trim().splitn(3, '-');
        let mut next = || parts.next().ok_or_else(err);
        Ok(Self {
            domain: next()?.parse().map_err(|_| err())?,
            server_id: next()?.parse().map_err(|_| err())?,
            sequence: next()?.parse().map_err(|_| err())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_print_and_parse() {
        let p: BinlogPosition = "mysql-bin.000042:1337".parse().unwrap();
        assert_eq!(p, BinlogPosition::new("mysql-bin.000042", 1337));
        assert_eq!(p.to_string(), "mysql-bin.000042:1337");
        assert!("mysql-bin.000042".parse::<BinlogPosition>().is_err());
        assert!(":12".parse::<BinlogPosition>().is_err());
        assert!("f:x".parse::<BinlogPosition>().is_err());
    }

    #[test]
    fn positions_order_by_file_sequence_not_string() {
        let a = BinlogPosition::new("mysql-bin.999999", 900);
        let b = BinlogPosition::new("mysql-bin.1000000", 4);
        assert!(a < b);
        let c = BinlogPosition::new("mysql-bin.999999", 1000);
        assert!(a < c);
        let other = BinlogPosition::new("other-bin.000001", 4);
        assert_eq!(a.partial_cmp(&other), None);
    }

    #[test]
    fn gtids_print_and_parse() {
        let g: Gtid = "0-1-42".parse().unwrap();
        assert_eq!((g.domain, g.server_id, g.sequence), (0, 1, 42));
        assert_eq!(g.to_string(), "0-1-42");
        assert!("0-1".parse::<Gtid>().is_err());
        assert!("a-b-c".parse::<Gtid>().is_err());
    }
}
