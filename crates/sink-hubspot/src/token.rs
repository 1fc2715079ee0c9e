//! The private app's access token, kept out of logs.
//!
//! Configs, clients and errors are `Debug`-printed freely (tracing fields,
//! panics, `{:?}` in tests); wrapping the token in its own type whose `Debug`
//! prints `***` makes leaking it by accident impossible rather than unlikely.

use std::fmt;

use crate::error::HubSpotError;

/// A HubSpot private-app access token. `Debug` prints `***`; there is no
/// `Display` and no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(token.into())
    }

    /// Reads the token from the environment variable `var` (the config's
    /// `token_env`).
    pub fn from_env(var: &str) -> Result<Self, HubSpotError> {
        match std::env::var(var) {
            Ok(token) if !token.trim().is_empty() => Ok(AccessToken(token.trim().to_string())),
            _ => Err(HubSpotError::MissingToken {
                token_env: var.to_string(),
            }),
        }
    }

    /// The secret itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let token = AccessToken::new("pat-na1-secret");
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(format!("{:?}", Some(&token)), "Some(***)");
    }

    #[test]
    fn missing_env_var_names_the_variable() {
        let err = AccessToken::from_env("CDC_SINK_HUBSPOT_TEST_SURELY_UNSET").unwrap_err();
        assert!(err
            .to_string()
            .contains("CDC_SINK_HUBSPOT_TEST_SURELY_UNSET"));
    }
}
