//! Named client keys (`[[client_keys]]` in byok.toml): each key's tokens counted and shown in
//! `/v1/status`, `/metrics` and `byok status`; a key over its daily budget refused with 429,
//! a model it may not use refused naming those it may; the single `client_key` still works.

use byok_e2e::{Byok, Reply, StandIn};
use serde_json::{Value, json};

/// The SHA-256 of `bob-key` (`printf %s bob-key | sha256sum`).
const BOB_SHA256: &str = "9b94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98";

/// What one answer of the `text` recording costs: 2239 input + 15 output tokens.
const PER_ANSWER: u64 = 2254;

const CONFIG: &str = r#"
client_key = "single-key"

[[client_keys]]
name = "alice"
key = "alice-key"
models = ["gpt-5.5*"]
daily_tokens = 3000

[[client_keys]]
name = "bob"
key_sha256 = "9b94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98"
"#;

async fn byok_with_keys(standin: &StandIn) -> Byok {
    let home = Byok::home_signed_in(3600).await;
    std::fs::write(home.path().join("byok.toml"), CONFIG).unwrap();
    assert!(CONFIG.contains(BOB_SHA256));
    let settings = Byok::settings_from_file(&home, standin).expect("byok.toml is valid");
    Byok::start(home, settings).await
}

async fn chat(byok: &Byok, key: Option<&str>, model: &str) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(byok.at("/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "Say hi"}]}));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("byok answers")
}

fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// Two answers for alice (past her budget), one each for bob and the single key.
async fn spend(byok: &Byok) {
    for key in ["alice-key", "alice-key", "bob-key", "single-key"] {
        let model = if key == "alice-key" {
            "gpt-5.5"
        } else {
            "gpt-5.6-sol"
        };
        let response = chat(byok, Some(key), model).await;
        assert_eq!(response.status(), 200, "{key}");
        response.text().await.unwrap();
    }
}

#[tokio::test]
async fn a_key_over_its_daily_budget_gets_429_until_midnight_utc() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = byok_with_keys(&standin).await;

    for key in [None, Some("wrong-key")] {
        let response = chat(&byok, key, "gpt-5.5").await;
        assert_eq!(response.status(), 401, "{key:?}");
    }
    // Under budget: served, however far the answer goes past it.
    for _ in 0..2 {
        let response = chat(&byok, Some("alice-key"), "gpt-5.5").await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    let spent = standin.received().len();

    // Over budget: 429 in OpenAI's shape, saying when it resets, and nothing sent upstream.
    let response = chat(&byok, Some("alice-key"), "gpt-5.5").await;
    assert_eq!(response.status(), 429);
    let retry_after: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let now = byok_types::unix_now();
    let midnight = (now / 86_400 + 1) * 86_400;
    assert_eq!(body["error"]["type"], "tokens", "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["resets_at"], midnight, "{body}");
    assert!((midnight - now - retry_after).abs() <= 2, "{retry_after}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "`alice` has used {} of its 3000 tokens for today (UTC)",
            2 * PER_ANSWER
        )) && message.contains("00:00 UTC"),
        "{message}"
    );
    assert_eq!(standin.received().len(), spent, "nothing goes upstream");
    // Other keys are not affected.
    assert_eq!(chat(&byok, Some("bob-key"), "gpt-5.5").await.status(), 200);
    let metrics = byok
        .get_as("/metrics", "bob-key")
        .await
        .text()
        .await
        .unwrap();
    let series = "byok_client_key_refusals_total{key=\"alice\",reason=\"budget\"}";
    assert_eq!(sample(&metrics, series), Some(1), "{metrics}");
}

