//! Delivering a list of inputs so that bad records cannot hold back good
//! ones: split into batches of at most 100, and when HubSpot refuses a whole
//! batch (one invalid email fails all 100), find the culprits.
//!
//! Finding them: if the refusal names inputs (by id, position or trace id),
//! those are set aside and the rest is sent once more; otherwise, or if the
//! rest is refused again, the batch is halved and each half retried, down to
//! single inputs. Bisection costs about 2·log2(n) extra calls per bad input
//! (≈ 14 for one bad input in 100); a useful name costs 2.
//!
//! Invariants:
//! - An input is dead-lettered only when HubSpot refused it *alone* (a
//!   one-input request, or its own entry in a 207). A name in an error is a
//!   hint, never a verdict.
//! - A single refused input is never sent again, so nothing loops.
//! - A retriable or fatal error stops everything and is returned: the caller
//!   keeps the whole list and retries it later. Whatever was applied before
//!   is applied again then, which is harmless for upserts and archives.

use std::future::Future;

use tracing::{debug, warn};

use crate::error::HubSpotError;
use crate::model::{BatchItem, BatchOutcome, DeadLetter};
use crate::request_builder::MAX_BATCH_INPUTS;
use crate::response::Rejection;

/// Sends one batch (≤ 100 inputs) and reports what HubSpot made of it.
/// Retries of 429/5xx happen inside; what comes out is final.
pub trait BatchService<I> {
    fn send(&self, inputs: &[I]) -> impl Future<Output = Result<Sent<I>, HubSpotError>>;
}

/// One batch's final answer and the HTTP requests it took.
#[derive(Debug)]
pub struct Sent<I> {
    /// HTTP requests sent, retries included.
    pub calls: usize,
    /// Of those, repeats after a retriable answer.
    pub retries: usize,
    pub reply: Reply<I>,
}

#[derive(Debug)]
pub enum Reply<I> {
    /// Applied, except `failed` (refused one by one) and `unsure` (positions
    /// of inputs whose fate the answer did not tell; they are sent again).
    Applied {
        applied: usize,
        failed: Vec<DeadLetter<I>>,
        unsure: Vec<usize>,
    },
    /// The whole batch was refused.
    Rejected(Rejection),
}

/// A batch waiting to be sent.
struct Pending<I> {
    inputs: Vec<I>,
    /// Whether names in a refusal may be used to pick suspects. Off for
    /// batches that already were "the rest" after a named refusal: if that
    /// failed too, the names were not the whole story, so bisect.
    use_names: bool,
}

/// Delivers `inputs` in order, isolating refused ones as dead letters.
pub async fn deliver<I, S>(service: &S, inputs: Vec<I>) -> Result<BatchOutcome<I>, HubSpotError>
where
    I: BatchItem,
    S: BatchService<I>,
{
    let mut outcome = BatchOutcome::default();
    // A stack: the last pushed is sent next, so push in reverse to send in
    // the original order (later changes of a contact stay later).
    let mut stack: Vec<Pending<I>> = Vec::new();
    push_in_order(&mut stack, chunks(inputs, MAX_BATCH_INPUTS), true);

    while let Some(Pending { inputs, use_names }) = stack.pop() {
        let sent = service.send(&inputs).await?;
        outcome.calls += sent.calls;
        outcome.retries += sent.retries;
        match sent.reply {
            Reply::Applied {
                applied,
                failed,
                unsure,
            } => {
                outcome.applied += applied;
                for dead in &failed {
                    warn_dead_letter(dead);
                }
                outcome.dead_letters.extend(failed);
                // Resent in halves, so an answer that keeps leaving the
                // same inputs unexplained still ends in one-input requests.
                let unsure: Vec<I> = unsure.iter().map(|&i| inputs[i].clone()).collect();
                if !unsure.is_empty() {
                    debug!(
                        count = unsure.len(),
                        "resending inputs a 207 answer did not account for"
                    );
                    push_in_order(&mut stack, halves(unsure), false);
                }
            }
            Reply::Rejected(rejection) if inputs.len() == 1 => {
                let dead = rejection.dead_letter(inputs.into_iter().next().expect("one input"));
                warn_dead_letter(&dead);
                outcome.dead_letters.push(dead);
            }
            Reply::Rejected(rejection) => {
                let named = if use_names {
                    rejection.named_inputs(&inputs)
                } else {
                    Vec::new()
                };
                if named.is_empty() {
                    debug!(
                        size = inputs.len(),
                        status = rejection.status,
                        "batch refused; bisecting"
                    );
                    push_in_order(&mut stack, halves(inputs), use_names);
                } else {
                    debug!(
                        size = inputs.len(),
                        suspects = named.len(),
                        "batch refused naming inputs; retrying without them"
                    );
                    let (suspects, rest) = partition(inputs, &named);
                    // Each suspect alone (confirms it, with its own
                    // message), after the rest.
                    push_in_order(&mut stack, suspects.into_iter().map(|s| vec![s]), false);
                    if !rest.is_empty() {
                        stack.push(Pending {
                            inputs: rest,
                            use_names: false,
                        });
                    }
                }
            }
        }
    }
    Ok(outcome)
}

fn push_in_order<I>(
    stack: &mut Vec<Pending<I>>,
    batches: impl IntoIterator<Item = Vec<I>>,
    use_names: bool,
) {
    let batches: Vec<Vec<I>> = batches.into_iter().collect();
    stack.extend(
        batches
            .into_iter()
            .rev()
            .map(|inputs| Pending { inputs, use_names }),
    );
}

fn chunks<I>(inputs: Vec<I>, size: usize) -> Vec<Vec<I>> {
    let mut chunks = Vec::with_capacity(inputs.len().div_ceil(size));
    let mut inputs = inputs.into_iter().peekable();
    while inputs.peek().is_some() {
        chunks.push(inputs.by_ref().take(size).collect());
    }
    chunks
}

fn halves<I>(mut inputs: Vec<I>) -> Vec<Vec<I>> {
    if inputs.len() <= 1 {
        return vec![inputs];
    }
    let right = inputs.split_off(inputs.len() / 2);
    vec![inputs, right]
}

/// Splits into (inputs at `positions`, the others), both in order.
fn partition<I>(inputs: Vec<I>, positions: &[usize]) -> (Vec<I>, Vec<I>) {
    let mut picked = Vec::new();
    let mut rest = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        if positions.contains(&index) {
            picked.push(input);
        } else {
            rest.push(input);
        }
    }
    (picked, rest)
}

fn warn_dead_letter<I: BatchItem>(dead: &DeadLetter<I>) {
    warn!(
        id = dead.input.id(),
        status = dead.status,
        category = dead.category.as_deref().unwrap_or("-"),
        correlation_id = dead.correlation_id.as_deref().unwrap_or("-"),
        "HubSpot refused a record; dead-lettered: {}",
        dead.message
    );
}

#[cfg(test)]
mod tests;
