//! The shared state against a real `redis-server` (byok-test-support starts one on a free
//! port): what one instance writes, another reads; what Redis holds is sealed; a lost Redis
//! loses no tokens counted meanwhile.

use std::time::Duration;

use byok_auth::{Account, TokenStore};
use byok_state::{
    RedisAffinity, RedisCatalogs, RedisKeyUsage, RedisRateLimits, RedisResponseStore, RedisRests,
    RedisState, RedisTokenStore, StateError,
};
use byok_store::{ResponseStore, StoreError};
use byok_test_support::eventually;
use byok_test_support::redis::RedisServer;
use byok_translate::StoredResponse;
use byok_types::{
    ClientId, KeyUsageStore, OAuthToken, ProviderId, RateLimitSnapshot, Secret, SharedAffinity,
    SharedCatalog, SharedCatalogs, SharedRateLimits, SharedRests,
};
use serde_json::json;

const KEY: &str = "a-test-state-key-of-some-length";

async fn connect(server: &RedisServer, key: &str) -> RedisState {
    RedisState::connect(&server.url(), &Secret::new(key))
        .await
        .expect("Redis answers")
}

fn record(id: &str, text: &str) -> StoredResponse {
    StoredResponse::new(
        vec![
            json!({"type": "message", "id": format!("msg_{id}"), "role": "user",
            "content": [{"type": "input_text", "text": text}]}),
        ],
        json!({"id": id, "object": "response", "output": [
            {"type": "reasoning", "id": format!("rs_{id}"), "encrypted_content": "gAAA"}]}),
    )
    .unwrap()
}

#[tokio::test]
async fn a_response_stored_by_one_instance_is_read_by_another_sealed_and_per_client() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisResponseStore::new(connect(&server, KEY).await, Duration::from_secs(60));
    let b = RedisResponseStore::new(connect(&server, KEY).await, Duration::from_secs(60));
    let alice = ClientId::from_key(&Secret::new("alice"));
    let bob = ClientId::from_key(&Secret::new("bob"));

    a.put(&alice, &record("resp_1", "the secret plan"))
        .await
        .unwrap();
    let read = b.get(&alice, "resp_1").await.unwrap().expect("kept");
    assert_eq!(read.id(), "resp_1");
    assert_eq!(read.input()[0]["content"][0]["text"], "the secret plan");
    assert_eq!(
        b.item(&alice, "rs_resp_1").await.unwrap().unwrap()["encrypted_content"],
        "gAAA"
    );
    assert_eq!(
        b.item(&alice, "msg_resp_1").await.unwrap().unwrap()["role"],
        "user"
    );
    // Another client knows the ids and reads nothing.
    assert!(b.get(&bob, "resp_1").await.unwrap().is_none());
    assert!(b.item(&bob, "rs_resp_1").await.unwrap().is_none());
    assert!(!b.delete(&bob, "resp_1").await.unwrap());

    // What Redis holds is sealed: no conversation text in it.
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("byok:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(keys.iter().any(|k| k.starts_with("byok:resp:")), "{keys:?}");
    for key in keys.iter().filter(|k| k.starts_with("byok:resp:")) {
        let value: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(
            !value.windows(6).any(|w| w == b"secret"),
            "{key} holds plain text"
        );
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!((1..=60).contains(&ttl), "{key} lives {ttl} s");
    }

    // An instance with another state_key cannot read it, and says why.
    let other = RedisResponseStore::new(
        connect(&server, "another-state-key-entirely").await,
        Duration::from_secs(60),
    );
    let err = other.get(&alice, "resp_1").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { .. }) && err.to_string().contains("same `state_key`"),
        "{err}"
    );

    assert!(a.delete(&alice, "resp_1").await.unwrap());
    assert!(b.get(&alice, "resp_1").await.unwrap().is_none());
    assert!(b.item(&alice, "rs_resp_1").await.unwrap().is_none());
}

