//! Answers the stand-in builds rather than replays, in the shape the 2026 backend streams them:
//! every item as `added`, deltas and `done`, then `response.completed` with `output: []`.

use std::fmt::Write as _;

use serde_json::{Value, json};

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
