//! OAuth mode: the ChatGPT Codex backend, reached with the signed-in accounts in turn.

use byok_auth::AuthError;
use byok_translate::{
    ChatOptions, ChatStreamTranslator, Preset, ResponseCollector, ResponsesPassthrough,
    chat_to_responses, resolve_chat_alias, resolve_responses_alias, response_to_chat,
    responses_for_codex,
};
use byok_types::{
    ByokError, ChatRequest, OAuthToken, ProviderId, ProviderResponse, RequestContext, Result,
    StreamProtocol, unix_now,
};
use bytes::Bytes;
use futures::StreamExt;
use hyper::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde_json::Value;

use crate::CodexExecutor;
use crate::failure::{says_model_unsupported, seconds_until, translate_error};
use crate::pool::Turn;
use crate::send::Sender;
use crate::stream::{Translated, broken, cut_short, idle_timeout, shaped};
use crate::upstream::UpstreamResponse;

/// What a user with no credentials at all is told.
const NO_CREDENTIALS: &str = "no credentials: sign in with `byok login` (ChatGPT account), \
    reuse a Codex CLI sign-in with `byok import-codex-cli`, or set `OPENAI_API_KEY`";

/// How long an account rests after a usage limit that came without a reset time.
const DEFAULT_REST_SECS: i64 = 60;

impl CodexExecutor {
    pub(crate) async fn codex_chat(&self, req: ChatRequest) -> Result<ProviderResponse> {
        let mut chat = req.to_value();
        resolve_chat_alias(&mut chat, &self.models.get()).map_err(|e| translate_error(&e))?;
        let translated =
            chat_to_responses(&chat, Preset::Codex).map_err(|e| translate_error(&e))?;
        log_notes(&translated.notes);
        let options = ChatOptions {
            reasoning: self.reasoning,
            include_usage: req.include_usage(),
            tool_names: translated.tool_names,
        };
        let response = self.codex_post(translated.body, &req.model).await?;
        if req.stream {
            let translator = Translated(ChatStreamTranslator::new(options));
            return Ok(ProviderResponse::Stream(shaped(
                response.bytes_stream(),
                translator,
                self.idle_timeout,
                StreamProtocol::Chat,
            )));
        }
        // The tool names are restored by `response_to_chat`, from `options`.
        let collected = self.collect(response, ResponseCollector::new()).await?;
        Ok(ProviderResponse::Complete(response_to_chat(
            &collected, &options,
        )))
    }

