//! A finished Responses `response` object -> an Anthropic `message` object.

use serde_json::{Value, json};

use super::request::MessagesOptions;
use super::signature;
use super::usage::MessagesUsage;
use crate::usage::ResponsesUsage;

/// Builds the `message` object of a finished `response` object, for a client that did not
/// stream (the `response` typically comes from [`crate::ResponseCollector`]).
///
/// ```
/// use byok_translate::{MessagesOptions, response_to_message};
/// use serde_json::json;
///
/// let response = json!({
///     "id": "resp_1", "status": "completed",
///     "output": [{"type": "function_call", "call_id": "call_1", "name": "get_weather",
///                 "arguments": "{\"city\":\"Paris\"}"}],
///     "usage": {"input_tokens": 30, "input_tokens_details": {"cached_tokens": 20}, "output_tokens": 5},
/// });
/// let options = MessagesOptions { model: "claude-haiku-4-5".into(), ..Default::default() };
/// let message = response_to_message(&response, &options);
/// assert_eq!(message["id"], "msg_1");
/// assert_eq!(message["model"], "claude-haiku-4-5");
/// assert_eq!(message["content"][0], json!({"type": "tool_use", "id": "call_1",
///     "name": "get_weather", "input": {"city": "Paris"}}));
/// assert_eq!(message["stop_reason"], "tool_use");
/// assert_eq!(message["usage"]["input_tokens"], 10);
/// assert_eq!(message["usage"]["cache_read_input_tokens"], 20);
/// ```
pub fn response_to_message(response: &Value, options: &MessagesOptions) -> Value {
    let mut content = Vec::new();
    let (mut tool_use, mut refused) = (false, false);
    let items = response
        .get("output")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                {
                    let text = match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => part.get("text"),
                        Some("refusal") => {
                            refused = true;
                            part.get("refusal")
                        }
                        _ => None,
                    };
                    if let Some(text) = text.and_then(Value::as_str).filter(|t| !t.is_empty()) {
                        content.push(json!({"type": "text", "text": text}));
                    }
                }
            }
            Some("function_call") => {
                tool_use = true;
                content.push(tool_use_block(item, options));
            }
            Some("reasoning") if options.thinking => content.push(thinking_block(item)),
            _ => {}
        }
    }
    let stop_reason = if response.get("status").and_then(Value::as_str) == Some("incomplete") {
        match response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
        {
            Some("content_filter") => "refusal",
            _ => "max_tokens",
        }
    } else if tool_use {
        "tool_use"
    } else if refused {
        "refusal"
    } else {
        "end_turn"
    };
    let usage = response
        .get("usage")
        .and_then(ResponsesUsage::deserialize_from)
        .unwrap_or_default();
    let id = response
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    json!({
        "id": format!("msg_{}", id.strip_prefix("resp_").unwrap_or(id)),
        "type": "message",
        "role": "assistant",
        "model": options.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": MessagesUsage::from(usage),
    })
}

/// A `function_call` item as a `tool_use` block.
fn tool_use_block(item: &Value, options: &MessagesOptions) -> Value {
    let name = item.get("name").and_then(Value::as_str).unwrap_or("");
    let arguments = item.get("arguments").and_then(Value::as_str).unwrap_or("");
    // A model's arguments are JSON; if they are not, the client still sees them.
    let input = serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            if arguments.trim().is_empty() {
                json!({})
            } else {
                json!({"arguments": arguments})
            }
        });
    json!({
        "type": "tool_use",
        "id": item.get("call_id").cloned().unwrap_or_default(),
        "name": options.tool_names.original(name),
        "input": input,
    })
}

/// A `reasoning` item as a `thinking` block whose signature carries the item.
fn thinking_block(item: &Value) -> Value {
    let text: Vec<&str> = item
        .get("summary")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect();
    let carried = signature::encode(
        item.get("id").and_then(Value::as_str),
        item.get("encrypted_content").and_then(Value::as_str),
    );
    json!({
        "type": "thinking",
        "thinking": text.join("\n\n"),
        "signature": carried.unwrap_or_default(),
    })
}
