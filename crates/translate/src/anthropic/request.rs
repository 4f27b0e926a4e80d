//! Anthropic Messages request -> Responses request.

use serde_json::{Map, Value, json};

use super::signature;
use crate::codex::{ENCRYPTED_REASONING, responses_for_codex, shorten_tool_names};
use crate::error::TranslateError;
use crate::options::Preset;
use crate::tool_names::ToolNameMap;

/// What the answer to a translated Messages request needs to know of the request.
#[derive(Clone, Debug, Default)]
pub struct MessagesOptions {
    /// The model the client asked for: every answer names it (not the GPT model that answered).
    pub model: String,
    /// Whether the client asked for thinking (`thinking.type` `enabled` or `adaptive`): only
    /// then do reasoning items become `thinking` blocks, as Anthropic's API does.
    pub thinking: bool,
    /// Restores the tool names the request shortened.
    pub tool_names: ToolNameMap,
}

/// A translated Messages request: the Responses body, whether the client streams, and what
/// its answer needs.
#[derive(Clone, Debug)]
pub struct TranslatedMessages {
    /// The Responses request body.
    pub body: Value,
    /// The client's `stream` (the Codex backend streams either way).
    pub stream: bool,
    /// For [`crate::MessagesStreamTranslator`] and [`crate::response_to_message`].
    pub options: MessagesOptions,
}

/// `thinking.budget_tokens` at or above each threshold asks for that effort; below the first,
/// `low`. Claude Code's "think" asks 4,000 tokens, "think hard" 10,000, "ultrathink" 31,999:
/// they come out `medium`, `medium` and `high`.
const BUDGET_EFFORTS: [(u64, &str); 2] = [(4_000, "medium"), (16_000, "high")];

/// Translates an Anthropic Messages request body into a Responses request body for `preset`,
/// asking `model` (the upstream model the client's model maps to, see
/// [`crate::ClaudeModels`]). An alias such as `gpt-5.5-high` stays in `model`: resolve it
/// with [`crate::resolve_responses_alias`] afterwards, which keeps the client's own effort.
///
/// ```
/// use byok_translate::{Preset, messages_to_responses};
/// use serde_json::json;
///
/// let request = json!({
///     "model": "claude-sonnet-4-5", "max_tokens": 1024, "temperature": 0.5,
///     "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
///     "messages": [{"role": "user", "content": "Hi"}],
/// });
/// let translated = messages_to_responses(&request, "gpt-5.5-high", Preset::Codex).unwrap();
/// let mut body = translated.body;
/// byok_translate::resolve_responses_alias(&mut body, byok_translate::bundled_models()).unwrap();
/// assert_eq!(body["model"], "gpt-5.5");
/// assert_eq!(body["reasoning"]["effort"], "high");
/// assert_eq!(body["instructions"], "Be brief.");
/// assert_eq!(body["input"][0]["content"][0], json!({"type": "input_text", "text": "Hi"}));
/// assert!(body.get("max_output_tokens").is_none() && body.get("temperature").is_none());
/// assert_eq!(translated.options.model, "claude-sonnet-4-5");
/// ```
pub fn messages_to_responses(
    request: &Value,
    model: &str,
    preset: Preset,
) -> Result<TranslatedMessages, TranslateError> {
    let root = request;
    let request = request.as_object().ok_or(TranslateError::NotAnObject)?;
    let requested = request
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::Missing {
            param: "model".into(),
        })?;
    refuse_stop_sequences(request)?;
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| TranslateError::Missing {
            param: "messages".into(),
        })?;

    let mut instructions = Vec::new();
    if let Some(system) = request.get("system").filter(|s| !s.is_null()) {
        instructions.push(text_of(system, "system")?);
    }
    let mut input = Vec::with_capacity(messages.len());
    for (at, message) in messages.iter().enumerate() {
        convert_message(
            message,
            &format!("messages[{at}]"),
            &mut instructions,
            &mut input,
        )?;
    }

    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("instructions".into(), instructions.join("\n\n").into());
    body.insert("input".into(), input.into());
    if let Some(tools) = request.get("tools").and_then(Value::as_array) {
        let tools: Vec<Value> = tools
            .iter()
            .enumerate()
            .map(|(at, tool)| convert_tool(tool, &format!("tools[{at}]")))
            .collect::<Result<_, _>>()?;
        if !tools.is_empty() {
            body.insert("tools".into(), tools.into());
        }
    }
    if let Some(choice) = request.get("tool_choice").filter(|c| !c.is_null()) {
        let (choice, parallel) = convert_tool_choice(choice)?;
        body.insert("tool_choice".into(), choice);
        if let Some(parallel) = parallel {
            body.insert("parallel_tool_calls".into(), parallel.into());
        }
    }
    if body.contains_key("tools") {
        body.entry("parallel_tool_calls").or_insert(true.into());
    }
    if let Some(format) = root
        .pointer("/output_config/format")
        .filter(|f| !f.is_null())
    {
        body.insert("text".into(), json!({"format": convert_format(format)?}));
    }

    let thinking = thinking_shown(root)?;
    let effort = client_effort(root)?;
    let mut reasoning = Map::new();
    if let Some(effort) = effort {
        reasoning.insert("effort".into(), effort.into());
    }
    if thinking {
        reasoning.insert("summary".into(), "auto".into());
    }
    if !reasoning.is_empty() {
        body.insert("reasoning".into(), reasoning.into());
    }
    let stream = request
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let (body, tool_names) = finish_for(preset, request, body, stream)?;
    Ok(TranslatedMessages {
        body,
        stream,
        options: MessagesOptions {
            model: requested.to_owned(),
            thinking,
            tool_names,
        },
    })
}

