//! When and how long to wait before trying an upstream request again.

use std::future::Future;
use std::time::Duration;

use byok_types::{ByokError, Result};

/// How an upstream request is retried: 408, 5xx and connection failures that happen before
/// the first byte of the answer, with jittered exponential backoff that honours `Retry-After`.
///
/// Nothing is retried once the answer's bytes reached the caller, and a usage limit (429) is
/// never retried on the same account.
///
/// Built with [`RetryPolicy::builder`] (or [`RetryPolicy::default`]); `#[non_exhaustive]`, so
/// a setting added later breaks no caller.
///
/// ```
/// use std::time::Duration;
/// use byok_executor::RetryPolicy;
/// let fast = RetryPolicy::builder().base_delay(Duration::from_millis(1)).build();
/// assert_eq!(fast.max_attempts, 3);
/// assert_eq!(RetryPolicy::builder().build(), RetryPolicy::default());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, bon::Builder)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Tries in all, the first included (3 by default; 1 turns retries off).
    #[builder(default = 3)]
    pub max_attempts: u32,
    /// The wait before the second try; it doubles for each further try (200 ms by default).
    #[builder(default = Duration::from_millis(200))]
    pub base_delay: Duration,
    /// The longest wait between two tries, `Retry-After` included (10 s by default): a longer
    /// `Retry-After` is cut to this, so a client is never held for minutes.
    #[builder(default = Duration::from_secs(10))]
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1` (`attempt` counts from 1), after `err`.
    ///
    /// Jitter over the exponential step keeps many clients from retrying in lockstep; an
    /// upstream's `Retry-After` sets a floor (`crates/executor/src/wait.rs` computes it).
    pub fn delay(&self, attempt: u32, err: &ByokError) -> Duration {
        crate::wait::backoff(self.base_delay, self.max_delay, attempt, err)
    }

    /// Runs `send` until it succeeds, fails in a way not worth retrying, or tries run out.
    pub(crate) async fn run<F, Fut, T>(&self, mut send: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match send().await {
                Err(err) if attempt < self.max_attempts && is_retryable(&err) => {
                    let wait = self.delay(attempt, &err);
                    tracing::debug!(
                        attempt,
                        status = err.status(),
                        ?wait,
                        "retrying upstream request"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Whether a failure before the answer's first byte is worth another try: 408, 5xx, or a
/// connection that failed. An answer head that never came within the idle timeout is not
/// retried: the caller has already waited that long.
pub(crate) fn is_retryable(err: &ByokError) -> bool {
    match err {
        ByokError::Upstream { status, .. } => *status == 408 || (500..=599).contains(status),
        ByokError::Unreachable(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn upstream(status: u16, retry_after: Option<Duration>) -> ByokError {
        ByokError::Upstream {
            status,
            body: String::new(),
            retry_after,
        }
    }

    #[test]
    fn delays_grow_stay_jittered_and_capped() {
        let policy = RetryPolicy::default();
        let err = upstream(500, None);
        for _ in 0..50 {
            let first = policy.delay(1, &err);
            assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
            let second = policy.delay(2, &err);
            assert!(second >= Duration::from_millis(200) && second <= Duration::from_millis(400));
            assert!(policy.delay(30, &err) <= policy.max_delay);
        }
    }

    #[test]
    fn retry_after_is_a_floor_but_capped() {
        let policy = RetryPolicy::default();
        let err = upstream(503, Some(Duration::from_secs(3)));
        assert_eq!(policy.delay(1, &err), Duration::from_secs(3));
        let err = upstream(503, Some(Duration::from_secs(3600)));
        assert_eq!(policy.delay(1, &err), policy.max_delay);
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(is_retryable(&upstream(500, None)));
        assert!(is_retryable(&upstream(408, None)));
        assert!(is_retryable(&ByokError::Unreachable("refused".into())));
        assert!(!is_retryable(&ByokError::Timeout("idle".into())));
        assert!(!is_retryable(&upstream(400, None)));
        assert!(!is_retryable(&upstream(429, None)));
        assert!(!is_retryable(&ByokError::UsageLimit {
            message: String::new(),
            plan_type: None,
            resets_at: None,
            retry_after: None,
        }));
    }

    #[tokio::test]
    async fn run_stops_after_max_attempts() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let calls = AtomicU32::new(0);
        let result: Result<()> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(upstream(502, None))
            })
            .await;
        assert_eq!(result.unwrap_err().status(), 502);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        calls.store(0, Ordering::SeqCst);
        let result: Result<()> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(upstream(400, None))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
