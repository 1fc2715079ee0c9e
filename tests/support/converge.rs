//! The convergence check: after a workload (and its faults), every source
//! row of the mapped tables equals its HubSpot contact and its `crm` row,
//! per mapped field after conversion, and nothing extra exists.
//!
//! The expected values are computed here independently of the streamer's
//! mapping code (SQL on the source, plain Rust), so a bug in a conversion
//! cannot hide by being on both sides of the comparison.

use std::collections::BTreeMap;

use mysql_async::prelude::*;
use serde_json::Value;

use crate::sim::PrivateSim;
use crate::stack::Stack;

const RANGES: [&str; 11] = [
    "0-1k USD",
    "1k-2k USD",
    "2k-5k USD",
    "5k-10k USD",
    "10k-20k USD",
    "20k-50k USD",
    "50k-100k USD",
    "100k-200k USD",
    "200k-500k USD",
    "500k-1M USD",
    "1M+ USD",
];

type Props = BTreeMap<&'static str, String>;

/// What the contact of each synced user (status not C/G) must hold,
/// following deploy/local/cdc-streamer.toml's `[sinks.hubspot]` mapping.
#[allow(clippy::type_complexity)] // one tuple per SELECT, read once below
pub async fn expected_contacts(source_db: &str) -> BTreeMap<u64, Props> {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url_db(source_db).as_str())
        .await
        .unwrap();
    type Row = (
        u64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
        Option<String>,
        String,
        (Option<String>, String),
    );
    let rows: Vec<(Row, (Option<String>, Option<String>, Option<String>, Option<i64>, Option<String>, Option<String>))> = conn
        .query_map(
            "SELECT u.id, u.email, u.first_name, u.last_name, u.phone, u.user_status, u.is_paid,
                    DATE_FORMAT(u.birthday, '%Y-%m-%d'), LEFT(DATE_FORMAT(u.signed_up_at, '%Y-%m-%dT%H:%i:%s.%f'), 23),
                    u.tags, CAST(u.balance AS CHAR),
                    c.company, c.job_title, c.country, c.annual_purchase, c.tel_area_code, c.tel
             FROM users u LEFT JOIN user_cim_details c ON c.user_id = u.id
             WHERE u.user_status NOT IN ('C', 'G')",
            |row: mysql_async::Row| {
                let r = row.unwrap();
                let s = |i: usize| -> Option<String> { mysql_async::from_value_opt::<Option<String>>(r[i].clone()).ok().flatten() };
                let n = |i: usize| -> Option<i64> { mysql_async::from_value_opt::<Option<i64>>(r[i].clone()).ok().flatten() };
                (
                    (
                        mysql_async::from_value(r[0].clone()),
                        s(1).unwrap_or_default(),
                        s(2),
                        s(3),
                        s(4),
                        s(5).unwrap_or_default(),
                        n(6).unwrap_or_default(),
                        s(7),
                        s(8).unwrap_or_default(),
                        (s(9), s(10).unwrap_or_default()),
                    ),
                    (s(11), s(12), s(13), n(14), s(15), s(16)),
                )
            },
        )
        .await
        .unwrap();
    conn.disconnect().await.ok();
    let mut out = BTreeMap::new();
    for (
        (id, email, first, last, phone, status, paid, birthday, signed, (tags, balance)),
        (company, job, country, purchase, area, tel),
    ) in rows
    {
        let mut p = Props::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                p.insert(k, v);
            }
        };
        put("app_user_id", Some(id.to_string()));
        put("email", Some(email.to_lowercase()));
        put("firstname", first);
        put("lastname", last);
        put("phone", phone);
        put("user_status", Some(status));
        put(
            "is_paid",
            Some(if paid != 0 { "true" } else { "false" }.into()),
        );
        put("date_of_birth", birthday);
        put("signed_up_at", Some(format!("{signed}Z")));
        put(
            "segments",
            tags.map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(";")
            }),
        );
        put("account_balance", Some(balance));
        put("company", company);
        put("jobtitle", job);
        put("country", country);
        put(
            "annual_purchase_range",
            purchase
                .and_then(|c| RANGES.get(c as usize))
                .map(|s| s.to_string()),
        );
        let parts: Vec<String> = [area, tel]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        put("work_phone", Some(parts.join("-")));
        out.insert(id, p);
    }
    out
}

