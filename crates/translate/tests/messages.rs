//! The Anthropic Messages translation: the recorded Codex streams as an Anthropic client sees
//! them (golden), at every byte split, and requests as the Codex backend gets them.

mod common;

use byok_translate::{
    ClaudeModels, MessagesOptions, MessagesStreamTranslator, Preset, ResponseCollector,
    StreamState, ToolNameMap, bundled_models, estimate_input_tokens, messages_to_responses,
    resolve_responses_alias, response_to_message,
};
use common::{FIXTURES, Recorded, completed, done_items, fixture, recorded, run};
use serde_json::{Value, json};

fn options(thinking: bool) -> MessagesOptions {
    MessagesOptions {
        model: "claude-sonnet-4-5-20250929".into(),
        thinking,
        tool_names: ToolNameMap::default(),
    }
}

fn to_messages(options: MessagesOptions, chunks: &[&[u8]]) -> (Vec<u8>, StreamState) {
    run(
        &mut MessagesStreamTranslator::new(options),
        chunks.iter().copied(),
    )
}

/// A Messages stream as the Anthropic SDKs assemble it, checking the protocol on the way:
/// `event:` names match the data's `type`, blocks open and close in order, one at a time.
#[derive(Debug, Default)]
struct Assembled {
    names: Vec<String>,
    message: Value,
    blocks: Vec<Value>,
    stop_reason: Option<String>,
    usage: Value,
    errors: Vec<Value>,
}

fn assemble(sse: &[u8]) -> Assembled {
    let text = std::str::from_utf8(sse).expect("UTF-8");
    let mut view = Assembled::default();
    let mut open: Option<usize> = None;
    let mut partial_json = String::new();
    for event in text.split_terminator("\n\n") {
        let (name_line, data_line) = event.split_once('\n').expect("event and data lines");
        let name = name_line.strip_prefix("event: ").expect("an event: line");
        let data: Value =
            serde_json::from_str(data_line.strip_prefix("data: ").expect("data")).unwrap();
        assert_eq!(data["type"], name, "the event name is the data's type");
        view.names.push(name.to_owned());
        match name {
            "message_start" => view.message = data["message"].clone(),
            "content_block_start" => {
                assert_eq!(open, None, "one block at a time");
                let index = usize::try_from(data["index"].as_u64().unwrap()).unwrap();
                assert_eq!(index, view.blocks.len(), "blocks numbered from 0 in order");
                view.blocks.push(data["content_block"].clone());
                open = Some(index);
                partial_json.clear();
            }
            "content_block_delta" => {
                let index = usize::try_from(data["index"].as_u64().unwrap()).unwrap();
                assert_eq!(open, Some(index), "deltas go to the open block");
                let block = &mut view.blocks[index];
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        let text = block["text"].as_str().unwrap().to_owned();
                        block["text"] = (text + delta["text"].as_str().unwrap()).into();
                    }
                    "thinking_delta" => {
                        let text = block["thinking"].as_str().unwrap().to_owned();
                        block["thinking"] = (text + delta["thinking"].as_str().unwrap()).into();
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => partial_json += delta["partial_json"].as_str().unwrap(),
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                let index = usize::try_from(data["index"].as_u64().unwrap()).unwrap();
                assert_eq!(open, Some(index), "the open block stops");
                if view.blocks[index]["type"] == "tool_use" {
                    view.blocks[index]["input"] = if partial_json.is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&partial_json).expect("whole JSON input")
                    };
                }
                open = None;
            }
            "message_delta" => {
                assert_eq!(open, None, "every block stopped before message_delta");
                view.stop_reason = data["delta"]["stop_reason"].as_str().map(str::to_owned);
                view.usage = data["usage"].clone();
            }
            "error" => view.errors.push(data["error"].clone()),
            "ping" | "message_stop" => {}
            other => panic!("unknown event {other}"),
        }
    }
    view
}

