//! Running the server on a socket: accepting, connection timeouts, stopping gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use byok_types::ProviderExecutor;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::{AppState, ServeError, ServerConfig, router};

/// Refuses an address beyond this machine when no client key protects it.
///
/// ```
/// use byok_server::check_bind;
///
/// assert!(check_bind("127.0.0.1:8018".parse().unwrap(), false).is_ok());
/// assert!(check_bind("0.0.0.0:8018".parse().unwrap(), false).is_err());
/// assert!(check_bind("0.0.0.0:8018".parse().unwrap(), true).is_ok());
/// ```
pub fn check_bind(addr: SocketAddr, has_client_key: bool) -> Result<(), ServeError> {
    if addr.ip().is_loopback() || has_client_key {
        Ok(())
    } else {
        Err(ServeError::ClientKeyRequired { addr })
    }
}

/// Serves the OpenAI-compatible API on `listener` until `shutdown` completes.
///
/// After `shutdown`, no new connection is accepted; running requests (streams included) may
/// finish for up to [`ServerConfig::shutdown_grace`], then they are cut and `serve` returns.
/// Fails at once with [`ServeError::ClientKeyRequired`] when the listener is not on loopback
/// and the config has no client key.
///
/// A connection that sends no request headers within [`ServerConfig::client_idle_timeout`] of
/// opening or of its previous answer is closed. When accepting fails (no file descriptors
/// left), the error is logged once, and accepting goes on after a short pause.
///
/// ```no_run
/// # async fn run(executor: std::sync::Arc<dyn byok_types::ProviderExecutor>) -> Result<(), byok_server::ServeError> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8018").await?;
/// byok_server::serve(listener, byok_server::ServerConfig::default(), executor,
///     byok_server::shutdown_signal()).await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    executor: Arc<dyn ProviderExecutor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    check_bind(addr, config.has_client_key())?;
    let grace = config.shutdown_grace;
    let idle = config.client_idle_timeout;
    let state = AppState::new(executor, config).listening_on(addr);
    let service = TowerToHyperService::new(router(state.clone()));
    let http = Arc::new(http_builder(idle));
    let connections = GracefulShutdown::new();

    tokio::pin!(shutdown);
    let mut failing: Option<AcceptFailure> = None;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => {
                if let Some(failure) = failing.take() {
                    tracing::info!(refused = failure.count, "accepting connections again");
                }
                tcp
            }
            // The client gave up before it was accepted: nothing is wrong here.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors, typically: said once per episode, not once per try
                // (tens a second), and tried again soon, as connections close.
                if let Some(failure) = &mut failing {
                    failure.count += 1;
                } else {
                    tracing::error!(
                        error = %e,
                        "cannot accept connections (too many open? see `ulimit -n`); \
                         trying again every {} ms",
                        ACCEPT_PAUSE.as_millis()
                    );
                    failing = Some(AcceptFailure { count: 1 });
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                }
            }
        };
        // Without TCP_NODELAY, Nagle's algorithm holds each small event back until the
        // previous one is acknowledged: tens of milliseconds per token on a stream.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        let io = TokioIo::new(FirstBytesDeadline::new(tcp, idle));
        let (http, service, watcher) = (Arc::clone(&http), service.clone(), connections.watcher());
        tokio::spawn(async move {
            let connection = http.serve_connection(io, service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; running requests may finish");
    let finished = connections.shutdown();
    tokio::pin!(finished);
    if tokio::time::timeout(grace, &mut finished).await.is_ok() {
        return Ok(());
    }
    tracing::warn!(
        grace_secs = grace.as_secs(),
        "requests still running after the grace period: cutting them"
    );
    state.cut_running_requests();
    // Cut requests end at once; their connections get a moment to send the closing event.
    let _ = tokio::time::timeout(CLOSE_AFTER_CUT, finished).await;
    Ok(())
}

/// How long connections may take to close once their requests are cut.
const CLOSE_AFTER_CUT: Duration = Duration::from_secs(1);

/// The pause after a failed `accept` before the next try.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// An episode of failing `accept`s.
struct AcceptFailure {
    count: u64,
}

/// Errors of one connection that went away before it was accepted, as axum's `serve` skips
/// them.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// HTTP/1 and HTTP/2 (by prior knowledge), as axum's `serve` speaks them, plus what it leaves
/// off: hyper's header-read timeout, which also runs while a kept-alive connection waits for
/// its next request, so it doubles as the idle keep-alive timeout; and HTTP/2 pings, so a
/// vanished peer's connection is closed.
fn http_builder(idle: Duration) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(idle)
        .keep_alive_timeout(idle);
    builder
}

/// A connection that must send its first bytes within a deadline.
///
/// hyper's header-read timeout starts only once the connection is known to be HTTP/1: the
/// first 24 bytes (the length of HTTP/2's preface) are read without one, so a connection that
/// sends nothing, or a byte, would hold its file descriptor forever. This closes the gap: until
/// those bytes have come, a read that is still waiting at the deadline fails.
struct FirstBytesDeadline {
    tcp: TcpStream,
    /// `None` once the first bytes came: then reads pass straight through.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    read: usize,
}

/// The bytes hyper reads to tell HTTP/2 from HTTP/1.
const VERSION_BYTES: usize = 24;

impl FirstBytesDeadline {
    fn new(tcp: TcpStream, within: Duration) -> Self {
        Self {
            tcp,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
            read: 0,
        }
    }
}

impl AsyncRead for FirstBytesDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        let Some(deadline) = &mut this.deadline else {
            return polled;
        };
        match polled {
            Poll::Ready(result) => {
                this.read += buf.filled().len() - before;
                if this.read >= VERSION_BYTES {
                    this.deadline = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client sent no request in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for FirstBytesDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM: the usual `shutdown` argument of [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No Ctrl-C handler can be installed: wait for the other signal only.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
