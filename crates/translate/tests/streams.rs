//! How the stream translators end: failures, cut-offs, incomplete answers, odd upstreams.

mod common;

use byok_translate::{
    ChatOptions, ChatStreamTranslator, ResponseCollector, ResponsesPassthrough,
    ResponsesStreamBuilder, SseTranslator, StreamError, StreamState, TokenCounts, ToolNameMap,
};
use common::{
    FIXTURES, chat_view, completed, done_items, events, fixture, run, to_chat, with_usage,
};
use serde_json::{Value, json};

/// An SSE stream of the given events, as the Codex backend frames them.
fn sse(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        out.extend_from_slice(
            format!(
                "event: {}\ndata: {event}\n\n",
                event["type"].as_str().unwrap()
            )
            .as_bytes(),
        );
    }
    out
}

fn created() -> Value {
    json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_7", "created_at": 1_700_000_000, "model": "gpt-5"}})
}

fn text_delta(text: &str) -> Value {
    json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": text})
}

/// The recording up to (not including) its `response.completed` event.
fn cut_before_completed(name: &str) -> Vec<u8> {
    let stream = fixture(name);
    let at = stream
        .windows(25)
        .position(|w| w == b"event: response.completed")
        .unwrap();
    stream[..at].to_vec()
}

#[test]
fn a_failed_response_ends_the_chat_stream_with_the_upstreams_error() {
    let failed = json!({"type": "response.failed", "response": {"id": "resp_7", "status": "failed",
        "error": {"code": "server_is_overloaded", "message": "Try again later."}}});
    let (out, state) = to_chat(
        with_usage(),
        &sse(&[created(), text_delta("Hel"), failed, text_delta("lo")]),
    );
    let view = chat_view(&out);
    assert_eq!(
        view.content, "Hel",
        "what came before the failure was sent, nothing after"
    );
    assert_eq!(
        view.errors,
        [
            json!({"error": {"message": "Try again later.", "type": "upstream_error", "param": null, "code": "server_is_overloaded"}})
        ]
    );
    assert!(!view.done_last && view.finish_reasons.is_empty());
    assert_eq!(
        state,
        StreamState::Failed {
            message: "Try again later.".into()
        }
    );
}

#[test]
fn an_error_event_ends_the_chat_stream_too() {
    let error = json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down.", "param": null});
    let (out, state) = to_chat(ChatOptions::default(), &sse(&[error]));
    let view = chat_view(&out);
    assert_eq!(view.errors[0]["error"]["message"], "Slow down.");
    assert_eq!(view.errors[0]["error"]["code"], "rate_limit_exceeded");
    assert!(
        view.chunks.is_empty(),
        "no role chunk for a stream that never started"
    );
    assert!(matches!(state, StreamState::Failed { .. }));
}

