//! Tests over the example configuration: parsing, validation, row mapping
//! and classification as the sinks will use them.

use serde_json::{json, Value};

use super::fixtures::{cim, event, example, row, user};
use super::*;
use crate::event::Op;

fn hubspot() -> SinkMapping {
    example().sinks.hubspot.tables
}

fn mysql() -> SinkMapping {
    example().sinks.mysql.tables
}

fn table<'a>(m: &'a SinkMapping, name: &str) -> &'a TableMapping {
    m.tables_for("app", name).next().unwrap()
}

#[test]
fn example_config_parses_and_validates() {
    let root = example();
    assert_eq!(root.sinks.hubspot.id_property, "app_user_id");
    let hs = &root.sinks.hubspot.tables;
    assert_eq!(hs.tables.len(), 2);
    assert_eq!(hs.primary().unwrap().table.to_string(), "app.users");
    hs.validate(Flavor::HubSpot).unwrap();
    let sql = &root.sinks.mysql.tables;
    sql.validate(Flavor::Sql).unwrap();
    assert_eq!(sql.tables[0].target.as_deref(), Some("crm.users"));
    // The same mapping is not valid for the other kind of sink.
    let err = hs.validate(Flavor::Sql).unwrap_err().to_string();
    assert!(
        err.contains("`target` (the target table) is required"),
        "{err}"
    );
    let err = sql.validate(Flavor::HubSpot).unwrap_err().to_string();
    assert!(err.contains("are for MySQL sinks"), "{err}");
}

#[test]
fn a_user_row_maps_to_hubspot_strings() {
    let m = hubspot();
    let props = table(&m, "users")
        .map_row(&user(7, "A", "zoe@example.com"), Flavor::HubSpot)
        .unwrap();
    assert_eq!(
        Value::Object(props.clone()),
        json!({
            "app_user_id": "7", "email": "zoe@example.com", "firstname": "Zoë",
            "lastname": "李", "user_status": "A", "is_paid": "true",
            "date_of_birth": "1430438400000", "signed_up_at": "1430483696789",
            "segments": "1;2;3", "account_balance": "-0.50"
        })
    );
    // Columns come out in config order.
    assert_eq!(props.keys().next().map(String::as_str), Some("app_user_id"));
}

#[test]
fn a_user_row_maps_to_mysql_values_with_the_target_key_first() {
    let m = mysql();
    let ev = event(
        Op::Create,
        "users",
        7,
        None,
        Some(user(7, "A", "z@x.io")),
        100,
    );
    let Action::Upsert(props) = table(&m, "users").classify(&ev, Flavor::Sql).unwrap() else {
        panic!("expected an upsert")
    };
    assert_eq!(
        Value::Object(props.clone()),
        json!({
            "user_id": 7, "email": "z@x.io", "full_name": "Zoë 李", "user_status": "A",
            "is_paid": 1, "balance": "-0.50", "birthday": "2015-05-01",
            "signed_up_at": "2015-05-01 12:34:56.789"
        })
    );
    assert_eq!(props.keys().next().map(String::as_str), Some("user_id"));
}

