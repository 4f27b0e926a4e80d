//! The server's own state for people and monitors: `GET /v1/status` (JSON), `GET /readyz`, the
//! status page `GET /`, and the rate-limit gauges of `GET /metrics`, all from the executor's
//! [`ProviderStatus`] at the moment of asking.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use byok_types::{ClientKeyStatus, KeyLabels, Metrics, ProviderStatus, WindowLabels, unix_now};
use serde_json::{Value, json};

use crate::AppState;

/// `GET /v1/status`: the accounts (plan, token expiry, rest, rate-limit windows, credits),
/// whether the server can serve, the client keys (tokens spent today, budget, models), and
/// the server itself.
pub(crate) async fn status(State(state): State<AppState>) -> Json<Value> {
    let provider = state.executor.status().await;
    let now = unix_now();
    let keys = crate::client_key::statuses(&state, now).await;
    let mut body = serde_json::to_value(&provider).unwrap_or_else(|_| json!({}));
    if let Some(map) = body.as_object_mut() {
        map.insert("object".into(), "byok.status".into());
        map.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        map.insert("started_at".into(), state.started_at.into());
        map.insert("now".into(), now.into());
        map.insert(
            "client_keys".into(),
            serde_json::to_value(&keys).unwrap_or_default(),
        );
    }
    Json(body)
}

/// `GET /readyz`: 200 once credentials are usable, 503 (saying what to run) until then; with a
/// shared state, whether it can be reached.
/// `/healthz` answers 200 whenever the process serves.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let provider = state.executor.status().await;
    let code = if provider.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "status": if provider.ready { "ready" } else { "not_ready" },
        "provider": provider.provider,
        "detail": provider.detail,
    });
    // A lost Redis shows here, but does not make the instance unready: it still serves what
    // needs no shared state, and a 503 would take every instance of a team out of its load
    // balancer at once.
    if let Some(shared) = &state.config.shared_state {
        body["shared_state"] = json!({
            "at": shared.describe(),
            "status": if shared.is_up() { "up" } else { "unreachable" },
        });
    }
    (code, Json(body)).into_response()
}

/// `GET /metrics`: the figures in the OpenMetrics text format, the rate-limit gauges read
/// from the executor now (accounts gone since are gone from them).
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = &state.config.metrics;
    let now = unix_now();
    set_gauges(metrics, &state.executor.status().await, now);
    set_key_gauges(metrics, &crate::client_key::statuses(&state, now).await);
    if let Some(shared) = &state.config.shared_state {
        metrics
            .shared_state_up
            .get_or_create(&byok_types::SharedStateLabels {
                at: shared.describe(),
            })
            .set(i64::from(shared.is_up()));
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// `GET /` (and `HEAD /`): the status page, refreshing itself.
pub(crate) async fn page(State(state): State<AppState>) -> Html<String> {
    let now = unix_now();
    let provider = state.executor.status().await;
    Html(crate::page::render(&crate::page::Page {
        status: &provider,
        last_hour: state.recent.last_hour(now),
        started_at: state.started_at,
        now,
    }))
}

/// Each client key's tokens of today and budget, as the (maybe shared) usage store knows them.
fn set_key_gauges(metrics: &Metrics, keys: &[ClientKeyStatus]) {
    for key in keys {
        let labels = KeyLabels {
            key: key.name.clone(),
        };
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        metrics
            .key_used_today
            .get_or_create(&labels)
            .set(gauge(key.used_today));
        if let Some(budget) = key.daily_tokens {
            metrics
                .key_daily_budget
                .get_or_create(&labels)
                .set(gauge(budget));
        }
    }
}

/// The gauges of `status`: resting accounts and each window's used percent and seconds to
/// its reset, labelled `family:primary` / `family:secondary` (`codex:primary` is the
/// account's five-hour window).
fn set_gauges(metrics: &Metrics, status: &ProviderStatus, now: i64) {
    let resting = status
        .accounts
        .iter()
        .filter(|a| a.resting_until.is_some_and(|until| until > now))
        .count();
    metrics
        .accounts_resting
        .set(i64::try_from(resting).unwrap_or(i64::MAX));
    metrics.window_used_percent.clear();
    metrics.window_reset_seconds.clear();
    for account in &status.accounts {
        for family in &account.rate_limits {
            for (which, window) in family.windows() {
                let labels = WindowLabels {
                    account: account.name.clone(),
                    window: format!("{}:{which}", family.id),
                };
                metrics
                    .window_used_percent
                    .get_or_create(&labels)
                    .set(window.used_percent);
                if let Some(at) = window.resets_at {
                    #[allow(clippy::cast_precision_loss)] // seconds: far below 2^52
                    let secs = (at - now).max(0) as f64;
                    metrics
                        .window_reset_seconds
                        .get_or_create(&labels)
                        .set(secs);
                }
            }
        }
    }
}
