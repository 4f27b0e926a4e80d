//! `POST /v1/responses/compact` on the Codex backend, which compacts in band now.
//!
//! The official client (Codex CLI 0.169, `remote_compaction_v2`; recorded in
//! `tests/data/codex-cli/chatgpt-mode/official-compact`) no longer calls `/responses/compact`:
//! it sends an ordinary streamed `/responses` request whose `input` is the conversation
//! followed by `{"type": "compaction_trigger"}`, and the backend answers with one `compaction`
//! item whose `encrypted_content` stands for the conversation. The OpenAI API's compact
//! endpoint answers a `response.compaction` object instead: every user message of the
//! conversation, then that one compaction item. [`compact_for_codex`] builds the backend's
//! request from a compact request, [`compaction_answer`] the API's answer from the backend's
//! collected response.

use serde_json::{Map, Value, json};

use crate::codex::responses_for_codex;
use crate::error::TranslateError;
use crate::request::TranslatedRequest;

/// The input item that asks the Codex backend to compact what precedes it.
pub const COMPACTION_TRIGGER: &str = "compaction_trigger";

/// The fields of a compact request that mean the same in a `/responses` request to the Codex
/// backend: the compact endpoint's own, and those the Codex CLI's compact requests carry
/// (`tools`, `reasoning`, `text`, ...: the same as its turns', so the prompt cache serves the
/// compaction too). `reasoning` is also what a model alias (`gpt-5.5-high`) resolves to. The
/// compact endpoint's other fields (`image`, `prompt_cache_options`, `prompt_cache_retention`)
/// are not offered by the backend.
const COMPACT_FIELDS: [&str; 11] = [
    "model",
    "input",
    "instructions",
    "prompt_cache_key",
    "service_tier",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "text",
    "client_metadata",
];

/// A compact request (`POST /v1/responses/compact` body, its `previous_response_id` already
/// expanded: the backend keeps nothing) as the Codex backend wants it: a Responses request
/// shaped by [`responses_for_codex`] (`store: false`, `stream: true`, encrypted reasoning
/// included) whose `input` ends with the one [`COMPACTION_TRIGGER`], as the official client
/// sends it. A trigger the client put in `input` itself is moved to the end (the backend
/// compacts what precedes it).
///
/// ```
/// use byok_translate::compact_for_codex;
/// use serde_json::json;
///
/// let body = json!({"model": "gpt-5.5", "input": "Make a landing page", "image": {}});
/// let body = compact_for_codex(body).unwrap().body;
/// assert_eq!(body["input"][0]["role"], "user");
/// assert_eq!(body["input"][1], json!({"type": "compaction_trigger"}));
/// assert_eq!((body["stream"].clone(), body["store"].clone()), (json!(true), json!(false)));
/// assert!(body.get("image").is_none());
/// ```
pub fn compact_for_codex(body: Value) -> Result<TranslatedRequest, TranslateError> {
    let Value::Object(mut body) = body else {
        return Err(TranslateError::NotAnObject);
    };
    body.retain(|key, _| COMPACT_FIELDS.contains(&key.as_str()) || key == "previous_response_id");
    let mut translated = responses_for_codex(Value::Object(body))?;
    if let Some(Value::Array(input)) = translated.body.get_mut("input") {
        input.retain(|item| item["type"] != COMPACTION_TRIGGER);
        input.push(json!({"type": COMPACTION_TRIGGER}));
    }
    Ok(translated)
}

/// The OpenAI API's answer to a compact request, from the Codex backend's collected
/// `response` to [`compact_for_codex`]'s request: `{"id", "object": "response.compaction",
/// "created_at", "output", "usage"}`, where `output` is every user message of `input` (the
/// conversation as sent, trigger or not), in order, followed by the last `compaction` item of
/// the response. `usage` is the backend's, left out when it sent none; `created_at` is the
/// response's, else `now` (Unix seconds).
///
/// `None` when the response holds no compaction item: the backend did not compact.
///
/// ```
/// use byok_translate::compaction_answer;
/// use serde_json::json;
///
/// let input = [json!({"role": "user", "content": "hi"}), json!({"type": "compaction_trigger"})];
/// let response = json!({"id": "resp_1", "created_at": 7, "output": [
///     {"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAA"}]});
/// let answer = compaction_answer(&input, &response, 9).unwrap();
/// assert_eq!(answer["object"], "response.compaction");
/// assert_eq!(answer["output"][0]["content"][0], json!({"type": "input_text", "text": "hi"}));
/// assert_eq!(answer["output"][1]["encrypted_content"], "gAAA");
/// ```
pub fn compaction_answer(input: &[Value], response: &Value, now: i64) -> Option<Value> {
    let compaction = response
        .get("output")
        .and_then(Value::as_array)?
        .iter()
        .rev()
        .find(|item| item["type"] == "compaction")?;
    let mut output: Vec<Value> = input.iter().filter_map(user_message).collect();
    output.push(compaction.clone());
    let mut answer = Map::new();
    answer.insert("id".into(), response.get("id").cloned().unwrap_or_default());
    answer.insert("object".into(), "response.compaction".into());
    let created_at = response.get("created_at").filter(|at| at.is_i64());
    answer.insert(
        "created_at".into(),
        created_at.cloned().unwrap_or(now.into()),
    );
    answer.insert("output".into(), output.into());
    if let Some(usage) = response.get("usage").filter(|usage| usage.is_object()) {
        answer.insert("usage".into(), usage.clone());
    }
    Some(Value::Object(answer))
}