#[tokio::test]
async fn a_key_is_refused_a_model_it_may_not_use_and_sees_only_its_models() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = byok_with_keys(&standin).await;

    // A model the key may not use: 403 naming the allowed ones, Chat and Anthropic alike.
    let response = chat(&byok, Some("alice-key"), "gpt-5.6-sol").await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may not use the model `gpt-5.6-sol`; it may use: gpt-5.5*"),
        "{body}"
    );
    let response = reqwest::Client::new()
        .post(byok.at("/v1/messages"))
        .header("x-api-key", "alice-key")
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "permission_error", "{body}");

    // The model list shows a key the models it may use.
    let models: Value = byok
        .get_as("/v1/models", "alice-key")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"gpt-5.5"), "{ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("gpt-5.5")), "{ids:?}");
    let all: Value = byok
        .get_as("/v1/models", "bob-key")
        .await
        .json()
        .await
        .unwrap();
    assert!(all["data"].as_array().unwrap().len() > ids.len(), "{all}");
}

#[tokio::test]
async fn each_key_s_tokens_show_in_status_metrics_and_byok_status() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let byok = byok_with_keys(&standin).await;
    spend(&byok).await;
    let refused = chat(&byok, Some("alice-key"), "gpt-5.6-sol").await;
    assert_eq!(refused.status(), 403);
    let now = byok_types::unix_now();
    let midnight = (now / 86_400 + 1) * 86_400;

    let status: Value = byok
        .get_as("/v1/status", "bob-key")
        .await
        .json()
        .await
        .unwrap();
    let keys = status["client_keys"].as_array().expect("client_keys");
    let key = |name: &str| {
        keys.iter()
            .find(|k| k["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {status}"))
    };
    assert_eq!(key("alice")["used_today"], 2 * PER_ANSWER);
    assert_eq!(key("alice")["daily_tokens"], 3000);
    assert_eq!(key("alice")["models"], json!(["gpt-5.5*"]));
    assert_eq!(key("alice")["resets_at"], midnight);
    assert_eq!(key("bob")["used_today"], PER_ANSWER);
    assert_eq!(key("default")["used_today"], PER_ANSWER);
    assert!(key("bob").get("daily_tokens").is_none());
    assert!(!status.to_string().contains("alice-key"));

    let metrics = byok
        .get_as("/metrics", "alice-key")
        .await
        .text()
        .await
        .unwrap();
    for (series, value) in [
        (
            "byok_client_key_tokens_total{key=\"alice\"}",
            2 * PER_ANSWER,
        ),
        ("byok_client_key_tokens_total{key=\"bob\"}", PER_ANSWER),
        (
            "byok_client_key_used_today_tokens{key=\"alice\"}",
            2 * PER_ANSWER,
        ),
        ("byok_client_key_daily_budget_tokens{key=\"alice\"}", 3000),
        (
            "byok_client_key_refusals_total{key=\"alice\",reason=\"model\"}",
            1,
        ),
    ] {
        assert_eq!(
            sample(&metrics, series),
            Some(value),
            "{series} in\n{metrics}"
        );
    }

    // `byok status` asks the running server with the settings' key and shows each key.
    let mut settings = Byok::settings_from_file(&byok.home, &standin).expect("byok.toml is valid");
    settings.port = byok.url.rsplit(':').next().unwrap().parse().unwrap();
    let report = byok::status::report(&settings, now).await.unwrap();
    assert!(
        report.contains(&format!(
            "alice: {} tokens of 3000, budget spent until",
            2 * PER_ANSWER
        )) && report.contains("; models gpt-5.5*")
            && report.contains(&format!("bob: {PER_ANSWER} tokens\n")),
        "{report}"
    );
}

#[tokio::test]
async fn a_byok_toml_with_a_broken_client_key_entry_is_refused_naming_it() {
    let standin = StandIn::start(Reply::Replay("text")).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("byok.toml"),
        "[[client_keys]]\nname = \"ci\"\nkey = \"k\"\nkey_sha256 = \"00\"\n",
    )
    .unwrap();
    let err = Byok::settings_from_file(&home, &standin)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("`[[client_keys]]` entry 1 (`ci`) has both `key` and `key_sha256`"),
        "{err}"
    );
}
