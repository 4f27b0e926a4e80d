//! API-key mode against a stand-in OpenAI API: bodies and streams passed through.

mod common;

use std::sync::Arc;
use std::time::Duration;

use byok_executor::{API_KEY_ACCOUNT, prompt_cache_key};
use byok_types::{ChatRequest, ProviderId, RateLimitStore, Secret};
use common::*;
use serde_json::{Value, json};

const KEY: &str = "sk-test-123";

const CHAT_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);

/// "Hi" to `gpt-4.1`, not streamed.
fn hi() -> ChatRequest {
    ChatRequest::from_value(json!({
        "model": "gpt-4.1", "messages": [{"role": "user", "content": "Hi"}]
    }))
    .unwrap()
}

fn expected_cache_key() -> String {
    let name = format!("cli-proxy-api:codex:prompt-cache:{KEY}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

#[tokio::test]
async fn chat_streams_pass_through_byte_for_byte() {
    let upstream = stand_in(vec![Reply::Sse(CHAT_STREAM.into())]).await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;
    let sent = json!({
        "model": "my-own-model",
        "stream": true,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.3,
        "max_tokens": 20
    });

    let req = ChatRequest::from_value(sent.clone()).unwrap();
    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), req)
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(sse, CHAT_STREAM);
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v1/chat/completions");
    let mut expected = sent;
    expected["prompt_cache_key"] = json!(expected_cache_key());
    assert_eq!(received[0].body, expected);
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        received[0].header("conversation_id"),
        Some(expected_cache_key().as_str())
    );
    assert_eq!(
        received[0].header("session_id"),
        Some(expected_cache_key().as_str())
    );
    assert_eq!(prompt_cache_key(&Secret::new(KEY)), expected_cache_key());
}

#[tokio::test]
async fn a_client_prompt_cache_key_is_kept() {
    let completion = json!({"id": "chatcmpl-2", "object": "chat.completion", "choices": []});
    let upstream = stand_in(vec![Reply::Json(completion.clone())]).await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;
    let req = ChatRequest::from_value(json!({
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "Hi"}],
        "prompt_cache_key": "mine"
    }))
    .unwrap();

    let answer = complete(
        executor
            .chat(&byok_types::RequestContext::local(), req)
            .await
            .unwrap(),
    );

    assert_eq!(answer, completion);
    assert_eq!(upstream.received()[0].body["prompt_cache_key"], "mine");
}

#[tokio::test]
async fn a_chat_stream_cut_short_ends_with_an_error_not_done() {
    let cut = CHAT_STREAM.replace("data: [DONE]\n\n", "");
    let upstream = stand_in(vec![Reply::Sse(cut.clone())]).await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;
    let req = ChatRequest::from_value(json!({
        "model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "Hi"}]
    }))
    .unwrap();

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), req)
            .await
            .unwrap(),
    )
    .await;

    assert!(sse.starts_with(&cut));
    assert!(!sse.contains("[DONE]"));
    let last: Value = serde_json::from_str(data_lines(&sse).last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "upstream_error");
}