    pub(crate) async fn codex_responses(
        &self,
        ctx: &RequestContext,
        mut body: Value,
    ) -> Result<ProviderResponse> {
        // The client's `stream` decides, never its accept header; the backend always streams.
        let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
        resolve_responses_alias(&mut body, &self.models.get()).map_err(|e| translate_error(&e))?;
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        // The backend keeps nothing: references are expanded from byok's store (stored.rs).
        let (body, keep) = self.with_history(ctx, body).await?;
        let translated = responses_for_codex(body).map_err(|e| translate_error(&e))?;
        log_notes(&translated.notes);
        let tool_names = translated.tool_names;
        let response = self.codex_post(translated.body, &model).await?;
        if stream {
            let passthrough = ResponsesPassthrough::new(tool_names);
            let body = response.bytes_stream();
            let idle = self.idle_timeout;
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
        let collector = ResponseCollector::with_tool_names(tool_names);
        let mut collected = self.collect(response, collector).await?;
        if let Some(keep) = keep {
            keep.collected(&mut collected).await;
        }
        Ok(ProviderResponse::Complete(collected))
    }

    /// Reads a whole Codex stream into one `response` object (its output built from the items).
    async fn collect(
        &self,
        response: UpstreamResponse,
        mut collector: ResponseCollector,
    ) -> Result<Value> {
        let mut body = response.bytes_stream();
        loop {
            match tokio::time::timeout(self.idle_timeout, body.next()).await {
                Ok(Some(Ok(chunk))) => collector.feed(&chunk),
                Ok(Some(Err(err))) => {
                    tracing::warn!(error = %err, "upstream stream broke while collecting");
                    return Err(broken(&err));
                }
                Ok(None) => break,
                Err(_) => return Err(idle_timeout(self.idle_timeout)),
            }
        }
        collector.finish().map_err(|err| match err {
            byok_translate::StreamError::CutOff => cut_short(),
            byok_translate::StreamError::Failed { message, .. } => ByokError::BadGateway(message),
        })
    }

    /// POSTs a Codex request with the next account in turn; an account at its usage limit rests
    /// and the request goes to the next one.
    ///
    /// `body` is byok-translate's Codex body (`chat_to_responses` with `Preset::Codex`, or
    /// `responses_for_codex`): `store: false` and `stream: true` are set there, not here.
    async fn codex_post(&self, body: Value, model: &str) -> Result<UpstreamResponse> {
        let bytes =
            Bytes::from(serde_json::to_vec(&body).map_err(|e| ByokError::Internal(e.to_string()))?);
        let accounts = self.signed_in_accounts().await?;
        let now = unix_now();
        let order = match self.pool.turn(&accounts, now) {
            Turn::Serve(order) => order,
            Turn::AllResting { earliest_reset } => {
                return Err(all_resting(None, earliest_reset, now));
            }
        };
        let session = uuid::Uuid::new_v4().to_string();
        let mut last_limit = None;
        let mut last_refused = None;
        for account in order {
            match self.codex_post_as(&account, &session, &bytes).await {
                Err(err @ ByokError::UsageLimit { .. }) => {
                    let until = rest_until(&err, now);
                    tracing::info!(account, until, "usage limit reached; the account rests");
                    self.pool.rest(&account, until);
                    last_limit = Some(err);
                }
                // This account's sign-in does not work (even refreshed): another one may.
                Err(err) if err.status() == 401 => {
                    tracing::warn!(account, error = %err, "the account's credentials were refused");
                    last_refused = Some(err);
                }
                Err(err) => return Err(model_error(err, model)),
                Ok(response) => return Ok(response),
            }
        }
        if let Some(err) = last_refused.filter(|_| last_limit.is_none()) {
            return Err(err);
        }
        let now = unix_now();
        let earliest = self.pool.earliest_reset(now).unwrap_or(now);
        Err(all_resting(last_limit, earliest, now))
    }

    /// The names of the signed-in accounts; none is a 401 that says how to sign in.
    async fn signed_in_accounts(&self) -> Result<Vec<String>> {
        match self.auth.accounts().await {
            Ok(accounts) if !accounts.is_empty() => Ok(accounts),
            Ok(_) => Err(ByokError::Unauthorized(NO_CREDENTIALS.into())),
            Err(AuthError::NotSignedIn { store }) => Err(ByokError::Unauthorized(format!(
                "{NO_CREDENTIALS} (nothing in {store})"
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// One account's try: retried as the policy says, and once more after a token refresh if
    /// the backend refused the token (401).
    async fn codex_post_as(
        &self,
        account: &str,
        session: &str,
        body: &Bytes,
    ) -> Result<UpstreamResponse> {
        let token = self.auth.get_token_for(account).await?;
        match self.codex_post_with(account, &token, session, body).await {
            Err(ByokError::Upstream { status: 401, .. }) => {
                tracing::info!(account, "the backend refused the token; refreshing it");
                let token = self.auth.force_refresh(account).await?;
                self.codex_post_with(account, &token, session, body).await
            }
            other => other,
        }
    }

    async fn codex_post_with(
        &self,
        account: &str,
        token: &OAuthToken,
        session: &str,
        body: &Bytes,
    ) -> Result<UpstreamResponse> {
        let headers = self.codex_headers(token, session)?;
        let url = format!("{}/responses", self.base_url());
        let sender = Sender {
            provider: ProviderId::Codex,
            account,
        };
        self.retry
            .run(|| self.post_once(&url, headers.clone(), body.clone(), sender))
            .await
    }

    fn codex_headers(&self, token: &OAuthToken, session: &str) -> Result<HeaderMap> {
        let bad = |what: &str| {
            ByokError::Config(format!(
                "the {what} holds characters an HTTP header cannot carry; sign in again with `byok login`"
            ))
        };
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.access_token.expose()))
            .map_err(|_| bad("access token"))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        if let Some(account_id) = &token.account_id {
            let value =
                HeaderValue::from_str(account_id.as_str()).map_err(|_| bad("account id"))?;
            headers.insert(HeaderName::from_static("chatgpt-account-id"), value);
        } else {
            tracing::warn!("the token carries no ChatGPT account id; the backend may refuse it");
        }
        let session =
            HeaderValue::from_str(session).map_err(|e| ByokError::Internal(e.to_string()))?;
        headers.insert(HeaderName::from_static("session_id"), session);
        headers.insert(
            HeaderName::from_static("originator"),
            HeaderValue::from_static("codex_cli_rs"),
        );
        let agent = HeaderValue::from_str(&self.user_agent()).map_err(|_| bad("user agent"))?;
        headers.insert(USER_AGENT, agent);
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        Ok(headers)
    }
}

/// What the translation changed for the backend (a dropped `service_tier`), for whoever
/// wonders why the backend did not get it.
fn log_notes(notes: &[String]) {
    for note in notes {
        tracing::debug!(note, "request adjusted for the Codex backend");
    }
}

/// When an account that hit its usage limit may serve again.
fn rest_until(err: &ByokError, now: i64) -> i64 {
    match err {
        ByokError::UsageLimit {
            resets_at: Some(at),
            ..
        } => *at,
        ByokError::UsageLimit {
            retry_after: Some(wait),
            ..
        } => now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX)),
        _ => now + DEFAULT_REST_SECS,
    }
}

/// The 429 of a request no account can serve: the earliest reset as `retry_after`.
fn all_resting(last: Option<ByokError>, earliest_reset: i64, now: i64) -> ByokError {
    let (message, plan_type) = match last {
        Some(ByokError::UsageLimit {
            message, plan_type, ..
        }) => (message, plan_type),
        _ => (
            "every signed-in ChatGPT account has reached its usage limit; wait for the reset or sign in another account with `byok login`".to_owned(),
            None,
        ),
    };
    ByokError::UsageLimit {
        message,
        plan_type,
        resets_at: Some(earliest_reset),
        retry_after: Some(seconds_until(earliest_reset, now)),
    }
}

/// A backend refusal of the model itself becomes a clear 404.
fn model_error(err: ByokError, model: &str) -> ByokError {
    match &err {
        ByokError::Upstream { status, body, .. } if says_model_unsupported(*status, body) => {
            ByokError::NotFound(format!(
                "the model `{model}` is not served by the ChatGPT Codex backend for this account; \
                 `byok models` lists the ones that are"
            ))
        }
        _ => err,
    }
}