#[test]
fn secondary_rows_map_templates_and_enumerations() {
    let m = hubspot();
    let t = table(&m, "user_cim_details");
    let props = t
        .map_row(
            &cim(7, json!("+49"), Value::Null, json!(3)),
            Flavor::HubSpot,
        )
        .unwrap();
    assert_eq!(props["work_phone"], json!("+49"));
    assert_eq!(props["jobtitle"], json!(""));
    assert_eq!(props["company"], json!("Müller & Söhne KG"));
    assert_eq!(props["annual_purchase_range"], json!("5k-10k USD"));
    let props = t
        .map_row(
            &cim(7, json!("+49"), json!("01234567"), json!(10)),
            Flavor::HubSpot,
        )
        .unwrap();
    assert_eq!(props["work_phone"], json!("+49-01234567"));
    assert_eq!(props["annual_purchase_range"], json!("1M+ USD"));
    let all_null = t
        .map_row(
            &cim(7, Value::Null, Value::Null, Value::Null),
            Flavor::HubSpot,
        )
        .unwrap();
    assert_eq!(all_null["work_phone"], json!(""));
    assert_eq!(all_null["annual_purchase_range"], json!(""));
    let err = t
        .map_row(&cim(7, json!("03"), json!("1"), json!(11)), Flavor::HubSpot)
        .unwrap_err();
    assert_eq!(err.column, "annual_purchase");
    assert_eq!(err.to.as_deref(), Some("annual_purchase_range"));
    assert_eq!(*err.value, json!(11));
    assert!(
        err.to_string()
            .starts_with("app.user_cim_details.annual_purchase →"),
        "{err}"
    );
    // MySQL: NULL stays NULL, the target key comes first.
    let sql = mysql();
    let ev = event(
        Op::Create,
        "user_cim_details",
        7,
        None,
        Some(cim(7, Value::Null, Value::Null, json!(9))),
        1,
    );
    let Action::Upsert(props) = table(&sql, "user_cim_details")
        .classify(&ev, Flavor::Sql)
        .unwrap()
    else {
        panic!("expected an upsert")
    };
    assert_eq!(
        Value::Object(props),
        json!({"user_id": 7, "company": "Müller & Söhne KG", "job_title": null, "country": "Japan", "phone": null})
    );
}

fn classify_users(op: Op, before: Option<&str>, after: Option<&str>) -> Action {
    let m = hubspot();
    let before = before.map(|s| user(7, s, "a@x.io"));
    let after = after.map(|s| user(7, s, "b@x.io"));
    let ev = event(op, "users", 7, before, after, 100);
    table(&m, "users").classify(&ev, Flavor::HubSpot).unwrap()
}

#[test]
fn the_filter_archives_c_and_g_and_upserts_the_rest() {
    assert_eq!(classify_users(Op::Create, None, Some("C")), Action::Archive);
    assert_eq!(classify_users(Op::Read, None, Some("G")), Action::Archive);
    assert!(matches!(
        classify_users(Op::Create, None, Some("A")),
        Action::Upsert(_)
    ));
    // A → C archives; C → A brings the contact back in full (and says so:
    // the user's other tables were not synced meanwhile).
    assert_eq!(
        classify_users(Op::Update, Some("A"), Some("C")),
        Action::Archive
    );
    let Action::Reenter(back) = classify_users(Op::Update, Some("C"), Some("A")) else {
        panic!("C → A must upsert in full and ask for a refill")
    };
    assert_eq!(back.len(), 10);
    // C → C (another column changed): already archived.
    assert_eq!(
        classify_users(Op::Update, Some("C"), Some("G")),
        Action::Skip(SkipReason::StillFilteredOut)
    );
}

#[test]
fn updates_of_unmapped_columns_are_skipped_but_replays_are_not() {
    let m = hubspot();
    let t = table(&m, "users");
    let before = user(7, "A", "a@x.io");
    let mut after = before.clone();
    after.insert("last_login".into(), json!("2025-01-01T00:00:00"));
    let mut ev = event(Op::Update, "users", 7, Some(before), Some(after), 100);
    assert_eq!(
        t.classify(&ev, Flavor::HubSpot).unwrap(),
        Action::Skip(SkipReason::Unchanged)
    );
    ev.source.replay = true;
    assert!(matches!(
        t.classify(&ev, Flavor::HubSpot).unwrap(),
        Action::Upsert(_)
    ));
}

