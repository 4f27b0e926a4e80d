//! Responses request -> Chat Completions request.

use serde_json::{Map, Value, json};

use crate::error::TranslateError;

/// Responses fields a Chat request takes under the same name and meaning.
const SAME: [&str; 4] = ["temperature", "top_p", "parallel_tool_calls", "user"];

/// Translates a Responses request body into a Chat Completions request body, for an upstream
/// that speaks only Chat Completions. Built-in tools (`web_search`, ...) and reasoning items
/// have no Chat form and are left out; `stream` asks for the usage chunk too.
///
/// ```
/// use byok_translate::responses_to_chat_request;
/// use serde_json::json;
///
/// let chat = responses_to_chat_request(&json!({
///     "model": "gpt-5", "instructions": "Be brief.", "input": "Hi", "max_output_tokens": 50,
/// })).unwrap();
/// assert_eq!(chat, json!({
///     "model": "gpt-5",
///     "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
///     "max_completion_tokens": 50,
/// }));
/// ```
pub fn responses_to_chat_request(request: &Value) -> Result<Value, TranslateError> {
    let body = request.as_object().ok_or(TranslateError::NotAnObject)?;
    if body
        .get("previous_response_id")
        .is_some_and(|id| !id.is_null())
    {
        return Err(TranslateError::unsupported(
            "previous_response_id",
            "`previous_response_id` is not supported by a Chat Completions upstream; send the whole conversation in `input`",
        ));
    }
    let model =
        body.get("model")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::Missing {
                param: "model".into(),
            })?;
    let mut messages = Vec::new();
    if let Some(instructions) = body
        .get("instructions")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
    {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    match body.get("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => messages.push(json!({"role": "user", "content": text})),
        Some(Value::Array(items)) => {
            for (at, item) in items.iter().enumerate() {
                add_item(item, &format!("input[{at}]"), &mut messages)?;
            }
        }
        Some(_) => {
            return Err(TranslateError::invalid(
                "input",
                "expected a string or an array of items",
            ));
        }
    }

    let mut chat = Map::new();
    chat.insert("model".into(), model.into());
    chat.insert("messages".into(), messages.into());
    let tools: Vec<Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(chat_tool)
        .collect();
    if !tools.is_empty() {
        chat.insert("tools".into(), tools.into());
        if let Some(choice) = body.get("tool_choice").filter(|choice| !choice.is_null()) {
            chat.insert("tool_choice".into(), chat_tool_choice(choice));
        }
    }
    for key in SAME {
        if let Some(value) = body.get(key).filter(|value| !value.is_null()) {
            chat.insert(key.into(), value.clone());
        }
    }
    if let Some(limit) = body
        .get("max_output_tokens")
        .filter(|value| !value.is_null())
    {
        chat.insert("max_completion_tokens".into(), limit.clone());
    }
    if let Some(effort) = request
        .pointer("/reasoning/effort")
        .filter(|value| !value.is_null())
    {
        chat.insert("reasoning_effort".into(), effort.clone());
    }
    if let Some(format) = request.pointer("/text/format").and_then(Value::as_object) {
        chat.insert("response_format".into(), response_format(format));
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        chat.insert("stream".into(), true.into());
        chat.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(chat))
}

/// Adds one input item to the Chat messages.
fn add_item(item: &Value, param: &str, messages: &mut Vec<Value>) -> Result<(), TranslateError> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    match item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
    {
        "message" => {
            let role = match text("role") {
                "system" | "developer" => "system",
                "assistant" => "assistant",
                _ => "user",
            };
            let content = item.get("content").unwrap_or(&Value::Null);
            let content = if role == "user" {
                user_content(content)
            } else {
                joined_text(content).into()
            };
            messages.push(json!({"role": role, "content": content}));
        }
        "function_call" => {
            let call = json!({"id": text("call_id"), "type": "function",
                "function": {"name": text("name"), "arguments": text("arguments")}});
            push_tool_call(messages, call);
        }
        "custom_tool_call" => {
            let call = json!({"id": text("call_id"), "type": "custom", "custom": {"name": text("name"), "input": text("input")}});
            push_tool_call(messages, call);
        }
        "function_call_output" | "custom_tool_call_output" => {
            let output = item.get("output").unwrap_or(&Value::Null);
            let output = output
                .as_str()
                .map_or_else(|| joined_text(output), str::to_owned);
            messages
                .push(json!({"role": "tool", "tool_call_id": text("call_id"), "content": output}));
        }
        "item_reference" => {
            return Err(TranslateError::unsupported(
                param,
                "`item_reference` items are not supported by a Chat Completions upstream; send the item itself",
            ));
        }
        // Reasoning and built-in tool calls have no Chat form; the model does without them.
        _ => {}
    }
    Ok(())
}

/// Tool calls join the assistant message before them, as Chat wants.
fn push_tool_call(messages: &mut Vec<Value>, call: Value) {
    if let Some(last) = messages
        .last_mut()
        .filter(|last| last["role"] == "assistant")
    {
        match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
            Some(calls) => calls.push(call),
            None => last["tool_calls"] = json!([call]),
        }
        return;
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

fn user_content(content: &Value) -> Value {
    let Some(parts) = content.as_array() else {
        return content.clone();
    };
    let parts: Vec<Value> = parts
        .iter()
        .filter_map(|part| match part.get("type").and_then(Value::as_str)? {
            "input_text" | "output_text" | "text" => {
                Some(json!({"type": "text", "text": part.get("text")?}))
            }
            "input_image" => {
                let url = part.get("image_url")?;
                let detail = part.get("detail").cloned().unwrap_or_else(|| "auto".into());
                Some(json!({"type": "image_url", "image_url": {"url": url, "detail": detail}}))
            }
            "input_file" => {
                let mut file = Map::new();
                for key in ["file_id", "file_data", "filename"] {
                    if let Some(value) = part.get(key) {
                        file.insert(key.into(), value.clone());
                    }
                }
                Some(json!({"type": "file", "file": file}))
            }
            _ => None,
        })
        .collect();
    parts.into()
}

/// The text of a content: a string, or the text of its parts.
fn joined_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// A Responses tool in Chat's shape; `None` for built-in tools a Chat upstream cannot run.
fn chat_tool(tool: &Value) -> Option<Value> {
    let kind = tool.get("type").and_then(Value::as_str)?;
    if !matches!(kind, "function" | "custom") {
        return None;
    }
    let mut spec = tool.as_object()?.clone();
    spec.remove("type");
    Some(json!({"type": kind, kind: spec}))
}

fn chat_tool_choice(choice: &Value) -> Value {
    let named = |tool: &Value| {
        let kind = tool.get("type").and_then(Value::as_str)?;
        let name = tool.get("name")?;
        matches!(kind, "function" | "custom").then(|| json!({"type": kind, kind: {"name": name}}))
    };
    match choice.get("type").and_then(Value::as_str) {
        None => choice.clone(),
        Some("allowed_tools") => {
            let tools: Vec<Value> = choice
                .get("tools")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter_map(named)
                .collect();
            json!({"type": "allowed_tools", "allowed_tools": {"mode": choice.get("mode").cloned().unwrap_or_else(|| "auto".into()), "tools": tools}})
        }
        // A built-in tool cannot be forced on a Chat upstream: let the model choose.
        Some(_) => named(choice).unwrap_or_else(|| "auto".into()),
    }
}

/// `text.format` -> `response_format`.
fn response_format(format: &Map<String, Value>) -> Value {
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return Value::Object(format.clone());
    }
    let mut schema = format.clone();
    schema.remove("type");
    json!({"type": "json_schema", "json_schema": schema})
}
