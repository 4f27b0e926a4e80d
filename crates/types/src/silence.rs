//! Telling when a stream has gone quiet, without timer work for every chunk.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Watches a stream for a whole `period` without activity (for idle timeouts and keep-alives).
///
/// [`heard`](Self::heard) only notes the time; the timer is re-armed when it fires, so a stream
/// of many small chunks costs no timer work per chunk. Must be used within a Tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// let mut silence = byok_types::Silence::new(Duration::from_millis(20));
/// silence.heard();
/// std::future::poll_fn(|cx| silence.poll_quiet(cx)).await; // ~20 ms later
/// # }
/// ```
#[derive(Debug)]
pub struct Silence {
    period: Duration,
    /// When something was last heard.
    last: Instant,
    /// Fires at or before `last + period`.
    timer: Pin<Box<Sleep>>,
}

impl Silence {
    /// Starts watching now.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            last: Instant::now(),
            timer: Box::pin(tokio::time::sleep(period)),
        }
    }

    /// How long a silence must last.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Something happened: the silence starts again from now.
    pub fn heard(&mut self) {
        self.last = Instant::now();
    }

    /// Ready once `period` has passed since the last [`heard`](Self::heard) (or since
    /// [`new`](Self::new)); until then `Pending`, with `cx` woken when it may be over.
    pub fn poll_quiet(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.timer.as_mut().poll(cx).is_ready() {
            let due = self.last + self.period;
            if Instant::now() >= due {
                return Poll::Ready(());
            }
            self.timer.as_mut().reset(due);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn quiet_only_a_whole_period_after_the_last_sound() {
        let period = Duration::from_millis(50);
        let mut silence = Silence::new(period);
        tokio::time::sleep(Duration::from_millis(30)).await;
        silence.heard();
        let heard_at = Instant::now();

        let mut polls = 0;
        std::future::poll_fn(|cx| {
            polls += 1;
            silence.poll_quiet(cx)
        })
        .await;

        assert!(heard_at.elapsed() >= period, "{:?}", heard_at.elapsed());
        assert!(polls >= 2, "quiet at once after a sound");
    }
}
