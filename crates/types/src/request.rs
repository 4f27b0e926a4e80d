//! The Chat Completions request a client sends.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ByokError;

/// A Chat Completions request: the fields byok routes on are typed, the rest is kept as sent.
///
/// Its `Debug` shows only the model, the stream flag and how many messages there are, so a
/// request can be logged without its content.
///
/// ```
/// use byok_types::ChatRequest;
/// let req = ChatRequest::from_slice(br#"{"model":"gpt-5","stream":true,
///     "messages":[{"role":"user","content":"hi"}],"temperature":0.2}"#).unwrap();
/// assert_eq!(req.model, "gpt-5");
/// assert!(req.stream);
/// assert_eq!(req.extra["temperature"], 0.2);
/// assert!(!format!("{req:?}").contains("hi"));
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model asked for, e.g. `gpt-5` or `gpt-5-codex-high`.
    pub model: String,
    /// Whether the client wants server-sent events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// The conversation, as the client sent it.
    pub messages: Vec<Value>,
    /// Every other field, untouched (`tools`, `temperature`, `stream_options`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// Parses a request body, with a 400 error that names the field at fault.
    pub fn from_slice(body: &[u8]) -> Result<Self, ByokError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ByokError::invalid_request(format!("the request body is not valid JSON: {e}"), None)
        })?;
        Self::from_value(value)
    }

    /// Checks and converts an already-parsed body, with a 400 error that names the field at fault.
    pub fn from_value(value: Value) -> Result<Self, ByokError> {
        let Value::Object(mut map) = value else {
            return Err(ByokError::invalid_request(
                "the request body must be a JSON object",
                None,
            ));
        };
        let model = match map.remove("model") {
            Some(Value::String(m)) if !m.trim().is_empty() => m,
            Some(_) => {
                return Err(ByokError::invalid_request(
                    "`model` must be a non-empty string",
                    Some("model"),
                ));
            }
            None => {
                return Err(ByokError::invalid_request(
                    "you must provide a model parameter",
                    Some("model"),
                ));
            }
        };
        let messages = match map.remove("messages") {
            Some(Value::Array(m)) if !m.is_empty() => m,
            Some(Value::Array(_)) => {
                return Err(ByokError::invalid_request(
                    "`messages` must hold at least one message",
                    Some("messages"),
                ));
            }
            Some(_) => {
                return Err(ByokError::invalid_request(
                    "`messages` must be an array of messages",
                    Some("messages"),
                ));
            }
            None => {
                return Err(ByokError::invalid_request(
                    "missing required parameter: `messages`",
                    Some("messages"),
                ));
            }
        };
        let stream = match map.remove("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                return Err(ByokError::invalid_request(
                    "`stream` must be a boolean",
                    Some("stream"),
                ));
            }
        };
        Ok(Self {
            model,
            stream,
            messages,
            extra: map,
        })
    }

    /// The whole request as a JSON object again.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Whether the client asked for the usage chunk (`stream_options.include_usage`).
    pub fn include_usage(&self) -> bool {
        self.extra
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

impl std::fmt::Debug for ChatRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatRequest")
            .field("model", &self.model)
            .field("stream", &self.stream)
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bodies_name_the_field_at_fault() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (b"{not json", None),
            (b"[1,2]", None),
            (
                br#"{"messages":[{"role":"user","content":"x"}]}"#,
                Some("model"),
            ),
            (br#"{"model":"gpt-5"}"#, Some("messages")),
            (br#"{"model":"gpt-5","messages":"hi"}"#, Some("messages")),
            (
                br#"{"model":"gpt-5","messages":[{"role":"user"}],"stream":"yes"}"#,
                Some("stream"),
            ),
        ];
        for (body, param) in cases {
            let err = ChatRequest::from_slice(body).unwrap_err();
            assert_eq!(err.status(), 400);
            assert_eq!(err.to_openai_json()["error"]["param"].as_str(), param);
        }
    }

    #[test]
    fn round_trips_unknown_fields() {
        let body = br#"{"model":"gpt-5","messages":[{"role":"user","content":"hi"}],
            "stream_options":{"include_usage":true},"tools":[]}"#;
        let req = ChatRequest::from_slice(body).unwrap();
        assert!(req.include_usage());
        let value = req.to_value();
        assert_eq!(value["tools"], serde_json::json!([]));
        assert_eq!(value["model"], "gpt-5");
        assert!(value.get("stream").is_none());
    }
}
