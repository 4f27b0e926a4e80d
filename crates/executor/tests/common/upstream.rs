//! The stand-in OpenAI / Codex upstream as these tests use it: byok-test-support's, with the
//! Codex backend at its root (the executor is given the bare address), the recordings of
//! `tests/data`, and streams written in 1 KB pieces across event boundaries, as a real stream
//! may arrive.

pub use byok_test_support::Received;
use byok_test_support::upstream::Split;
#[allow(unused_imports)] // not every test binary cuts streams
pub use byok_test_support::upstream::{Reply, StandIn, Then, Until};

/// `tests/data`, where the recordings are.
fn data() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A stand-in answering with `script` in order, then with the recorded `text` stream.
pub async fn stand_in(script: Vec<Reply>) -> StandIn {
    StandIn::builder()
        .recordings(data())
        .script(script)
        .codex_path("")
        .split(Split::Bytes(1024))
        .start()
        .await
}

/// A recorded stream (`tests/data/NAME.sse`).
pub fn fixture(name: &str) -> String {
    let path = data().join(format!("{name}.sse"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
