//! The in-memory CRM: contacts, their unique-value indexes, and the property
//! definitions they are validated against.
//!
//! The store knows nothing about HTTP or locking; [`crate::state`] wraps it in
//! a mutex. Batch writes live in [`write`] because all-or-nothing validation
//! is the part of HubSpot's contract that needs the most care.
//!
//! Archived contacts stay in the map (flagged) so ids are never reused, but
//! they leave the unique indexes: an archived contact's email may be used by a
//! new contact, as in HubSpot.

pub mod write;

use crate::properties::{Properties, PropertyDef};
use crate::values::lookup_key;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One contact record. Properties are stored in their normalised string form
/// (see [`crate::values`]); a cleared property is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: u64,
    pub properties: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// What the state file holds: enough to rebuild the store (indexes are derived).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub next_id: u64,
    pub properties: Vec<PropertyDef>,
    pub contacts: Vec<Contact>,
}

/// Property name → stored value → contact id, for every unique key property.
type UniqueIndex = HashMap<String, HashMap<String, u64>>;

#[derive(Debug)]
pub struct Store {
    contacts: BTreeMap<u64, Contact>,
    /// Ids are sequential like HubSpot's numeric record ids, starting at 1
    /// so that "0" is never a valid id.
    next_id: u64,
    properties: Properties,
    unique: UniqueIndex,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(Properties::default())
    }
}

impl Store {
    pub fn new(properties: Properties) -> Self {
        let mut store = Store {
            contacts: BTreeMap::new(),
            next_id: 1,
            properties,
            unique: HashMap::new(),
        };
        store.reindex();
        store
    }

    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let mut store = Store::new(Properties::from_defs(snapshot.properties));
        store.contacts = snapshot.contacts.into_iter().map(|c| (c.id, c)).collect();
        let after_last = store.contacts.keys().next_back().map_or(1, |id| id + 1);
        store.next_id = snapshot.next_id.max(after_last);
        store.reindex();
        store
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            next_id: self.next_id,
            properties: self.properties.all().cloned().collect(),
            contacts: self.contacts.values().cloned().collect(),
        }
    }

    /// Drops every contact and restarts ids at 1; custom properties survive
    /// unless `properties` is true.
    pub fn reset(&mut self, properties: bool) {
        self.contacts.clear();
        self.next_id = 1;
        if properties {
            self.properties = Properties::default();
        }
        self.reindex();
    }

    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Adds a property; a new unique property starts with an empty index
    /// (existing values are not checked retroactively, HubSpot refuses to
    /// make a property unique after the fact anyway).
    pub fn add_property(&mut self, def: PropertyDef) {
        if def.is_unique_key() {
            self.unique.entry(def.name.clone()).or_default();
        }
        self.properties.insert(def);
    }

    /// A live (not archived) contact by record id.
    pub fn get(&self, id: u64) -> Option<&Contact> {
        self.contacts.get(&id).filter(|c| !c.archived)
    }

    /// Parses a record id as sent in a URL or batch input.
    pub fn get_by_text(&self, id: &str) -> Option<&Contact> {
        id.parse().ok().and_then(|id| self.get(id))
    }

    /// A live contact by the value of a unique key property.
    pub fn find_by(&self, property: &str, value: &str) -> Option<&Contact> {
        let def = self.properties.get(property)?;
        let id = self.unique.get(property)?.get(&lookup_key(def, value))?;
        self.get(*id)
    }

    /// Owner of a stored unique value, if any.
    fn owner_of(&self, property: &str, value: &str) -> Option<u64> {
        self.unique.get(property)?.get(value).copied()
    }

    /// Live contacts in id order.
    pub fn live(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.values().filter(|c| !c.archived)
    }

    pub fn live_count(&self) -> usize {
        self.live().count()
    }

    /// One page of live contacts with id ≥ `from`, plus the id the next page
    /// starts at. The cursor is the next id rather than an offset, so records
    /// archived between pages do not shift the pages.
    pub fn page(&self, from: u64, limit: usize) -> (Vec<&Contact>, Option<u64>) {
        let mut iter = self
            .contacts
            .range(from..)
            .map(|(_, c)| c)
            .filter(|c| !c.archived);
        let page: Vec<&Contact> = iter.by_ref().take(limit).collect();
        let next = iter.next().map(|c| c.id);
        (page, next)
    }

    /// Archives the given record ids; unknown or already archived ids are
    /// ignored, as HubSpot's batch archive does. Returns how many were archived.
    pub fn archive(&mut self, ids: &[String], now: DateTime<Utc>) -> usize {
        let mut archived = 0;
        for id in ids {
            let Some(id) = id.parse::<u64>().ok().filter(|id| self.get(*id).is_some()) else {
                continue;
            };
            if let Some(contact) = self.contacts.get_mut(&id) {
                contact.archived = true;
                contact.archived_at = Some(now);
                archived += 1;
            }
            self.unindex(id);
        }
        archived
    }

    fn unindex(&mut self, id: u64) {
        for values in self.unique.values_mut() {
            values.retain(|_, owner| *owner != id);
        }
    }

    /// Rebuilds the unique indexes from the live contacts.
    fn reindex(&mut self) {
        let keys: Vec<String> = self.properties.unique_keys().map(String::from).collect();
        let mut unique: UniqueIndex = keys.iter().map(|k| (k.clone(), HashMap::new())).collect();
        for contact in self.contacts.values().filter(|c| !c.archived) {
            for key in &keys {
                if let (Some(value), Some(index)) =
                    (contact.properties.get(key), unique.get_mut(key))
                {
                    index.insert(value.clone(), contact.id);
                }
            }
        }
        self.unique = unique;
    }
}

