//! Stored responses in ChatGPT mode: the Codex backend keeps nothing (it must be sent
//! `store: false`), so byok keeps what it served in its [`ResponseStore`], puts back the items
//! that `previous_response_id` and `item_reference` stand for before a request goes upstream,
//! and answers `GET`/`DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`.
//!
//! The pure steps (what a request refers to, the expansion, the record, the pages) are
//! byok-translate's (`crates/translate/src/stored.rs`); this module drives them around the
//! store.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use byok_store::ResponseStore;
use byok_translate::{
    ItemsQuery, References, RequestEcho, ResponsesPassthrough, StoredResponse, TranslateError,
    expand_references, give_input_ids, input_items_page, served_as_stored,
};
use byok_types::{
    ByokError, ByteStream, ClientId, ProviderResponse, ProviderStream, RequestContext, Result,
    StreamEnd, TokenUsage,
};
use bytes::Bytes;
use futures::Stream;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::codex::CodexBackend;
use crate::executor::translate_error;
use crate::stream::{Shape, Translated};

/// What byok keeps of a response once it is finished: for whom, the request's own input items
/// (references replaced, ids given), and the response it continued.
pub(crate) struct Keep {
    store: Arc<dyn ResponseStore>,
    client: ClientId,
    input: Vec<Value>,
    previous_response_id: Option<String>,
}

impl CodexBackend {
    /// The request with its references replaced by the stored items, and what to keep of its
    /// answer: `None` when the client asked `store: false`, or byok keeps no responses (then a
    /// reference goes on to `responses_for_codex`, which refuses it saying why).
    pub(crate) async fn with_history(
        &self,
        ctx: &RequestContext,
        body: Value,
    ) -> Result<(Value, Option<Keep>)> {
        let Some(store) = &self.store else {
            return Ok((body, None));
        };
        let keep = body.get("store") != Some(&Value::Bool(false));
        let refs = References::of(&body).map_err(|e| translate_error(&e))?;
        if refs.is_empty() && !keep {
            return Ok((body, None));
        }
        let client = ctx.client();
        let chain = chain(store.as_ref(), client, refs.previous_response_id.clone()).await?;
        let mut items = HashMap::new();
        for id in &refs.item_ids {
            if chain.iter().any(|record| record.item(id).is_some()) {
                continue;
            }
            if let Some(item) = store.item(client, id).await? {
                items.insert(id.clone(), item);
            }
        }
        let mut expanded =
            expand_references(body, &chain, &items).map_err(|e| translate_error(&e))?;
        let keep = keep.then(|| {
            // Ids as the Codex CLI gives its items (`msg_<uuid>`): sent upstream as kept.
            give_input_ids(expanded.own_input_mut(), || {
                uuid::Uuid::new_v4().to_string()
            });
            Keep {
                store: Arc::clone(store),
                client: client.clone(),
                input: expanded.own_input().to_vec(),
                previous_response_id: refs.previous_response_id,
            }
        });
        Ok((expanded.body, keep))
    }

    /// `GET /v1/responses/{id}` in ChatGPT mode.
    pub(crate) async fn stored_response(
        &self,
        ctx: &RequestContext,
        id: &str,
        query: &str,
    ) -> Result<Value> {
        #[derive(Deserialize)]
        struct Retrieve {
            #[serde(default)]
            stream: Option<String>,
        }
        let retrieve: Retrieve = parse_query(query)?;
        if retrieve.stream.as_deref() == Some("true") {
            return Err(ByokError::invalid_request(
                "byok cannot stream a stored response again; retrieve it without `stream=true`",
                Some("stream"),
            ));
        }
        Ok(self.record(ctx, id).await?.into_response())
    }

    /// `GET /v1/responses/{id}/input_items` in ChatGPT mode.
    pub(crate) async fn stored_input_items(
        &self,
        ctx: &RequestContext,
        id: &str,
        query: &str,
    ) -> Result<Value> {
        let query: ItemsQuery = parse_query(query)?;
        let record = self.record(ctx, id).await?;
        input_items_page(&record, &query).map_err(|e| translate_error(&e))
    }

    /// `DELETE /v1/responses/{id}` in ChatGPT mode.
    pub(crate) async fn delete_stored(&self, ctx: &RequestContext, id: &str) -> Result<Value> {
        let store = self.store.as_ref().ok_or_else(|| not_found(id, None))?;
        if store.delete(ctx.client(), id).await? {
            Ok(json!({"id": id, "object": "response.deleted", "deleted": true}))
        } else {
            Err(not_found(id, Some(store.as_ref())))
        }
    }

    async fn record(&self, ctx: &RequestContext, id: &str) -> Result<StoredResponse> {
        let store = self.store.as_ref().ok_or_else(|| not_found(id, None))?;
        store
            .get(ctx.client(), id)
            .await?
            .ok_or_else(|| not_found(id, Some(store.as_ref())))
    }
}

/// The records of a `previous_response_id` chain, oldest first.
async fn chain(
    store: &dyn ResponseStore,
    client: &ClientId,
    mut next: Option<String>,
) -> Result<Vec<StoredResponse>> {
    let mut chain: Vec<StoredResponse> = Vec::new();
    while let Some(id) = next {
        if chain.iter().any(|record| record.id() == id) {
            return Err(ByokError::Internal(format!(
                "the stored responses before `{id}` refer to each other in a loop"
            )));
        }
        let record = store.get(client, &id).await?.ok_or_else(|| {
            translate_error(&TranslateError::not_stored(
                "previous_response_id",
                "response",
                &id,
            ))
        })?;
        next = record.previous_response_id().map(str::to_owned);
        chain.push(record);
    }
    chain.reverse();
    Ok(chain)
}

