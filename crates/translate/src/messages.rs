//! Chat `messages` -> Responses `input` items (and `instructions` for the Codex backend).

use serde_json::{Map, Value, json};

use crate::error::TranslateError;
use crate::options::Preset;
use crate::tool_names::ToolNameMap;

/// The conversation, as the Responses API wants it.
pub(crate) struct Conversation {
    /// System and developer text, joined (Codex only; the OpenAI preset keeps them as items).
    pub instructions: Vec<String>,
    pub input: Vec<Value>,
}

/// Converts the Chat `messages` array. One made of instructions alone (system or developer
/// messages) is refused: there is nothing to answer, and the backend would be sent an empty
/// conversation.
pub(crate) fn convert(
    messages: &[Value],
    preset: Preset,
    names: &mut ToolNameMap,
) -> Result<Conversation, TranslateError> {
    let mut conversation = Conversation {
        instructions: Vec::new(),
        input: Vec::with_capacity(messages.len()),
    };
    for (at, message) in messages.iter().enumerate() {
        let param = format!("messages[{at}]");
        let role =
            message
                .get("role")
                .and_then(Value::as_str)
                .ok_or_else(|| TranslateError::Missing {
                    param: format!("{param}.role"),
                })?;
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" if preset == Preset::Codex => {
                conversation
                    .instructions
                    .push(plain_text(content, &format!("{param}.content"))?);
            }
            "system" | "developer" => {
                let text = plain_text(content, &format!("{param}.content"))?;
                conversation.input.push(message_item(
                    "developer",
                    vec![json!({"type": "input_text", "text": text})],
                ));
            }
            "user" => {
                let parts = user_parts(content, &format!("{param}.content"))?;
                conversation.input.push(message_item("user", parts));
            }
            "assistant" => assistant(message, &param, names, &mut conversation.input)?,
            "tool" => {
                let call_id = message
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| TranslateError::Missing {
                        param: format!("{param}.tool_call_id"),
                    })?;
                let output = plain_text(content, &format!("{param}.content"))?;
                conversation.input.push(
                    json!({"type": "function_call_output", "call_id": call_id, "output": output}),
                );
            }
            "function" => {
                return Err(TranslateError::unsupported(
                    format!("{param}.role"),
                    "the legacy `function` role is not supported; send tool results as `tool` messages with a `tool_call_id`",
                ));
            }
            other => {
                return Err(TranslateError::invalid(
                    format!("{param}.role"),
                    format!("unknown role `{other}`"),
                ));
            }
        }
    }
    // Anything to answer: an item that is not instructions (a user or assistant message, a
    // tool call or its result).
    let exchange = conversation
        .input
        .iter()
        .any(|item| item.get("role").and_then(Value::as_str) != Some("developer"));
    if !exchange {
        return Err(TranslateError::invalid(
            "messages",
            "it holds no user or assistant message, only instructions (system or developer \
             messages); add the user's message",
        ));
    }
    Ok(conversation)
}

fn message_item(role: &str, content: Vec<Value>) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), "message".into());
    item.insert("role".into(), role.into());
    item.insert("content".into(), Value::Array(content));
    Value::Object(item)
}

/// The text of a content that may only hold text: a string, or text parts (joined).
fn plain_text(content: &Value, param: &str) -> Result<String, TranslateError> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(text) => Ok(text.clone()),
        Value::Array(parts) => {
            let mut text = String::new();
            for (at, part) in parts.iter().enumerate() {
                match part.get("text").and_then(Value::as_str) {
                    Some(piece) => text.push_str(piece),
                    None => {
                        return Err(TranslateError::invalid(
                            format!("{param}[{at}]"),
                            "only text parts are allowed here",
                        ));
                    }
                }
            }
            Ok(text)
        }
        _ => Err(TranslateError::invalid_type(param, CONTENT_TYPES, content)),
    }
}

/// What a message's `content` may be, in the OpenAI API's words.
const CONTENT_TYPES: &str = "one of a string or array of objects";

/// A user message's content as Responses input parts.
fn user_parts(content: &Value, param: &str) -> Result<Vec<Value>, TranslateError> {
    let parts = match content {
        Value::String(text) => return Ok(vec![json!({"type": "input_text", "text": text})]),
        Value::Array(parts) if parts.is_empty() => {
            return Err(TranslateError::invalid(
                param,
                "empty array; send the message's text or at least one content part",
            ));
        }
        Value::Array(parts) => parts,
        _ => return Err(TranslateError::invalid_type(param, CONTENT_TYPES, content)),
    };
    parts
        .iter()
        .enumerate()
        .map(|(at, part)| user_part(part, &format!("{param}[{at}]")))
        .collect()
}

