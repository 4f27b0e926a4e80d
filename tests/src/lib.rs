//! Helpers for byok's end-to-end tests: recorded fixtures, a stand-in Codex backend and issuer
//! (axum on 127.0.0.1), byok itself started in-process through the very code `byok serve`
//! runs, an SSE reader for the client side, and the real client programs (found or installed).

pub mod clients;
pub mod fixtures;
pub mod harness;
pub mod scripted;
pub mod sse;
pub mod upstream;

pub use harness::Byok;
pub use upstream::{Received, Reply, StandIn, Then, Until};