#[test]
fn deletes_archive_the_primary_and_clear_a_secondary() {
    assert_eq!(classify_users(Op::Delete, Some("A"), None), Action::Archive);
    let m = hubspot();
    let ev = event(
        Op::Delete,
        "user_cim_details",
        7,
        Some(cim(7, json!("03"), json!("1"), json!(0))),
        None,
        100,
    );
    let action = table(&m, "user_cim_details")
        .classify(&ev, Flavor::HubSpot)
        .unwrap();
    // The key property (app_user_id) is kept; the others are emptied.
    assert_eq!(
        action,
        Action::Clear(row(json!({
            "company": "", "jobtitle": "", "country": "", "annual_purchase_range": "",
            "work_phone": ""
        })))
    );
    // MySQL: deletes delete, whichever table.
    let sql = mysql();
    assert_eq!(
        table(&sql, "user_cim_details")
            .classify(&ev, Flavor::Sql)
            .unwrap(),
        Action::Delete
    );
    // MySQL filter with action delete.
    let mut users = table(&sql, "users").clone();
    users.filter = Some(
        toml::from_str::<std::collections::BTreeMap<String, RowFilter>>(
            r#"f = { column = "user_status", in = ["A"], action = "delete" }"#,
        )
        .unwrap()
        .remove("f")
        .unwrap(),
    );
    let ev = event(
        Op::Update,
        "users",
        7,
        Some(user(7, "A", "a")),
        Some(user(7, "C", "a")),
        1,
    );
    assert_eq!(users.classify(&ev, Flavor::Sql).unwrap(), Action::Delete);
    let ev = event(
        Op::Update,
        "users",
        7,
        Some(user(7, "C", "a")),
        Some(user(7, "A", "a")),
        2,
    );
    assert!(matches!(
        users.classify(&ev, Flavor::Sql).unwrap(),
        Action::Reenter(_)
    ));
}

#[test]
fn a_key_that_does_not_match_the_routing_key_is_an_error() {
    let m = hubspot();
    let ev = event(
        Op::Create,
        "users",
        8,
        None,
        Some(user(7, "A", "a@x.io")),
        100,
    );
    let err = table(&m, "users")
        .classify(&ev, Flavor::HubSpot)
        .unwrap_err();
    assert_eq!(err.column, "id");
    assert_eq!(*err.value, json!(7));
    assert!(err.reason.contains("routing key `8`"), "{err}");
    let ev = event(Op::Create, "users", 7, None, None, 100);
    assert!(table(&m, "users").classify(&ev, Flavor::HubSpot).is_err());
}

#[test]
fn target_properties_list_hubspot_types() {
    let props = hubspot().target_properties();
    let kind = |name: &str| props.iter().find(|p| p.name == name).unwrap().kind;
    assert_eq!(kind("app_user_id"), PropertyType::Number);
    assert_eq!(kind("email"), PropertyType::String);
    assert_eq!(kind("is_paid"), PropertyType::Bool);
    assert_eq!(kind("date_of_birth"), PropertyType::Date);
    assert_eq!(kind("signed_up_at"), PropertyType::Datetime);
    assert_eq!(kind("segments"), PropertyType::Enumeration);
    assert_eq!(kind("work_phone"), PropertyType::String);
    let range = props
        .iter()
        .find(|p| p.name == "annual_purchase_range")
        .unwrap();
    assert_eq!(range.options.len(), 11);
    assert!(range.options.contains(&"1M+ USD".to_string()));
    assert!(PropertyType::String.accepts("phone_number"));
    assert!(!PropertyType::Date.accepts("datetime"));
}

fn problems(toml_tables: &str, flavor: Flavor) -> String {
    #[derive(serde::Deserialize)]
    struct S {
        tables: SinkMapping,
    }
    let s: S = toml::from_str(toml_tables).unwrap();
    s.tables.validate(flavor).unwrap_err().to_string()
}

