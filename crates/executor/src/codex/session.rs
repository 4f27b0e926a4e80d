//! Sessions, the prompt cache and account affinity, as the official Codex CLI has them.
//!
//! The Codex backend keys its prompt cache on the session: the official client (Codex CLI
//! 0.169, `tests/data/codex-cli/chatgpt-mode/official-http-05.json` and `-06.json`) sends
//! `session-id`, `thread-id` and `x-client-request-id` (one `UUIDv7` for the whole session),
//! the same id as the body's `prompt_cache_key`, `x-codex-window-id: <session>:0`, and within
//! one turn (a user input and its tool follow-ups) echoes the `x-codex-turn-state` the backend
//! answered with. A fresh id per request, as byok sent before, misses the cache every time (about 20x
//! the quota).
//!
//! The rule, for every request byok sends to the backend:
//!
//! 1. A client that sends its own session (`session-id`, as the Codex CLI does; `session_id`
//!    of older clients) gets it passed through unchanged, with its `thread-id`,
//!    `x-client-request-id`, every `x-codex-*` header (turn state, window, turn metadata, beta
//!    features) and its body's `prompt_cache_key` and `client_metadata`. byok fills in only
//!    what it left out, with the session id.
//! 2. Otherwise byok derives the session id from who asks (the client key's [`ClientId`]), the
//!    account that serves, and what names the conversation: the client's own
//!    `prompt_cache_key`, else the Chat `user`, else the conversation's opening (instructions
//!    and every input item up to the first user message), which turn 2 repeats as turn 1 sent
//!    it. So every turn of a conversation gets one id, two conversations two ids, and no id
//!    tells one account about another's.
//! 3. `prompt_cache_key` is the client's own when it sent one, else the session id.
//! 4. Within one conversation the same account serves while it is available (the cache is per
//!    account): the account that served last is tried first.
//! 5. The turn is the client's `turn_id` (in `client_metadata`) when it names one, else the
//!    conversation up to its last user message (a tool follow-up adds no user message, so it is
//!    the same turn). byok echoes the `x-codex-turn-state` the backend gave within that turn,
//!    unless the client sent its own.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use byok_auth::CodexIdentity;
use byok_types::{ClientId, RequestContext, ServedBy, SharedAffinity};
use hyper::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The header the backend routes a turn's requests with; echoed within the turn.
pub(crate) const TURN_STATE: &str = "x-codex-turn-state";

/// The beta feature the official client announces (`x-codex-beta-features`) for the backend's
/// in-band compaction, where a request's input ends with `compaction_trigger`.
const REMOTE_COMPACTION: &str = "remote_compaction_v2";

/// The request headers of a client's own session that pass through unchanged.
const SESSION_HEADERS: [&str; 3] = ["session-id", "thread-id", "x-client-request-id"];

/// What byok knows of one request's conversation, before an account is chosen.
#[derive(Clone, Debug)]
pub(crate) struct Conversation {
    /// Names the conversation for affinity and turn states (a digest, never the content).
    key: [u8; 32],
    /// Names the turn within the conversation.
    turn: [u8; 32],
    /// The client's own session id, passed through.
    client_session: Option<String>,
    /// The client's own `x-codex-*`, `thread-id` and `x-client-request-id` headers.
    passthrough: Vec<(HeaderName, HeaderValue)>,
    /// The model, for `x-codex-routing-hint`.
    model: String,
    /// Where the account that served it is told (the access log and metrics read it).
    served_by: ServedBy,
    /// Whether the request compacts the conversation ([`Self::compacting`]).
    compacting: bool,
}

/// The session of one request as sent by one account.
#[derive(Debug)]
pub(crate) struct Session {
    /// The session headers, in the order the official client sends them.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Where the backend's turn state of this answer is kept.
    turn_key: u64,
}

