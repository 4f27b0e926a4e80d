//! The stand-in upstream: the Codex backend (`{codex_path}/responses`, `{codex_path}/models`)
//! and the OpenAI API (`/v1/chat/completions`, `/v1/responses`, `/v1/responses/{id}`) on one
//! port of 127.0.0.1, written once for the executor's tests, the end-to-end tests and the
//! benchmark (`byok-bench standin`).
//!
//! It replays recorded streams with their recorded headers (`NAME.sse`, `NAME.meta.json` in
//! the recordings folder it is given), whole, in chunks or event by event, paced or not; it
//! refuses what the Codex backend refuses (clients older than the model's
//! `minimal_client_version`, stored state, models its catalog does not hold);
//! and it misbehaves on demand (error statuses with headers, failures inside 200 streams,
//! streams cut, stalled, or held open after `response.completed`). It keeps every request it
//! received, unless told not to (the benchmark, which must measure byok and not the stand-in).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{Received, client_version};

/// Where the Codex backend is on the real host (`chatgpt.com`): byok's `codex_base_url` is
/// `{url}{CODEX_PATH}`.
pub const CODEX_PATH: &str = "/backend-api/codex";

/// What [`Reply::OpenAi`] answers.
pub const OPENAI_ANSWER: &str = "an answer from the OpenAI API";

/// The `encrypted_content` of the stand-in OpenAI API's compaction item
/// (`POST /v1/responses/compact`).
pub const OPENAI_COMPACTION: &str = "gAAAAB-openai-compaction";

/// What the stand-in OpenAI API answers about a stored response (`GET`, `DELETE`
/// `/v1/responses/{id}`): the API's 404.
pub const OPENAI_NOT_FOUND: &str = "Response with id 'resp_standin' not found.";

/// How far into a recorded stream a [`Reply::Part`] goes.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// The first `n` bytes (`n` past the end: all of them).
    Bytes(usize),
    /// The first `n` events.
    Events(usize),
    /// Every event before `response.completed`: a stream that never completes.
    Completed,
    /// The whole stream.
    Whole,
}

/// What a [`Reply::Part`] does once its part is sent.
#[derive(Clone, Copy, Debug)]
pub enum Then {
    /// The body ends cleanly (the chunked encoding's last chunk).
    End,
    /// The connection breaks (after 50 ms, so that what was sent reaches the client first).
    Break,
    /// Silence, the connection held open until byok lets it go (an upstream may linger after
    /// `response.completed`; [`StandIn::bodies_ended`] sees it let go).
    Hang,
}

/// How a stand-in splits the streams it sends into writes.
#[derive(Clone, Copy, Debug)]
pub enum Split {
    /// One write per event, as the backend sends them.
    Events,
    /// One write per event, but the lifecycle events at the start (`response.created`,
    /// `response.in_progress`) in one write with the first event after them, as the real
    /// backend often sends them.
    LifecycleTogether,
    /// Writes of this many bytes, across event boundaries, as a stream may arrive.
    Bytes(usize),
    /// One body with its length, in one write (for the benchmark: the cheapest to send).
    Whole,
}