impl Assembled {
    fn answer(&self) -> Recorded {
        let mut answer = Recorded::default();
        for block in &self.blocks {
            match block["type"].as_str().unwrap() {
                "text" => answer.content += block["text"].as_str().unwrap(),
                "thinking" => {
                    if !answer.reasoning.is_empty() {
                        answer.reasoning += "\n\n";
                    }
                    answer.reasoning += block["thinking"].as_str().unwrap();
                }
                "tool_use" => answer.tool_calls.push((
                    block["id"].as_str().unwrap().to_owned(),
                    block["name"].as_str().unwrap().to_owned(),
                    block["input"].to_string(),
                )),
                other => panic!("unknown block {other}"),
            }
        }
        answer
    }
}

/// The recorded answer with tool arguments normalised as JSON (the client sees parsed input).
fn normalised(mut answer: Recorded) -> Recorded {
    for call in &mut answer.tool_calls {
        call.2 = serde_json::from_str::<Value>(&call.2).unwrap().to_string();
    }
    answer
}

#[test]
fn every_fixture_streams_the_recorded_answer_usage_and_stop_reason() {
    for name in FIXTURES {
        let stream = fixture(name);
        let (out, state) = to_messages(options(true), &[&stream]);
        assert_eq!(state, StreamState::Completed, "{name}");
        let view = assemble(&out);
        assert_eq!(
            view.answer(),
            normalised(recorded(&done_items(&stream))),
            "{name}: against output_item.done"
        );
        assert_eq!(
            &view.names[..2],
            ["message_start", "ping"],
            "{name}: the stream opens as Anthropic's do"
        );
        assert_eq!(view.names.last().unwrap(), "message_stop", "{name}");
        assert!(view.errors.is_empty(), "{name}");
        let response = completed(&stream);
        let id = response["id"].as_str().unwrap().trim_start_matches("resp_");
        assert_eq!(view.message["id"], format!("msg_{id}"), "{name}");
        assert_eq!(
            view.message["model"], "claude-sonnet-4-5-20250929",
            "{name}: the requested model"
        );
        let usage = &response["usage"];
        let cached = usage["input_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap();
        assert_eq!(
            view.usage,
            json!({
                "input_tokens": usage["input_tokens"].as_u64().unwrap() - cached,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cached,
                "output_tokens": usage["output_tokens"],
            }),
            "{name}"
        );
        let tools = !view.answer().tool_calls.is_empty();
        let expected = if tools { "tool_use" } else { "end_turn" };
        assert_eq!(view.stop_reason.as_deref(), Some(expected), "{name}");
    }
}

#[test]
fn the_tools_stream_gives_two_tool_use_blocks_after_the_thinking() {
    for name in ["tools", "tools-empty-output"] {
        let view = assemble(&to_messages(options(true), &[&fixture(name)]).0);
        let kinds: Vec<&str> = view
            .blocks
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["thinking", "tool_use", "tool_use"], "{name}");
        let names: Vec<&str> = view.blocks[1..]
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["get_weather", "calculate_distance"]);
        assert!(view.blocks[1]["input"].is_object());
    }
}

#[test]
fn without_thinking_asked_reasoning_stays_out() {
    for name in FIXTURES {
        let view = assemble(&to_messages(options(false), &[&fixture(name)]).0);
        assert!(
            view.blocks.iter().all(|b| b["type"] != "thinking"),
            "{name}"
        );
        assert_eq!(view.answer().reasoning, "", "{name}");
    }
}