impl Conversation {
    /// The conversation of a Responses `body` (already shaped for the backend) from `ctx`'s
    /// client; `user` is the Chat request's `user`, if any.
    pub(crate) fn of(ctx: &RequestContext, body: &Value, user: Option<&str>) -> Self {
        let client_session = ["session-id", "session_id"]
            .iter()
            .find_map(|name| ctx.header(name))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        let passthrough = ctx
            .headers()
            .iter()
            .filter(|(name, _)| {
                let name = name.as_str();
                name.starts_with("x-codex-") || SESSION_HEADERS[1..].contains(&name)
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let input: &[Value] = body["input"].as_array().map_or(&[], Vec::as_slice);
        let key = match (&client_session, body["prompt_cache_key"].as_str(), user) {
            (Some(session), _, _) => digest(ctx.client(), "session", &[session.as_str()]),
            (None, Some(cache_key), _) => digest(ctx.client(), "prompt_cache_key", &[cache_key]),
            (None, None, Some(user)) => digest(ctx.client(), "user", &[user]),
            (None, None, None) => {
                let opening = through_user_message(input, Position::First);
                let instructions = body["instructions"].as_str().unwrap_or_default();
                let items: Vec<String> = opening.iter().map(Value::to_string).collect();
                let mut parts = vec![instructions];
                parts.extend(items.iter().map(String::as_str));
                digest(ctx.client(), "opening", &parts)
            }
        };
        let turn = if let Some(turn_id) = body["client_metadata"]["turn_id"].as_str() {
            digest_of(&key, "turn_id", &[turn_id])
        } else {
            let items: Vec<String> = through_user_message(input, Position::Last)
                .iter()
                .map(Value::to_string)
                .collect();
            let parts: Vec<&str> = items.iter().map(String::as_str).collect();
            digest_of(&key, "turn", &parts)
        };
        Self {
            key,
            turn,
            client_session,
            passthrough,
            model: body["model"].as_str().unwrap_or_default().to_owned(),
            served_by: ctx.served_by(),
            compacting: false,
        }
    }

    /// The same conversation, for a request that compacts it (its input ends with
    /// `compaction_trigger`): it announces `x-codex-beta-features: remote_compaction_v2`, as
    /// the official client does (`official-compact`), unless the client sent its own.
    pub(crate) fn compacting(mut self) -> Self {
        self.compacting = true;
        self
    }

    /// Says that `account` serves the conversation's request.
    pub(crate) fn served_as(&self, account: &str) {
        self.served_by.set(account);
    }

    /// The session id `account` sends: the client's, or derived (rule 2).
    pub(crate) fn session_id(&self, account: &str) -> String {
        match &self.client_session {
            Some(id) => id.clone(),
            None => uuid_v7_shaped(&digest_of(&self.key, "account", &[account])),
        }
    }

    /// The turn id of a derived session (the client's own is in its `client_metadata`).
    fn turn_id(&self) -> String {
        uuid_v7_shaped(&self.turn)
    }

    /// The affinity key: which account served this conversation last.
    fn affinity(&self) -> u64 {
        first_u64(&self.key)
    }

    /// The conversation's name in a team's shared affinity (hex): a digest of the key, so
    /// that what the shared state holds cannot derive the session ids sent upstream.
    fn shared_name(&self) -> String {
        digest_of(&self.key, "shared-affinity", &[]).iter().fold(
            String::with_capacity(64),
            |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            },
        )
    }

    /// `body` as `account` sends it: `prompt_cache_key` and `client_metadata` filled in where
    /// the client left them out (rules 1 and 3). [`Filled::undo`] takes them out again, for
    /// another account.
    pub(crate) fn body_for(
        &self,
        body: &mut Value,
        account: &str,
        identity: &CodexIdentity,
    ) -> Filled {
        let mut filled = Filled::default();
        let Value::Object(body) = body else {
            return filled;
        };
        let session = self.session_id(account);
        if !body.get("prompt_cache_key").is_some_and(Value::is_string) {
            body.insert("prompt_cache_key".into(), session.clone().into());
            filled.cache_key = true;
        }
        if !body.get("client_metadata").is_some_and(Value::is_object) {
            body.insert("client_metadata".into(), Value::Object(Map::new()));
            filled.metadata = true;
        }
        let Some(Value::Object(metadata)) = body.get_mut("client_metadata") else {
            return filled;
        };
        let turn = self.turn_id();
        let values = [
            (
                "x-codex-installation-id",
                identity.installation_id().to_owned(),
            ),
            ("x-codex-window-id", format!("{session}:0")),
            ("session_id", session.clone()),
            ("thread_id", session),
            ("turn_id", turn.clone()),
            ("root_turn_id", turn),
        ];
        for (name, value) in values {
            if !metadata.contains_key(name) {
                metadata.insert(name.into(), value.into());
                filled.metadata_keys.push(name);
            }
        }
        filled
    }

    /// The session headers `account` sends, in the official order: the client's own first
    /// (rule 1), then what byok fills in, with the turn state of this turn echoed (rule 5).
    pub(crate) fn session(&self, account: &str, sessions: &Sessions, now: i64) -> Session {
        let session = self.session_id(account);
        let turn_key = first_u64(&digest_of(&self.turn, "state", &[account]));
        let own = |name: &str| self.passthrough.iter().find(|(n, _)| n == name);
        let value = |text: &str| HeaderValue::from_str(text).ok();
        let mut headers = Vec::new();
        let mut push = |name: &'static str, made: Option<HeaderValue>| {
            let name = HeaderName::from_static(name);
            if let Some((_, value)) = own(name.as_str()) {
                headers.push((name, value.clone()));
            } else if let Some(value) = made {
                headers.push((name, value));
            }
        };
        let beta = self
            .compacting
            .then(|| HeaderValue::from_static(REMOTE_COMPACTION));
        push("x-codex-beta-features", beta);
        let state = sessions.turn_state(turn_key, now);
        push(TURN_STATE, state.as_deref().and_then(value));
        push("x-codex-window-id", value(&format!("{session}:0")));
        push("x-codex-turn-metadata", None);
        push(
            "x-codex-routing-hint",
            value(&format!("model={}", self.model)),
        );
        push("x-client-request-id", value(&session));
        push("session-id", value(&session));
        push("thread-id", value(&session));
        for (name, value) in &self.passthrough {
            if !headers.iter().any(|(n, _)| n == name) {
                headers.push((name.clone(), value.clone()));
            }
        }
        Session { headers, turn_key }
    }
}

