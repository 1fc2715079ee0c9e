//! Coalescing scenarios over the example mapping, as a sink drives them.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::event::{ChangeEvent, Op, Row};
use crate::mapping::fixtures::{cim, event, example, user};
use crate::mapping::{Flavor, MappingError};

fn hubspot_route() -> MappingRoute {
    MappingRoute::new(example().sinks.hubspot.tables, Flavor::HubSpot, "contact")
}

fn config(max_events: usize, max_entities: usize) -> CoalesceConfig {
    CoalesceConfig {
        max_events,
        max_entities,
        ..CoalesceConfig::default()
    }
}

fn with_email(id: u64, email: &str) -> Row {
    user(id, "A", email)
}

fn update(id: u64, old: &str, new: &str, pos: u64) -> ChangeEvent {
    event(
        Op::Update,
        "users",
        id,
        Some(with_email(id, old)),
        Some(with_email(id, new)),
        pos,
    )
}

fn cim_update(id: u64, tel: &str, purchase: u64, pos: u64) -> ChangeEvent {
    event(
        Op::Update,
        "user_cim_details",
        id,
        Some(cim(id, json!("03"), json!("0"), json!(0))),
        Some(cim(id, json!("03"), json!(tel), json!(purchase))),
        pos,
    )
}

/// Pushes events on partition 0 at offsets 0, 1, 2, … and returns the outcomes.
fn push_all(w: &mut Window, route: &impl Route, events: &[ChangeEvent]) -> Vec<PushOutcome> {
    let now = Instant::now();
    events
        .iter()
        .enumerate()
        .map(|(i, e)| w.push(e, 0, i as i64, route, now))
        .collect()
}

fn only(d: &Drained) -> &PendingUpdate {
    assert_eq!(d.updates.len(), 1, "{:#?}", d.updates);
    &d.updates[0]
}

#[test]
fn ten_changes_of_one_user_across_two_tables_make_one_update() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let mut events = vec![event(
        Op::Create,
        "users",
        7,
        None,
        Some(with_email(7, "e0@x.io")),
        100,
    )];
    for i in 1..6u64 {
        events.push(update(
            7,
            &format!("e{}@x.io", i - 1),
            &format!("e{i}@x.io"),
            100 + i * 10,
        ));
    }
    for (i, purchase) in [1u64, 3, 0, 3].into_iter().enumerate() {
        events.push(cim_update(
            7,
            &format!("555-{i}"),
            purchase,
            200 + i as u64 * 10,
        ));
    }
    assert!(push_all(&mut w, &route, &events)
        .iter()
        .all(|o| *o == PushOutcome::Accepted));
    let d = w.drain();
    let u = only(&d);
    assert_eq!(u.key, EntityKey::new("contact", "7"));
    assert_eq!(u.events, 10);
    assert!(u.from_primary);
    let props = u.properties().unwrap();
    assert_eq!(props["email"], json!("e5@x.io"));
    assert_eq!(props["work_phone"], json!("03-555-3"));
    assert_eq!(props["annual_purchase_range"], json!("5k-10k USD"));
    assert_eq!(props["date_of_birth"], json!("1430438400000"));
    assert_eq!(props["app_user_id"], json!("7"));
    assert_eq!(d.stats.events_in, 10);
    assert_eq!(d.stats.updates_out, 1);
    assert_eq!(d.stats.coalescing_ratio(), 10.0);
    assert_eq!(u.sources.len(), 10);
    assert_eq!(u.sources[9].table, "app.user_cim_details");
    assert_eq!((u.sources[9].pos, u.sources[9].offset), (230, 9));
}

#[test]
fn the_later_source_position_wins_even_when_it_arrived_first() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let newer = update(7, "a@x.io", "new@x.io", 200);
    let mut older = update(7, "x@x.io", "old@x.io", 100);
    older.source.replay = true; // late, and not a duplicate: a replay
    assert_eq!(
        push_all(&mut w, &route, &[newer, older]),
        [PushOutcome::Accepted, PushOutcome::Accepted]
    );
    let d = w.drain();
    assert_eq!(only(&d).properties().unwrap()["email"], json!("new@x.io"));

    // Across tables: a generic route writing one property from two tables.
    let route = |e: &ChangeEvent| -> Result<Vec<Change>, MappingError> {
        let mut p = crate::mapping::Properties::new();
        p.insert("score".into(), json!(e.source.pos));
        Ok(vec![Change::upsert(
            EntityKey::new("contact", e.key.as_str()),
            p,
            true,
        )])
    };
    let a = event(Op::Update, "users", 7, None, Some(with_email(7, "a")), 300);
    let b = event(Op::Update, "user_cim_details", 7, None, None, 250);
    push_all(&mut w, &route, &[a, b]);
    assert_eq!(only(&w.drain()).properties().unwrap()["score"], json!(300));
}