#[tokio::test]
async fn tokens_counted_on_two_instances_add_up_and_survive_a_redis_restart() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let a = RedisKeyUsage::new(connect(&server, KEY).await);
    let b = RedisKeyUsage::new(connect(&server, KEY).await);
    a.add("alice", 20_000, 1_000);
    b.add("alice", 20_000, 500);
    // Each sees at once what it counted itself, and soon the other's too.
    assert!(a.used("alice", 20_000).await.unwrap() >= 1_000);
    eventually("both counts in Redis", async || {
        a.used("alice", 20_000).await.unwrap() == 1_500
            && b.used("alice", 20_000).await.unwrap() == 1_500
    })
    .await;
    assert_eq!(a.used("alice", 20_001).await.unwrap(), 0);
    assert_eq!(a.used("bob", 20_000).await.unwrap(), 0);

    // Redis gone: counting goes on, the budget check answers from what is known.
    server.kill();
    a.add("alice", 20_000, 200);
    assert_eq!(a.used("alice", 20_000).await.unwrap(), 1_700);
    // Back empty (a Redis without persistence): what waited is written, and the budget is not
    // renewed by the lost data.
    server.start_again_empty();
    let client = redis::Client::open(server.url()).unwrap();
    eventually(
        "the tokens counted while Redis was gone reach it",
        async || {
            let Ok(mut raw) = client.get_multiplexed_async_connection().await else {
                return false;
            };
            let count: Option<u64> = redis::cmd("GET")
                .arg("byok:usage:20000:alice")
                .query_async(&mut raw)
                .await
                .unwrap_or(None);
            count == Some(200)
        },
    )
    .await;
    assert_eq!(a.used("alice", 20_000).await.unwrap(), 1_700);
    assert_eq!(b.used("alice", 20_000).await.unwrap(), 1_500);
}

#[tokio::test]
async fn a_rest_told_by_one_instance_is_read_by_another_until_it_is_over() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisRests::new(connect(&server, KEY).await);
    let b = RedisRests::new(connect(&server, KEY).await);
    a.rest("one@example.com", 1_000).await;
    assert_eq!(
        b.resting(999).await,
        [("one@example.com".to_owned(), 1_000)]
    );
    assert!(b.resting(1_000).await.is_empty());
    // Redis gone: nothing known, nothing fails.
    drop(server);
    a.rest("two@example.com", 2_000).await;
    assert!(b.resting(0).await.is_empty());
}

#[tokio::test]
async fn a_conversation_s_account_told_by_one_instance_is_read_by_another_sealed_until_it_expires()
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisAffinity::new(connect(&server, KEY).await);
    let b = RedisAffinity::new(connect(&server, KEY).await);
    let conversation = "9f".repeat(32);
    assert_eq!(b.last_served(&conversation).await, None);
    a.served(&conversation, "one@example.com", 1).await;
    assert_eq!(
        b.last_served(&conversation).await.as_deref(),
        Some("one@example.com")
    );
    a.served(&conversation, "two@example.com", 1).await;
    assert_eq!(
        b.last_served(&conversation).await.as_deref(),
        Some("two@example.com")
    );
    // Sealed in Redis: the account name is not readable there, nor opens under another key.
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg(format!("byok:affinity:{conversation}"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(!sealed.windows(11).any(|w| w == b"example.com"));
    let other = RedisAffinity::new(connect(&server, "another-key-of-some-length").await);
    assert_eq!(other.last_served(&conversation).await, None);
    // Gone when its time to live is over.
    eventually("the entry expired", async || {
        b.last_served(&conversation).await.is_none()
    })
    .await;
    // Redis gone: nothing known, nothing fails.
    a.served(&conversation, "one@example.com", 60).await;
    drop(server);
    assert_eq!(b.last_served(&conversation).await, None);
    a.served(&conversation, "two@example.com", 60).await;
}

fn figures(percent: &str, captured_at: i64) -> RateLimitSnapshot {
    let mut snapshot = RateLimitSnapshot {
        captured_at,
        ..RateLimitSnapshot::default()
    };
    snapshot
        .headers
        .insert("x-codex-primary-used-percent".into(), percent.into());
    snapshot
}

#[tokio::test]
async fn rate_limit_figures_told_by_one_instance_are_read_by_another_the_newest_kept() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisRateLimits::new(connect(&server, KEY).await);
    let b = RedisRateLimits::new(connect(&server, KEY).await);
    let one = |percent, at| {
        vec![(
            ProviderId::Codex,
            "one@example.com".to_owned(),
            figures(percent, at),
        )]
    };
    assert!(b.latest().await.is_empty());
    a.publish(&one("42", 100)).await;
    assert_eq!(b.latest().await, one("42", 100));
    // B's older figures (its answer came before A's) do not replace A's newer ones.
    b.publish(&one("40", 99)).await;
    assert_eq!(a.latest().await, one("42", 100));
    b.publish(&one("43", 101)).await;
    assert_eq!(a.latest().await, one("43", 101));
    // Sealed: the figures are not readable in Redis, and open under no other key.
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let sealed: Vec<Vec<u8>> = redis::cmd("HVALS")
        .arg("byok:ratelimits")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(sealed.len(), 1);
    assert!(!sealed[0].windows(12).any(|w| w == b"used-percent"));
    let other = RedisRateLimits::new(connect(&server, "another-key-of-some-length").await);
    assert!(other.latest().await.is_empty());
    // Redis gone: nothing known, nothing fails.
    drop(server);
    a.publish(&one("50", 102)).await;
    assert!(b.latest().await.is_empty());
}