/// What [`Conversation::body_for`] put into a body.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    cache_key: bool,
    metadata: bool,
    metadata_keys: Vec<&'static str>,
}

impl Filled {
    /// Takes out of `body` what was put in, leaving the client's own fields as they came.
    pub(crate) fn undo(self, body: &mut Value) {
        let Value::Object(body) = body else { return };
        if self.cache_key {
            body.remove("prompt_cache_key");
        }
        if self.metadata {
            body.remove("client_metadata");
        } else if let Some(Value::Object(metadata)) = body.get_mut("client_metadata") {
            for name in self.metadata_keys {
                metadata.remove(name);
            }
        }
    }
}

/// Which end of the conversation an opening or a turn is cut at.
#[derive(Clone, Copy)]
enum Position {
    First,
    Last,
}

/// The input items up to and including the first (or last) user message; all of them if
/// there is none.
fn through_user_message(input: &[Value], at: Position) -> &[Value] {
    let is_user = |item: &Value| item["role"] == "user";
    let found = match at {
        Position::First => input.iter().position(is_user),
        Position::Last => input.iter().rposition(is_user),
    };
    found.map_or(input, |at| &input[..=at])
}

/// A digest of `parts` (length-prefixed, so no two lists collide) for `client` and `kind`.
fn digest(client: &ClientId, kind: &str, parts: &[&str]) -> [u8; 32] {
    let seed = Sha256::digest(format!("byok-conversation\0{client}").as_bytes());
    digest_of(&seed.into(), kind, parts)
}