/// Keeps a record. A store that fails is logged, not the client's problem: the answer is
/// whole, only a later reference to it will fail.
async fn put(store: &dyn ResponseStore, client: &ClientId, record: &StoredResponse) {
    if let Err(err) = store.put(client, record).await {
        tracing::warn!(error = %err, "the response is not kept");
    }
}

/// The 404 of a response byok does not hold, in the API's words, with the reasons it may not.
fn not_found(id: &str, store: Option<&dyn ResponseStore>) -> ByokError {
    let why = if store.is_some() {
        "it was created with `store: false`, or was evicted (see `response_store_mib` and \
         `response_store_ttl_secs`), deleted, or served by another byok"
    } else {
        "this byok keeps no responses (`response_store_mib = 0`)"
    };
    ByokError::NotFound(format!("Response with id '{id}' not found: {why}."))
}

fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T> {
    serde_urlencoded::from_str(query)
        .map_err(|e| ByokError::invalid_request(format!("the query string is invalid: {e}"), None))
}

impl Keep {
    /// Keeps a collected (not streamed) response, marked as stored; the answer: the response
    /// written out once, for the store and the client alike (`StoredResponse::encoded`).
    pub(crate) async fn collected(
        self,
        mut response: Value,
        echo: RequestEcho,
    ) -> ProviderResponse {
        served_as_stored(&mut response, self.previous_response_id.as_deref());
        let usage = TokenUsage::of_answer(&response);
        let record = match StoredResponse::written(self.input, response, echo.clone()) {
            Ok(record) => record,
            Err(mut response) => {
                tracing::warn!("the upstream's response has no id; it is not kept");
                echo.restore(&mut response);
                return ProviderResponse::Complete(response);
            }
        };
        put(self.store.as_ref(), &self.client, &record).await;
        ProviderResponse::Encoded {
            json: Bytes::from(record.into_json()),
            usage,
        }
    }

    /// Keeps a finished (streamed) response.
    async fn put(self, response: Value) {
        if let Some(record) = StoredResponse::new(self.input, response) {
            put(self.store.as_ref(), &self.client, &record).await;
        } else {
            tracing::warn!("the upstream's response has no id; it is not kept");
        }
    }

    /// The stream of a kept response: `passthrough` reports it as stored, `shaped` makes the
    /// caller's stream with it, and the chunk that finishes the response waits until the
    /// response is kept, so a client that refers to it right after `response.completed` finds
    /// it.
    pub(crate) fn stream(
        self,
        passthrough: ResponsesPassthrough,
        shaped: impl FnOnce(Kept) -> ProviderStream,
    ) -> ProviderStream {
        let finished = FinishedSlot::default();
        let kept = Kept {
            inner: Translated(passthrough.stored(self.previous_response_id.clone())),
            slot: finished.clone(),
        };
        let stream = shaped(kept);
        let body = Box::pin(HoldUntilKept {
            body: stream.body,
            finished,
            keep: Some(self),
            putting: None,
        });
        ProviderStream::new(stream.protocol, body, stream.report)
    }
}

/// Where a kept stream's [`Kept`] shape leaves the finished response for [`HoldUntilKept`].
#[derive(Clone, Default)]
pub(crate) struct FinishedSlot(Arc<Mutex<Option<Value>>>);

impl FinishedSlot {
    fn set(&self, response: Value) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
    }

    fn take(&self) -> Option<Value> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The passthrough of a response byok keeps, leaving the finished response in its slot.
pub(crate) struct Kept {
    inner: Translated<ResponsesPassthrough>,
    slot: FinishedSlot,
}

impl Kept {
    fn leave_finished(&mut self) {
        if let Some(response) = self.inner.0.take_response() {
            self.slot.set(response);
        }
    }
}

impl Shape for Kept {
    fn feed(&mut self, input: Bytes) -> Bytes {
        let out = self.inner.feed(input);
        self.leave_finished();
        out
    }

    fn finish(&mut self) -> Bytes {
        let out = self.inner.finish();
        self.leave_finished();
        out
    }

    fn end(&self) -> Option<StreamEnd> {
        self.inner.end()
    }

    fn usage(&self) -> Option<TokenUsage> {
        self.inner.usage()
    }
}

/// A kept response's stream: each chunk goes out as it comes, except the one that finished the
/// response, which waits until the store has it.
struct HoldUntilKept {
    body: ByteStream,
    finished: FinishedSlot,
    keep: Option<Keep>,
    putting: Option<(BoxFuture<'static, ()>, Bytes)>,
}

impl Stream for HoldUntilKept {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some((put, _)) = &mut this.putting {
                ready!(put.as_mut().poll(cx));
                let (_, held) = this.putting.take().expect("a put in progress");
                return Poll::Ready(Some(Ok(held)));
            }
            let next = ready!(this.body.as_mut().poll_next(cx));
            if let Some(Ok(chunk)) = &next
                && let Some(response) = this.finished.take()
                && let Some(keep) = this.keep.take()
            {
                let put = async move {
                    keep.put(response).await;
                };
                this.putting = Some((Box::pin(put), chunk.clone()));
                continue;
            }
            return Poll::Ready(next);
        }
    }
}
