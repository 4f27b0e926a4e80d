//! API-key mode: the OpenAI API (or a self-hosted OpenAI-compatible server), bodies passed
//! through.

use std::sync::atomic::{AtomicBool, Ordering};

use byok_translate::{
    ModelEntry, Preset, ResponsesStreamBuilder, chat_to_response, resolve_chat_alias,
    resolve_responses_alias, response_to_message, responses_to_chat_request,
};
use byok_types::{
    ByokError, ChatRequest, ProviderId, ProviderResponse, Result, Secret, StreamProtocol,
};
use bytes::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::executor::translate_error;
use crate::stream::{Passthrough, Translated, shaped};
use crate::upstream::{Sender, Upstream, UpstreamResponse};

/// The account name API-key answers are recorded under in the rate-limit store.
pub const API_KEY_ACCOUNT: &str = "api-key";

const SENDER: Sender<'static> = Sender {
    provider: ProviderId::OpenAi,
    account: API_KEY_ACCOUNT,
};

/// The `prompt_cache_key` (and session headers) for an API key: UUID v5 (OID namespace) of
/// `cli-proxy-api:codex:prompt-cache:{key}`, stable across requests so the upstream's prompt
/// cache hits.
///
/// ```
/// use byok_types::Secret;
/// let a = byok_executor::prompt_cache_key(&Secret::new("sk-test"));
/// assert_eq!(a, byok_executor::prompt_cache_key(&Secret::new("sk-test")));
/// assert_ne!(a, byok_executor::prompt_cache_key(&Secret::new("sk-other")));
/// ```
pub fn prompt_cache_key(api_key: &Secret) -> String {
    let name = format!("cli-proxy-api:codex:prompt-cache:{}", api_key.expose());
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

/// The OpenAI API reached with an API key: the key, its prompt-cache key (computed once) and
/// whether the upstream turned out to lack `/v1/responses`.
#[derive(Debug)]
pub(crate) struct OpenAiApi {
    upstream: Upstream,
    key: Secret,
    /// [`prompt_cache_key`] of `key`.
    cache_key: String,
    /// Without a trailing slash.
    base_url: String,
    /// Set once the upstream answered 404 to `/v1/responses`: Chat serves those from then on.
    responses_via_chat: AtomicBool,
}

impl OpenAiApi {
    pub(crate) fn new(upstream: Upstream, key: Secret, base_url: String) -> Self {
        Self {
            upstream,
            cache_key: prompt_cache_key(&key),
            key,
            base_url,
            responses_via_chat: AtomicBool::new(false),
        }
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The one account (the key) and the rate-limit figures of its last answer.
    pub(crate) fn status(&self) -> byok_types::ProviderStatus {
        let figures = (self.upstream.ratelimit.as_ref())
            .and_then(|store| store.get(ProviderId::OpenAi, API_KEY_ACCOUNT));
        byok_types::ProviderStatus::new(ProviderId::OpenAi, self.base_url.clone()).with_account(
            byok_types::AccountStatus::new(API_KEY_ACCOUNT).rate_limits(figures.as_ref()),
        )
    }

    pub(crate) async fn chat(
        &self,
        req: ChatRequest,
        catalog: &[ModelEntry],
    ) -> Result<ProviderResponse> {
        let stream = req.stream;
        let mut body = req.to_value();
        // `stream: false` is left out by `to_value`; the OpenAI API's default is the same.
        resolve_chat_alias(&mut body, catalog).map_err(|e| translate_error(&e))?;
        let response = self.post("/v1/chat/completions", &mut body).await?;
        self.answer(response, stream, StreamProtocol::Chat).await
    }

    pub(crate) async fn responses(
        &self,
        mut body: Value,
        catalog: &[ModelEntry],
    ) -> Result<ProviderResponse> {
        let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
        resolve_responses_alias(&mut body, catalog).map_err(|e| translate_error(&e))?;
        if !self.responses_via_chat.load(Ordering::Relaxed) {
            match self.post("/v1/responses", &mut body).await {
                Ok(response) => {
                    return self
                        .answer(response, stream, StreamProtocol::Responses)
                        .await;
                }
                Err(ByokError::Upstream { status: 404, .. }) => {
                    tracing::info!(
                        "the upstream has no /v1/responses; serving it through /v1/chat/completions"
                    );
                }
                Err(err) => return Err(err),
            }
        }
        self.responses_through_chat(&body, stream).await
    }

    /// Answers an Anthropic Messages request through the OpenAI API's `/v1/responses` (the
    /// OpenAI preset: `max_tokens`, `temperature`, `top_p` and `metadata.user_id` carried
    /// over). An upstream without `/v1/responses` answers it with its own 404.
    pub(crate) async fn messages(
        &self,
        body: &Value,
        model: &str,
        catalog: &[ModelEntry],
    ) -> Result<ProviderResponse> {
        let mut translated = crate::anthropic::translate(body, model, Preset::OpenAi, catalog)?;
        let response = self.post("/v1/responses", &mut translated.body).await?;
        if translated.stream {
            return Ok(ProviderResponse::Stream(crate::anthropic::stream(
                response.bytes_stream(),
                translated.options,
                self.upstream.idle_timeout,
            )));
        }
        let answer = self.upstream.read_json(response).await?;
        Ok(ProviderResponse::Complete(response_to_message(
            &answer,
            &translated.options,
        )))
    }

    /// `POST /v1/responses/compact` passed through to the OpenAI API, which compacts itself;
    /// its answer (or refusal) goes back as it came.
    pub(crate) async fn compact(&self, mut body: Value) -> Result<Value> {
        let response = self.post("/v1/responses/compact", &mut body).await?;
        self.upstream.read_json(response).await
    }

    /// Serves a Responses request from an upstream that speaks only Chat Completions.
    async fn responses_through_chat(&self, body: &Value, stream: bool) -> Result<ProviderResponse> {
        let mut chat = responses_to_chat_request(body).map_err(|e| translate_error(&e))?;
        if let Some(map) = chat.as_object_mut() {
            map.insert("stream".into(), Value::Bool(stream));
            if stream {
                // The built `response.completed` carries usage only if the chunks do.
                map.entry("stream_options")
                    .or_insert_with(|| serde_json::json!({"include_usage": true}));
            }
        }
        let model = chat
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let response = self.post("/v1/chat/completions", &mut chat).await?;
        self.responses_via_chat.store(true, Ordering::Relaxed);
        if stream {
            let builder = Translated(ResponsesStreamBuilder::new(&model));
            Ok(ProviderResponse::Stream(shaped(
                response.bytes_stream(),
                builder,
                self.upstream.idle_timeout,
                StreamProtocol::Responses,
            )))
        } else {
            let completion = self.upstream.read_json(response).await?;
            Ok(ProviderResponse::Complete(chat_to_response(&completion)))
        }
    }

    /// POSTs `body` to `{base}{path}` with the key, adding `prompt_cache_key` unless the client
    /// sent one; retried as the policy says.
    async fn post(&self, path: &str, body: &mut Value) -> Result<UpstreamResponse> {
        if let Some(map) = body.as_object_mut() {
            map.entry("prompt_cache_key")
                .or_insert_with(|| Value::String(self.cache_key.clone()));
        }
        let bytes =
            Bytes::from(serde_json::to_vec(body).map_err(|e| ByokError::Internal(e.to_string()))?);
        let headers = api_key_headers(&self.key, &self.cache_key)?;
        let url = format!("{}{path}", self.base_url);
        self.upstream.post(&url, &headers, &bytes, SENDER).await
    }

    /// The caller's answer: the stream passed through byte for byte, or the JSON object.
    async fn answer(
        &self,
        response: UpstreamResponse,
        stream: bool,
        protocol: StreamProtocol,
    ) -> Result<ProviderResponse> {
        if stream {
            Ok(ProviderResponse::Stream(shaped(
                response.bytes_stream(),
                Passthrough::new(protocol),
                self.upstream.idle_timeout,
                protocol,
            )))
        } else {
            Ok(ProviderResponse::Complete(
                self.upstream.read_json(response).await?,
            ))
        }
    }

    /// A stored-response request (`GET`/`DELETE /v1/responses/{id}...`) passed to the OpenAI
    /// API as it came: the API keeps responses itself. `path` starts with `/v1/responses/`;
    /// `query` is the client's query string.
    pub(crate) async fn stored(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &str,
    ) -> Result<Value> {
        let headers = api_key_headers(&self.key, &self.cache_key)?;
        let mut url = format!("{}{path}", self.base_url);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let request = self
            .upstream
            .http
            .client()
            .request(method, &url)
            .headers(headers)
            .send();
        let response = match tokio::time::timeout(self.upstream.idle_timeout, request).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => {
                return Err(ByokError::Unreachable(format!(
                    "the request failed ({})",
                    byok_types::error_chain(&err)
                )));
            }
            Err(_) => return Err(crate::stream::idle_timeout(self.upstream.idle_timeout)),
        };
        let status = response.status().as_u16();
        let answer_headers = response.headers().clone();
        let body = match tokio::time::timeout(self.upstream.idle_timeout, response.text()).await {
            Ok(Ok(body)) => body,
            Ok(Err(err)) => {
                return Err(ByokError::BadGateway(format!(
                    "the answer broke off ({})",
                    byok_types::error_chain(&err)
                )));
            }
            Err(_) => return Err(crate::stream::idle_timeout(self.upstream.idle_timeout)),
        };
        if !(200..300).contains(&status) {
            return Err(crate::upstream_error::upstream_error(
                status,
                &answer_headers,
                body,
            ));
        }
        serde_json::from_str(&body).map_err(|e| {
            ByokError::BadGateway(format!("the upstream's answer is not valid JSON: {e}"))
        })
    }
}

fn api_key_headers(key: &Secret, cache_key: &str) -> Result<HeaderMap> {
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
        ByokError::Config("the API key holds characters an HTTP header cannot carry".into())
    })?;
    auth.set_sensitive(true);
    let session =
        HeaderValue::from_str(cache_key).map_err(|e| ByokError::Internal(e.to_string()))?;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, auth);
    headers.insert(HeaderName::from_static("conversation_id"), session.clone());
    headers.insert(HeaderName::from_static("session_id"), session);
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    Ok(headers)
}
