//! Running the server on a socket, and stopping it gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use byok_types::{ProviderExecutor, Secret};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::{AppState, ServeError, ServerConfig, router};

/// Refuses an address beyond this machine when no client key protects it.
///
/// ```
/// use byok_server::check_bind;
/// use byok_types::Secret;
///
/// assert!(check_bind("127.0.0.1:8018".parse().unwrap(), None).is_ok());
/// assert!(check_bind("0.0.0.0:8018".parse().unwrap(), None).is_err());
/// assert!(check_bind("0.0.0.0:8018".parse().unwrap(), Some(&Secret::new("k"))).is_ok());
/// ```
pub fn check_bind(addr: SocketAddr, client_key: Option<&Secret>) -> Result<(), ServeError> {
    let has_key = client_key.is_some_and(|k| !k.is_empty());
    if addr.ip().is_loopback() || has_key {
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
    check_bind(addr, config.client_key.as_ref())?;
    let grace = config.shutdown_grace;
    let state = AppState::new(executor, config).listening_on(addr);
    let app = router(state.clone());
    let stopping = Arc::new(Notify::new());
    let notify = Arc::clone(&stopping);
    // Without TCP_NODELAY, Nagle's algorithm holds each small event back until the previous
    // one is acknowledged: tens of milliseconds per token on a stream.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    // `into_make_service` hands each connection a clone of the router; serving the router
    // itself rebuilds its routes for every connection.
    let service = app.into_make_service();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; running requests may finish");
        notify.notify_one();
    });
    let deadline = async {
        stopping.notified().await;
        tokio::time::sleep(grace).await;
    };
    let server = server.into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(ServeError::Io),
        () = deadline => {}
    }
    tracing::warn!(
        grace_secs = grace.as_secs(),
        "requests still running after the grace period: cutting them"
    );
    state.cut_running_requests();
    // Cut requests end at once; their connections get a moment to send the closing event.
    match tokio::time::timeout(CLOSE_AFTER_CUT, server).await {
        Ok(result) => result.map_err(ServeError::Io),
        Err(_) => Ok(()),
    }
}

/// How long connections may take to close once their requests are cut.
const CLOSE_AFTER_CUT: Duration = Duration::from_secs(1);

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
