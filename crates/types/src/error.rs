//! The one error type every byok layer returns, and its OpenAI-shaped rendering.

use std::time::Duration;

use serde_json::{Value, json};

/// A `Result` whose error is [`ByokError`].
pub type Result<T, E = ByokError> = std::result::Result<T, E>;

/// An error and its causes in one line, outermost first, for messages that say what really
/// failed ("connection refused") rather than only the outer layer's summary.
///
/// ```
/// use std::io;
///
/// #[derive(Debug)]
/// struct RequestFailed(io::Error);
/// impl std::fmt::Display for RequestFailed {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("the request failed")
///     }
/// }
/// impl std::error::Error for RequestFailed {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let err = RequestFailed(io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused"));
/// assert_eq!(byok_types::error_chain(&err), "the request failed: connection refused");
/// ```
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}

/// What went wrong, in terms a client of an OpenAI-compatible API understands.
///
/// Every variant maps to one HTTP status ([`ByokError::status`]) and renders as OpenAI's error
/// object ([`ByokError::to_openai_json`]). `Display` never includes an upstream body or a
/// secret, so an error can always be logged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ByokError {
    /// The client's request is malformed or asks for something the upstream cannot do (400).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong and how to fix it.
        message: String,
        /// The request field at fault, if one is.
        param: Option<String>,
        /// OpenAI's `error.code` for the fault, when it has one: `invalid_type`,
        /// `missing_required_parameter`, `unsupported_parameter`, ...
        code: Option<&'static str>,
    },
    /// No credentials, or credentials the upstream refused (401).
    #[error("{0}")]
    Unauthorized(String),
    /// An unknown route or model (404).
    #[error("{0}")]
    NotFound(String),
    /// The request body is larger than the server accepts (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The ChatGPT plan's usage limit is reached (429); retrying before the reset is useless.
    #[error("{message}")]
    UsageLimit {
        /// The upstream's explanation.
        message: String,
        /// The plan that hit the limit (`plus`, `pro`, ...), if the upstream said.
        plan_type: Option<String>,
        /// When the limit resets, in Unix seconds, if known.
        resets_at: Option<i64>,
        /// How long to wait before trying again, if known.
        retry_after: Option<Duration>,
    },
    /// byok's own limit on the client is reached (429): a client key's `daily_tokens` budget.
    /// Rendered as OpenAI renders its tokens-per-day limit (`type: "tokens"`,
    /// `code: "rate_limit_exceeded"`), with `resets_at`.
    #[error("{message}")]
    RateLimited {
        /// What limit, how much is used, and when it resets.
        message: String,
        /// When the limit resets, in Unix seconds.
        resets_at: Option<i64>,
        /// How long to wait before trying again.
        retry_after: Option<Duration>,
    },
    /// The client's key may not use the model it asked for (403, as OpenAI answers a
    /// project without access to a model: `code: "model_not_found"`).
    #[error("{0}")]
    ModelNotAllowed(String),
    /// The upstream answered with a non-success status.
    ///
    /// A 4xx is the client's to see as it is (its status, the upstream's error object). A 5xx
    /// (or any other non-4xx status) is answered 502 `upstream_error` with the upstream's
    /// message: the upstream failed, not byok, and a 500 would say otherwise.
    ///
    /// `body` is kept for the client (it holds the upstream's own explanation) but never shown
    /// by `Display`, which logs read.
    #[error("the upstream answered HTTP {status}")]
    Upstream {
        /// The upstream's HTTP status.
        status: u16,
        /// The upstream's response body, as received.
        body: String,
        /// The upstream's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The upstream could not be reached at all (502).
    #[error("cannot reach the upstream: {0}")]
    Unreachable(String),
    /// The upstream's answer was broken: bad JSON, a stream cut short (502).
    #[error("the upstream sent a broken answer: {0}")]
    BadGateway(String),
    /// The upstream took too long (504).
    #[error("the upstream timed out: {0}")]
    Timeout(String),
    /// byok's own configuration or state is wrong (500): a corrupt file, a bad setting.
    #[error("{0}")]
    Config(String),
    /// A bug or an unexpected local failure (500).
    #[error("{0}")]
    Internal(String),
}

