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
                "  {} {}, {}: {}",
                entry.provider,
                entry.account,
                ago(now - entry.snapshot.captured_at),
                limit_summary(&entry.snapshot)
            );
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

/// The Codex windows (`primary` is the short one, `secondary` the weekly one), or the raw
/// headers for other upstreams.
fn limit_summary(snapshot: &RateLimitSnapshot) -> String {
    let windows: Vec<String> = ["primary", "secondary"]
        .iter()
        .filter_map(|window| {
            let used = snapshot.number(&format!("x-codex-{window}-used-percent"))?;
            let mut text = format!("{used}% used");
            if let Some(minutes) = snapshot.number(&format!("x-codex-{window}-window-minutes")) {
                text = format!("{} window {text}", span(secs(minutes * 60.0)));
            }
            if let Some(reset) = snapshot.number(&format!("x-codex-{window}-reset-after-seconds")) {
                let left = secs(reset) - (unix_now() - snapshot.captured_at);
                if left > 0 {
                    let _ = write!(text, " (resets in {})", span(left));
                }
            }
            Some(text)
        })
        .collect();
    if windows.is_empty() {
        snapshot
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        windows.join("; ")
    }
}

#[allow(clippy::cast_possible_truncation)] // header values are small counts of seconds
fn secs(value: f64) -> i64 {
    value.round() as i64
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
    fn codex_windows_are_summarised() {
        let mut snapshot = RateLimitSnapshot {
            captured_at: unix_now(),
            ..RateLimitSnapshot::default()
        };
        for (k, v) in [
            ("x-codex-primary-used-percent", "42"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-after-seconds", "3900"),
            ("x-codex-secondary-used-percent", "7"),
        ] {
            snapshot.headers.insert(k.into(), v.into());
        }
        let text = limit_summary(&snapshot);
        assert!(
            text.starts_with("5 h 0 min window 42% used (resets in 1 h"),
            "{text}"
        );
        assert!(text.ends_with("; 7% used"), "{text}");
    }
}
