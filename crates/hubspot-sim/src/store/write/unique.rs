//! Unique values: a value of a unique property (email, or a custom
//! property with `hasUniqueValue`) may belong to one live record only.

use super::{Planned, Target, WriteInput, WriteKind};
use crate::errors::{ApiError, ErrorDetail};
use crate::store::Store;
use std::collections::{HashMap, HashSet};

impl Store {
    /// Refuses values of unique properties that belong to another record, or
    /// that two inputs of the batch would give to two records.
    pub(super) fn check_unique(
        &self,
        kind: WriteKind,
        planned: &[Planned],
        inputs: &[WriteInput],
    ) -> Result<(), ApiError> {
        let unique: HashSet<&str> = self.properties.unique_keys().collect();
        let mut claims: HashMap<(&str, &str), (usize, Target)> = HashMap::new();
        let mut details = Vec::new();
        let mut existing_owner = None;
        for p in planned {
            let id = inputs.get(p.index).and_then(|i| i.id.as_deref());
            for (name, value) in &p.changes {
                if value.is_empty() || !unique.contains(name.as_str()) {
                    continue;
                }
                let owner = self
                    .owner_of(name, value)
                    .filter(|o| Target::Existing(*o) != p.target);
                let rival = claims
                    .insert((name, value), (p.index, p.target))
                    .filter(|(_, t)| *t != p.target || p.target == Target::New);
                let message = match (owner, rival) {
                    (Some(o), _) => {
                        existing_owner.get_or_insert(o);
                        format!("{value} is already the {name} of contact {o}")
                    }
                    (None, Some((other, _))) => format!(
                        "{value} is given as {name} to two records, by inputs {other} and {}",
                        p.index
                    ),
                    (None, None) => continue,
                };
                details.push(
                    ErrorDetail::new("UNIQUE_VALUE_CONFLICT", message)
                        .property(name)
                        .input(p.index, id),
                );
            }
        }
        let Some(first) = details.first() else {
            return Ok(());
        };
        if kind == WriteKind::Create {
            // HubSpot's batch create answers a duplicate with 409 and this
            // message (it names only the first existing record).
            let message = match existing_owner {
                Some(o) => format!("Contact already exists. Existing ID: {o}"),
                None => first.message.clone(),
            };
            let mut error = ApiError::conflict(message);
            error.errors = details;
            return Err(error);
        }
        Err(ApiError::invalid_properties(details))
    }
}