impl ByokError {
    /// A 400 error about the request, naming the field at fault.
    pub fn invalid_request(message: impl Into<String>, param: Option<&str>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: param.map(str::to_owned),
            code: None,
        }
    }

    /// A 400 error about the field `param`, with OpenAI's `code` for the fault.
    pub fn invalid_param(param: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: Some(param.to_owned()),
            code: Some(code),
        }
    }

    /// The 400 the OpenAI API answers for a field of the wrong JSON type, in its words.
    ///
    /// ```
    /// use byok_types::ByokError;
    /// let err = ByokError::invalid_type("tools", "an array of objects", &serde_json::json!("x"));
    /// let json = err.to_openai_json();
    /// assert_eq!(json["error"]["message"], "Invalid type for 'tools': expected an array of objects, but got a string instead.");
    /// assert_eq!((json["error"]["param"].as_str(), json["error"]["code"].as_str()), (Some("tools"), Some("invalid_type")));
    /// ```
    pub fn invalid_type(param: &str, expected: &str, got: &Value) -> Self {
        Self::invalid_param(
            param,
            "invalid_type",
            format!(
                "Invalid type for '{param}': expected {expected}, but got {} instead.",
                json_kind(got)
            ),
        )
    }

    /// The 400 the OpenAI API answers for a required field left out, in its words.
    pub fn missing_param(param: &str) -> Self {
        Self::invalid_param(
            param,
            "missing_required_parameter",
            format!("Missing required parameter: '{param}'."),
        )
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest { .. } => 400,
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::PayloadTooLarge(_) => 413,
            Self::ModelNotAllowed(_) => 403,
            Self::UsageLimit { .. } | Self::RateLimited { .. } => 429,
            Self::Upstream { status, .. } => match *status {
                s @ 400..=499 => s,
                _ => 502,
            },
            Self::Unreachable(_) | Self::BadGateway(_) => 502,
            Self::Timeout(_) => 504,
            Self::Config(_) | Self::Internal(_) => 500,
        }
    }

    /// How long the client should wait before retrying, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::UsageLimit { retry_after, .. }
            | Self::RateLimited { retry_after, .. }
            | Self::Upstream { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The whole seconds a client is told in `Retry-After`: [`retry_after`](Self::retry_after)
    /// rounded up and at least 1 ("retry after 0 s" would invite a retry storm); a 429 always
    /// says when to come back (1 s when nobody said). `None`: no header.
    ///
    /// ```
    /// use std::time::Duration;
    /// use byok_types::ByokError;
    /// let err = ByokError::Upstream { status: 503, body: String::new(), retry_after: Some(Duration::from_millis(1_200)) };
    /// assert_eq!(err.retry_after_secs(), Some(2));
    /// let err = ByokError::Upstream { status: 429, body: String::new(), retry_after: None };
    /// assert_eq!(err.retry_after_secs(), Some(1));
    /// assert_eq!(ByokError::NotFound("x".into()).retry_after_secs(), None);
    /// ```
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self.retry_after() {
            Some(d) => Some((d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)),
            None => (self.status() == 429).then_some(1),
        }
    }

    /// OpenAI's `error.type` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. }
            | Self::NotFound(_)
            | Self::PayloadTooLarge(_)
            | Self::ModelNotAllowed(_) => "invalid_request_error",
            Self::RateLimited { .. } => "tokens",
            Self::Unauthorized(_) => "authentication_error",
            Self::UsageLimit { .. } => "usage_limit_reached",
            Self::Upstream { status, .. } => match status {
                401 | 403 => "authentication_error",
                429 => "rate_limit_error",
                400..=499 => "invalid_request_error",
                _ => "upstream_error",
            },
            Self::Unreachable(_) | Self::BadGateway(_) => "upstream_error",
            Self::Timeout(_) => "timeout_error",
            Self::Config(_) | Self::Internal(_) => "server_error",
        }
    }

    /// OpenAI's `error.code` for this error, when there is a fitting one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest { code, .. } => *code,
            Self::Unauthorized(_) => Some("invalid_api_key"),
            Self::NotFound(_) => Some("not_found"),
            Self::PayloadTooLarge(_) => Some("payload_too_large"),
            Self::UsageLimit { .. } => Some("usage_limit_reached"),
            Self::RateLimited { .. } => Some("rate_limit_exceeded"),
            Self::ModelNotAllowed(_) => Some("model_not_found"),
            Self::Unreachable(_) => Some("upstream_unreachable"),
            Self::BadGateway(_) => Some("bad_gateway"),
            Self::Timeout(_) => Some("timeout"),
            _ => None,
        }
    }

    /// The error as OpenAI's error object:
    /// `{"error":{"message","type","param","code"}}`.
    ///
    /// For [`ByokError::Upstream`] a 4xx's OpenAI-shaped body is passed on as it is (it is the
    /// upstream's own answer to this client); a 5xx becomes `upstream_error` with the upstream's
    /// message and its status as `upstream_status`; any other body is summarised.
    ///
    /// ```
    /// use byok_types::ByokError;
    /// let err = ByokError::Upstream {
    ///     status: 400,
    ///     body: r#"{"error":{"message":"Unsupported parameter: temperature","type":"invalid_request_error","param":"temperature","code":null}}"#.into(),
    ///     retry_after: None,
    /// };
    /// let json = err.to_openai_json();
    /// assert_eq!(json["error"]["message"], "Unsupported parameter: temperature");
    /// assert_eq!(json["error"]["param"], "temperature");
    ///
    /// // Still failing after the retries: 502, the upstream's words, never a 500 of byok's.
    /// let err = ByokError::Upstream {
    ///     status: 503,
    ///     body: r#"{"error":{"message":"Service temporarily unavailable","type":"server_error"}}"#.into(),
    ///     retry_after: None,
    /// };
    /// assert_eq!(err.status(), 502);
    /// let json = err.to_openai_json();
    /// assert_eq!(json["error"]["type"], "upstream_error");
    /// assert_eq!(json["error"]["message"], "Service temporarily unavailable");
    /// assert_eq!(json["error"]["upstream_status"], 503);
    /// ```
    pub fn to_openai_json(&self) -> Value {
        if let Self::Upstream { status, body, .. } = self {
            let mut json = upstream_error_json(*status, body, self.error_type());
            if !(400..=499).contains(status) {
                // The upstream's words, in byok's terms: an upstream failure, and which.
                json["error"]["type"] = json!("upstream_error");
                json["error"]["upstream_status"] = json!(status);
            }
            return json;
        }
        let param = match self {
            Self::InvalidRequest { param, .. } => param.clone(),
            _ => None,
        };
        let mut error = json!({
            "message": self.to_string(),
            "type": self.error_type(),
            "param": param,
            "code": self.code(),
        });
        if let Self::UsageLimit {
            plan_type,
            resets_at,
            retry_after,
            ..
        } = self
        {
            error["plan_type"] = json!(plan_type);
            error["resets_at"] = json!(resets_at);
            error["resets_in_seconds"] = json!(retry_after.map(|d| d.as_secs()));
        }
        if let Self::RateLimited { resets_at, .. } = self {
            error["resets_at"] = json!(resets_at);
        }
        json!({ "error": error })
    }
}

