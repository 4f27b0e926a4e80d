//! A team: two byok instances sharing one real `redis-server` (`state_url`), in front of one
//! stand-in backend. What one instance stored, counted or learnt, the other knows.

use std::time::{Duration, Instant};

use byok_e2e::{Byok, Reply, StandIn, fixtures};
use byok_test_support::eventually;
use byok_test_support::redis::RedisServer;
use serde_json::{Value, json};

const STATE_KEY: &str = "team-state-key-0123456789abcdef";

/// The `text` recording's cost: 2239 input + 15 output tokens.
const PER_ANSWER: u64 = 2254;

/// byok signed in to the stand-in's account, with `config` and the team's Redis in byok.toml.
async fn instance(standin: &StandIn, redis: &RedisServer, config: &str) -> Byok {
    instance_for(standin, redis, config, 3600).await
}

/// [`instance`], its access token expiring `expires_in` seconds from now.
async fn instance_for(
    standin: &StandIn,
    redis: &RedisServer,
    config: &str,
    expires_in: i64,
) -> Byok {
    start_in_team(
        Byok::home_signed_in(expires_in).await,
        standin,
        redis,
        config,
    )
    .await
}

/// byok with its home `home`, `config` and the team's Redis in byok.toml.
async fn start_in_team(
    home: tempfile::TempDir,
    standin: &StandIn,
    redis: &RedisServer,
    config: &str,
) -> Byok {
    let config = format!(
        "state_url = \"{}\"\nstate_key = \"{STATE_KEY}\"\n{config}",
        redis.url()
    );
    std::fs::write(home.path().join("byok.toml"), config).unwrap();
    let settings = Byok::settings_from_file(&home, standin).expect("byok.toml is valid");
    Byok::start(home, settings).await
}

/// byok signed in to two accounts, `me@example.com` (first in turn) and `two@example.com`
/// (`acc-two`), in the team of `redis`.
async fn two_accounts_in_team(standin: &StandIn, redis: &RedisServer) -> Byok {
    let home = Byok::home_signed_in(3600).await;
    Byok::sign_in_as(home.path(), "two@example.com", "acc-two", 3600).await;
    start_in_team(home, standin, redis, "").await
}

async fn send(byok: &Byok, path: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(byok.at(path)).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("byok answers")
}

#[tokio::test]
async fn a_response_created_on_one_instance_is_continued_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    standin.answer_afresh();
    let a = instance(&standin, &redis, "").await;
    let b = instance(&standin, &redis, "").await;

    let first = send(
        &a,
        "/v1/responses",
        None,
        &json!({"model": "gpt-5.5", "input": "question 1"}),
    )
    .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let id = first["id"].as_str().unwrap();

    let second = send(
        &b,
        "/v1/responses",
        None,
        &json!({"model": "gpt-5.5", "input": "question 2", "previous_response_id": id}),
    )
    .await;
    assert_eq!(second.status(), 200, "{}", second.text().await.unwrap());
    // B sent the whole conversation upstream: A's question and answer, then its own.
    let received = standin.received();
    let input = received[1].body["input"].as_array().unwrap();
    let texts: Vec<String> = input
        .iter()
        .filter(|i| i["type"] == "message")
        .map(|i| match &i["content"] {
            Value::String(text) => text.clone(),
            parts => parts[0]["text"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    assert_eq!(
        texts,
        ["question 1", &fixtures::recorded_text("text"), "question 2"]
    );
    // And B answers GET for A's response; a DELETE on B is seen by A.
    let got = b.get(&format!("/v1/responses/{id}")).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.json::<Value>().await.unwrap()["id"], id);
    let deleted = reqwest::Client::new()
        .delete(b.at(&format!("/v1/responses/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(a.get(&format!("/v1/responses/{id}")).await.status(), 404);
}

#[tokio::test]
async fn a_key_over_its_budget_gets_429_on_both_instances() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    let config = "[[client_keys]]\nname = \"alice\"\nkey = \"alice-key\"\ndaily_tokens = 3000\n";
    let a = instance(&standin, &redis, config).await;
    let b = instance(&standin, &redis, config).await;
    let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});

    // One answer on each: 4508 tokens spent between them, past the budget of 3000.
    for byok in [&a, &b] {
        let response = send(byok, "/v1/chat/completions", Some("alice-key"), &chat).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    eventually("both instances' tokens in Redis", async || {
        used_today(&a, "alice-key").await == 2 * PER_ANSWER
    })
    .await;
    for byok in [&a, &b] {
        let response = send(byok, "/v1/chat/completions", Some("alice-key"), &chat).await;
        assert_eq!(response.status(), 429);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("has used {} of its 3000 tokens", 2 * PER_ANSWER)),
            "{body}"
        );
    }
    assert_eq!(standin.received().len(), 2, "nothing more went upstream");
}