/// What the stand-in answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A recorded stream (`text`, `tools`, `text-empty-output`, ...) with its recorded headers.
    Replay(&'static str),
    /// A part of a recorded stream with its recorded headers, then what [`Then`] says.
    Part(&'static str, Until, Then),
    /// No answer at all for this long, then the recorded `text` stream.
    SlowHead(Duration),
    /// A recorded stream chosen by the request: `with_tools` when it offers tools, else
    /// `without`.
    ByTools {
        /// The recording for requests with tools.
        with_tools: &'static str,
        /// The recording for the others.
        without: &'static str,
    },
    /// A tool loop: `call` (a recording with function calls) for a request that carries no
    /// tool result, `answer` for one that carries a `function_call_output`.
    ToolLoop {
        /// The recording for the turn that calls tools.
        call: &'static str,
        /// The recording for the turn after the tools ran.
        answer: &'static str,
    },
    /// 200 `text/event-stream` with this body.
    Sse(String),
    /// 200 `text/event-stream` with the body the function builds from the request's.
    Scripted(fn(&Value) -> String),
    /// 200 with this JSON body.
    Json(Value),
    /// An error status with this JSON body.
    Status(u16, String),
    /// An error status with this JSON body and these headers.
    StatusWith(u16, String, Vec<(&'static str, String)>),
    /// 429 `usage_limit_reached`, as the backend sends it.
    UsageLimit {
        /// The body's `resets_in_seconds`.
        resets_in_seconds: u64,
    },
    /// 429 `usage_limit_reached` (resetting in an hour) for the account whose
    /// `chatgpt-account-id` is `account_id`; the recording `otherwise` for every other account.
    UsageLimitFor {
        /// The account at its limit.
        account_id: &'static str,
        /// The recording the other accounts get.
        otherwise: &'static str,
    },
    /// The OpenAI API's answer, [`OPENAI_ANSWER`], in the shape the path asks for: a
    /// `chat.completion`, or a `response` (streamed as the API streams it, deltas and then
    /// `response.completed` with the output, unlike the Codex backend).
    OpenAi,
}

impl Reply {
    /// `status` with an OpenAI-shaped error body (`server_error`): a failure on purpose.
    pub fn failure(status: u16) -> Self {
        let body = json!({"error": {"message": "the stand-in fails on purpose",
            "type": "server_error", "param": null, "code": null}});
        Self::Status(status, body.to_string())
    }
}

/// A recorded stream as the stand-in sends it, read once.
struct Recording {
    whole: Bytes,
    /// `whole` split after each event's blank line.
    events: Vec<Bytes>,
    /// `events` with the lifecycle events joined to the first event after them.
    together: Vec<Bytes>,
    /// The recorded response headers (`content-type` and the `x-codex-*` limits).
    headers: HeaderMap,
    /// The first `response.id` in it, for [`StandIn::answer_afresh`].
    response_id: Option<String>,
}

impl Recording {
    /// `NAME.sse` in `folder`, with the headers of `NAME.meta.json` (the `-empty-output`
    /// variants share their original's); without one, `content-type: text/event-stream`.
    fn read(folder: &std::path::Path, name: &str) -> Self {
        let path = folder.join(format!("{name}.sse"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let meta = folder.join(format!(
            "{}.meta.json",
            name.trim_end_matches("-empty-output")
        ));
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("text/event-stream"),
        );
        if let Ok(meta) = std::fs::read_to_string(&meta) {
            let meta: Value = serde_json::from_str(&meta).expect("meta.json is JSON");
            for (name, value) in meta["response_headers"].as_object().into_iter().flatten() {
                if let (Ok(name), Some(Ok(value))) = (
                    HeaderName::try_from(name.as_str()),
                    value.as_str().map(HeaderValue::try_from),
                ) {
                    headers.insert(name, value);
                }
            }
        }
        let response_id = text.lines().find_map(|line| {
            let event: Value = serde_json::from_str(line.strip_prefix("data: ")?).ok()?;
            event["response"]["id"].as_str().map(str::to_owned)
        });
        let whole = Bytes::from(text);
        let events = split_events(&whole);
        Self {
            together: lifecycle_together(&events),
            whole,
            events,
            headers,
            response_id,
        }
    }

    /// Where `until` ends in it.
    fn end(&self, until: Until) -> usize {
        match until {
            Until::Bytes(n) => n.min(self.whole.len()),
            Until::Events(n) => self.events.iter().take(n).map(Bytes::len).sum(),
            Until::Completed => memchr::memmem::find(&self.whole, b"event: response.completed")
                .expect("the recording completes"),
            Until::Whole => self.whole.len(),
        }
    }
}

/// `bytes` split after each blank line (an SSE event's end), sharing its memory.
fn split_events(bytes: &Bytes) -> Vec<Bytes> {
    let mut events = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end =
            memchr::memmem::find(&bytes[start..], b"\n\n").map_or(bytes.len(), |i| start + i + 2);
        events.push(bytes.slice(start..end));
        start = end;
    }
    events
}

/// The lifecycle events at the start of `events` joined with the first event after them into
/// one write; the other events as they are.
fn lifecycle_together(events: &[Bytes]) -> Vec<Bytes> {
    let lifecycle = |event: &Bytes| {
        [
            &b"event: response.created\n"[..],
            b"event: response.in_progress\n",
        ]
        .iter()
        .any(|start| event.starts_with(start))
    };
    let first_output = events
        .iter()
        .position(|e| !lifecycle(e))
        .unwrap_or(events.len().saturating_sub(1));
    let (head, tail) = events.split_at((first_output + 1).min(events.len()));
    let mut joined = vec![Bytes::from(head.concat())];
    joined.extend(tail.iter().cloned());
    joined
}

/// What the stand-in knows and has seen.
struct Shared {
    recordings: PathBuf,
    read: Mutex<HashMap<&'static str, Arc<Recording>>>,
    split: Split,
    pace: Option<Duration>,
    keep_requests: bool,
    /// The answers to give first, in order, whichever path asks.
    script: Mutex<VecDeque<Reply>>,
    /// The Codex backend's answer once the script is done.
    codex_reply: Mutex<Reply>,
    /// The OpenAI API's answer once the script is done.
    openai_reply: Reply,
    received: Mutex<Vec<Received>>,
    /// Whether each answer gets a response id of its own (see [`StandIn::answer_afresh`]).
    afresh: AtomicBool,
    /// How many recordings were replayed.
    answers: AtomicUsize,
    /// How many streamed bodies ended (sent in full, or dropped because the peer went away).
    bodies_ended: watch::Sender<usize>,
    /// The model catalog `GET {codex_path}/models` serves and its tag (see
    /// [`StandIn::set_catalog`]); none: 404, as a backend that cannot be asked.
    catalog: Mutex<Option<(Value, String)>>,
    /// Every `GET {codex_path}/models` received.
    models_asked: Mutex<Vec<Received>>,
    /// What `GET {chatgpt_path}/wham/accounts/check` answers (see [`StandIn::route_accounts_to`]).
    accounts_check: Mutex<AccountsCheck>,
    /// Every `accounts/check` received.
    accounts_checked: Mutex<Vec<Received>>,
}

/// What the stand-in answers to `GET {chatgpt_path}/wham/accounts/check`, the workspace
/// routing check the official client makes per account.
#[derive(Clone, Debug)]
enum AccountsCheck {
    /// The account served here (the stand-in's own origin), with no routing override, as the
    /// stand-in of the recordings answered (`official-http/02-GET-check.json`).
    Here,
    /// The account served at `origin`, with this `account_routing_override`.
    At {
        origin: String,
        routing_override: String,
    },
    /// This error status.
    Fails(u16),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn recording(&self, name: &'static str) -> Arc<Recording> {
        let mut read = lock(&self.read);
        Arc::clone(
            read.entry(name)
                .or_insert_with(|| Arc::new(Recording::read(&self.recordings, name))),
        )
    }

    fn keep(&self, received: Received) {
        if self.keep_requests {
            lock(&self.received).push(received);
        }
    }

    /// The next scripted answer, or `otherwise`.
    fn next(&self, otherwise: impl FnOnce() -> Reply) -> Reply {
        lock(&self.script).pop_front().unwrap_or_else(otherwise)
    }
}

/// A running stand-in upstream. Dropping it stops it.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    codex_path: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[bon::bon]
impl StandIn {
    /// Starts a stand-in on a free port of 127.0.0.1. It answers with `script` in order,
    /// whichever path asks, then the Codex backend with `reply` and the OpenAI API with
    /// `openai_reply`.
    #[builder(finish_fn = start)]
    pub async fn new(
        /// The folder of the recordings `Reply::Replay` and the others name.
        #[builder(into)]
        recordings: PathBuf,
        /// The answers to give first.
        #[builder(default)]
        script: Vec<Reply>,
        /// The Codex backend's answer after the script (default: the recorded `text`).
        #[builder(default = Reply::Replay("text"))]
        reply: Reply,
        /// The OpenAI API's answer after the script (default: `reply`).
        openai_reply: Option<Reply>,
        /// Where the Codex backend is served (default [`CODEX_PATH`]; `""` serves it at the
        /// root, as the executor's tests and the benchmark give byok the bare address).
        #[builder(into, default = CODEX_PATH)]
        codex_path: String,
        /// How streams are split into writes (default: one write per event).
        #[builder(default = Split::Events)]
        split: Split,
        /// A pause between writes (default: none).
        pace: Option<Duration>,
        /// Whether to keep every request for [`StandIn::received`] (default: yes; the
        /// benchmark says no, and the stand-in then does not even parse them).
        #[builder(default = true)]
        keep_requests: bool,
    ) -> Self {
        let shared = Arc::new(Shared {
            recordings,
            read: Mutex::default(),
            split,
            pace,
            keep_requests,
            script: Mutex::new(script.into()),
            openai_reply: openai_reply.unwrap_or_else(|| reply.clone()),
            codex_reply: Mutex::new(reply),
            received: Mutex::default(),
            afresh: AtomicBool::new(false),
            answers: AtomicUsize::new(0),
            bodies_ended: watch::channel(0).0,
            catalog: Mutex::default(),
            models_asked: Mutex::default(),
            accounts_check: Mutex::new(AccountsCheck::Here),
            accounts_checked: Mutex::default(),
        });
        let mut router = Router::new()
            .route(&format!("{codex_path}/responses"), post(codex_responses))
            .route(
                &format!("{codex_path}/responses/compact"),
                post(codex_compact_endpoint),
            )
            .route(&format!("{codex_path}/models"), get(codex_models));
        // Beside the Codex path, as on chatgpt.com (`/backend-api/codex`, `/backend-api/wham`).
        if let Some(chatgpt_path) = codex_path.strip_suffix("/codex") {
            router = router.route(
                &format!("{chatgpt_path}/wham/accounts/check"),
                get(accounts_check),
            );
        }
        let router = router
            .route("/v1/chat/completions", post(openai))
            .route("/v1/responses", post(openai))
            .route("/v1/responses/compact", post(openai))
            .route(
                "/v1/responses/{*rest}",
                get(openai_stored).delete(openai_stored),
            )
            .with_state(Arc::clone(&shared));
        let (url, task) = crate::serve(router).await;
        Self {
            url,
            codex_path,
            shared,
            task,
        }
    }
}

impl StandIn {
    /// The Codex base URL to give byok (`codex_base_url`).
    pub fn codex_base_url(&self) -> String {
        format!("{}{}", self.url, self.codex_path)
    }

    /// Every request received so far (not the catalog's: [`StandIn::models_asked`]).
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Changes the Codex backend's answer once the script is done.
    pub fn set_reply(&self, reply: Reply) {
        *lock(&self.shared.codex_reply) = reply;
    }

    /// Serves `catalog` (the backend's `{"models": [...]}`) at `GET {codex_path}/models`,
    /// tagged `etag`, tags every Codex answer with it (`x-models-etag`), and refuses the models
    /// it does not hold as the backend does.
    pub fn set_catalog(&self, catalog: Value, etag: &str) {
        *lock(&self.shared.catalog) = Some((catalog, etag.to_owned()));
    }

    /// Every `GET {codex_path}/models` received so far, the path with its query.
    pub fn models_asked(&self) -> Vec<Received> {
        lock(&self.shared.models_asked).clone()
    }

    /// Answers the workspace routing check (`GET {chatgpt_path}/wham/accounts/check`, beside a
    /// Codex path ending in `/codex`) saying the account is served at `origin`
    /// (`http://127.0.0.1:PORT` of another stand-in, or `NO_CONSTRAINT`) with
    /// `routing_override` (`NO_CONSTRAINT`, `us`, `us_cr`). By default it says the account is
    /// served here, with `NO_CONSTRAINT`.
    pub fn route_accounts_to(&self, origin: &str, routing_override: &str) {
        *lock(&self.shared.accounts_check) = AccountsCheck::At {
            origin: origin.to_owned(),
            routing_override: routing_override.to_owned(),
        };
    }

    /// Answers the workspace routing check with `status` from now on.
    pub fn fail_accounts_check(&self, status: u16) {
        *lock(&self.shared.accounts_check) = AccountsCheck::Fails(status);
    }

    /// Every workspace routing check received so far.
    pub fn accounts_checked(&self) -> Vec<Received> {
        lock(&self.shared.accounts_checked).clone()
    }

    /// Answers like the live backend where the recordings cannot: every later replay gets a
    /// response id of its own (the recorded id with `_N` added, N counting replays from 1), and
    /// its reasoning items the `encrypted_content` byok asks for with `include` (the recordings
    /// were made without it): [`standin_encrypted`] of the item's id. For tests that chain
    /// responses.
    pub fn answer_afresh(&self) {
        self.shared.afresh.store(true, Ordering::SeqCst);
    }

    /// A watch on the number of streamed bodies that ended, to see a connection close.
    pub fn bodies_ended(&self) -> watch::Receiver<usize> {
        self.shared.bodies_ended.subscribe()
    }
}

/// The `encrypted_content` the stand-in gives the reasoning item `id` (see
/// [`StandIn::answer_afresh`]).
pub fn standin_encrypted(id: &str) -> String {
    format!("gAAAAB-standin-encrypted-{id}")
}

/// `GET {codex_path}/models?client_version=V`: the catalog, if one is set, for a request that
/// carries what the official client sends (the shared fixtures' `official-http/01-GET-models.json`).
async fn codex_models(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    // The path with its query: what tells the client version.
    let received = Received {
        path: uri.to_string(),
        headers,
        body: Value::Null,
    };
    lock(&shared.models_asked).push(received.clone());
    let Some((catalog, etag)) = lock(&shared.catalog).clone() else {
        return (StatusCode::NOT_FOUND, "{\"detail\":\"Not Found\"}").into_response();
    };
    let version = uri.query().and_then(|q| q.strip_prefix("client_version="));
    if version.is_none() || version != received.header("version") {
        return (
            StatusCode::BAD_REQUEST,
            "{\"detail\":\"client_version is required\"}",
        )
            .into_response();
    }
    if !received
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer "))
        || received.header("chatgpt-account-id").is_none()
    {
        return (StatusCode::UNAUTHORIZED, "{\"detail\":\"Unauthorized\"}").into_response();
    }
    let mut response = axum::Json(catalog).into_response();
    response
        .headers_mut()
        .insert("x-models-etag", etag.parse().expect("a header value"));
    response
}

/// `GET {chatgpt_path}/wham/accounts/check`: the accounts of the sign-in (the one the request
/// names, `chatgpt-account-id`) and where each is served, for a request that carries a token
/// and an account, as the official client sends it.
async fn accounts_check(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let received = Received {
        path: uri.path().to_owned(),
        headers,
        body: Value::Null,
    };
    lock(&shared.accounts_checked).push(received.clone());
    let account = received.header("chatgpt-account-id").map(str::to_owned);
    let bearer = received
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer "));
    let (Some(account), true) = (account, bearer) else {
        return (StatusCode::UNAUTHORIZED, "{\"detail\":\"Unauthorized\"}").into_response();
    };
    let (origin, routing_override) = match lock(&shared.accounts_check).clone() {
        AccountsCheck::Here => {
            let host = received.header("host").unwrap_or_default();
            (format!("http://{host}"), "NO_CONSTRAINT".to_owned())
        }
        AccountsCheck::At {
            origin,
            routing_override,
        } => (origin, routing_override),
        AccountsCheck::Fails(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "{\"detail\":\"the stand-in fails on purpose\"}").into_response();
        }
    };
    axum::Json(json!({"accounts": [{"id": account, "plan_type": "plus",
        "workspace_backend_origin": origin, "account_routing_override": routing_override}],
        "account_ordering": [account]}))
    .into_response()
}

/// `POST {codex_path}/responses`: what the backend refuses, refused; then the next answer.
async fn codex_responses(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if !shared.keep_requests {
        return lean(&shared, request, || lock(&shared.codex_reply).clone()).await;
    }
    let (Parts { uri, headers, .. }, body) = request.into_parts();
    let body = read_json(body).await;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let catalog = lock(&shared.catalog).clone();
    // Who asks before what is asked: a client too old for the model (or that does not say
    // which it is) is refused first ([`crate::client_version`]).
    let minimal = client_version::minimal_client_version(catalog.as_ref().map(|c| &c.0), &model);
    let refusal = client_version::refuse_old_client(&headers, &model, minimal.as_deref())
        .or_else(|| refuse_stored_state(&body))
        .or_else(|| refuse_misplaced_trigger(&headers, &body));
    let account = headers
        .get("chatgpt-account-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared.keep(Received {
        path: uri.path().to_owned(),
        headers,
        body: body.clone(),
    });
    if let Some(refusal) = refusal {
        return refusal;
    }
    let Some((catalog, etag)) = catalog else {
        return codex_answer(&shared, &body, uri.path(), account.as_deref()).await;
    };
    let served = catalog["models"]
        .as_array()
        .is_some_and(|models| models.iter().any(|m| m["slug"] == model.as_str()));
    let mut response = if served {
        codex_answer(&shared, &body, uri.path(), account.as_deref()).await
    } else {
        let detail = format!(
            "The '{model}' model is not supported when using Codex with a ChatGPT account."
        );
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": detail }).to_string(),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert("x-models-etag", etag.parse().expect("a header value"));
    response
}

/// The benchmark's answer: nothing kept, parsed or checked; the request read whole all the
/// same, as the real backend reads it (hyper closes a connection whose request body was left
/// unread rather than keep it alive).
async fn lean(
    shared: &Arc<Shared>,
    request: Request,
    otherwise: impl FnOnce() -> Reply,
) -> Response {
    let (parts, body) = request.into_parts();
    let _ = axum::body::to_bytes(body, usize::MAX).await;
    let reply = shared.next(otherwise);
    answer(shared, reply, &Value::Null, parts.uri.path()).await
}

/// The Codex backend's next answer to `body`: the compaction it asks for when its input ends
/// with `compaction_trigger` (the backend compacts whatever it would have answered the
/// conversation otherwise; failures stay failures), else the reply (for the ChatGPT account
/// `account`, when the reply depends on it).
async fn codex_answer(
    shared: &Arc<Shared>,
    body: &Value,
    path: &str,
    account: Option<&str>,
) -> Response {
    let mut reply = shared.next(|| lock(&shared.codex_reply).clone());
    if let Reply::UsageLimitFor {
        account_id,
        otherwise,
    } = reply
    {
        reply = if account == Some(account_id) {
            Reply::UsageLimit {
                resets_in_seconds: 3600,
            }
        } else {
            Reply::Replay(otherwise)
        };
    }
    let compacts = body["input"]
        .as_array()
        .and_then(|items| items.last())
        .is_some_and(|item| item["type"] == "compaction_trigger");
    let answers = matches!(
        reply,
        Reply::Replay(_) | Reply::ByTools { .. } | Reply::ToolLoop { .. } | Reply::Scripted(_)
    );
    if compacts && answers {
        return sse(shared, Bytes::from(crate::scripted::compaction()));
    }
    answer(shared, reply, body, path).await
}

/// What the backend refuses of in-band compaction (`compaction_trigger`, see
/// `tests/data/codex-cli/chatgpt-mode/official-compact`): a trigger that is not the last input
/// item (it compacts what precedes it), and one sent without the beta feature the official
/// client announces with it (`x-codex-beta-features: remote_compaction_v2`): assumed refused,
/// as the backend offers its v2 compaction to the clients that say they speak it (the
/// recording shows what the client sends, not what the backend would refuse).
fn refuse_misplaced_trigger(headers: &HeaderMap, body: &Value) -> Option<Response> {
    let items = body["input"].as_array()?;
    let at = items
        .iter()
        .position(|i| i["type"] == "compaction_trigger")?;
    let announced = headers
        .get_all("x-codex-beta-features")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|feature| feature.trim() == "remote_compaction_v2");
    let message = if at + 1 != items.len() {
        format!("Invalid 'input[{at}]': a compaction_trigger item must be the last input item.")
    } else if !announced {
        format!(
            "Invalid 'input[{at}]': compaction_trigger needs the remote_compaction_v2 beta feature."
        )
    } else {
        return None;
    };
    let body = json!({"error": {"message": message, "type": "invalid_request_error",
        "param": format!("input[{at}]"), "code": "invalid_value"}});
    Some((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
}

/// `POST {codex_path}/responses/compact`: the endpoint the official client no longer calls
/// (it compacts in band, `official-compact`). Kept, so that a test sees byok never calls it
/// either, and answered 404 as an unknown route.
async fn codex_compact_endpoint(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (Parts { uri, headers, .. }, body) = request.into_parts();
    let body = read_json(body).await;
    shared.keep(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"detail": "Not Found"})),
    )
        .into_response()
}

