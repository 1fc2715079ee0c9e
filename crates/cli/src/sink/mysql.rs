//! The MySQL target sink: a drained window → one transaction with the rows
//! and the offsets. When the target refuses a row (a constraint or type
//! error), the window is applied row by row so the refused rows can be
//! dead-lettered and the others still land; the offsets are then stored
//! after the dead letters are written.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde_json::Value;

use cdc_bus_kafka::dlq::DeadLetter;
use cdc_core::coalesce::{Drained, PendingUpdate, UpdateKind};
use cdc_sink_mysql::{MySqlTarget, RowWrite, SinkError, WriteOp};

use super::config::SinkConfig;
use super::hubspot::record_parts;
use super::letters;
use super::writer::{WriteError, WriteOutcome};

pub struct MySqlWriter {
    name: String,
    target: MySqlTarget,
    /// Target table → its key column.
    keys: HashMap<String, String>,
}

impl MySqlWriter {
    pub async fn open(name: &str, config: &SinkConfig) -> Result<Self> {
        let t = config.target.clone().context("missing [target] section")?;
        let url = cdc_source_mysql::config::expand_env(&t.url)?;
        let target = MySqlTarget::connect(&t, &url)
            .await
            .with_context(|| format!("sinks.{name}: connecting to the MySQL target"))?;
        let keys = config
            .tables
            .tables
            .iter()
            .filter_map(|m| Some((m.target.clone()?, m.target_key.clone()?)))
            .collect();
        Ok(Self {
            name: name.to_string(),
            target,
            keys,
        })
    }

    fn row_write(&self, u: &PendingUpdate) -> RowWrite {
        let key_column = self
            .keys
            .get(&u.key.entity)
            .cloned()
            .unwrap_or_else(|| "id".into());
        RowWrite {
            table: u.key.entity.clone(),
            key_column,
            key: Value::String(u.key.key.clone()),
            op: match &u.kind {
                UpdateKind::Upsert { properties } => WriteOp::Upsert(
                    properties
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                // A filter's "archive" has no meaning in a table: the row goes.
                UpdateKind::Archive | UpdateKind::Delete => WriteOp::Delete,
            },
        }
    }

    pub async fn write(
        &self,
        drained: &Drained,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<WriteOutcome, WriteError> {
        let writes: Vec<RowWrite> = drained.updates.iter().map(|u| self.row_write(u)).collect();
        match self.target.apply(&writes, group, topic, offsets).await {
            Ok(()) => Ok(WriteOutcome {
                dead_letters: Vec::new(),
                offsets_stored: true,
                calls: 1,
            }),
            Err(SinkError::Rejected { .. }) => self.row_by_row(drained, &writes).await,
            Err(e) => Err(classify(e)),
        }
    }

    /// Applies each row in its own transaction (upserts and deletes are
    /// idempotent, so a crash half-way is harmless), collecting refusals.
    async fn row_by_row(
        &self,
        drained: &Drained,
        writes: &[RowWrite],
    ) -> Result<WriteOutcome, WriteError> {
        let mut outcome = WriteOutcome::default();
        for (update, write) in drained.updates.iter().zip(writes) {
            outcome.calls += 1;
            match self
                .target
                .apply(std::slice::from_ref(write), "", "", &[])
                .await
            {
                Ok(()) => {}
                Err(SinkError::Rejected { table, reason }) => {
                    outcome.dead_letters.push(letters::rejected(
                        &self.name,
                        update,
                        format!("{table}: {reason}"),
                        Value::Null,
                    ))
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(outcome)
    }

    pub async fn store_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<(), WriteError> {
        self.target
            .set_offsets(group, topic, offsets)
            .await
            .map_err(classify)
    }

    pub async fn stored_offsets(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<Vec<(i32, i64)>, WriteError> {
        self.target.offsets(group, topic).await.map_err(classify)
    }

    pub async fn replay(&self, letter: &DeadLetter) -> Result<Option<DeadLetter>, WriteError> {
        let (kind, properties) = record_parts(&letter.record);
        let entity = letter
            .record
            .get("key")
            .and_then(|k| k.get("entity"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                WriteError::Fatal(anyhow::anyhow!(
                    "dead letter of kind `{}` has no record to replay",
                    letter.kind
                ))
            })?;
        let write = RowWrite {
            table: entity.to_string(),
            key_column: self
                .keys
                .get(entity)
                .cloned()
                .unwrap_or_else(|| "id".into()),
            key: Value::String(letter.key.clone()),
            op: match kind.as_deref() {
                Some("upsert") => {
                    WriteOp::Upsert(properties.unwrap_or_default().into_iter().collect())
                }
                _ => WriteOp::Delete,
            },
        };
        match self.target.apply(&[write], "", "", &[]).await {
            Ok(()) => Ok(None),
            Err(SinkError::Rejected { table, reason }) => Ok(Some(DeadLetter {
                reason: format!("{table}: {reason}"),
                ts_ms: cdc_source_mysql::reader::now_ms(),
                ..letter.clone()
            })),
            Err(e) => Err(classify(e)),
        }
    }
}

fn classify(e: SinkError) -> WriteError {
    match e {
        SinkError::Transient(_) | SinkError::Unreachable(_) => WriteError::Retriable(e.to_string()),
        other => WriteError::Fatal(other.into()),
    }
}
