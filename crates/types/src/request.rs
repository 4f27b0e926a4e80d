//! The requests a client sends: Chat Completions and Responses, checked before anything is
//! sent upstream.
//!
//! The checks are the OpenAI API's own for the fields byok reads or translates (their words,
//! `param` and `code`): a field of the wrong type would otherwise be dropped or replaced on the
//! way to the Codex backend (a `tools` string silently gone, a `stream: "yes"` answered without
//! streaming), and the client would get an answer to another question.

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
        Self::from_value(json_body(body)?)
    }

    /// Checks and converts an already-parsed body, with a 400 error that names the field at fault.
    pub fn from_value(value: Value) -> Result<Self, ByokError> {
        let Value::Object(mut map) = value else {
            return Err(not_an_object());
        };
        let model = model_of(&map)?.to_owned();
        map.remove("model");
        let messages = match map.remove("messages") {
            Some(Value::Array(m)) if !m.is_empty() => m,
            Some(Value::Array(_)) => {
                return Err(ByokError::invalid_param(
                    "messages",
                    "empty_array",
                    "Invalid 'messages': empty array. Expected an array with minimum length 1, \
                     but got an empty array instead.",
                ));
            }
            Some(other) => {
                return Err(ByokError::invalid_type(
                    "messages",
                    "an array of objects",
                    &other,
                ));
            }
            None => return Err(ByokError::missing_param("messages")),
        };
        let stream = stream_of(&map)?;
        map.remove("stream");
        for (param, expected) in [
            ("stream_options", Kind::Object),
            ("tools", Kind::Array),
            ("reasoning_effort", Kind::String),
        ] {
            check_kind(&map, param, expected)?;
        }
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

/// A Responses API request body (`POST /v1/responses`), checked: what byok reads of it, borrowed
/// from the body, which goes on as the client sent it.
///
/// ```
/// use byok_types::ResponsesRequest;
/// use serde_json::json;
/// let body = json!({"model": "gpt-5", "input": "hi", "stream": true});
/// let request = ResponsesRequest::check(&body).unwrap();
/// assert_eq!((request.model, request.stream), ("gpt-5", true));
///
/// // A Chat body sent to /v1/responses would lose its prompt on the way: refused.
/// let chat = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]});
/// let err = ResponsesRequest::check(&chat).unwrap_err();
/// assert_eq!(err.to_openai_json()["error"]["param"], "messages");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponsesRequest<'a> {
    /// The model asked for.
    pub model: &'a str,
    /// Whether the client wants server-sent events.
    pub stream: bool,
}

impl<'a> ResponsesRequest<'a> {
    /// A request body as JSON, with a 400 error when it is not JSON at all; then
    /// [`check`](Self::check) it.
    pub fn parse_json(body: &[u8]) -> Result<Value, ByokError> {
        json_body(body)
    }

    /// Checks a parsed body, with a 400 error that names the field at fault as the OpenAI API
    /// does: an object with a non-empty `model` and an `input` (a string or a list of items;
    /// Chat's `messages` instead is refused), and, when present and not null, a boolean
    /// `stream`, an object `stream_options`, and lists `tools` and `include`.
    pub fn check(body: &'a Value) -> Result<Self, ByokError> {
        let Value::Object(map) = body else {
            return Err(not_an_object());
        };
        let model = model_of(map)?;
        if map.contains_key("messages") {
            return Err(ByokError::invalid_param(
                "messages",
                "unsupported_parameter",
                "Unsupported parameter: 'messages'. In the Responses API, this parameter has \
                 moved to 'input'. Try again with the new parameter.",
            ));
        }
        match map.get("input") {
            None => return Err(ByokError::missing_param("input")),
            Some(Value::String(_) | Value::Array(_)) => {}
            Some(other) => {
                return Err(ByokError::invalid_type(
                    "input",
                    "one of a string or array of input items",
                    other,
                ));
            }
        }
        let stream = stream_of(map)?;
        for (param, expected) in [
            ("stream_options", Kind::Object),
            ("tools", Kind::Array),
            ("include", Kind::Array),
        ] {
            check_kind(map, param, expected)?;
        }
        Ok(Self { model, stream })
    }
}

/// A body as JSON, or the 400 for one that is not.
fn json_body(body: &[u8]) -> Result<Value, ByokError> {
    serde_json::from_slice(body).map_err(|e| {
        ByokError::invalid_request(format!("the request body is not valid JSON: {e}"), None)
    })
}

