//! The recorded Codex streams, translated to Chat chunks, say what the recording says.

mod common;

use byok_translate::{
    ChatOptions, ReasoningMode, ResponseCollector, StreamState, response_to_chat,
};
use common::{FIXTURES, chat_view, completed, done_items, fixture, recorded, to_chat, with_usage};
use serde_json::{Value, json};

#[test]
fn every_fixture_translates_to_the_recorded_answer_and_usage() {
    for name in FIXTURES {
        let stream = fixture(name);
        let (out, state) = to_chat(with_usage(), &stream);
        assert_eq!(state, StreamState::Completed, "{name}");
        let view = chat_view(&out);
        let response = completed(&stream);
        // The answer the upstream streamed item by item ...
        assert_eq!(
            view.answer(),
            recorded(&done_items(&stream)),
            "{name}: against output_item.done"
        );
        // ... is the one `response.completed` holds, when it holds one.
        let final_output = response["output"].as_array().unwrap();
        if !final_output.is_empty() {
            assert_eq!(
                view.answer(),
                recorded(final_output),
                "{name}: against response.completed"
            );
        }
        assert!(
            !view.content.is_empty() || !view.tool_calls.is_empty(),
            "{name}: an answer came through"
        );
        let usage = &response["usage"];
        assert_eq!(
            view.usage,
            Some(json!({
                "prompt_tokens": usage["input_tokens"],
                "completion_tokens": usage["output_tokens"],
                "total_tokens": usage["total_tokens"],
                "prompt_tokens_details": {"cached_tokens": usage["input_tokens_details"]["cached_tokens"]},
                "completion_tokens_details": {"reasoning_tokens": usage["output_tokens_details"]["reasoning_tokens"]},
            })),
            "{name}"
        );
        assert_eq!(
            view.finish_reasons.len(),
            1,
            "{name}: exactly one finish_reason"
        );
        assert!(
            view.errors.is_empty() && view.done_last,
            "{name}: [DONE] last, no error"
        );
    }
}

#[test]
fn chunks_carry_the_streams_id_time_and_model_and_start_with_the_role() {
    for name in FIXTURES {
        let stream = fixture(name);
        let response = completed(&stream);
        let view = chat_view(&to_chat(with_usage(), &stream).0);
        let id = format!("chatcmpl-{}", response["id"].as_str().unwrap());
        for chunk in &view.chunks {
            assert_eq!(chunk["id"], id.as_str(), "{name}");
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["created"], response["created_at"]);
            assert_eq!(chunk["model"], response["model"]);
        }
        assert_eq!(
            view.chunks[0]["choices"][0]["delta"]["role"], "assistant",
            "{name}: role chunk first"
        );
        let roles = view
            .chunks
            .iter()
            .filter(|c| c.pointer("/choices/0/delta/role").is_some())
            .count();
        assert_eq!(roles, 1, "{name}: one role chunk");
        let last = view.chunks.last().unwrap();
        assert_eq!(
            last["choices"],
            json!([]),
            "{name}: the usage chunk is last before [DONE]"
        );
    }
}

#[test]
fn the_tools_stream_numbers_its_calls_from_zero_and_finishes_once_with_tool_calls() {
    for name in ["tools", "tools-empty-output"] {
        let view = chat_view(&to_chat(ChatOptions::default(), &fixture(name)).0);
        let indexes: Vec<u64> = view.tool_calls.iter().map(|call| call.index).collect();
        assert_eq!(indexes, [0, 1], "{name}");
        let names: Vec<&str> = view
            .tool_calls
            .iter()
            .map(|call| call.name.as_str())
            .collect();
        assert_eq!(names, ["get_weather", "calculate_distance"]);
        for call in &view.tool_calls {
            serde_json::from_str::<Value>(&call.arguments).expect("whole JSON arguments");
        }
        assert_eq!(view.finish_reasons, ["tool_calls"], "{name}");
        assert_eq!(view.content, "");
    }
    let text = chat_view(&to_chat(ChatOptions::default(), &fixture("text")).0);
    assert_eq!(text.finish_reasons, ["stop"]);
}

#[test]
fn without_include_usage_there_is_no_usage_chunk() {
    let view = chat_view(&to_chat(ChatOptions::default(), &fixture("text")).0);
    assert_eq!(view.usage, None);
    assert!(
        view.chunks
            .iter()
            .all(|chunk| chunk["choices"] != json!([]))
    );
    assert!(view.done_last);
}

