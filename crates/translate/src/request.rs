//! Chat Completions request -> Responses request.

use serde_json::{Map, Value, json};

use crate::codex::{CODEX_FIELDS, ENCRYPTED_REASONING, codex_service_tier};
use crate::error::TranslateError;
use crate::messages;
use crate::options::Preset;
use crate::tool_names::ToolNameMap;

/// A translated request: the body to send, and the tool names it shortened.
#[derive(Clone, Debug)]
pub struct TranslatedRequest {
    /// The Responses request body.
    pub body: Value,
    /// Restores the tool names shortened in `body` (empty when none was).
    pub tool_names: ToolNameMap,
    /// What the translation dropped or changed that a caller may want to log (this crate
    /// does no logging), e.g. a `service_tier` the Codex backend does not offer.
    pub notes: Vec<String>,
}

/// Chat fields passed on unchanged to OpenAI's Responses API (same name, same meaning).
const OPENAI_SAME: [&str; 9] = [
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "user",
    "metadata",
    "service_tier",
    "store",
    "prompt_cache_key",
    "safety_identifier",
];

/// Translates a Chat Completions request body into a Responses request body for `preset`.
///
/// Model aliases (`gpt-5.6-sol-high`) are not this function's: resolve them first with
/// [`crate::resolve_chat_alias`], which sets `reasoning_effort`.
///
/// ```
/// use byok_translate::{Preset, bundled_models, chat_to_responses, resolve_chat_alias};
/// use serde_json::json;
///
/// let mut chat = json!({
///     "model": "gpt-5.6-sol-high",
///     "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
/// });
/// resolve_chat_alias(&mut chat, bundled_models()).unwrap();
/// let body = chat_to_responses(&chat, Preset::Codex).unwrap().body;
/// assert_eq!(body["model"], "gpt-5.6-sol");
/// assert_eq!(body["reasoning"], json!({"effort": "high", "summary": "auto"}));
/// assert_eq!(body["instructions"], "Be brief.");
/// assert_eq!(body["input"][0]["content"][0], json!({"type": "input_text", "text": "Hi"}));
/// assert_eq!((body["store"].clone(), body["stream"].clone()), (json!(false), json!(true)));
/// ```
pub fn chat_to_responses(
    chat: &Value,
    preset: Preset,
) -> Result<TranslatedRequest, TranslateError> {
    let chat = chat.as_object().ok_or(TranslateError::NotAnObject)?;
    refuse_what_responses_cannot_do(chat)?;
    let model =
        chat.get("model")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::Missing {
                param: "model".into(),
            })?;
    let messages = chat
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| TranslateError::Missing {
            param: "messages".into(),
        })?;

    let mut tool_names = ToolNameMap::default();
    let mut notes = Vec::new();
    let conversation = messages::convert(messages, preset, &mut tool_names)?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    if preset == Preset::Codex {
        body.insert(
            "instructions".into(),
            conversation.instructions.join("\n\n").into(),
        );
    }
    body.insert("input".into(), conversation.input.into());
    if let Some(tools) = array_field(chat, "tools")? {
        body.insert(
            "tools".into(),
            tools
                .iter()
                .map(|tool| convert_tool(tool, &mut tool_names))
                .collect::<Result<_, _>>()?,
        );
    }
    if let Some(choice) = chat.get("tool_choice") {
        body.insert(
            "tool_choice".into(),
            convert_tool_choice(choice, &mut tool_names)?,
        );
    }
    if let Some(text) = text_options(chat)? {
        body.insert("text".into(), text);
    }
    match (reasoning_effort(chat)?, preset) {
        (Some(effort), _) => drop(body.insert(
            "reasoning".into(),
            json!({"effort": effort, "summary": "auto"}),
        )),
        // Codex models all reason; ask for the summaries that become `reasoning_content`.
        (None, Preset::Codex) => drop(body.insert("reasoning".into(), json!({"summary": "auto"}))),
        (None, Preset::OpenAi) => {}
    }
    match preset {
        Preset::OpenAi => {
            for key in OPENAI_SAME {
                if let Some(value) = chat.get(key).filter(|value| !value.is_null()) {
                    body.insert(key.into(), value.clone());
                }
            }
            // Chat Completions stores nothing unless asked; the Responses API would by default.
            body.entry("store").or_insert(false.into());
            let limit = chat
                .get("max_completion_tokens")
                .or_else(|| chat.get("max_tokens"))
                .filter(|v| !v.is_null());
            if let Some(limit) = limit {
                body.insert("max_output_tokens".into(), limit.clone());
            }
            body.insert(
                "stream".into(),
                chat.get("stream")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .into(),
            );
        }
        Preset::Codex => {
            for key in ["parallel_tool_calls", "prompt_cache_key"] {
                if let Some(value) = chat.get(key).filter(|value| !value.is_null()) {
                    body.insert(key.into(), value.clone());
                }
            }
            body.insert("store".into(), false.into());
            body.insert("stream".into(), true.into());
            body.insert("include".into(), json!([ENCRYPTED_REASONING]));
            if let Some(tier) = chat.get("service_tier") {
                codex_service_tier(tier, &mut body, &mut notes);
            }
            body.retain(|key, _| CODEX_FIELDS.contains(&key.as_str()));
        }
    }
    Ok(TranslatedRequest {
        body: Value::Object(body),
        tool_names,
        notes,
    })
}

