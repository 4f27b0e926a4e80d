//! Times and windows as people read them, for `byok status` and the status page (one wording
//! for both).

use crate::{Credits, LimitFamily};

/// `5 d 3 h`, `2 h 10 min`, `4 min`, `30 s`: a length of time in seconds.
///
/// ```
/// assert_eq!(byok_types::human::span(7800), "2 h 10 min");
/// ```
pub fn span(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// `3 min ago`.
pub fn ago(secs: i64) -> String {
    format!("{} ago", span(secs.max(0)))
}

/// A Unix time as `2026-12-02 14:05 UTC`.
///
/// ```
/// assert_eq!(byok_types::human::utc(1_800_003_900), "2027-01-15 09:05 UTC");
/// ```
pub fn utc(at: i64) -> String {
    jiff::Timestamp::from_second(at).map_or_else(
        |_| at.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// `5 h`, `7 d`, `90 min`: a window's length. The backend says 299 and 10079 minutes for its
/// five-hour and weekly windows (recorded in `crates/translate/tests/data/text.meta.json`): a
/// minute off a whole hour is that hour.
///
/// ```
/// assert_eq!(byok_types::human::window_length(299), "5 h");
/// assert_eq!(byok_types::human::window_length(10079), "7 d");
/// ```
pub fn window_length(minutes: i64) -> String {
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

/// A window's name: `5 h window` for the account's own limits, `GPT-5.3-Codex-Spark 5 h
/// window` for a model metered separately; `primary window` when its length is unknown.
pub fn window_label(family: &LimitFamily, which: &str, window_minutes: Option<i64>) -> String {
    let label = match window_minutes {
        Some(minutes) if minutes > 0 => format!("{} window", window_length(minutes)),
        _ => format!("{which} window"),
    };
    if family.id == "codex" {
        label
    } else {
        format!("{} {label}", family.name.as_deref().unwrap_or(&family.id))
    }
}

/// When a window resets, seen at `now`: `resets in 1 h 5 min (2027-01-15 09:05 UTC)`, or
/// `reset at ... (figures from before)` once that time has passed.
pub fn reset(at: i64, now: i64) -> String {
    if at > now {
        format!("resets in {} ({})", span(at - now), utc(at))
    } else {
        format!("reset at {} (figures from before)", utc(at))
    }
}

/// `credits: 12.50 left`, `credits: unlimited`, `credits: none`.
pub fn credits(credits: &Credits) -> String {
    match (credits.unlimited, credits.has_credits, &credits.balance) {
        (true, _, _) => "credits: unlimited".to_owned(),
        (false, true, Some(balance)) => format!("credits: {balance} left"),
        (false, true, None) => "credits: some left".to_owned(),
        (false, false, _) => "credits: none".to_owned(),
    }
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
    fn window_lengths_read_as_the_backend_means_them() {
        assert_eq!(window_length(299), "5 h");
        assert_eq!(window_length(10079), "7 d");
        assert_eq!(window_length(90), "90 min");
        assert_eq!(window_length(45), "45 min");
    }
}
