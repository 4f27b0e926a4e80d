//! What byok counts for `GET /metrics`: one registry per running server, shared by the server
//! (requests, timings, tokens) and the executor (upstream errors, retries, refreshes).
//!
//! The families are [`prometheus_client`] types, rendered in the OpenMetrics text format that
//! Prometheus scrapes. Each [`Metrics`] owns its own registry, so two byok servers in one process
//! (tests, embedders) never mix their figures.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The labels of one answered request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route, e.g. `/v1/chat/completions` (never a raw path with ids in it).
    pub endpoint: String,
    /// The model the client asked for (`-` when there was none).
    pub model: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The upstream account that served it (`-` when none did).
    pub account: String,
}

/// The label of a timing: the route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The route, e.g. `/v1/responses`.
    pub endpoint: String,
}

/// The labels of a token count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// `input`, `output`, `cached` (part of input) or `reasoning` (part of output).
    pub kind: &'static str,
    /// The model the client asked for.
    pub model: String,
}

/// The labels of an upstream event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// `codex` or `openai`.
    pub provider: String,
    /// The HTTP status the upstream answered (0: no answer at all).
    pub status: u16,
}

/// The label of an upstream retry: which upstream.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// `codex` or `openai`.
    pub provider: String,
}

/// The labels of a token refresh.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefreshLabels {
    /// `ok` or `failed`.
    pub outcome: &'static str,
}

/// The labels of one rate-limit window of one account.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WindowLabels {
    /// The account, as `byok status` names it.
    pub account: String,
    /// The window: `primary`, `secondary`, or a per-model family's name.
    pub window: String,
}

/// The label of a named client key's figures.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    /// The key's name from `[[client_keys]]` (`default` for the single `client_key`).
    pub key: String,
}

/// The labels of a request a client key was refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyRefusalLabels {
    /// The key's name.
    pub key: String,
    /// `budget` (its `daily_tokens` spent) or `model` (a model it may not use).
    pub reason: &'static str,
}

/// The label of the shared state's figures.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SharedStateLabels {
    /// Where it is: `redis 127.0.0.1:6379`.
    pub at: String,
}

/// Every figure byok exposes on `GET /metrics`. Cheap to clone (the families are shared).
///
/// ```
/// use byok_types::Metrics;
/// let metrics = Metrics::default();
/// metrics.upstream_retry("codex");
/// assert!(metrics.render().contains("byok_upstream_retries_total{provider=\"codex\"} 1"));
/// ```
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Answered requests by endpoint, model, status and account.
    pub requests: Family<RequestLabels, Counter>,
    /// Seconds from a request's arrival to the first byte of its answer.
    pub time_to_first_byte: Family<EndpointLabels, Histogram>,
    /// Seconds from a request's arrival to the end of its answer (a stream's last byte).
    pub duration: Family<EndpointLabels, Histogram>,
    /// Tokens the upstream reported, by kind and model.
    pub tokens: Family<TokenLabels, Counter>,
    /// Upstream answers that were errors (non-2xx, or no answer: status 0).
    pub upstream_errors: Family<UpstreamLabels, Counter>,
    /// Upstream requests tried again.
    pub upstream_retries: Family<ProviderLabels, Counter>,
    /// ChatGPT token refreshes, by outcome.
    pub refreshes: Family<RefreshLabels, Counter>,
    /// Accounts resting after a usage limit, right now.
    pub accounts_resting: Gauge,
    /// Each account's rate-limit windows: percent used.
    pub window_used_percent: Family<WindowLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Each account's rate-limit windows: seconds until the window resets.
    pub window_reset_seconds: Family<WindowLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Tokens (input plus output) each named client key spent through this server.
    pub key_tokens: Family<KeyLabels, Counter>,
    /// Tokens each named client key spent today (UTC), as the usage store (shared by a team's
    /// instances) knows them.
    pub key_used_today: Family<KeyLabels, Gauge>,
    /// Each named client key's budget of tokens per UTC day.
    pub key_daily_budget: Family<KeyLabels, Gauge>,
    /// Requests refused to a client key: over its budget, or a model it may not use.
    pub key_refusals: Family<KeyRefusalLabels, Counter>,
    /// Whether the state a team shares (Redis) answers: 1, or 0 while it is lost. Absent
    /// when byok runs without one.
    pub shared_state_up: Family<SharedStateLabels, Gauge>,
}