#[test]
fn a_newer_archive_replaces_upserts_and_a_newer_primary_upsert_recreates() {
    let route = hubspot_route();
    let window = || Window::new(CoalesceConfig::default());
    let leave = event(
        Op::Update,
        "users",
        7,
        Some(user(7, "A", "a")),
        Some(user(7, "C", "a")),
        300,
    );
    let mut w = window();
    push_all(
        &mut w,
        &route,
        &[
            update(7, "x", "a", 100),
            cim_update(7, "1", 0, 200),
            leave.clone(),
        ],
    );
    let d = w.drain();
    assert_eq!(only(&d).kind, UpdateKind::Archive);
    assert_eq!(only(&d).events, 3);

    // Out of order: the archive (pos 300) arrives before an older upsert.
    let mut w = window();
    let mut late = cim_update(7, "1", 0, 250);
    late.source.replay = true;
    push_all(&mut w, &route, &[leave.clone(), late]);
    assert_eq!(only(&w.drain()).kind, UpdateKind::Archive);

    // A secondary row after the archive does not bring the contact back…
    let mut w = window();
    push_all(&mut w, &route, &[leave.clone(), cim_update(7, "2", 3, 400)]);
    assert_eq!(only(&w.drain()).kind, UpdateKind::Archive);

    // …the user coming back does, with every property seen in the window.
    let mut w = window();
    let back = event(
        Op::Update,
        "users",
        7,
        Some(user(7, "C", "a")),
        Some(user(7, "A", "b")),
        500,
    );
    push_all(
        &mut w,
        &route,
        &[leave.clone(), cim_update(7, "3", 3, 450), back.clone()],
    );
    let d = w.drain();
    let u = only(&d);
    assert!(u.from_primary);
    assert!(
        u.refill,
        "back in the filter: the other tables must be read"
    );
    let props = u.properties().unwrap();
    assert_eq!(props["email"], json!("b"));
    assert_eq!(props["work_phone"], json!("03-3"));
}

#[test]
fn only_a_return_into_the_filter_asks_for_a_refill() {
    let route = hubspot_route();
    let drained = |events: &[ChangeEvent]| {
        let mut w = Window::new(CoalesceConfig::default());
        push_all(&mut w, &route, events);
        w.drain()
    };
    let status = |from: &str, to: &str, pos: u64| {
        event(
            Op::Update,
            "users",
            7,
            Some(user(7, from, "a")),
            Some(user(7, to, "a")),
            pos,
        )
    };
    // An ordinary update, an insert: the other tables' changes are in the stream.
    assert!(!only(&drained(&[update(7, "a", "b", 100)])).refill);
    let insert = event(Op::Create, "users", 7, None, Some(user(7, "A", "a")), 100);
    assert!(!only(&drained(&[insert])).refill);
    // Back in, then out again in the same window: archived, nothing to read.
    let d = drained(&[status("C", "A", 100), status("A", "G", 200)]);
    assert_eq!(only(&d).kind, UpdateKind::Archive);
    assert!(!only(&d).refill);
    // Back in, then another update: still a refill.
    let d = drained(&[status("C", "A", 100), update(7, "a", "b", 200)]);
    assert!(only(&d).refill);
    // A secondary change alone never asks for one.
    assert!(!only(&drained(&[cim_update(7, "1", 0, 100)])).refill);
}

#[test]
fn secondary_only_upserts_and_clears_are_not_from_primary() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let gone = event(
        Op::Delete,
        "user_cim_details",
        8,
        Some(cim(8, json!("03"), json!("1"), json!(0))),
        None,
        10,
    );
    push_all(&mut w, &route, &[cim_update(7, "1", 0, 5), gone]);
    let d = w.drain();
    assert_eq!(d.updates.len(), 2);
    assert!(d.updates.iter().all(|u| !u.from_primary));
    let cleared = d.updates[1].properties().unwrap();
    assert_eq!(cleared["work_phone"], json!(""));
    assert!(!cleared.contains_key("app_user_id"));
}

