//! The Anthropic Messages API's endpoints: `POST /v1/messages` (also `?beta=true`, as Claude
//! Code sends it) and `POST /v1/messages/count_tokens`. Errors here are in Anthropic's shape.
//!
//! The server does not translate: it checks the body is a JSON object with a `model`, and the
//! executor answers (`byok-executor` translates to the Responses API).

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use serde_json::Value;

use crate::access_log::RequestLog;
use crate::client_key::Caller;
use crate::context::Ctx;
use crate::{AnthropicError, AppState, handlers};

/// Whether `path` is one of the Anthropic API's, whose errors (including a missing client
/// key, an unknown sub-path or a wrong method) are answered in Anthropic's shape.
pub(crate) fn is_anthropic_path(path: &str) -> bool {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    path == "/messages" || path.starts_with("/messages/")
}

/// `POST /v1/messages`.
pub(crate) async fn messages(
    State(state): State<AppState>,
    Extension(log): Extension<RequestLog>,
    Ctx(ctx): Ctx,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AnthropicError> {
    let (body, model) = handlers::json_with_model(body, &state, &log)?;
    caller.admit(&state, &model).await?;
    let answer = state.until_cut(state.executor.messages(&ctx, body)).await?;
    Ok(handlers::relay(&state, answer, log))
}

/// `POST /v1/messages/count_tokens`: the executor's estimate, `{"input_tokens": N}`. It
/// spends no tokens, so a key's budget does not stop it; its model list does.
pub(crate) async fn count_tokens(
    State(state): State<AppState>,
    Extension(log): Extension<RequestLog>,
    Ctx(ctx): Ctx,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AnthropicError> {
    let (body, model) = handlers::json_with_model(body, &state, &log)?;
    caller.check_model(&state, &model)?;
    Ok(Json(state.executor.count_tokens(&ctx, body).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_paths_are_the_messages_ones() {
        for path in [
            "/v1/messages",
            "/messages",
            "/v1/messages/count_tokens",
            "/v1/messages/x",
        ] {
            assert!(is_anthropic_path(path), "{path}");
        }
        for path in [
            "/v1/chat/completions",
            "/v1/messagesx",
            "/",
            "/v1/responses",
        ] {
            assert!(!is_anthropic_path(path), "{path}");
        }
    }
}