/// A request body as JSON (`null` when it is not).
async fn read_json(body: Body) -> Value {
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// What the Codex backend refuses of the Responses API's stored state, as it refuses it: it
/// keeps nothing (`store` must be false), so it knows no earlier response or item.
fn refuse_stored_state(body: &Value) -> Option<Response> {
    let refuse = |status: StatusCode, message: String, param: &str| {
        let body = json!({"error": {"message": message, "type": "invalid_request_error",
            "param": param, "code": null}});
        Some((status, axum::Json(body)).into_response())
    };
    if body["store"] != false {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Store must be set to false".into(),
            "store",
        );
    }
    if !body["previous_response_id"].is_null() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Unsupported parameter: previous_response_id".into(),
            "previous_response_id",
        );
    }
    let items = body["input"].as_array().into_iter().flatten();
    if let Some(reference) = items.into_iter().find(|i| i["type"] == "item_reference") {
        return refuse(
            StatusCode::NOT_FOUND,
            format!(
                "Item with id '{}' not found. Items are not persisted when `store` is set to \
                 false. Try again with `store` set to true, or remove this item from your input.",
                reference["id"].as_str().unwrap_or_default()
            ),
            "input",
        );
    }
    None
}

/// `POST /v1/chat/completions`, `POST /v1/responses`: the next answer.
async fn openai(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if !shared.keep_requests {
        return lean(&shared, request, || shared.openai_reply.clone()).await;
    }
    let (Parts { uri, headers, .. }, body) = request.into_parts();
    let body = read_json(body).await;
    shared.keep(Received {
        path: uri.path().to_owned(),
        headers,
        body: body.clone(),
    });
    let reply = shared.next(|| shared.openai_reply.clone());
    answer(&shared, reply, &body, uri.path()).await
}

