//! A `chat.completion` object -> a Responses `response` object.

use serde_json::{Value, json};

use crate::usage::{ChatUsage, ResponsesUsage};

/// Builds the Responses `response` object of a finished `chat.completion` object.
///
/// ```
/// use byok_translate::chat_to_response;
/// use serde_json::json;
///
/// let response = chat_to_response(&json!({
///     "id": "chatcmpl-1", "created": 7, "model": "llama",
///     "choices": [{"index": 0, "finish_reason": "stop",
///                  "message": {"role": "assistant", "content": "Hello!"}}],
///     "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
/// }));
/// assert_eq!(response["id"], "resp_1");
/// assert_eq!(response["status"], "completed");
/// assert_eq!(response["output"][0]["content"][0]["text"], "Hello!");
/// assert_eq!(response["usage"]["output_tokens"], 2);
/// ```
pub fn chat_to_response(chat_completion: &Value) -> Value {
    let base = base_id(
        chat_completion
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    let choice = chat_completion
        .pointer("/choices/0")
        .unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let text = |key: &str| {
        message
            .get(key)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    };

    let mut output = Vec::new();
    if let Some(reasoning) = text("reasoning_content").or_else(|| text("reasoning")) {
        output.push(reasoning_item(&format!("rs_{base}"), reasoning));
    }
    let mut parts = Vec::new();
    if let Some(content) = text("content") {
        parts.push(json!({"type": "output_text", "text": content, "annotations": []}));
    }
    if let Some(refusal) = text("refusal") {
        parts.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if !parts.is_empty() {
        output.push(message_item(&format!("msg_{base}"), parts));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let field = |path: &str| {
            call.pointer(path)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        output.push(if call.get("custom").is_some() {
            json!({"type": "custom_tool_call", "id": format!("ctc_{}", field("/id")), "call_id": field("/id"),
                   "name": field("/custom/name"), "input": field("/custom/input"), "status": "completed"})
        } else {
            function_call_item(field("/id"), field("/function/name"), field("/function/arguments"))
        });
    }
    let usage = chat_completion
        .get("usage")
        .and_then(|usage| serde_json::from_value::<ChatUsage>(usage.clone()).ok());
    response_object(&Head {
        id: format!("resp_{base}"),
        created_at: chat_completion
            .get("created")
            .cloned()
            .unwrap_or_else(|| 0.into()),
        model: chat_completion
            .get("model")
            .cloned()
            .unwrap_or_else(|| "".into()),
        finish_reason: choice.get("finish_reason").and_then(Value::as_str),
        output,
        usage,
    })
}

/// The Chat id without its `chatcmpl-` prefix, the stem of the ids made for items.
pub(crate) fn base_id(chat_id: &str) -> &str {
    chat_id.strip_prefix("chatcmpl-").unwrap_or(chat_id)
}

/// What a `response` object is made of.
pub(crate) struct Head<'a> {
    pub id: String,
    pub created_at: Value,
    pub model: Value,
    pub finish_reason: Option<&'a str>,
    pub output: Vec<Value>,
    pub usage: Option<ChatUsage>,
}

/// A finished `response` object, with the fields the official SDKs read.
pub(crate) fn response_object(head: &Head<'_>) -> Value {
    let incomplete = match head.finish_reason {
        Some("length") => Some("max_output_tokens"),
        Some("content_filter") => Some("content_filter"),
        _ => None,
    };
    json!({
        "id": head.id,
        "object": "response",
        "created_at": head.created_at,
        "status": if incomplete.is_some() { "incomplete" } else { "completed" },
        "error": null,
        "incomplete_details": incomplete.map(|reason| json!({"reason": reason})),
        "model": head.model,
        "output": head.output,
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": head.usage.map(|usage| serde_json::to_value(ResponsesUsage::from(usage)).unwrap_or_default()),
    })
}

pub(crate) fn reasoning_item(id: &str, text: &str) -> Value {
    json!({"type": "reasoning", "id": id, "summary": [{"type": "summary_text", "text": text}]})
}

pub(crate) fn message_item(id: &str, content: Vec<Value>) -> Value {
    json!({"type": "message", "id": id, "status": "completed", "role": "assistant", "content": Value::Array(content)})
}

pub(crate) fn function_call_item(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id, "name": name,
           "arguments": arguments, "status": "completed"})
}
