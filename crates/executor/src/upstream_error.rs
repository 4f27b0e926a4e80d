//! Turns an upstream's non-success answer into a [`ByokError`] (how long to wait is
//! [`crate::wait`]'s).

use byok_types::{ByokError, unix_now};
use hyper::header::HeaderMap;
use serde::Deserialize;

use crate::wait;

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
    let retry_after = wait::announced(headers, detail.resets_in_seconds, detail.resets_at, now);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use hyper::header::{HeaderValue, RETRY_AFTER};

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
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