#[test]
fn resent_duplicates_are_dropped_but_replays_and_snapshots_apply() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let e1 = update(7, "a", "b", 100);
    let e2 = update(7, "b", "c", 200);
    let out = push_all(
        &mut w,
        &route,
        &[e1.clone(), e2.clone(), e1.clone(), e2.clone()],
    );
    assert_eq!(out[2..], [PushOutcome::Duplicate, PushOutcome::Duplicate]);
    let d = w.drain();
    assert_eq!(d.stats.duplicates, 2);
    assert_eq!(only(&d).properties().unwrap()["email"], json!("c"));
    assert_eq!(d.offsets[&0], 4);

    // Remembered across windows.
    assert_eq!(
        push_all(&mut w, &route, std::slice::from_ref(&e1)),
        [PushOutcome::Duplicate]
    );
    let mut replay = e1.clone();
    replay.source.replay = true;
    let mut snapshot = event(Op::Read, "users", 7, None, Some(with_email(7, "s")), 50);
    snapshot.source.snapshot = true;
    assert_eq!(
        push_all(&mut w, &route, &[replay, snapshot]),
        [PushOutcome::Accepted, PushOutcome::Accepted]
    );
    // Another row index of the same rows event is not a duplicate.
    let mut next_row = update(7, "c", "d", 200);
    next_row.source.row = 1;
    assert_eq!(
        push_all(&mut w, &route, &[next_row]),
        [PushOutcome::Accepted]
    );
    w.drain();

    // A consumer that seeks back after a failed write must forget them.
    w.forget_positions();
    assert_eq!(push_all(&mut w, &route, &[e1]), [PushOutcome::Accepted]);
}

#[test]
fn the_window_refuses_a_new_entity_beyond_max_entities() {
    let route = hubspot_route();
    let mut w = Window::new(config(10_000, 3));
    let now = Instant::now();
    for id in 1..=3 {
        assert_eq!(
            w.push(&update(id, "a", "b", id * 10), 0, id as i64, &route, now),
            PushOutcome::Accepted
        );
    }
    assert!(w.is_full() && w.is_due(now));
    let fourth = update(4, "a", "b", 40);
    assert_eq!(w.push(&fourth, 0, 4, &route, now), PushOutcome::Full);
    // The refused event left no trace: its offset is not committed.
    let d = w.drain();
    assert_eq!((d.updates.len(), d.offsets[&0]), (3, 4));
    assert_eq!(w.push(&fourth, 0, 4, &route, now), PushOutcome::Accepted);
    // An entity already in the window is still accepted when full.
    let mut w = Window::new(config(10_000, 1));
    w.push(&update(1, "a", "b", 10), 0, 0, &route, now);
    assert_eq!(
        w.push(&update(1, "b", "c", 20), 0, 1, &route, now),
        PushOutcome::Accepted
    );
    assert_eq!(
        w.push(&update(2, "b", "c", 30), 0, 2, &route, now),
        PushOutcome::Full
    );
}

#[test]
fn the_window_refuses_events_beyond_max_events() {
    let route = hubspot_route();
    let mut w = Window::new(config(2, 1_000));
    let now = Instant::now();
    let out: Vec<_> = (1..=3u64)
        .map(|i| w.push(&update(i, "a", "b", i), 0, i as i64, &route, now))
        .collect();
    assert_eq!(
        out,
        [
            PushOutcome::Accepted,
            PushOutcome::Accepted,
            PushOutcome::Full
        ]
    );
}

#[test]
fn due_after_max_wait_from_the_first_event() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let t0 = Instant::now();
    assert!(
        !w.is_due(t0 + Duration::from_secs(60)),
        "an empty window is never due"
    );
    w.push(&update(1, "a", "b", 1), 0, 0, &route, t0);
    w.push(
        &update(1, "b", "c", 2),
        0,
        1,
        &route,
        t0 + Duration::from_millis(400),
    );
    assert!(!w.is_due(t0 + Duration::from_millis(499)));
    assert!(w.is_due(t0 + Duration::from_millis(500)));
    w.drain();
    assert!(w.is_empty() && !w.is_due(t0 + Duration::from_secs(60)));
}