/// Feeds a recording in two pieces split at every byte boundary in turn.
fn assert_every_split_invariant(name: &str) {
    let stream = fixture(name);
    let whole = to_messages(options(true), &[&stream]).0;
    assert!(assemble(&whole).errors.is_empty());
    for at in 0..=stream.len() {
        let split = to_messages(options(true), &[&stream[..at], &stream[at..]]).0;
        assert!(
            split == whole,
            "{name}: split at byte {at} changed the output"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert!(
        to_messages(options(true), &bytes).0 == whole,
        "{name}: byte by byte"
    );
}

#[test]
fn text_splits_at_every_byte() {
    assert_every_split_invariant("text");
}

#[test]
fn tools_splits_at_every_byte() {
    assert_every_split_invariant("tools");
}

#[test]
fn reasoning_splits_at_every_byte() {
    assert_every_split_invariant("reasoning");
}

#[test]
fn text_empty_output_splits_at_every_byte() {
    assert_every_split_invariant("text-empty-output");
}

#[test]
fn tools_empty_output_splits_at_every_byte() {
    assert_every_split_invariant("tools-empty-output");
}

#[test]
fn structured_splits_at_every_byte() {
    assert_every_split_invariant("structured");
}

/// A short stream as the 2026 backend sends it: a reasoning item carrying encrypted content,
/// then a function call whose arguments come whole, then `completed` with an empty output.
const ENCRYPTED: &str = concat!(
    "event: response.created\n",
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-5.5\"}}\n\n",
    "event: response.output_item.added\n",
    "data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_9\",\"type\":\"reasoning\",\"summary\":[]}}\n\n",
    "event: response.reasoning_summary_text.delta\n",
    "data: {\"type\":\"response.reasoning_summary_text.delta\",\"output_index\":0,\"summary_index\":0,\"delta\":\"Reading the file\"}\n\n",
    "event: response.output_item.done\n",
    "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"rs_9\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"Reading the file\"}],\"encrypted_content\":\"gAAAAB-secret_state=\"}}\n\n",
    "event: response.output_item.done\n",
    "data: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"id\":\"fc_9\",\"type\":\"function_call\",\"call_id\":\"call_9\",\"name\":\"Read\",\"arguments\":\"{\\\"file_path\\\":\\\"/tmp/a\\\"}\"}}\n\n",
    "event: response.completed\n",
    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_9\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":100,\"output_tokens\":20}}}\n\n",
);

#[test]
fn a_thinking_block_sent_back_is_the_same_reasoning_item_upstream() {
    let view = assemble(&to_messages(options(true), &[ENCRYPTED.as_bytes()]).0);
    assert_eq!(view.blocks[0]["type"], "thinking");
    assert_eq!(view.blocks[0]["thinking"], "Reading the file");
    assert_eq!(
        view.blocks[1],
        json!({"type": "tool_use", "id": "call_9", "name": "Read", "input": {"file_path": "/tmp/a"}})
    );
    assert_eq!(view.stop_reason.as_deref(), Some("tool_use"));
    // The next turn, as Claude Code sends it: the assistant's blocks back, then the result.
    let next = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 10000},
        "messages": [
            {"role": "user", "content": "Read /tmp/a"},
            {"role": "assistant", "content": view.blocks},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_9", "content": "hello"}]},
        ],
    });
    let body = messages_to_responses(&next, "gpt-5.5", Preset::Codex)
        .unwrap()
        .body;
    let input = body["input"].as_array().unwrap();
    assert_eq!(
        input[1],
        json!({"type": "reasoning", "id": "rs_9", "encrypted_content": "gAAAAB-secret_state=",
            "summary": [{"type": "summary_text", "text": "Reading the file"}]})
    );
    assert_eq!(input[2]["type"], "function_call");
    assert_eq!(input[2]["call_id"], "call_9");
    assert_eq!(input[2]["arguments"], r#"{"file_path":"/tmp/a"}"#);
    assert_eq!(
        input[3],
        json!({"type": "function_call_output", "call_id": "call_9", "output": "hello"})
    );
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
}

#[test]
fn the_collected_answer_is_the_streamed_one() {
    let mut collector = ResponseCollector::new();
    collector.feed(ENCRYPTED.as_bytes());
    let message = response_to_message(&collector.finish().unwrap(), &options(true));
    let streamed = assemble(&to_messages(options(true), &[ENCRYPTED.as_bytes()]).0);
    assert_eq!(message["content"], Value::Array(streamed.blocks));
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["usage"], streamed.usage);
    assert_eq!(message["id"], "msg_9");
    assert_eq!(message["model"], "claude-sonnet-4-5-20250929");
    for name in FIXTURES {
        let stream = fixture(name);
        let mut collector = ResponseCollector::new();
        collector.feed(&stream);
        let message = response_to_message(&collector.finish().unwrap(), &options(true));
        let streamed = assemble(&to_messages(options(true), &[&stream]).0);
        assert_eq!(message["content"], Value::Array(streamed.blocks), "{name}");
    }
}

