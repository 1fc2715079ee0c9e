//! Reading HubSpot's answers: the error envelope, batch results, and which
//! inputs of a batch an error is about.
//!
//! Parsing is lenient on purpose: every field of HubSpot's error body is
//! optional, and an unreadable error body must still produce a useful
//! message (its text) rather than a second error.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::{BatchItem, DeadLetter};

/// HubSpot's error envelope (`status`, `message`, `correlationId`,
/// `category`, `errors[]`, and on 429 `policyName` / `errorType`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorBody {
    pub message: Option<String>,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    pub policy_name: Option<String>,
    /// Kept raw: they go into dead letters as HubSpot sent them.
    pub errors: Vec<Value>,
}

impl ErrorBody {
    /// Parses an error body; a body that is not HubSpot's JSON becomes the
    /// message (shortened), so the operator still sees what came back.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_else(|_| ErrorBody {
            message: Some(excerpt(body)),
            ..ErrorBody::default()
        })
    }

    pub fn message_or(&self, fallback: &str) -> String {
        self.message.clone().unwrap_or_else(|| fallback.to_string())
    }

    /// True when every detail is HubSpot's "property does not exist": the
    /// mapping, not the record, is wrong, and dead-lettering record after
    /// record would only hide that.
    pub fn is_unknown_property(&self) -> bool {
        let codes: Vec<&str> = self
            .errors
            .iter()
            .filter_map(|e| e.get("code").and_then(Value::as_str))
            .collect();
        let in_message = self
            .message
            .as_deref()
            .is_some_and(|m| m.contains("PROPERTY_DOESNT_EXIST"));
        (!codes.is_empty() && codes.iter().all(|c| *c == "PROPERTY_DOESNT_EXIST"))
            || (codes.is_empty() && in_message)
    }
}

/// A whole request refused by HubSpot (400, 409, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub body: ErrorBody,
}

impl Rejection {
    /// The dead letter for a single input HubSpot refused on its own.
    pub fn dead_letter<I>(&self, input: I) -> DeadLetter<I> {
        DeadLetter {
            input,
            status: self.status,
            category: self.body.category.clone(),
            message: self
                .body
                .message_or("HubSpot refused the input without a message"),
            correlation_id: self.body.correlation_id.clone(),
            errors: errors_value(&self.body.errors),
        }
    }

    /// Positions (into `inputs`) of the inputs this rejection names, in
    /// order and without repeats. Only a hint: it lets a batch skip most of
    /// the bisection, but nothing is dead-lettered on its say-so.
    pub fn named_inputs<I: BatchItem>(&self, inputs: &[I]) -> Vec<usize> {
        let mut named = vec![false; inputs.len()];
        for detail in &self.body.errors {
            for index in detail_targets(detail, inputs) {
                named[index] = true;
            }
        }
        // HubSpot's own bodies often only quote the bad value in the
        // message (`Email address foo@ is invalid`).
        let mut texts: Vec<&str> = self
            .body
            .errors
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect();
        texts.extend(self.body.message.as_deref());
        for (index, input) in inputs.iter().enumerate() {
            if texts.iter().any(|text| mentions(text, input.id())) {
                named[index] = true;
            }
        }
        (0..inputs.len()).filter(|i| named[*i]).collect()
    }
}

/// Which inputs one `errors[]` entry points at through its `context`:
/// `id` (the simulator and some HubSpot errors), `inputIndex`, or the
/// `objectWriteTraceId` we set to the input's position.
fn detail_targets<I: BatchItem>(detail: &Value, inputs: &[I]) -> Vec<usize> {
    let Some(context) = detail.get("context").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut targets = Vec::new();
    for value in context_values(context, "id") {
        targets.extend(
            inputs
                .iter()
                .position(|input| input.id().eq_ignore_ascii_case(value)),
        );
    }
    for key in ["inputIndex", "objectWriteTraceId"] {
        for value in context_values(context, key) {
            if let Ok(index) = value.parse::<usize>() {
                if index < inputs.len() {
                    targets.push(index);
                }
            }
        }
    }
    targets
}

