//! The last rate-limit figures each upstream account sent, and what they mean.
//!
//! The Codex backend reports its limits in the head of every answer and, since 2026, also
//! inside the stream as a `codex.rate_limits` event (the official client reads both:
//! `codex-rs/codex-api/src/rate_limits.rs`). The headers, per limit family `F` (`codex` for
//! the account's own limits, `codex-<id>` for a model's separately metered one):
//!
//! * `x-F-primary-used-percent`, `-window-minutes`, `-reset-at` (Unix seconds; older answers
//!   send `-reset-after-seconds` instead), the same for `secondary`;
//! * `x-F-limit-name`, the family's name for people;
//! * `x-codex-credits-has-credits`, `-unlimited`, `-balance`.
//!
//! A snapshot keeps the figures under those header names, whichever way they came, so one
//! parser ([`RateLimitSnapshot::families`]) reads them all.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::{ProviderId, unix_now};

/// The rate-limit headers of one upstream account (`x-codex-*`, `x-ratelimit-*`), with the
/// time they were captured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitSnapshot {
    /// Header name (lowercase) to value, as received (a `-reset-after-seconds` is also kept
    /// as the `-reset-at` it stands for).
    pub headers: BTreeMap<String, String>,
    /// When the figures arrived, in Unix seconds.
    pub captured_at: i64,
}

/// One usage window of a limit: how much of it is used and when it starts afresh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateLimitWindow {
    /// Used share of the window, 0 to 100.
    pub used_percent: f64,
    /// The window's length, e.g. 300 (five hours) or 10080 (a week).
    pub window_minutes: Option<i64>,
    /// When the window resets, in Unix seconds.
    pub resets_at: Option<i64>,
}

/// One family of limits: the account's own (`codex`) or a model's metered separately.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LimitFamily {
    /// The family's id as the official client names it: `codex`, `codex_bengalfox`, ...
    pub id: String,
    /// Its name for people (`x-...-limit-name`), when the backend gave one.
    pub name: Option<String>,
    /// The short window (five hours for `codex`).
    pub primary: Option<RateLimitWindow>,
    /// The long window (a week for `codex`).
    pub secondary: Option<RateLimitWindow>,
}

/// The account's credits (`x-codex-credits-*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credits {
    /// Whether the account has credits to spend beyond its plan's limits.
    pub has_credits: bool,
    /// Whether they are unlimited.
    pub unlimited: bool,
    /// The balance, as the backend wrote it.
    pub balance: Option<String>,
}

impl LimitFamily {
    /// The windows the backend reported, named `primary` (the short one) and `secondary`.
    ///
    /// ```
    /// use byok_types::{LimitFamily, RateLimitWindow};
    /// let window = RateLimitWindow { used_percent: 9.0, window_minutes: Some(299), resets_at: None };
    /// let family = LimitFamily { id: "codex".into(), name: None, primary: Some(window), secondary: None };
    /// let names: Vec<_> = family.windows().map(|(which, _)| which).collect();
    /// assert_eq!(names, ["primary"]);
    /// ```
    pub fn windows(&self) -> impl Iterator<Item = (&'static str, &RateLimitWindow)> {
        [("primary", &self.primary), ("secondary", &self.secondary)]
            .into_iter()
            .filter_map(|(which, window)| Some((which, window.as_ref()?)))
    }
}

