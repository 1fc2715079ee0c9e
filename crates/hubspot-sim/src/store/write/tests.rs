//! Batch write rules, against the store directly (no HTTP).

use super::*;
use crate::properties::{FieldType, PropertyDef, PropertyType};
use serde_json::json;

fn input(id: Option<&str>, id_property: Option<&str>, props: Value) -> WriteInput {
    WriteInput {
        id: id.map(String::from),
        id_property: id_property.map(String::from),
        properties: props.as_object().cloned().unwrap_or_default(),
    }
}

fn by_email(email: &str, props: Value) -> WriteInput {
    input(Some(email), Some("email"), props)
}

fn store_with_ext_id() -> Store {
    let mut store = Store::default();
    let mut def = store.properties().get("firstname").cloned().unwrap();
    def.name = "ext_id".into();
    def.kind = PropertyType::Number;
    def.field_type = FieldType::Number;
    def.has_unique_value = true;
    store.add_property(PropertyDef { ..def });
    store
}

fn write(
    store: &mut Store,
    kind: WriteKind,
    inputs: &[WriteInput],
) -> Result<Vec<WriteOutcome>, ApiError> {
    store.write_batch(kind, inputs, 100, Utc::now())
}

#[test]
fn upsert_creates_then_updates() {
    let mut store = Store::default();
    let first = write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("A@x.io", json!({"firstname": "Ann"}))],
    )
    .unwrap();
    assert!(first[0].created);
    assert_eq!(first[0].contact.properties["email"], "a@x.io");
    let second = write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("a@x.io", json!({"lastname": "Lee"}))],
    )
    .unwrap();
    assert!(!second[0].created);
    assert_eq!(second[0].contact.id, first[0].contact.id);
    assert_eq!(second[0].contact.properties["firstname"], "Ann");
    assert_eq!(second[0].contact.properties["lastname"], "Lee");
}

#[test]
fn one_bad_input_stores_nothing_and_names_every_error() {
    let mut store = Store::default();
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[
            by_email("ok@x.io", json!({})),
            by_email("b@x.io", json!({"email": "broken", "nope": "1"})),
        ],
    )
    .unwrap_err();
    assert_eq!(err.status.as_u16(), 400);
    // The id wins over properties.email for upsert, but the bad value is still an error.
    let codes: Vec<_> = err.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, vec!["INVALID_EMAIL", "PROPERTY_DOESNT_EXIST"]);
    assert_eq!(err.errors[0].context["inputIndex"], vec!["1"]);
    assert_eq!(store.live_count(), 0);
}

#[test]
fn too_many_inputs() {
    let mut store = Store::default();
    let inputs: Vec<_> = (0..3)
        .map(|i| by_email(&format!("{i}@x.io"), json!({})))
        .collect();
    let err = store
        .write_batch(WriteKind::Upsert, &inputs, 2, Utc::now())
        .unwrap_err();
    assert_eq!(err.errors[0].code, "TOO_MANY_INPUTS");
    assert_eq!(store.live_count(), 0);
}

#[test]
fn duplicate_ids_and_same_record_twice() {
    let mut store = store_with_ext_id();
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("a@x.io", json!({})), by_email("A@x.io", json!({}))],
    )
    .unwrap_err();
    assert_eq!(err.errors[0].code, "DUPLICATE_ID");
    write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("a@x.io", json!({"ext_id": 7}))],
    )
    .unwrap();
    // Different keys, same record.
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[
            by_email("a@x.io", json!({})),
            input(Some("7"), Some("ext_id"), json!({})),
        ],
    )
    .unwrap_err();
    assert_eq!(err.errors[0].code, "DUPLICATE_ID");
}