/// HubSpot's `context` maps names to lists of strings; accept a bare
/// string too.
fn context_values<'a>(context: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    match context.get(key) {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(value)) => vec![value.as_str()],
        _ => Vec::new(),
    }
}

/// Whether `text` quotes `id` as a whole word (so `ann@x.io` is not found
/// inside `joann@x.io`). Very short ids are never matched: they would be
/// found everywhere.
fn mentions(text: &str, id: &str) -> bool {
    if id.len() < 3 {
        return false;
    }
    let is_boundary =
        |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || "\"'\\,:;()[]{}<>=".contains(c));
    let lower_text = text.to_ascii_lowercase();
    let lower_id = id.to_ascii_lowercase();
    lower_text.match_indices(&lower_id).any(|(start, _)| {
        let before = lower_text[..start].chars().next_back();
        let after = lower_text[start + lower_id.len()..].chars().next();
        is_boundary(before) && is_boundary(after)
    })
}

/// The body of a 2xx batch answer (`results`, and on 207 `errors`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BatchBody {
    pub results: Vec<BatchRecord>,
    pub errors: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BatchRecord {
    /// HubSpot's record id (`hs_object_id`).
    pub id: String,
    pub properties: Map<String, Value>,
}

impl BatchRecord {
    /// The record's value of `property`, if the answer includes it.
    pub fn property(&self, property: &str) -> Option<&str> {
        self.properties.get(property).and_then(Value::as_str)
    }
}

/// How a multi-status (207) answer splits a batch.
#[derive(Debug, Default, PartialEq)]
pub struct PerRecord<I> {
    /// Inputs refused one by one, with HubSpot's reason.
    pub failed: Vec<DeadLetter<I>>,
    /// Positions of inputs whose fate the answer does not tell (an error
    /// named no input and the record is not among the results): they must
    /// be sent again.
    pub unsure: Vec<usize>,
}

/// Splits a 207 answer: errors that name an input dead-letter it; if some
/// error names nobody, every input neither named nor found in `results`
/// (by `id_property`) is unsure. Upserts are idempotent, so resending an
/// input that was in fact applied is harmless.
pub fn per_record<I: BatchItem>(
    body: &BatchBody,
    inputs: &[I],
    id_property: &str,
    correlation_id: Option<&str>,
) -> PerRecord<I> {
    let mut errors_of: Vec<Vec<&Value>> = vec![Vec::new(); inputs.len()];
    let mut unattributed = false;
    for error in &body.errors {
        // In a one-input batch every error is that input's.
        let targets = if inputs.len() == 1 {
            vec![0]
        } else {
            detail_targets(error, inputs)
        };
        unattributed |= targets.is_empty();
        for index in targets {
            errors_of[index].push(error);
        }
    }
    let mut outcome = PerRecord {
        failed: Vec::new(),
        unsure: Vec::new(),
    };
    for (index, input) in inputs.iter().enumerate() {
        if let Some(first) = errors_of[index].first() {
            let text = |key: &str| first.get(key).and_then(Value::as_str).map(String::from);
            outcome.failed.push(DeadLetter {
                input: input.clone(),
                status: 207,
                category: text("category"),
                message: text("message").unwrap_or_else(|| "refused by HubSpot".into()),
                correlation_id: text("correlationId").or_else(|| correlation_id.map(String::from)),
                errors: Value::Array(errors_of[index].iter().map(|e| (*e).clone()).collect()),
            });
        } else if unattributed
            && !body.results.iter().any(|r| {
                r.property(id_property)
                    .is_some_and(|v| v.eq_ignore_ascii_case(input.id()))
            })
        {
            outcome.unsure.push(index);
        }
    }
    outcome
}

fn errors_value(errors: &[Value]) -> Value {
    if errors.is_empty() {
        Value::Null
    } else {
        Value::Array(errors.to_vec())
    }
}