/// A user message of the input as an output item: `type: "message"`, its `id` if it has one,
/// `status: "completed"`, and its content as a list (a string becomes one `input_text`).
fn user_message(item: &Value) -> Option<Value> {
    let is_message = item.get("type").is_none_or(|kind| kind == "message");
    if !is_message || item["role"] != "user" {
        return None;
    }
    let content = match item.get("content") {
        Some(Value::String(text)) => json!([{"type": "input_text", "text": text}]),
        Some(content) => content.clone(),
        None => json!([]),
    };
    let mut message = Map::new();
    if let Some(id) = item.get("id").filter(|id| id.is_string()) {
        message.insert("id".into(), id.clone());
    }
    message.insert("type".into(), "message".into());
    message.insert("status".into(), "completed".into());
    message.insert("role".into(), "user".into());
    message.insert("content".into(), content);
    Some(Value::Object(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_ends_the_input_once() {
        let body = json!({"model": "gpt-5.5", "instructions": "Be brief", "input": [
            {"type": "compaction_trigger"},
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "yo"}]},
        ], "prompt_cache_key": "k", "prompt_cache_retention": "24h", "stream": false});
        let body = compact_for_codex(body).unwrap().body;
        let kinds: Vec<_> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i["type"]
                    .as_str()
                    .or(i["role"].as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            kinds,
            ["developer", "user", "message", "compaction_trigger"]
        );
        assert_eq!(body["instructions"], "Be brief");
        assert_eq!(body["prompt_cache_key"], "k");
        assert_eq!(body["stream"], true);
        assert!(body.get("prompt_cache_retention").is_none());
    }

    #[test]
    fn a_compact_request_without_input_is_refused_naming_it() {
        let err = compact_for_codex(json!({"model": "gpt-5.5"})).unwrap_err();
        assert_eq!(err.param(), Some("input"));
    }

    #[test]
    fn the_answer_keeps_every_user_message_and_the_last_compaction() {
        let input = [
            json!({"role": "developer", "content": "rules"}),
            json!({"type": "message", "id": "msg_1", "role": "user",
                "content": [{"type": "input_text", "text": "one"}]}),
            json!({"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "ok"}]}),
            json!({"type": "compaction", "id": "cmp_0", "encrypted_content": "old"}),
            json!({"role": "user", "content": "two"}),
            json!({"type": "compaction_trigger"}),
        ];
        let usage = json!({"input_tokens": 9, "output_tokens": 3, "total_tokens": 12});
        let response = json!({"id": "resp_2", "created_at": 100, "usage": usage, "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "compaction", "id": "cmp_1", "encrypted_content": "first"},
            {"type": "compaction", "id": "cmp_2", "encrypted_content": "new"},
        ]});
        let answer = compaction_answer(&input, &response, 5).unwrap();
        assert_eq!(
            answer,
            json!({"id": "resp_2", "object": "response.compaction", "created_at": 100,
                "output": [
                    {"id": "msg_1", "type": "message", "status": "completed", "role": "user",
                        "content": [{"type": "input_text", "text": "one"}]},
                    {"type": "message", "status": "completed", "role": "user",
                        "content": [{"type": "input_text", "text": "two"}]},
                    {"type": "compaction", "id": "cmp_2", "encrypted_content": "new"},
                ],
                "usage": usage})
        );
    }

    #[test]
    fn no_compaction_item_is_no_answer() {
        let response = json!({"id": "resp_3", "output": [{"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "Sure, here is a summary"}]}]});
        assert_eq!(compaction_answer(&[], &response, 5), None);
    }

    #[test]
    fn without_a_time_or_usage_the_answer_says_now_and_no_usage() {
        let response = json!({"id": "resp_4", "output": [
            {"type": "compaction", "id": "cmp_1", "encrypted_content": "e"}]});
        let answer = compaction_answer(&[], &response, 42).unwrap();
        assert_eq!(answer["created_at"], 42);
        assert!(answer.get("usage").is_none());
    }
}
