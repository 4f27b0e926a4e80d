//! Responses requests from Responses clients, made acceptable to the Codex backend.

mod common;

use byok_translate::{
    ResponseCollector, ResponsesPassthrough, SseTranslator, TranslateError, responses_for_codex,
};
use serde_json::{Value, json};

/// The real Codex CLI 0.169 request (see `data/codex-cli-README.md`).
fn codex_cli_request() -> Value {
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(common::data_path("codex-cli-request-turn2.json")).unwrap(),
    )
    .unwrap();
    recorded["body"].clone()
}

#[test]
fn the_codex_cli_request_passes_with_only_instructions_added() {
    let request = codex_cli_request();
    let body = responses_for_codex(request.clone()).unwrap().body;
    assert_eq!(
        body["instructions"], "",
        "the backend wants the string even when the CLI sends none"
    );
    let mut expected = request.as_object().unwrap().clone();
    expected.insert("instructions".into(), "".into());
    assert_eq!(
        body,
        Value::Object(expected),
        "item ids, encrypted reasoning, tools and the rest pass intact"
    );
    let reasoning = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"] == "reasoning")
        .unwrap();
    assert_eq!(
        reasoning["encrypted_content"],
        "gAAAAB-standin-encrypted-reasoning"
    );
}

#[test]
fn sdk_requests_lose_what_the_backend_refuses_and_get_what_it_needs() {
    // The Agents SDK's shape: sampling fields, a token limit, `include: []`, no `stream`.
    let body = json!({
        "model": "gpt-5", "instructions": "Be brief.", "temperature": 0.5, "top_p": 1, "max_output_tokens": 100,
        "include": [], "metadata": {"a": "b"}, "truncation": "auto", "store": true, "user": "u", "seed": 1,
        "input": [{"role": "system", "content": "sys"}, {"type": "message", "role": "user", "content": "Hi"}],
    });
    let body = responses_for_codex(body).unwrap().body;
    assert_eq!(
        body,
        json!({
            "model": "gpt-5", "instructions": "Be brief.", "store": false, "stream": true,
            "include": ["reasoning.encrypted_content"],
            "input": [{"role": "developer", "content": "sys"}, {"type": "message", "role": "user", "content": "Hi"}],
        })
    );
}

#[test]
fn string_input_is_wrapped_and_include_is_not_doubled() {
    let body = json!({"model": "gpt-5", "input": "hi", "include": ["reasoning.encrypted_content", "message.output_text.logprobs"]});
    let body = responses_for_codex(body).unwrap().body;
    assert_eq!(
        body["input"],
        json!([{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}])
    );
    assert_eq!(
        body["include"],
        json!([
            "reasoning.encrypted_content",
            "message.output_text.logprobs"
        ])
    );
}

#[test]
fn what_cannot_work_without_stored_items_is_refused_clearly() {
    let err = responses_for_codex(
        json!({"model": "gpt-5", "input": "hi", "previous_response_id": "resp_1"}),
    )
    .unwrap_err();
    assert_eq!(err.param(), Some("previous_response_id"));
    assert!(
        err.to_string().contains("send the whole conversation"),
        "{err}"
    );
    let err = responses_for_codex(
        json!({"model": "gpt-5", "input": [{"type": "item_reference", "id": "msg_1"}]}),
    )
    .unwrap_err();
    assert_eq!(err.param(), Some("input[0]"));
    assert_eq!(
        responses_for_codex(json!("hi")).unwrap_err(),
        TranslateError::NotAnObject
    );
    assert_eq!(
        responses_for_codex(json!({"model": "m", "input": 3}))
            .unwrap_err()
            .param(),
        Some("input")
    );
    assert_eq!(
        responses_for_codex(json!({"model": "m", "input": "hi", "instructions": 3}))
            .unwrap_err()
            .param(),
        Some("instructions")
    );
}

/// A Responses body whose prompt or options would be lost on the way is refused, naming the
/// field (before: no `input` and `input: null` went out as `input: []`, the prompt silently
/// dropped; a string `include` was replaced; a `tools` object went on as it was).
#[test]
fn what_would_be_lost_on_the_way_is_refused() {
    let cases = [
        (json!({"model": "m"}), "input", "missing_required_parameter"),
        (
            json!({"model": "m", "input": null}),
            "input",
            "invalid_type",
        ),
        (
            json!({"model": "m", "input": "hi", "include": "reasoning.encrypted_content"}),
            "include",
            "invalid_type",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": {"type": "function"}}),
            "tools",
            "invalid_type",
        ),
    ];
    for (body, param, code) in cases {
        let err = responses_for_codex(body.clone()).unwrap_err();
        assert_eq!(err.param(), Some(param), "{body}");
        assert_eq!(err.code(), Some(code), "{body}");
    }
    let fine =
        responses_for_codex(json!({"model": "m", "input": [], "include": null, "tools": null}));
    assert_eq!(fine.unwrap().body["input"], json!([]));
}