/// The start of a body, for messages about answers we could not read.
pub fn excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchiveInput;
    use serde_json::json;

    fn inputs(ids: &[&str]) -> Vec<ArchiveInput> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| ArchiveInput {
                id: id.to_string(),
                tag: i as u64,
            })
            .collect()
    }

    fn rejection(body: Value) -> Rejection {
        Rejection {
            status: 400,
            body: serde_json::from_value(body).unwrap(),
        }
    }

    #[test]
    fn error_body_parses_all_optional_fields() {
        let body = ErrorBody::parse(
            br#"{"status":"error","message":"Property values were not valid","correlationId":"c-1",
                "category":"VALIDATION_ERROR","errors":[{"code":"INVALID_EMAIL"}]}"#,
        );
        assert_eq!(body.category.as_deref(), Some("VALIDATION_ERROR"));
        assert_eq!(body.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(body.errors.len(), 1);
        let html = ErrorBody::parse(b"<html>502 Bad Gateway</html>");
        assert_eq!(
            html.message.as_deref(),
            Some("<html>502 Bad Gateway</html>")
        );
    }

    #[test]
    fn names_inputs_by_context_id_index_or_trace_id() {
        let batch = inputs(&["a@x.io", "b@x.io", "c@x.io", "d@x.io"]);
        let r = rejection(json!({"errors":[
            {"code":"INVALID_EMAIL","context":{"id":["B@x.io"]}},
            {"code":"INVALID_DATE","context":{"inputIndex":["3"]}},
            {"code":"X","context":{"objectWriteTraceId":["0"]}},
            {"code":"Y","context":{"inputIndex":["99"]}}
        ]}));
        assert_eq!(r.named_inputs(&batch), vec![0, 1, 3]);
    }

    #[test]
    fn names_inputs_quoted_in_messages_as_whole_words() {
        let batch = inputs(&["ann@x.io", "joann@x.io", "ab"]);
        let r = rejection(json!({
            "message":"Property values were not valid: [{\"isValid\":false,\"message\":\"Email address joann@x.io is invalid\"}] ab"
        }));
        assert_eq!(r.named_inputs(&batch), vec![1]);
    }

    #[test]
    fn dead_letter_carries_hubspot_details() {
        let r = rejection(
            json!({"message":"bad","correlationId":"c","category":"VALIDATION_ERROR",
            "errors":[{"code":"INVALID_EMAIL","in":"email"}]}),
        );
        let dl = r.dead_letter(inputs(&["x"]).remove(0));
        assert_eq!(dl.status, 400);
        assert_eq!(dl.message, "bad");
        assert_eq!(dl.error_codes(), vec!["INVALID_EMAIL"]);
    }

    #[test]
    fn unknown_property_is_recognised() {
        let r = rejection(json!({"errors":[{"code":"PROPERTY_DOESNT_EXIST"}]}));
        assert!(r.body.is_unknown_property());
        let r = rejection(
            json!({"errors":[{"code":"PROPERTY_DOESNT_EXIST"},{"code":"INVALID_EMAIL"}]}),
        );
        assert!(!r.body.is_unknown_property());
    }

    #[test]
    fn multi_status_dead_letters_named_inputs_and_resends_the_unknown() {
        let batch = inputs(&["a@x.io", "b@x.io", "c@x.io"]);
        let body: BatchBody = serde_json::from_value(json!({
            "results":[{"id":"1","properties":{"email":"a@x.io"}}],
            "errors":[
                {"status":"error","category":"VALIDATION_ERROR","message":"bad b",
                 "context":{"objectWriteTraceId":["1"]}},
                {"status":"error","message":"something, somewhere"}
            ]
        }))
        .unwrap();
        let outcome = per_record(&body, &batch, "email", Some("corr"));
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].input.id, "b@x.io");
        assert_eq!(outcome.failed[0].message, "bad b");
        assert_eq!(outcome.failed[0].correlation_id.as_deref(), Some("corr"));
        assert_eq!(outcome.unsure, vec![2]);
    }

    #[test]
    fn excerpt_is_short_and_never_empty() {
        assert_eq!(excerpt(b""), "(empty body)");
        assert!(excerpt(&[b'x'; 1000]).chars().count() <= 301);
    }
}
