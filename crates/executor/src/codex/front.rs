//! The Chat Completions, Responses and Anthropic Messages fronts of the Codex backend: a
//! client's request
//! translated by byok-translate, sent with [`CodexBackend::send`], and the answer translated
//! back (streamed, or collected into one object).

use byok_translate::{
    COMPACTION_TRIGGER, ChatOptions, ChatStreamTranslator, ModelEntry, Preset, ReasoningMode,
    RequestEcho, ResponseCollector, ResponsesPassthrough, chat_to_responses, compact_for_codex,
    compaction_answer, resolve_chat_alias, resolve_responses_alias, response_to_chat,
    response_to_message, responses_for_codex,
};
use byok_types::{
    ByokError, ChatRequest, ProviderResponse, RequestContext, Result, StreamProtocol, TokenUsage,
    unix_now,
};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use super::{CodexBackend, Conversation, Started};
use crate::executor::translate_error;
use crate::stream::{Translated, broken, cut_short, idle_timeout, shaped};
use crate::upstream_error::stream_failure;

impl CodexBackend {
    /// Answers a Chat Completions request.
    pub(crate) async fn chat(
        &self,
        ctx: &RequestContext,
        req: ChatRequest,
        catalog: &[ModelEntry],
        reasoning: ReasoningMode,
        answer_as: &str,
    ) -> Result<ProviderResponse> {
        let mut chat = req.to_value();
        resolve_chat_alias(&mut chat, catalog).map_err(|e| translate_error(&e))?;
        self.check_model(chat["model"].as_str().unwrap_or_default())?;
        let translated =
            chat_to_responses(&chat, Preset::Codex).map_err(|e| translate_error(&e))?;
        log_notes(&translated.notes);
        let options = ChatOptions {
            reasoning,
            include_usage: req.include_usage(),
            tool_names: translated.tool_names,
        };
        let user = chat.get("user").and_then(Value::as_str);
        let conversation = Conversation::of(ctx, &translated.body, user);
        let response = self.send(&conversation, translated.body).await?;
        if req.stream {
            let translator = Translated(ChatStreamTranslator::new(options).answering_as(answer_as));
            return Ok(ProviderResponse::Stream(shaped(
                response.bytes_stream(),
                translator,
                self.upstream.idle_timeout,
                StreamProtocol::Chat,
            )));
        }
        // The tool names are restored by `response_to_chat`, from `options`.
        let collector = ResponseCollector::new().without_request_echo();
        let collected = self.collect(response, collector).await?;
        Ok(ProviderResponse::Complete(response_to_chat(
            &collected, &options,
        )))
    }

    /// Answers a Responses request, its references expanded from byok's store first (the
    /// backend keeps nothing: `stored.rs`).
    pub(crate) async fn responses(
        &self,
        ctx: &RequestContext,
        mut body: Value,
        catalog: &[ModelEntry],
        answer_as: &str,
    ) -> Result<ProviderResponse> {
        // The client's `stream` decides, never its accept header; the backend always streams.
        let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
        resolve_responses_alias(&mut body, catalog).map_err(|e| translate_error(&e))?;
        self.check_model(body["model"].as_str().unwrap_or_default())?;
        let (body, keep) = self.with_history(ctx, body).await?;
        let translated = responses_for_codex(body).map_err(|e| translate_error(&e))?;
        log_notes(&translated.notes);
        let tool_names = translated.tool_names;
        let conversation = Conversation::of(ctx, &translated.body, None);
        let response = self.send(&conversation, translated.body).await?;
        if stream {
            let passthrough = ResponsesPassthrough::new(tool_names).answering_as(answer_as);
            let body = response.bytes_stream();
            let idle = self.upstream.idle_timeout;
            let stream = match keep {
                None => shaped(
                    body,
                    Translated(passthrough),
                    idle,
                    StreamProtocol::Responses,
                ),
                Some(keep) => keep.stream(passthrough, |kept| {
                    shaped(body, kept, idle, StreamProtocol::Responses)
                }),
            };
            return Ok(ProviderResponse::Stream(stream));
        }
        // The request's echo (instructions, tools) is answered as the backend wrote it, never
        // parsed nor written out again.
        let collector = ResponseCollector::with_tool_names(tool_names).request_echo_as_text();
        let (mut collected, echo) = self.collect_with_echo(response, collector).await?;
        // The model the client asked for, as a kept stream's response has it (the answer is
        // written out here: `CodexExecutor::answering_as` does not edit it).
        if let Some(map) = collected.as_object_mut() {
            map.insert("model".into(), answer_as.into());
        }
        let Some(keep) = keep else {
            return Ok(ProviderResponse::Encoded {
                usage: TokenUsage::of_answer(&collected),
                json: Bytes::from(Box::<str>::from(echo.write(&collected)).into_string()),
            });
        };
        Ok(keep.collected(collected, echo).await)
    }