/// The body made acceptable to `preset`'s upstream, and the tool names it shortened.
fn finish_for(
    preset: Preset,
    request: &Map<String, Value>,
    mut body: Map<String, Value>,
    stream: bool,
) -> Result<(Value, ToolNameMap), TranslateError> {
    Ok(match preset {
        Preset::Codex => {
            let translated = responses_for_codex(Value::Object(body))?;
            (translated.body, translated.tool_names)
        }
        Preset::OpenAi => {
            for key in ["temperature", "top_p"] {
                if let Some(value) = request.get(key).filter(|v| !v.is_null()) {
                    body.insert(key.into(), value.clone());
                }
            }
            if let Some(limit) = request.get("max_tokens").filter(|v| !v.is_null()) {
                body.insert("max_output_tokens".into(), limit.clone());
            }
            // Anthropic's `metadata.user_id` is the OpenAI API's `safety_identifier`: an
            // opaque id of the end user, for abuse detection.
            if let Some(user) = request
                .get("metadata")
                .and_then(|m| m.get("user_id"))
                .and_then(Value::as_str)
            {
                body.insert("safety_identifier".into(), user.into());
            }
            // Nothing is kept upstream: the conversation comes whole every turn, reasoning
            // travels in the thinking blocks' signatures.
            body.insert("store".into(), false.into());
            body.insert("stream".into(), stream.into());
            if body.contains_key("reasoning") {
                body.insert("include".into(), json!([ENCRYPTED_REASONING]));
            }
            let mut names = ToolNameMap::default();
            shorten_tool_names(&mut body, &mut names);
            (Value::Object(body), names)
        }
    })
}

/// The Responses API has no stop sequences: refusing beats ignoring them.
fn refuse_stop_sequences(request: &Map<String, Value>) -> Result<(), TranslateError> {
    let given = request
        .get("stop_sequences")
        .and_then(Value::as_array)
        .is_some_and(|stops| !stops.is_empty());
    if given {
        return Err(TranslateError::unsupported(
            "stop_sequences",
            "`stop_sequences` is not supported: GPT models behind this endpoint cannot stop on a sequence; remove it and cut the answer client-side",
        ));
    }
    Ok(())
}

/// `thinking: {type: enabled | adaptive | disabled}`; absent means disabled.
fn thinking_shown(request: &Value) -> Result<bool, TranslateError> {
    match request.pointer("/thinking/type").and_then(Value::as_str) {
        None | Some("disabled") => Ok(false),
        Some("enabled" | "adaptive") => Ok(true),
        Some(other) => Err(TranslateError::invalid(
            "thinking.type",
            format!("unknown type `{other}`; expected `enabled`, `adaptive` or `disabled`"),
        )),
    }
}

