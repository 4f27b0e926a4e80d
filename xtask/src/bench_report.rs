//! The benchmark's figures: one row per scenario and API, as a table and as JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::procstat::ProcStat;

/// One line of the table: a scenario measured straight at the stand-in and through byok.
pub struct Row {
    /// The scenario's `--only` name.
    pub name: &'static str,
    label: &'static str,
    /// The API byok was asked on (`chat`, `responses`, `messages`).
    pub api: &'static str,
    concurrency: usize,
    direct: Value,
    proxied: Value,
    cpu_seconds_per_1000: f64,
    peak_rss_mib: f64,
    pub errors: u64,
    /// Why the scenario ran otherwise than asked (fewer streams than file descriptors allow).
    pub note: Option<String>,
}

impl Row {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &'static str,
        label: &'static str,
        api: &'static str,
        concurrency: usize,
        direct: &Value,
        proxied: &Value,
        before: &ProcStat,
        after: &ProcStat,
    ) -> Self {
        let requests = proxied["requests"].as_f64().unwrap_or(0.0).max(1.0);
        Self {
            name,
            label,
            api,
            concurrency,
            direct: direct.clone(),
            proxied: proxied.clone(),
            cpu_seconds_per_1000: (after.cpu_seconds - before.cpu_seconds) / requests * 1000.0,
            peak_rss_mib: after.peak_rss_mib,
            errors: direct["errors"].as_u64().unwrap_or(0)
                + proxied["errors"].as_u64().unwrap_or(0),
            note: None,
        }
    }

    pub fn to_json(&self) -> Value {
        let added = |metric: &str| json!({ "p50": self.added(metric, "p50"), "p99": self.added(metric, "p99") });
        json!({
            "name": self.name,
            "scenario": self.label,
            "api": self.api,
            "concurrency": self.concurrency,
            "direct": self.direct,
            "byok": self.proxied,
            "added_ttfb_ms": added("ttfb_ms"),
            "added_ttft_ms": added("ttft_ms"),
            "added_ttlb_ms": added("ttlb_ms"),
            "byok_cpu_seconds_per_1000_requests": self.cpu_seconds_per_1000,
            "byok_peak_rss_mib": self.peak_rss_mib,
            "note": self.note,
        })
    }

    /// Requests per second through byok.
    pub fn rps(&self) -> f64 {
        self.proxied["requests_per_second"].as_f64().unwrap_or(0.0)
    }

    /// Requests per second through byok over those straight at the stand-in.
    pub fn rps_ratio(&self) -> f64 {
        let direct = self.direct["requests_per_second"].as_f64().unwrap_or(0.0);
        self.rps() / direct.max(f64::MIN_POSITIVE)
    }

    /// byok's figure over the direct one (`metric` at percentile `p`).
    pub fn ratio(&self, metric: &str, p: &str) -> f64 {
        let direct = self.direct[metric][p].as_f64().unwrap_or(0.0);
        self.proxied[metric][p].as_f64().unwrap_or(0.0) / direct.max(f64::MIN_POSITIVE)
    }

    /// byok's CPU seconds per 1,000 requests (its CPU ms per request).
    pub fn cpu_seconds_per_1000(&self) -> f64 {
        self.cpu_seconds_per_1000
    }

    /// byok's peak resident memory, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_mib
    }

    /// byok's figure minus the direct one, in ms.
    pub fn added(&self, metric: &str, p: &str) -> f64 {
        self.proxied[metric][p].as_f64().unwrap_or(0.0)
            - self.direct[metric][p].as_f64().unwrap_or(0.0)
    }
}

pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<9} {:>5} {:>6} {:>6} {:>6} | {:>13} {:>13} {:>13} | {:>13} {:>13} {:>13} | {:>15} {:>15} | {:>8} {:>7}",
        "scenario",
        "api",
        "conc",
        "errors",
        "rps",
        "rps",
        "ttfb byok",
        "ttfb dir",
        "ttfb added",
        "ttft byok",
        "ttft dir",
        "ttft added",
        "ttlb byok",
        "ttlb dir",
        "cpu s/1k",
        "rss MiB"
    );
    let _ = writeln!(
        out,
        "{:<16} {:<9} {:>5} {:>6} {:>6} {:>6} | {:>13} {:>13} {:>13} | {:>13} {:>13} {:>13} | {:>15} {:>15} | {:>8} {:>7}",
        "",
        "",
        "",
        "",
        "byok",
        "dir",
        "p50/p99",
        "p50/p99",
        "p50/p99",
        "p50/p99",
        "p50/p99",
        "p50/p99",
        "p50/p99",
        "p50/p99",
        "",
        ""
    );
    for r in rows {
        let pair = |v: &Value, m: &str| {
            format!(
                "{:.2}/{:.2}",
                v[m]["p50"].as_f64().unwrap_or(0.0),
                v[m]["p99"].as_f64().unwrap_or(0.0)
            )
        };
        let added = |m: &str| format!("{:.2}/{:.2}", r.added(m, "p50"), r.added(m, "p99"));
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:>5} {:>6} {:>6.0} {:>6.0} | {:>13} {:>13} {:>13} | {:>13} {:>13} {:>13} | {:>15} {:>15} | {:>8.3} {:>7.1}",
            r.label,
            r.api,
            r.concurrency,
            r.errors,
            r.proxied["requests_per_second"].as_f64().unwrap_or(0.0),
            r.direct["requests_per_second"].as_f64().unwrap_or(0.0),
            pair(&r.proxied, "ttfb_ms"),
            pair(&r.direct, "ttfb_ms"),
            added("ttfb_ms"),
            pair(&r.proxied, "ttft_ms"),
            pair(&r.direct, "ttft_ms"),
            added("ttft_ms"),
            pair(&r.proxied, "ttlb_ms"),
            pair(&r.direct, "ttlb_ms"),
            r.cpu_seconds_per_1000,
            r.peak_rss_mib
        );
    }
    out.push_str(
        "times in ms; ttfb/ttft/ttlb = time to the first byte / first content token / last byte; \
         added = byok minus direct;\ncpu s/1k = byok CPU seconds per 1,000 requests; rss = byok's \
         peak resident memory\n",
    );
    for note in rows.iter().filter_map(|r| r.note.as_deref()) {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
