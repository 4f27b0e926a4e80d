//! One log line per request: method, path, model, status, duration, tokens, and the error it
//! was answered with, if any.
//!
//! The line is written when the last holder of the request's [`RequestLog`] lets go of it: right
//! after the handler for a plain answer, at the end of the body for a stream. So a stream's line
//! carries its real duration, its token counts and how it ended, as the executor's
//! [`StreamReport`] tells them. Bodies, keys and tokens are never part of it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use byok_types::{
    EndpointLabels, KeyLabels, KeyUsageStore, Metrics, RequestLabels, ServedBy, StreamEnd,
    StreamReport, TokenLabels, TokenUsage,
};

use crate::AppState;
use crate::error::AnsweredError;
use crate::recent::{Recent, Totals};

#[derive(Debug)]
struct Record {
    method: String,
    path: String,
    request_id: String,
    started: Instant,
    model: Option<String>,
    status: Option<u16>,
    usage: Option<TokenUsage>,
    /// A streamed answer's report, read when the line is written.
    stream: Option<StreamReport>,
    /// Whether a streamed answer's body reached its end (rather than being dropped).
    body_ended: bool,
    /// When the answer's first byte left: the head of a plain answer, a stream's first chunk.
    first_byte: Option<Instant>,
    /// The upstream account that served the request, as the executor says.
    served_by: ServedBy,
    /// The name of the client key the request came with, when the server has keys.
    client_key: Option<String>,
    /// Where a key's tokens are counted against its daily budget.
    key_usage: Arc<dyn KeyUsageStore>,
    /// Why the request was answered with an error, when it was (the error's `Display`).
    error: Option<String>,
    /// Where the request's figures are counted.
    metrics: Metrics,
    /// The last hour's figures, for the status page.
    recent: Recent,
}

/// The request's log record, shared by the middleware and a streaming body.
#[derive(Clone, Debug)]
pub(crate) struct RequestLog(Arc<Mutex<Record>>);

impl RequestLog {
    fn edit(&self, f: impl FnOnce(&mut Record)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub(crate) fn set_model(&self, model: &str) {
        self.edit(|r| r.model = Some(model.to_owned()));
    }

    /// The request came with the client key called `name`: its tokens count for that key.
    pub(crate) fn set_client_key(&self, name: &str) {
        self.edit(|r| r.client_key = Some(name.to_owned()));
    }

    pub(crate) fn set_usage(&self, usage: TokenUsage) {
        self.edit(|r| r.usage = Some(usage));
    }

    /// The answer is a stream: its line tells what `report` says.
    pub(crate) fn set_stream(&self, report: StreamReport) {
        self.edit(|r| r.stream = Some(report));
    }

    /// The stream's body was sent to its end.
    pub(crate) fn set_body_ended(&self) {
        self.edit(|r| r.body_ended = true);
    }

    /// The answer's first byte is leaving now (the first call counts).
    pub(crate) fn set_first_byte(&self) {
        self.edit(|r| {
            r.first_byte.get_or_insert_with(Instant::now);
        });
    }
}

impl Record {
    /// Counts the request in the server's metrics: by endpoint, model, status and account;
    /// its time to first byte and duration; its tokens.
    fn count(&self, account: &str) {
        let endpoint = endpoint_of(&self.path);
        let model = self.model.as_deref().unwrap_or("-");
        let metrics = &self.metrics;
        metrics
            .requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_owned(),
                model: model.to_owned(),
                status: self.status.unwrap_or(0),
                account: account.to_owned(),
            })
            .inc();
        let labels = EndpointLabels {
            endpoint: endpoint.to_owned(),
        };
        if let Some(first) = self.first_byte {
            let ttfb = first.saturating_duration_since(self.started);
            metrics
                .time_to_first_byte
                .get_or_create(&labels)
                .observe(ttfb.as_secs_f64());
        }
        metrics
            .duration
            .get_or_create(&labels)
            .observe(self.started.elapsed().as_secs_f64());
        self.recent.record(
            byok_types::unix_now(),
            &Totals {
                requests: 1,
                errors: u64::from(self.status.unwrap_or(0) >= 400),
                input_tokens: self.usage.map_or(0, |u| u.input),
                output_tokens: self.usage.map_or(0, |u| u.output),
            },
        );
        if let (Some(usage), Some(key)) = (self.usage, &self.client_key) {
            // Cached tokens are part of input, reasoning part of output: not counted twice.
            let spent = usage.input.saturating_add(usage.output);
            metrics
                .key_tokens
                .get_or_create(&KeyLabels { key: key.clone() })
                .inc_by(spent);
            self.key_usage
                .add(key, byok_types::utc_day(byok_types::unix_now()), spent);
        }
        if let Some(usage) = self.usage {
            for (kind, count) in [
                ("input", usage.input),
                ("output", usage.output),
                ("cached", usage.cached),
                ("reasoning", usage.reasoning),
            ] {
                metrics
                    .tokens
                    .get_or_create(&TokenLabels {
                        kind,
                        model: model.to_owned(),
                    })
                    .inc_by(count);
            }
        }
    }
}

