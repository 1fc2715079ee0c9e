//! How far a pipeline got, read from its processes' JSON logs: the reader's
//! "checkpoint saved" lines (a position every broker acknowledgement has
//! passed) and each sink's "window applied" lines (events consumed, calls
//! made). Reading logs costs the pipeline nothing, unlike polling the broker
//! or a million-row table, and every line carries its own timestamp.

use std::path::Path;

use anyhow::Result;

use cdc_core::BinlogPosition;

use crate::procs::{message, timestamp_us, LogWatch};

/// The reader's acknowledged position.
pub struct ReaderProgress {
    watch: LogWatch,
    /// Last checkpoint saved and when (µs since the epoch).
    pub checkpoint: Option<(BinlogPosition, i64)>,
}

impl ReaderProgress {
    pub fn open(log: &Path) -> Result<ReaderProgress> {
        Ok(ReaderProgress {
            watch: LogWatch::open(log)?,
            checkpoint: None,
        })
    }

    pub fn poll(&mut self) {
        for line in self.watch.new_lines() {
            if message(&line) == "checkpoint saved" {
                let pos = line["fields"]["position"]
                    .as_str()
                    .and_then(|p| p.parse::<BinlogPosition>().ok());
                if let (Some(pos), Some(ts)) = (pos, timestamp_us(&line)) {
                    self.checkpoint = Some((pos, ts));
                }
            }
        }
    }

    /// When the first checkpoint at or after `end` was saved.
    pub fn passed(&mut self, end: &BinlogPosition) -> Option<i64> {
        self.poll();
        match &self.checkpoint {
            Some((p, ts)) if p.partial_cmp(end).is_some_and(|o| o.is_ge()) => Some(*ts),
            _ => None,
        }
    }
}

/// A sink's applied windows.
pub struct SinkProgress {
    watch: LogWatch,
    pub events: u64,
    pub records: u64,
    pub calls: u64,
    pub windows: u64,
    pub dead_letters: u64,
    /// Timestamp (µs) of the last window applied.
    pub last_us: Option<i64>,
}

impl SinkProgress {
    pub fn open(log: &Path) -> Result<SinkProgress> {
        Ok(SinkProgress {
            watch: LogWatch::open(log)?,
            events: 0,
            records: 0,
            calls: 0,
            windows: 0,
            dead_letters: 0,
            last_us: None,
        })
    }

    pub fn poll(&mut self) {
        for line in self.watch.new_lines() {
            if message(&line) != "window applied" {
                continue;
            }
            let f = &line["fields"];
            let n = |k: &str| f[k].as_u64().unwrap_or(0);
            self.events += n("events");
            self.records += n("records");
            self.calls += n("calls");
            self.dead_letters += n("dead_letters");
            self.windows += 1;
            self.last_us = timestamp_us(&line);
        }
    }

    /// When the sink had consumed `events` events in all, if it has.
    pub fn reached(&mut self, events: u64) -> Option<i64> {
        self.poll();
        (self.events >= events).then_some(self.last_us).flatten()
    }
}
