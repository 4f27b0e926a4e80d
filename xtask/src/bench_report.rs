//! The benchmark's figures: one row per scenario, as a table and as JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::procstat::ProcStat;

/// One line of the table: a scenario measured with and without byok.
pub struct Row {
    scenario: &'static str,
    concurrency: usize,
    direct: Value,
    proxied: Value,
    cpu_seconds_per_1000: f64,
    peak_rss_mib: f64,
    pub errors: u64,
}

impl Row {
    pub fn new(
        scenario: &'static str,
        concurrency: usize,
        direct: &Value,
        proxied: &Value,
        before: &ProcStat,
        after: &ProcStat,
    ) -> Self {
        let requests = proxied["requests"].as_f64().unwrap_or(0.0).max(1.0);
        Self {
            scenario,
            concurrency,
            direct: direct.clone(),
            proxied: proxied.clone(),
            cpu_seconds_per_1000: (after.cpu_seconds - before.cpu_seconds) / requests * 1000.0,
            peak_rss_mib: after.peak_rss_mib,
            errors: direct["errors"].as_u64().unwrap_or(0)
                + proxied["errors"].as_u64().unwrap_or(0),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "concurrency": self.concurrency,
            "direct": self.direct,
            "byok": self.proxied,
            "added_ttfb_ms": { "p50": self.added("ttfb_ms", "p50"), "p99": self.added("ttfb_ms", "p99") },
            "added_ttlb_ms": { "p50": self.added("ttlb_ms", "p50"), "p99": self.added("ttlb_ms", "p99") },
            "byok_cpu_seconds_per_1000_requests": self.cpu_seconds_per_1000,
            "byok_peak_rss_mib": self.peak_rss_mib,
        })
    }

    fn added(&self, metric: &str, p: &str) -> f64 {
        self.proxied[metric][p].as_f64().unwrap_or(0.0)
            - self.direct[metric][p].as_f64().unwrap_or(0.0)
    }
}

pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>5} {:>6} {:>9} {:>9} | {:>17} {:>17} {:>15} | {:>19} {:>19} | {:>8} {:>8}",
        "scenario",
        "conc",
        "errors",
        "rps byok",
        "rps dir",
        "ttfb byok p50/p99",
        "ttfb dir p50/p99",
        "added p50/p99",
        "ttlb byok p50/p99",
        "ttlb dir p50/p99",
        "cpu s/1k",
        "rss MiB"
    );
    for r in rows {
        let pair = |v: &Value, m: &str| {
            format!(
                "{:.2}/{:.2}",
                v[m]["p50"].as_f64().unwrap_or(0.0),
                v[m]["p99"].as_f64().unwrap_or(0.0)
            )
        };
        let _ = writeln!(
            out,
            "{:<14} {:>5} {:>6} {:>9.0} {:>9.0} | {:>17} {:>17} {:>15} | {:>19} {:>19} | {:>8.3} {:>8.1}",
            r.scenario,
            r.concurrency,
            r.errors,
            r.proxied["requests_per_second"].as_f64().unwrap_or(0.0),
            r.direct["requests_per_second"].as_f64().unwrap_or(0.0),
            pair(&r.proxied, "ttfb_ms"),
            pair(&r.direct, "ttfb_ms"),
            format!(
                "{:.2}/{:.2}",
                r.added("ttfb_ms", "p50"),
                r.added("ttfb_ms", "p99")
            ),
            pair(&r.proxied, "ttlb_ms"),
            pair(&r.direct, "ttlb_ms"),
            r.cpu_seconds_per_1000,
            r.peak_rss_mib
        );
    }
    out.push_str(
        "times in ms; added = byok minus direct; cpu s/1k = byok CPU seconds per 1,000 requests\n",
    );
    out
}
