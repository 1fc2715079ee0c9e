//! Writes to the source tables: the fixed rows of [`insert_users`] and a randomized, seeded
//! [`Workload`] of mixed transactions over `users` and `user_cim_details`.
//!
//! The workload is what the fault tests run while they kill processes, so it produces every
//! kind of change the pipeline must survive: inserts, updates, deletes of both tables, NULLs,
//! utf8mb4 text with emoji, extreme numbers (balance ±9999999999.99, ids beyond 2^53 and up to
//! 2^64 − 1), fractional seconds, dates far from today, users leaving and re-entering the
//! sync filter (status A ↔ C/G), the occasional update of every user, and big multi-row
//! transactions. A seed fixes every choice, so a failing run can be repeated; only the timing
//! of the faults around it varies.
//!
//! Every value is one the mapping of `deploy/local/cdc-streamer.toml` and HubSpot accept
//! (valid emails, segments 1..20, purchase codes 0..10 or NULL, statuses A/C/G), so whatever
//! does not converge is the pipeline's fault, not a dead letter. Two further rules keep the
//! tests' checks sharp:
//! - emails are never reused (a counter is part of each), so HubSpot's unique email index
//!   never refuses a contact because of ordering between users;
//! - every write to a `users` row sets `signed_up_at` to a new random instant, so a row never
//!   returns to an earlier state: a state written twice into a target was applied twice
//!   (the apply logs of `tests/faults.rs` rely on this).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql_async::prelude::*;
use mysql_async::{Conn, Params, TxOpts, Value};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::stack::Stack;

/// Runs `sql` in `db` on the stack's MariaDB as the admin user. Panics with the statement and
/// the error.
pub async fn exec(db: &str, sql: &str) {
    exec_url(&Stack::get().mysql_url_db(db), sql).await;
}

/// Runs `sql` on the server and database of `url` (e.g. a private MariaDB).
pub async fn exec_url(url: &str, sql: &str) {
    let mut conn = Conn::from_url(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    conn.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.disconnect().await.ok();
}

/// `n` users with ids `from..from+n` and a cim row for every other one, in two statements
/// (so in two transactions). The values are a fixed function of the id.
pub async fn insert_users(db: &str, from: u64, n: u64) {
    let users: Vec<String> = (from..from + n)
        .map(|id| {
            format!(
                "({id}, 'User{id}@Example.com', 'Fïrst{id}', {last}, '+1-555-{id}', {paid}, '19{yy:02}-0{m}-1{d}', '2024-01-02 03:04:05.{ms:03}', {tags}, '{bal}.{c:02}')",
                last = if id % 7 == 0 { "NULL".to_string() } else { format!("'Läst{id} 😀'") },
                paid = id % 2,
                yy = id % 90 + 10,
                m = id % 9 + 1,
                d = id % 9,
                ms = id % 1000,
                tags = if id % 5 == 0 { "NULL".to_string() } else { format!("'{}, {}'", id % 20 + 1, (id + 3) % 20 + 1) },
                bal = id * 3,
                c = id % 100,
            )
        })
        .collect();
    exec(
        db,
        &format!(
            "INSERT INTO users (id, email, first_name, last_name, phone, is_paid, birthday, signed_up_at, tags, balance) VALUES {}",
            users.join(",")
        ),
    )
    .await;
    let cims: Vec<String> = (from..from + n)
        .filter(|id| id % 2 == 0)
        .map(|id| {
            format!(
                "({id}, 'Co {id}', 'Job {id}', 'Country {id}', {}, {}, '{}')",
                id % 11,
                if id % 4 == 0 { "NULL" } else { "'+49'" },
                id * 7
            )
        })
        .collect();
    if !cims.is_empty() {
        exec(
            db,
            &format!(
                "INSERT INTO user_cim_details (user_id, company, job_title, country, annual_purchase, tel_area_code, tel) VALUES {}",
                cims.join(",")
            ),
        )
        .await;
    }
}

/// Copies every row of `users` and `user_cim_details` from `from_url` into the same (empty)
/// tables at `to_url`. Lets the convergence check, which reads the source on the stack's
/// server, judge a source that lives on a private server.
pub async fn copy_app_tables(from_url: &str, to_url: &str) {
    let mut from = Conn::from_url(from_url).await.unwrap();
    let mut to = Conn::from_url(to_url).await.unwrap();
    for table in ["users", "user_cim_details"] {
        let rows: Vec<mysql_async::Row> = from
            .query(format!("SELECT * FROM {table}"))
            .await
            .unwrap_or_else(|e| panic!("reading {table} from {from_url}: {e}"));
        for chunk in rows.chunks(500) {
            let width = chunk[0].len();
            let one = format!("({})", vec!["?"; width].join(","));
            let sql = format!(
                "INSERT INTO {table} VALUES {}",
                vec![one.as_str(); chunk.len()].join(",")
            );
            let params: Vec<Value> = chunk.iter().flat_map(|r| r.clone().unwrap()).collect();
            to.exec_drop(sql, params)
                .await
                .unwrap_or_else(|e| panic!("copying {table} to {to_url}: {e}"));
        }
    }
    from.disconnect().await.ok();
    to.disconnect().await.ok();
}

/// What a workload did, for the tests' reports.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub transactions: u64,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    /// Updates that moved a user across the sync filter (A ↔ C/G).
    pub status_changes: u64,
    /// `UPDATE users` without a `WHERE`.
    pub mass_updates: u64,
    /// Transactions of [`Workload::big_transaction`].
    pub big_transactions: u64,
}