fn user_part(part: &Value, param: &str) -> Result<Value, TranslateError> {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("text");
    match kind {
        "text" | "input_text" => {
            let text = part.get("text").and_then(Value::as_str).ok_or_else(|| {
                TranslateError::Missing {
                    param: format!("{param}.text"),
                }
            })?;
            Ok(json!({"type": "input_text", "text": text}))
        }
        "image_url" => {
            let image = part.get("image_url");
            // `image_url` is an object `{url, detail}`, or (some clients) the URL itself.
            let url = image
                .and_then(|image| image.get("url").or(Some(image)))
                .and_then(Value::as_str);
            let url = url.ok_or_else(|| TranslateError::Missing {
                param: format!("{param}.image_url.url"),
            })?;
            let detail = image
                .and_then(|image| image.get("detail"))
                .and_then(Value::as_str)
                .unwrap_or("auto");
            Ok(json!({"type": "input_image", "image_url": url, "detail": detail}))
        }
        "file" => {
            let mut file = Map::new();
            file.insert("type".into(), "input_file".into());
            for key in ["file_id", "file_data", "filename"] {
                if let Some(value) = part.get("file").and_then(|f| f.get(key)) {
                    file.insert(key.into(), value.clone());
                }
            }
            Ok(Value::Object(file))
        }
        other => Err(TranslateError::unsupported(
            format!("{param}.type"),
            format!(
                "content parts of type `{other}` are not supported by the Responses API; send text, images or files"
            ),
        )),
    }
}

/// An assistant message: its text as an output message, its tool calls as call items.
fn assistant(
    message: &Value,
    param: &str,
    names: &mut ToolNameMap,
    input: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    let content = message.get("content").unwrap_or(&Value::Null);
    match content {
        Value::Null => {}
        Value::String(text) if text.is_empty() => {}
        Value::String(text) => {
            parts.push(json!({"type": "output_text", "text": text, "annotations": []}));
        }
        Value::Array(items) => {
            for item in items {
                if let Some(text) = item.get("text").and_then(Value::as_str) {
                    parts.push(json!({"type": "output_text", "text": text, "annotations": []}));
                } else if let Some(refusal) = item.get("refusal").and_then(Value::as_str) {
                    parts.push(json!({"type": "refusal", "refusal": refusal}));
                }
            }
        }
        _ => {
            return Err(TranslateError::invalid_type(
                format!("{param}.content"),
                CONTENT_TYPES,
                content,
            ));
        }
    }
    let refusal = message.get("refusal").and_then(Value::as_str);
    if let Some(refusal) = refusal {
        parts.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if !parts.is_empty() {
        input.push(message_item("assistant", parts));
    }
    let calls = match message.get("tool_calls").unwrap_or(&Value::Null) {
        Value::Null => &[][..],
        Value::Array(calls) => calls.as_slice(),
        other => {
            return Err(TranslateError::invalid_type(
                format!("{param}.tool_calls"),
                "an array of objects",
                other,
            ));
        }
    };
    // An assistant message says something, calls tools, or refuses: one with none of them
    // (`content` null or left out) is refused by the OpenAI API, and would vanish here.
    if content.is_null() && refusal.is_none() && calls.is_empty() {
        return Err(TranslateError::invalid_type(
            format!("{param}.content"),
            CONTENT_TYPES,
            content,
        ));
    }
    for (at, call) in calls.iter().enumerate() {
        input.push(tool_call(
            call,
            &format!("{param}.tool_calls[{at}]"),
            names,
        )?);
    }
    Ok(())
}

/// One of an assistant message's `tool_calls` as a call item.
fn tool_call(call: &Value, param: &str, names: &mut ToolNameMap) -> Result<Value, TranslateError> {
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::Missing {
            param: format!("{param}.id"),
        })?;
    if let Some(custom) = call.get("custom") {
        let name = names.shorten(
            custom
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let input_text = custom
            .get("input")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok(
            json!({"type": "custom_tool_call", "call_id": id, "name": name, "input": input_text}),
        );
    }
    let function = call
        .get("function")
        .ok_or_else(|| TranslateError::Missing {
            param: format!("{param}.function"),
        })?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::Missing {
            param: format!("{param}.function.name"),
        })?;
    // The arguments as the model wrote them: a JSON text, never an object (a gateway that sent
    // `{}` instead would tell the model it had called the tool without them).
    let arguments = match function.get("arguments") {
        Some(Value::String(arguments)) => arguments,
        None => {
            return Err(TranslateError::Missing {
                param: format!("{param}.function.arguments"),
            });
        }
        Some(other) => {
            return Err(TranslateError::invalid_type(
                format!("{param}.function.arguments"),
                "a string",
                other,
            ));
        }
    };
    Ok(
        json!({"type": "function_call", "call_id": id, "name": names.shorten(name), "arguments": arguments}),
    )
}
