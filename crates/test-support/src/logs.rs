//! What a test process logs, captured for the test to read: a global `tracing` subscriber
//! that writes plain text lines into memory, as `byok serve` writes them to stderr.
//!
//! A test binary that captures logs holds only tests that may share one subscriber (it is
//! global: tasks byok spawns log through it too).

use std::sync::{Arc, Mutex, PoisonError};

/// The log lines written so far, shared with the subscriber that writes them.
#[derive(Clone, Debug, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs the process's global subscriber at `filter` (`info` is `byok serve`'s
    /// default level, as `RUST_LOG` would set it), without colours; what it writes is read
    /// from the value returned. Panics if a global subscriber is already installed.
    pub fn install(filter: &str) -> Self {
        let captured = Self::default();
        let sink = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .try_init()
            .expect("no other global log subscriber in this test binary");
        captured
    }

    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many bytes were written so far: an offset for [`Captured::since`].
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What was written from `offset` on.
    pub fn since(&self, offset: usize) -> String {
        String::from_utf8_lossy(&self.bytes()[offset..]).into_owned()
    }
}
