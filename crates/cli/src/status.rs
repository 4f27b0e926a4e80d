//! `byok status`: who is signed in, plans, token expiry, and the last rate-limit figures.

use std::fmt::Write as _;

use byok_auth::{Account, AuthError, CodexCliStore, FileTokenStore, TokenStore};
use byok_types::{RateLimitSnapshot, unix_now};

use crate::ratelimits::RateLimitFile;
use crate::{CliError, Credentials, Settings};

/// `byok status`: prints the report.
pub async fn status(settings: &Settings) -> Result<(), CliError> {
    print!("{}", report(settings, unix_now()).await?);
    Ok(())
}

/// The whole report, as of `now` (Unix seconds).
pub async fn report(settings: &Settings, now: i64) -> Result<String, CliError> {
    let mut out = String::new();
    let credentials = Credentials::find(settings).await?;
    let _ = writeln!(out, "byok keeps its state in {}", settings.home.display());
    let _ = writeln!(out, "Credentials for `byok serve`: {credentials}\n");

    let store = FileTokenStore::new(&settings.home);
    let accounts = store.load().await?;
    if accounts.is_empty() {
        let _ = writeln!(
            out,
            "No ChatGPT account signed in to byok ({}).",
            store.path().display()
        );
    } else {
        let _ = writeln!(
            out,
            "ChatGPT accounts signed in to byok ({}):",
            store.path().display()
        );
        for (i, account) in accounts.iter().enumerate() {
            let marker = if i == 0 { "* " } else { "  " };
            let _ = writeln!(out, "{marker}{}", describe(account, now));
        }
    }

    let codex = CodexCliStore::new(&settings.codex_home);
    match codex.load().await {
        Ok(found) => {
            for account in &found {
                let _ = writeln!(
                    out,
                    "Codex CLI sign-in ({}): {}",
                    codex.path().display(),
                    describe(account, now)
                );
            }
        }
        Err(AuthError::CodexCliMissing { .. }) => {
            let _ = writeln!(out, "No Codex CLI sign-in in {}.", codex.path().display());
        }
        Err(other) => {
            let _ = writeln!(out, "Codex CLI sign-in unreadable: {other}");
        }
    }

    let limits = RateLimitFile::load(&settings.home)?;
    if limits.accounts.is_empty() {
        let _ = writeln!(
            out,
            "\nNo rate-limit figures yet: `byok serve` records them with every answer."
        );
    } else {
        let _ = writeln!(out, "\nLast rate-limit figures (from `byok serve`):");
        for entry in &limits.accounts {
            let _ = writeln!(
                out,
                "  {} {}, {}:",
                entry.provider,
                entry.account,
                ago(now - entry.snapshot.captured_at),
            );
            for line in limit_lines(&entry.snapshot, now) {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    Ok(out)
}

/// One account: name, plan, account id and token expiry.
fn describe(account: &Account, now: i64) -> String {
    let claims = account.claims();
    let plan = claims.chatgpt_plan_type.as_deref().unwrap_or("unknown");
    let expiry = match account.token.expires_at.or(claims.exp) {
        Some(exp) if exp > now => format!("token expires in {}", span(exp - now)),
        Some(exp) => format!(
            "token expired {} (it is refreshed on next use)",
            ago(now - exp)
        ),
        None => "token expiry unknown".to_owned(),
    };
    format!("{}, plan {plan}, {expiry}", account.name)
}

/// One line per Codex window (the account's own limits first, then each model's metered
/// separately) and one for credits; the raw headers for other upstreams.
fn limit_lines(snapshot: &RateLimitSnapshot, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for family in snapshot.families() {
        let windows = [
            ("primary", &family.primary),
            ("secondary", &family.secondary),
        ];
        for (which, window) in windows {
            let Some(window) = window else { continue };
            let mut label = match window.window_minutes {
                Some(minutes) if minutes > 0 => format!("{} window", window_length(minutes)),
                _ => format!("{which} window"),
            };
            if family.id != "codex" {
                let name = family.name.as_deref().unwrap_or(&family.id);
                label = format!("{name} {label}");
            }
            let mut line = format!("{label}: {}% used", window.used_percent);
            match window.resets_at {
                Some(at) if at > now => {
                    let _ = write!(line, ", resets in {} ({})", span(at - now), utc(at));
                }
                Some(at) => {
                    let _ = write!(line, ", reset at {} (figures from before)", utc(at));
                }
                None => {}
            }
            lines.push(line);
        }
    }
    if let Some(credits) = snapshot.credits() {
        lines.push(
            match (credits.unlimited, credits.has_credits, credits.balance) {
                (true, _, _) => "credits: unlimited".to_owned(),
                (false, true, Some(balance)) => format!("credits: {balance} left"),
                (false, true, None) => "credits: some left".to_owned(),
                (false, false, _) => "credits: none".to_owned(),
            },
        );
    }
    if lines.is_empty() {
        lines.push(
            snapshot
                .headers
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    lines
}

/// `5 h`, `7 d`, `90 min`: a window's length. The backend says 299 and 10079 minutes for its
/// five-hour and weekly windows (recorded in `tests/data/codex-recorded/text.meta.json`): a
/// minute off a whole hour is that hour.
fn window_length(minutes: i64) -> String {
    let hours = (minutes + 30) / 60 * 60;
    let minutes = if minutes >= 60 && (minutes - hours).abs() <= 1 {
        hours
    } else {
        minutes
    };
    match minutes {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// A Unix time as `2026-12-02 14:05 UTC`.
fn utc(at: i64) -> String {
    jiff::Timestamp::from_second(at).map_or_else(
        |_| at.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// `5 d 3 h`, `2 h 10 min`, `4 min`, `30 s`.
fn span(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

fn ago(secs: i64) -> String {
    format!("{} ago", span(secs.max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(30), "30 s");
        assert_eq!(span(240), "4 min");
        assert_eq!(span(7800), "2 h 10 min");
        assert_eq!(span(3 * 86_400 + 7200), "3 d 2 h");
    }

    #[test]
    fn codex_windows_families_and_credits_are_summarised() {
        let now = 1_800_000_000;
        let mut snapshot = RateLimitSnapshot {
            captured_at: now,
            ..RateLimitSnapshot::default()
        };
        for (k, v) in [
            ("x-codex-primary-used-percent", "42"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1800003900"),
            ("x-codex-secondary-used-percent", "7.5"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-bengalfox-limit-name", "GPT-5.3-Codex-Spark"),
            ("x-codex-bengalfox-primary-used-percent", "3"),
            ("x-codex-bengalfox-primary-window-minutes", "300"),
            ("x-codex-credits-has-credits", "true"),
            ("x-codex-credits-unlimited", "false"),
            ("x-codex-credits-balance", "12.5"),
        ] {
            snapshot.headers.insert(k.into(), v.into());
        }
        assert_eq!(
            limit_lines(&snapshot, now),
            [
                "5 h window: 42% used, resets in 1 h 5 min (2027-01-15 09:05 UTC)",
                "7 d window: 7.5% used",
                "GPT-5.3-Codex-Spark 5 h window: 3% used",
                "credits: 12.5 left",
            ]
        );
    }

    #[test]
    fn window_lengths_read_as_the_backend_means_them() {
        assert_eq!(window_length(299), "5 h");
        assert_eq!(window_length(10079), "7 d");
        assert_eq!(window_length(90), "90 min");
        assert_eq!(window_length(45), "45 min");
    }

    #[test]
    fn other_upstreams_show_their_headers() {
        let mut snapshot = RateLimitSnapshot::default();
        snapshot
            .headers
            .insert("x-ratelimit-remaining-requests".into(), "99".into());
        assert_eq!(
            limit_lines(&snapshot, 0),
            ["x-ratelimit-remaining-requests=99"]
        );
    }
}