/// The effort the client asked for: `output_config.effort` first, else by `budget_tokens`.
fn client_effort(request: &Value) -> Result<Option<&'static str>, TranslateError> {
    if let Some(effort) = request
        .pointer("/output_config/effort")
        .filter(|e| !e.is_null())
    {
        return match effort.as_str() {
            Some("low") => Ok(Some("low")),
            Some("medium") => Ok(Some("medium")),
            Some("high") => Ok(Some("high")),
            Some("max") => Ok(Some("xhigh")),
            _ => Err(TranslateError::invalid(
                "output_config.effort",
                "expected `low`, `medium`, `high` or `max`",
            )),
        };
    }
    if request.pointer("/thinking/type").and_then(Value::as_str) != Some("enabled") {
        return Ok(None);
    }
    let Some(budget) = request
        .pointer("/thinking/budget_tokens")
        .and_then(Value::as_u64)
    else {
        return Ok(None);
    };
    let effort = BUDGET_EFFORTS
        .iter()
        .rev()
        .find(|(threshold, _)| budget >= *threshold)
        .map_or("low", |(_, effort)| effort);
    Ok(Some(effort))
}

/// One message, as input items (a system message adds to `instructions` instead).
fn convert_message(
    message: &Value,
    param: &str,
    instructions: &mut Vec<String>,
    input: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let role =
        message
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::Missing {
                param: format!("{param}.role"),
            })?;
    let content = message.get("content").unwrap_or(&Value::Null);
    let content_param = format!("{param}.content");
    match role {
        // Claude Code sends system messages between the others: they are instructions.
        "system" => {
            instructions.push(text_of(content, &content_param)?);
            Ok(())
        }
        "user" | "assistant" => {
            let blocks = match content {
                Value::String(text) => vec![json!({"type": "text", "text": text})],
                Value::Array(blocks) => blocks.clone(),
                _ => {
                    return Err(TranslateError::invalid(
                        content_param,
                        "expected a string or an array of content blocks",
                    ));
                }
            };
            let mut items = Items::new(role, input);
            for (at, block) in blocks.iter().enumerate() {
                items.block(block, &format!("{content_param}[{at}]"))?;
            }
            items.flush();
            Ok(())
        }
        other => Err(TranslateError::invalid(
            format!("{param}.role"),
            format!("unknown role `{other}`; expected `user` or `assistant`"),
        )),
    }
}

/// Gathers a message's blocks into input items, keeping their order: text and images become
/// parts of a message item, which every tool call, tool result or reasoning item ends.
struct Items<'a> {
    role: &'a str,
    input: &'a mut Vec<Value>,
    parts: Vec<Value>,
}

impl<'a> Items<'a> {
    fn new(role: &'a str, input: &'a mut Vec<Value>) -> Self {
        Self {
            role,
            input,
            parts: Vec::new(),
        }
    }

    fn push_item(&mut self, item: Value) {
        self.flush();
        self.input.push(item);
    }

    fn flush(&mut self) {
        if !self.parts.is_empty() {
            let parts = std::mem::take(&mut self.parts);
            self.input
                .push(json!({"type": "message", "role": self.role, "content": parts}));
        }
    }