#[test]
fn failures_and_cut_offs_end_with_an_anthropic_error_event() {
    let failed = concat!(
        "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
        "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hel\"}\n\n",
        "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_1\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\"}}}\n\n",
    );
    let (out, state) = to_messages(options(false), &[failed.as_bytes()]);
    let view = assemble(&out);
    assert_eq!(
        view.errors,
        [json!({"type": "rate_limit_error", "message": "Slow down"})]
    );
    assert_eq!(view.names.last().unwrap(), "error");
    assert!(matches!(state, StreamState::Failed { .. }));

    let stream = fixture("text");
    let cut = &stream[..stream.len() / 2];
    let (out, state) = to_messages(options(false), &[cut]);
    let view = assemble(&out);
    assert_eq!(view.errors.len(), 1);
    assert_eq!(view.errors[0]["type"], "api_error");
    assert!(
        view.errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("retry")
    );
    assert!(matches!(state, StreamState::Cut { .. }), "{state:?}");
}

#[test]
fn an_incomplete_answer_stops_for_max_tokens() {
    let stream = concat!(
        "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hel\"}\n\n",
        "data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_1\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n",
    );
    let (out, state) = to_messages(options(false), &[stream.as_bytes()]);
    let view = assemble(&out);
    assert_eq!(view.stop_reason.as_deref(), Some("max_tokens"));
    assert_eq!(
        state,
        StreamState::Incomplete {
            reason: "max_output_tokens".into()
        }
    );
    assert_eq!(view.answer().content, "Hel");
}

#[test]
fn long_tool_names_are_shortened_upstream_and_restored_in_the_stream() {
    let long = format!("mcp__{}__search", "a".repeat(70));
    let request = json!({"model": "claude-opus-4-1", "max_tokens": 100,
        "messages": [{"role": "user", "content": "find"}],
        "tools": [{"name": long, "description": "Search", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": long, "disable_parallel_tool_use": true}});
    for preset in [Preset::Codex, Preset::OpenAi] {
        let translated = messages_to_responses(&request, "gpt-5.5", preset).unwrap();
        let sent = translated.body["tools"][0]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(sent.len() <= 64);
        assert_eq!(
            translated.body["tool_choice"],
            json!({"type": "function", "name": sent})
        );
        assert_eq!(translated.body["parallel_tool_calls"], false);
        let stream = format!(
            "data: {{\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"{sent}\",\"arguments\":\"{{}}\"}}}}\n\ndata: {{\"type\":\"response.completed\",\"response\":{{\"id\":\"resp_1\"}}}}\n\n"
        );
        let view = assemble(&to_messages(translated.options, &[stream.as_bytes()]).0);
        assert_eq!(view.blocks[0]["name"], long.as_str());
    }
}

#[test]
fn a_claude_code_request_becomes_what_the_codex_backend_accepts() {
    let request = json!({
        "model": "claude-sonnet-4-5-20250929", "max_tokens": 32000, "stream": true,
        "temperature": 1, "top_k": 5, "metadata": {"user_id": "user_abc"},
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            ]},
            {"role": "system", "content": "The user is in a hurry."},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Claude thought", "signature": "EqQBCkYIBxgCKkB"},
                {"type": "text", "text": "A cat."},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": [{"type": "text", "text": "No such file"}]},
                {"type": "text", "text": "Try again"},
            ]},
        ],
        "tools": [{"name": "Read", "description": "Reads a file", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
                  {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
        "tool_choice": {"type": "any"},
        "output_config": {"effort": "max"},
    });
    let mut translated = messages_to_responses(&request, "gpt-5.5-low", Preset::Codex).unwrap();
    // The mapped alias resolves by the one rule; the client's `max` effort wins over `-low`.
    resolve_responses_alias(&mut translated.body, bundled_models()).unwrap();
    assert!(translated.stream && !translated.options.thinking);
    assert_eq!(
        translated.body,
        json!({
            "model": "gpt-5.5",
            "instructions": "You are Claude Code.\n\nThe user is in a hurry.",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "What is in this picture?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
                    {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
                ]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A cat."}]},
                {"type": "function_call_output", "call_id": "toolu_1", "output": "Error: No such file"},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Try again"}]},
            ],
            "tools": [
                {"type": "function", "name": "Read", "description": "Reads a file", "strict": false,
                 "parameters": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
                {"type": "web_search"},
            ],
            "tool_choice": "required",
            "parallel_tool_calls": true,
            "reasoning": {"effort": "xhigh"},
            "include": ["reasoning.encrypted_content"],
            "store": false,
            "stream": true,
        })
    );
    let openai = messages_to_responses(&request, "gpt-5.5", Preset::OpenAi)
        .unwrap()
        .body;
    assert_eq!(openai["max_output_tokens"], 32000);
    assert_eq!(openai["temperature"], 1);
    assert_eq!(openai["safety_identifier"], "user_abc");
    assert_eq!(openai["store"], false);
    assert!(openai.get("top_k").is_none());
}

#[test]
fn thinking_budgets_map_to_efforts_by_the_documented_thresholds() {
    let effort = |budget: u64| {
        let request = json!({"model": "claude-opus-4-1", "max_tokens": 64000,
            "thinking": {"type": "enabled", "budget_tokens": budget},
            "messages": [{"role": "user", "content": "hi"}]});
        messages_to_responses(&request, "gpt-5.5-high", Preset::Codex)
            .unwrap()
            .body["reasoning"]["effort"]
            .clone()
    };
    assert_eq!(effort(1024), "low");
    assert_eq!(effort(3999), "low");
    assert_eq!(effort(4000), "medium");
    assert_eq!(effort(10000), "medium");
    assert_eq!(effort(16000), "high");
    assert_eq!(effort(31999), "high");
    // No budget, no effort asked: the mapped model's suffix decides.
    let request = json!({"model": "claude-opus-4-1", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}]});
    let mut body = messages_to_responses(&request, "gpt-5.5-high", Preset::Codex)
        .unwrap()
        .body;
    resolve_responses_alias(&mut body, bundled_models()).unwrap();
    assert_eq!(body["model"], "gpt-5.5");
    assert_eq!(body["reasoning"], json!({"effort": "high"}));
}

