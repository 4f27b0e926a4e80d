//! A finished Responses `response` object -> a `chat.completion` object.

use serde_json::{Map, Value, json};

use crate::options::ReasoningMode;
use crate::stream::incomplete_finish_reason;
use crate::tool_names::ToolNameMap;
use crate::usage::{ChatUsage, ResponsesUsage};

/// How a Responses answer is shaped for a Chat client.
#[derive(Clone, Debug, Default)]
pub struct ChatOptions {
    /// Where reasoning text goes.
    pub reasoning: ReasoningMode,
    /// Send the usage chunk at the end of a stream (the client's `stream_options.include_usage`).
    /// A non-streamed `chat.completion` always carries its usage, as OpenAI's does.
    pub include_usage: bool,
    /// Restores tool names the request shortened.
    pub tool_names: ToolNameMap,
}

/// Builds the `chat.completion` object of a finished `response` object (for a client that
/// did not stream; the `response` typically comes from [`crate::ResponseCollector`]).
///
/// ```
/// use byok_translate::{ChatOptions, response_to_chat};
/// use serde_json::json;
///
/// let response = json!({
///     "id": "resp_1", "created_at": 1, "model": "gpt-5", "status": "completed",
///     "output": [{"type": "message", "role": "assistant",
///                 "content": [{"type": "output_text", "text": "Hello!"}]}],
///     "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
/// });
/// let chat = response_to_chat(&response, &ChatOptions::default());
/// assert_eq!(chat["id"], "chatcmpl-resp_1");
/// assert_eq!(chat["choices"][0]["message"]["content"], "Hello!");
/// assert_eq!(chat["choices"][0]["finish_reason"], "stop");
/// assert_eq!(chat["usage"]["completion_tokens"], 2);
/// ```
pub fn response_to_chat(response: &Value, options: &ChatOptions) -> Value {
    let mut answer = Answer::default();
    for item in response
        .get("output")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        answer.add(item, &options.tool_names);
    }
    let finish_reason = if response.get("status").and_then(Value::as_str) == Some("incomplete") {
        let reason = response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str);
        incomplete_finish_reason(reason)
    } else if answer.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };

    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    let mut content = answer.content;
    match options.reasoning {
        ReasoningMode::ReasoningContent if !answer.reasoning.is_empty() => {
            message.insert("reasoning_content".into(), answer.reasoning.into());
        }
        ReasoningMode::ThinkTags if !answer.reasoning.is_empty() => {
            content = format!("<think>{}</think>\n\n{content}", answer.reasoning);
        }
        _ => {}
    }
    let content = if content.is_empty() && !answer.tool_calls.is_empty() {
        Value::Null
    } else {
        content.into()
    };
    message.insert("content".into(), content);
    message.insert(
        "refusal".into(),
        if answer.refusal.is_empty() {
            Value::Null
        } else {
            answer.refusal.into()
        },
    );
    if !answer.tool_calls.is_empty() {
        message.insert("tool_calls".into(), answer.tool_calls.into());
    }

    let id = response
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut chat = json!({
        "id": chat_completion_id(id),
        "object": "chat.completion",
        "created": response.get("created_at").cloned().unwrap_or_else(|| 0.into()),
        "model": response.get("model").cloned().unwrap_or_else(|| "".into()),
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
    });
    if let Some(usage) = response
        .get("usage")
        .and_then(ResponsesUsage::deserialize_from)
    {
        chat["usage"] = serde_json::to_value(ChatUsage::from(usage)).unwrap_or_default();
    }
    chat
}

/// The Chat id of the answer to the Responses response `response_id`, streamed or not:
/// `chatcmpl-` and the id, unless the id already starts so (a response byok built from a
/// Chat answer). The one place this rule lives, so streamed and collected ids agree.
pub(crate) fn chat_completion_id(response_id: &str) -> String {
    if response_id.starts_with("chatcmpl-") {
        response_id.to_owned()
    } else {
        format!("chatcmpl-{response_id}")
    }
}

/// The answer's parts, gathered from the output items.
#[derive(Default)]
struct Answer {
    content: String,
    refusal: String,
    reasoning: String,
    tool_calls: Vec<Value>,
}

impl Answer {
    fn add(&mut self, item: &Value, names: &ToolNameMap) {
        let text = |value: &Value, key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => self.content.push_str(&text(part, "text")),
                        Some("refusal") => self.refusal.push_str(&text(part, "refusal")),
                        _ => {}
                    }
                }
            }
            Some("reasoning") => {
                // Summaries, or (open models) the reasoning text itself.
                let parts = ["summary", "content"]
                    .into_iter()
                    .filter_map(|key| item.get(key)?.as_array())
                    .flatten();
                for part in parts {
                    let piece = text(part, "text");
                    if !piece.is_empty() {
                        if !self.reasoning.is_empty() {
                            self.reasoning.push_str("\n\n");
                        }
                        self.reasoning.push_str(&piece);
                    }
                }
            }
            Some("function_call") => {
                let name = text(item, "name");
                self.tool_calls.push(json!({
                    "id": text(item, "call_id"),
                    "type": "function",
                    "function": {"name": names.original(&name), "arguments": text(item, "arguments")},
                }));
            }
            Some("custom_tool_call") => {
                let name = text(item, "name");
                self.tool_calls.push(json!({
                    "id": text(item, "call_id"),
                    "type": "custom",
                    "custom": {"name": names.original(&name), "input": text(item, "input")},
                }));
            }
            _ => {}
        }
    }
}