/// Sends chat requests with `key` over `urls` in turn, `workers` at a time, until `stop`;
/// returns each answer's status.
async fn traffic(
    urls: Vec<String>,
    key: &'static str,
    workers: usize,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<u16> {
    let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    let worker = |n: usize| {
        let (urls, chat, stop) = (urls.clone(), chat.clone(), stop.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut statuses = Vec::new();
            let mut turn = n;
            while !*stop.borrow() {
                let url = format!("{}/v1/chat/completions", urls[turn % urls.len()]);
                turn += 1;
                let response = client.post(url).bearer_auth(key).json(&chat).send().await;
                let status = match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.text().await.unwrap_or_default();
                        if status != 200 {
                            // Shown with the test's failure.
                            eprintln!("{status}: {body}");
                        }
                        status
                    }
                    Err(_) => 0,
                };
                statuses.push(status);
            }
            statuses
        })
    };
    let handles: Vec<_> = (0..workers).map(worker).collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.extend(handle.await.expect("a worker"));
    }
    statuses
}

/// The tokens `/v1/status` says the first client key, `key`, spent today.
async fn used_today(byok: &Byok, key: &str) -> u64 {
    let status: Value = byok.get_as("/v1/status", key).await.json().await.unwrap();
    status["client_keys"][0]["used_today"].as_u64().unwrap_or(0)
}

/// A Responses request without references to the byok at `url`, with `key`, answered 200:
/// the answer.
async fn respond(url: String, key: &'static str) -> Value {
    let body = json!({"model": "gpt-5.5", "input": "hi"});
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/responses"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("byok answers");
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    answer
}

