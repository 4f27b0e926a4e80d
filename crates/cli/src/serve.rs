//! `byok serve`: find credentials, build the executor, run the server.
//!
//! The binary and the end-to-end tests run this very code; only the listener and the shutdown
//! signal differ.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use byok_executor::CodexExecutor;
use byok_types::{Metrics, ProviderExecutor, RateLimitStore};
use tokio::net::TcpListener;

use crate::ratelimits::RateLimitFile;
use crate::{CliError, Credentials, Settings};

/// Binds the address of `settings`, refusing one beyond loopback when no client key is set.
pub async fn bind(settings: &Settings) -> Result<TcpListener, CliError> {
    let wanted = format!("{}:{}", settings.host, settings.port);
    // A (host, port) pair takes IPv6 literals (`::1`) as well as names and IPv4.
    let addr: SocketAddr = tokio::net::lookup_host((settings.host.as_str(), settings.port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| CliError::Listen {
            addr: wanted.clone(),
            detail: "not an address or host name this machine can resolve".into(),
        })?;
    byok_server::check_bind(
        addr,
        settings.client_key.is_some() || !settings.client_keys.is_empty(),
    )?;
    TcpListener::bind(addr).await.map_err(|e| {
        let detail = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!("{e}; is another byok running? Pick another port with `--port`")
        } else {
            e.to_string()
        };
        CliError::Listen {
            addr: addr.to_string(),
            detail,
        }
    })
}

/// Raises this process's soft limit of open files to its hard limit, as servers do (Go's
/// runtime does it for every program): a stream holds two descriptors (the client's and the
/// upstream's), and the usual soft limit of 1,024 would make a few hundred silent connections
/// starve everyone else until `client_idle_timeout_secs` closes them (57 s measured with 300 of
/// them and 128 files). The hard limit stays what the system set; where it cannot be raised
/// byok serves within the old one and says so at debug level.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(files) => tracing::debug!(files, "open files allowed"),
        Err(err) => tracing::debug!(error = %err, "the limit of open files stays as it was"),
    }
}

/// Runs `byok serve` on `listener` until `shutdown` completes: says which credentials it uses
/// and the base URL, serves, and keeps `ratelimits.json` up to date for `byok status`.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), CliError> {
    // First: a team's instance that cannot share its state must not serve alone.
    let shared = crate::shared::connect(&settings).await?;
    let credentials = match &shared {
        Some(state) => {
            let team = byok_state::RedisTokenStore::new(state.clone());
            Credentials::find_in_team(&settings, &team).await?
        }
        None => Credentials::find(&settings).await?,
    };
    let ratelimits = Arc::new(RateLimitStore::default());
    // One registry for the server and the executor: one `GET /metrics` shows both.
    let metrics = Metrics::default();
    let executor = credentials.executor(
        &settings,
        Arc::clone(&ratelimits),
        &metrics,
        shared.as_ref(),
    )?;
    let addr = listener.local_addr().map_err(|e| CliError::Listen {
        addr: format!("{}:{}", settings.host, settings.port),
        detail: e.to_string(),
    })?;
    announce(&credentials, &executor, addr, &settings);
    if shared.is_some() {
        eprintln!(
            "byok: sharing accounts, refreshes, stored responses, client keys' usage, account \
             rests, conversations' accounts, rate-limit figures and model catalogs through Redis \
             ({})",
            crate::shared::describe(&settings)
        );
    }

    let saver = tokio::spawn(save_ratelimits_on_change(
        settings.clone(),
        Arc::clone(&ratelimits),
    ));
    let executor = Arc::new(executor);
    let publisher = shared.is_some().then(|| {
        tokio::spawn(publish_ratelimits_on_change(
            settings.ratelimit_save_delay,
            Arc::clone(&ratelimits),
            Arc::clone(&executor),
        ))
    });
    // The model catalog of every account whose kept copy is not fresh, asked at start as the
    // official client does, in the background: serving starts at once, on the kept or bundled
    // catalog until the answers come.
    let catalogs = tokio::spawn({
        let executor = Arc::clone(&executor);
        async move {
            match executor.refresh_models(true).await {
                Ok(answers) => {
                    for answer in answers {
                        if let Err(err) = answer.answer {
                            tracing::warn!(account = answer.account, error = %err, "the model catalog could not be fetched; `byok models` asks again");
                        }
                    }
                }
                Err(err) => tracing::debug!(error = %err, "no model catalog asked"),
            }
        }
    });
    let executor: Arc<dyn ProviderExecutor> = executor;
    let mut config = settings.server_config(&metrics);
    // Pinged every second, so /readyz and /metrics say within a second when Redis goes.
    let watch = shared.as_ref().map(|state| {
        config.key_usage = Arc::new(byok_state::RedisKeyUsage::new(state.clone()));
        config.shared_state = Some(Arc::new(state.clone()));
        state.watch(std::time::Duration::from_secs(1))
    });
    let served = byok_server::serve(listener, config, executor, shutdown).await;
    saver.abort();
    catalogs.abort();
    if let Some(publisher) = publisher {
        publisher.abort();
    }
    if let Some(watch) = watch {
        watch.abort();
    }
    if let Err(e) = RateLimitFile::merge_and_save(&settings.home, &ratelimits) {
        tracing::warn!(error = %e, "could not save the rate-limit figures");
    }
    served?;
    tracing::info!("byok stopped");
    Ok(())
}