#[test]
fn validate_reports_every_problem_with_its_place() {
    let err = problems("tables = []", Flavor::HubSpot);
    assert!(err.contains("`tables` is empty"), "{err}");
    let err = problems(
        r#"
        [[tables]]
        table = "app.users"
        key = "id"
        columns = [{ from = "email", to = "email" }, { from = "mail", to = "email" }]
        filter = { column = "s", in = ["A"], not_in = ["C"], action = "archive" }
        [[tables]]
        table = "app.users"
        key = ""
        on_delete = "archive"
        columns = []
        "#,
        Flavor::HubSpot,
    );
    for expected in [
        "tables[0] (app.users): `to = \"email\"` is also written by tables[0] (app.users) column `email`",
        "tables[0] (app.users): filter: set `in` or `not_in`, not both",
        "only allowed on the primary table",
        "tables[1] (app.users): maps the same source table as tables[0]",
        "tables[1] (app.users): `key` is empty",
        "tables[1] (app.users): `columns` is empty",
        "a non-primary table can only clear or ignore",
        "exactly one table with `primary = true`",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let err = problems(
        r#"
        [[tables]]
        table = "app.users"
        key = "id"
        on_delete = "archive"
        filter = { column = "s", in = [] }
        columns = [{ from = "tags", to = "tags", type = "multi_select", target_separator = "|" }]
        "#,
        Flavor::Sql,
    );
    for expected in [
        "`target` (the target table) is required",
        "`target_key`",
        "a MySQL sink can delete or ignore",
        "filter: the value list is empty",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let err = problems(
        r#"
        [[tables]]
        table = "app.users"
        key = "id"
        primary = true
        columns = [{ from = "tags", to = "tags", type = "multi_select", target_separator = "|" }]
        "#,
        Flavor::HubSpot,
    );
    assert!(err.contains("always joined with `;`"), "{err}");
}

#[test]
fn only_key_columns_may_share_a_property_across_tables() {
    let tables = |second_from: &str| {
        format!(
            r#"
            [[tables]]
            table = "app.users"
            key = "id"
            primary = true
            columns = [{{ from = "id", to = "app_user_id", type = "number" }}]
            [[tables]]
            table = "app.user_cim_details"
            key = "user_id"
            columns = [{{ from = "{second_from}", to = "app_user_id", type = "number" }}]
            "#
        )
    };
    #[derive(serde::Deserialize)]
    struct S {
        tables: SinkMapping,
    }
    let ok: S = toml::from_str(&tables("user_id")).unwrap();
    ok.tables.validate(Flavor::HubSpot).unwrap();
    let err = problems(&tables("company_id"), Flavor::HubSpot);
    assert!(
        err.contains("`to = \"app_user_id\"` is also written by"),
        "{err}"
    );
}

#[test]
fn parse_errors_point_at_the_entry() {
    let bad = r#"
        [[tables]]
        table = "users"
        key = "id"
        columns = []
    "#;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct S {
        tables: SinkMapping,
    }
    let err = toml::from_str::<S>(bad).unwrap_err().to_string();
    assert!(err.contains("DB.TABLE"), "{err}");
    let bad = r#"
        [[tables]]
        table = "app.users"
        key = "id"
        primry = true
        columns = []
    "#;
    let err = toml::from_str::<S>(bad).unwrap_err().to_string();
    assert!(err.contains("unknown field `primry`"), "{err}");
}

/// The example mapping against the local stack's HubSpot property
/// definitions: every custom property it writes exists with a compatible
/// type, and every enumeration option it can send is defined.
#[test]
fn the_example_matches_the_local_hubspot_properties() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/local/hubspot-properties.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        return; // the file belongs to the deployment; nothing to compare without it
    };
    let defined: Vec<Value> = serde_json::from_str(&text).unwrap();
    // HubSpot's built-in contact properties the example writes.
    let builtin = [
        "email",
        "firstname",
        "lastname",
        "company",
        "jobtitle",
        "country",
    ];
    for p in hubspot().target_properties() {
        if builtin.contains(&p.name.as_str()) {
            continue;
        }
        let def = defined
            .iter()
            .find(|d| d["name"] == p.name.as_str())
            .unwrap_or_else(|| panic!("property {} is not defined", p.name));
        let kind = def["type"].as_str().unwrap();
        assert!(p.kind.accepts(kind), "{}: {:?} into {kind}", p.name, p.kind);
        let options: Vec<&str> = def["options"]
            .as_array()
            .map(|o| o.iter().filter_map(|o| o["value"].as_str()).collect())
            .unwrap_or_default();
        for option in &p.options {
            assert!(
                options.contains(&option.as_str()),
                "{}: option {option}",
                p.name
            );
        }
    }
}
