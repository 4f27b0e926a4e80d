//! A stand-in for the Codex backend, on 127.0.0.1, that replays recorded streams and misbehaves
//! on demand, with the ChatGPT issuer of byok-test-support beside it. It keeps every request it
//! received.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use byok_test_support::issuer::Issuer;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{fixtures, sse};

/// The path of the Codex backend on the stand-in: `codex_base_url` is `{url}/backend-api/codex`.
pub const CODEX_PATH: &str = "/backend-api/codex";

/// How the stand-in answers `POST {CODEX_PATH}/responses`.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A recorded stream (`tools`, `text-empty-output`, ...) with its recorded headers.
    Replay(&'static str),
    /// The first `n` events of a recorded stream, then the connection is closed: a stream that
    /// never reaches `response.completed`.
    CutAfter(&'static str, usize),
    /// The first `n` events of a recorded stream, then silence with the connection held open.
    HangAfter(&'static str, usize),
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
    /// 429 `usage_limit_reached`, as the backend sends it.
    UsageLimit {
        /// The body's `resets_in_seconds`.
        resets_in_seconds: u64,
    },
    /// A plain error status with a JSON body.
    Status(u16),
    /// A stream the function builds from the request body (see [`crate::scripted`]).
    Scripted(fn(&Value) -> String),
}

/// One request the stand-in received (byok-test-support's, shared by every stand-in).
pub use byok_test_support::Received;

struct Shared {
    reply: Mutex<Reply>,
    received: Mutex<Vec<Received>>,
    /// Whether each answer gets a response id of its own (see [`StandIn::number_responses`]).
    numbered: AtomicBool,
    /// How many Codex answers were streamed.
    answers: AtomicUsize,
    /// How many response bodies ended (sent in full, or dropped because the peer went away).
    bodies_ended: watch::Sender<usize>,
    /// What `GET {CODEX_PATH}/models` answers (see [`StandIn::set_catalog`]); none: 404.
    catalog: Mutex<Option<Value>>,
}

/// The running stand-in. Dropping it stops it.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    /// The issuer byok signs in and refreshes at, which knows the account of
    /// [`Byok::sign_in`](crate::harness::Byok::sign_in).
    issuer: Issuer,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts a stand-in answering every Codex request with `reply`.
    pub async fn start(reply: Reply) -> Self {
        let shared = Arc::new(Shared {
            reply: Mutex::new(reply),
            received: Mutex::new(Vec::new()),
            numbered: AtomicBool::new(false),
            answers: AtomicUsize::new(0),
            bodies_ended: watch::channel(0).0,
            catalog: Mutex::new(None),
        });
        let app = Router::new()
            .route(&format!("{CODEX_PATH}/responses"), post(codex_responses))
            .route(
                &format!("{CODEX_PATH}/responses/compact"),
                post(codex_compact_endpoint),
            )
            .route(
                &format!("{CODEX_PATH}/models"),
                axum::routing::get(codex_models),
            )
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/responses", post(openai_responses))
            .route("/v1/responses/compact", post(openai_compact))
            .route(
                "/v1/responses/{*rest}",
                axum::routing::get(openai_stored).delete(openai_stored),
            )
            .with_state(Arc::clone(&shared));
        let (url, task) = byok_test_support::serve(app).await;
        let issuer = Issuer::start().await;
        issuer.accept_refresh_token_of(crate::harness::ACCOUNT_ID, crate::harness::REFRESH_TOKEN);
        Self {
            url,
            shared,
            issuer,
            task,
        }
    }

    /// The issuer's address, for byok's `auth_issuer`.
    pub fn issuer_url(&self) -> String {
        self.issuer.url.clone()
    }

    /// The Codex base URL to give byok.
    pub fn codex_base_url(&self) -> String {
        format!("{}{CODEX_PATH}", self.url)
    }

    /// Serves `catalog` (the backend's `{"models": [...]}`) at `GET {CODEX_PATH}/models`,
    /// tagged `x-models-etag: "standin-1"`.
    pub fn set_catalog(&self, catalog: Value) {
        *self.shared.catalog.lock().expect("lock") = Some(catalog);
    }

    /// Changes how later requests are answered.
    pub fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().expect("lock") = reply;
    }

    /// Answers like the live backend where the recordings cannot: every later answer gets a
    /// response id of its own (the recorded id with `_N` added, N counting answers from 1), and
    /// its reasoning items the `encrypted_content` byok asks for with `include` (the recordings
    /// were made without it): [`standin_encrypted`] of the item's id. For tests that chain
    /// responses.
    pub fn answer_afresh(&self) {
        self.shared.numbered.store(true, Ordering::SeqCst);
    }

    /// Every Codex request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// How many refresh requests reached the issuer.
    pub fn refreshes(&self) -> usize {
        self.issuer.refreshes()
    }

    /// A watch on the number of response bodies that ended, to see a connection close.
    pub fn bodies_ended(&self) -> watch::Receiver<usize> {
        self.shared.bodies_ended.subscribe()
    }
}

