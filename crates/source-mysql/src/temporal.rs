//! DATE, DATETIME, TIMESTAMP and TIME values as text, one set of rules for
//! binlog rows and snapshot rows (docs/change-events.md).
//!
//! The digits are written by hand: this runs for every temporal column of
//! every row, and chrono's format strings (parsed on each call) plus the
//! temporary strings were a visible share of the decode profile.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use serde_json::Value as Json;

/// Appends `v` in decimal, zero-padded to at least `width` digits.
fn push_num(out: &mut String, v: u32, width: usize) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for _ in buf.len() - i..width {
        out.push('0');
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// Appends `.fff` with exactly `fsp` digits of `us`; nothing for `fsp = 0`.
fn push_frac(out: &mut String, us: u32, fsp: u8) {
    let fsp = fsp.min(6) as usize;
    if fsp == 0 {
        return;
    }
    let mut digits = [0u8; 6];
    let mut v = us;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.push('.');
    for &b in &digits[..fsp] {
        out.push(b as char);
    }
}

/// `.fff` with exactly `fsp` digits of `us`; empty for `fsp = 0`.
pub fn frac(us: u32, fsp: u8) -> String {
    let mut out = String::new();
    push_frac(&mut out, us, fsp);
    out
}

/// `YYYY-MM-DDTHH:MM:SS[.f]`, with `Z` when `zulu`.
#[allow(clippy::too_many_arguments)]
fn iso(y: u32, m: u32, d: u32, h: u32, mi: u32, s: u32, us: u32, fsp: u8, zulu: bool) -> Json {
    let mut out = String::with_capacity(28);
    push_num(&mut out, y, 4);
    out.push('-');
    push_num(&mut out, m, 2);
    out.push('-');
    push_num(&mut out, d, 2);
    out.push('T');
    push_num(&mut out, h, 2);
    out.push(':');
    push_num(&mut out, mi, 2);
    out.push(':');
    push_num(&mut out, s, 2);
    push_frac(&mut out, us, fsp);
    if zulu {
        out.push('Z');
    }
    Json::String(out)
}

/// A DATE: `YYYY-MM-DD`, zero dates included.
pub fn date(y: u16, m: u8, d: u8) -> Json {
    let mut out = String::with_capacity(10);
    push_num(&mut out, y.into(), 4);
    out.push('-');
    push_num(&mut out, m.into(), 2);
    out.push('-');
    push_num(&mut out, d.into(), 2);
    Json::String(out)
}

/// A DATETIME written in a zone `tz_offset_secs` east of UTC, as the UTC
/// instant: `YYYY-MM-DDTHH:MM:SS[.f]Z`. Zero and invalid dates
/// (`0000-00-00 00:00:00`) have no instant: kept verbatim, without `Z`.
#[allow(clippy::too_many_arguments)]
pub fn datetime(y: u16, m: u8, d: u8, h: u8, mi: u8, s: u8, us: u32, fsp: u8, tz: i32) -> Json {
    let local = NaiveDate::from_ymd_opt(y.into(), m.into(), d.into())
        .and_then(|date| date.and_hms_micro_opt(h.into(), mi.into(), s.into(), us));
    let (y, m, d, h, mi, s) = (y.into(), m.into(), d.into(), h.into(), mi.into(), s.into());
    match local {
        Some(_) if tz == 0 => iso(y, m, d, h, mi, s, us, fsp, true),
        Some(local) => {
            let utc = local - chrono::Duration::seconds(tz.into());
            match u32::try_from(utc.year()) {
                Ok(year) => iso(
                    year,
                    utc.month(),
                    utc.day(),
                    utc.hour(),
                    utc.minute(),
                    utc.second(),
                    us,
                    fsp,
                    true,
                ),
                // Shifted before year 0: chrono's signed year.
                Err(_) => Json::String(format!(
                    "{}{}Z",
                    utc.format("%Y-%m-%dT%H:%M:%S"),
                    frac(us, fsp)
                )),
            }
        }
        None => iso(y, m, d, h, mi, s, us, fsp, false),
    }
}

/// A TIMESTAMP given as seconds since the epoch: the UTC instant.
pub fn timestamp(sec: i64, us: u32, fsp: u8) -> Json {
    match DateTime::from_timestamp(sec, us * 1000) {
        Some(t) => {
            let t = t.naive_utc();
            iso(
                t.year() as u32,
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                us,
                fsp,
                true,
            )
        }
        None => Json::from(sec),
    }
}

/// A TIME: `[-]HH:MM:SS[.f]`, hours beyond 24 (up to 838) as they are.
pub fn time(neg: bool, hours: u32, m: u8, s: u8, us: u32, fsp: u8) -> Json {
    let mut out = String::with_capacity(17);
    if neg {
        out.push('-');
    }
    push_num(&mut out, hours, 2);
    out.push(':');
    push_num(&mut out, m.into(), 2);
    out.push(':');
    push_num(&mut out, s.into(), 2);
    push_frac(&mut out, us, fsp);
    Json::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fractions_have_exactly_fsp_digits() {
        assert_eq!(frac(123456, 3), ".123");
        assert_eq!(frac(120000, 6), ".120000");
        assert_eq!(frac(5, 6), ".000005");
        assert_eq!(frac(5, 0), "");
    }

    #[test]
    fn the_same_text_as_chrono_formatting() {
        // The previous implementation, as the oracle.
        let chrono_iso = |y: i32, m, d, h, mi, s, us, fsp, tz: i64| {
            let n = NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_micro_opt(h, mi, s, us)
                .unwrap()
                - chrono::Duration::seconds(tz);
            format!("{}{}Z", n.format("%Y-%m-%dT%H:%M:%S"), frac(us, fsp))
        };
        for (y, m, d, h, mi, s, us, fsp, tz) in [
            (2024u16, 1u8, 2u8, 3u8, 4u8, 5u8, 678_000u32, 3u8, 0i32),
            (1, 1, 1, 0, 0, 0, 0, 0, 0),
            (9999, 12, 31, 23, 59, 59, 999_999, 6, 0),
            (2024, 1, 1, 0, 30, 0, 1, 6, 3600),
            (2024, 2, 29, 23, 0, 0, 0, 1, -7200),
            (999, 3, 4, 5, 6, 7, 80, 5, 19800),
        ] {
            assert_eq!(
                datetime(y, m, d, h, mi, s, us, fsp, tz),
                json!(chrono_iso(
                    y.into(),
                    m.into(),
                    d.into(),
                    h.into(),
                    mi.into(),
                    s.into(),
                    us,
                    fsp,
                    tz.into()
                )),
                "{y}-{m}-{d} {h}:{mi}:{s}.{us} fsp {fsp} tz {tz}"
            );
        }
    }

    #[test]
    fn zero_dates_stay_verbatim_and_edges_format() {
        assert_eq!(
            datetime(0, 0, 0, 0, 0, 0, 0, 0, 0),
            json!("0000-00-00T00:00:00")
        );
        assert_eq!(
            datetime(2024, 2, 0, 1, 2, 3, 40, 2, 0),
            json!("2024-02-00T01:02:03.00")
        );
        assert_eq!(date(0, 0, 0), json!("0000-00-00"));
        assert_eq!(date(2015, 5, 1), json!("2015-05-01"));
        assert_eq!(timestamp(0, 0, 0), json!("1970-01-01T00:00:00Z"));
        assert_eq!(
            timestamp(1_430_459_100, 120_000, 3),
            json!("2015-05-01T05:45:00.120Z")
        );
        assert_eq!(time(true, 838, 59, 59, 0, 0), json!("-838:59:59"));
        assert_eq!(time(false, 1, 2, 3, 450_000, 2), json!("01:02:03.45"));
    }
}
