//! Test fixtures shared by the mapping and coalescer tests: the example
//! configuration (the shape of the local deployment's mapping) and change
//! event builders.

use serde::Deserialize;
use serde_json::{json, Value};

use super::SinkMapping;
use crate::event::{ChangeEvent, Op, Row, SourceInfo};

/// Contacts from `app.users` + `app.user_cim_details` (upserted by the
/// unique property `app_user_id`), and the same two tables copied into
/// `crm.users` / `crm.user_cim_details`: the local stack's schemas
/// (`deploy/local/sql`) and HubSpot properties
/// (`deploy/local/hubspot-properties.json`).
pub(crate) const EXAMPLE: &str = r#"
[sinks.hubspot]
id_property = "app_user_id"

[[sinks.hubspot.tables]]
table = "app.users"
key = "id"
primary = true
on_delete = "archive"
filter = { column = "user_status", not_in = ["C", "G"], action = "archive" }
columns = [
  { from = "id", to = "app_user_id", type = "number" },
  { from = "email", to = "email" },
  { from = "first_name", to = "firstname" },
  { from = "last_name", to = "lastname" },
  { from = "user_status", to = "user_status" },
  { from = "is_paid", to = "is_paid", type = "bool" },
  { from = "birthday", to = "date_of_birth", type = "date" },
  { from = "signed_up_at", to = "signed_up_at", type = "datetime" },
  { from = "tags", to = "segments", type = "multi_select", separator = "," },
  { from = "balance", to = "account_balance", type = "number" },
]

[[sinks.hubspot.tables]]
table = "app.user_cim_details"
key = "user_id"
on_delete = "clear"
columns = [
  { from = "user_id", to = "app_user_id", type = "number" },
  { from = "company", to = "company" },
  { from = "job_title", to = "jobtitle" },
  { from = "country", to = "country" },
  { from = "annual_purchase", to = "annual_purchase_range", type = "enumeration", values = { "0" = "0-1k USD", "1" = "1k-2k USD", "2" = "2k-5k USD", "3" = "5k-10k USD", "4" = "10k-20k USD", "5" = "20k-50k USD", "6" = "50k-100k USD", "7" = "100k-200k USD", "8" = "200k-500k USD", "9" = "500k-1M USD", "10" = "1M+ USD" } },
  { template = "{tel_area_code}-{tel}", to = "work_phone" },
]

[[sinks.mysql.tables]]
table = "app.users"
key = "id"
primary = true
target = "crm.users"
target_key = "user_id"
columns = [
  { from = "email", to = "email" },
  { template = "{first_name} {last_name}", to = "full_name" },
  { from = "user_status", to = "user_status" },
  { from = "is_paid", to = "is_paid", type = "bool" },
  { from = "balance", to = "balance", type = "number" },
  { from = "birthday", to = "birthday", type = "date" },
  { from = "signed_up_at", to = "signed_up_at", type = "datetime" },
]

[[sinks.mysql.tables]]
table = "app.user_cim_details"
key = "user_id"
target = "crm.user_cim_details"
target_key = "user_id"
columns = [
  { from = "company", to = "company" },
  { from = "job_title", to = "job_title" },
  { from = "country", to = "country" },
  { template = "{tel_area_code}-{tel}", to = "phone" },
]
"#;

/// A stand-in for the lead's config root: just enough to read [`EXAMPLE`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Root {
    pub sinks: Sinks,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sinks {
    pub hubspot: HubSpotSink,
    pub mysql: MySqlSink,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HubSpotSink {
    pub id_property: String,
    pub tables: SinkMapping,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MySqlSink {
    pub tables: SinkMapping,
}

pub(crate) fn example() -> Root {
    toml::from_str(EXAMPLE).expect("the example config parses")
}

pub(crate) fn row(v: Value) -> Row {
    v.as_object().expect("a JSON object").clone()
}

/// A full `app.users` row for user `id`.
pub(crate) fn user(id: u64, status: &str, email: &str) -> Row {
    row(json!({
        "id": id, "email": email, "first_name": "Zoë", "last_name": "李",
        "user_status": status, "is_paid": 1, "balance": "-0.50", "birthday": "2015-05-01",
        "tags": "1, 2,,3", "notes": null, "signed_up_at": "2015-05-01T12:34:56.789Z",
        "updated_at": "2024-01-01T00:00:00.000Z"
    }))
}

/// A full `app.user_cim_details` row for user `id`.
pub(crate) fn cim(id: u64, area: Value, tel: Value, purchase: Value) -> Row {
    row(json!({
        "user_id": id, "company": "Müller & Söhne KG", "job_title": null, "country": "Japan",
        "annual_purchase": purchase, "tel_area_code": area, "tel": tel,
        "updated_at": "2024-01-01T00:00:00.000Z"
    }))
}

pub(crate) fn source(table: &str, file: &str, pos: u64, row: u32) -> SourceInfo {
    SourceInfo {
        version: "test".into(),
        connector: "mysql".into(),
        name: "app".into(),
        server_id: 1,
        db: "app".into(),
        table: table.into(),
        file: file.into(),
        pos,
        gtid: None,
        ts_ms: 0,
        row,
        snapshot: false,
        replay: false,
    }
}

/// A change event of `app.<table>` for routing key `key`, at `mysql-bin.000001:pos`.
pub(crate) fn event(
    op: Op,
    table: &str,
    key: u64,
    before: Option<Row>,
    after: Option<Row>,
    pos: u64,
) -> ChangeEvent {
    ChangeEvent {
        op,
        db: "app".into(),
        table: table.into(),
        key: key.to_string(),
        before,
        after,
        source: source(table, "mysql-bin.000001", pos, 0),
        ts_ms: 0,
    }
}
