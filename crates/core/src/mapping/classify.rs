//! What one change event means for the target: upsert, archive, delete,
//! clear, or nothing.
//!
//! Two shortcuts save API calls where the system this replaces spent them:
//! an update that changed no mapped column is skipped (adding a column to
//! `users` and setting it for every row once sent every user to HubSpot and
//! took the server down), and an update of a row that was already outside
//! the filter is skipped (it was archived when it left). Replayed events get
//! neither shortcut: a replay is asked for to write again.

use super::error::MappingError;
use super::filter::{FilterAction, RowFilter};
use super::flavor::Flavor;
use super::row::Properties;
use super::table::{DeleteAction, TableMapping};
use crate::event::{ChangeEvent, Op, Row};

/// What a change means for the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write these properties/columns, creating the entity when absent.
    Upsert(Properties),
    /// An update that brings the row back into the filter: write it in full,
    /// like `Upsert`. The entity's rows in other tables changed unseen while
    /// it was out (their changes were skipped), so a sink that removed the
    /// record re-reads them (see `PendingUpdate::refill`).
    Reenter(Properties),
    /// Archive the entity (HubSpot).
    Archive,
    /// Delete the target row (MySQL).
    Delete,
    /// Set these properties to empty: a non-primary row is gone (HubSpot).
    Clear(Properties),
    /// Nothing to write.
    Skip(SkipReason),
}

/// Why a change writes nothing (for metrics and debug logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The row fails the filter, whose action is `skip`.
    FilteredOut,
    /// An update of a row that failed the filter before and after: its
    /// archive/delete happened when it left.
    StillFilteredOut,
    /// An update that changed no mapped column.
    Unchanged,
    /// A delete, with `on_delete = "ignore"`.
    DeleteIgnored,
}

impl TableMapping {
    /// Classifies one change event of this table (see [`Action`]).
    ///
    /// - insert / snapshot read / update of a row that passes the filter →
    ///   `Upsert` (unless an update changed no mapped column);
    /// - a row that fails the filter → the filter's action (`archive`,
    ///   `delete` or `skip`);
    /// - delete → `on_delete`: the primary table archives (HubSpot) or
    ///   deletes (MySQL), another HubSpot table clears its properties.
    ///
    /// Deletes ignore the filter: whatever the row was, it is gone.
    pub fn classify(&self, event: &ChangeEvent, flavor: Flavor) -> Result<Action, MappingError> {
        let image = if event.op == Op::Delete {
            event.before.as_ref()
        } else {
            event.after.as_ref()
        };
        let row = image.ok_or_else(|| {
            MappingError::new(
                self.table.to_string(),
                self.key.clone(),
                None,
                serde_json::Value::Null,
                format!(
                    "the `{}` event has no row image (the source must publish full images)",
                    event.op.as_str()
                ),
            )
        })?;
        self.check_key(row, &event.key)?;
        if event.op == Op::Delete {
            return Ok(match self.delete_action(flavor) {
                DeleteAction::Archive => Action::Archive,
                DeleteAction::Delete => Action::Delete,
                DeleteAction::Clear => Action::Clear(self.cleared(flavor)),
                DeleteAction::Ignore => Action::Skip(SkipReason::DeleteIgnored),
            });
        }
        // The previous image only matters for a live update.
        let before = event
            .before
            .as_ref()
            .filter(|_| event.op == Op::Update && !event.source.replay);
        if let Some(filter) = &self.filter {
            if !self.passes(filter, row)? {
                let was_out = before.is_some_and(|b| filter.passes(b) == Ok(false));
                return Ok(match filter.action {
                    FilterAction::Skip => Action::Skip(SkipReason::FilteredOut),
                    _ if was_out => Action::Skip(SkipReason::StillFilteredOut),
                    FilterAction::Archive => Action::Archive,
                    FilterAction::Delete => Action::Delete,
                });
            }
        }
        let props = self.map_row(row, flavor)?;
        if let Some(before) = before {
            // An entity coming back into the filter is written in full.
            let was_in = self
                .filter
                .as_ref()
                .is_none_or(|f| f.passes(before) == Ok(true));
            if !was_in {
                return Ok(Action::Reenter(self.with_target_key(props, row, flavor)));
            }
            if self.map_row(before, flavor).as_ref() == Ok(&props) {
                return Ok(Action::Skip(SkipReason::Unchanged));
            }
        }
        Ok(Action::Upsert(self.with_target_key(props, row, flavor)))
    }

    fn passes(&self, filter: &RowFilter, row: &Row) -> Result<bool, MappingError> {
        filter.passes(row).map_err(|reason| {
            let value = row.get(&filter.column).cloned().unwrap_or_default();
            MappingError::new(
                self.table.to_string(),
                filter.column.clone(),
                None,
                value,
                reason,
            )
        })
    }
}
