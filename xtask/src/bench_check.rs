//! `cargo xtask bench --check`: the regression guard.
//!
//! Wall-clock figures move with whatever else the machine runs, so the guard compares no
//! absolute time: it compares byok with the stand-in measured in the same run (requests per
//! second through byok over straight at the stand-in, time to first token and to last byte
//! through byok over straight), and each API with Chat in the same scenario, against the limits
//! kept in `bench/limits.toml`. Peak memory and CPU per request are byok's own and move little
//! with load; they are held to absolute limits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::bench_report::Row;

/// Where the limits are kept, from the workspace root.
pub const LIMITS: &str = "bench/limits.toml";

/// The limits of `bench/limits.toml`: a table per scenario (its `--only` name).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    scenario: BTreeMap<String, ScenarioLimits>,
}

/// What one scenario's rows (one per API) must hold; a missing limit is not checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioLimits {
    /// Requests per second through byok over straight at the stand-in, at least.
    min_rps_ratio: Option<f64>,
    /// Time to first token through byok over straight at the stand-in, at most (p50, p99).
    max_ttft_ratio_p50: Option<f64>,
    max_ttft_ratio_p99: Option<f64>,
    /// Time to the last byte through byok over straight at the stand-in, at most (p99).
    max_ttlb_ratio_p99: Option<f64>,
    /// Requests per second of each API over Chat's in the same scenario, at least.
    min_rps_of_chat: Option<f64>,
    /// byok's CPU per request, in ms, at most.
    max_cpu_ms_per_request: Option<f64>,
    /// byok's peak resident memory, in MiB, at most.
    max_rss_mib: Option<f64>,
}

impl Limits {
    /// Reads the limits file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The scenario names the limits cover, for `--check` to run.
    pub fn scenarios(&self) -> impl Iterator<Item = &str> {
        self.scenario.keys().map(String::as_str)
    }

    /// Every limit the rows break, one line each; empty when all hold.
    pub fn broken(&self, rows: &[Row]) -> Vec<String> {
        let mut broken = Vec::new();
        for row in rows {
            let Some(limits) = self.scenario.get(row.name) else {
                continue;
            };
            let mut at_least = |what: &str, value: f64, limit: Option<f64>| {
                if let Some(limit) = limit.filter(|&limit| value < limit) {
                    broken.push(format!(
                        "{} {}: {what} is {value:.3}, the limit at least {limit}",
                        row.name, row.api
                    ));
                }
            };
            at_least("rps byok / direct", row.rps_ratio(), limits.min_rps_ratio);
            if let Some(chat) = rows.iter().find(|r| r.name == row.name && r.api == "chat") {
                at_least(
                    "rps / chat's",
                    row.rps() / chat.rps().max(f64::MIN_POSITIVE),
                    limits.min_rps_of_chat,
                );
            }
            let mut at_most = |what: &str, value: f64, limit: Option<f64>| {
                if let Some(limit) = limit.filter(|&limit| value > limit) {
                    broken.push(format!(
                        "{} {}: {what} is {value:.3}, the limit at most {limit}",
                        row.name, row.api
                    ));
                }
            };
            at_most(
                "ttft p50 byok / direct",
                row.ratio("ttft_ms", "p50"),
                limits.max_ttft_ratio_p50,
            );
            at_most(
                "ttft p99 byok / direct",
                row.ratio("ttft_ms", "p99"),
                limits.max_ttft_ratio_p99,
            );
            at_most(
                "ttlb p99 byok / direct",
                row.ratio("ttlb_ms", "p99"),
                limits.max_ttlb_ratio_p99,
            );
            at_most(
                "CPU ms per request",
                row.cpu_seconds_per_1000(),
                limits.max_cpu_ms_per_request,
            );
            at_most("peak RSS MiB", row.peak_rss_mib(), limits.max_rss_mib);
            if row.errors > 0 {
                broken.push(format!(
                    "{} {}: {} requests failed",
                    row.name, row.api, row.errors
                ));
            }
        }
        broken
    }
}

/// The verdict of `--check`: the broken limits, or that all held.
pub fn verdict(limits: &Limits, rows: &[Row]) -> Result<String, String> {
    let broken = limits.broken(rows);
    if broken.is_empty() {
        return Ok(format!(
            "bench --check: every limit of {LIMITS} holds ({} rows)",
            rows.len()
        ));
    }
    let mut message = format!(
        "bench --check: {} limits of {LIMITS} broken:\n",
        broken.len()
    );
    for line in &broken {
        let _ = writeln!(message, "  {line}");
    }
    message.push_str(
        "run it again on a quiet machine before believing it; if the change is worth its cost, \
         change the limit in the same commit and say why",
    );
    Err(message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::procstat::ProcStat;

    fn row(api: &'static str, byok_rps: f64, errors: u64) -> Row {
        let stat = |cpu_seconds| ProcStat {
            cpu_seconds,
            peak_rss_mib: 50.0,
        };
        let figures = |rps: f64, errors: u64| {
            json!({"requests": 1000, "errors": errors, "requests_per_second": rps,
                   "ttft_ms": {"p50": 30.0, "p99": 40.0}, "ttlb_ms": {"p50": 100.0, "p99": 120.0}})
        };
        Row::new(
            "non-stream",
            "non-stream",
            api,
            50,
            &figures(10_000.0, 0),
            &figures(byok_rps, errors),
            &stat(1.0),
            &stat(1.5),
        )
    }

    #[test]
    fn names_each_limit_a_run_breaks_and_passes_one_that_holds_them() {
        let limits: Limits = toml::from_str(
            "[scenario.non-stream]\nmin_rps_ratio = 0.5\nmin_rps_of_chat = 0.9\nmax_rss_mib = 100.0\n",
        )
        .unwrap();
        assert!(verdict(&limits, &[row("chat", 6000.0, 0)]).is_ok());
        let broken = limits.broken(&[row("chat", 6000.0, 0), row("messages", 4000.0, 2)]);
        assert_eq!(
            broken,
            [
                "non-stream messages: rps byok / direct is 0.400, the limit at least 0.5",
                "non-stream messages: rps / chat's is 0.667, the limit at least 0.9",
                "non-stream messages: 2 requests failed",
            ]
        );
        assert!(toml::from_str::<Limits>("[scenario.x]\nmax_speed = 1\n").is_err());
    }
}