/// The client's `reasoning_effort`, if it set one; not a string is refused, not dropped.
fn reasoning_effort(chat: &Map<String, Value>) -> Result<Option<&str>, TranslateError> {
    match chat.get("reasoning_effort").unwrap_or(&Value::Null) {
        Value::Null => Ok(None),
        Value::String(effort) => Ok(Some(effort)),
        other => Err(TranslateError::invalid_type(
            "reasoning_effort",
            "a string",
            other,
        )),
    }
}

/// The list `key` holds, if it is there and not null; another type is refused, not dropped.
fn array_field<'a>(
    chat: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Vec<Value>>, TranslateError> {
    match chat.get(key).unwrap_or(&Value::Null) {
        Value::Null => Ok(None),
        Value::Array(items) => Ok(Some(items)),
        other => Err(TranslateError::invalid_type(
            key,
            "an array of objects",
            other,
        )),
    }
}

/// `n` > 1 and `stop` have no Responses equivalent: refusing beats silently ignoring them.
fn refuse_what_responses_cannot_do(chat: &Map<String, Value>) -> Result<(), TranslateError> {
    if chat.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(TranslateError::unsupported(
            "n",
            "`n` > 1 is not supported by the Responses API behind this endpoint; send one request per choice",
        ));
    }
    let stop = chat.get("stop").unwrap_or(&Value::Null);
    let has_stop = match stop {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => true,
    };
    if has_stop {
        return Err(TranslateError::unsupported(
            "stop",
            "`stop` is not supported by the Responses API behind this endpoint; remove it and cut the answer client-side",
        ));
    }
    Ok(())
}

/// A Chat tool (`{type, function: {..}}`) as a Responses tool (`{type, name, ..}`).
fn convert_tool(tool: &Value, names: &mut ToolNameMap) -> Result<Value, TranslateError> {
    let kind = tool
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("function");
    let Some(spec) = tool.get(kind).and_then(Value::as_object) else {
        return Ok(tool.clone()); // already in the Responses shape (or a built-in tool)
    };
    let mut out = Map::new();
    out.insert("type".into(), kind.into());
    for (key, value) in spec {
        let value = match (key.as_str(), value.as_str()) {
            ("name", Some(name)) => names.shorten(name).into(),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    if !out.contains_key("name") {
        return Err(TranslateError::Missing {
            param: format!("tools[].{kind}.name"),
        });
    }
    Ok(Value::Object(out))
}

/// `tool_choice` in all its Chat forms.
fn convert_tool_choice(choice: &Value, names: &mut ToolNameMap) -> Result<Value, TranslateError> {
    let by_name = |tool: &Value, map: &mut ToolNameMap| -> Option<Value> {
        let kind = tool
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function");
        let name = tool
            .get(kind)
            .and_then(|spec| spec.get("name"))
            .or_else(|| tool.get("name"))?
            .as_str()?;
        Some(json!({"type": kind, "name": map.shorten(name)}))
    };
    match choice {
        Value::String(_) | Value::Null => Ok(choice.clone()),
        Value::Object(object)
            if object.get("type").and_then(Value::as_str) == Some("allowed_tools") =>
        {
            let allowed = object.get("allowed_tools").unwrap_or(choice);
            let tools = allowed
                .get("tools")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let tools: Vec<Value> = tools
                .iter()
                .filter_map(|tool| by_name(tool, names))
                .collect();
            let mode = allowed
                .get("mode")
                .cloned()
                .unwrap_or_else(|| "auto".into());
            Ok(json!({"type": "allowed_tools", "mode": mode, "tools": tools}))
        }
        Value::Object(_) => by_name(choice, names).ok_or_else(|| {
            TranslateError::invalid(
                "tool_choice",
                "expected `auto`, `none`, `required` or a named tool",
            )
        }),
        _ => Err(TranslateError::invalid(
            "tool_choice",
            "expected a string or an object",
        )),
    }
}

/// `response_format` and `verbosity` -> `text: {format, verbosity}`.
fn text_options(chat: &Map<String, Value>) -> Result<Option<Value>, TranslateError> {
    let mut text = Map::new();
    if let Some(format) = chat.get("response_format").filter(|v| !v.is_null()) {
        let kind = format.get("type").and_then(Value::as_str);
        let converted = match kind {
            Some("text" | "json_object") => json!({"type": kind}),
            Some("json_schema") => {
                let schema = format.get("json_schema").and_then(Value::as_object);
                let schema = schema.ok_or_else(|| TranslateError::Missing {
                    param: "response_format.json_schema".into(),
                })?;
                let mut out = Map::new();
                out.insert("type".into(), "json_schema".into());
                for key in ["name", "description", "schema", "strict"] {
                    if let Some(value) = schema.get(key) {
                        out.insert(key.into(), value.clone());
                    }
                }
                Value::Object(out)
            }
            _ => {
                return Err(TranslateError::invalid(
                    "response_format.type",
                    "expected `text`, `json_object` or `json_schema`",
                ));
            }
        };
        text.insert("format".into(), converted);
    }
    if let Some(verbosity) = chat.get("verbosity").filter(|v| !v.is_null()) {
        text.insert("verbosity".into(), verbosity.clone());
    }
    Ok((!text.is_empty()).then_some(Value::Object(text)))
}
