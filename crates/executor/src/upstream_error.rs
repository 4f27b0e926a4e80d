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
    let retry_after = wait::announced(headers, detail.resets_in_seconds, detail.resets_at, now)
        .or_else(|| detail.message.as_deref().and_then(wait::try_again_in));
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

/// The HTTP status an in-stream failure code stands for, for the codes byok acts on: the
/// backend's overload (503: tried again), its rate limit (429: the client is told when to come
/// back) and the plan's usage limit (429 `usage_limit_reached`: the account rests).
fn status_of_stream_code(code: &str) -> Option<u16> {
    match code {
        "server_is_overloaded" | "slow_down" => Some(503),
        "rate_limit_exceeded" | "usage_limit_reached" => Some(429),
        _ => None,
    }
}

/// What a failure event inside a 200 stream (`response.failed` with its `response.error`, or
/// an `error` event with its `code` and `message`, at the top or under `error`) stands for, as
/// the error the backend would have answered over HTTP: `None` for a failure byok leaves to
/// the stream (it reaches the client as it came).
///
/// The error body is the failure's own error object, so the client reads the backend's words.
pub(crate) fn stream_failure(data: &[u8]) -> Option<ByokError> {
    let event: serde_json::Value = serde_json::from_slice(data).ok()?;
    let detail = event
        .get("response")
        .and_then(|r| r.get("error"))
        .or_else(|| event.get("error"))
        .filter(|e| e.is_object())
        .unwrap_or(&event);
    let code = ["code", "type"]
        .iter()
        .filter_map(|k| detail.get(*k)?.as_str())
        .find_map(|c| status_of_stream_code(c).map(|s| (c, s)));
    let (code, status) = code?;
    let mut error = detail.as_object().cloned().unwrap_or_default();
    error.remove("sequence_number");
    if error.get("type").and_then(serde_json::Value::as_str) == Some("error") {
        // An `error` event's own type is no error type.
        error.remove("type");
    }
    error.insert("code".into(), code.into());
    let body = serde_json::json!({ "error": error }).to_string();
    Some(upstream_error(status, &HeaderMap::new(), body))
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

/// Whether an error body says the client is too old for the requested model: the Codex
/// backend gates models on the client's version (each catalog entry's
/// `minimal_client_version`) and answers 400 `{"detail":"The 'gpt-5.6-sol' model requires a
/// newer version of Codex. Please upgrade to the latest app or CLI and try again."}`, as users
/// of old official clients and of other gateways reported it (openai/codex#31826,
/// kittors/CliRelay#884); `crates/test-support/src/client_version.rs` answers the same.
pub(crate) fn says_client_too_old(status: u16, body: &str) -> bool {
    (400..=499).contains(&status)
        && body
            .to_ascii_lowercase()
            .contains("requires a newer version of codex")
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
    fn failures_inside_a_stream_stand_for_their_http_errors() {
        let failed = |error: serde_json::Value| {
            serde_json::json!({"type": "response.failed", "sequence_number": 2,
                "response": {"id": "resp_1", "status": "failed", "error": error}})
            .to_string()
        };
        let overload = failed(serde_json::json!({"code": "server_is_overloaded",
            "message": "Our servers are currently overloaded. Please try again later."}));
        let err = stream_failure(overload.as_bytes()).unwrap();
        // A 503 to try again; still failing after the tries, the client gets 502 upstream_error.
        assert!(
            matches!(err, ByokError::Upstream { status: 503, .. }),
            "{err:?}"
        );
        assert_eq!(err.status(), 502);
        assert!(crate::retry::is_retryable(&err));
        let json = err.to_openai_json();
        assert_eq!(json["error"]["code"], "server_is_overloaded");
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("overloaded")
        );

        let limited = failed(serde_json::json!({"code": "rate_limit_exceeded",
            "message": "Rate limit reached for gpt-5.5. Please try again in 2.5s."}));
        let err = stream_failure(limited.as_bytes()).unwrap();
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after_secs(), Some(3));
        assert!(!crate::retry::is_retryable(&err));

        let usage = failed(serde_json::json!({"code": "usage_limit_reached",
            "message": "The usage limit has been reached", "plan_type": "plus",
            "resets_in_seconds": 600}));
        let err = stream_failure(usage.as_bytes()).unwrap();
        assert!(matches!(err, ByokError::UsageLimit { .. }), "{err:?}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));

        // An `error` event says it at the top level.
        let event = br#"{"type":"error","code":"rate_limit_exceeded","message":"Please try again in 20ms.","sequence_number":1}"#;
        let err = stream_failure(event).unwrap();
        assert_eq!(err.retry_after(), Some(Duration::from_millis(20)));
        assert_eq!(err.to_openai_json()["error"]["type"], "rate_limit_error");

        // Failures byok does not act on stay in the stream.
        let other =
            failed(serde_json::json!({"code": "context_length_exceeded", "message": "too long"}));
        assert!(stream_failure(other.as_bytes()).is_none());
        assert!(stream_failure(b"not json").is_none());
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

    #[test]
    fn recognises_a_client_too_old_for_the_model() {
        let body = r#"{"detail":"The 'gpt-5.6-sol' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again."}"#;
        assert!(says_client_too_old(400, body));
        assert!(!says_model_unsupported(400, body));
        assert!(!says_client_too_old(503, body));
        assert!(!says_client_too_old(
            400,
            r#"{"detail":"Unsupported parameter: temperature"}"#
        ));
    }
}