#[tokio::test]
async fn a_catalog_told_by_one_instance_is_read_by_another_sealed_until_its_time_is_over() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisCatalogs::new(connect(&server, KEY).await);
    let b = RedisCatalogs::new(connect(&server, KEY).await);
    let catalog = SharedCatalog::new(
        json!({"models": [{"slug": "gpt-team-only", "visibility": "list"}]}),
        Some("\"tag-1\"".into()),
        1_800_000_000,
        "0.169.0",
    );
    assert_eq!(b.get("one@example.com").await, None);
    a.publish("one@example.com", &catalog, 1).await;
    assert_eq!(b.get("one@example.com").await.as_ref(), Some(&catalog));
    assert_eq!(b.get("two@example.com").await, None);
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("byok:catalog:"), "{keys:?}");
    assert!(!keys[0].contains("one@example.com"), "{keys:?}");
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(!sealed.windows(13).any(|w| w == b"gpt-team-only"));
    assert!(!sealed.windows(15).any(|w| w == b"one@example.com"));
    let other = RedisCatalogs::new(connect(&server, "another-key-of-some-length").await);
    assert_eq!(other.get("one@example.com").await, None);
    eventually("the catalog expired", async || {
        b.get("one@example.com").await.is_none()
    })
    .await;
    // Redis gone: nothing known, nothing fails.
    drop(server);
    a.publish("one@example.com", &catalog, 60).await;
    assert_eq!(b.get("one@example.com").await, None);
}

/// How often Redis ran `command` (`INFO commandstats`).
async fn calls_of(server: &RedisServer, command: &str) -> u64 {
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut raw)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_frozen_redis_is_asked_once_and_then_left_alone_until_it_answers_again() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let state = connect(&server, KEY).await;
    let rests = RedisRests::new(state.clone());
    rests.rest("one@example.com", i64::MAX).await;
    server.freeze();
    // Five requests' reads of the rests: the first waits out its command's timeout, the
    // others are answered at once from nothing (as the instance knows it), not sent.
    for _ in 0..5 {
        assert!(rests.resting(0).await.is_empty());
    }
    assert!(!state.is_up());
    let watch = state.watch(Duration::from_millis(100));
    server.thaw();
    eventually("Redis up again, seen by the watch", async || state.is_up()).await;
    assert_eq!(rests.resting(0).await.len(), 1);
    // Redis ran the one read sent while it was frozen, and the one after: the four held off
    // never reached it.
    assert_eq!(calls_of(&server, "hgetall").await, 2);
    watch.abort();
}