#[cfg(test)]
mod tests {
    use super::write::{WriteInput, WriteKind};
    use super::*;
    use serde_json::json;

    fn upsert_email(store: &mut Store, emails: &[&str]) {
        let inputs: Vec<WriteInput> = emails
            .iter()
            .map(|e| WriteInput {
                id: Some(e.to_string()),
                id_property: Some("email".into()),
                properties: json!({"firstname": "x"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        store
            .write_batch(WriteKind::Upsert, &inputs, 100, Utc::now())
            .unwrap();
    }

    #[test]
    fn pages_by_id_cursor() {
        let mut store = Store::default();
        upsert_email(&mut store, &["a@x.io", "b@x.io", "c@x.io"]);
        let (page, next) = store.page(1, 2);
        assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(next, Some(3));
        let (page, next) = store.page(3, 2);
        assert_eq!(page.len(), 1);
        assert_eq!(next, None);
    }

    #[test]
    fn archive_frees_unique_values_and_hides_records() {
        let mut store = Store::default();
        upsert_email(&mut store, &["a@x.io"]);
        assert_eq!(
            store.archive(&["1".into(), "99".into(), "zz".into()], Utc::now()),
            1
        );
        assert!(store.get(1).is_none());
        assert!(store.find_by("email", "a@x.io").is_none());
        upsert_email(&mut store, &["a@x.io"]);
        assert_eq!(store.find_by("email", "A@X.io").map(|c| c.id), Some(2));
        assert_eq!(store.live_count(), 1);
    }

    #[test]
    fn snapshot_round_trip_rebuilds_indexes() {
        let mut store = Store::default();
        upsert_email(&mut store, &["a@x.io", "b@x.io"]);
        store.archive(&["2".into()], Utc::now());
        let json = serde_json::to_string(&store.snapshot()).unwrap();
        let back = Store::from_snapshot(serde_json::from_str(&json).unwrap());
        assert_eq!(back.find_by("email", "a@x.io").map(|c| c.id), Some(1));
        assert!(back.find_by("email", "b@x.io").is_none());
        assert_eq!(back.next_id, 3);
    }
}
