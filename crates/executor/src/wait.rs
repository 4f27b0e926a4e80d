//! How long to wait: the one home of every rule about it.
//!
//! * what an upstream announces: `Retry-After` (delta-seconds or an HTTP date), else the
//!   error body's `resets_in_seconds`, else its `resets_at` ([`announced`]), else the
//!   message's "Please try again in 1.5s" ([`try_again_in`]);
//! * how long a retry waits: jittered exponential backoff with the announced wait as a floor,
//!   capped ([`backoff`], used by [`RetryPolicy`](crate::RetryPolicy));
//! * how long an account at its usage limit rests ([`rest_until`]), and the 429 when every
//!   account rests ([`all_resting`]);
//! * the whole seconds a client is told in `Retry-After` are byok-types'
//!   (`ByokError::retry_after_secs`), since the server answers them.

use std::time::{Duration, SystemTime};

use byok_types::ByokError;
use hyper::header::{HeaderMap, RETRY_AFTER};
use rand::Rng;

/// How long an account rests after a usage limit that came without a reset time.
const DEFAULT_REST_SECS: i64 = 60;

/// The wait an error answer announces: its `Retry-After` header, else the body's
/// `resets_in_seconds`, else the time left until the body's `resets_at` (Unix seconds).
pub(crate) fn announced(
    headers: &HeaderMap,
    resets_in_seconds: Option<u64>,
    resets_at: Option<i64>,
    now: i64,
) -> Option<Duration> {
    retry_after_header(headers, SystemTime::now())
        .or_else(|| resets_in_seconds.map(Duration::from_secs))
        .or_else(|| resets_at.map(|at| seconds_until(at, now)))
}

/// `Retry-After` as delta-seconds or as an HTTP date (relative to `now`).
pub(crate) fn retry_after_header(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait a rate-limit message names: OpenAI writes "Please try again in 20ms.", "in
/// 1.898s", "in 6m0s" or "in 1h2m3s". `None` when the message names none.
pub(crate) fn try_again_in(message: &str) -> Option<Duration> {
    const PHRASE: &str = "try again in ";
    let start = message.to_ascii_lowercase().find(PHRASE)? + PHRASE.len();
    let mut rest = &message[start..];
    let mut total = 0.0_f64;
    let mut any = false;
    loop {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let Ok(number) = rest[..digits].parse::<f64>() else {
            break;
        };
        let after = &rest[digits..];
        let (unit, len) = if after.starts_with("ms") {
            (0.001, 2)
        } else if after.starts_with('s') {
            (1.0, 1)
        } else if after.starts_with('m') {
            (60.0, 1)
        } else if after.starts_with('h') {
            (3600.0, 1)
        } else {
            break;
        };
        total += number * unit;
        any = true;
        rest = &after[len..];
    }
    (any && total.is_finite()).then(|| Duration::from_secs_f64(total))
}

/// Seconds from `now` to the Unix time `at`, zero if it has passed.
pub(crate) fn seconds_until(at: i64, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
}

/// The wait before try number `attempt + 1` (`attempt` counts from 1) after `err`: the
/// exponential step from `base`, jittered over its upper half, at least what the upstream
/// announced, at most `cap`.
pub(crate) fn backoff(base: Duration, cap: Duration, attempt: u32, err: &ByokError) -> Duration {
    let step = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let jittered = step.mul_f64(rand::rng().random_range(0.5..=1.0));
    let floor = err.retry_after().unwrap_or(Duration::ZERO);
    jittered.max(floor).min(cap)
}

/// When an account that hit its usage limit may serve again.
pub(crate) fn rest_until(err: &ByokError, now: i64) -> i64 {
    match err {
        ByokError::UsageLimit {
            resets_at: Some(at),
            ..
        } => *at,
        ByokError::UsageLimit {
            retry_after: Some(wait),
            ..
        } => now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX)),
        _ => now + DEFAULT_REST_SECS,
    }
}

/// The 429 of a request no account can serve: the earliest reset as `retry_after`.
pub(crate) fn all_resting(last: Option<ByokError>, earliest_reset: i64, now: i64) -> ByokError {
    let (message, plan_type) = match last {
        Some(ByokError::UsageLimit {
            message, plan_type, ..
        }) => (message, plan_type),
        _ => (
            "every signed-in ChatGPT account has reached its usage limit; wait for the reset or sign in another account with `byok login`".to_owned(),
            None,
        ),
    };
    ByokError::UsageLimit {
        message,
        plan_type,
        resets_at: Some(earliest_reset),
        retry_after: Some(seconds_until(earliest_reset, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after_header(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            retry_after_header(&headers(&later), now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(
            retry_after_header(&headers(&earlier), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_header(&headers("soon"), now), None);
        assert_eq!(retry_after_header(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_header_wins_over_the_body_and_resets_in_over_resets_at() {
        let now = 1_000;
        assert_eq!(
            announced(&headers("2"), Some(30), Some(now + 60), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            announced(&HeaderMap::new(), Some(30), Some(now + 60), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            announced(&HeaderMap::new(), None, Some(now + 60), now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            announced(&HeaderMap::new(), None, Some(now - 5), now),
            Some(Duration::ZERO)
        );
        assert_eq!(announced(&HeaderMap::new(), None, None, now), None);
    }

    #[test]
    fn rate_limit_messages_name_their_wait() {
        let wait = |m: &str| try_again_in(m);
        assert_eq!(
            wait("Rate limit reached for gpt-5. Please try again in 1.898s. Visit ..."),
            Some(Duration::from_secs_f64(1.898))
        );
        assert_eq!(
            wait("Please try again in 20ms."),
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            wait("Please try again in 6m0s."),
            Some(Duration::from_secs(360))
        );
        assert_eq!(wait("try again in 1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(wait("Please try again later."), None);
        assert_eq!(wait("slow down"), None);
    }

    #[test]
    fn an_account_rests_until_its_reset_or_a_minute() {
        let limit = |resets_at, retry_after| ByokError::UsageLimit {
            message: String::new(),
            plan_type: None,
            resets_at,
            retry_after,
        };
        assert_eq!(
            rest_until(&limit(Some(500), Some(Duration::from_secs(9))), 100),
            500
        );
        assert_eq!(
            rest_until(&limit(None, Some(Duration::from_secs(9))), 100),
            109
        );
        assert_eq!(rest_until(&limit(None, None), 100), 160);
        let all = all_resting(None, 400, 100);
        assert_eq!(all.status(), 429);
        assert_eq!(all.retry_after(), Some(Duration::from_secs(300)));
    }
}