/// Compares the simulator's contacts with the source. `Err` lists the
/// first differences.
pub async fn contacts_match(source_db: &str, sim: &PrivateSim) -> Result<(), String> {
    let expected = expected_contacts(source_db).await;
    let actual = sim.contacts().await;
    let mut problems = Vec::new();
    for (id, want) in &expected {
        let Some(have) = actual.get(id) else {
            problems.push(format!("user {id}: no contact"));
            continue;
        };
        for (k, v) in want {
            let got = have.get(*k).and_then(Value::as_str).unwrap_or("");
            let same = if *k == "account_balance" {
                got.parse::<f64>().ok() == v.parse::<f64>().ok()
            } else {
                got == v
            };
            if !same {
                problems.push(format!("user {id}: {k} is {got:?}, source says {v:?}"));
            }
        }
        for k in [
            "firstname",
            "lastname",
            "phone",
            "date_of_birth",
            "segments",
            "company",
            "jobtitle",
            "country",
            "annual_purchase_range",
            "work_phone",
        ] {
            if !want.contains_key(k)
                && have
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            {
                problems.push(format!("user {id}: {k} is {:?}, source has none", have[k]));
            }
        }
    }
    for id in actual.keys().filter(|id| !expected.contains_key(id)) {
        problems.push(format!(
            "contact for user {id} should not exist (deleted or not synced)"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let n = problems.len();
        problems.truncate(10);
        Err(format!(
            "{n} difference(s), e.g.:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// Compares the `crm` target tables in `target_db` with the source, per
/// `[sinks.crm]` of deploy/local/cdc-streamer.toml.
pub async fn crm_matches(source_db: &str, target_db: &str) -> Result<(), String> {
    let mut conn = mysql_async::Conn::from_url(Stack::get().mysql_url.as_str())
        .await
        .unwrap();
    let (s, t) = (format!("`{source_db}`"), format!("`{target_db}`"));
    let full_name = "NULLIF(CONCAT_WS(' ', NULLIF(u.first_name, ''), NULLIF(u.last_name, '')), '')";
    let checks = [
        (
            "crm.users differs from users",
            format!(
                "SELECT COUNT(*) FROM {s}.users u LEFT JOIN {t}.users c ON c.user_id = u.id
                 WHERE c.user_id IS NULL OR NOT (BINARY c.email <=> BINARY u.email AND BINARY c.full_name <=> BINARY {full_name}
                   AND BINARY c.user_status <=> BINARY u.user_status AND c.is_paid <=> u.is_paid AND c.balance <=> u.balance
                   AND c.birthday <=> u.birthday AND c.signed_up_at <=> u.signed_up_at)"
            ),
        ),
        (
            "crm.users has rows the source does not",
            format!("SELECT COUNT(*) FROM {t}.users c LEFT JOIN {s}.users u ON u.id = c.user_id WHERE u.id IS NULL"),
        ),
        (
            "crm.user_cim_details differs from user_cim_details",
            format!(
                "SELECT COUNT(*) FROM {s}.user_cim_details d LEFT JOIN {t}.user_cim_details c ON c.user_id = d.user_id
                 WHERE c.user_id IS NULL OR NOT (BINARY c.company <=> BINARY d.company AND BINARY c.job_title <=> BINARY d.job_title
                   AND BINARY c.country <=> BINARY d.country
                   AND BINARY c.phone <=> BINARY NULLIF(CONCAT_WS('-', NULLIF(d.tel_area_code, ''), NULLIF(d.tel, '')), ''))"
            ),
        ),
        (
            "crm.user_cim_details has rows the source does not",
            format!("SELECT COUNT(*) FROM {t}.user_cim_details c LEFT JOIN {s}.user_cim_details d ON d.user_id = c.user_id WHERE d.user_id IS NULL"),
        ),
    ];
    let mut problems = Vec::new();
    for (what, sql) in checks {
        let n: u64 = conn.query_first(&sql).await.unwrap().unwrap_or(0);
        if n > 0 {
            problems.push(format!("{what}: {n} row(s)"));
        }
    }
    conn.disconnect().await.ok();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Waits up to `within` (each) until the simulator's contacts and then the crm target equal the
/// source; the first difference that outlasts it, naming the target, otherwise.
pub async fn both_match(
    source_db: &str,
    sim: &PrivateSim,
    target_db: &str,
    within: std::time::Duration,
) -> Result<(), String> {
    crate::sim::eventually(within, || async { contacts_match(source_db, sim).await })
        .await
        .map_err(|e| format!("HubSpot did not converge: {e}"))?;
    crate::sim::eventually(within, || async { crm_matches(source_db, target_db).await })
        .await
        .map_err(|e| format!("crm did not converge: {e}"))
}
