//! One log line per request: method, path, model, status, duration, tokens.
//!
//! The line is written when the last holder of the request's [`RequestLog`] lets go of it: right
//! after the handler for a plain answer, at the end of the body for a stream. So a stream's line
//! carries its real duration, its token counts and how it ended. Bodies, keys and tokens are
//! never part of it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// Token counts of one answer, as the upstream reported them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TokenUsage {
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
}

impl TokenUsage {
    /// Reads `usage` from a Chat answer or chunk (`prompt_tokens`), a Responses object or event
    /// (`input_tokens`, possibly under `response`).
    pub(crate) fn from_json(value: &Value) -> Option<Self> {
        let usage = value
            .get("usage")
            .or_else(|| value.get("response").and_then(|r| r.get("usage")))?;
        let count = |names: [&str; 2]| names.iter().find_map(|n| usage.get(n)?.as_u64());
        Some(Self {
            prompt: count(["prompt_tokens", "input_tokens"])?,
            completion: count(["completion_tokens", "output_tokens"])?,
        })
    }
}

/// How a streamed answer ended, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The upstream stream ended by itself.
    Finished,
    /// The stream ended with an error event.
    Failed,
}

#[derive(Debug)]
struct Record {
    method: String,
    path: String,
    request_id: String,
    started: Instant,
    model: Option<String>,
    status: Option<u16>,
    usage: Option<TokenUsage>,
    streamed: bool,
    end: Option<StreamEnd>,
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

    pub(crate) fn set_usage(&self, usage: TokenUsage) {
        self.edit(|r| r.usage = Some(usage));
    }

    pub(crate) fn set_streamed(&self) {
        self.edit(|r| r.streamed = true);
    }

    pub(crate) fn set_end(&self, end: StreamEnd) {
        self.edit(|r| r.end = Some(end));
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A stream dropped before its end means the client went away.
        let outcome = match (self.streamed, self.end) {
            (false, _) => "answered",
            (true, Some(StreamEnd::Finished)) => "stream finished",
            (true, Some(StreamEnd::Failed)) => "stream failed",
            (true, None) => "client disconnected",
        };
        tracing::info!(
            target: "byok::access",
            method = %self.method,
            path = %self.path,
            model = %self.model.as_deref().unwrap_or("-"),
            status = self.status.unwrap_or(0),
            duration_ms = ms,
            prompt_tokens = self.usage.map(|u| u.prompt),
            completion_tokens = self.usage.map(|u| u.completion),
            request_id = %self.request_id,
            "{outcome}"
        );
    }
}

/// Middleware: opens the record, hands it to the handler, notes the status.
pub(crate) async fn access_log(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let log = RequestLog(Arc::new(Mutex::new(Record {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        request_id,
        started: Instant::now(),
        model: None,
        status: None,
        usage: None,
        streamed: false,
        end: None,
    })));
    request.extensions_mut().insert(log.clone());
    let response = next.run(request).await;
    log.edit(|r| r.status = Some(response.status().as_u16()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_usage_of_chat_and_responses_shapes() {
        let chat = json!({"usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        let responses = json!({"type": "response.completed",
            "response": {"usage": {"input_tokens": 7, "output_tokens": 11}}});
        assert_eq!(
            TokenUsage::from_json(&chat),
            Some(TokenUsage {
                prompt: 3,
                completion: 5
            })
        );
        assert_eq!(
            TokenUsage::from_json(&responses),
            Some(TokenUsage {
                prompt: 7,
                completion: 11
            })
        );
        assert_eq!(TokenUsage::from_json(&json!({"usage": null})), None);
    }
}