#[test]
fn a_stream_cut_before_completed_is_an_error_for_every_translator() {
    for name in FIXTURES {
        let cut = cut_before_completed(name);
        let (out, state) = to_chat(with_usage(), &cut);
        let view = chat_view(&out);
        assert_eq!(view.errors.len(), 1, "{name}");
        assert!(
            view.errors[0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ended before response.completed")
        );
        assert!(
            !view.done_last && view.finish_reasons.is_empty() && view.usage.is_none(),
            "{name}"
        );
        assert!(matches!(state, StreamState::Cut { .. }));

        let mut collector = ResponseCollector::new();
        collector.feed(&cut);
        assert_eq!(
            collector.finish().unwrap_err(),
            StreamError::CutOff,
            "{name}"
        );

        let (out, state) = run(
            &mut ResponsesPassthrough::new(ToolNameMap::default()),
            [&cut[..]],
        );
        assert!(
            out.starts_with(&cut),
            "{name}: what came is passed on as it came"
        );
        let last = events(&out).pop().unwrap();
        assert_eq!(last["type"], "response.failed");
        assert_eq!(
            last["response"]["id"],
            completed(&fixture(name))["id"],
            "the same response id"
        );
        assert_eq!(last["response"]["output"], Value::Array(done_items(&cut)));
        let previous = events(&cut).last().unwrap()["sequence_number"]
            .as_u64()
            .unwrap();
        assert_eq!(last["sequence_number"], previous + 1);
        assert!(matches!(state, StreamState::Cut { .. }));
    }
}

#[test]
fn an_incomplete_response_finishes_with_its_reason() {
    for (reason, finish) in [
        ("max_output_tokens", "length"),
        ("content_filter", "content_filter"),
    ] {
        let incomplete = json!({"type": "response.incomplete", "response": {"id": "resp_7", "status": "incomplete",
            "incomplete_details": {"reason": reason}, "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}}});
        let stream = sse(&[created(), text_delta("Partial"), incomplete]);
        let (out, state) = to_chat(with_usage(), &stream);
        let view = chat_view(&out);
        assert_eq!(view.finish_reasons, [finish]);
        assert_eq!(view.usage.unwrap()["completion_tokens"], 7);
        assert!(view.done_last);
        assert_eq!(
            state,
            StreamState::Incomplete {
                reason: reason.into()
            }
        );

        let mut collector = ResponseCollector::new();
        collector.feed(&stream);
        let response = collector.finish().unwrap();
        assert_eq!(response["status"], "incomplete");
        assert_eq!(response["incomplete_details"]["reason"], reason);
        assert_eq!(
            response["output"][0]["content"][0]["text"], "Partial",
            "built from the deltas"
        );
        let chat = byok_translate::response_to_chat(&response, &ChatOptions::default());
        assert_eq!(chat["choices"][0]["finish_reason"], finish);
    }
}

#[test]
fn a_stream_without_response_created_still_gives_well_formed_chunks() {
    let completed =
        json!({"type": "response.completed", "response": {"id": "resp_7", "status": "completed"}});
    let (out, state) = to_chat(ChatOptions::default(), &sse(&[text_delta("Hi"), completed]));
    for payload in events(&out) {
        assert!(payload.is_object() || payload == "[DONE]", "{payload}");
    }
    let view = chat_view(&out);
    assert_eq!(view.content, "Hi");
    assert_eq!(view.chunks[0]["id"], "chatcmpl-unknown");
    assert_eq!(state, StreamState::Completed);
}

#[test]
fn refusals_and_answers_that_come_only_whole_reach_the_client() {
    let done = json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": "Whole answer."}]}});
    let refusal = json!({"type": "response.refusal.delta", "output_index": 0, "content_index": 0, "delta": "I can't help."});
    let completed =
        json!({"type": "response.completed", "response": {"id": "resp_7", "status": "completed"}});
    let view = chat_view(
        &to_chat(
            ChatOptions::default(),
            &sse(&[created(), refusal, done, completed]),
        )
        .0,
    );
    assert_eq!(view.refusal, "I can't help.");
    assert_eq!(view.content, "Whole answer.");
    assert_eq!(view.finish_reasons, ["stop"]);
}

#[test]
fn shortened_tool_names_are_restored_in_chat_chunks() {
    let mut names = ToolNameMap::default();
    let long = "x".repeat(80);
    let sent = names.shorten(&long);
    let added = json!({"type": "response.output_item.added", "output_index": 0,
        "item": {"type": "function_call", "call_id": "call_1", "name": sent, "arguments": ""}});
    let args =
        json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"});
    let completed = json!({"type": "response.completed", "response": {"id": "resp_7"}});
    let options = ChatOptions {
        tool_names: names,
        ..ChatOptions::default()
    };
    let view = chat_view(
        &run(
            &mut ChatStreamTranslator::new(options),
            [&sse(&[created(), added, args, completed])[..]],
        )
        .0,
    );
    assert_eq!(view.tool_calls[0].name, long);
    assert_eq!(view.tool_calls[0].arguments, "{}");
    assert_eq!(view.finish_reasons, ["tool_calls"]);
}

#[test]
fn the_passthrough_changes_nothing_but_an_empty_final_output() {
    for name in FIXTURES {
        let stream = fixture(name);
        let (out, state) = run(
            &mut ResponsesPassthrough::new(ToolNameMap::default()),
            [&stream[..]],
        );
        assert_eq!(state, StreamState::Completed);
        let (sent, got) = (events(&stream), events(&out));
        assert_eq!(sent.len(), got.len());
        if !name.ends_with("-empty-output") {
            assert!(out == stream, "{name}: byte for byte");
            continue;
        }
        for (sent, got) in sent.iter().zip(&got) {
            if sent["type"] == "response.completed" {
                assert_eq!(sent["response"]["output"], json!([]));
                assert_eq!(
                    got["response"]["output"],
                    Value::Array(done_items(&stream)),
                    "{name}: filled"
                );
                let mut rest = got.clone();
                rest["response"]["output"] = json!([]);
                assert_eq!(&rest, sent, "{name}: nothing else changed");
            } else {
                assert_eq!(sent, got);
            }
        }
    }
}

#[test]
fn streamed_and_collected_chat_ids_agree() {
    for id in ["resp_7", "chatcmpl-already"] {
        let stream = sse(&[
            json!({"type": "response.created", "response": {"id": id, "created_at": 1, "model": "gpt-5"}}),
            text_delta("Hi"),
            json!({"type": "response.completed", "response": {"id": id, "status": "completed", "output": []}}),
        ]);
        let (out, _) = to_chat(ChatOptions::default(), &stream);
        let streamed = chat_view(&out).chunks[0]["id"].clone();
        let mut collector = ResponseCollector::new();
        collector.feed(&stream);
        let collected =
            byok_translate::response_to_chat(&collector.finish().unwrap(), &ChatOptions::default());
        assert_eq!(streamed, collected["id"], "{id}");
        assert!(streamed.as_str().unwrap().starts_with("chatcmpl-"));
        assert!(!streamed.as_str().unwrap().starts_with("chatcmpl-chatcmpl-"));
    }
}

#[test]
fn translators_report_the_usage_of_the_terminal_event_whether_or_not_the_client_asked() {
    for name in FIXTURES {
        let stream = fixture(name);
        let usage = &completed(&stream)["usage"];
        let expected = TokenCounts {
            input: usage["input_tokens"].as_u64().unwrap(),
            output: usage["output_tokens"].as_u64().unwrap(),
            cached: usage["input_tokens_details"]["cached_tokens"]
                .as_u64()
                .unwrap_or(0),
            reasoning: usage["output_tokens_details"]["reasoning_tokens"]
                .as_u64()
                .unwrap_or(0),
        };
        // A Chat client that did not ask for `include_usage`: no usage chunk, usage reported.
        let mut chat = ChatStreamTranslator::new(ChatOptions::default());
        assert_eq!(chat.usage(), None, "{name}: nothing known before the end");
        let (out, state) = run(&mut chat, [&stream[..]]);
        assert_eq!(state, StreamState::Completed, "{name}");
        assert!(chat_view(&out).usage.is_none(), "{name}: not sent unasked");
        assert_eq!(chat.usage(), Some(expected), "{name}");

        let mut passthrough = ResponsesPassthrough::new(ToolNameMap::default());
        run(&mut passthrough, [&stream[..]]);
        assert_eq!(passthrough.usage(), Some(expected), "{name}");
    }
}

#[test]
fn a_chat_stream_without_usage_reports_its_usage_through_the_builder() {
    let chunks = concat!(
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,",
        "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":3}}}\n\n",
        "data: [DONE]\n\n"
    );
    let mut builder = ResponsesStreamBuilder::new("m");
    let (_, state) = run(&mut builder, [chunks.as_bytes()]);
    assert_eq!(state, StreamState::Completed);
    assert_eq!(
        builder.usage(),
        Some(TokenCounts {
            input: 4,
            output: 9,
            cached: 2,
            reasoning: 3
        })
    );
}
