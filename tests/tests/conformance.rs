//! What reaches the Codex backend through byok, next to what the official Codex CLI 0.169.0
//! sends it (`data/codex-cli/chatgpt-mode/`), header by header and top-level field by field.
//!
//! Two clients: the Codex CLI itself (its two recorded requests of one turn to a gateway,
//! replayed with their headers), and a Chat client. Every difference is listed below with its
//! reason; any other fails the test.

use std::collections::BTreeSet;

use byok_e2e::{Byok, Reply, StandIn, fixtures};
use serde_json::{Value, json};

/// A recorded request.
fn recorded(name: &str) -> Value {
    let file = fixtures::path(&format!("codex-cli/chatgpt-mode/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

/// Headers whose presence differs from the official client's, each for a reason.
const HEADERS_ALLOWED_TO_DIFFER: [(&str, &str); 3] = [
    // byok sends the body uncompressed; the backend takes identity encoding too.
    (
        "content-encoding",
        "byok does not zstd-compress request bodies",
    ),
    // Per request, and set by the HTTP stack.
    ("content-length", "per request"),
    ("host", "the stand-in's address"),
];

/// Headers whose values are per run or per machine: compared by rule, not by value.
const VALUES_BY_RULE: [&str; 11] = [
    "authorization",
    "chatgpt-account-id",
    "user-agent",
    "x-codex-turn-metadata",
    "x-codex-window-id",
    "x-client-request-id",
    "session-id",
    "thread-id",
    "x-codex-turn-state",
    "content-length",
    "host",
];

fn header_names(headers: &Value) -> BTreeSet<String> {
    headers
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.to_ascii_lowercase())
        .filter(|k| !HEADERS_ALLOWED_TO_DIFFER.iter().any(|(n, _)| n == k))
        .collect()
}

fn received_names(received: &byok_e2e::Received) -> BTreeSet<String> {
    received
        .headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| !HEADERS_ALLOWED_TO_DIFFER.iter().any(|(n, _)| n == k))
        .collect()
}

fn fields(body: &Value) -> BTreeSet<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

/// What holds of every request byok sends, as of the official one: the same identity
/// values, one id for the session everywhere, the user agent in the official format.
fn assert_identity_and_session(received: &byok_e2e::Received, official: &Value) {
    let official_headers = &official["headers"];
    for (name, value) in official_headers.as_object().unwrap() {
        let name = name.to_ascii_lowercase();
        if VALUES_BY_RULE.contains(&name.as_str())
            || HEADERS_ALLOWED_TO_DIFFER.iter().any(|(n, _)| *n == name)
        {
            continue;
        }
        if name == "x-codex-beta-features" && received.header(&name).is_none() {
            continue; // checked by the callers: only the CLI's own passes
        }
        assert_eq!(
            received.header(&name),
            value.as_str(),
            "header {name} differs from the official client's"
        );
    }
    // The signed-in account's, as the official client sends its own.
    assert_eq!(received.header("chatgpt-account-id"), Some("acc-e2e"));
    let agent = received.header("user-agent").unwrap();
    assert!(agent.starts_with("codex_exec/0.169.0 ("), "{agent}");
    assert!(agent.ends_with(" (codex_exec; 0.169.0)"), "{agent}");
    let session = received.header("session-id").unwrap();
    assert_eq!(received.header("thread-id"), Some(session));
    assert_eq!(received.header("x-client-request-id"), Some(session));
    assert_eq!(received.body["prompt_cache_key"], session);
    assert_eq!(received.body["client_metadata"]["session_id"], session);
    assert_eq!(uuid::Uuid::parse_str(session).unwrap().get_version_num(), 7);
}

#[tokio::test]
async fn the_codex_cli_through_byok_reaches_the_backend_as_the_official_client() {
    let standin = StandIn::start(Reply::ToolLoop {
        call: "tools",
        answer: "text",
    })
    .await;
    let byok = Byok::signed_in(&standin).await;
    let client = reqwest::Client::new();
    for name in ["custom-direct-01", "custom-direct-02"] {
        let request = recorded(name);
        let mut post = client.post(byok.at("/v1/responses"));
        for (header, value) in request["headers"].as_object().unwrap() {
            if !["authorization", "host", "content-length"].contains(&header.as_str()) {
                post = post.header(header, value.as_str().unwrap());
            }
        }
        let answer = post.json(&request["body"]).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{name}");
        answer.text().await.unwrap();
    }

    let received = standin.received();
    assert_eq!(received.len(), 2);
    for (n, (sent, official)) in received
        .iter()
        .zip([recorded("official-http-05"), recorded("official-http-06")])
        .enumerate()
    {
        let client = recorded(&format!("custom-direct-0{}", n + 1));
        // Headers: the official set, no more, no fewer.
        assert_eq!(received_names(sent), header_names(&official["headers"]));
        assert_identity_and_session(sent, &official);
        // The CLI's session, turn state and turn headers pass through unchanged.
        for name in [
            "session-id",
            "x-codex-window-id",
            "x-codex-turn-metadata",
            "x-codex-beta-features",
            "x-codex-turn-state",
        ] {
            assert_eq!(
                sent.header(name),
                client["headers"][name].as_str(),
                "{name}"
            );
        }
        // Top-level fields: the official ones, plus `instructions: ""`, which byok-translate
        // adds (the backend refused requests without a string there in 2025; the 2026 client
        // sends its base prompt as the first developer message instead).
        let mut expected = fields(&official["body"]);
        expected.insert("instructions".into());
        assert_eq!(fields(&sent.body), expected);
        assert_eq!(sent.body["instructions"], "");
        // The CLI's own values pass unchanged (its installation id included).
        for field in [
            "prompt_cache_key",
            "client_metadata",
            "reasoning",
            "include",
            "text",
        ] {
            assert_eq!(sent.body[field], client["body"][field], "{field}");
        }
        // `client_metadata` lacks two keys the official client adds in ChatGPT mode only:
        // `mcp_attribution` and `guardian_credits_requested` (the CLI omits them for a custom
        // provider, and byok requests no guardian credits).
        let metadata = fields(&sent.body["client_metadata"]);
        let official_metadata = fields(&official["body"]["client_metadata"]);
        let missing: Vec<&String> = official_metadata.difference(&metadata).collect();
        assert_eq!(missing, ["guardian_credits_requested", "mcp_attribution"]);
    }
}

#[tokio::test]
async fn a_chat_client_reaches_the_backend_as_the_official_client_with_one_session_per_conversation()
 {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = Byok::signed_in(&standin).await;
    let official = recorded("official-http-05");
    let turn1 = json!([
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Say hi."}
    ]);
    let turn2 = json!([
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Again."}
    ]);
    let other = json!([{"role": "user", "content": "Another conversation."}]);
    for messages in [&turn1, &turn2, &other] {
        let body = json!({"model": "gpt-5.5", "stream": true, "messages": messages});
        let answer = byok.post("/v1/chat/completions", &body).await;
        assert_eq!(answer.status(), 200);
        answer.text().await.unwrap();
    }

    let received = standin.received();
    assert_eq!(received.len(), 3);
    for sent in &received {
        // Headers: the official set but `x-codex-beta-features` (byok speaks no remote
        // compaction to Chat clients), `x-codex-turn-metadata` (it describes the CLI's
        // sandbox and working directory, which a Chat client has none of) and
        // `x-codex-turn-state` (only on a turn's second request, as the official one).
        let mut expected = header_names(&official["headers"]);
        for name in [
            "x-codex-beta-features",
            "x-codex-turn-metadata",
            "x-codex-turn-state",
        ] {
            expected.remove(name);
        }
        assert_eq!(received_names(sent), expected);
        assert_identity_and_session(sent, &official);
        let session = sent.header("session-id").unwrap();
        assert_eq!(
            sent.header("x-codex-window-id"),
            Some(format!("{session}:0").as_str())
        );
        // Fields: the official ones but those a Chat client chooses (`tools`,
        // `tool_choice`, `parallel_tool_calls`, `text`: it sent none), plus `instructions`
        // (the system message; the backend takes it there).
        let mut expected = fields(&official["body"]);
        for field in ["tools", "tool_choice", "parallel_tool_calls", "text"] {
            expected.remove(field);
        }
        expected.insert("instructions".into());
        assert_eq!(fields(&sent.body), expected);
        let metadata = &sent.body["client_metadata"];
        for key in [
            "x-codex-installation-id",
            "x-codex-window-id",
            "session_id",
            "thread_id",
            "turn_id",
            "root_turn_id",
        ] {
            assert!(metadata[key].is_string(), "client_metadata.{key}");
        }
    }
    // One conversation, one session and cache key; another conversation, another.
    let session = |n: usize| received[n].header("session-id").unwrap();
    assert_eq!(session(0), session(1));
    assert_ne!(session(0), session(2));
    assert_eq!(
        received[0].body["prompt_cache_key"],
        received[1].body["prompt_cache_key"]
    );
    // Turn 2 is a new turn.
    assert_ne!(
        received[0].body["client_metadata"]["turn_id"],
        received[1].body["client_metadata"]["turn_id"]
    );
}