/// Histogram buckets from 1 ms to about 65 s, doubling: time to first byte is milliseconds
/// through byok, whole answers seconds to minutes.
fn timing_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("byok");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Answered requests", requests.clone());
        let time_to_first_byte = Family::<EndpointLabels, Histogram>::new_with_constructor(
            timing_histogram as fn() -> Histogram,
        );
        registry.register(
            "time_to_first_byte_seconds",
            "Seconds from a request's arrival to the first byte of its answer",
            time_to_first_byte.clone(),
        );
        let duration = Family::<EndpointLabels, Histogram>::new_with_constructor(
            timing_histogram as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer",
            duration.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens the upstream reported (cached is part of input, reasoning part of output)",
            tokens.clone(),
        );
        let upstream_errors = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream answers that were errors (status 0: no answer)",
            upstream_errors.clone(),
        );
        let upstream_retries = registered(
            &mut registry,
            "upstream_retries",
            "Upstream requests tried again after a transient failure",
        );
        let refreshes = registered(&mut registry, "token_refreshes", "ChatGPT token refreshes");
        let accounts_resting = registered(
            &mut registry,
            "accounts_resting",
            "ChatGPT accounts resting after a usage limit",
        );
        let window_used_percent = Family::default();
        registry.register(
            "ratelimit_used_percent",
            "Percent of each account's rate-limit window used, as the upstream last said",
            window_used_percent.clone(),
        );
        let window_reset_seconds = Family::default();
        registry.register(
            "ratelimit_reset_seconds",
            "Seconds until each account's rate-limit window resets",
            window_reset_seconds.clone(),
        );
        let key_tokens = registered(
            &mut registry,
            "client_key_tokens",
            "Tokens (input plus output) each named client key spent through this server",
        );
        let key_used_today = registered(
            &mut registry,
            "client_key_used_today_tokens",
            "Tokens each named client key spent today (UTC), over every instance sharing state",
        );
        let key_daily_budget = registered(
            &mut registry,
            "client_key_daily_budget_tokens",
            "Each named client key's budget of tokens per UTC day",
        );
        let key_refusals = registered(
            &mut registry,
            "client_key_refusals",
            "Requests refused to a client key (reason: budget or model)",
        );
        let shared_state_up = registered(
            &mut registry,
            "shared_state_up",
            "Whether the state shared with a team's other instances (Redis) answers: 1 or 0",
        );
        Self {
            registry: Arc::new(registry),
            requests,
            time_to_first_byte,
            duration,
            tokens,
            upstream_errors,
            upstream_retries,
            refreshes,
            accounts_resting,
            window_used_percent,
            window_reset_seconds,
            key_tokens,
            key_used_today,
            key_daily_budget,
            key_refusals,
            shared_state_up,
        }
    }
}

/// A new metric of a default value, registered as `name` with `help`.
fn registered<M>(registry: &mut Registry, name: &str, help: &str) -> M
where
    M: Default + Clone + prometheus_client::registry::Metric,
{
    let metric = M::default();
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    /// Every family in the OpenMetrics text format (`# EOF` last), for `GET /metrics`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts one upstream request tried again.
    pub fn upstream_retry(&self, provider: &str) {
        self.upstream_retries
            .get_or_create(&ProviderLabels {
                provider: provider.to_owned(),
            })
            .inc();
    }

    /// Counts one upstream error answer (`status` 0: none came).
    pub fn upstream_error(&self, provider: &str, status: u16) {
        self.upstream_errors
            .get_or_create(&UpstreamLabels {
                provider: provider.to_owned(),
                status,
            })
            .inc();
    }

    /// Counts one token refresh.
    pub fn refresh(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.refreshes
            .get_or_create(&RefreshLabels { outcome })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_with_their_labels() {
        let metrics = Metrics::default();
        metrics
            .requests
            .get_or_create(&RequestLabels {
                endpoint: "/v1/chat/completions".into(),
                model: "gpt-5.5".into(),
                status: 200,
                account: "me@example.com".into(),
            })
            .inc_by(2);
        metrics
            .time_to_first_byte
            .get_or_create(&EndpointLabels {
                endpoint: "/v1/responses".into(),
            })
            .observe(0.004);
        metrics.refresh(true);
        metrics.upstream_error("codex", 503);
        let text = metrics.render();
        for line in [
            "byok_requests_total{endpoint=\"/v1/chat/completions\",model=\"gpt-5.5\",status=\"200\",account=\"me@example.com\"} 2",
            "byok_time_to_first_byte_seconds_count{endpoint=\"/v1/responses\"} 1",
            "byok_token_refreshes_total{outcome=\"ok\"} 1",
            "byok_upstream_errors_total{provider=\"codex\",status=\"503\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(text.trim_end().ends_with("# EOF"));
        // Another server's figures are its own.
        assert!(!Metrics::default().render().contains("gpt-5.5"));
    }
}