/// The OpenAI API's stored responses: every `GET` or `DELETE` under `/v1/responses/` is kept
/// (method and query in `path`, e.g. `GET /v1/responses/r/input_items?limit=2`) and answered
/// with a 404 in the API's words, which byok must pass on as it is.
async fn openai_stored(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    shared.keep(Received {
        path: format!("{method} {path}"),
        headers,
        body: Value::Null,
    });
    let body = json!({"error": {"message": OPENAI_NOT_FOUND, "type": "invalid_request_error",
        "param": null, "code": null}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// `reply` to a request with `body` at `path`.
async fn answer(shared: &Arc<Shared>, reply: Reply, body: &Value, path: &str) -> Response {
    match reply {
        Reply::Replay(name) => replay(shared, name, Until::Whole, Then::End),
        Reply::Part(name, until, then) => replay(shared, name, until, then),
        Reply::SlowHead(wait) => {
            // The head itself is late, not only the body.
            tokio::time::sleep(wait).await;
            replay(shared, "text", Until::Whole, Then::End)
        }
        Reply::ByTools {
            with_tools,
            without,
        } => {
            let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
            let name = if has_tools { with_tools } else { without };
            replay(shared, name, Until::Whole, Then::End)
        }
        Reply::ToolLoop { call, answer } => {
            let has_tool_output = body["input"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["type"] == "function_call_output"));
            let name = if has_tool_output { answer } else { call };
            replay(shared, name, Until::Whole, Then::End)
        }
        Reply::Sse(text) => sse(shared, Bytes::from(text)),
        Reply::Scripted(script) => sse(shared, Bytes::from(script(body))),
        Reply::Json(value) => axum::Json(value).into_response(),
        Reply::Status(status, body) => status_with(status, body, Vec::new()),
        Reply::StatusWith(status, body, headers) => status_with(status, body, headers),
        Reply::UsageLimit { resets_in_seconds } => {
            let body = json!({"error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_in_seconds": resets_in_seconds,
            }});
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
        }
        // Resolved by `codex_answer`; elsewhere (the OpenAI API) every account is the other.
        Reply::UsageLimitFor { otherwise, .. } => {
            replay(shared, otherwise, Until::Whole, Then::End)
        }
        Reply::OpenAi => openai_answer(shared, body, path),
    }
}

fn status_with(status: u16, body: String, headers: Vec<(&'static str, String)>) -> Response {
    let mut response = (StatusCode::from_u16(status).expect("a status"), body).into_response();
    let map = response.headers_mut();
    map.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        map.insert(name, value.parse().expect("a header value"));
    }
    response
}

/// A recorded stream up to `until`, with its recorded headers, then `then`.
fn replay(shared: &Arc<Shared>, name: &'static str, until: Until, then: Then) -> Response {
    let recording = shared.recording(name);
    let n = shared.answers.fetch_add(1, Ordering::SeqCst) + 1;
    let end = recording.end(until);
    let mut response = if shared.afresh.load(Ordering::SeqCst) {
        let text = std::str::from_utf8(&recording.whole[..end]).expect("a recording is UTF-8");
        streamed(
            shared,
            Bytes::from(afresh(text, recording.response_id.as_deref(), n)),
            then,
        )
    } else if end == recording.whole.len() && matches!(then, Then::End) {
        whole(shared, &recording)
    } else {
        streamed(shared, recording.whole.slice(..end), then)
    };
    *response.headers_mut() = recording.headers.clone();
    response
}

/// A whole recording, as cheaply as the split allows: the benchmark's path, so no work here
/// may grow with the events beyond what the split itself asks.
fn whole(shared: &Arc<Shared>, recording: &Recording) -> Response {
    match (shared.split, shared.pace) {
        (Split::Whole, None) => Response::new(Body::from(recording.whole.clone())),
        (Split::Events, _) => body(shared, recording.events.clone(), Then::End),
        (Split::LifecycleTogether, _) => body(shared, recording.together.clone(), Then::End),
        _ => streamed(shared, recording.whole.clone(), Then::End),
    }
}

/// `text` split as the stand-in splits, then `then`.
fn streamed(shared: &Arc<Shared>, text: Bytes, then: Then) -> Response {
    let chunks = match shared.split {
        Split::Events => split_events(&text),
        Split::LifecycleTogether => lifecycle_together(&split_events(&text)),
        Split::Bytes(n) => (0..text.len())
            .step_by(n.max(1))
            .map(|start| text.slice(start..(start + n).min(text.len())))
            .collect(),
        Split::Whole => vec![text],
    };
    body(shared, chunks, then)
}

/// 200 `text/event-stream` with `text`.
fn sse(shared: &Arc<Shared>, text: Bytes) -> Response {
    let mut response = streamed(shared, text, Then::End);
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// Counts a body as ended when it is dropped, whether it was sent in full or not.
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.bodies_ended.send_modify(|n| *n += 1);
    }
}