    fn block(&mut self, block: &Value, param: &str) -> Result<(), TranslateError> {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
        let assistant = self.role == "assistant";
        match (kind, assistant) {
            ("text", _) => {
                let text = str_field(block, "text", param)?;
                let kind = if assistant {
                    "output_text"
                } else {
                    "input_text"
                };
                self.parts.push(json!({"type": kind, "text": text}));
            }
            ("image", false) => self.parts.push(image(block, param)?),
            ("document", false) => self.parts.push(document(block, param)?),
            ("search_result", false) => self
                .parts
                .push(json!({"type": "input_text", "text": search_result_text(block)})),
            ("tool_result", false) => {
                let item = tool_result(block, param)?;
                self.push_item(item);
            }
            ("tool_use", true) => {
                let id = str_field(block, "id", param)?;
                let name = str_field(block, "name", param)?;
                let arguments = block
                    .get("input")
                    .map_or_else(|| "{}".to_owned(), Value::to_string);
                self.push_item(json!({"type": "function_call", "call_id": id, "name": name,
                    "arguments": arguments}));
            }
            ("thinking", true) => {
                let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                let signature = block.get("signature").and_then(Value::as_str).unwrap_or("");
                if let Some(item) = signature::decode(signature, text) {
                    self.push_item(item);
                }
            }
            ("redacted_thinking", true) => {
                let data = block.get("data").and_then(Value::as_str).unwrap_or("");
                if let Some(item) = signature::decode(data, "") {
                    self.push_item(item);
                }
            }
            // Server tools ran upstream; their results are already in the answer's text.
            ("server_tool_use" | "web_search_tool_result", true) => {}
            _ => {
                let role = self.role;
                return Err(TranslateError::invalid(
                    format!("{param}.type"),
                    format!("a `{kind}` block is not supported in a `{role}` message"),
                ));
            }
        }
        Ok(())
    }
}

fn str_field<'v>(block: &'v Value, key: &str, param: &str) -> Result<&'v str, TranslateError> {
    block
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::Missing {
            param: format!("{param}.{key}"),
        })
}

/// An `image` block as an `input_image` part (base64 sources as data URLs).
fn image(block: &Value, param: &str) -> Result<Value, TranslateError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media = str_field(source, "media_type", &format!("{param}.source"))?;
            let data = str_field(source, "data", &format!("{param}.source"))?;
            format!("data:{media};base64,{data}")
        }
        Some("url") => str_field(source, "url", &format!("{param}.source"))?.to_owned(),
        _ => {
            return Err(TranslateError::unsupported(
                format!("{param}.source.type"),
                "only `base64` and `url` image sources are supported (Anthropic's Files API is not); send the image inline",
            ));
        }
    };
    Ok(json!({"type": "input_image", "image_url": url, "detail": "auto"}))
}

/// A `document` block: a PDF as an `input_file`, plain text as text.
fn document(block: &Value, param: &str) -> Result<Value, TranslateError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let source_param = format!("{param}.source");
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media = str_field(source, "media_type", &source_param)?;
            let data = str_field(source, "data", &source_param)?;
            let name = block
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("document.pdf");
            Ok(json!({"type": "input_file", "filename": name,
                "file_data": format!("data:{media};base64,{data}")}))
        }
        Some("text") => {
            Ok(json!({"type": "input_text", "text": str_field(source, "data", &source_param)?}))
        }
        Some("url") => {
            Ok(json!({"type": "input_file", "file_url": str_field(source, "url", &source_param)?}))
        }
        _ => Err(TranslateError::unsupported(
            format!("{source_param}.type"),
            "only `base64`, `text` and `url` document sources are supported; send the document inline",
        )),
    }
}

fn search_result_text(block: &Value) -> String {
    let field = |key| block.get(key).and_then(Value::as_str).unwrap_or("");
    let mut text = format!("{}\n{}", field("title"), field("source"));
    for part in block
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        if let Some(more) = part.get("text").and_then(Value::as_str) {
            text.push('\n');
            text.push_str(more);
        }
    }
    text
}