#[test]
fn long_tool_names_are_shortened_and_come_back_in_the_stream_and_the_collected_answer() {
    let long = "a_tool_name_that_is_much_longer_than_the_sixty_four_characters_allowed";
    let body = json!({"model": "gpt-5", "input": "go", "tools": [{"type": "function", "name": long, "parameters": {}}],
                      "tool_choice": {"type": "function", "name": long}});
    let translated = responses_for_codex(body).unwrap();
    let sent = translated.body["tools"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.len() <= 64);
    assert_eq!(translated.body["tool_choice"]["name"], sent.as_str());

    // The upstream calls the tool by the name it was given.
    let stream = format!(
        "event: response.created\ndata: {{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{{\"id\":\"resp_9\",\"output\":[]}}}}\n\n\
         event: response.output_item.done\ndata: {{\"type\":\"response.output_item.done\",\"sequence_number\":1,\"output_index\":0,\"item\":{{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"{sent}\",\"arguments\":\"{{}}\"}}}}\n\n\
         event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{{\"id\":\"resp_9\",\"status\":\"completed\",\"output\":[]}}}}\n\n"
    );
    let mut passthrough = ResponsesPassthrough::new(translated.tool_names.clone());
    let mut out = Vec::new();
    passthrough.feed(stream.as_bytes(), &mut out);
    passthrough.finish(&mut out);
    let events = common::events(&out);
    assert_eq!(events[1]["item"]["name"], long);
    assert_eq!(events[2]["response"]["output"][0]["name"], long);
    assert!(!String::from_utf8(out).unwrap().contains(&sent));

    let mut collector = ResponseCollector::with_tool_names(translated.tool_names);
    collector.feed(stream.as_bytes());
    assert_eq!(collector.finish().unwrap()["output"][0]["name"], long);
}

#[test]
fn service_tier_priority_or_fast_reaches_the_backend_as_priority() {
    for (asked, sent) in [
        ("priority", Some("priority")),
        ("fast", Some("priority")),
        ("flex", None),
        ("auto", None),
    ] {
        let body = json!({"model": "gpt-5.5", "input": "hi", "service_tier": asked});
        let translated = responses_for_codex(body).unwrap();
        assert_eq!(
            translated.body.get("service_tier").and_then(Value::as_str),
            sent,
            "{asked}"
        );
        assert_eq!(
            translated.notes.is_empty(),
            sent.is_some(),
            "{asked}: {:?}",
            translated.notes
        );
        let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}],
            "service_tier": asked});
        let translated =
            byok_translate::chat_to_responses(&chat, byok_translate::Preset::Codex).unwrap();
        assert_eq!(
            translated.body.get("service_tier").and_then(Value::as_str),
            sent,
            "chat {asked}"
        );
        if sent.is_none() {
            assert!(
                translated.notes[0].contains("service_tier"),
                "{:?}",
                translated.notes
            );
        }
    }
}

#[test]
fn every_translator_hands_over_the_in_stream_rate_limits() {
    let stream = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
        "event: codex.rate_limits\ndata: {\"type\":\"codex.rate_limits\",\"rate_limits\":{\"primary\":{\"used_percent\":12.5}}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[]}}\n\n",
    );
    let used = |v: Option<Value>| v.map(|v| v["rate_limits"]["primary"]["used_percent"].clone());
    // Split inside the event, as the network may.
    let (a, b) = stream.split_at(stream.find("used_percent").unwrap());

    let mut passthrough = ResponsesPassthrough::new(byok_translate::ToolNameMap::default());
    let mut out = Vec::new();
    passthrough.feed(a.as_bytes(), &mut out);
    assert_eq!(passthrough.take_rate_limits(), None);
    passthrough.feed(b.as_bytes(), &mut out);
    assert_eq!(used(passthrough.take_rate_limits()), Some(json!(12.5)));
    assert_eq!(passthrough.take_rate_limits(), None, "taken once");
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("codex.rate_limits"),
        "passed on"
    );

    let mut chat =
        byok_translate::ChatStreamTranslator::new(byok_translate::ChatOptions::default());
    let mut out = Vec::new();
    chat.feed(stream.as_bytes(), &mut out);
    assert_eq!(used(chat.take_rate_limits()), Some(json!(12.5)));
    assert!(
        !String::from_utf8(out).unwrap().contains("rate_limits"),
        "not a Chat chunk"
    );

    let mut collector = ResponseCollector::new();
    collector.feed(a.as_bytes());
    assert!(!collector.is_finished());
    collector.feed(b.as_bytes());
    assert!(collector.is_finished());
    assert_eq!(used(collector.take_rate_limits()), Some(json!(12.5)));
}