fn digest_of(seed: &[u8; 32], kind: &str, parts: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(seed);
    hash.update(kind.as_bytes());
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

fn first_u64(digest: &[u8; 32]) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// The start of the span derived ids take their time from: 2025-06-01 UTC, in ms.
const DERIVED_SINCE_MS: u64 = 1_748_736_000_000;
/// The span: one year.
const DERIVED_SPAN_MS: u64 = 365 * 24 * 60 * 60 * 1000;

/// A UUID in the official client's format (version 7, RFC 4122 variant) made from `digest`
/// alone, so the same conversation always gets the same id.
///
/// A version 7 id starts with its creation time. A derived id cannot carry a clock reading
/// (the next turn would get another id), so its time is taken from the digest too, within a
/// year in the past: what the id of a session resumed after a while looks like.
fn uuid_v7_shaped(digest: &[u8; 32]) -> String {
    let ms = DERIVED_SINCE_MS + first_u64(digest) % DERIVED_SPAN_MS;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&digest[8..18]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// What byok remembers of recent conversations: the account that served each, and the turn
/// states the backend handed out. Bounded: see [`Recent`].
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    affinity: Recent<Served>,
    turn_states: Recent<String>,
}

/// Which account served a conversation last, as this instance knows it.
#[derive(Clone, Debug)]
struct Served {
    account: String,
    /// When this instance last told it to, or read it from, the team's shared affinity (Unix
    /// seconds); without one, when it served.
    confirmed: i64,
}

/// How long an account this instance told to, or read from, the team's shared affinity is
/// taken as the team's without asking again, in seconds (and how often an active
/// conversation's shared entry is renewed).
///
/// Why a request need not ask: every instance prefers the shared account, so another one
/// moves a conversation elsewhere only when that account cannot serve it there: it rests
/// (rests are shared, so it rests here too and is not in this request's order: then Redis
/// is asked), its sign-in was refused (the team's tokens are shared too), or its catalog lacks
/// the model. What is left (a refusal seen by one instance only) is at most this long
/// unseen, and costs one prompt-cache miss, never a failed request.
const CONFIRMED_FOR_SECS: i64 = 60;

impl Sessions {
    /// Moves the account that served `conversation` last to the front of `order`, if it is
    /// there (it is not when it rests or was signed out): rule 4.
    ///
    /// With a team's `shared` affinity, the account is the one the team's instances agreed
    /// on: asked for (one round trip) unless this instance confirmed it within
    /// [`CONFIRMED_FOR_SECS`] and it may serve now. Without an answer (Redis down, nothing
    /// kept), this instance's own memory decides.
    pub(crate) async fn prefer(
        &self,
        conversation: &Conversation,
        order: &mut [String],
        shared: Option<&dyn SharedAffinity>,
        now: i64,
    ) {
        let key = conversation.affinity();
        let known = self.affinity.get(key, now);
        let agreed = |known: &Served| {
            now - known.confirmed < CONFIRMED_FOR_SECS && order.contains(&known.account)
        };
        let account = match shared {
            Some(shared) if !known.as_ref().is_some_and(agreed) => {
                match shared.last_served(&conversation.shared_name()).await {
                    Some(account) => {
                        let served = Served {
                            account: account.clone(),
                            confirmed: now,
                        };
                        self.affinity.put(key, served, now);
                        Some(account)
                    }
                    None => known.map(|k| k.account),
                }
            }
            _ => known.map(|k| k.account),
        };
        let Some(account) = account else {
            return;
        };
        if let Some(at) = order.iter().position(|a| *a == account) {
            order[..=at].rotate_right(1);
        }
    }

    /// Remembers that `account` served `conversation`, and tells a team's `shared` affinity
    /// when it did not know it already (another account, or confirmed longer than
    /// [`CONFIRMED_FOR_SECS`] ago). Told in the background: the answer does not wait for it.
    pub(crate) fn served(
        &self,
        conversation: &Conversation,
        account: &str,
        shared: Option<&Arc<dyn SharedAffinity>>,
        now: i64,
    ) {
        let key = conversation.affinity();
        let known = self.affinity.get(key, now);
        let tell = shared.filter(|_| {
            known
                .as_ref()
                .is_none_or(|k| k.account != account || now - k.confirmed >= CONFIRMED_FOR_SECS)
        });
        let confirmed = match (&tell, known) {
            (None, Some(known)) if shared.is_some() => known.confirmed,
            _ => now,
        };
        let served = Served {
            account: account.to_owned(),
            confirmed,
        };
        self.affinity.put(key, served, now);
        if let Some(shared) = tell {
            let (shared, name, account) = (
                Arc::clone(shared),
                conversation.shared_name(),
                account.to_owned(),
            );
            tokio::spawn(async move {
                shared
                    .served(&name, &account, RECENT_TTL_SECS.unsigned_abs())
                    .await;
            });
        }
    }

    /// Keeps the turn state the backend answered `session` with, if it sent one, to echo
    /// within the turn.
    pub(crate) fn keep_turn_state(
        &self,
        session: &Session,
        turn_state: Option<&HeaderValue>,
        now: i64,
    ) {
        if let Some(state) = turn_state.and_then(|v| v.to_str().ok()) {
            self.turn_states
                .put(session.turn_key, state.to_owned(), now);
        }
    }

    fn turn_state(&self, turn_key: u64, now: i64) -> Option<String> {
        self.turn_states.get(turn_key, now)
    }
}

/// How many entries a [`Recent`] keeps at most.
const RECENT_CAPACITY: usize = 16_384;
/// How long an entry is kept after its last use, in seconds: past a prompt cache's life.
const RECENT_TTL_SECS: i64 = 60 * 60;

/// A small map of recent entries: an entry unused for [`RECENT_TTL_SECS`] is gone, and when
/// more than [`RECENT_CAPACITY`] are kept the older half goes. Memory stays under about
/// 16,384 × 100 B.
#[derive(Debug)]
struct Recent<V> {
    entries: Mutex<HashMap<u64, (V, i64)>>,
}

impl<V> Default for Recent<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Recent<V> {
    fn get(&self, key: u64, now: i64) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (value, used) = entries.get_mut(&key)?;
        if now - *used > RECENT_TTL_SECS {
            entries.remove(&key);
            return None;
        }
        *used = now;
        Some(value.clone())
    }

    fn put(&self, key: u64, value: V, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.insert(key, (value, now));
        if entries.len() > RECENT_CAPACITY {
            entries.retain(|_, (_, used)| now - *used <= RECENT_TTL_SECS);
        }
        if entries.len() > RECENT_CAPACITY {
            let mut times: Vec<i64> = entries.values().map(|(_, used)| *used).collect();
            let middle = times.len() / 2;
            let (_, cut, _) = times.select_nth_unstable(middle);
            let cut = *cut;
            entries.retain(|_, (_, used)| *used > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(headers: &[(&str, &str)]) -> RequestContext {
        let mut map = hyper::HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        RequestContext::new(ClientId::from_key(&byok_types::Secret::new("k")), map)
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    fn body(input: &[Value]) -> Value {
        json!({"model": "gpt-5.5", "instructions": "Be brief.", "input": input})
    }

    #[test]
    fn every_turn_of_a_conversation_has_one_session_and_two_conversations_two() {
        let turn1 = body(&[user("Hi")]);
        let turn2 = body(&[
            user("Hi"),
            json!({"role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]}),
            user("And now?"),
        ]);
        let other = body(&[user("Something else")]);
        let of = |b: &Value| Conversation::of(&ctx(&[]), b, None).session_id("a");
        assert_eq!(of(&turn1), of(&turn2));
        assert_ne!(of(&turn1), of(&other));
        let id = uuid::Uuid::parse_str(&of(&turn1)).unwrap();
        assert_eq!(id.get_version_num(), 7);
        // Another account or another client key: another id.
        let conversation = Conversation::of(&ctx(&[]), &turn1, None);
        assert_ne!(conversation.session_id("a"), conversation.session_id("b"));
        let local = RequestContext::local();
        assert_ne!(
            Conversation::of(&local, &turn1, None).session_id("a"),
            of(&turn1)
        );
    }

    #[test]
    fn the_time_of_a_derived_id_is_within_the_year_before_june_2026() {
        for n in 0..50u8 {
            let id = uuid::Uuid::parse_str(&uuid_v7_shaped(&[n; 32])).unwrap();
            let (secs, _) = id.get_timestamp().unwrap().to_unix();
            assert!((1_748_736_000..1_748_736_000 + 365 * 86_400).contains(&secs));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }

    #[test]
    fn a_tool_follow_up_is_the_same_turn_a_new_user_message_a_new_one() {
        let call = json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"});
        let output = json!({"type": "function_call_output", "call_id": "c", "output": "ok"});
        let first = Conversation::of(&ctx(&[]), &body(&[user("Hi")]), None);
        let follow_up = Conversation::of(
            &ctx(&[]),
            &body(&[user("Hi"), call.clone(), output.clone()]),
            None,
        );
        let next = Conversation::of(
            &ctx(&[]),
            &body(&[user("Hi"), call, output, user("Thanks")]),
            None,
        );
        assert_eq!(first.turn_id(), follow_up.turn_id());
        assert_ne!(first.turn_id(), next.turn_id());
    }

    #[test]
    fn a_clients_own_session_passes_through_and_byok_fills_in_the_rest() {
        let session = "01a2338d-bff4-73b2-abae-b387e9585127";
        let conversation = Conversation::of(
            &ctx(&[
                ("session-id", session),
                ("thread-id", session),
                ("x-codex-window-id", "w:3"),
                ("x-codex-turn-state", "ts-client"),
                ("x-codex-future", "1"),
            ]),
            &body(&[user("Hi")]),
            None,
        );
        let sent = conversation.session("a", &Sessions::default(), 0);
        let headers: Vec<(String, String)> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let expected = [
            ("x-codex-turn-state", "ts-client"),
            ("x-codex-window-id", "w:3"),
            ("x-codex-routing-hint", "model=gpt-5.5"),
            ("x-client-request-id", session),
            ("session-id", session),
            ("thread-id", session),
            ("x-codex-future", "1"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(headers, expected);
    }

    #[test]
    fn the_clients_prompt_cache_key_wins_and_names_the_conversation() {
        let identity = CodexIdentity::default();
        let mut own = body(&[user("Hi")]);
        own["prompt_cache_key"] = "mine".into();
        let conversation = Conversation::of(&ctx(&[]), &own, None);
        let mut sent = own.clone();
        sent["client_metadata"] = json!({"turn_id": "t", "mine": "kept"});
        let before = sent.clone();
        let filled = conversation.body_for(&mut sent, "a", &identity);
        assert_eq!(sent["prompt_cache_key"], "mine");
        assert_eq!(sent["client_metadata"]["turn_id"], "t");
        assert_eq!(
            sent["client_metadata"]["session_id"],
            conversation.session_id("a")
        );
        filled.undo(&mut sent);
        assert_eq!(sent, before);
        // Another conversation with the same key is the same session.
        let mut other = body(&[user("Other")]);
        other["prompt_cache_key"] = "mine".into();
        let same = Conversation::of(&ctx(&[]), &other, None);
        assert_eq!(same.session_id("a"), conversation.session_id("a"));

        let mut plain = body(&[user("Hi")]);
        let derived = Conversation::of(&ctx(&[]), &plain, None);
        let filled = derived.body_for(&mut plain, "a", &identity);
        let session = derived.session_id("a");
        assert_eq!(plain["prompt_cache_key"], session.as_str());
        let metadata = &plain["client_metadata"];
        assert_eq!(metadata["session_id"], session.as_str());
        assert_eq!(metadata["thread_id"], session.as_str());
        assert_eq!(metadata["x-codex-window-id"], format!("{session}:0"));
        assert_eq!(
            metadata["x-codex-installation-id"],
            identity.installation_id()
        );
        assert_eq!(metadata["turn_id"], metadata["root_turn_id"]);
        filled.undo(&mut plain);
        assert_eq!(plain, body(&[user("Hi")]));
    }

    #[tokio::test]
    async fn the_account_that_served_comes_first_and_the_turn_state_is_echoed() {
        let sessions = Sessions::default();
        let conversation = Conversation::of(&ctx(&[]), &body(&[user("Hi")]), None);
        let mut order = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        sessions.prefer(&conversation, &mut order, None, 0).await;
        assert_eq!(order, ["a", "b", "c"]);
        let sent = conversation.session("c", &sessions, 0);
        assert!(!sent.headers.iter().any(|(n, _)| n == TURN_STATE));
        let state = HeaderValue::from_static("ts-1");
        sessions.keep_turn_state(&sent, Some(&state), 0);
        sessions.served(&conversation, "c", None, 0);

        sessions.prefer(&conversation, &mut order, None, 10).await;
        assert_eq!(order, ["c", "a", "b"]);
        let again = conversation.session("c", &sessions, 10);
        let echoed = again.headers.iter().find(|(n, _)| n == TURN_STATE);
        assert_eq!(echoed.map(|(_, v)| v.to_str().unwrap()), Some("ts-1"));
        // Another account of the same turn has no state of its own.
        let other = conversation.session("a", &sessions, 10);
        assert!(!other.headers.iter().any(|(n, _)| n == TURN_STATE));
        // Gone after an hour unused.
        let late = conversation.session("c", &sessions, 10 + RECENT_TTL_SECS + 1);
        assert!(!late.headers.iter().any(|(n, _)| n == TURN_STATE));
    }

    /// A team's shared affinity in memory, counting how often it is asked and told.
    #[derive(Debug, Default)]
    struct Shared {
        kept: Mutex<HashMap<String, String>>,
        asked: std::sync::atomic::AtomicUsize,
        told: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl SharedAffinity for Shared {
        async fn last_served(&self, conversation: &str) -> Option<String> {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.kept.lock().unwrap().get(conversation).cloned()
        }

        async fn served(&self, conversation: &str, account: &str, _ttl_secs: u64) {
            self.told.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.kept
                .lock()
                .unwrap()
                .insert(conversation.to_owned(), account.to_owned());
        }
    }

    #[tokio::test]
    async fn a_team_s_account_is_asked_for_only_when_this_instance_does_not_know_it_fresh() {
        use std::sync::atomic::Ordering::SeqCst;
        let shared = Arc::new(Shared::default());
        let as_dyn: Arc<dyn SharedAffinity> = shared.clone();
        let (a, b) = (Sessions::default(), Sessions::default());
        let conversation = Conversation::of(&ctx(&[]), &body(&[user("Hi")]), None);
        let order = || vec!["x".to_owned(), "y".to_owned()];

        // Turn 1 on A: nothing known anywhere; x serves and the team is told.
        let mut first = order();
        a.prefer(&conversation, &mut first, Some(&*as_dyn), 0).await;
        a.served(&conversation, "x", Some(&as_dyn), 0);
        tokio::task::yield_now().await;
        assert_eq!(shared.told.load(SeqCst), 1);
        // Turn 2 on B, whose own turn is y: the team's x comes first.
        let mut second = vec!["y".to_owned(), "x".to_owned()];
        b.prefer(&conversation, &mut second, Some(&*as_dyn), 5)
            .await;
        assert_eq!(second, ["x", "y"]);
        assert_eq!(shared.asked.load(SeqCst), 2);
        // B serving with x tells nothing new; its next turns ask nothing.
        b.served(&conversation, "x", Some(&as_dyn), 5);
        let mut third = vec!["y".to_owned(), "x".to_owned()];
        b.prefer(&conversation, &mut third, Some(&*as_dyn), 30)
            .await;
        assert_eq!(third, ["x", "y"]);
        tokio::task::yield_now().await;
        assert_eq!(
            (shared.asked.load(SeqCst), shared.told.load(SeqCst)),
            (2, 1)
        );
        // x resting (not in the order): the team is asked what serves now.
        b.prefer(&conversation, &mut ["y".to_owned()], Some(&*as_dyn), 31)
            .await;
        assert_eq!(shared.asked.load(SeqCst), 3);
        // Confirmed a minute ago or longer: asked again.
        b.prefer(
            &conversation,
            &mut order(),
            Some(&*as_dyn),
            31 + CONFIRMED_FOR_SECS,
        )
        .await;
        assert_eq!(shared.asked.load(SeqCst), 4);
    }

    #[test]
    fn recent_entries_are_bounded() {
        let recent = Recent::default();
        let capacity = u64::try_from(RECENT_CAPACITY).unwrap();
        for key in 0..=capacity {
            recent.put(key, (), i64::try_from(key).unwrap());
        }
        let kept = recent.entries.lock().unwrap().len();
        assert!(kept <= RECENT_CAPACITY / 2 + 1, "{kept}");
        // The newest are kept.
        assert!(
            recent
                .get(capacity, i64::try_from(capacity).unwrap())
                .is_some()
        );
    }
}