impl RateLimitSnapshot {
    /// A header's value parsed as a number, e.g. `x-codex-primary-used-percent`.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.headers.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// Every limit family the figures describe: `codex` first, then the others by id.
    ///
    /// ```
    /// use byok_types::RateLimitSnapshot;
    /// let mut snap = RateLimitSnapshot::default();
    /// for (k, v) in [
    ///     ("x-codex-primary-used-percent", "42"),
    ///     ("x-codex-primary-reset-at", "1800000000"),
    ///     ("x-codex-spark-limit-name", "GPT-5.3-Codex-Spark"),
    ///     ("x-codex-spark-secondary-used-percent", "7"),
    /// ] {
    ///     snap.headers.insert(k.into(), v.into());
    /// }
    /// let families = snap.families();
    /// assert_eq!(families[0].id, "codex");
    /// assert_eq!(families[0].primary.as_ref().unwrap().resets_at, Some(1_800_000_000));
    /// assert_eq!(families[1].id, "codex_spark");
    /// assert_eq!(families[1].name.as_deref(), Some("GPT-5.3-Codex-Spark"));
    /// ```
    pub fn families(&self) -> Vec<LimitFamily> {
        let mut prefixes: Vec<&str> = self
            .headers
            .keys()
            .filter_map(|name| family_prefix(name))
            .collect();
        prefixes.sort_by_key(|p| (*p != "codex", *p));
        prefixes.dedup();
        prefixes
            .into_iter()
            .filter_map(|prefix| {
                let family = LimitFamily {
                    id: prefix.replace('-', "_"),
                    name: self
                        .headers
                        .get(&format!("x-{prefix}-limit-name"))
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty()),
                    primary: self.window(prefix, "primary"),
                    secondary: self.window(prefix, "secondary"),
                };
                (family.primary.is_some() || family.secondary.is_some()).then_some(family)
            })
            .collect()
    }

    /// The account's credits, when the backend reported them.
    pub fn credits(&self) -> Option<Credits> {
        let flag = |name: &str| match self.headers.get(name)?.trim() {
            v if v.eq_ignore_ascii_case("true") || v == "1" => Some(true),
            v if v.eq_ignore_ascii_case("false") || v == "0" => Some(false),
            _ => None,
        };
        Some(Credits {
            has_credits: flag("x-codex-credits-has-credits")?,
            unlimited: flag("x-codex-credits-unlimited").unwrap_or(false),
            balance: self
                .headers
                .get("x-codex-credits-balance")
                .map(|b| b.trim().to_owned())
                .filter(|b| !b.is_empty()),
        })
    }

    fn window(&self, prefix: &str, which: &str) -> Option<RateLimitWindow> {
        let used_percent = self.number(&format!("x-{prefix}-{which}-used-percent"))?;
        let whole = |suffix: &str| {
            self.headers
                .get(&format!("x-{prefix}-{which}-{suffix}"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .map(round)
        };
        Some(RateLimitWindow {
            used_percent,
            window_minutes: whole("window-minutes"),
            resets_at: whole("reset-at"),
        })
    }
}

#[allow(clippy::cast_possible_truncation)] // finite header values: minutes and Unix seconds
fn round(value: f64) -> i64 {
    value.round() as i64
}

/// The family prefix of a window header: `codex` of `x-codex-primary-used-percent`,
/// `codex-spark` of `x-codex-spark-secondary-reset-at`.
fn family_prefix(name: &str) -> Option<&str> {
    const SUFFIXES: [&str; 2] = ["-primary-used-percent", "-secondary-used-percent"];
    let rest = name.strip_prefix("x-")?;
    SUFFIXES
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .filter(|p| !p.is_empty())
}

/// Rate-limit snapshots per provider and account, shared by every request.
///
/// ```
/// use byok_types::{ProviderId, RateLimitStore};
/// let store = RateLimitStore::default();
/// store.record(ProviderId::Codex, "acc-1", [("x-codex-primary-used-percent", "9")]);
/// let snap = store.get(ProviderId::Codex, "acc-1").unwrap();
/// assert_eq!(snap.number("x-codex-primary-used-percent"), Some(9.0));
/// ```
#[derive(Debug)]
pub struct RateLimitStore {
    snapshots: RwLock<HashMap<(ProviderId, String), RateLimitSnapshot>>,
    /// Counts the changes, so that a saver can wait for the next one ([`Self::changes`]).
    changes: watch::Sender<u64>,
}

impl Default for RateLimitStore {
    fn default() -> Self {
        Self {
            snapshots: RwLock::default(),
            changes: watch::channel(0).0,
        }
    }
}

impl RateLimitStore {
    /// Keeps the rate-limit headers among `headers` as the latest snapshot of `account`.
    /// Headers that are not about rate limits are ignored; with none, nothing changes.
    pub fn record<'a>(
        &self,
        provider: ProviderId,
        account: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let mut headers: BTreeMap<String, String> = headers
            .into_iter()
            .filter(|(name, _)| is_rate_limit_header(name))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        if headers.is_empty() {
            return;
        }
        let now = unix_now();
        absolute_resets(&mut headers, now);
        self.update(provider, account, |snapshot| {
            *snapshot = RateLimitSnapshot {
                headers,
                captured_at: now,
            };
        });
    }

    /// Takes the figures of an in-stream `codex.rate_limits` event (its `data` JSON) into the
    /// account's snapshot; the headers it does not speak about are kept. Returns whether `event`
    /// was such an event.
    ///
    /// ```
    /// use byok_types::{ProviderId, RateLimitStore};
    /// let store = RateLimitStore::default();
    /// let event = serde_json::json!({"type": "codex.rate_limits",
    ///     "rate_limits": {"primary": {"used_percent": 12.5, "window_minutes": 300,
    ///                                 "reset_at": 1800000000}}});
    /// assert!(store.record_event(ProviderId::Codex, "acc-1", &event));
    /// let families = store.get(ProviderId::Codex, "acc-1").unwrap().families();
    /// assert_eq!(families[0].primary.as_ref().unwrap().used_percent, 12.5);
    /// ```
    pub fn record_event(&self, provider: ProviderId, account: &str, event: &Value) -> bool {
        let Some(headers) = event_headers(event) else {
            return false;
        };
        if headers.is_empty() {
            return true;
        }
        let now = unix_now();
        self.update(provider, account, |snapshot| {
            snapshot.headers.extend(headers);
            snapshot.captured_at = now;
        });
        true
    }

    /// Takes `snapshot`, told by another instance of a team, as `account`'s latest unless the
    /// one known here is newer (or the same); returns whether it was taken.
    ///
    /// ```
    /// use byok_types::{ProviderId, RateLimitSnapshot, RateLimitStore};
    /// let store = RateLimitStore::default();
    /// let mut told = RateLimitSnapshot { captured_at: 100, ..Default::default() };
    /// told.headers.insert("x-codex-primary-used-percent".into(), "30".into());
    /// assert!(store.adopt(ProviderId::Codex, "acc-1", told.clone()));
    /// assert!(!store.adopt(ProviderId::Codex, "acc-1", told.clone()));
    /// told.captured_at = 99;
    /// assert!(!store.adopt(ProviderId::Codex, "acc-1", told));
    /// ```
    pub fn adopt(&self, provider: ProviderId, account: &str, snapshot: RateLimitSnapshot) -> bool {
        {
            let mut snapshots = self
                .snapshots
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = (provider, account.to_owned());
            let known = snapshots.get(&key);
            if known.is_some_and(|k| k.captured_at > snapshot.captured_at || *k == snapshot) {
                return false;
            }
            snapshots.insert(key, snapshot);
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        true
    }

    fn update(
        &self,
        provider: ProviderId,
        account: &str,
        change: impl FnOnce(&mut RateLimitSnapshot),
    ) {
        change(
            self.snapshots
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry((provider, account.to_owned()))
                .or_default(),
        );
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every change of the figures (`changed().await`), for a task that
    /// saves them soon after they change.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The latest snapshot of one account.
    pub fn get(&self, provider: ProviderId, account: &str) -> Option<RateLimitSnapshot> {
        self.snapshots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(provider, account.to_owned()))
            .cloned()
    }

    /// Every snapshot, sorted by provider and account.
    pub fn all(&self) -> Vec<(ProviderId, String, RateLimitSnapshot)> {
        let map = self
            .snapshots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: Vec<_> = map
            .iter()
            .map(|((p, a), s)| (*p, a.clone(), s.clone()))
            .collect();
        all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        all
    }
}

/// Adds the `-reset-at` an older answer's `-reset-after-seconds` stands for: a reset time stays
/// true however long the snapshot is kept, a count of seconds only at the moment it came.
fn absolute_resets(headers: &mut BTreeMap<String, String>, now: i64) {
    let derived: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            let stem = name.strip_suffix("-reset-after-seconds")?;
            let at = format!("{stem}-reset-at");
            let secs: f64 = value.trim().parse().ok().filter(|s: &f64| s.is_finite())?;
            (!headers.contains_key(&at)).then(|| (at, now.saturating_add(round(secs)).to_string()))
        })
        .collect();
    headers.extend(derived);
}