#[test]
fn reasoning_parts_stay_separated_and_the_mode_decides_where_they_go() {
    let stream = fixture("reasoning");
    let expected = recorded(&done_items(&stream));
    assert!(
        expected
            .reasoning
            .contains("process.\n\n**Calculating the factorial of 5**"),
        "two parts, a blank line apart"
    );

    let default = chat_view(&to_chat(ChatOptions::default(), &stream).0);
    assert_eq!(default.reasoning, expected.reasoning);
    assert_eq!(default.content, expected.content);

    let tags = ChatOptions {
        reasoning: ReasoningMode::ThinkTags,
        ..ChatOptions::default()
    };
    let think = chat_view(&to_chat(tags, &stream).0);
    assert_eq!(think.reasoning, "");
    assert_eq!(
        think.content,
        format!(
            "<think>{}</think>\n\n{}",
            expected.reasoning, expected.content
        )
    );

    let hidden = ChatOptions {
        reasoning: ReasoningMode::Hidden,
        ..ChatOptions::default()
    };
    let hidden = chat_view(&to_chat(hidden, &stream).0);
    assert_eq!(
        (hidden.reasoning.as_str(), hidden.content.as_str()),
        ("", expected.content.as_str())
    );
}

#[test]
fn collected_answers_hold_the_whole_output_even_when_completed_is_empty() {
    for name in FIXTURES {
        let stream = fixture(name);
        let mut collector = ResponseCollector::new();
        for piece in stream.chunks(1000) {
            collector.feed(piece);
        }
        let response = collector.finish().expect("the stream completed");
        assert_eq!(
            response["output"],
            Value::Array(done_items(&stream)),
            "{name}"
        );
        assert_eq!(response["status"], "completed");
        assert_eq!(response["usage"], completed(&stream)["usage"]);

        // The non-streamed Chat answer says what the streamed one says.
        let chat = response_to_chat(&response, &ChatOptions::default());
        let view = chat_view(&to_chat(with_usage(), &stream).0);
        let message = &chat["choices"][0]["message"];
        view.assert_same_text(message, name);
        let calls: Vec<(String, String, String)> = message["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let text = |p: &str| c.pointer(p).and_then(Value::as_str).unwrap().to_owned();
                (
                    text("/id"),
                    text("/function/name"),
                    text("/function/arguments"),
                )
            })
            .collect();
        assert_eq!(calls, view.answer().tool_calls, "{name}");
        assert_eq!(
            chat["choices"][0]["finish_reason"],
            view.finish_reasons[0].as_str()
        );
        assert_eq!(Some(&chat["usage"]), view.usage.as_ref());
        assert_eq!(chat["id"], view.chunks[0]["id"]);
    }
}

#[test]
fn the_empty_output_fixtures_collect_to_the_message_and_both_calls() {
    let text = ResponseCollector::new();
    let text = collect(text, "text-empty-output");
    assert_eq!(
        text["output"][1]["content"][0]["text"],
        "Hey! How can I help you today?"
    );
    let tools = collect(ResponseCollector::new(), "tools-empty-output");
    let names: Vec<&str> = tools["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["name"].as_str())
        .collect();
    assert_eq!(names, ["get_weather", "calculate_distance"]);
    assert_eq!(
        tools["output"][2]["arguments"],
        r#"{"lat1":"40.7128","lon1":"-74.0060","lat2":"34.0522","lon2":"-118.2437"}"#
    );
}

fn collect(mut collector: ResponseCollector, name: &str) -> Value {
    collector.feed(&fixture(name));
    collector.finish().unwrap()
}

#[test]
fn a_collected_answer_with_its_request_echo_as_text_writes_out_the_whole_response() {
    for name in FIXTURES {
        let stream = fixture(name);
        let collect = |collector: ResponseCollector| {
            let mut collector = collector;
            for piece in stream.chunks(1000) {
                collector.feed(piece);
            }
            collector
        };
        let whole = collect(ResponseCollector::new()).finish().unwrap();
        assert!(
            whole["instructions"].is_string(),
            "{name}: the recording echoes them"
        );
        let (lean, echo) = collect(ResponseCollector::new().request_echo_as_text())
            .finish_with_echo()
            .unwrap();
        assert!(
            lean.get("instructions").is_none() && !echo.is_empty(),
            "{name}"
        );
        let written: Value = serde_json::from_str(echo.write(&lean).get()).unwrap();
        assert_eq!(written, whole, "{name}");
        let finished = collect(ResponseCollector::new().request_echo_as_text()).finish();
        assert_eq!(finished.unwrap(), whole, "{name}");
    }
}
