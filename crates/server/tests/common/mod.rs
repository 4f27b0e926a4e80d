//! A scripted executor and a server in front of it, shared by the test files.
#![allow(dead_code)] // each test file uses its own part

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use byok_server::{ServeError, ServerConfig, serve};
use byok_types::{
    ByokError, ByteStream, ChatRequest, ClientId, ProviderExecutor, ProviderId, ProviderResponse,
    ProviderStream, RequestContext, StreamProtocol, StreamReport,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// An executor that answers with what the test queued, and keeps what it was asked.
#[derive(Default)]
pub struct Scripted {
    pub answers: Mutex<VecDeque<byok_types::Result<ProviderResponse>>>,
    pub asked: Mutex<Vec<Value>>,
    /// The client identity of each call, in order.
    pub clients: Mutex<Vec<ClientId>>,
    /// The headers of each call, in order.
    pub headers: Mutex<Vec<axum::http::HeaderMap>>,
    /// When set, the next call says it started, then never answers; the second sender is
    /// dropped with the call's future.
    pub hang: Mutex<Option<(oneshot::Sender<()>, oneshot::Sender<()>)>>,
}

impl Scripted {
    /// Makes the next call hang until its future is dropped. The receivers see the call start,
    /// then its future dropped.
    pub fn hang_next(&self) -> (oneshot::Receiver<()>, oneshot::Receiver<()>) {
        let (started_tx, started_rx) = oneshot::channel();
        let (dropped_tx, dropped_rx) = oneshot::channel();
        *self.hang.lock().unwrap() = Some((started_tx, dropped_tx));
        (started_rx, dropped_rx)
    }

    pub fn answer(&self, answer: byok_types::Result<ProviderResponse>) {
        self.answers.lock().unwrap().push_back(answer);
    }

    fn next(&self, ctx: &RequestContext, asked: Value) -> byok_types::Result<ProviderResponse> {
        self.asked.lock().unwrap().push(asked);
        self.clients.lock().unwrap().push(ctx.client().clone());
        self.headers.lock().unwrap().push(ctx.headers().clone());
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(ByokError::Internal("the test queued no answer".into())))
    }
}

#[async_trait::async_trait]
impl ProviderExecutor for Scripted {
    fn provider(&self) -> ProviderId {
        ProviderId::Codex
    }
    async fn chat(
        &self,
        ctx: &RequestContext,
        request: ChatRequest,
    ) -> byok_types::Result<ProviderResponse> {
        let hang = self.hang.lock().unwrap().take();
        if let Some((started, _dropped_with_the_future)) = hang {
            started.send(()).ok();
            std::future::pending::<()>().await;
        }
        self.next(ctx, request.to_value())
    }
    async fn responses(
        &self,
        ctx: &RequestContext,
        body: Value,
    ) -> byok_types::Result<ProviderResponse> {
        self.next(ctx, body)
    }
    fn supported_models(&self, _ctx: &RequestContext) -> Vec<String> {
        vec!["gpt-5".into(), "o4-mini".into()]
    }
}

pub struct Server {
    pub base: String,
    pub executor: Arc<Scripted>,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Server {
    pub async fn start(config: ServerConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let executor = Arc::new(Scripted::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            config,
            executor.clone() as Arc<dyn ProviderExecutor>,
            async {
                stopped.await.ok();
            },
        ));
        Self {
            base,
            executor,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) -> Result<(), ServeError> {
        self.stop.take().unwrap().send(()).ok();
        self.task.await.unwrap()
    }
}

/// A streamed answer of `protocol` with these bytes, and the report the server reads.
pub fn stream_of(protocol: StreamProtocol, body: ByteStream) -> (ProviderResponse, StreamReport) {
    let report = StreamReport::new();
    let stream = ProviderStream::new(protocol, body, report.clone());
    (ProviderResponse::Stream(stream), report)
}

/// A streamed Chat answer with these bytes (its report left empty).
pub fn chat_stream(body: ByteStream) -> ProviderResponse {
    stream_of(StreamProtocol::Chat, body).0
}

/// A one-message Chat request.
pub fn chat_body(stream: bool) -> Value {
    json!({"model": "gpt-5", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

/// The body of an error answer, after checking it has OpenAI's four fields.
pub async fn error_of(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_object().expect("an OpenAI error object");
    for key in ["message", "type", "param", "code"] {
        assert!(error.contains_key(key), "{key} missing in {body}");
    }
    body
}