    /// Answers a compact request (`POST /v1/responses/compact`) as the backend compacts now:
    /// one streamed `/responses` request whose input is the conversation (its
    /// `previous_response_id` expanded from byok's store) followed by `compaction_trigger`
    /// (`compact_for_codex`), collected, and answered in the Responses API's shape
    /// (`compaction_answer`). Nothing of it is kept: the client keeps the compacted output and
    /// sends it as the input of its next request.
    pub(crate) async fn compact(
        &self,
        ctx: &RequestContext,
        mut body: Value,
        catalog: &[ModelEntry],
    ) -> Result<Value> {
        resolve_responses_alias(&mut body, catalog).map_err(|e| translate_error(&e))?;
        self.check_model(body["model"].as_str().unwrap_or_default())?;
        if let Some(map) = body.as_object_mut() {
            map.insert("store".into(), false.into());
        }
        let (body, _) = self.with_history(ctx, body).await?;
        let translated = compact_for_codex(body).map_err(|e| translate_error(&e))?;
        log_notes(&translated.notes);
        // The conversation as sent: its user messages begin the answer.
        let input: Vec<Value> = translated.body["input"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["type"] != COMPACTION_TRIGGER)
            .cloned()
            .collect();
        let conversation = Conversation::of(ctx, &translated.body, None).compacting();
        let response = self.send(&conversation, translated.body).await?;
        let collected = self.collect(response, ResponseCollector::new()).await?;
        compaction_answer(&input, &collected, unix_now()).ok_or_else(|| {
            ByokError::BadGateway(
                "the Codex backend answered the compaction request without a compaction item; \
                 send the request again, or keep the conversation uncompacted"
                    .into(),
            )
        })
    }

    /// Answers an Anthropic Messages request (`POST /v1/messages`): Messages events, or one
    /// `message` object collected from the stream. Nothing is kept: Anthropic clients send
    /// the whole conversation every turn, thinking blocks carrying the reasoning items.
    ///
    /// The conversation (`session.rs`) is named by `metadata.user_id` when the client sends
    /// one, as Chat's `user` names it (Claude Code's holds its session id).
    pub(crate) async fn messages(
        &self,
        ctx: &RequestContext,
        body: &Value,
        model: &str,
        catalog: &[ModelEntry],
    ) -> Result<ProviderResponse> {
        let translated = crate::anthropic::translate(body, model, Preset::Codex, catalog)?;
        let user = body["metadata"]["user_id"].as_str();
        let conversation = Conversation::of(ctx, &translated.body, user);
        let response = self.send(&conversation, translated.body).await?;
        if translated.stream {
            return Ok(ProviderResponse::Stream(crate::anthropic::stream(
                response.bytes_stream(),
                translated.options,
                self.upstream.idle_timeout,
            )));
        }
        // The tool names are restored by `response_to_message`, from the options.
        let collector = ResponseCollector::new().without_request_echo();
        let collected = self.collect(response, collector).await?;
        Ok(ProviderResponse::Complete(response_to_message(
            &collected,
            &translated.options,
        )))
    }

    /// Reads a whole Codex stream into one `response` object (its output built from the items).
    ///
    /// Reading stops at the terminal event: an upstream that keeps the connection open after
    /// it has nothing more to say.
    async fn collect(&self, response: Started, collector: ResponseCollector) -> Result<Value> {
        let (mut response, echo) = self.collect_with_echo(response, collector).await?;
        echo.restore(&mut response);
        Ok(response)
    }

    /// As [`Self::collect`], the request's echo apart ([`ResponseCollector::finish_with_echo`]).
    async fn collect_with_echo(
        &self,
        response: Started,
        mut collector: ResponseCollector,
    ) -> Result<(Value, RequestEcho)> {
        let body = response.bytes_stream();
        futures::pin_mut!(body);
        while !collector.is_finished() {
            match tokio::time::timeout(self.upstream.idle_timeout, body.next()).await {
                Ok(Some(Ok(chunk))) => collector.feed(&chunk),
                Ok(Some(Err(err))) => {
                    tracing::warn!(error = %err, "upstream stream broke while collecting");
                    return Err(broken(&err));
                }
                Ok(None) => break,
                Err(_) => return Err(idle_timeout(self.upstream.idle_timeout)),
            }
        }
        collector.finish_with_echo().map_err(|err| match err {
            byok_translate::StreamError::CutOff => cut_short(),
            byok_translate::StreamError::Failed { message, code } => {
                // What the failure stands for over HTTP, if byok knows (a rate limit is a 429
                // with its wait); else a broken answer.
                let event = serde_json::json!({"type": "error", "code": code, "message": message});
                stream_failure(event.to_string().as_bytes())
                    .unwrap_or(ByokError::BadGateway(message))
            }
        })
    }
}

/// What the translation changed for the backend (a dropped `service_tier`), for whoever
/// wonders why the backend did not get it.
fn log_notes(notes: &[String]) {
    for note in notes {
        tracing::debug!(note, "request adjusted for the Codex backend");
    }
}