/// `/readyz`'s `shared_state.status` and `/metrics`' `byok_shared_state_up` of `byok`.
async fn outage_shown(byok: &Byok, key: &str) -> (String, String) {
    let ready: Value = byok.get("/readyz").await.json().await.unwrap();
    let metrics = byok.get_as("/metrics", key).await.text().await.unwrap();
    let up = metrics
        .lines()
        .find(|l| l.starts_with("byok_shared_state_up{at=\"redis 127.0.0.1:"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or("absent")
        .to_owned();
    (
        ready["shared_state"]["status"]
            .as_str()
            .unwrap_or("absent")
            .to_owned(),
        up,
    )
}

/// How Redis goes away mid-run.
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// Killed (`SIGKILL`), then started again from its append-only file: connections refused
    /// meanwhile, dropped at once.
    Killed,
    /// Frozen (`SIGSTOP`), then resumed: connections open, nothing answered (each command
    /// times out), and what was sent meanwhile run at the end, as behind a network that
    /// drops packets for a while.
    Frozen,
}

#[tokio::test]
async fn redis_killed_and_restarted_mid_run_loses_no_request_and_refreshes_once() {
    outage_mid_run(Outage::Killed).await;
}

#[tokio::test]
async fn redis_frozen_mid_run_loses_no_request_and_refreshes_once() {
    outage_mid_run(Outage::Frozen).await;
}

/// Two instances under traffic while Redis goes away (`outage`) and comes back, the token
/// coming due meanwhile: every request answered, one refresh, the outage shown while it lasts.
async fn outage_mid_run(outage: Outage) {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    standin.answer_afresh();
    let config =
        "[[client_keys]]\nname = \"alice\"\nkey = \"alice-key\"\ndaily_tokens = 100000000\n";
    // byok refreshes a token 5 minutes before it expires: these need it 12 s from now, while
    // Redis is gone.
    let signed_in = Instant::now();
    let a = instance_for(&standin, &redis, config, 300 + 12).await;
    let b = instance_for(&standin, &redis, config, 300 + 12).await;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let load = tokio::spawn(traffic(
        vec![a.url.clone(), b.url.clone()],
        "alice-key",
        4,
        stopping,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    for byok in [&a, &b] {
        assert_eq!(
            outage_shown(byok, "alice-key").await,
            ("up".into(), "1".into())
        );
    }

    match outage {
        Outage::Killed => redis.kill(),
        Outage::Frozen => redis.freeze(),
    }
    let killed = standin.received().len();
    // A Responses request without references is served too (its answer is not kept).
    let responded = tokio::spawn(respond(a.url.clone(), "alice-key"));
    // The outage shows on both within the second of their watch; both still take traffic.
    for byok in [&a, &b] {
        eventually("the outage in /readyz and /metrics", async || {
            outage_shown(byok, "alice-key").await == ("unreachable".into(), "0".into())
        })
        .await;
        assert_eq!(byok.get("/readyz").await.status(), 200);
    }
    // Past the token's refresh time: the refresh waits for Redis (its lock), never without it.
    tokio::time::sleep_until((signed_in + Duration::from_secs(14)).into()).await;
    let during = standin.received().len() - killed;
    assert_eq!(standin.refreshes(), 0, "no refresh without the lock");

    match outage {
        Outage::Killed => redis.start_again(),
        Outage::Frozen => redis.thaw(),
    }
    for byok in [&a, &b] {
        eventually("Redis back in /readyz and /metrics", async || {
            outage_shown(byok, "alice-key").await == ("up".into(), "1".into())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(true).unwrap();
    let statuses = load.await.unwrap();
    assert_eq!(responded.await.unwrap()["status"], "completed");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        // Each worker at least once (frozen, each request waits out a few commands' second).
        during >= 4,
        "only {during} requests served while Redis was gone"
    );
    assert_eq!(
        standin.refreshes(),
        1,
        "one refresh for the team, across the outage"
    );

    // Stored responses work again, whichever instance is asked.
    let id = respond(a.url.clone(), "alice-key").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = b.get_as(&format!("/v1/responses/{id}"), "alice-key").await;
    assert_eq!(got.status(), 200);
    // Every token counted, those of the outage included, is in Redis once: both instances
    // agree (an increment Redis applied but could not answer as it was killed is sent again,
    // and not counted again).
    let answered = u64::try_from(statuses.len()).unwrap() + 2;
    for byok in [&a, &b] {
        eventually("every answer's tokens in Redis", async || {
            let used = used_today(byok, "alice-key").await;
            used == answered * PER_ANSWER
        })
        .await;
    }
}

#[tokio::test]
async fn a_redis_restarted_empty_gets_the_team_s_accounts_back_from_its_instances() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    let a = instance(&standin, &redis, "").await;
    let b = instance(&standin, &redis, "").await;
    let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    for byok in [&a, &b] {
        assert_eq!(
            send(byok, "/v1/chat/completions", None, &chat)
                .await
                .status(),
            200
        );
    }

    // Back without its data (no persistence, or an empty replica taking over).
    redis.start_again_empty();
    for byok in [&b, &a, &b] {
        let response = send(byok, "/v1/chat/completions", None, &chat).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    // The instances published the team's accounts again: one joining now, signed in nowhere
    // itself, serves with them.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("byok.toml"),
        format!(
            "state_url = \"{}\"\nstate_key = \"{STATE_KEY}\"\n",
            redis.url()
        ),
    )
    .unwrap();
    let settings = Byok::settings_from_file(&home, &standin).unwrap();
    let c = Byok::start(home, settings).await;
    let response = send(&c, "/v1/chat/completions", None, &chat).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(
        standin
            .received()
            .last()
            .unwrap()
            .header("chatgpt-account-id"),
        Some(byok_e2e::harness::ACCOUNT_ID)
    );
    assert_eq!(standin.refreshes(), 0);
}

#[tokio::test]
async fn a_team_instance_does_not_start_without_its_redis_or_its_key() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    for (config, expected) in [
        (
            format!("state_url = \"{}\"\n", redis.url()),
            "Redis needs a `state_key`",
        ),
        (
            "state_url = \"redis://127.0.0.1:1/0\"\nstate_key = \"team-state-key-0123456789abcdef\"\n".to_owned(),
            "cannot reach Redis at 127.0.0.1:1",
        ),
    ] {
        let home = Byok::home_signed_in(3600).await;
        std::fs::write(home.path().join("byok.toml"), &config).unwrap();
        let settings = Byok::settings_from_file(&home, &standin).unwrap();
        let listener = byok::serve::bind(&settings).await.unwrap();
        let err = byok::serve::run(settings, listener, std::future::pending())
            .await
            .expect_err("refused");
        assert!(err.to_string().contains(expected), "{config}\n{err}");
    }
    redis.kill();
}

#[tokio::test]
async fn an_account_at_its_usage_limit_through_one_instance_rests_for_the_other_at_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::UsageLimitFor {
        account_id: byok_e2e::harness::ACCOUNT_ID,
        otherwise: "text",
    })
    .await;
    let a = two_accounts_in_team(&standin, &redis).await;
    let b = two_accounts_in_team(&standin, &redis).await;
    let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    let account_of = |r: &byok_test_support::Received| {
        r.header("chatgpt-account-id")
            .unwrap_or_default()
            .to_owned()
    };

    // Two requests on A: the accounts take turns, so one of them meets the limit on
    // me@example.com, which rests; two@example.com answers both.
    for _ in 0..2 {
        let response = send(&a, "/v1/chat/completions", None, &chat).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    let on_a = standin.received().len();
    assert!(
        standin
            .received()
            .iter()
            .any(|r| account_of(r) == byok_e2e::harness::ACCOUNT_ID),
        "A met the limit"
    );

    // B never asks the resting account, from its first request on.
    for _ in 0..4 {
        let response = send(&b, "/v1/chat/completions", None, &chat).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    let asked: Vec<String> = standin.received()[on_a..].iter().map(account_of).collect();
    assert_eq!(asked, ["acc-two"; 4]);
    let status: Value = b.get("/v1/status").await.json().await.unwrap();
    let me = status["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|acc| acc["name"] == "me@example.com")
        .expect("me@example.com");
    assert!(
        me["resting_until"].as_i64().unwrap() > byok_types::unix_now() + 3000,
        "{status}"
    );
}

#[tokio::test]
async fn fifty_requests_over_two_instances_with_an_expired_token_refresh_it_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    let a = instance_for(&standin, &redis, "", -60).await;
    let b = instance_for(&standin, &redis, "", -60).await;
    let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    let requests = (0..50).map(|i| {
        let byok = if i % 2 == 0 { &a } else { &b };
        let chat = &chat;
        async move {
            let response = send(byok, "/v1/chat/completions", None, chat).await;
            let status = response.status();
            response.text().await.unwrap();
            status
        }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(standin.refreshes(), 1, "one refresh for the whole team");
    // The team's tokens are sealed in Redis: neither token is readable there.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg("byok:accounts")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(!sealed.is_empty());
    for secret in [&b"rt-"[..], b"me@example.com", b"eyJ"] {
        assert!(
            !sealed.windows(secret.len()).any(|w| w == secret),
            "plain text in Redis"
        );
    }
}

#[tokio::test]
async fn turn_two_through_the_other_instance_goes_to_the_account_that_served_turn_one() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    let a = two_accounts_in_team(&standin, &redis).await;
    let b = two_accounts_in_team(&standin, &redis).await;
    let chat = |messages: Value| json!({"model": "gpt-5.5", "messages": messages});
    let ask = async |byok: &Byok, body: &Value| {
        let response = send(byok, "/v1/chat/completions", None, body).await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        let received = standin.received();
        let last = received.last().unwrap();
        let account = last.header("chatgpt-account-id").unwrap().to_owned();
        let token = last.header("authorization").unwrap().to_owned();
        (answer, account, token)
    };

    // Another conversation on B first: B's own next turn is the other account (without the
    // team's affinity, turn 2 below would go there).
    let (_, warm_up, _) = ask(&b, &chat(json!([{"role": "user", "content": "elsewhere"}]))).await;
    let turn1 = json!([{"role": "user", "content": "Tell me a story"}]);
    let (answer, first, first_token) = ask(&a, &chat(turn1.clone())).await;
    assert_eq!(
        first, warm_up,
        "each instance's first turn is the first account"
    );

    // A tells the team in the background of its answer: told by now, as a client's next turn
    // would find it (B's warm-up conversation and turn 1).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    eventually("both conversations' accounts in Redis", async || {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("byok:affinity:*")
            .query_async(&mut raw)
            .await
            .unwrap();
        keys.len() == 2
    })
    .await;
    let mut turn2 = turn1.as_array().unwrap().clone();
    turn2.push(json!({"role": "assistant", "content": answer["choices"][0]["message"]["content"]}));
    turn2.push(json!({"role": "user", "content": "Go on"}));
    let (_, second, second_token) = ask(&b, &chat(Value::Array(turn2.clone()))).await;
    assert_eq!(second, first, "turn 2 on B went to turn 1's account");
    assert_eq!(second_token, first_token);
    // And turn 3, back on A, stays there too.
    turn2.push(json!({"role": "assistant", "content": "..."}));
    turn2.push(json!({"role": "user", "content": "The end?"}));
    let (_, third, _) = ask(&a, &chat(Value::Array(turn2))).await;
    assert_eq!(third, first);
}

#[tokio::test]
async fn the_rate_limit_figures_learnt_through_one_instance_show_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    let a = instance(&standin, &redis, "").await;
    let b = instance(&standin, &redis, "").await;
    let recorded: f64 = fixtures::recorded_headers("text")
        .into_iter()
        .find(|(name, _)| name == "x-codex-primary-used-percent")
        .and_then(|(_, value)| value.parse().ok())
        .expect("the recording has the header");
    let chat = json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
    let response = send(&a, "/v1/chat/completions", None, &chat).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();
    assert_eq!(standin.received().len(), 1);

    // B sent nothing upstream, and shows what A's answer said: in /v1/status and /metrics.
    let primary_on_b = async || {
        let status: Value = b.get("/v1/status").await.json().await.unwrap();
        status["accounts"][0]["rate_limits"][0]["primary"].clone()
    };
    eventually("A's figures on B", async || {
        primary_on_b().await["used_percent"].as_f64() == Some(recorded)
    })
    .await;
    let primary = primary_on_b().await;
    assert_eq!(primary["window_minutes"], 299);
    assert!(primary["resets_at"].as_i64().unwrap() > byok_types::unix_now());
    let metrics = b.get("/metrics").await.text().await.unwrap();
    let gauge = metrics
        .lines()
        .find(|l| {
            l.starts_with("byok_ratelimit_used_percent{")
                && l.contains("me@example.com")
                && l.contains("codex:primary")
        })
        .unwrap_or_else(|| panic!("no gauge on B:\n{metrics}"));
    let value: Option<f64> = gauge.rsplit(' ').next().and_then(|v| v.parse().ok());
    assert_eq!(value, Some(recorded), "{gauge}");
    assert_eq!(standin.received().len(), 1, "B asked nothing upstream");
}

#[tokio::test]
async fn one_instance_s_model_catalog_serves_the_other_without_a_fetch_of_its_own() {
    /// The stand-in's catalog as `/v1/models` lists it: its model and its one effort alias.
    const ONE_MODEL: [&str; 2] = ["gpt-5.5", "gpt-5.5-medium"];
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let standin = StandIn::start(Reply::Replay("text")).await;
    let catalog = json!({"models": [{"slug": "gpt-5.5", "priority": 1, "visibility": "list",
        "supported_reasoning_levels": [{"effort": "medium"}]}]});
    standin.set_catalog(catalog, "\"team-1\"");
    let listed = async |byok: &Byok| -> Vec<String> {
        let list: Value = byok.get("/v1/models").await.json().await.unwrap();
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // A fetches the catalog at start (one model, where the bundled list has dozens).
    let a = instance(&standin, &redis, "").await;
    eventually("A's live catalog", async || listed(&a).await == ONE_MODEL).await;
    assert_eq!(standin.models_asked().len(), 1);
    // Kept in Redis for the hour the catalog is good for.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    // At the account's keyed digest: Redis does not show the email.
    let at: Vec<String> = redis::cmd("KEYS")
        .arg("byok:catalog:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(at.len(), 1, "{at:?}");
    assert!(!at[0].contains("me@example.com"), "{at:?}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&at[0])
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((3500..=3600).contains(&ttl), "{ttl}");

    // B lists it, refuses a model it lacks before anything goes upstream, serves the one it
    // holds: all without a fetch of its own.
    let b = instance(&standin, &redis, "").await;
    eventually("A's catalog on B", async || listed(&b).await == ONE_MODEL).await;
    let chat =
        |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    let refused = send(&b, "/v1/chat/completions", None, &chat("gpt-5.4")).await;
    assert_eq!(refused.status(), 404);
    assert!(standin.received().is_empty());
    let served = send(&b, "/v1/chat/completions", None, &chat("gpt-5.5")).await;
    assert_eq!(served.status(), 200);
    served.text().await.unwrap();
    assert_eq!(standin.models_asked().len(), 1, "B took A's fetch");

    // An instance presenting another client version asks itself: the backend lists models per
    // client version, so A's copy would decide for it what the backend did not.
    let _c = instance(&standin, &redis, "codex_client_version = \"0.170.0\"\n").await;
    eventually("C's own fetch", async || standin.models_asked().len() == 2).await;
    assert!(
        standin.models_asked()[1]
            .path
            .ends_with("client_version=0.170.0"),
        "{}",
        standin.models_asked()[1].path
    );
}