impl Counts {
    /// Row changes written in all, the way the binlog counts them.
    pub fn rows(&self) -> u64 {
        self.inserts + self.updates + self.deletes
    }
}

/// A seeded random writer over the app tables of one database. See the module doc.
pub struct Workload {
    url: String,
    rng: StdRng,
    conn: Option<Conn>,
    /// Ids of the `users` rows that exist.
    users: Vec<u64>,
    /// User ids that have a `user_cim_details` row (also of deleted users: the schema has no
    /// foreign key, and an orphaned detail row is a case of its own).
    cims: HashSet<u64>,
    /// Users whose status is C or G (outside the sync filter).
    inactive: HashSet<u64>,
    next_id: u64,
    /// Large ids not used yet, handed out now and then instead of the next small one.
    big_ids: Vec<u64>,
    /// Part of every email, so that none is used twice.
    emails: u64,
    /// Chance that a [`step`](Self::step) is an update of every user.
    pub mass_update_chance: f64,
    /// Most changes one [`step`](Self::step) groups into a transaction.
    pub max_ops_per_transaction: usize,
    /// Rows under this many users make steps insert rather than delete.
    pub min_users: usize,
    pub counts: Counts,
}

/// Ids at the edges of `BIGINT UNSIGNED` and of what a double holds exactly.
const BIG_IDS: [u64; 8] = [
    (1 << 53) - 1,
    (1 << 53) + 1,
    (1 << 53) + 3,
    (1 << 63) - 1,
    1 << 63,
    (1 << 63) + 7,
    u64::MAX - 1,
    u64::MAX,
];

impl Workload {
    /// A workload on the database selected by `url` (which must hold the app schema), its
    /// choices fixed by `seed`. Small ids start at `first_id`.
    pub fn new(url: &str, seed: u64, first_id: u64) -> Workload {
        let mut big_ids = BIG_IDS.to_vec();
        big_ids.reverse();
        Workload {
            url: url.to_string(),
            rng: StdRng::seed_from_u64(seed),
            conn: None,
            users: Vec::new(),
            cims: HashSet::new(),
            inactive: HashSet::new(),
            next_id: first_id,
            big_ids,
            emails: 0,
            mass_update_chance: 0.003,
            max_ops_per_transaction: 4,
            min_users: 50,
            counts: Counts::default(),
        }
    }

    /// A workload on `db` of the stack's MariaDB.
    pub fn on_stack(db: &str, seed: u64) -> Workload {
        Workload::new(&Stack::get().mysql_url_db(db), seed, 1)
    }