#[test]
fn what_cannot_be_done_is_refused_with_the_field_named() {
    let refuse = |extra: Value| {
        let mut request = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]});
        for (key, value) in extra.as_object().unwrap() {
            request[key] = value.clone();
        }
        messages_to_responses(&request, "gpt-5.5", Preset::Codex).unwrap_err()
    };
    assert_eq!(
        refuse(json!({"stop_sequences": ["END"]})).param(),
        Some("stop_sequences")
    );
    assert_eq!(
        refuse(json!({"tools": [{"type": "bash_20250124", "name": "bash"}]})).param(),
        Some("tools[0].type")
    );
    assert_eq!(
        refuse(json!({"messages": [{"role": "tool", "content": "x"}]})).param(),
        Some("messages[0].role")
    );
    assert_eq!(refuse(json!({"messages": "hi"})).param(), Some("messages"));
    // An empty list of stop sequences asks for nothing.
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stop_sequences": [],
        "messages": [{"role": "user", "content": "hi"}]});
    assert!(messages_to_responses(&request, "gpt-5.5", Preset::Codex).is_ok());
}

#[test]
fn claude_names_map_by_family() {
    let models = ClaudeModels {
        opus: "gpt-5.5-xhigh".into(),
        sonnet: "gpt-5.5".into(),
        haiku: "gpt-5.1-codex-mini".into(),
    };
    assert_eq!(models.resolve("claude-opus-4-1").unwrap(), "gpt-5.5-xhigh");
    assert_eq!(
        models.resolve("claude-sonnet-4-5-20250929").unwrap(),
        "gpt-5.5"
    );
    assert_eq!(
        models.resolve("claude-3-5-haiku-20241022").unwrap(),
        "gpt-5.1-codex-mini"
    );
    assert_eq!(models.resolve("gpt-5.5-high").unwrap(), "gpt-5.5-high");
    assert_eq!(models.resolve("claude-instant-1"), None);
}

#[test]
fn count_tokens_grows_with_the_conversation() {
    let count = |messages: Value| {
        let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": messages});
        estimate_input_tokens(
            &messages_to_responses(&request, "gpt-5.5", Preset::Codex)
                .unwrap()
                .body,
        )
    };
    let short = count(json!([{"role": "user", "content": "Hello there"}]));
    let long = count(json!([{"role": "user", "content": "Hello there ".repeat(100)}]));
    // 1,200 bytes of ASCII: about 300 tokens.
    assert!((290..=320).contains(&long), "{long}");
    assert!(short < 15);
    let image = count(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]));
    assert!(image > 700);
}
