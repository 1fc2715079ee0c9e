//! The split algorithm against an in-memory HubSpot: no HTTP, exact call
//! counts.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::model::ArchiveInput;
use crate::response::ErrorBody;

/// How the fake's refusals name the bad inputs.
#[derive(Clone, Copy)]
enum Naming {
    Nobody,
    /// `errors[].context.id` of every bad input, as the simulator does.
    ById,
    /// Names the first input of the batch, bad or not.
    Wrongly,
}

/// Refuses a whole batch if any input is bad, like HubSpot's upsert.
struct FakeHubSpot {
    bad: HashSet<String>,
    naming: Naming,
    /// Size of every batch sent, in order.
    sent: Mutex<Vec<usize>>,
    stored: Mutex<Vec<String>>,
    /// Fail with a retriable error on this call (0-based).
    unavailable_at: Option<usize>,
}

impl FakeHubSpot {
    fn new(bad: &[&str], naming: Naming) -> Self {
        FakeHubSpot {
            bad: bad.iter().map(|s| s.to_string()).collect(),
            naming,
            sent: Mutex::new(Vec::new()),
            stored: Mutex::new(Vec::new()),
            unavailable_at: None,
        }
    }

    fn calls(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

impl BatchService<ArchiveInput> for FakeHubSpot {
    async fn send(&self, inputs: &[ArchiveInput]) -> Result<Sent<ArchiveInput>, HubSpotError> {
        assert!(!inputs.is_empty() && inputs.len() <= MAX_BATCH_INPUTS);
        let call = {
            let mut sent = self.sent.lock().unwrap();
            sent.push(inputs.len());
            sent.len() - 1
        };
        if self.unavailable_at == Some(call) {
            return Err(HubSpotError::Retriable {
                attempts: 9,
                last: "HTTP 503".into(),
            });
        }
        let bad: Vec<&ArchiveInput> = inputs.iter().filter(|i| self.bad.contains(&i.id)).collect();
        if bad.is_empty() {
            self.stored
                .lock()
                .unwrap()
                .extend(inputs.iter().map(|i| i.id.clone()));
            return Ok(Sent {
                calls: 1,
                retries: 0,
                reply: Reply::Applied {
                    applied: inputs.len(),
                    failed: Vec::new(),
                    unsure: Vec::new(),
                },
            });
        }
        let named: Vec<&str> = match self.naming {
            Naming::Nobody => Vec::new(),
            Naming::ById => bad.iter().map(|i| i.id.as_str()).collect(),
            Naming::Wrongly => vec![inputs[0].id.as_str()],
        };
        let errors = named
            .iter()
            .map(|id| json!({"code":"INVALID_EMAIL","context":{"id":[id]}}))
            .collect();
        Ok(Sent {
            calls: 1,
            retries: 0,
            reply: Reply::Rejected(Rejection {
                status: 400,
                body: ErrorBody {
                    message: Some("Property values were not valid".into()),
                    category: Some("VALIDATION_ERROR".into()),
                    errors,
                    ..ErrorBody::default()
                },
            }),
        })
    }
}

fn inputs(n: usize) -> Vec<ArchiveInput> {
    (0..n)
        .map(|i| ArchiveInput {
            id: format!("user{i}@example.com"),
            tag: i as u64,
        })
        .collect()
}

fn dead_ids(outcome: &BatchOutcome<ArchiveInput>) -> Vec<&str> {
    outcome
        .dead_letters
        .iter()
        .map(|d| d.input.id.as_str())
        .collect()
}

#[tokio::test]
async fn splits_into_batches_of_100_in_order() {
    let fake = FakeHubSpot::new(&[], Naming::Nobody);
    let outcome = deliver(&fake, inputs(250)).await.unwrap();
    assert_eq!(outcome.applied, 250);
    assert_eq!(outcome.calls, 3);
    assert_eq!(outcome.retries, 0);
    assert_eq!(*fake.sent.lock().unwrap(), vec![100, 100, 50]);
    let stored = fake.stored.lock().unwrap();
    assert_eq!(stored.first().unwrap(), "user0@example.com");
    assert_eq!(stored.last().unwrap(), "user249@example.com");
}

#[tokio::test]
async fn bisection_isolates_one_bad_input_in_about_2_log2_n_calls() {
    let fake = FakeHubSpot::new(&["user37@example.com"], Naming::Nobody);
    let outcome = deliver(&fake, inputs(100)).await.unwrap();
    assert_eq!(outcome.applied, 99);
    assert_eq!(dead_ids(&outcome), vec!["user37@example.com"]);
    assert_eq!(outcome.dead_letters[0].input.tag, 37);
    // 1 + 2 per level over ceil(log2 100) = 7 levels.
    assert!(outcome.calls <= 15, "{} calls", outcome.calls);
    assert_eq!(fake.stored.lock().unwrap().len(), 99);
}

#[tokio::test]
async fn named_inputs_skip_the_bisection() {
    let fake = FakeHubSpot::new(&["user5@example.com", "user80@example.com"], Naming::ById);
    let outcome = deliver(&fake, inputs(100)).await.unwrap();
    assert_eq!(outcome.applied, 98);
    assert_eq!(
        dead_ids(&outcome),
        vec!["user5@example.com", "user80@example.com"]
    );
    // The refused batch, the 98 others, each suspect alone.
    assert_eq!(*fake.sent.lock().unwrap(), vec![100, 98, 1, 1]);
}

#[tokio::test]
async fn wrong_names_never_dead_letter_a_good_input() {
    let fake = FakeHubSpot::new(&["user60@example.com"], Naming::Wrongly);
    let outcome = deliver(&fake, inputs(100)).await.unwrap();
    assert_eq!(outcome.applied, 99);
    assert_eq!(dead_ids(&outcome), vec!["user60@example.com"]);
    assert!(fake.calls() <= 20, "{} calls", fake.calls());
}

#[tokio::test]
async fn every_bad_input_is_found_and_sent_alone_once() {
    let bad: Vec<String> = (0..8).map(|i| format!("user{i}@example.com")).collect();
    let bad_refs: Vec<&str> = bad.iter().map(String::as_str).collect();
    let fake = FakeHubSpot::new(&bad_refs, Naming::Nobody);
    let outcome = deliver(&fake, inputs(8)).await.unwrap();
    assert_eq!(outcome.applied, 0);
    assert_eq!(dead_ids(&outcome), bad_refs);
    // A full binary tree over 8 leaves: 15 requests, then it stops.
    assert_eq!(fake.calls(), 15);
}

#[tokio::test]
async fn a_single_refused_input_is_sent_exactly_once() {
    let fake = FakeHubSpot::new(&["user0@example.com"], Naming::ById);
    let outcome = deliver(&fake, inputs(1)).await.unwrap();
    assert_eq!(outcome.dead_letters.len(), 1);
    assert_eq!(outcome.dead_letters[0].status, 400);
    assert_eq!(outcome.dead_letters[0].error_codes(), vec!["INVALID_EMAIL"]);
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_retriable_failure_returns_the_error_for_the_whole_list() {
    let mut fake = FakeHubSpot::new(&[], Naming::Nobody);
    fake.unavailable_at = Some(1);
    let err = deliver(&fake, inputs(250)).await.unwrap_err();
    assert!(err.is_retriable());
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn empty_input_sends_nothing() {
    let fake = FakeHubSpot::new(&[], Naming::Nobody);
    let outcome = deliver(&fake, Vec::new()).await.unwrap();
    assert_eq!(outcome, BatchOutcome::default());
    assert_eq!(fake.calls(), 0);
}

/// A 207 that leaves inputs unexplained every time: they are resent in
/// halves until alone, so the loop ends.
struct AlwaysUnsure {
    sent: Mutex<Vec<usize>>,
}

impl BatchService<ArchiveInput> for AlwaysUnsure {
    async fn send(&self, inputs: &[ArchiveInput]) -> Result<Sent<ArchiveInput>, HubSpotError> {
        self.sent.lock().unwrap().push(inputs.len());
        let unsure = if inputs.len() > 1 {
            (0..inputs.len()).collect()
        } else {
            Vec::new()
        };
        Ok(Sent {
            calls: 1,
            retries: 0,
            reply: Reply::Applied {
                applied: inputs.len() - unsure.len(),
                failed: Vec::new(),
                unsure,
            },
        })
    }
}

#[tokio::test]
async fn unexplained_multi_status_inputs_are_resent_until_alone() {
    let service = AlwaysUnsure {
        sent: Mutex::new(Vec::new()),
    };
    let outcome = deliver(&service, inputs(4)).await.unwrap();
    assert_eq!(outcome.applied, 4);
    assert_eq!(*service.sent.lock().unwrap(), vec![4, 2, 1, 1, 2, 1, 1]);
}
