//! The recorded Codex streams and the Codex CLI request in `tests/data/` (see the READMEs
//! there for where they come from), and what a client should get from them.

use std::path::PathBuf;

use serde_json::Value;

use crate::sse;

/// `tests/data/NAME`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// A recorded stream's bytes, e.g. `recorded("tools")` for `codex-recorded/tools.sse`.
pub fn recorded(name: &str) -> String {
    let file = path(&format!("codex-recorded/{name}.sse"));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The response headers recorded with a stream (`x-codex-*`), from `NAME.meta.json`; the
/// `-empty-output` variants share the headers of their original.
pub fn recorded_headers(name: &str) -> Vec<(String, String)> {
    let base = name.trim_end_matches("-empty-output");
    let file = path(&format!("codex-recorded/{base}.meta.json"));
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let meta: Value = serde_json::from_str(&text).expect("meta.json is JSON");
    meta["response_headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .filter(|(k, _)| k.starts_with("x-"))
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The recorded events of a stream, as JSON.
pub fn recorded_events(name: &str) -> Vec<Value> {
    sse::events(&recorded(name))
        .into_iter()
        .filter_map(|e| serde_json::from_str(&e.data).ok())
        .collect()
}

/// The `usage` of a recorded stream's `response.completed`.
pub fn recorded_usage(name: &str) -> Value {
    recorded_events(name)
        .into_iter()
        .find(|e| e["type"] == "response.completed")
        .map(|e| e["response"]["usage"].clone())
        .unwrap_or_default()
}

/// The answer text a recorded stream carries: its `output_text` deltas, joined.
pub fn recorded_text(name: &str) -> String {
    joined_deltas(name, "response.output_text.delta")
}

/// The reasoning summary a recorded stream carries: its parts, each joined from its deltas,
/// separated by a blank line.
pub fn recorded_reasoning(name: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = None;
    for event in recorded_events(name)
        .iter()
        .filter(|e| e["type"] == "response.reasoning_summary_text.delta")
    {
        let part = (event["item_id"].clone(), event["summary_index"].clone());
        if current.as_ref() != Some(&part) {
            parts.push(String::new());
            current = Some(part);
        }
        if let (Some(last), Some(delta)) = (parts.last_mut(), event["delta"].as_str()) {
            last.push_str(delta);
        }
    }
    parts.join("\n\n")
}

fn joined_deltas(name: &str, kind: &str) -> String {
    recorded_events(name)
        .iter()
        .filter(|e| e["type"] == kind)
        .filter_map(|e| e["delta"].as_str())
        .collect()
}

/// The function calls of a recorded stream as `(call_id, name, arguments)`, in order.
pub fn recorded_calls(name: &str) -> Vec<(String, String, String)> {
    recorded_events(name)
        .iter()
        .filter(|e| {
            e["type"] == "response.output_item.done" && e["item"]["type"] == "function_call"
        })
        .map(|e| {
            let item = &e["item"];
            let s = |k: &str| item[k].as_str().unwrap_or_default().to_owned();
            (s("call_id"), s("name"), s("arguments"))
        })
        .collect()
}

/// The request body the Codex CLI 0.169 sent on its second turn.
pub fn codex_cli_request() -> Value {
    let file = path("codex-cli/request-turn2.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let recorded: Value = serde_json::from_str(&text).expect("request-turn2.json is JSON");
    recorded["body"].clone()
}