fn not_an_object() -> ByokError {
    ByokError::invalid_request("the request body must be a JSON object", None)
}

/// The body's `model`: a string that is not blank.
fn model_of(map: &Map<String, Value>) -> Result<&str, ByokError> {
    match map.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => Ok(m),
        Some(Value::String(m)) => Err(ByokError::invalid_param(
            "model",
            "model_not_found",
            format!("The requested model '{m}' does not exist."),
        )),
        Some(other) => Err(ByokError::invalid_type("model", "a string", other)),
        None => Err(ByokError::missing_param("model")),
    }
}

/// The body's `stream`: absent or null is `false`, anything but a boolean a 400.
fn stream_of(map: &Map<String, Value>) -> Result<bool, ByokError> {
    match map.get("stream") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ByokError::invalid_type("stream", "a boolean", other)),
    }
}

/// The JSON types the checks ask for.
#[derive(Clone, Copy)]
enum Kind {
    Object,
    Array,
    String,
}

/// A 400 unless `param` is absent, null, or of the `expected` type.
fn check_kind(map: &Map<String, Value>, param: &str, expected: Kind) -> Result<(), ByokError> {
    let (fits, name): (fn(&Value) -> bool, _) = match expected {
        Kind::Object => (Value::is_object, "an object"),
        Kind::Array => (Value::is_array, "an array"),
        Kind::String => (Value::is_string, "a string"),
    };
    match map.get(param) {
        Some(value) if !value.is_null() && !fits(value) => {
            Err(ByokError::invalid_type(param, name, value))
        }
        _ => Ok(()),
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
    fn fields_of_the_wrong_type_are_refused_in_the_apis_words() {
        let chat = |extra: Value| {
            let mut body = serde_json::json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            ChatRequest::from_value(body)
        };
        let cases = [
            (
                serde_json::json!({"tools": "none"}),
                "tools",
                "Invalid type for 'tools': expected an array, but got a string instead.",
            ),
            (
                serde_json::json!({"stream_options": true}),
                "stream_options",
                "Invalid type for 'stream_options': expected an object, but got a boolean instead.",
            ),
            (
                serde_json::json!({"reasoning_effort": {"level": "high"}}),
                "reasoning_effort",
                "Invalid type for 'reasoning_effort': expected a string, but got an object instead.",
            ),
            (
                serde_json::json!({"stream": 1}),
                "stream",
                "Invalid type for 'stream': expected a boolean, but got an integer instead.",
            ),
        ];
        for (extra, param, message) in cases {
            let json = chat(extra).unwrap_err().to_openai_json();
            assert_eq!(json["error"]["param"], param);
            assert_eq!(json["error"]["code"], "invalid_type");
            assert_eq!(json["error"]["message"], message);
        }
        // Null is the default, as the API takes it.
        let ok = chat(
            serde_json::json!({"tools": null, "stream_options": null, "stream": null,
            "reasoning_effort": null}),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn responses_bodies_are_checked_before_anything_is_sent() {
        use serde_json::json;
        let cases = [
            (
                json!({"model": "gpt-5"}),
                "input",
                "missing_required_parameter",
            ),
            (
                json!({"model": "gpt-5", "input": null}),
                "input",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-5", "input": {"role": "user"}}),
                "input",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}),
                "messages",
                "unsupported_parameter",
            ),
            (
                json!({"model": "gpt-5", "input": "hi", "stream": "yes"}),
                "stream",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-5", "input": "hi", "stream_options": []}),
                "stream_options",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-5", "input": "hi", "tools": {}}),
                "tools",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-5", "input": "hi", "include": "reasoning.encrypted_content"}),
                "include",
                "invalid_type",
            ),
            (
                json!({"input": "hi"}),
                "model",
                "missing_required_parameter",
            ),
            (json!({"model": 5, "input": "hi"}), "model", "invalid_type"),
        ];
        for (body, param, code) in cases {
            let err = ResponsesRequest::check(&body).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
            let json = err.to_openai_json();
            assert_eq!(json["error"]["param"], param, "{body}");
            assert_eq!(json["error"]["code"], code, "{body}");
        }
        let body = json!({"model": "gpt-5", "input": [], "stream": null, "tools": null});
        let request = ResponsesRequest::check(&body).unwrap();
        assert_eq!((request.model, request.stream), ("gpt-5", false));
        assert!(ResponsesRequest::check(&ResponsesRequest::parse_json(b"[1]").unwrap()).is_err());
        assert!(ResponsesRequest::parse_json(b"{oops").is_err());
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