/// A `tool_result` block as a `function_call_output` item: a string when it holds only text,
/// else a list of parts. `is_error` has no Responses field: the output starts with `Error:`.
fn tool_result(block: &Value, param: &str) -> Result<Value, TranslateError> {
    let call_id = str_field(block, "tool_use_id", param)?;
    let is_error = block.get("is_error").and_then(Value::as_bool) == Some(true);
    let mut parts = Vec::new();
    match block.get("content").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::String(text) => parts.push(json!({"type": "input_text", "text": text})),
        Value::Array(blocks) => {
            for (at, inner) in blocks.iter().enumerate() {
                let param = format!("{param}.content[{at}]");
                match inner.get("type").and_then(Value::as_str) {
                    Some("text") => parts.push(
                        json!({"type": "input_text", "text": str_field(inner, "text", &param)?}),
                    ),
                    Some("image") => parts.push(image(inner, &param)?),
                    Some("document") => parts.push(document(inner, &param)?),
                    Some("search_result") => {
                        parts
                            .push(json!({"type": "input_text", "text": search_result_text(inner)}));
                    }
                    _ => {
                        return Err(TranslateError::invalid(
                            format!("{param}.type"),
                            "expected a `text`, `image`, `document` or `search_result` block",
                        ));
                    }
                }
            }
        }
        _ => {
            return Err(TranslateError::invalid(
                format!("{param}.content"),
                "expected a string or an array of content blocks",
            ));
        }
    }
    if is_error {
        parts.insert(0, json!({"type": "input_text", "text": "Error:"}));
    }
    let only_text = parts.iter().all(|part| part["type"] == "input_text");
    let output: Value = if only_text {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        let joiner = if is_error && texts.len() == 2 {
            " "
        } else {
            "\n"
        };
        texts.join(joiner).into()
    } else {
        parts.into()
    };
    Ok(json!({"type": "function_call_output", "call_id": call_id, "output": output}))
}

/// A client tool as a function tool; the web search server tool as the backend's own.
fn convert_tool(tool: &Value, param: &str) -> Result<Value, TranslateError> {
    let kind = tool.get("type").and_then(Value::as_str).unwrap_or("custom");
    if kind.starts_with("web_search_") {
        let mut out = json!({"type": "web_search"});
        if let Some(domains) = tool.get("allowed_domains").filter(|d| !d.is_null()) {
            out["filters"] = json!({"allowed_domains": domains});
        }
        if let Some(location) = tool.get("user_location").filter(|l| !l.is_null()) {
            out["user_location"] = location.clone();
        }
        return Ok(out);
    }
    if kind != "custom" {
        return Err(TranslateError::unsupported(
            format!("{param}.type"),
            format!(
                "the Anthropic-defined tool `{kind}` is not supported by GPT models; declare it as a client tool with an `input_schema`"
            ),
        ));
    }
    let name = str_field(tool, "name", param)?;
    let schema = tool
        .get("input_schema")
        .cloned()
        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    let mut out = json!({"type": "function", "name": name, "parameters": schema, "strict": false});
    if let Some(description) = tool.get("description").and_then(Value::as_str) {
        out["description"] = description.into();
    }
    Ok(out)
}

/// `tool_choice` (and its `disable_parallel_tool_use`) as `tool_choice` and
/// `parallel_tool_calls`.
fn convert_tool_choice(choice: &Value) -> Result<(Value, Option<bool>), TranslateError> {
    let parallel = choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        .map(|disable| !disable);
    let converted = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => "auto".into(),
        Some("any") => "required".into(),
        Some("none") => "none".into(),
        Some("tool") => {
            json!({"type": "function", "name": str_field(choice, "name", "tool_choice")?})
        }
        _ => {
            return Err(TranslateError::invalid(
                "tool_choice.type",
                "expected `auto`, `any`, `tool` or `none`",
            ));
        }
    };
    Ok((converted, parallel))
}

/// `output_config.format` (`{type: json_schema, schema}`) as the Responses `text.format`.
fn convert_format(format: &Value) -> Result<Value, TranslateError> {
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return Err(TranslateError::invalid(
            "output_config.format.type",
            "expected `json_schema`",
        ));
    }
    let schema = format
        .get("schema")
        .cloned()
        .ok_or_else(|| TranslateError::Missing {
            param: "output_config.format.schema".into(),
        })?;
    Ok(json!({"type": "json_schema", "name": "output", "schema": schema, "strict": true}))
}

/// The text of `system` or a system message: a string, or text blocks joined.
fn text_of(content: &Value, param: &str) -> Result<String, TranslateError> {
    match content {
        Value::String(text) => Ok(text.clone()),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .enumerate()
                .map(|(at, block)| str_field(block, "text", &format!("{param}[{at}]")))
                .collect::<Result<_, _>>()?;
            Ok(texts.join("\n\n"))
        }
        _ => Err(TranslateError::invalid(
            param,
            "expected a string or an array of text blocks",
        )),
    }
}
