//! Bearer-token authentication, as HubSpot private apps use it.
//!
//! Missing, malformed and unknown tokens all get the same 401: HubSpot does
//! not tell them apart either, and a client must treat any 401 as "stop and
//! report", never as something to retry.

use crate::errors::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The authenticated token, for the rate limiter (limits are per token).
#[derive(Debug, Clone)]
pub struct Token(pub String);

/// Extracts the token of an `Authorization: Bearer <token>` header; the
/// scheme is case-insensitive, as in RFC 7235.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Middleware: refuses requests without a configured token.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .filter(|t| state.config().tokens.iter().any(|known| known == t))
        .map(String::from);
    match token {
        Some(token) => {
            request.extensions_mut().insert(Token(token));
            next.run(request).await
        }
        None => ApiError::unauthenticated().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
