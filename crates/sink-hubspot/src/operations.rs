//! The two batch operations as `BatchService`s: what one batch of upserts
//! or archives turns into over HTTP, and how the answers read.
//!
//! Upsert is one request. Archive is two, because HubSpot archives by
//! record id while the sink only knows the `id_property` value: `batch/read`
//! by that property first (inputs it does not find are already gone, which
//! is the goal), then `batch/archive` of the ids found.

use tracing::debug;

use crate::bisect::{BatchService, Reply, Sent};
use crate::dispatch::{Answer, Delivered, Dispatcher};
use crate::error::HubSpotError;
use crate::model::{ArchiveInput, BatchItem, UpsertInput};
use crate::request_builder::{ApiRequest, RequestBuilder};
use crate::response::{excerpt, per_record, BatchBody, Rejection};
use crate::service::Transport;

/// What both operations need: the dispatcher, the request builder, and the
/// id property (to match answers to inputs).
pub struct Operations<'a, T> {
    pub dispatcher: &'a Dispatcher<T>,
    pub requests: &'a RequestBuilder,
    pub id_property: &'a str,
}

/// Upserts one batch.
pub struct Upsert<'a, T>(pub Operations<'a, T>);

/// Archives one batch.
pub struct Archive<'a, T>(pub Operations<'a, T>);

impl<T: Transport> BatchService<UpsertInput> for Upsert<'_, T> {
    async fn send(&self, inputs: &[UpsertInput]) -> Result<Sent<UpsertInput>, HubSpotError> {
        let ops = &self.0;
        let request = ops.requests.upsert(inputs);
        let delivered = ops.dispatcher.send(&request).await?;
        let mut sent = counted(&delivered);
        sent.reply = match delivered.answer {
            Answer::Accepted(response) if response.status.as_u16() == 207 => {
                let body = parse_batch(&request, &response.body)?;
                let correlation_id = response
                    .headers
                    .get("x-hubspot-correlation-id")
                    .and_then(|v| v.to_str().ok());
                let split = per_record(&body, inputs, ops.id_property, correlation_id);
                Reply::Applied {
                    applied: inputs.len() - split.failed.len() - split.unsure.len(),
                    failed: split.failed,
                    unsure: split.unsure,
                }
            }
            Answer::Accepted(_) => applied(inputs),
            Answer::Refused(rejection) => batch_refusal(&request, rejection)?,
        };
        Ok(sent)
    }
}

impl<T: Transport> BatchService<ArchiveInput> for Archive<'_, T> {
    async fn send(&self, inputs: &[ArchiveInput]) -> Result<Sent<ArchiveInput>, HubSpotError> {
        let ops = &self.0;
        let read = ops.requests.read_ids(inputs);
        let delivered = ops.dispatcher.send(&read).await?;
        let mut sent = counted(&delivered);
        let record_ids: Vec<String> = match delivered.answer {
            Answer::Accepted(response) => {
                // A 207 here lists the inputs not found: already gone.
                let body = parse_batch(&read, &response.body)?;
                body.results
                    .into_iter()
                    .map(|r| r.id)
                    .filter(|id| !id.is_empty())
                    .collect()
            }
            Answer::Refused(rejection) if rejection.status == 404 => Vec::new(),
            Answer::Refused(rejection) => {
                sent.reply = batch_refusal(&read, rejection)?;
                return Ok(sent);
            }
        };
        debug!(
            asked = inputs.len(),
            found = record_ids.len(),
            "archiving contacts found by {}",
            ops.id_property
        );
        if !record_ids.is_empty() {
            let archive = ops.requests.archive(&record_ids);
            let delivered = ops.dispatcher.send(&archive).await?;
            let more = counted::<ArchiveInput>(&delivered);
            sent.calls += more.calls;
            sent.retries += more.retries;
            if let Answer::Refused(rejection) = delivered.answer {
                sent.reply = batch_refusal(&archive, rejection)?;
                return Ok(sent);
            }
        }
        // Archived now or gone before: either way done.
        sent.reply = applied(inputs);
        Ok(sent)
    }
}

/// Which of `ids` (values of the id property) exist as contacts: one
/// `batch/read` of at most 100 ids. Used before updating a contact from a
/// secondary table alone, so such a change never creates a contact.
pub async fn existing<T: Transport>(
    ops: &Operations<'_, T>,
    ids: &[String],
) -> Result<Vec<String>, HubSpotError> {
    let inputs: Vec<ArchiveInput> = ids
        .iter()
        .map(|id| ArchiveInput {
            id: id.clone(),
            tag: 0,
        })
        .collect();
    let read = ops.requests.read_ids(&inputs);
    let delivered = ops.dispatcher.send(&read).await?;
    match delivered.answer {
        Answer::Accepted(response) => {
            let body = parse_batch(&read, &response.body)?;
            let found: Vec<String> = body
                .results
                .iter()
                .filter_map(|r| r.properties.get(ops.id_property))
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                        .to_lowercase()
                })
                .collect();
            // Answer in the caller's spelling (HubSpot lowercases emails).
            Ok(ids
                .iter()
                .filter(|id| found.contains(&id.to_lowercase()))
                .cloned()
                .collect())
        }
        Answer::Refused(rejection) if rejection.status == 404 => Ok(Vec::new()),
        Answer::Refused(rejection) => {
            batch_refusal::<ArchiveInput>(&read, rejection).and_then(|_| {
                Err(HubSpotError::InvalidResponse {
                    what: read.what.to_string(),
                    reason: "contacts lookup refused".into(),
                })
            })
        }
    }
}

