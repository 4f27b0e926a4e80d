#![doc = include_str!("../README.md")]
//!
//! ## Why a crate of its own
//!
//! The store is state with locks and (for a shared store) I/O, so it cannot live in
//! `byok-translate`, which stays pure and runtime-free; the server must not know it either (it
//! serves any `ProviderExecutor` from `byok-types` alone). The executor owns one and uses it
//! around every Responses request; a shared store for a team of byok instances implements the
//! same [`ResponseStore`] here, without touching the executor.

mod error;
mod memory;

pub use error::StoreError;
pub use memory::{DEFAULT_BUDGET_BYTES, DEFAULT_TTL, MemoryStore, Usage};

use byok_translate::StoredResponse;
use byok_types::ClientId;
use serde_json::Value;

/// Where responses are kept between requests: per client, by response id, and their items by
/// item id.
///
/// Async and fallible, so that a shared store (over the network) implements it as well as the
/// in-memory [`MemoryStore`]. Every method is keyed by the client's identity: a client never
/// reads, lists or deletes another client's records, even when it knows their ids.
///
/// A store may forget a record at any time (budget, time to live, a restart): callers treat a
/// record that is not there as evicted, and tell the client so.
#[async_trait::async_trait]
pub trait ResponseStore: Send + Sync + std::fmt::Debug {
    /// Keeps `response` for `client`, replacing a record of the same id. Its input and output
    /// items that have an id become reachable through [`ResponseStore::item`].
    async fn put(&self, client: &ClientId, response: &StoredResponse) -> Result<(), StoreError>;

    /// The record of response `id`, if `client` stored it and it is still kept.
    async fn get(&self, client: &ClientId, id: &str) -> Result<Option<StoredResponse>, StoreError>;

    /// The item `id` (an input or output item of one of `client`'s stored responses).
    async fn item(&self, client: &ClientId, id: &str) -> Result<Option<Value>, StoreError>;

    /// Forgets response `id` of `client`; whether there was one.
    async fn delete(&self, client: &ClientId, id: &str) -> Result<bool, StoreError>;
}
