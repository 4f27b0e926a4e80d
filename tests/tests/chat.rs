//! Chat Completions through byok in front of a stand-in Codex backend replaying recorded streams.

use byok_e2e::{Byok, Reply, StandIn, fixtures, sse};
use serde_json::{Value, json};

fn chat(stream: bool) -> Value {
    json!({
        "model": "gpt-5",
        "stream": stream,
        "stream_options": {"include_usage": true},
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the weather in New York and Paris?"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {
                "location": {"type": "string"}, "unit": {"type": "string"}}}
        }}],
    })
}

async fn post(byok: &Byok, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(byok.at("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .expect("byok answers")
}

/// The text, tool calls `(id, name, arguments)`, finish reasons and usage a client reads from
/// a Chat stream.
struct Streamed {
    role_first: bool,
    text: String,
    reasoning: String,
    calls: Vec<(String, String, String)>,
    finish_reasons: Vec<String>,
    usage: Option<Value>,
    done_last: bool,
}

fn read_chat_stream(body: &str) -> Streamed {
    let events = sse::events(body);
    let chunks: Vec<Value> = events.iter().filter_map(sse::Event::json).collect();
    let mut out = Streamed {
        role_first: chunks
            .first()
            .is_some_and(|c| c["choices"][0]["delta"]["role"] == "assistant"),
        text: String::new(),
        reasoning: String::new(),
        calls: Vec::new(),
        finish_reasons: Vec::new(),
        usage: None,
        done_last: events.last().is_some_and(|e| e.data == "[DONE]"),
    };
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk", "{chunk}");
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            out.usage = Some(usage.clone());
        }
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        let delta = &choice["delta"];
        out.text += delta["content"].as_str().unwrap_or_default();
        out.reasoning += delta["reasoning_content"].as_str().unwrap_or_default();
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = usize::try_from(call["index"].as_u64().expect("index")).unwrap();
            if index == out.calls.len() {
                out.calls.push(Default::default());
            }
            let entry = &mut out.calls[index];
            if let Some(id) = call["id"].as_str() {
                id.clone_into(&mut entry.0);
            }
            if let Some(name) = call["function"]["name"].as_str() {
                name.clone_into(&mut entry.1);
            }
            entry.2 += call["function"]["arguments"].as_str().unwrap_or_default();
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            out.finish_reasons.push(reason.to_owned());
        }
    }
    out
}