/// The figures of a `codex.rate_limits` event, under the header names that carry the same
/// figures (see the module docs); `None` if `event` is another event.
fn event_headers(event: &Value) -> Option<Vec<(String, String)>> {
    if event.get("type").and_then(Value::as_str) != Some("codex.rate_limits") {
        return None;
    }
    // The official client files an event under its metered limit, else its limit, else `codex`.
    let id = ["metered_limit_name", "limit_name"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .map_or_else(|| "codex".to_owned(), |id| id.trim().to_ascii_lowercase());
    let prefix = format!("x-{}", id.replace('_', "-"));
    let mut headers = Vec::new();
    let number = |v: &Value| v.as_f64().map(|n| n.to_string());
    for which in ["primary", "secondary"] {
        let Some(window) = event.pointer(&format!("/rate_limits/{which}")) else {
            continue;
        };
        for (field, suffix) in [
            ("used_percent", "used-percent"),
            ("window_minutes", "window-minutes"),
            ("reset_at", "reset-at"),
        ] {
            if let Some(value) = window.get(field).and_then(number) {
                headers.push((format!("{prefix}-{which}-{suffix}"), value));
            }
        }
    }
    if let Some(credits) = event.get("credits").filter(|c| c.is_object()) {
        for (field, name) in [
            ("has_credits", "x-codex-credits-has-credits"),
            ("unlimited", "x-codex-credits-unlimited"),
        ] {
            if let Some(flag) = credits.get(field).and_then(Value::as_bool) {
                headers.push((name.to_owned(), flag.to_string()));
            }
        }
        match credits.get("balance") {
            Some(Value::String(b)) => headers.push(("x-codex-credits-balance".into(), b.clone())),
            Some(Value::Number(b)) => {
                headers.push(("x-codex-credits-balance".into(), b.to_string()));
            }
            _ => {}
        }
    }
    Some(headers)
}

/// Whether a header is one of the upstream's rate-limit headers.
pub(crate) fn is_rate_limit_header(name: &str) -> bool {
    let name = name.as_bytes();
    let has_prefix = |p: &[u8]| name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p);
    has_prefix(b"x-codex-") || has_prefix(b"x-ratelimit-")
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    reason = "the figures are parsed from short decimal strings, exactly"
)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_only_rate_limit_headers_per_account() {
        let store = RateLimitStore::default();
        store.record(
            ProviderId::Codex,
            "a",
            [
                ("X-Codex-Primary-Used-Percent", "9"),
                ("content-type", "text/event-stream"),
                ("x-ratelimit-remaining-requests", "99"),
            ],
        );
        store.record(ProviderId::Codex, "b", [("content-type", "text/plain")]);
        let snap = store.get(ProviderId::Codex, "a").unwrap();
        assert_eq!(snap.headers.len(), 2);
        assert_eq!(snap.number("x-codex-primary-used-percent"), Some(9.0));
        assert!(snap.captured_at > 0);
        assert!(store.get(ProviderId::Codex, "b").is_none());
        assert_eq!(store.all().len(), 1);
    }

    #[test]
    fn reads_the_2026_headers_per_family_with_credits() {
        let store = RateLimitStore::default();
        store.record(
            ProviderId::Codex,
            "a",
            [
                ("x-codex-primary-used-percent", "42.5"),
                ("x-codex-primary-window-minutes", "300"),
                ("x-codex-primary-reset-at", "1800000000"),
                ("x-codex-secondary-used-percent", "7"),
                ("x-codex-secondary-window-minutes", "10080"),
                ("x-codex-secondary-reset-at", "1800500000"),
                ("x-codex-bengalfox-limit-name", "GPT-5.3-Codex-Spark"),
                ("x-codex-bengalfox-primary-used-percent", "3"),
                ("x-codex-bengalfox-primary-window-minutes", "300"),
                ("x-codex-credits-has-credits", "true"),
                ("x-codex-credits-unlimited", "false"),
                ("x-codex-credits-balance", "12.50"),
            ],
        );
        let snap = store.get(ProviderId::Codex, "a").unwrap();
        let families = snap.families();
        assert_eq!(
            families,
            [
                LimitFamily {
                    id: "codex".into(),
                    name: None,
                    primary: Some(RateLimitWindow {
                        used_percent: 42.5,
                        window_minutes: Some(300),
                        resets_at: Some(1_800_000_000),
                    }),
                    secondary: Some(RateLimitWindow {
                        used_percent: 7.0,
                        window_minutes: Some(10080),
                        resets_at: Some(1_800_500_000),
                    }),
                },
                LimitFamily {
                    id: "codex_bengalfox".into(),
                    name: Some("GPT-5.3-Codex-Spark".into()),
                    primary: Some(RateLimitWindow {
                        used_percent: 3.0,
                        window_minutes: Some(300),
                        resets_at: None,
                    }),
                    secondary: None,
                },
            ]
        );
        assert_eq!(
            snap.credits(),
            Some(Credits {
                has_credits: true,
                unlimited: false,
                balance: Some("12.50".into()),
            })
        );
    }

    #[test]
    fn an_older_reset_after_seconds_becomes_a_reset_time() {
        let store = RateLimitStore::default();
        store.record(
            ProviderId::Codex,
            "a",
            [
                ("x-codex-primary-used-percent", "1"),
                ("x-codex-primary-reset-after-seconds", "600"),
            ],
        );
        let snap = store.get(ProviderId::Codex, "a").unwrap();
        let at = snap.families()[0]
            .primary
            .as_ref()
            .unwrap()
            .resets_at
            .unwrap();
        assert!((at - snap.captured_at - 600).abs() <= 1, "{at}");
    }

    #[test]
    fn an_in_stream_event_updates_the_figures_it_names() {
        let store = RateLimitStore::default();
        let mut changes = store.changes();
        store.record(
            ProviderId::Codex,
            "a",
            [
                ("x-codex-primary-used-percent", "10"),
                ("x-codex-secondary-used-percent", "5"),
            ],
        );
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        let event = json!({
            "type": "codex.rate_limits",
            "plan_type": "pro",
            "rate_limits": {"primary": {"used_percent": 11.0, "window_minutes": 300, "reset_at": 1_800_000_000}},
            "credits": {"has_credits": false, "unlimited": false, "balance": null},
        });
        assert!(store.record_event(ProviderId::Codex, "a", &event));
        assert!(changes.has_changed().unwrap());
        let snap = store.get(ProviderId::Codex, "a").unwrap();
        let codex = &snap.families()[0];
        assert_eq!(codex.primary.as_ref().unwrap().used_percent, 11.0);
        assert_eq!(
            codex.primary.as_ref().unwrap().resets_at,
            Some(1_800_000_000)
        );
        // The secondary window the event did not mention is kept.
        assert_eq!(codex.secondary.as_ref().unwrap().used_percent, 5.0);
        assert_eq!(snap.credits().map(|c| c.has_credits), Some(false));

        // A model's own limit is filed under its family.
        let spark = json!({"type": "codex.rate_limits", "metered_limit_name": "codex_bengalfox",
            "rate_limits": {"secondary": {"used_percent": 2}}});
        assert!(store.record_event(ProviderId::Codex, "a", &spark));
        let families = store.get(ProviderId::Codex, "a").unwrap().families();
        assert_eq!(families[1].id, "codex_bengalfox");
        assert_eq!(families[1].secondary.as_ref().unwrap().used_percent, 2.0);

        assert!(!store.record_event(ProviderId::Codex, "a", &json!({"type": "response.created"})));
    }
}