impl ByokError {
    /// The Anthropic API's `error.type` for this error, by its status (what Anthropic's SDKs
    /// turn into their error classes).
    pub fn anthropic_error_type(&self) -> &'static str {
        match self.status() {
            400 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            _ => "api_error",
        }
    }

    /// The error in the Anthropic API's shape, for its endpoints (`/v1/messages`):
    /// `{"type": "error", "error": {"type", "message"}}`, the message as in
    /// [`ByokError::to_openai_json`] (an upstream's own explanation kept).
    ///
    /// ```
    /// use byok_types::ByokError;
    ///
    /// let json = ByokError::NotFound("no such model".into()).to_anthropic_json();
    /// assert_eq!(json, serde_json::json!({"type": "error",
    ///     "error": {"type": "not_found_error", "message": "no such model"}}));
    /// ```
    pub fn to_anthropic_json(&self) -> Value {
        let openai = self.to_openai_json();
        let message = openai["error"]["message"]
            .as_str()
            .map_or_else(|| self.to_string(), str::to_owned);
        json!({"type": "error", "error": {"type": self.anthropic_error_type(), "message": message}})
    }
}

/// A JSON value's type as the OpenAI API names it in its errors ("but got a string instead").
/// Twin of byok-translate's `json_kind`: the two crates depend on none of ours (`cargo xtask layers`).
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Renders an upstream error body in OpenAI's shape, keeping the upstream's words.
fn upstream_error_json(status: u16, body: &str, fallback_type: &str) -> Value {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let upstream = parsed.as_ref().and_then(|v| v.get("error"));
    match upstream {
        Some(Value::Object(obj)) => {
            let mut error = obj.clone();
            error
                .entry("message")
                .or_insert_with(|| json!(format!("the upstream answered HTTP {status}")));
            error.entry("type").or_insert_with(|| json!(fallback_type));
            error.entry("param").or_insert(Value::Null);
            error.entry("code").or_insert(Value::Null);
            json!({ "error": error })
        }
        Some(Value::String(message)) => json!({ "error": {
            "message": message, "type": fallback_type, "param": null, "code": null,
        }}),
        _ => {
            let detail = parsed
                .as_ref()
                .and_then(|v| v.get("detail").or_else(|| v.get("message")))
                .and_then(Value::as_str)
                .map_or_else(String::new, |d| format!(": {d}"));
            json!({ "error": {
                "message": format!("the upstream answered HTTP {status}{detail}"),
                "type": fallback_type,
                "param": null,
                "code": null,
            }})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_renders_the_four_openai_fields() {
        let errors = [
            ByokError::invalid_request("bad", Some("model")),
            ByokError::Unauthorized("sign in with `byok login`".into()),
            ByokError::NotFound("no such model".into()),
            ByokError::PayloadTooLarge("too big".into()),
            ByokError::Unreachable("connection refused".into()),
            ByokError::BadGateway("cut".into()),
            ByokError::Timeout("idle".into()),
            ByokError::Internal("oops".into()),
            ByokError::Upstream {
                status: 500,
                body: "<html>".into(),
                retry_after: None,
            },
        ];
        for err in errors {
            let json = err.to_openai_json();
            let obj = json["error"].as_object().expect("error object");
            for key in ["message", "type", "param", "code"] {
                assert!(obj.contains_key(key), "{key} missing in {json}");
            }
            assert!(
                json["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }

    #[test]
    fn display_never_shows_the_upstream_body() {
        let err = ByokError::Upstream {
            status: 401,
            body: r#"{"detail":"token sk-secret-value is invalid"}"#.into(),
            retry_after: None,
        };
        assert!(!err.to_string().contains("sk-secret-value"));
        assert!(!format!("{err}").contains("detail"));
        assert_eq!(err.status(), 401);
        assert_eq!(err.error_type(), "authentication_error");
    }

    #[test]
    fn usage_limit_carries_reset_and_retry_after() {
        let err = ByokError::UsageLimit {
            message: "The usage limit has been reached".into(),
            plan_type: Some("plus".into()),
            resets_at: Some(1_800_000_000),
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        let json = err.to_openai_json();
        assert_eq!(json["error"]["type"], "usage_limit_reached");
        assert_eq!(json["error"]["resets_in_seconds"], 120);
        assert_eq!(json["error"]["plan_type"], "plus");
    }

    #[test]
    fn an_upstream_server_error_is_a_bad_gateway_with_the_upstreams_words() {
        for status in [500, 503, 504] {
            let err = ByokError::Upstream {
                status,
                body: r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#.into(),
                retry_after: None,
            };
            assert_eq!(err.status(), 502);
            let json = err.to_openai_json();
            assert_eq!(json["error"]["type"], "upstream_error");
            assert_eq!(
                json["error"]["message"],
                "The server had an error while processing your request."
            );
            assert_eq!(json["error"]["upstream_status"], status);
        }
        let html = ByokError::Upstream {
            status: 500,
            body: "<html>oops</html>".into(),
            retry_after: None,
        };
        assert_eq!(
            html.to_openai_json()["error"]["message"],
            "the upstream answered HTTP 500"
        );
        // A client error stays the client's, as the upstream said it.
        let refused = ByokError::Upstream {
            status: 422,
            body: r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#.into(),
            retry_after: None,
        };
        assert_eq!(refused.status(), 422);
        assert_eq!(
            refused.to_openai_json()["error"]["type"],
            "invalid_request_error"
        );
        assert!(
            refused.to_openai_json()["error"]
                .get("upstream_status")
                .is_none()
        );
    }

    #[test]
    fn upstream_status_outside_errors_becomes_bad_gateway() {
        let err = ByokError::Upstream {
            status: 302,
            body: String::new(),
            retry_after: None,
        };
        assert_eq!(err.status(), 502);
    }
}