#[tokio::test]
async fn starting_without_redis_or_without_a_key_is_a_clear_error() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let err = RedisState::connect(&url, &Secret::new(""))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::Key(_)), "{err}");
    assert!(err.to_string().contains("BYOK_STATE_KEY"), "{err}");
    let err = RedisState::connect(&url, &Secret::new("short"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shorter than 16"), "{err}");
    server.kill();
    let err = RedisState::connect(&url, &Secret::new(KEY))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot reach Redis at 127.0.0.1:"),
        "{err}"
    );
    let err = RedisState::connect("http://nope", &Secret::new(KEY))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::BadUrl { .. }), "{err}");
}

/// An account whose tokens were obtained at `at` (Unix seconds), expiring an hour later.
fn account(name: &str, tag: &str, at: i64) -> Account {
    Account {
        name: name.to_owned(),
        token: OAuthToken {
            access_token: Secret::new(format!("at-{tag}")),
            refresh_token: Secret::new(format!("rt-{tag}")),
            id_token: Secret::new(""),
            expires_at: Some(at + 3600),
            account_id: None,
            last_refresh: Some(at),
        },
    }
}

/// What `store`'s Redis holds now, read by a store that has seen nothing (so publishes nothing).
async fn in_redis(server: &RedisServer) -> Vec<(String, String)> {
    RedisTokenStore::new(connect(server, KEY).await)
        .load()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.token.refresh_token.expose().to_owned()))
        .collect()
}

#[tokio::test]
async fn accounts_lost_by_a_redis_restarted_empty_are_published_again_newest_tokens_first() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let a = RedisTokenStore::new(connect(&server, KEY).await);
    let b = RedisTokenStore::new(connect(&server, KEY).await);
    assert_eq!(a.adopt(&[account("me", "1", 1_000)]).await.unwrap(), 1);
    assert_eq!(b.load().await.unwrap().len(), 1);

    // Restarted with its data (append-only file): nothing to publish, nothing lost.
    server.kill();
    server.start_again();
    assert_eq!(
        in_redis(&server).await,
        [("me".to_owned(), "rt-1".to_owned())]
    );

    // A refresh on A whose lock goes with a Redis restarted empty: its fenced write-back
    // finds no lock and writes nothing, but A keeps the new tokens.
    let lock = a.lock_refresh().await.unwrap();
    server.start_again_empty();
    a.save(&account("me", "2", 2_000)).await.unwrap();
    drop(lock);
    assert!(
        in_redis(&server).await.is_empty(),
        "nothing written unfenced"
    );

    // B finds Redis empty first and publishes what it knew (the older tokens) ...
    assert_eq!(
        b.load().await.unwrap()[0].token.refresh_token.expose(),
        "rt-1"
    );
    assert_eq!(
        in_redis(&server).await,
        [("me".to_owned(), "rt-1".to_owned())]
    );
    // ... then A, knowing newer ones, publishes those (once B's lock is released), and B reads
    // them: the refresh token the issuer rotated last is the team's.
    eventually("A's newer tokens published", async || {
        a.load().await.unwrap()[0].token.refresh_token.expose() == "rt-2"
            && in_redis(&server).await == [("me".to_owned(), "rt-2".to_owned())]
    })
    .await;
    assert_eq!(
        b.load().await.unwrap()[0].token.refresh_token.expose(),
        "rt-2"
    );

    // A logout on one instance is not undone by the other's memory.
    assert!(a.remove("me").await.unwrap());
    assert!(b.load().await.unwrap().is_empty());
    assert!(in_redis(&server).await.is_empty());
}

#[tokio::test]
async fn tokens_whose_answer_was_lost_are_sent_again_and_counted_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = RedisKeyUsage::new(connect(&server, KEY).await);
    // Frozen: the increment reaches Redis's socket, its answer never comes back in time, and
    // the writer sends it again (each try timing out after a second) ...
    server.freeze();
    a.add("alice", 20_000, 100);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // ... then Redis runs every copy it was sent: the first counts, the others do not.
    server.thaw();
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    eventually("the tokens in Redis", async || {
        a.used("alice", 20_000).await.unwrap() == 100
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let count: Option<u64> = redis::cmd("GET")
        .arg("byok:usage:20000:alice")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(count, Some(100));
    assert_eq!(a.used("alice", 20_000).await.unwrap(), 100);
}