/// A streamed body of `chunks`, paced as the stand-in paces, then `then`.
fn body(shared: &Arc<Shared>, chunks: Vec<Bytes>, then: Then) -> Response {
    let guard = EndGuard(Arc::clone(shared));
    let pace = shared.pace;
    let chunks =
        futures::stream::iter(chunks.into_iter().enumerate()).then(move |(i, chunk)| async move {
            if let Some(pace) = pace.filter(|_| i > 0) {
                tokio::time::sleep(pace).await;
            }
            Ok::<_, std::io::Error>(chunk)
        });
    let tail = futures::stream::once(async move {
        let end = match then {
            Then::End => None,
            Then::Break => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some(Err(std::io::Error::other(
                    "the stand-in breaks the connection",
                )))
            }
            Then::Hang => std::future::pending().await,
        };
        drop(guard);
        end
    })
    .filter_map(std::future::ready);
    Response::new(Body::from_stream(chunks.chain(tail)))
}

/// `text` as the live backend would send it (see [`StandIn::answer_afresh`]): the response id
/// `id` numbered `n`, reasoning items with their `encrypted_content`.
fn afresh(text: &str, id: Option<&str>, n: usize) -> String {
    let text = match id {
        Some(id) => text.replace(&format!("\"{id}\""), &format!("\"{id}_{n}\"")),
        None => text.to_owned(),
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("data: ") {
            Some(data) => {
                let (data, newline) = data.strip_suffix('\n').map_or((data, ""), |d| (d, "\n"));
                out.push_str("data: ");
                out.push_str(&with_encrypted_reasoning(data));
                out.push_str(newline);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// An event's JSON with `encrypted_content` on its reasoning items, if it has any.
fn with_encrypted_reasoning(data: &str) -> String {
    if !data.contains(r#""type":"reasoning""#) {
        return data.to_owned();
    }
    let Ok(mut event) = serde_json::from_str::<Value>(data) else {
        return data.to_owned();
    };
    let encrypt = |item: &mut Value| {
        if item["type"] == "reasoning" {
            let id = item["id"].as_str().unwrap_or_default().to_owned();
            item["encrypted_content"] = standin_encrypted(&id).into();
        }
    };
    if let Some(item) = event.get_mut("item") {
        encrypt(item);
    }
    if let Some(Value::Array(output)) = event.pointer_mut("/response/output") {
        output.iter_mut().for_each(encrypt);
    }
    event.to_string()
}

/// [`Reply::OpenAi`]: [`OPENAI_ANSWER`] as a `chat.completion` at `/v1/chat/completions`; at
/// `/v1/responses/compact` the user messages of `input`, then one compaction item
/// ([`OPENAI_COMPACTION`]), as the API answers; else as a `response` object or, for
/// `stream: true`, its stream.
fn openai_answer(shared: &Arc<Shared>, body: &Value, path: &str) -> Response {
    if path.ends_with("/responses/compact") {
        let mut output: Vec<Value> = body["input"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["role"] == "user")
            .cloned()
            .collect();
        output.push(json!({"type": "compaction", "id": "cmp_openai",
            "encrypted_content": OPENAI_COMPACTION}));
        return axum::Json(
            json!({"id": "resp_openai_compact", "object": "response.compaction",
            "created_at": 1, "output": output,
            "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 9}}),
        )
        .into_response();
    }
    if path.ends_with("/chat/completions") {
        return axum::Json(json!({
            "id": "chatcmpl-openai", "object": "chat.completion", "created": 1,
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": OPENAI_ANSWER}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
        }))
        .into_response();
    }
    let response = json!({"id": "resp_openai", "object": "response", "status": "completed",
        "model": body["model"], "output": [{"type": "message", "id": "msg_openai",
            "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": OPENAI_ANSWER, "annotations": []}]}],
        "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 9}});
    if body["stream"] != true {
        return axum::Json(response).into_response();
    }
    let item = &response["output"][0];
    let mut added = item.clone();
    added["content"] = json!([]);
    let mut created = response.clone();
    created["status"] = "in_progress".into();
    created["output"] = json!([]);
    let events = [
        json!({"type": "response.created", "response": created}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
        json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0,
            "delta": OPENAI_ANSWER}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
        json!({"type": "response.completed", "response": response}),
    ];
    let mut text = String::new();
    for event in &events {
        use std::fmt::Write as _;
        let name = event["type"].as_str().unwrap_or("");
        write!(text, "event: {name}\ndata: {event}\n\n").expect("writing to a String");
    }
    sse(shared, Bytes::from(text))
}
