//! Turns an upstream's non-success answer into a [`ByokError`], with how long to wait.

use std::time::{Duration, SystemTime};

use byok_types::{ByokError, unix_now};
use hyper::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

/// The parts of an OpenAI / Codex error body that decide what byok does.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    plan_type: Option<String>,
    #[serde(default)]
    resets_at: Option<i64>,
    #[serde(default)]
    resets_in_seconds: Option<u64>,
}

/// The error for a non-2xx answer: `UsageLimit` for Codex's `usage_limit_reached`, else
/// `Upstream` with the body kept for the client and `retry_after` from `Retry-After` (seconds or
/// an HTTP date) or the body's `error.resets_in_seconds` / `error.resets_at`.
pub(crate) fn upstream_error(status: u16, headers: &HeaderMap, body: String) -> ByokError {
    let detail = serde_json::from_str::<ErrorBody>(&body)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_default();
    let now = unix_now();
    let retry_after = retry_after_header(headers, SystemTime::now())
        .or_else(|| detail.resets_in_seconds.map(Duration::from_secs))
        .or_else(|| detail.resets_at.map(|at| seconds_until(at, now)));
    let is_usage_limit = [&detail.kind, &detail.code]
        .iter()
        .any(|v| v.as_deref() == Some("usage_limit_reached"));
    if status == 429 && is_usage_limit {
        let resets_at = detail.resets_at.or_else(|| {
            retry_after.map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(0)))
        });
        return ByokError::UsageLimit {
            message: detail.message.unwrap_or_else(|| {
                "the ChatGPT plan's usage limit is reached; wait for the reset or use another account"
                    .into()
            }),
            plan_type: detail.plan_type,
            resets_at,
            retry_after,
        };
    }
    ByokError::Upstream {
        status,
        body,
        retry_after,
    }
}

/// A request byok-translate cannot translate: a 400 naming the field at fault.
pub(crate) fn translate_error(err: &byok_translate::TranslateError) -> ByokError {
    ByokError::invalid_request(err.to_string(), err.param())
}

/// Whether an error body says the requested model is not served (Codex answers 400 or 404 with
/// e.g. "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account.").
pub(crate) fn says_model_unsupported(status: u16, body: &str) -> bool {
    if status != 400 && status != 404 {
        return false;
    }
    let body = body.to_ascii_lowercase();
    // Narrow phrases: "Unsupported value: 'reasoning.effort' ... with this model" is a 400 about
    // a parameter, not about the model.
    [
        "model is not supported",
        "model_not_found",
        "unsupported model",
        "model does not exist",
    ]
    .iter()
    .any(|p| body.contains(p))
        || (body.contains("model") && body.contains("does not exist"))
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

/// Seconds from `now` to the Unix time `at`, zero if it has passed.
pub(crate) fn seconds_until(at: i64, now: i64) -> Duration {
    Duration::from_secs(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
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
    fn usage_limit_body_becomes_usage_limit_with_its_reset() {
        let body = r#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1900000000,"resets_in_seconds":321}}"#;
        let err = upstream_error(429, &HeaderMap::new(), body.into());
        let ByokError::UsageLimit {
            plan_type,
            resets_at,
            retry_after,
            message,
        } = err
        else {
            panic!("expected UsageLimit, got {err:?}");
        };
        assert_eq!(plan_type.as_deref(), Some("plus"));
        assert_eq!(resets_at, Some(1_900_000_000));
        assert_eq!(retry_after, Some(Duration::from_secs(321)));
        assert_eq!(message, "The usage limit has been reached");
    }

    #[test]
    fn other_errors_keep_status_body_and_body_reset() {
        let at = unix_now() + 3600;
        let body = format!(r#"{{"error":{{"message":"slow down","resets_at":{at}}}}}"#);
        let err = upstream_error(429, &HeaderMap::new(), body.clone());
        let ByokError::Upstream {
            status,
            body: kept,
            retry_after,
        } = err
        else {
            panic!("expected Upstream");
        };
        assert_eq!(status, 429);
        assert_eq!(kept, body);
        let wait = retry_after.unwrap().as_secs();
        assert!((3590..=3600).contains(&wait), "{wait}");
        // The header wins over the body.
        let err = upstream_error(503, &headers("2"), body);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn recognises_unsupported_model_answers() {
        assert!(says_model_unsupported(
            400,
            r#"{"detail":"The 'gpt-4o' model is not supported when using Codex with a ChatGPT account."}"#
        ));
        assert!(says_model_unsupported(
            404,
            r#"{"error":{"code":"model_not_found","message":"The model `x` does not exist"}}"#
        ));
        assert!(!says_model_unsupported(
            400,
            r#"{"detail":"Unsupported parameter: temperature"}"#
        ));
        assert!(!says_model_unsupported(
            400,
            r#"{"detail":"Unsupported value: 'minimal' is not supported with this model."}"#
        ));
        assert!(!says_model_unsupported(500, "model not supported"));
    }
}