#[test]
fn upsert_needs_a_unique_id_property() {
    let mut store = Store::default();
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[input(Some("Ann"), Some("firstname"), json!({}))],
    )
    .unwrap_err();
    assert_eq!(err.errors[0].code, "INVALID_ID_PROPERTY");
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[input(Some("x"), None, json!({}))],
    )
    .unwrap_err();
    assert_eq!(err.errors[0].code, "MISSING_ID_PROPERTY");
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("not-an-email", json!({}))],
    )
    .unwrap_err();
    assert_eq!(err.errors[0].code, "INVALID_EMAIL");
}

#[test]
fn update_by_id_and_by_id_property_and_missing() {
    let mut store = store_with_ext_id();
    write(
        &mut store,
        WriteKind::Create,
        &[input(None, None, json!({"email": "a@x.io", "ext_id": "5"}))],
    )
    .unwrap();
    let out = write(
        &mut store,
        WriteKind::Update,
        &[input(Some("1"), None, json!({"firstname": "A"}))],
    )
    .unwrap();
    assert_eq!(out[0].contact.properties["firstname"], "A");
    let out = write(
        &mut store,
        WriteKind::Update,
        &[input(Some("5"), Some("ext_id"), json!({"firstname": ""}))],
    )
    .unwrap();
    assert!(!out[0].contact.properties.contains_key("firstname"));
    let err = write(
        &mut store,
        WriteKind::Update,
        &[
            input(Some("1"), None, json!({})),
            input(Some("42"), None, json!({})),
        ],
    )
    .unwrap_err();
    assert_eq!(err.category, "OBJECT_NOT_FOUND");
    assert!(err.message.contains("[42]"));
}

#[test]
fn unique_conflicts() {
    let mut store = store_with_ext_id();
    write(
        &mut store,
        WriteKind::Create,
        &[input(None, None, json!({"email": "a@x.io"}))],
    )
    .unwrap();
    let err = write(
        &mut store,
        WriteKind::Create,
        &[input(None, None, json!({"email": "A@x.io"}))],
    )
    .unwrap_err();
    assert_eq!(err.status.as_u16(), 409);
    assert_eq!(err.message, "Contact already exists. Existing ID: 1");
    let err = write(
        &mut store,
        WriteKind::Create,
        &[
            input(None, None, json!({"ext_id": 1})),
            input(None, None, json!({"ext_id": 1})),
        ],
    )
    .unwrap_err();
    assert_eq!(err.status.as_u16(), 409);
    // Upsert moving another contact's email onto a new record: 400.
    let err = write(
        &mut store,
        WriteKind::Upsert,
        &[input(Some("9"), Some("ext_id"), json!({"email": "a@x.io"}))],
    )
    .unwrap_err();
    assert_eq!(err.status.as_u16(), 400);
    assert_eq!(err.errors[0].code, "UNIQUE_VALUE_CONFLICT");
    assert_eq!(store.live_count(), 1);
    // Rewriting a record's own value is no conflict.
    write(
        &mut store,
        WriteKind::Update,
        &[input(Some("1"), None, json!({"email": "a@x.io"}))],
    )
    .unwrap();
}

#[test]
fn changing_a_unique_value_moves_the_index() {
    let mut store = Store::default();
    write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("a@x.io", json!({}))],
    )
    .unwrap();
    write(
        &mut store,
        WriteKind::Update,
        &[input(Some("1"), None, json!({"email": "b@x.io"}))],
    )
    .unwrap();
    assert!(store.find_by("email", "a@x.io").is_none());
    assert_eq!(store.find_by("email", "b@x.io").map(|c| c.id), Some(1));
    let out = write(
        &mut store,
        WriteKind::Upsert,
        &[by_email("a@x.io", json!({}))],
    )
    .unwrap();
    assert!(out[0].created);
    assert_eq!(out[0].contact.id, 2);
}

#[test]
fn read_only_properties_are_refused() {
    let mut store = Store::default();
    let err = write(
        &mut store,
        WriteKind::Create,
        &[input(None, None, json!({"createdate": "1"}))],
    )
    .unwrap_err();
    assert_eq!(err.errors[0].code, "READ_ONLY_VALUE");
}
