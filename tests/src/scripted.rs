//! Answers a stand-in Codex backend builds from the request, for clients that loop (a tool
//! call, then its result, then the final text), in the shape the 2026 backend streams them:
//! every item as `added`, deltas and `done`, then `response.completed` with `output: []`
//! (byok-test-support's [`stream`]).

use serde_json::{Value, json};

use crate::fixtures;

pub use byok_test_support::scripted::{COMPACTION, compaction, stream};

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
