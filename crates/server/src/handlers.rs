//! The endpoints: small functions over the shared [`AppState`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, extract::Request};
use byok_types::{ByokError, ChatRequest, ProviderResponse, ResponsesRequest, TokenUsage};
use serde_json::{Value, json};

use crate::access_log::RequestLog;
use crate::client_key::Caller;
use crate::context::Ctx;
use crate::{AnthropicError, ApiError, AppState, sse};

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    Extension(log): Extension<RequestLog>,
    Ctx(ctx): Ctx,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request = ChatRequest::from_slice(&read_body(body, &state)?)?;
    log.set_model(&request.model);
    caller.admit(&state, &request.model).await?;
    let answer = state.until_cut(state.executor.chat(&ctx, request)).await?;
    Ok(relay(&state, answer, log))
}

/// `POST /v1/responses`.
pub(crate) async fn responses(
    State(state): State<AppState>,
    Extension(log): Extension<RequestLog>,
    Ctx(ctx): Ctx,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = ResponsesRequest::parse_json(&read_body(body, &state)?)?;
    let model = ResponsesRequest::check(&body)?.model;
    log.set_model(model);
    caller.admit(&state, model).await?;
    let answer = state
        .until_cut(state.executor.responses(&ctx, body))
        .await?;
    Ok(relay(&state, answer, log))
}

/// `POST /v1/responses/compact`: a whole `response.compaction` object, never a stream.
pub(crate) async fn compact(
    State(state): State<AppState>,
    Extension(log): Extension<RequestLog>,
    Ctx(ctx): Ctx,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (body, model) = json_with_model(body, &state, &log)?;
    caller.admit(&state, &model).await?;
    let answer = state.until_cut(state.executor.compact(&ctx, body)).await?;
    if let Some(usage) = TokenUsage::of_answer(&answer) {
        log.set_usage(usage);
    }
    Ok(Json(answer))
}

/// `GET /v1/models`: the models served, those the client's key may use.
pub(crate) async fn list_models(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    caller: Caller,
) -> Json<Value> {
    let data: Vec<Value> = state
        .executor
        .supported_models(&ctx)
        .iter()
        .filter(|id| caller.sees(id))
        .map(|id| model_object(&state, id))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

/// `GET /v1/models/{id}`.
pub(crate) async fn get_model(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if caller.sees(&id) && state.executor.supported_models(&ctx).contains(&id) {
        Ok(Json(model_object(&state, &id)))
    } else {
        Err(ByokError::NotFound(format!(
            "the model `{id}` does not exist or is not served by byok; GET /v1/models lists the \
             models it serves"
        ))
        .into())
    }
}

/// `GET /healthz`: open to everyone, says the server runs and which upstream it uses.
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "provider": state.executor.provider() }))
}

/// Any path that is not an endpoint.
pub(crate) async fn not_found(uri: Uri) -> Response {
    let err = ByokError::NotFound(format!(
        "unknown URL `{}`: byok serves POST /v1/chat/completions, POST /v1/responses, \
         POST /v1/responses/compact, POST /v1/messages, POST /v1/messages/count_tokens, \
         GET /v1/models and GET /healthz",
        uri.path()
    ));
    if crate::anthropic::is_anthropic_path(uri.path()) {
        AnthropicError(err).into_response()
    } else {
        ApiError(err).into_response()
    }
}

/// A known path asked with the wrong method.
pub(crate) async fn method_not_allowed(method: Method, request: Request) -> Response {
    let message = format!(
        "{method} is not allowed on `{}`; see the `Allow` header for the methods that are",
        request.uri().path()
    );
    if crate::anthropic::is_anthropic_path(request.uri().path()) {
        let body = json!({"type": "error",
            "error": {"type": "invalid_request_error", "message": message}});
        return (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
    }
    let body = json!({ "error": {
        "message": message,
        "type": "invalid_request_error",
        "param": null,
        "code": "method_not_allowed",
    }});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

fn model_object(state: &AppState, id: &str) -> Value {
    json!({ "id": id, "object": "model", "created": state.started_at, "owned_by": "openai" })
}

/// A request body that must be a JSON object with a non-empty `model` (Responses, Anthropic
/// Messages), and the model, noted in the access log.
pub(crate) fn json_with_model(
    body: Result<Bytes, BytesRejection>,
    state: &AppState,
    log: &RequestLog,
) -> Result<(Value, String), ByokError> {
    let body: Value = serde_json::from_slice(&read_body(body, state)?).map_err(|e| {
        ByokError::invalid_request(format!("the request body is not valid JSON: {e}"), None)
    })?;
    if !body.is_object() {
        return Err(ByokError::invalid_request(
            "the request body must be a JSON object",
            None,
        ));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| {
            ByokError::invalid_request("`model` must be a non-empty string", Some("model"))
        })?;
    log.set_model(model);
    let model = model.to_owned();
    Ok((body, model))
}

fn read_body(body: Result<Bytes, BytesRejection>, state: &AppState) -> Result<Bytes, ByokError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ByokError::PayloadTooLarge(format!(
                "the request body is larger than the {} bytes this server accepts; send a \
                 smaller request, or raise the server's body limit",
                state.config.body_limit
            ))
        } else {
            ByokError::invalid_request(format!("cannot read the request body: {rejection}"), None)
        }
    })
}

pub(crate) fn relay(state: &AppState, answer: ProviderResponse, log: RequestLog) -> Response {
    match answer {
        ProviderResponse::Complete(value) => {
            if let Some(usage) = TokenUsage::of_answer(&value) {
                log.set_usage(usage);
            }
            Json(value).into_response()
        }
        ProviderResponse::Encoded { json, usage } => {
            if let Some(usage) = usage {
                log.set_usage(usage);
            }
            // The header axum's `Json` sets.
            let json_type = HeaderValue::from_static("application/json");
            ([(header::CONTENT_TYPE, json_type)], json).into_response()
        }
        ProviderResponse::Stream(stream) => {
            sse::response(stream, state.config.keep_alive, state.cut.clone(), log)
        }
    }
}

/// `GET /v1/responses/{id}`: a stored response (the executor keeps it, or its upstream does).
pub(crate) async fn get_response(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = query.unwrap_or_default();
    let call = state.executor.get_response(&ctx, &id, &query);
    Ok(Json(state.until_cut(call).await?))
}

/// `GET /v1/responses/{id}/input_items`: one page of a stored response's input items.
pub(crate) async fn input_items(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = query.unwrap_or_default();
    let call = state.executor.input_items(&ctx, &id, &query);
    Ok(Json(state.until_cut(call).await?))
}

/// `DELETE /v1/responses/{id}`: forgets a stored response.
pub(crate) async fn delete_response(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let call = state.executor.delete_response(&ctx, &id);
    Ok(Json(state.until_cut(call).await?))
}
