//! A Responses request from a Responses client, made acceptable to the Codex backend.

use serde_json::{Map, Value, json};

use crate::error::TranslateError;
use crate::request::TranslatedRequest;
use crate::tool_names::ToolNameMap;

/// The top-level fields the Codex backend accepts (what the Codex CLI itself sends).
/// An allowlist: the backend answers 400 to anything else (`temperature`, `max_output_tokens`, ..).
pub(crate) const CODEX_FIELDS: [&str; 14] = [
    "model",
    "instructions",
    "input",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "store",
    "stream",
    "include",
    "text",
    "prompt_cache_key",
    "client_metadata",
    "service_tier",
];

/// What makes reasoning survive without stored items (the backend keeps none: `store: false`).
pub(crate) const ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// Rewrites a Responses request so the Codex backend accepts it, changing only what it refuses:
/// `store: false`, `stream: true`, a string `instructions` (`""` if absent), `input` as a list,
/// role `system` as `developer`, only the fields it accepts, encrypted reasoning included, and
/// tool names over 64 characters shortened. Item ids and `encrypted_content` pass intact.
///
/// ```
/// use byok_translate::responses_for_codex;
/// use serde_json::json;
///
/// let body = json!({"model": "gpt-5", "input": "hi", "temperature": 0.2, "max_output_tokens": 50});
/// let body = responses_for_codex(body).unwrap().body;
/// assert_eq!(body, json!({
///     "model": "gpt-5",
///     "instructions": "",
///     "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
///     "store": false,
///     "stream": true,
///     "include": ["reasoning.encrypted_content"],
/// }));
/// ```
pub fn responses_for_codex(body: Value) -> Result<TranslatedRequest, TranslateError> {
    let Value::Object(mut body) = body else {
        return Err(TranslateError::NotAnObject);
    };
    if body
        .get("previous_response_id")
        .is_some_and(|id| !id.is_null())
    {
        return Err(TranslateError::unsupported(
            "previous_response_id",
            "`previous_response_id` is not supported: the Codex backend stores no responses; send the whole conversation in `input`",
        ));
    }
    let mut tool_names = ToolNameMap::default();
    let input = input_items(body.remove("input"))?;
    body.insert("input".into(), input);
    match body.get("instructions") {
        None | Some(Value::Null) => drop(body.insert("instructions".into(), "".into())),
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(TranslateError::invalid_type(
                "instructions",
                "a string",
                other,
            ));
        }
    }
    if let Some(tools) = body.get("tools").filter(|t| !t.is_null() && !t.is_array()) {
        return Err(TranslateError::invalid_type(
            "tools",
            "an array of tools",
            tools,
        ));
    }
    shorten_tool_names(&mut body, &mut tool_names);
    let mut include: Vec<Value> = match body.remove("include") {
        Some(Value::Array(include)) => include,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(TranslateError::invalid_type(
                "include",
                "an array of strings",
                &other,
            ));
        }
    };
    if !include.iter().any(|entry| entry == ENCRYPTED_REASONING) {
        include.push(ENCRYPTED_REASONING.into());
    }
    body.insert("include".into(), include.into());
    body.insert("store".into(), false.into());
    body.insert("stream".into(), true.into());
    let mut notes = Vec::new();
    if let Some(tier) = body.remove("service_tier") {
        codex_service_tier(&tier, &mut body, &mut notes);
    }
    body.retain(|key, _| CODEX_FIELDS.contains(&key.as_str()));
    Ok(TranslatedRequest {
        body: Value::Object(body),
        tool_names,
        notes,
    })
}

/// Shortens the tool names of a Responses body that are too long, everywhere they appear:
/// tools, tool calls in `input`, and the tool choice.
pub(crate) fn shorten_tool_names(body: &mut Map<String, Value>, tool_names: &mut ToolNameMap) {
    if let Some(Value::Array(input)) = body.get_mut("input") {
        for item in input {
            rename_tool(item, tool_names);
        }
    }
    if let Some(Value::Array(tools)) = body.get_mut("tools") {
        for tool in tools {
            rename_tool(tool, tool_names);
        }
    }
    if let Some(choice @ Value::Object(_)) = body.get_mut("tool_choice") {
        rename_tool(choice, tool_names);
        if let Some(Value::Array(tools)) = choice.get_mut("tools") {
            for tool in tools {
                rename_tool(tool, tool_names);
            }
        }
    }
}

/// The one service tier the Codex backend offers is `priority`; the official client sends it
/// for its "fast" mode, so a client's `priority` or `fast` becomes `priority`. Any other tier
/// (`auto`, `default`, `flex`, `scale`) is refused by the backend: it is dropped, with a note
/// that says so, and the request runs at the account's normal tier.
pub(crate) fn codex_service_tier(
    tier: &Value,
    body: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) {
    match tier.as_str() {
        Some("priority" | "fast") => drop(body.insert("service_tier".into(), "priority".into())),
        None if tier.is_null() => {}
        _ => notes.push(format!(
            "service_tier {tier} is not offered by the Codex backend (only `priority`, also as `fast`); dropped"
        )),
    }
}

/// `input` as the list of items the backend wants.
fn input_items(input: Option<Value>) -> Result<Value, TranslateError> {
    // Without `input` the prompt would be lost (an empty conversation sent instead).
    match input {
        None => Err(TranslateError::Missing {
            param: "input".into(),
        }),
        Some(Value::String(text)) => {
            Ok(json!([{"role": "user", "content": [{"type": "input_text", "text": text}]}]))
        }
        Some(Value::Array(mut items)) => {
            for (at, item) in items.iter_mut().enumerate() {
                let Value::Object(item) = item else {
                    return Err(TranslateError::invalid(
                        format!("input[{at}]"),
                        "expected an object",
                    ));
                };
                if item.get("type").and_then(Value::as_str) == Some("item_reference") {
                    return Err(TranslateError::unsupported(
                        format!("input[{at}]"),
                        "`item_reference` items are not supported: the Codex backend stores no items; send the item itself",
                    ));
                }
                system_to_developer(item);
            }
            Ok(Value::Array(items))
        }
        Some(other) => Err(TranslateError::invalid_type(
            "input",
            "one of a string or array of input items",
            &other,
        )),
    }
}

/// The backend refuses `role: "system"` items; `developer` means the same to it.
fn system_to_developer(item: &mut Map<String, Value>) {
    if item.get("role").and_then(Value::as_str) == Some("system") {
        item.insert("role".into(), "developer".into());
    }
}

/// Shortens the `name` of a tool, tool call or named tool choice, if it is too long.
fn rename_tool(object: &mut Value, names: &mut ToolNameMap) {
    let is_tool_like = matches!(
        object.get("type").and_then(Value::as_str),
        Some("function" | "custom" | "function_call" | "custom_tool_call")
    );
    if let (true, Some(Value::String(name))) = (is_tool_like, object.get_mut("name")) {
        *name = names.shorten(name);
    }
}