/// The start-up lines, on stderr whatever the log level: which credentials (never a secret),
/// which upstream, and the base URL to give clients.
fn announce(
    credentials: &Credentials,
    executor: &CodexExecutor,
    addr: SocketAddr,
    settings: &Settings,
) {
    eprintln!("byok: credentials: {credentials}");
    eprintln!(
        "byok: upstream {} ({} models; `byok models` lists them)",
        executor.base_url(),
        executor.supported_models().len()
    );
    if settings.client_key.is_some() || !settings.client_keys.is_empty() {
        let named = settings.client_keys.len();
        let keys = match (settings.client_key.is_some(), named) {
            (true, 0) => "the client key".to_owned(),
            (true, n) => format!("the client key or one of the {n} named keys"),
            (false, 1) => "the named client key".to_owned(),
            (false, n) => format!("one of the {n} named client keys"),
        };
        eprintln!("byok: clients must send {keys} as `Authorization: Bearer KEY`");
    }
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    eprintln!(
        "byok: serving the OpenAI API at http://{host}:{}/v1 (Ctrl-C stops it)",
        addr.port()
    );
}

/// Runs `act` soon after the figures change: the first change wakes the loop, which waits
/// `delay` for the rest of a burst of answers and acts once for all of them (one write per
/// `delay` at most, however busy, off the requests' way). The one debounce of both the file
/// saver and the team publisher below.
async fn after_each_change<F, Fut>(store: &RateLimitStore, delay: std::time::Duration, mut act: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut changes = store.changes();
    while changes.changed().await.is_ok() {
        tokio::time::sleep(delay).await;
        changes.mark_unchanged();
        act().await;
    }
}

/// Tells the team's other instances the figures soon after they change, as
/// [`save_ratelimits_on_change`] saves them.
async fn publish_ratelimits_on_change(
    delay: std::time::Duration,
    store: Arc<RateLimitStore>,
    executor: Arc<byok_executor::CodexExecutor>,
) {
    after_each_change(&store, delay, || executor.publish_ratelimits()).await;
}

/// Saves the figures soon after they change, so `byok status` shows them right after a request
/// (one small file write per `ratelimit_save_delay` at most).
async fn save_ratelimits_on_change(settings: Settings, store: Arc<RateLimitStore>) {
    after_each_change(&store, settings.ratelimit_save_delay, || async {
        let (home, store) = (settings.home.clone(), Arc::clone(&store));
        // File I/O off the async workers.
        let saved =
            tokio::task::spawn_blocking(move || RateLimitFile::merge_and_save(&home, &store));
        if let Ok(Err(e)) = saved.await {
            tracing::warn!(error = %e, "could not save the rate-limit figures");
        }
    })
    .await;
}
