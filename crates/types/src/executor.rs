//! The trait the server calls to reach an upstream, and what it answers.

use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::{ChatRequest, ProviderId, Result};

/// A body streamed to the client as it arrives: SSE bytes, chunk boundaries anywhere.
///
/// An `Err` item ends the stream; the bytes before it have already been sent.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send + 'static>>;

/// An upstream's answer to one request.
pub enum ProviderResponse {
    /// A whole JSON answer (`chat.completion` or a Responses `response` object).
    Complete(Value),
    /// Server-sent events, passed to the client as they come.
    Stream(ByteStream),
}

impl std::fmt::Debug for ProviderResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Complete(_) => f.write_str("ProviderResponse::Complete(..)"),
            Self::Stream(_) => f.write_str("ProviderResponse::Stream(..)"),
        }
    }
}

/// Something that answers OpenAI-style requests from an upstream.
///
/// The server holds one `Arc<dyn ProviderExecutor>` and calls it for every request.
/// Dropping the returned future or stream cancels the upstream request.
#[async_trait::async_trait]
pub trait ProviderExecutor: Send + Sync {
    /// Which upstream this executor speaks to for the current credentials.
    fn provider(&self) -> ProviderId;

    /// Answers a Chat Completions request: a `chat.completion` object, or, when
    /// `request.stream` is set, `chat.completion.chunk` SSE ending in `data: [DONE]`.
    async fn chat(&self, request: ChatRequest) -> Result<ProviderResponse>;

    /// Answers a Responses API request (`POST /v1/responses` body): a `response` object, or,
    /// when the body's `stream` is true, Responses SSE events.
    async fn responses(&self, body: Value) -> Result<ProviderResponse>;

    /// The model ids this executor serves, for `GET /v1/models`. Never empty.
    fn supported_models(&self) -> Vec<String>;
}