#[test]
fn a_mass_update_of_1000_users_makes_10_batches_of_100() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let now = Instant::now();
    let mut offset = 0;
    for id in 1..=1_000u64 {
        let events = [
            update(id, "a", "b", id * 100),
            update(id, "b", "c", id * 100 + 10),
            cim_update(id, "1", 3, id * 100 + 20),
        ];
        for e in &events {
            assert_eq!(
                w.push(e, (id % 4) as i32, offset, &route, now),
                PushOutcome::Accepted
            );
            offset += 1;
        }
    }
    assert!(w.is_full());
    let d = w.drain();
    assert_eq!(d.stats.events_in, 3_000);
    assert_eq!(d.updates.len(), 1_000);
    assert_eq!(d.stats.coalescing_ratio(), 3.0);
    let batches: Vec<_> = d.chunks(HUBSPOT_MAX_BATCH).collect();
    assert_eq!(batches.len(), 10);
    assert!(batches
        .iter()
        .all(|b| b.updates.len() == 100 && b.kind == BatchKind::Upsert));
    assert_eq!(batches[0].updates[0].key.key, "1");
    // The highest offset of each partition, plus one.
    assert_eq!(d.offsets.len(), 4);
    assert_eq!(d.offsets[&0], 2_999 + 1);
    assert_eq!(d.offsets[&3], 2_996 + 1);
}

#[test]
fn upserts_and_archives_go_in_separate_batches_of_at_most_batch_size() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let mut events = Vec::new();
    for id in 1..=5u64 {
        let status = if id % 2 == 0 { "C" } else { "A" };
        events.push(event(
            Op::Create,
            "users",
            id,
            None,
            Some(user(id, status, "a")),
            id,
        ));
    }
    push_all(&mut w, &route, &events);
    let d = w.drain();
    let batches: Vec<_> = d
        .chunks(2)
        .map(|b| {
            (
                b.kind,
                b.updates
                    .iter()
                    .map(|u| u.key.key.as_str())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        batches,
        [
            (BatchKind::Upsert, vec!["1", "3"]),
            (BatchKind::Upsert, vec!["5"]),
            (BatchKind::Archive, vec!["2", "4"]),
        ]
    );
}

#[test]
fn skipped_and_rejected_events_still_advance_the_offsets() {
    let route = hubspot_route();
    let mut w = Window::new(CoalesceConfig::default());
    let now = Instant::now();
    let unmapped = ChangeEvent {
        table: "sessions".into(),
        ..update(1, "a", "b", 1)
    };
    let bad_key = event(Op::Create, "users", 99, None, Some(with_email(1, "a")), 2);
    assert_eq!(w.push(&unmapped, 2, 40, &route, now), PushOutcome::Skipped);
    let PushOutcome::Rejected(err) = w.push(&bad_key, 2, 41, &route, now) else {
        panic!("a key mismatch must be rejected")
    };
    assert_eq!(err.column, "id");
    // Dead-lettered once is enough: the same event re-sent is a duplicate.
    assert_eq!(w.push(&bad_key, 2, 43, &route, now), PushOutcome::Duplicate);
    assert_eq!(
        w.push(&update(1, "a", "b", 3), 1, 7, &route, now),
        PushOutcome::Accepted
    );
    let d = w.drain();
    assert_eq!(
        d.offsets.iter().map(|(p, o)| (*p, *o)).collect::<Vec<_>>(),
        [(1, 8), (2, 44)]
    );
    assert_eq!(
        (d.stats.skipped, d.stats.rejected, d.stats.applied),
        (1, 1, 1)
    );
}

#[test]
fn mysql_targets_are_separate_entities_and_deletes_delete() {
    let route = MappingRoute::new(example().sinks.mysql.tables, Flavor::Sql, "unused");
    let mut w = Window::new(CoalesceConfig::default());
    let gone = event(
        Op::Delete,
        "user_cim_details",
        7,
        Some(cim(7, json!("03"), json!("1"), json!(0))),
        None,
        20,
    );
    push_all(&mut w, &route, &[update(7, "a", "b", 10), gone]);
    let d = w.drain();
    let keys: Vec<_> = d
        .updates
        .iter()
        .map(|u| (u.key.to_string(), u.kind.batch_kind()))
        .collect();
    assert_eq!(
        keys,
        [
            ("crm.users/7".to_string(), BatchKind::Upsert),
            ("crm.user_cim_details/7".to_string(), BatchKind::Delete),
        ]
    );
    assert_eq!(d.updates[0].properties().unwrap()["user_id"], json!(7));
    assert_eq!(
        d.updates[0].properties().unwrap()["full_name"],
        Value::from("Zoë 李")
    );
}
