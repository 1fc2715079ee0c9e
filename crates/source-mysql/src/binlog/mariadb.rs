//! MariaDB's own replication events, which `mysql_common` does not decode.
//!
//! MariaDB numbers them from 160: ANNOTATE_ROWS (160), BINLOG_CHECKPOINT
//! (161), GTID (162) and GTID_LIST (163). Only the last two matter to us:
//! GTID starts a transaction (it replaces BEGIN) and GTID_LIST states the
//! server's GTID position at the start of a binlog file.

use cdc_core::Gtid;

pub const ANNOTATE_ROWS_EVENT: u8 = 160;
pub const BINLOG_CHECKPOINT_EVENT: u8 = 161;
pub const GTID_EVENT: u8 = 162;
pub const GTID_LIST_EVENT: u8 = 163;

/// The transaction is a single statement without BEGIN/COMMIT (DDL or a
/// non-transactional engine): the statement itself ends it.
const FL_STANDALONE: u8 = 1;

/// A decoded MariaDB GTID_EVENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GtidEvent {
    pub gtid: Gtid,
    pub standalone: bool,
}

/// Body layout: seq_no u64, domain_id u32, flags u8, … (little endian). The
/// server id is the event header's.
pub fn parse_gtid(body: &[u8], server_id: u32) -> Option<GtidEvent> {
    let sequence = u64::from_le_bytes(body.get(0..8)?.try_into().ok()?);
    let domain = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?);
    let flags = *body.get(12)?;
    Some(GtidEvent {
        gtid: Gtid {
            domain,
            server_id,
            sequence,
        },
        standalone: flags & FL_STANDALONE != 0,
    })
}

/// Body layout: count u32 (low 28 bits; the high 4 bits are flags), then
/// `count` × (domain u32, server_id u32, seq_no u64).
pub fn parse_gtid_list(body: &[u8]) -> Option<Vec<Gtid>> {
    let count = (u32::from_le_bytes(body.get(0..4)?.try_into().ok()?) & 0x0fff_ffff) as usize;
    let mut out = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let e = body.get(4 + i * 16..4 + (i + 1) * 16)?;
        out.push(Gtid {
            domain: u32::from_le_bytes(e[0..4].try_into().ok()?),
            server_id: u32::from_le_bytes(e[4..8].try_into().ok()?),
            sequence: u64::from_le_bytes(e[8..16].try_into().ok()?),
        });
    }
    Some(out)
}

/// Formats a GTID state (one GTID per domain) the way `@@gtid_binlog_pos`
/// and `@slave_connect_state` write it.
pub fn format_state(gtids: &[Gtid]) -> String {
    gtids
        .iter()
        .map(Gtid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_event_parses() {
        let mut body = 42u64.to_le_bytes().to_vec();
        body.extend_from_slice(&3u32.to_le_bytes());
        body.push(FL_STANDALONE);
        let ev = parse_gtid(&body, 7).unwrap();
        assert_eq!(ev.gtid.to_string(), "3-7-42");
        assert!(ev.standalone);
        assert!(parse_gtid(&body[..10], 7).is_none());
    }

    #[test]
    fn gtid_list_parses() {
        let mut body = 2u32.to_le_bytes().to_vec();
        for (d, s, q) in [(0u32, 1u32, 10u64), (1, 2, 20)] {
            body.extend_from_slice(&d.to_le_bytes());
            body.extend_from_slice(&s.to_le_bytes());
            body.extend_from_slice(&q.to_le_bytes());
        }
        let list = parse_gtid_list(&body).unwrap();
        assert_eq!(format_state(&list), "0-1-10,1-2-20");
        assert!(parse_gtid_list(&body[..20]).is_none());
    }
}
