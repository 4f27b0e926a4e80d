//! `byok status`: who is signed in, plans, token expiry, and the rate-limit figures: live from
//! the running `byok serve` when one answers, else the last ones it saved.

use std::fmt::Write as _;
use std::time::Duration;

use byok_auth::{Account, AuthError, CodexCliStore, FileTokenStore, TokenStore};
use byok_types::human::{self, ago, span};
use byok_types::{
    ClientKeyStatus, Credits, LimitFamily, ProviderStatus, RateLimitSnapshot, unix_now,
};

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

    if let Some((live, keys)) = live_status(settings).await {
        live_lines(&mut out, &live, now);
        key_lines(&mut out, &keys, now);
        return Ok(out);
    }
    if !settings.client_keys.is_empty() {
        let names: Vec<&str> = settings
            .client_keys
            .iter()
            .map(byok_server::ClientKey::name)
            .collect();
        let _ = writeln!(
            out,
            "\nClient keys in byok.toml: {} (their usage shows while `byok serve` runs).",
            names.join(", ")
        );
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

/// What the `byok serve` of these settings says on `GET /v1/status`, if one answers within a
/// second: its figures are the latest (the file is written a moment after they change), and
/// its client keys' usage.
async fn live_status(settings: &Settings) -> Option<(ProviderStatus, Vec<ClientKeyStatus>)> {
    let host = match settings.host.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "[::1]",
        host if host.contains(':') && !host.starts_with('[') => return None,
        host => host,
    };
    let url = format!("http://{host}:{}/v1/status", settings.port);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .no_proxy()
        .build()
        .ok()?;
    let mut request = client.get(&url);
    if let Some(key) = &settings.status_key {
        request = request.bearer_auth(key.expose());
    }
    let response = request.send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    // Another program on the port answers something else.
    if body["object"] != "byok.status" {
        return None;
    }
    let keys = serde_json::from_value(body["client_keys"].clone()).unwrap_or_default();
    Some((serde_json::from_value(body).ok()?, keys))
}

/// The client keys: tokens spent today against each budget, and the models each may use.
fn key_lines(out: &mut String, keys: &[ClientKeyStatus], now: i64) {
    if keys.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nClient keys, tokens today (UTC):");
    for key in keys {
        let mut line = format!("  {}: {} tokens", key.name, key.used_today);
        if let Some(budget) = key.daily_tokens {
            let _ = write!(line, " of {budget}");
            if key.used_today >= budget {
                let _ = write!(
                    line,
                    ", budget spent until {} (in {})",
                    human::utc(key.resets_at),
                    span(key.resets_at - now)
                );
            }
        }
        if let Some(models) = &key.models {
            let _ = write!(line, "; models {}", models.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The running server's view: each account with its rest and windows.
fn live_lines(out: &mut String, live: &ProviderStatus, now: i64) {
    let ready = if live.ready { "ready" } else { "not ready" };
    let _ = writeln!(
        out,
        "\nbyok serve is running ({ready}; {} upstream {}):",
        live.provider, live.upstream
    );
    if let Some(detail) = &live.detail {
        let _ = writeln!(out, "  {detail}");
    }
    for account in &live.accounts {
        let mut heading = format!("  {}", account.name);
        if let Some(plan) = &account.plan {
            let _ = write!(heading, ", plan {plan}");
        }
        if let Some(until) = account.resting_until.filter(|until| *until > now) {
            let _ = write!(heading, ", resting for {} (usage limit)", span(until - now));
        }
        if let Some(routed_to) = &account.routed_to {
            let _ = write!(heading, ", served at {routed_to} (its workspace's origin)");
        }
        if let Some(at) = account.figures_at {
            let _ = write!(heading, ", figures from {}", ago(now - at));
        }
        let _ = writeln!(out, "{heading}:");
        let lines = window_lines(&account.rate_limits, account.credits.as_ref(), now);
        if lines.is_empty() {
            let _ = writeln!(out, "    no rate-limit figures yet");
        }
        for line in lines {
            let _ = writeln!(out, "    {line}");
        }
    }
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
    let mut lines = window_lines(&snapshot.families(), snapshot.credits().as_ref(), now);
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

/// One line per window and one for credits.
fn window_lines(families: &[LimitFamily], credits: Option<&Credits>, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for family in families {
        for (which, window) in family.windows() {
            let label = human::window_label(family, which, window.window_minutes);
            let mut line = format!("{label}: {}% used", window.used_percent);
            if let Some(at) = window.resets_at {
                let _ = write!(line, ", {}", human::reset(at, now));
            }
            lines.push(line);
        }
    }
    if let Some(credits) = credits {
        lines.push(human::credits(credits));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_account_served_elsewhere_says_where() {
        let live = ProviderStatus::new(
            byok_types::ProviderId::Codex,
            "https://chatgpt.com/backend-api/codex",
        )
        .with_account(
            byok_types::AccountStatus::new("me@example.com")
                .plan(Some("enterprise".into()))
                .routed_to(Some("https://eu.chatgpt.com/backend-api/codex".into())),
        );
        let mut out = String::new();
        live_lines(&mut out, &live, 0);
        assert!(
            out.contains(
                "  me@example.com, plan enterprise, served at \
                 https://eu.chatgpt.com/backend-api/codex (its workspace's origin):"
            ),
            "{out}"
        );
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