/// Counts a body as ended when it is dropped, whether it was sent in full or not.
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.bodies_ended.send_modify(|n| *n += 1);
    }
}

async fn codex_models(State(shared): State<Arc<Shared>>) -> Response {
    match shared.catalog.lock().expect("lock").clone() {
        Some(catalog) => {
            let mut response = axum::Json(catalog).into_response();
            response.headers_mut().insert(
                "x-models-etag",
                axum::http::HeaderValue::from_static("\"standin-1\""),
            );
            response
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn codex_responses(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let has_tool_output = body["input"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["type"] == "function_call_output"));
    let refusal = refuse_stored_state(&body).or_else(|| refuse_misplaced_trigger(&headers, &body));
    let compacts = body["input"]
        .as_array()
        .and_then(|items| items.last())
        .is_some_and(|item| item["type"] == "compaction_trigger");
    let reply = shared.reply.lock().expect("lock").clone();
    let scripted = match reply {
        Reply::Scripted(script) => Some(script(&body)),
        _ => None,
    };
    shared.received.lock().expect("lock").push(Received {
        path: format!("{CODEX_PATH}/responses"),
        headers,
        body,
    });
    if let Some(refusal) = refusal {
        return refusal;
    }
    // The backend compacts whenever the input ends with the trigger, whatever it would have
    // answered the conversation otherwise; failures stay failures.
    let answers = matches!(
        reply,
        Reply::Replay(_) | Reply::ByTools { .. } | Reply::ToolLoop { .. } | Reply::Scripted(_)
    );
    if compacts && answers {
        return sse_body(&shared, crate::scripted::compaction());
    }
    match reply {
        Reply::Scripted(_) => sse_body(&shared, scripted.unwrap_or_default()),
        Reply::Replay(name) => stream(&shared, name, usize::MAX, false),
        Reply::ToolLoop { call, answer } => {
            let name = if has_tool_output { answer } else { call };
            stream(&shared, name, usize::MAX, false)
        }
        Reply::ByTools {
            with_tools,
            without,
        } => {
            let name = if has_tools { with_tools } else { without };
            stream(&shared, name, usize::MAX, false)
        }
        Reply::CutAfter(name, n) => stream(&shared, name, n, false),
        Reply::HangAfter(name, n) => stream(&shared, name, n, true),
        Reply::UsageLimit { resets_in_seconds } => {
            let body = json!({"error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_in_seconds": resets_in_seconds,
            }});
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
        }
        Reply::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": {"message": "the stand-in fails on purpose",
                "type": "server_error", "param": null, "code": null}});
            (status, axum::Json(body)).into_response()
        }
    }
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

/// `POST {CODEX_PATH}/responses/compact`: the endpoint the official client no longer calls
/// (it compacts in band, `official-compact`). Kept, so that a test sees byok never calls it
/// either, and answered 404 as an unknown route.
async fn codex_compact_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.received.lock().expect("lock").push(Received {
        path: format!("{CODEX_PATH}/responses/compact"),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"detail": "Not Found"})),
    )
        .into_response()
}

/// A scripted stream, in one chunk.
fn sse_body(shared: &Arc<Shared>, text: String) -> Response {
    let guard = EndGuard(Arc::clone(shared));
    let body = futures::stream::once(async move {
        drop(guard);
        Ok::<_, std::io::Error>(Bytes::from(text))
    });
    let mut response = Response::new(Body::from_stream(body));
    response
        .headers_mut()
        .insert("content-type", "text/event-stream".parse().expect("header"));
    response
}

