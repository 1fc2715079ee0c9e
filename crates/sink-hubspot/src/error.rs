//! The crate's one error type. Each variant says what the operator (or the
//! calling loop) must do next; `is_retriable` tells the loop whether to keep
//! the batch and try again later or to stop.

use crate::properties::PropertyProblem;

#[derive(Debug, thiserror::Error)]
pub enum HubSpotError {
    #[error("invalid HubSpot configuration: {0}")]
    Config(String),

    #[error(
        "the HubSpot access token is not set: put the private app's token in the environment \
         variable `{token_env}` (hubspot.token_env)"
    )]
    MissingToken { token_env: String },

    #[error(
        "HubSpot rejected the access token (401): it is invalid, expired or revoked. Put a valid \
         private app token in the environment variable `{token_env}` and restart. HubSpot said: \
         {message}{}",
        correlation(correlation_id)
    )]
    Unauthorized {
        token_env: String,
        message: String,
        correlation_id: Option<String>,
    },

    #[error(
        "HubSpot refused the request (403): the private app lacks scopes. Grant \
         `crm.objects.contacts.write`, `crm.objects.contacts.read` and \
         `crm.schemas.contacts.read` (HubSpot → Settings → Integrations → Private apps → Scopes), \
         then restart. HubSpot said: {message}{}",
        correlation(correlation_id)
    )]
    MissingScopes {
        message: String,
        correlation_id: Option<String>,
    },

    #[error(
        "HubSpot did not accept the request after {attempts} attempt(s); last answer: {last}. \
         Nothing was dropped: keep the batch and its offsets, and retry later"
    )]
    Retriable { attempts: u32, last: String },

    #[error(
        "HubSpot's daily API limit of the account is used up ({message}). It resets at midnight in \
         the account's time zone; keep the batch and its offsets, and retry then (or buy an API \
         limit increase)"
    )]
    DailyLimit { message: String },

    #[error(
        "HubSpot sent an answer the client cannot read ({what}): {reason}. The batch may or may \
         not have been applied; keep it and its offsets, and retry (upserts are idempotent)"
    )]
    InvalidResponse { what: String, reason: String },

    #[error(
        "the HubSpot contact properties do not match the mapping:\n{}",
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    PropertyMismatch { problems: Vec<PropertyProblem> },

    #[error(
        "HubSpot says the mapping writes properties that do not exist: {message}. Create them in \
         HubSpot (Settings → Properties) or fix the mapping; run the property check to see all{}",
        correlation(correlation_id)
    )]
    UnknownProperties {
        message: String,
        correlation_id: Option<String>,
    },

    #[error(
        "HubSpot answered {status} to {what}, which the client does not expect: {message}{}. \
         Check hubspot.base_url, hubspot.api_version and hubspot.properties_path",
        correlation(correlation_id)
    )]
    Unexpected {
        what: String,
        status: u16,
        message: String,
        correlation_id: Option<String>,
    },
}

impl HubSpotError {
    /// True when the same request may succeed later unchanged: the caller
    /// keeps the batch and its offsets and tries again. False means a person
    /// must act (token, scopes, properties, configuration) before a retry
    /// can help.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            HubSpotError::Retriable { .. }
                | HubSpotError::DailyLimit { .. }
                | HubSpotError::InvalidResponse { .. }
        )
    }
}

fn correlation(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" (correlationId {id})"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_names_the_env_var_and_not_the_token() {
        let err = HubSpotError::Unauthorized {
            token_env: "HUBSPOT_TOKEN".into(),
            message: "Authentication credentials not found".into(),
            correlation_id: Some("abc".into()),
        };
        let text = err.to_string();
        assert!(text.contains("`HUBSPOT_TOKEN`"), "{text}");
        assert!(text.contains("correlationId abc"), "{text}");
        assert!(!err.is_retriable());
    }

    #[test]
    fn missing_scopes_lists_the_three_scopes() {
        let text = HubSpotError::MissingScopes {
            message: "m".into(),
            correlation_id: None,
        }
        .to_string();
        for scope in [
            "crm.objects.contacts.write",
            "crm.objects.contacts.read",
            "crm.schemas.contacts.read",
        ] {
            assert!(text.contains(scope), "{text}");
        }
    }

    #[test]
    fn retriable_says_nothing_was_dropped() {
        let err = HubSpotError::Retriable {
            attempts: 9,
            last: "503".into(),
        };
        assert!(err.is_retriable());
        assert!(err.to_string().contains("keep the batch"));
    }
}