#[tokio::test]
async fn streams_a_text_answer_as_chat_chunks() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let response = post(&byok, &chat(true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let streamed = read_chat_stream(&response.text().await.unwrap());
    assert!(streamed.role_first);
    assert_eq!(streamed.text, fixtures::recorded_text("text"));
    assert_eq!(streamed.finish_reasons, ["stop"]);
    assert!(streamed.done_last);
    let usage = streamed.usage.expect("a usage chunk");
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(usage["completion_tokens_details"]["reasoning_tokens"].is_u64());
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn streams_parallel_tool_calls() {
    let standin = StandIn::start(Reply::Replay("tools")).await;
    let byok = Byok::signed_in(&standin).await;
    let streamed = read_chat_stream(&post(&byok, &chat(true)).await.text().await.unwrap());
    assert_eq!(streamed.calls, fixtures::recorded_calls("tools"));
    assert_eq!(streamed.calls.len(), 2);
    assert_eq!(streamed.finish_reasons, ["tool_calls"]);
    assert!(streamed.done_last);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn streams_reasoning_summaries_as_reasoning_content() {
    let standin = StandIn::start(Reply::Replay("reasoning")).await;
    let byok = Byok::signed_in(&standin).await;
    let streamed = read_chat_stream(&post(&byok, &chat(true)).await.text().await.unwrap());
    let expected = fixtures::recorded_reasoning("reasoning");
    assert!(!expected.is_empty());
    // Summary parts may be separated by a blank line; every word arrives, in order.
    assert_eq!(
        streamed.reasoning.split_whitespace().collect::<Vec<_>>(),
        expected.split_whitespace().collect::<Vec<_>>()
    );
    assert_eq!(streamed.text, fixtures::recorded_text("reasoning"));
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_reasoning_setting_moves_summaries_into_think_tags_or_hides_them() {
    let expected = fixtures::recorded_reasoning("reasoning");
    let words = |text: &str| {
        text.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for (display, streamed_has_tags) in [
        (byok::args::ReasoningDisplay::ThinkTags, true),
        (byok::args::ReasoningDisplay::Hidden, false),
    ] {
        let standin = StandIn::start(Reply::Replay("reasoning")).await;
        let home = Byok::home_signed_in(3600).await;
        let mut settings = Byok::settings(&home, &standin);
        settings.reasoning = display;
        let byok = Byok::start(home, settings).await;
        let streamed = read_chat_stream(&post(&byok, &chat(true)).await.text().await.unwrap());
        assert!(
            streamed.reasoning.is_empty(),
            "{display:?}: no reasoning_content"
        );
        assert!(
            streamed
                .text
                .ends_with(&fixtures::recorded_text("reasoning"))
        );
        let answer: Value = post(&byok, &chat(false)).await.json().await.unwrap();
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned();
        for text in [&streamed.text, &content] {
            match text.split_once("</think>") {
                Some((think, _)) if streamed_has_tags => {
                    let think = think
                        .strip_prefix("<think>")
                        .expect("the text opens with <think>");
                    assert_eq!(words(think), words(&expected));
                }
                None if !streamed_has_tags => assert!(!text.contains(&expected[..20])),
                _ => panic!("{display:?}: unexpected text {text:?}"),
            }
        }
        byok.stop().await.unwrap();
    }
}

#[tokio::test]
async fn answers_a_plain_request_from_a_stream_with_empty_final_output() {
    let standin = StandIn::start(Reply::Replay("text-empty-output")).await;
    let byok = Byok::signed_in(&standin).await;
    let response = post(&byok, &chat(false)).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert!(answer["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let message = &answer["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"], fixtures::recorded_text("text"));
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert!(answer["usage"]["total_tokens"].as_u64().unwrap() > 0);
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn answers_plain_tool_calls_from_a_stream_with_empty_final_output() {
    let standin = StandIn::start(Reply::Replay("tools-empty-output")).await;
    let byok = Byok::signed_in(&standin).await;
    let answer: Value = post(&byok, &chat(false)).await.json().await.unwrap();
    let calls: Vec<(String, String, String)> = answer["choices"][0]["message"]["tool_calls"]
        .as_array()
        .expect("tool_calls")
        .iter()
        .map(|c| {
            assert_eq!(c["type"], "function");
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (
                s(&c["id"]),
                s(&c["function"]["name"]),
                s(&c["function"]["arguments"]),
            )
        })
        .collect();
    assert_eq!(calls, fixtures::recorded_calls("tools"));
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn the_backend_gets_what_it_demands() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let mut body = chat(true);
    body["temperature"] = json!(0.2);
    body["max_tokens"] = json!(100);
    assert_eq!(post(&byok, &body).await.status(), 200);
    let received = standin.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(sent.body["store"], false);
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["instructions"], "You are terse.");
    for refused in ["temperature", "max_tokens", "max_output_tokens"] {
        assert!(
            sent.body.get(refused).is_none(),
            "{refused} reached the backend"
        );
    }
    let roles: Vec<&str> = sent.body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["role"].as_str())
        .collect();
    assert!(!roles.contains(&"system"), "{roles:?}");
    assert_eq!(sent.headers["chatgpt-account-id"], "acc-e2e");
    assert!(
        sent.headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    byok.stop().await.unwrap();
}

#[tokio::test]
async fn an_expired_token_is_refreshed_at_the_issuer_first() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = Byok::home_signed_in(-60).await;
    let settings = Byok::settings(&home, &standin);
    let byok = Byok::start(home, settings).await;
    let streamed = read_chat_stream(&post(&byok, &chat(true)).await.text().await.unwrap());
    assert_eq!(streamed.text, fixtures::recorded_text("text"));
    assert_eq!(standin.refreshes(), 1);
    byok.stop().await.unwrap();
}
