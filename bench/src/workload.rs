//! Realistic rows and the loader: what the source tables hold in the
//! benchmarks, deterministic so two runs decode the same bytes.
//!
//! A `users` row here looks like the product's (deploy/local/sql): an email,
//! utf8mb4 names (some with accents, apostrophes, CJK), a phone, a status, a
//! flag, a birthday, DATETIME(3) and TIMESTAMP(3) stamps, a tag list, a
//! DECIMAL balance and, for one user in fifty, a small JSON profile. About
//! 230 bytes of row image, 13 columns.

use std::time::Instant;

use anyhow::Result;
use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::sql::quote;

/// splitmix64: a tiny deterministic generator (no need for crypto or a crate).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: [&str; 12] = [
    "Ada", "Grace", "José", "Zoë", "Mohammed", "Li", "Søren", "Anaïs", "Kenji", "Olga", "Seán",
    "陈",
];
const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "García", "O'Brien", "Müller", "Nakamura", "Kowalski", "Dubois", "Smith",
    "Ivanova", "Okafor", "王",
];
const COMPANIES: [&str; 6] = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Industries",
    "Wayne Enterprises",
];
const TITLES: [&str; 5] = ["Engineer", "CTO", "Buyer", "Office manager", "Founder"];
const COUNTRIES: [&str; 5] = ["France", "Germany", "Japan", "United States", "Brazil"];

/// The column list of [`user_values`].
pub const USER_COLUMNS: &str = "id, email, first_name, last_name, phone, user_status, is_paid, \
     birthday, signed_up_at, tags, balance, profile";

/// One `users` row as a `(…)` VALUES tuple. Every user is active (`A`), so
/// every change is synced to HubSpot and API call counts are exact.
pub fn user_values(id: u64, rng: &mut Rng) -> String {
    let first = rng.pick(&FIRST);
    let last = rng.pick(&LAST);
    let phone = if id.is_multiple_of(4) {
        "NULL".to_string()
    } else {
        format!("'+1-555-{:07}'", id % 10_000_000)
    };
    let birthday = if id.is_multiple_of(9) {
        "NULL".to_string()
    } else {
        format!(
            "'{}-{:02}-{:02}'",
            1950 + rng.below(55),
            1 + rng.below(12),
            1 + rng.below(28)
        )
    };
    let signed_up = format!(
        "'20{:02}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}'",
        15 + rng.below(10),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    );
    let tags = if id.is_multiple_of(5) {
        "NULL".to_string()
    } else {
        let a = 1 + rng.below(7);
        let b = a + 1 + rng.below(7);
        format!("'{a},{b},{}'", b + 1 + rng.below(6))
    };
    let balance = format!("{}.{:02}", rng.below(100_000), rng.below(100));
    let profile = if id.is_multiple_of(50) {
        quote(&format!(
            r#"{{"plan":"pro","seats":{},"referrer":"partner-{}"}}"#,
            1 + rng.below(50),
            rng.below(100)
        ))
    } else {
        "NULL".to_string()
    };
    format!(
        "({id}, 'user{id}@example.com', {}, {}, {phone}, 'A', {}, {birthday}, {signed_up}, {tags}, {balance}, {profile})",
        quote(first),
        quote(last),
        rng.below(2),
    )
}

/// One `user_cim_details` row for user `id`.
pub fn cim_values(id: u64, rng: &mut Rng) -> String {
    format!(
        "({id}, {}, {}, {}, {}, '+{}', '{:07}')",
        quote(rng.pick(&COMPANIES)),
        quote(rng.pick(&TITLES)),
        quote(rng.pick(&COUNTRIES)),
        rng.below(11),
        1 + rng.below(99),
        rng.below(10_000_000)
    )
}

/// Inserts users `first..first+n` into `db.users`, `per_txn` rows per
/// multi-row INSERT (each its own transaction). Returns rows per second.
pub async fn load_users(
    conn: &mut Conn,
    db: &str,
    first: u64,
    n: u64,
    per_txn: u64,
    with_cim: bool,
) -> Result<f64> {
    let started = Instant::now();
    let mut rng = Rng::new(0x00c0_ffee ^ first);
    let mut id = first;
    let end = first + n;
    while id < end {
        let chunk_end = (id + per_txn).min(end);
        let values: Vec<String> = (id..chunk_end).map(|i| user_values(i, &mut rng)).collect();
        conn.query_drop(format!(
            "INSERT INTO `{db}`.users ({USER_COLUMNS}) VALUES {}",
            values.join(",")
        ))
        .await?;
        if with_cim {
            let values: Vec<String> = (id..chunk_end).map(|i| cim_values(i, &mut rng)).collect();
            conn.query_drop(format!(
                "INSERT INTO `{db}`.user_cim_details (user_id, company, job_title, country, \
                 annual_purchase, tel_area_code, tel) VALUES {}",
                values.join(",")
            ))
            .await?;
        }
        id = chunk_end;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_deterministic_and_escaped() {
        let a = user_values(7, &mut Rng::new(1));
        let b = user_values(7, &mut Rng::new(1));
        assert_eq!(a, b);
        assert!(a.starts_with("(7, 'user7@example.com'"));
        let mut rng = Rng::new(3);
        let all: String = (0..200).map(|i| user_values(i, &mut rng)).collect();
        assert!(all.contains("'O''Brien'"), "apostrophes are doubled");
    }
}