/// The route a path asks for, as a metrics label: the `/v1` form, ids replaced by `{id}`, so
/// that labels stay few whatever clients send.
pub(crate) fn endpoint_of(path: &str) -> &'static str {
    let rest = path.strip_prefix("/v1").unwrap_or(path);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [] => "/",
        ["chat", "completions"] => "/v1/chat/completions",
        ["responses"] => "/v1/responses",
        ["responses", "compact"] => "/v1/responses/compact",
        ["responses", _] => "/v1/responses/{id}",
        ["responses", _, "input_items"] => "/v1/responses/{id}/input_items",
        ["messages"] => "/v1/messages",
        ["messages", "count_tokens"] => "/v1/messages/count_tokens",
        ["models"] => "/v1/models",
        ["models", _] => "/v1/models/{id}",
        ["status"] => "/v1/status",
        ["healthz"] => "/healthz",
        ["readyz"] => "/readyz",
        ["metrics"] => "/metrics",
        _ => "other",
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let end = self.stream.as_ref().map(StreamReport::end);
        if let Some(usage) = self.stream.as_ref().and_then(StreamReport::usage) {
            self.usage = Some(usage);
        }
        let account = self.served_by.get();
        self.count(account.as_deref().unwrap_or("-"));
        // A stream dropped before its end means the client went away.
        let outcome = match end {
            None => "answered",
            Some(Some(StreamEnd::Completed)) => "stream completed",
            Some(Some(StreamEnd::Incomplete { .. })) => "stream incomplete",
            Some(Some(StreamEnd::Failed { .. })) => "stream failed",
            Some(Some(StreamEnd::Cut { .. })) => "stream cut",
            // An executor whose stream does not report how it ended.
            Some(_) if self.body_ended => "stream finished",
            Some(_) => "client disconnected",
        };
        tracing::info!(
            target: "byok::access",
            method = %Escaped(&self.method),
            path = %Escaped(&self.path),
            model = %Escaped(self.model.as_deref().unwrap_or("-")),
            account = %Escaped(account.as_deref().unwrap_or("-")),
            status = self.status.unwrap_or(0),
            duration_ms = ms,
            prompt_tokens = self.usage.map(|u| u.input),
            completion_tokens = self.usage.map(|u| u.output),
            cached_tokens = self.usage.map(|u| u.cached),
            reasoning_tokens = self.usage.map(|u| u.reasoning),
            request_id = %Escaped(&self.request_id),
            // An error's message may quote what the client sent (a model name).
            error = self.error.as_deref().map(|e| tracing::field::display(Escaped(e))),
            "{outcome}"
        );
    }
}

/// A value a client chose (path, model, request id), as a log line shows it: control
/// characters and backslashes escaped as in a Rust string, so that a model name holding a
/// newline cannot write a forged line below, nor terminal escapes rewrite the screen.
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            if c.is_control() || c == '\\' {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Middleware: opens the record, hands it (and the [`ServedBy`] cell the executor fills in) to
/// the handler, notes the status, and counts the request in the server's metrics and last
/// hour when it is over.
pub(crate) async fn access_log(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let served_by = ServedBy::default();
    let log = RequestLog(Arc::new(Mutex::new(Record {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        request_id,
        started: Instant::now(),
        model: None,
        status: None,
        usage: None,
        stream: None,
        body_ended: false,
        first_byte: None,
        served_by: served_by.clone(),
        client_key: None,
        key_usage: Arc::clone(&state.config.key_usage),
        error: None,
        metrics: state.config.metrics.clone(),
        recent: state.recent.clone(),
    })));
    request.extensions_mut().insert(log.clone());
    request.extensions_mut().insert(served_by);
    let response = next.run(request).await;
    log.edit(|r| {
        r.status = Some(response.status().as_u16());
        r.error = response
            .extensions()
            .get::<AnsweredError>()
            .map(|e| e.0.clone());
        // A plain answer's head and body leave now; a stream's first chunk is timed by the relay.
        if r.stream.is_none() {
            r.first_byte.get_or_insert_with(Instant::now);
        }
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_routes_not_paths() {
        for (path, endpoint) in [
            ("/chat/completions", "/v1/chat/completions"),
            ("/v1/chat/completions", "/v1/chat/completions"),
            (
                "/v1/responses/resp_1/input_items",
                "/v1/responses/{id}/input_items",
            ),
            ("/v1/models/gpt-5.5-high", "/v1/models/{id}"),
            ("/metrics", "/metrics"),
            ("/", "/"),
            ("/wp-admin/login.php", "other"),
        ] {
            assert_eq!(endpoint_of(path), endpoint, "{path}");
        }
    }
}