/// The first `limit` events of a recording, one chunk each; then the end, or silence.
fn stream(shared: &Arc<Shared>, name: &str, limit: usize, hang: bool) -> Response {
    let recorded = fixtures::recorded(name);
    let n = shared.answers.fetch_add(1, Ordering::SeqCst) + 1;
    let recorded = if shared.numbered.load(Ordering::SeqCst) {
        let id = fixtures::recorded_events(name)
            .iter()
            .find_map(|e| e["response"]["id"].as_str().map(str::to_owned))
            .expect("the recording has a response id");
        recorded.replace(&format!("\"{id}\""), &format!("\"{id}_{n}\""))
    } else {
        recorded
    };
    let afresh = shared.numbered.load(Ordering::SeqCst);
    let events: Vec<Bytes> = sse::events(&recorded)
        .into_iter()
        .take(limit)
        .map(|mut e| {
            if afresh {
                e.data = with_encrypted_reasoning(e.data);
            }
            let name = e.name.map(|n| format!("event: {n}\n")).unwrap_or_default();
            Bytes::from(format!("{name}data: {}\n\n", e.data))
        })
        .collect();
    let guard = EndGuard(Arc::clone(shared));
    let body = futures::stream::iter(events.into_iter().map(Ok::<_, std::io::Error>)).chain(
        futures::stream::once(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            drop(guard);
            Ok(Bytes::new())
        }),
    );
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert("content-type", "text/event-stream".parse().expect("header"));
    for (name, value) in fixtures::recorded_headers(name) {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name),
            axum::http::HeaderValue::try_from(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// The `encrypted_content` the stand-in gives the reasoning item `id` (see [`StandIn::answer_afresh`]).
pub fn standin_encrypted(id: &str) -> String {
    format!("gAAAAB-standin-encrypted-{id}")
}

/// An event's JSON with `encrypted_content` on its reasoning item, if it has one.
fn with_encrypted_reasoning(data: String) -> String {
    if !data.contains(r#""type":"reasoning""#) {
        return data;
    }
    let Ok(mut event) = serde_json::from_str::<Value>(&data) else {
        return data;
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

/// The OpenAI API's Chat Completions (API-key mode): one plain answer.
async fn openai_chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = body["model"].clone();
    shared.received.lock().expect("lock").push(Received {
        path: "/v1/chat/completions".into(),
        headers,
        body,
    });
    axum::Json(json!({
        "id": "chatcmpl-openai", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": OPENAI_ANSWER}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
    }))
}

/// The OpenAI API's Responses (API-key mode): [`OPENAI_ANSWER`] as a `response` object, or,
/// for `stream: true`, as the API streams it (deltas, then `response.completed` with the
/// output, unlike the Codex backend).
async fn openai_responses(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = body["stream"] == true;
    let response = json!({"id": "resp_openai", "object": "response", "status": "completed",
        "model": body["model"], "output": [{"type": "message", "id": "msg_openai",
            "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": OPENAI_ANSWER, "annotations": []}]}],
        "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 9}});
    shared.received.lock().expect("lock").push(Received {
        path: "/v1/responses".into(),
        headers,
        body,
    });
    if !stream {
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
    sse_body(&shared, text)
}

/// The OpenAI API's compact endpoint (API-key mode): the user messages of `input`, then one
/// compaction item ([`OPENAI_COMPACTION`]), as the API answers.
async fn openai_compact(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut output: Vec<Value> = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["role"] == "user")
        .cloned()
        .collect();
    output.push(json!({"type": "compaction", "id": "cmp_openai",
        "encrypted_content": OPENAI_COMPACTION}));
    shared.received.lock().expect("lock").push(Received {
        path: "/v1/responses/compact".into(),
        headers,
        body,
    });
    axum::Json(
        json!({"id": "resp_openai_compact", "object": "response.compaction",
        "created_at": 1, "output": output,
        "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 9}}),
    )
}

/// The `encrypted_content` of the stand-in OpenAI API's compaction item.
pub const OPENAI_COMPACTION: &str = "gAAAAB-openai-compaction";

/// The OpenAI API's stored responses (API-key mode): every `GET` or `DELETE` under
/// `/v1/responses/` is kept (method and query in `path`, e.g. `GET /v1/responses/r/input_items?limit=2`)
/// and answered with a 404 in the API's words, which byok must pass on as it is.
async fn openai_stored(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    shared.received.lock().expect("lock").push(Received {
        path: format!("{method} {path}"),
        headers,
        body: Value::Null,
    });
    let body = json!({"error": {"message": OPENAI_NOT_FOUND, "type": "invalid_request_error",
        "param": null, "code": null}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// What the stand-in OpenAI API answers about a stored response.
pub const OPENAI_NOT_FOUND: &str = "Response with id 'resp_standin' not found.";

/// What the stand-in OpenAI API answers.
pub const OPENAI_ANSWER: &str = "an answer from the OpenAI API";
