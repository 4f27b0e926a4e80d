//! The status page (`GET /`): server-rendered HTML for people, no script, refreshing itself.
//! Everything shown comes from [`ProviderStatus`] and the last hour's [`Totals`]; every value
//! from outside (account names, plans, URLs) is escaped.

use std::fmt::Write as _;

use byok_types::human::{self, span};
use byok_types::{AccountStatus, ProviderStatus, RateLimitWindow};

use crate::recent::Totals;

/// How often the page reloads itself, in seconds.
const REFRESH_SECS: u32 = 15;

/// What the page shows.
pub(crate) struct Page<'a> {
    pub(crate) status: &'a ProviderStatus,
    pub(crate) last_hour: Totals,
    pub(crate) started_at: i64,
    pub(crate) now: i64,
}

/// The whole page.
pub(crate) fn render(page: &Page<'_>) -> String {
    let status = page.status;
    let mut html = String::with_capacity(4096);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
         <title>byok status</title><style>{STYLE}</style></head><body><main>"
    );
    let (badge, class) = if status.ready {
        ("ready", "ok")
    } else {
        ("not ready", "bad")
    };
    let _ = write!(
        html,
        "<h1>byok <span class=\"badge {class}\">{badge}</span></h1>\
         <p class=\"meta\">{} upstream <code>{}</code> · up {} · version {} · this page \
         refreshes every {REFRESH_SECS} s</p>",
        escape(status.provider.as_str()),
        escape(&status.upstream),
        span((page.now - page.started_at).max(0)),
        env!("CARGO_PKG_VERSION"),
    );
    if let Some(detail) = &status.detail {
        let _ = write!(html, "<p class=\"warn\">{}</p>", escape(detail));
    }
    let hour = page.last_hour;
    let _ = write!(
        html,
        "<section><h2>Last hour</h2><dl class=\"figures\">\
         <div><dt>Requests</dt><dd>{}</dd></div><div><dt>Errors</dt><dd>{}</dd></div>\
         <div><dt>Tokens in</dt><dd>{}</dd></div><div><dt>Tokens out</dt><dd>{}</dd></div>\
         </dl></section>",
        hour.requests, hour.errors, hour.input_tokens, hour.output_tokens
    );
    html.push_str("<section><h2>Accounts</h2>");
    if status.accounts.is_empty() {
        html.push_str("<p>No account signed in.</p>");
    }
    for account in &status.accounts {
        account_card(&mut html, account, page.now);
    }
    html.push_str(
        "</section><footer>The same as JSON: <code>GET /v1/status</code> · for Prometheus: \
         <code>GET /metrics</code> · in a terminal: <code>byok status</code></footer>\
         </main></body></html>\n",
    );
    html
}

/// One account: name, plan, token, rest, where it is served when elsewhere, and a bar per
/// rate-limit window.
fn account_card(html: &mut String, account: &AccountStatus, now: i64) {
    let _ = write!(
        html,
        "<article class=\"account\"><h3>{}",
        escape(&account.name)
    );
    if let Some(plan) = &account.plan {
        let _ = write!(html, " <span class=\"plan\">{}</span>", escape(plan));
    }
    if let Some(until) = account.resting_until.filter(|until| *until > now) {
        let _ = write!(
            html,
            " <span class=\"badge bad\">resting for {}</span>",
            span(until - now)
        );
    }
    html.push_str("</h3>");
    if let Some(exp) = account.token_expires_at {
        let token = if exp > now {
            format!("token expires in {}", span(exp - now))
        } else {
            format!(
                "token expired {} (refreshed on next use)",
                human::ago(now - exp)
            )
        };
        let _ = write!(html, "<p class=\"meta\">{token}</p>");
    }
    if let Some(routed_to) = &account.routed_to {
        let _ = write!(
            html,
            "<p class=\"meta\">served at {} (its workspace's origin)</p>",
            escape(routed_to)
        );
    }
    if account.rate_limits.is_empty() {
        html.push_str(
            "<p class=\"meta\">No rate-limit figures yet: the upstream sends them with each \
             answer.</p>",
        );
    }
    for family in &account.rate_limits {
        for (which, window) in family.windows() {
            let label = human::window_label(family, which, window.window_minutes);
            window_bar(html, &label, window, now);
        }
    }
    if let Some(credits) = &account.credits {
        let text = escape(&human::credits(credits));
        let _ = write!(html, "<p class=\"meta\">{text}</p>");
    }
    if let Some(at) = account.figures_at {
        let _ = write!(
            html,
            "<p class=\"meta\">figures from {}</p>",
            human::ago(now - at)
        );
    }
    html.push_str("</article>");
}

