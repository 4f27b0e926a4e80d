//! The reverse direction: Responses clients served from a Chat Completions upstream.

mod common;

use byok_translate::{
    ChatOptions, ResponseCollector, ResponsesStreamBuilder, StreamState, chat_to_response,
    response_to_chat, responses_to_chat_request,
};
use common::{FIXTURES, chat_view, events, fixture, run, to_chat, with_usage};
use serde_json::{Value, json};

#[test]
fn the_codex_cli_request_becomes_a_chat_conversation() {
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(common::data_path("codex-cli-request-turn2.json")).unwrap(),
    )
    .unwrap();
    let chat = responses_to_chat_request(&recorded["body"]).unwrap();
    let messages = chat["messages"].as_array().unwrap();
    assert_eq!(
        messages[0]["role"], "system",
        "developer messages become system messages"
    );
    let call = messages
        .iter()
        .find(|m| m.get("tool_calls").is_some())
        .unwrap();
    assert_eq!(call["role"], "assistant");
    let call_id = call["tool_calls"][0]["id"].as_str().unwrap();
    let result = messages.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(
        result["tool_call_id"], call_id,
        "the tool result answers the call"
    );
    let tools: Vec<(&str, &str)> = chat["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let kind = t["type"].as_str().unwrap();
            (kind, t[kind]["name"].as_str().unwrap())
        })
        .collect();
    assert!(
        tools.contains(&("function", "exec_command")) && tools.contains(&("custom", "apply_patch"))
    );
    assert_eq!(
        tools.len(),
        8,
        "tool_search and web_search have no Chat form"
    );
    assert_eq!(chat["stream"], true);
    assert_eq!(chat["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        chat["reasoning_effort"],
        recorded["body"]["reasoning"]["effort"]
    );
}

#[test]
fn responses_fields_map_to_their_chat_names() {
    let body = json!({"model": "m", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Look"}, {"type": "input_image", "image_url": "data:image/png;base64,AA=="}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A cat."}]},
        ],
        "max_output_tokens": 9, "temperature": 0.1, "tool_choice": {"type": "function", "name": "f"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": true}],
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": true}}});
    let chat = responses_to_chat_request(&body).unwrap();
    assert_eq!(
        chat["messages"][0]["content"][1],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AA==", "detail": "auto"}})
    );
    assert_eq!(
        chat["messages"][1],
        json!({"role": "assistant", "content": "A cat."})
    );
    assert_eq!(chat["max_completion_tokens"], 9);
    assert_eq!(chat["temperature"], 0.1);
    assert_eq!(
        chat["tools"][0],
        json!({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": true}})
    );
    assert_eq!(
        chat["tool_choice"],
        json!({"type": "function", "function": {"name": "f"}})
    );
    assert_eq!(
        chat["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": true}})
    );
    assert!(chat.get("stream").is_none());
    let err = responses_to_chat_request(
        &json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
    )
    .unwrap_err();
    assert_eq!(err.param(), Some("input[0]"));
}

#[test]
fn a_chat_completion_becomes_a_response() {
    let chat = json!({"id": "chatcmpl-42", "created": 9, "model": "llama", "choices": [{"index": 0, "finish_reason": "length",
        "message": {"role": "assistant", "content": "Partial", "reasoning_content": "Thinking",
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
                  "prompt_tokens_details": {"cached_tokens": 1}, "completion_tokens_details": {"reasoning_tokens": 1}}});
    let response = chat_to_response(&chat);
    assert_eq!(response["id"], "resp_42");
    assert_eq!(response["status"], "incomplete");
    assert_eq!(
        response["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    let kinds: Vec<&str> = response["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reasoning", "message", "function_call"]);
    assert_eq!(response["output"][2]["call_id"], "call_1");
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 1, "input_tokens_details": {"cached_tokens": 1},
        "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 3})
    );
}

/// Recorded stream -> Chat chunks -> Responses events: the events follow the lifecycle the
/// SDKs check, and collect to the answer the Chat chunks carried.
#[test]
fn chat_streams_become_responses_events_the_sdks_accept() {
    for name in FIXTURES {
        let chat_stream = to_chat(with_usage(), &fixture(name)).0;
        let (out, state) = run(
            &mut ResponsesStreamBuilder::new("fallback"),
            [&chat_stream[..]],
        );
        assert_eq!(state, StreamState::Completed, "{name}");
        let sent = events(&out);
        let kinds: Vec<&str> = sent.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds[..2],
            ["response.created", "response.in_progress"],
            "{name}"
        );
        assert_eq!(kinds.last(), Some(&"response.completed"), "{name}");
        for (at, event) in sent.iter().enumerate() {
            assert_eq!(
                event["sequence_number"], at,
                "{name}: sequence numbers count up from 0"
            );
        }
        let ids: Vec<&Value> = sent
            .iter()
            .filter_map(|e| e.pointer("/response/id"))
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "{name}: one response id"
        );
        let added: Vec<&Value> = sent
            .iter()
            .filter(|e| e["type"] == "response.output_item.added")
            .map(|e| &e["output_index"])
            .collect();
        let done: Vec<&Value> = sent
            .iter()
            .filter(|e| e["type"] == "response.output_item.done")
            .map(|e| &e["output_index"])
            .collect();
        assert_eq!(added, done, "{name}: a done for every added");
        let done_items: Vec<Value> = sent
            .iter()
            .filter(|e| e["type"] == "response.output_item.done")
            .map(|e| e["item"].clone())
            .collect();
        assert_eq!(
            sent.last().unwrap()["response"]["output"],
            Value::Array(done_items),
            "{name}: output filled"
        );

        // Collected and turned back into Chat, it is the answer the Chat chunks carried.
        let mut collector = ResponseCollector::new();
        collector.feed(&out);
        let again = response_to_chat(&collector.finish().unwrap(), &ChatOptions::default());
        let view = chat_view(&chat_stream);
        let message = &again["choices"][0]["message"];
        view.assert_same_text(message, name);
        assert_eq!(
            message["tool_calls"].as_array().map_or(0, Vec::len),
            view.tool_calls.len(),
            "{name}"
        );
        assert_eq!(again["usage"], view.usage.unwrap(), "{name}");
        assert_eq!(again["model"], view.chunks[0]["model"]);
    }
}

#[test]
fn chat_errors_and_cut_offs_become_response_failed() {
    let chunk = r#"data: {"id":"chatcmpl-1","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#;
    let error = r#"data: {"error":{"message":"Model overloaded","type":"server_error","code":"overloaded"}}"#;
    let (out, state) = run(
        &mut ResponsesStreamBuilder::new("m"),
        [format!("{chunk}\n\n{error}\n\n").as_bytes()],
    );
    let last = events(&out).pop().unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(
        last["response"]["error"],
        json!({"code": "overloaded", "message": "Model overloaded"})
    );
    assert_eq!(
        state,
        StreamState::Failed {
            message: "Model overloaded".into()
        }
    );

    let (out, state) = run(
        &mut ResponsesStreamBuilder::new("m"),
        [format!("{chunk}\n\n").as_bytes()],
    );
    assert_eq!(events(&out).pop().unwrap()["type"], "response.failed");
    assert!(matches!(state, StreamState::Cut { .. }));

    let length =
        r#"data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#;
    let (out, state) = run(
        &mut ResponsesStreamBuilder::new("m"),
        [format!("{chunk}\n\n{length}\n\ndata: [DONE]\n\n").as_bytes()],
    );
    let last = events(&out).pop().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(last["response"]["model"], "m");
    assert_eq!(
        state,
        StreamState::Incomplete {
            reason: "max_output_tokens".into()
        }
    );
}
