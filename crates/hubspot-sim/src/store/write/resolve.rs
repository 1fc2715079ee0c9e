//! Matching a batch input to the record it writes: by record id, or by the
//! value of a unique property (`idProperty`), creating one on upsert.

use super::{Target, Unresolved, WriteInput, WriteKind};
use crate::errors::ErrorDetail;
use crate::store::Store;
use crate::values::{lookup_key, normalize};
use serde_json::Value;

impl Store {
    /// Finds the record an input writes to, and the `(property, value)` key
    /// it was identified by (used for duplicate detection).
    pub(super) fn resolve(
        &self,
        kind: WriteKind,
        index: usize,
        input: &WriteInput,
    ) -> Result<(Target, Option<(String, String)>), Unresolved> {
        let id = input.id.as_deref().filter(|s| !s.is_empty());
        let invalid = |code: &str, message: String| {
            Unresolved::Invalid(ErrorDetail::new(code, message).input(index, id))
        };
        if kind == WriteKind::Create {
            return Ok((Target::New, None));
        }
        let Some(id) = id else {
            return Err(invalid("MISSING_ID", format!("Input {index} has no id")));
        };
        let id_property = match (kind, input.id_property.as_deref()) {
            (WriteKind::Upsert, None) => {
                return Err(invalid(
                    "MISSING_ID_PROPERTY",
                    format!("Input {index}: idProperty is required for upsert"),
                ))
            }
            // Update by record id.
            (_, None) | (_, Some("hs_object_id")) => {
                return match self.get_by_text(id) {
                    Some(c) => Ok((
                        Target::Existing(c.id),
                        Some(("hs_object_id".into(), c.id.to_string())),
                    )),
                    None => Err(Unresolved::Missing),
                };
            }
            (_, Some(p)) => p,
        };
        let Some(def) = self.properties.get(id_property) else {
            return Err(Unresolved::Invalid(
                ErrorDetail::new(
                    "PROPERTY_DOESNT_EXIST",
                    format!("Property \"{id_property}\" does not exist"),
                )
                .property(id_property)
                .input(index, Some(id)),
            ));
        };
        if !def.is_unique_key() {
            return Err(Unresolved::Invalid(
                ErrorDetail::new(
                    "INVALID_ID_PROPERTY",
                    format!("Unable to perform update/upsert by non-unique {id_property} property"),
                )
                .property(id_property)
                .input(index, Some(id)),
            ));
        }
        let key = if kind == WriteKind::Upsert {
            // The id becomes the property's value, so it must be a valid one.
            normalize(def, &Value::String(id.to_string())).map_err(|e| {
                Unresolved::BadValue(
                    ErrorDetail::new(e.code, e.message)
                        .property(id_property)
                        .input(index, Some(id)),
                )
            })?
        } else {
            lookup_key(def, id)
        };
        let found = self
            .owner_of(id_property, &key)
            .filter(|owner| self.get(*owner).is_some());
        let target = match (found, kind) {
            (Some(owner), _) => Target::Existing(owner),
            (None, WriteKind::Upsert) => Target::New,
            (None, _) => return Err(Unresolved::Missing),
        };
        Ok((target, Some((id_property.to_string(), key))))
    }
}