    /// Users that exist now.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Drops the connection; the next write opens a new one (after a server restart).
    pub async fn disconnect(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.disconnect().await.ok();
        }
    }

    async fn conn(&mut self) -> &mut Conn {
        if self.conn.is_none() {
            let conn = Conn::from_url(self.url.as_str())
                .await
                .unwrap_or_else(|e| panic!("workload connecting to {}: {e}", self.url));
            self.conn = Some(conn);
        }
        self.conn.as_mut().unwrap()
    }

    /// Inserts `n` users (about half with a detail row), 500 rows per statement and
    /// transaction.
    pub async fn populate(&mut self, n: usize) {
        let mut left = n;
        while left > 0 {
            let now = left.min(500);
            left -= now;
            let mut ops = vec![self.insert_users_op(now)];
            let with_cim: Vec<u64> = self.users[self.users.len() - now..]
                .iter()
                .copied()
                .filter(|_| self.rng.gen_bool(0.5))
                .collect();
            if !with_cim.is_empty() {
                ops.push(self.insert_cims_op(&with_cim));
            }
            self.commit(ops).await;
        }
    }

    /// One transaction of 1..=`max_ops_per_transaction` random changes, or now and then an
    /// update of every user.
    pub async fn step(&mut self) {
        if self.rng.gen_bool(self.mass_update_chance) {
            self.mass_update().await;
            return;
        }
        let n = self.rng.gen_range(1..=self.max_ops_per_transaction.max(1));
        let ops: Vec<Op> = (0..n).map(|_| self.random_op()).collect();
        self.commit(ops).await;
    }

    /// `steps` steps, one after the other.
    pub async fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step().await;
        }
    }

    /// Steps until `stop` is set, pausing `pause` between them; returns the steps taken.
    pub async fn run_until(&mut self, stop: &AtomicBool, pause: Duration) -> usize {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            self.step().await;
            n += 1;
            tokio::time::sleep(pause).await;
        }
        n
    }

    /// `UPDATE users` of every row: flips `is_paid` and moves `signed_up_at` by a second
    /// (towards the middle of the range, so it never overflows).
    pub async fn mass_update(&mut self) {
        let op = self.mass_update_op();
        self.commit(vec![op]).await;
    }

    /// One transaction that inserts `new_users` users (with detail rows for about half), then
    /// updates each of them and 100 existing ones: an import with its fix-up, about three row
    /// events per new user between two commits, for killing the reader in the middle of one.
    /// (Not an update of every user: at HubSpot's pace those are what a test can afford only
    /// now and then.)
    pub async fn big_transaction(&mut self, new_users: usize) {
        let old: Vec<u64> = self
            .users
            .choose_multiple(&mut self.rng, 100)
            .copied()
            .collect();
        let mut ops = Vec::new();
        let mut left = new_users;
        while left > 0 {
            let now = left.min(500);
            left -= now;
            ops.push(self.insert_users_op(now));
            let fresh: Vec<u64> = self.users[self.users.len() - now..]
                .iter()
                .copied()
                .filter(|_| self.rng.gen_bool(0.5))
                .collect();
            if !fresh.is_empty() {
                ops.push(self.insert_cims_op(&fresh));
            }
        }
        let mut touched = old;
        touched.extend_from_slice(&self.users[self.users.len() - new_users..]);
        for ids in touched.chunks(500) {
            ops.push(self.update_users_op(ids));
        }
        self.commit(ops).await;
        self.counts.big_transactions += 1;
    }

    async fn commit(&mut self, ops: Vec<Op>) {
        let url = self.url.clone();
        let conn = self.conn().await;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .unwrap_or_else(|e| panic!("workload BEGIN on {url}: {e}"));
        for op in &ops {
            tx.exec_drop(op.sql.as_str(), Params::Positional(op.params.clone()))
                .await
                .unwrap_or_else(|e| panic!("workload on {url}: {}: {e}", op.sql));
        }
        tx.commit()
            .await
            .unwrap_or_else(|e| panic!("workload COMMIT on {url}: {e}"));
        self.counts.transactions += 1;
    }

    fn random_op(&mut self) -> Op {
        let few = self.users.len() < self.min_users;
        let roll = self.rng.gen_range(0..100);
        match roll {
            _ if few || self.users.is_empty() => {
                let n = self.rng.gen_range(1..=5);
                self.insert_users_op(n)
            }
            0..=19 => {
                let n = self.rng.gen_range(1..=5);
                self.insert_users_op(n)
            }
            20..=29 => match self.user_without_cim() {
                Some(id) => self.insert_cims_op(&[id]),
                None => self.update_user_op(),
            },
            30..=54 => self.update_user_op(),
            55..=66 => match self.user_with_cim() {
                Some(id) => self.update_cim_op(id),
                None => self.update_user_op(),
            },
            67..=84 => self.status_op(),
            85..=94 => self.delete_user_op(),
            _ => match self.user_with_cim() {
                Some(id) => self.delete_cim_op(id),
                None => self.update_user_op(),
            },
        }
    }

    fn any_user(&mut self) -> u64 {
        *self.users.choose(&mut self.rng).expect("users exist")
    }

    /// A user without a detail row, if ten tries find one.
    fn user_without_cim(&mut self) -> Option<u64> {
        self.find_user(false)
    }

    fn user_with_cim(&mut self) -> Option<u64> {
        self.find_user(true)
    }

    fn find_user(&mut self, with_cim: bool) -> Option<u64> {
        for _ in 0..10 {
            let id = self.any_user();
            if self.cims.contains(&id) == with_cim {
                return Some(id);
            }
        }
        None
    }

    fn new_id(&mut self) -> u64 {
        if self.rng.gen_bool(0.02) {
            if let Some(id) = self.big_ids.pop() {
                return id;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn insert_users_op(&mut self, n: usize) -> Op {
        let mut params = Vec::with_capacity(n * 11);
        for _ in 0..n {
            let id = self.new_id();
            self.users.push(id);
            let v = &mut self.rng;
            let status = if v.gen_bool(0.85) {
                "A"
            } else if v.gen_bool(0.5) {
                "C"
            } else {
                "G"
            };
            if status != "A" {
                self.inactive.insert(id);
            }
            params.extend([
                Value::from(id),
                Value::from(email(v, &mut self.emails)),
                Value::from(name(v)),
                Value::from(name(v)),
                Value::from(phone(v)),
                Value::from(status),
                Value::from(v.gen_range(0..=1u8)),
                Value::from(birthday(v)),
                Value::from(instant(v)),
                Value::from(tags(v)),
                Value::from(balance(v)),
            ]);
        }
        self.counts.inserts += n as u64;
        let row = "(?,?,?,?,?,?,?,?,?,?,?)";
        Op {
            sql: format!(
                "INSERT INTO users (id, email, first_name, last_name, phone, user_status, is_paid, birthday, signed_up_at, tags, balance) VALUES {}",
                vec![row; n].join(",")
            ),
            params,
        }
    }

    fn insert_cims_op(&mut self, ids: &[u64]) -> Op {
        let mut params = Vec::with_capacity(ids.len() * 7);
        for &id in ids {
            self.cims.insert(id);
            let v = &mut self.rng;
            params.extend([
                Value::from(id),
                Value::from(text(v, &COMPANIES)),
                Value::from(text(v, &JOBS)),
                Value::from(text(v, &COUNTRIES)),
                Value::from(purchase(v)),
                Value::from(text(v, &AREA_CODES)),
                Value::from(tel(v)),
            ]);
        }
        self.counts.inserts += ids.len() as u64;
        Op {
            sql: format!(
                "INSERT INTO user_cim_details (user_id, company, job_title, country, annual_purchase, tel_area_code, tel) VALUES {}",
                vec!["(?,?,?,?,?,?,?)"; ids.len()].join(",")
            ),
            params,
        }
    }

    /// Changes one to four columns of a user, plus the `signed_up_at` stamp.
    fn update_user_op(&mut self) -> Op {
        let id = self.any_user();
        let v = &mut self.rng;
        let mut sets = Vec::new();
        let mut params = Vec::new();
        let columns = [
            "email",
            "first_name",
            "last_name",
            "phone",
            "is_paid",
            "birthday",
            "tags",
            "balance",
        ];
        let n = v.gen_range(1..=4);
        for column in columns.choose_multiple(v, n) {
            sets.push(format!("{column} = ?"));
            params.push(match *column {
                "email" => Value::from(email(v, &mut self.emails)),
                "first_name" | "last_name" => Value::from(name(v)),
                "phone" => Value::from(phone(v)),
                "is_paid" => Value::from(v.gen_range(0..=1u8)),
                "birthday" => Value::from(birthday(v)),
                "tags" => Value::from(tags(v)),
                _ => Value::from(balance(v)),
            });
        }
        sets.push("signed_up_at = ?".into());
        params.push(Value::from(instant(v)));
        params.push(Value::from(id));
        self.counts.updates += 1;
        Op {
            sql: format!("UPDATE users SET {} WHERE id = ?", sets.join(", ")),
            params,
        }
    }

    /// Moves a user into or out of the sync filter: A ↔ C/G (and C ↔ G now and then).
    fn status_op(&mut self) -> Op {
        let id = self.any_user();
        let v = &mut self.rng;
        let status = *["A", "A", "C", "G"].choose(v).unwrap();
        if status == "A" {
            self.inactive.remove(&id);
        } else {
            self.inactive.insert(id);
        }
        self.counts.updates += 1;
        self.counts.status_changes += 1;
        Op {
            sql: "UPDATE users SET user_status = ?, signed_up_at = ? WHERE id = ?".into(),
            params: vec![
                Value::from(status),
                Value::from(instant(v)),
                Value::from(id),
            ],
        }
    }

    fn update_cim_op(&mut self, id: u64) -> Op {
        let v = &mut self.rng;
        let mut sets = Vec::new();
        let mut params = Vec::new();
        let columns = [
            "company",
            "job_title",
            "country",
            "annual_purchase",
            "tel_area_code",
            "tel",
        ];
        let n = v.gen_range(1..=3);
        for column in columns.choose_multiple(v, n) {
            sets.push(format!("{column} = ?"));
            params.push(match *column {
                "company" => Value::from(text(v, &COMPANIES)),
                "job_title" => Value::from(text(v, &JOBS)),
                "country" => Value::from(text(v, &COUNTRIES)),
                "annual_purchase" => Value::from(purchase(v)),
                "tel_area_code" => Value::from(text(v, &AREA_CODES)),
                _ => Value::from(tel(v)),
            });
        }
        params.push(Value::from(id));
        self.counts.updates += 1;
        Op {
            sql: format!(
                "UPDATE user_cim_details SET {} WHERE user_id = ?",
                sets.join(", ")
            ),
            params,
        }
    }

    /// Deletes a user; its detail row goes in the same statement half of the time and is
    /// left behind otherwise (the schema has no foreign key).
    fn delete_user_op(&mut self) -> Op {
        let i = self.rng.gen_range(0..self.users.len());
        let id = self.users.swap_remove(i);
        self.inactive.remove(&id);
        self.counts.deletes += 1;
        if self.cims.contains(&id) && self.rng.gen_bool(0.5) {
            self.cims.remove(&id);
            self.counts.deletes += 1;
            return Op {
                sql: "DELETE u, c FROM users u JOIN user_cim_details c ON c.user_id = u.id WHERE u.id = ?".into(),
                params: vec![Value::from(id)],
            };
        }
        Op {
            sql: "DELETE FROM users WHERE id = ?".into(),
            params: vec![Value::from(id)],
        }
    }

    fn delete_cim_op(&mut self, id: u64) -> Op {
        self.cims.remove(&id);
        self.counts.deletes += 1;
        Op {
            sql: "DELETE FROM user_cim_details WHERE user_id = ?".into(),
            params: vec![Value::from(id)],
        }
    }

    /// The mass update's change, for the given users only.
    fn update_users_op(&mut self, ids: &[u64]) -> Op {
        self.counts.updates += ids.len() as u64;
        Op {
            sql: format!(
                "UPDATE users SET is_paid = 1 - is_paid, signed_up_at = signed_up_at + INTERVAL IF(signed_up_at < '5000-01-01', 1, -1) SECOND WHERE id IN ({})",
                vec!["?"; ids.len()].join(",")
            ),
            params: ids.iter().map(|&id| Value::from(id)).collect(),
        }
    }

    fn mass_update_op(&mut self) -> Op {
        self.counts.updates += self.users.len() as u64;
        self.counts.mass_updates += 1;
        Op {
            sql: "UPDATE users SET is_paid = 1 - is_paid, signed_up_at = signed_up_at + INTERVAL IF(signed_up_at < '5000-01-01', 1, -1) SECOND".into(),
            params: Vec::new(),
        }
    }
}

/// One statement of a transaction.
struct Op {
    sql: String,
    params: Vec<Value>,
}

const FIRST_NAMES: [&str; 14] = [
    "Ann",
    "Zoë",
    "José",
    "Ærøskøbing",
    "李雷",
    "Ольга",
    "😀 Smile",
    "O'Brien",
    "Back\\slash",
    "Quote \"Q\"",
    "🧑‍💻 Dev",
    "Ω",
    "Ünïcödé ✓",
    "Ann-Marie",
];
const COMPANIES: [&str; 8] = [
    "Acme",
    "Ünïcorn GmbH",
    "株式会社テスト",
    "🚀 Rocket Inc.",
    "O'Reilly & Sons",
    "Café \"Zoë\"",
    "Semi;colon Ltd",
    "Tab\tCo",
];
const JOBS: [&str; 6] = [
    "CEO",
    "Ingénieur",
    "開発者",
    "🧪 Scientist",
    "Head of \"Things\"",
    "a",
];
const COUNTRIES: [&str; 6] = [
    "Deutschland",
    "日本",
    "Côte d’Ivoire",
    "USA",
    "🇺🇦",
    "Ísland",
];
const AREA_CODES: [&str; 5] = ["+49", "+1", "0044", "+358", "(0)"];
const EMAIL_LOCAL: [&str; 7] = [
    "user",
    "Zoe.",
    "o'brien+",
    "UPPER.Case",
    "x_y-z.",
    "a",
    "first.last+tag",
];
const EMAIL_DOMAINS: [&str; 4] = ["example.com", "Example.ORG", "mail.example.co.uk", "x.io"];

/// A valid, never used email: a local part from a list, a counter, a domain.
fn email(v: &mut StdRng, counter: &mut u64) -> String {
    *counter += 1;
    format!(
        "{}{}{}@{}",
        EMAIL_LOCAL.choose(v).unwrap(),
        counter,
        ["", "x"].choose(v).unwrap(),
        EMAIL_DOMAINS.choose(v).unwrap()
    )
}

/// NULL, empty, a name from the list, or the longest a column holds (100 characters, 4-byte
/// emoji included).
fn name(v: &mut StdRng) -> Option<String> {
    match v.gen_range(0..20) {
        0..=2 => None,
        3 => Some(String::new()),
        4 => Some("é".repeat(100)),
        5 => Some("😀".repeat(100)),
        _ => Some(FIRST_NAMES.choose(v).unwrap().to_string()),
    }
}

fn phone(v: &mut StdRng) -> Option<String> {
    match v.gen_range(0..6) {
        0 => None,
        1 => Some(String::new()),
        2 => Some(format!("+49 (0)30 {}", v.gen_range(100_000..9_999_999))),
        _ => Some(format!("+1-555-{:04}", v.gen_range(0..10_000))),
    }
}

/// NULL, or a date between 1900 and 2030; now and then one at the edges of `DATE` and of
/// the epoch.
fn birthday(v: &mut StdRng) -> Option<String> {
    match v.gen_range(0..20) {
        0..=4 => None,
        5 => Some(
            [
                "1000-01-01",
                "9999-12-31",
                "1970-01-01",
                "1969-12-31",
                "2000-02-29",
            ]
            .choose(v)
            .unwrap()
            .to_string(),
        ),
        _ => Some(format!(
            "{}-{:02}-{:02}",
            v.gen_range(1900..=2030),
            v.gen_range(1..=12),
            v.gen_range(1..=28)
        )),
    }
}

/// A `DATETIME(3)` value with random milliseconds, mostly between 1970 and 2037, sometimes
/// from anywhere in 1000..9999. Random enough never to repeat in a test.
fn instant(v: &mut StdRng) -> String {
    let year = if v.gen_bool(0.05) {
        v.gen_range(1000..=9999)
    } else {
        v.gen_range(1970..=2037)
    };
    format!(
        "{year}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        v.gen_range(1..=12),
        v.gen_range(1..=28),
        v.gen_range(0..24),
        v.gen_range(0..60),
        v.gen_range(0..60),
        v.gen_range(0..1000)
    )
}

/// NULL, empty, or 1..4 distinct segments of 1..20, separated by `,` or `, `.
fn tags(v: &mut StdRng) -> Option<String> {
    match v.gen_range(0..10) {
        0..=1 => None,
        2 => Some(String::new()),
        _ => {
            let all: Vec<u8> = (1..=20).collect();
            let n = v.gen_range(1..=4);
            let picked: Vec<String> = all.choose_multiple(v, n).map(u8::to_string).collect();
            Some(picked.join(if v.gen_bool(0.5) { "," } else { ", " }))
        }
    }
}

/// A `DECIMAL(12,2)` value: the extremes ±9999999999.99, zero, a cent either side of it, or
/// a random amount of random magnitude.
fn balance(v: &mut StdRng) -> String {
    let cents: i64 = match v.gen_range(0..20) {
        0 => 999_999_999_999,
        1 => -999_999_999_999,
        2 => 0,
        3 => *[1, -1].choose(v).unwrap(),
        _ => {
            let magnitude = 10i64.pow(v.gen_range(1..=12));
            v.gen_range(-magnitude + 1..magnitude)
        }
    };
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn text(v: &mut StdRng, pool: &[&str]) -> Option<String> {
    match v.gen_range(0..8) {
        0 => None,
        1 => Some(String::new()),
        _ => Some(pool.choose(v).unwrap().to_string()),
    }
}

/// The annual purchase code: 0..10 (what the enumeration maps) or NULL.
fn purchase(v: &mut StdRng) -> Option<u8> {
    if v.gen_bool(0.2) {
        None
    } else {
        Some(v.gen_range(0..=10))
    }
}

fn tel(v: &mut StdRng) -> Option<String> {
    match v.gen_range(0..6) {
        0 => None,
        1 => Some(String::new()),
        _ => Some(v.gen_range(1_000u64..10_000_000_000).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_fit_the_schema_and_the_mapping() {
        let mut v = StdRng::seed_from_u64(1);
        let mut counter = 0;
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let e = email(&mut v, &mut counter);
            assert!(seen.insert(e.to_lowercase()), "{e} repeated");
            assert!(e.len() <= 255 && e.contains('@') && !e.contains(' '));
            let b = balance(&mut v);
            let n: f64 = b.parse().unwrap();
            assert!(n.abs() <= 9_999_999_999.99, "{b}");
            if let Some(t) = tags(&mut v) {
                for s in t.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    assert!((1..=20).contains(&s.parse::<u8>().unwrap()), "{t}");
                }
            }
            if let Some(p) = purchase(&mut v) {
                assert!(p <= 10);
            }
            assert_eq!(instant(&mut v).len(), 23);
            if let Some(n) = name(&mut v) {
                assert!(n.chars().count() <= 100);
            }
        }
        assert_eq!(
            balance(&mut StdRng::seed_from_u64(7)),
            balance(&mut StdRng::seed_from_u64(7))
        );
    }
}