/// A `Sent` with the request counts of `delivered`; the caller sets the
/// reply.
fn counted<I>(delivered: &Delivered) -> Sent<I> {
    Sent {
        calls: delivered.attempts,
        retries: delivered.attempts.saturating_sub(1),
        reply: Reply::Applied {
            applied: 0,
            failed: Vec::new(),
            unsure: Vec::new(),
        },
    }
}

fn applied<I: BatchItem>(inputs: &[I]) -> Reply<I> {
    Reply::Applied {
        applied: inputs.len(),
        failed: Vec::new(),
        unsure: Vec::new(),
    }
}

/// A refused batch: validation and conflict refusals are about records, so
/// they are bisected; "property does not exist" and anything else (404 of a
/// wrong path, 405, …) is about the configuration and would refuse every
/// record alike, so it stops the sink instead of dead-lettering everything.
fn batch_refusal<I>(request: &ApiRequest, rejection: Rejection) -> Result<Reply<I>, HubSpotError> {
    if rejection.body.is_unknown_property() {
        return Err(HubSpotError::UnknownProperties {
            message: rejection.body.message_or("PROPERTY_DOESNT_EXIST"),
            correlation_id: rejection.body.correlation_id,
        });
    }
    match rejection.status {
        400 | 409 | 413 | 422 => Ok(Reply::Rejected(rejection)),
        status => Err(HubSpotError::Unexpected {
            what: format!("{} ({} {})", request.what, request.method, request.path),
            status,
            message: rejection.body.message_or("no message"),
            correlation_id: rejection.body.correlation_id,
        }),
    }
}

fn parse_batch(request: &ApiRequest, body: &[u8]) -> Result<BatchBody, HubSpotError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BatchBody::default());
    }
    serde_json::from_slice(body).map_err(|e| HubSpotError::InvalidResponse {
        what: request.what.to_string(),
        reason: format!("{e}; body starts: {}", excerpt(body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bisect::deliver;
    use crate::config::HubSpotConfig;
    use crate::testing::{answer, Script};
    use serde_json::{json, Map};

    struct Fixture {
        dispatcher: Dispatcher<Script>,
        requests: RequestBuilder,
    }

    impl Fixture {
        fn new(answers: Vec<crate::service::HttpResponse>) -> Self {
            let config = HubSpotConfig::default();
            Fixture {
                dispatcher: Dispatcher::new(
                    Script::new(answers.into_iter().map(Ok).collect()),
                    &config,
                ),
                requests: RequestBuilder::new(&config),
            }
        }

        fn ops(&self) -> Operations<'_, Script> {
            Operations {
                dispatcher: &self.dispatcher,
                requests: &self.requests,
                id_property: "email",
            }
        }

        fn script(&self) -> &Script {
            self.dispatcher.transport()
        }
    }

    fn upserts(ids: &[&str]) -> Vec<UpsertInput> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| UpsertInput {
                id: id.to_string(),
                properties: Map::new(),
                tag: i as u64,
            })
            .collect()
    }

    fn archives(ids: &[&str]) -> Vec<ArchiveInput> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| ArchiveInput {
                id: id.to_string(),
                tag: i as u64,
            })
            .collect()
    }

    #[tokio::test]
    async fn multi_status_upsert_dead_letters_only_the_named_record() {
        let body = json!({
            "status": "COMPLETE",
            "results": [{"id": "1", "properties": {"email": "a@x.io"}}],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "bad b",
                        "context": {"objectWriteTraceId": ["1"]}}]
        });
        let f = Fixture::new(vec![answer(207, &[], &body.to_string())]);
        let outcome = deliver(&Upsert(f.ops()), upserts(&["a@x.io", "b@x.io"]))
            .await
            .unwrap();
        assert_eq!(outcome.applied, 1);
        assert_eq!(outcome.dead_letters.len(), 1);
        assert_eq!(outcome.dead_letters[0].input.id, "b@x.io");
        assert_eq!(outcome.dead_letters[0].status, 207);
        assert_eq!(outcome.calls, 1);
    }

    #[tokio::test]
    async fn a_wrong_path_stops_instead_of_dead_lettering_every_record() {
        let f = Fixture::new(vec![answer(404, &[], r#"{"message":"No route"}"#)]);
        let err = deliver(&Upsert(f.ops()), upserts(&["a@x.io", "b@x.io"]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HubSpotError::Unexpected { status: 404, .. }),
            "{err}"
        );
        assert!(!err.is_retriable());
        assert_eq!(f.script().paths().len(), 1);
    }

    #[tokio::test]
    async fn archive_reads_ids_then_archives_the_found_ones() {
        let read = json!({"results": [{"id": "101", "properties": {"email": "a@x.io"}}],
                          "errors": [{"category": "OBJECT_NOT_FOUND", "context": {"ids": ["b@x.io"]}}]});
        let f = Fixture::new(vec![
            answer(207, &[], &read.to_string()),
            answer(204, &[], ""),
        ]);
        let outcome = deliver(&Archive(f.ops()), archives(&["a@x.io", "b@x.io"]))
            .await
            .unwrap();
        assert_eq!(outcome.applied, 2);
        assert_eq!(outcome.calls, 2);
        assert_eq!(outcome.retries, 0);
        let requests = f.script().requests.lock().unwrap().clone();
        assert!(requests[0].path.ends_with("/batch/read"));
        assert!(requests[1].path.ends_with("/batch/archive"));
        assert_eq!(requests[1].body, Some(json!({"inputs": [{"id": "101"}]})));
    }

    #[tokio::test]
    async fn archive_of_contacts_already_gone_sends_no_archive() {
        let f = Fixture::new(vec![answer(200, &[], r#"{"results": []}"#)]);
        let outcome = deliver(&Archive(f.ops()), archives(&["gone@x.io"]))
            .await
            .unwrap();
        assert_eq!(outcome.applied, 1);
        assert_eq!(f.script().paths().len(), 1);
    }
}