#[tokio::test]
async fn responses_go_to_the_openai_responses_endpoint() {
    let upstream = stand_in(vec![Reply::Replay("text")]).await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;
    let sent = json!({"model": "gpt-5", "stream": true, "input": "Hello", "temperature": 0.5});

    let sse = stream_text(
        executor
            .responses(&byok_types::RequestContext::local(), sent.clone())
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(sse, fixture("text"));
    let received = upstream.received();
    assert_eq!(received[0].path, "/v1/responses");
    let mut expected = sent;
    expected["prompt_cache_key"] = json!(expected_cache_key());
    assert_eq!(received[0].body, expected);
}

#[tokio::test]
async fn responses_are_served_through_chat_when_the_upstream_has_no_responses_endpoint() {
    let upstream = stand_in(vec![
        Reply::Status(404, r#"{"detail":"Not Found"}"#.into()),
        Reply::Sse(CHAT_STREAM.into()),
        Reply::Json(json!({
            "id": "chatcmpl-3", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi again"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        })),
    ])
    .await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;

    let body = json!({"model": "gpt-4.1", "stream": true, "input": "Hello"});
    let sse = stream_text(
        executor
            .responses(&byok_types::RequestContext::local(), body)
            .await
            .unwrap(),
    )
    .await;

    let events: Vec<Value> = data_lines(&sse)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert_eq!(deltas, "Hello there");
    assert!(events.iter().any(|e| e["type"] == "response.completed"));

    // The next request goes to Chat Completions straight away, here without streaming.
    let body = json!({"model": "gpt-4.1", "input": "Hello"});
    let response = complete(
        executor
            .responses(&byok_types::RequestContext::local(), body)
            .await
            .unwrap(),
    );
    assert_eq!(response["object"], "response");
    assert!(response.to_string().contains("Hi again"));

    let paths: Vec<String> = upstream.received().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/responses",
            "/v1/chat/completions",
            "/v1/chat/completions"
        ]
    );
    let chat_body = &upstream.received()[1].body;
    assert_eq!(chat_body["messages"][0]["role"], "user");
    assert_eq!(chat_body["prompt_cache_key"], expected_cache_key());
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_body() {
    let body = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
    let upstream = stand_in(vec![Reply::Status(401, body.into())]).await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;

    let err = executor
        .chat(&byok_types::RequestContext::local(), hi())
        .await
        .unwrap_err();

    assert_eq!(err.status(), 401);
    assert_eq!(err.to_openai_json()["error"]["code"], "invalid_api_key");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn a_rate_limit_is_reported_with_retry_after_and_its_headers_recorded() {
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    let upstream = stand_in(vec![Reply::StatusWith(
        429,
        body.into(),
        vec![
            ("retry-after", "20".into()),
            ("x-ratelimit-remaining-requests", "0".into()),
        ],
    )])
    .await;
    let limits = Arc::new(RateLimitStore::default());
    let (executor, _keep) = api_key_executor_recording(&upstream, KEY, &limits).await;

    let err = executor
        .chat(&byok_types::RequestContext::local(), hi())
        .await
        .unwrap_err();

    assert_eq!(err.status(), 429);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(upstream.received().len(), 1, "a 429 is not retried");
    let snapshot = limits.get(ProviderId::OpenAi, API_KEY_ACCOUNT).unwrap();
    assert_eq!(snapshot.number("x-ratelimit-remaining-requests"), Some(0.0));
}

#[tokio::test]
async fn events_far_larger_than_a_read_buffer_pass_through_whole() {
    // A 200 KB event takes many reads of the fixed upstream read buffer; none of it may be lost.
    let text = "long answer ".repeat(200_000 / 12);
    let event = json!({
        "id": "chatcmpl-3",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
    });
    let body = format!("data: {event}\n\ndata: [DONE]\n\n");
    let upstream = stand_in(vec![Reply::Sse(body.clone())]).await;
    let (executor, _keep) = api_key_executor(&upstream, KEY).await;
    let req = ChatRequest::from_value(json!({
        "model": "gpt-4.1",
        "stream": true,
        "messages": [{"role": "user", "content": "Write a lot"}]
    }))
    .unwrap();

    let sse = stream_text(
        executor
            .chat(&byok_types::RequestContext::local(), req)
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(sse, body);
}

#[tokio::test]
async fn a_large_answer_head_is_read_and_its_rate_limit_headers_recorded() {
    // Some 5 KB of headers, more than real upstream heads carry: they must fit the fixed
    // upstream read buffer.
    let headers: Vec<(&'static str, String)> = [
        "x-ratelimit-limit-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-request-id",
        "openai-organization",
        "cf-ray",
        "set-cookie",
        "x-envoy-upstream-service-time",
    ]
    .into_iter()
    .map(|name| (name, "7".repeat(600)))
    .chain([("x-ratelimit-remaining-requests", "3".to_owned())])
    .collect();
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#;
    let upstream = stand_in(vec![Reply::StatusWith(429, body.into(), headers)]).await;
    let limits = Arc::new(RateLimitStore::default());
    let (executor, _keep) = api_key_executor_recording(&upstream, KEY, &limits).await;

    let err = executor
        .chat(&byok_types::RequestContext::local(), hi())
        .await
        .unwrap_err();

    assert_eq!(err.status(), 429);
    assert_eq!(
        err.to_openai_json()["error"]["message"],
        "Rate limit reached"
    );
    let snapshot = limits.get(ProviderId::OpenAi, API_KEY_ACCOUNT).unwrap();
    assert_eq!(snapshot.number("x-ratelimit-remaining-requests"), Some(3.0));
}