/// A labelled bar, filled to the used percent (red past 90 %).
fn window_bar(html: &mut String, label: &str, window: &RateLimitWindow, now: i64) {
    let used = window.used_percent.clamp(0.0, 100.0);
    let level = if used >= 90.0 { "high" } else { "" };
    let reset = window
        .resets_at
        .map(|at| format!(" · {}", human::reset(at, now)))
        .unwrap_or_default();
    let _ = write!(
        html,
        "<div class=\"window\"><div class=\"label\"><span>{}</span><span>{used}% used{}</span>\
         </div><div class=\"bar\" role=\"meter\" aria-valuemin=\"0\" aria-valuemax=\"100\" \
         aria-valuenow=\"{used}\"><div class=\"fill {level}\" style=\"width: {used}%\"></div>\
         </div></div>",
        escape(label),
        escape(&reset),
    );
}

/// Text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#6b6b70;--card:#fff;--bg:#f4f4f6;\
--bar:#e3e3e8;--fill:#2f7d4f;--high:#c0392b}\
@media (prefers-color-scheme:dark){:root{--fg:#ececf0;--muted:#9a9aa2;--card:#1e1e22;\
--bg:#121214;--bar:#34343a}}\
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,sans-serif}\
main{max-width:46rem;margin:0 auto;padding:1.5rem}\
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .6rem}\
h3{font-size:1rem;margin:0 0 .3rem}\
.meta{color:var(--muted);margin:.2rem 0}.warn{color:var(--high)}\
.badge{font-size:.75rem;padding:.15rem .5rem;border-radius:1rem;vertical-align:middle;\
color:#fff}.ok{background:var(--fill)}.bad{background:var(--high)}\
.plan{font-size:.75rem;color:var(--muted);border:1px solid var(--bar);border-radius:1rem;\
padding:.05rem .45rem}\
.figures{display:grid;grid-template-columns:repeat(4,1fr);gap:.6rem;margin:0}\
.figures div{background:var(--card);border-radius:.6rem;padding:.6rem .8rem}\
dt{color:var(--muted);font-size:.8rem}dd{margin:0;font-size:1.3rem;font-weight:600}\
.account{background:var(--card);border-radius:.6rem;padding:.9rem 1rem;margin:.6rem 0}\
.window{margin:.55rem 0}.label{display:flex;justify-content:space-between;font-size:.85rem;\
gap:1rem}.bar{height:.55rem;background:var(--bar);border-radius:.3rem;overflow:hidden;\
margin-top:.2rem}.fill{height:100%;background:var(--fill)}.fill.high{background:var(--high)}\
footer{color:var(--muted);font-size:.8rem;margin-top:2rem}code{font-size:.85em}";

#[cfg(test)]
mod tests {
    use byok_types::{LimitFamily, ProviderId};

    use super::*;

    #[test]
    fn values_from_outside_are_escaped() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let status = ProviderStatus::new(ProviderId::Codex, "http://x")
            .with_account(AccountStatus::new("<img src=x onerror=alert(1)>"));
        let html = render(&Page {
            status: &status,
            last_hour: Totals::default(),
            started_at: 0,
            now: 10,
        });
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[test]
    fn an_account_served_elsewhere_says_where() {
        let account = AccountStatus::new("me@example.com")
            .routed_to(Some("https://eu.chatgpt.com/backend-api/codex".into()));
        let status =
            ProviderStatus::new(ProviderId::Codex, "https://chatgpt.com/backend-api/codex")
                .with_account(account);
        let html = render(&Page {
            status: &status,
            last_hour: Totals::default(),
            started_at: 0,
            now: 10,
        });
        assert!(
            html.contains("served at https://eu.chatgpt.com/backend-api/codex (its workspace"),
            "{html}"
        );
    }

    #[test]
    fn a_window_is_a_bar_filled_to_its_used_percent_with_its_reset() {
        let now = 1_800_000_000;
        let mut account = AccountStatus::new("me@example.com");
        account.rate_limits = vec![LimitFamily {
            id: "codex".into(),
            name: None,
            primary: Some(RateLimitWindow {
                used_percent: 42.0,
                window_minutes: Some(300),
                resets_at: Some(now + 3900),
            }),
            secondary: None,
        }];
        let status = ProviderStatus::new(ProviderId::Codex, "http://x").with_account(account);
        let html = render(&Page {
            status: &status,
            last_hour: Totals::default(),
            started_at: now - 60,
            now,
        });
        assert!(html.contains("5 h window"), "{html}");
        assert!(html.contains("style=\"width: 42%\""), "{html}");
        assert!(html.contains("resets in 1 h 5 min"), "{html}");
    }
}
