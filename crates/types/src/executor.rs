//! The trait the server calls to reach an upstream, and what it answers.

use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::{
    ChatRequest, ProviderId, ProviderStatus, ProviderStream, RequestContext, Result, TokenUsage,
};

/// A body streamed to the client as it arrives: SSE bytes, chunk boundaries anywhere.
///
/// An `Err` item ends the stream; the bytes before it have already been sent.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send + 'static>>;

/// An upstream's answer to one request.
pub enum ProviderResponse {
    /// A whole JSON answer (`chat.completion` or a Responses `response` object).
    Complete(Value),
    /// A whole JSON answer already written out, for an answer whose text also went elsewhere
    /// (a Responses `response` object byok keeps for `previous_response_id`: written out once
    /// for the store and the client, not twice).
    Encoded {
        /// The answer's JSON text, sent as it is.
        json: Bytes,
        /// Its token counts, for the access log and a client key's budget
        /// ([`TokenUsage::of_answer`]).
        usage: Option<TokenUsage>,
    },
    /// Server-sent events, passed to the client as they come, with their protocol and the
    /// report their stream fills in (usage, how it ended).
    Stream(ProviderStream),
}

impl std::fmt::Debug for ProviderResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Complete(_) => f.write_str("ProviderResponse::Complete(..)"),
            Self::Encoded { .. } => f.write_str("ProviderResponse::Encoded(..)"),
            Self::Stream(stream) => f
                .debug_tuple("ProviderResponse::Stream")
                .field(stream)
                .finish(),
        }
    }
}

/// Something that answers OpenAI-style requests from an upstream.
///
/// The server holds one `Arc<dyn ProviderExecutor>` and calls it for every request, with the
/// request's [`RequestContext`] (who sent it, the headers it came with). Dropping the returned
/// future or stream cancels the upstream request.
///
/// A streamed answer ([`ProviderResponse::Stream`]) names its protocol and fills in its
/// [`StreamReport`](crate::StreamReport): the server writes its own error events (keep-alive
/// cut, shutdown) in that protocol and logs the reported usage and end.
///
/// New endpoints come as new methods with default bodies that answer 404, so that adding one
/// does not break an implementor: the Anthropic Messages front (`messages`, `count_tokens`),
/// stored responses (`get_response`, `delete_response`, `input_items`) and compaction
/// (`compact`) are added that way.
#[async_trait::async_trait]
pub trait ProviderExecutor: Send + Sync {
    /// Which upstream this executor speaks to for the current credentials (the same for every
    /// request, so it takes no context).
    fn provider(&self) -> ProviderId;

    /// Answers a Chat Completions request: a `chat.completion` object, or, when
    /// `request.stream` is set, `chat.completion.chunk` SSE ending in `data: [DONE]`
    /// ([`StreamProtocol::Chat`](crate::StreamProtocol::Chat)).
    async fn chat(&self, ctx: &RequestContext, request: ChatRequest) -> Result<ProviderResponse>;

    /// Answers a Responses API request (`POST /v1/responses` body): a `response` object, or,
    /// when the body's `stream` is true, Responses SSE events
    /// ([`StreamProtocol::Responses`](crate::StreamProtocol::Responses)).
    async fn responses(&self, ctx: &RequestContext, body: Value) -> Result<ProviderResponse>;

    /// Answers an Anthropic Messages request (`POST /v1/messages` body): a `message` object,
    /// or, when the body's `stream` is true, Anthropic Messages SSE events
    /// ([`StreamProtocol::Anthropic`](crate::StreamProtocol::Anthropic)). The default answers
    /// 404, for executors that do not serve the Anthropic API.
    async fn messages(&self, ctx: &RequestContext, body: Value) -> Result<ProviderResponse> {
        let _ = (ctx, body);
        Err(crate::ByokError::NotFound(
            "this byok upstream does not serve the Anthropic Messages API".into(),
        ))
    }

    /// Estimates the input tokens of an Anthropic Messages request
    /// (`POST /v1/messages/count_tokens`): `{"input_tokens": N}`. The default answers 404.
    async fn count_tokens(&self, ctx: &RequestContext, body: Value) -> Result<Value> {
        let _ = (ctx, body);
        Err(crate::ByokError::NotFound(
            "this byok upstream does not serve the Anthropic Messages API".into(),
        ))
    }

    /// `POST /v1/responses/compact`: the conversation of a compact request body compacted, in
    /// the Responses API's shape (`{"id", "object": "response.compaction", "created_at",
    /// "output", "usage"}`, `output` being the user messages and one `compaction` item whose
    /// `encrypted_content` stands for the rest). The default answers 404, for executors that
    /// cannot compact.
    async fn compact(&self, ctx: &RequestContext, body: Value) -> Result<Value> {
        let _ = (ctx, body);
        Err(crate::ByokError::NotFound(
            "this byok upstream does not compact conversations (POST /v1/responses/compact)".into(),
        ))
    }

    /// The model ids this executor serves to this client, for `GET /v1/models`. Never empty.
    fn supported_models(&self, ctx: &RequestContext) -> Vec<String>;

    /// `GET /v1/responses/{id}`: a response kept from an earlier request of the same client,
    /// as the Responses API answers it. `query` is the request's query string as it came
    /// (empty when none). By default nothing is kept: 404.
    async fn get_response(&self, ctx: &RequestContext, id: &str, query: &str) -> Result<Value> {
        let _ = (ctx, query);
        Err(not_kept(id))
    }

    /// `GET /v1/responses/{id}/input_items`: a kept response's input items, one page in the
    /// API's list shape (`query`: `limit`, `order`, `after`, `before`). By default 404.
    async fn input_items(&self, ctx: &RequestContext, id: &str, query: &str) -> Result<Value> {
        let _ = (ctx, query);
        Err(not_kept(id))
    }

    /// `DELETE /v1/responses/{id}`: forgets a kept response, answering
    /// `{"id", "object": "response.deleted", "deleted": true}`. By default 404.
    async fn delete_response(&self, ctx: &RequestContext, id: &str) -> Result<Value> {
        let _ = ctx;
        Err(not_kept(id))
    }

    /// The upstream's state now (accounts, plans, token expiry, rests, rate-limit windows),
    /// for `GET /v1/status`, `/readyz`, the status page and `/metrics`. By default: ready,
    /// with no accounts to show.
    async fn status(&self) -> ProviderStatus {
        ProviderStatus::new(self.provider(), "")
    }
}

/// The 404 of an executor that keeps no responses.
fn not_kept(id: &str) -> crate::ByokError {
    crate::ByokError::NotFound(format!(
        "Response with id '{id}' not found: this server keeps no responses"
    ))
}
