//! Answers a stand-in Codex backend builds from the request, for clients that loop (a tool
//! call, then its result, then the final text), in the shape the 2026 backend streams them:
//! every item as `added`, deltas and `done`, then `response.completed` with `output: []`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::fixtures;

/// The `encrypted_content` of the reasoning item the stand-in sends with a tool call: a later
/// request that carries it back proves reasoning survived the round trip.
pub const TOOL_TURN_REASONING: &str = "gAAAAB-standin-reasoning-before-the-tool-call";
/// The id of that reasoning item.
pub const TOOL_TURN_REASONING_ID: &str = "rs_standin_1";
/// Its summary: what an Anthropic client shows as the thinking.
pub const TOOL_TURN_THINKING: &str = "Planning the tool call";
/// The call id of the stand-in's tool call.
pub const TOOL_CALL_ID: &str = "call_standin_1";
/// The text the stand-in answers once it has a tool's result.
pub const FINAL_TEXT: &str = "All done.";
/// The shell command it asks a client with a `Bash` tool (Claude Code) to run.
pub const BASH_COMMAND: &str = "printf byok-ok > byok-ok.txt";

/// The agent loop: a request offering tools and holding no tool result gets a reasoning item
/// and a call of its first tool (`Bash` with [`BASH_COMMAND`] when offered, else
/// `{"city": "Paris"}`); one holding a tool result gets [`FINAL_TEXT`]; the others get the
/// recorded `reasoning.sse` stream.
pub fn agent(request: &Value) -> String {
    let input = request["input"].as_array().map_or(&[][..], Vec::as_slice);
    let tools = request["tools"].as_array().map_or(&[][..], Vec::as_slice);
    let has_result = input.iter().any(|i| i["type"] == "function_call_output");
    let reasoning = |id: &str, text: &str, encrypted: &str| {
        json!({"type": "reasoning", "id": id, "summary": [{"type": "summary_text", "text": text}],
            "encrypted_content": encrypted})
    };
    if has_result {
        return stream(&[
            reasoning(
                "rs_standin_2",
                "Reporting back",
                "gAAAAB-standin-reasoning-2",
            ),
            json!({"type": "message", "id": "msg_standin_2", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": FINAL_TEXT, "annotations": []}]}),
        ]);
    }
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    let Some(first) = names.first() else {
        return fixtures::recorded("reasoning");
    };
    let (name, arguments) = if names.contains(&"Bash") {
        (
            "Bash",
            json!({"command": BASH_COMMAND, "description": "Write the marker file"}),
        )
    } else {
        (*first, json!({"city": "Paris"}))
    };
    stream(&[
        reasoning(
            TOOL_TURN_REASONING_ID,
            TOOL_TURN_THINKING,
            TOOL_TURN_REASONING,
        ),
        json!({"type": "function_call", "id": "fc_standin_1", "status": "completed",
            "call_id": TOOL_CALL_ID, "name": name, "arguments": arguments.to_string()}),
    ])
}

/// The `encrypted_content` of the compaction item the stand-in answers a `compaction_trigger`
/// with (the value of the stand-in that recorded `official-compact`).
pub const COMPACTION: &str = "gAAAAB-standin-compaction";

/// The backend's answer to an input ending with `compaction_trigger`: one `compaction` item
/// (as the recording's next request carries it back: `{"type": "compaction", "id": "cmp_1",
/// "encrypted_content"}`).
pub fn compaction() -> String {
    stream(&[json!({"type": "compaction", "id": "cmp_1", "encrypted_content": COMPACTION})])
}

/// A Responses stream of `items`, each streamed as the backend does.
pub fn stream(items: &[Value]) -> String {
    let mut events = vec![json!({"type": "response.created",
        "response": {"id": "resp_standin", "object": "response", "status": "in_progress",
            "model": "gpt-5.5", "output": []}})];
    for (index, item) in items.iter().enumerate() {
        let mut added = item.clone();
        match item["type"].as_str() {
            Some("reasoning") => added["summary"] = json!([]),
            Some("message") => added["content"] = json!([]),
            Some("function_call") => added["arguments"] = "".into(),
            _ => {}
        }
        added
            .as_object_mut()
            .expect("an item")
            .remove("encrypted_content");
        events.push(
            json!({"type": "response.output_item.added", "output_index": index, "item": added}),
        );
        let text_deltas = |kind: &str, key: &str, text: &str| -> Vec<Value> {
            text.split_inclusive(' ')
                .map(|piece| json!({"type": kind, "output_index": index, key: 0, "delta": piece}))
                .collect()
        };
        match item["type"].as_str() {
            Some("reasoning") => events.extend(text_deltas(
                "response.reasoning_summary_text.delta",
                "summary_index",
                item["summary"][0]["text"].as_str().unwrap_or(""),
            )),
            Some("message") => events.extend(text_deltas(
                "response.output_text.delta",
                "content_index",
                item["content"][0]["text"].as_str().unwrap_or(""),
            )),
            Some("function_call") => events.extend(text_deltas(
                "response.function_call_arguments.delta",
                "content_index",
                item["arguments"].as_str().unwrap_or(""),
            )),
            _ => {}
        }
        events.push(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        );
    }
    events.push(json!({"type": "response.completed",
        "response": {"id": "resp_standin", "object": "response", "status": "completed",
            "model": "gpt-5.5", "output": [],
            "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 20},
                "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 4},
                "total_tokens": 60}}}));
    let mut out = String::new();
    for (sequence, event) in events.iter_mut().enumerate() {
        event["sequence_number"] = sequence.into();
        let kind = event["type"].as_str().unwrap_or("").to_owned();
        write!(out, "event: {kind}\ndata: {event}\n\n").expect("writing to a String");
    }
    out
}
