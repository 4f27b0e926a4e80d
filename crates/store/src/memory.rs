//! The bounded in-memory store of a single byok.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use byok_translate::StoredResponse;
use byok_types::ClientId;
use serde_json::Value;

use crate::{ResponseStore, StoreError};

/// The default memory budget: 256 MiB (the `response_store_mib` setting).
pub const DEFAULT_BUDGET_BYTES: usize = 256 << 20;
/// The default time to live: 24 hours (the `response_store_ttl_secs` setting).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What one record costs besides its JSON text and ids: its entry in the records map, its
/// place in the recency order and the `Entry` itself (hash map slots, B-tree node share, the
/// boxed strings' headers), rounded up. `examples/memory.rs` measures the whole against the
/// process's resident memory.
const ENTRY_OVERHEAD: usize = 256;
/// What one item id costs in the item index besides its text (slot, key, the response id).
const ITEM_OVERHEAD: usize = 96;

/// Responses kept in memory, within a byte budget: when a new record would pass it, the least
/// recently used records go first; a record older than the time to live is never served.
///
/// Records are kept as their JSON text, so the budget counts the bytes really held (plus a
/// fixed cost per record and per item id, see [`Usage`]). Time is passed in to the `*_at`
/// methods (the [`ResponseStore`] methods pass `Instant::now()`), so eviction and expiry are
/// tested without sleeping.
///
/// ```
/// use std::time::{Duration, Instant};
/// use byok_store::MemoryStore;
/// use byok_translate::StoredResponse;
/// use byok_types::ClientId;
/// use serde_json::json;
///
/// let store = MemoryStore::builder().ttl(Duration::from_secs(60)).build();
/// let client = ClientId::local();
/// let start = Instant::now();
/// let record = StoredResponse::new(vec![], json!({"id": "resp_1", "output": []})).unwrap();
/// store.put_at(&client, &record, start).unwrap();
/// assert!(store.get_at(&client, "resp_1", start + Duration::from_secs(59)).unwrap().is_some());
/// assert!(store.get_at(&client, "resp_1", start + Duration::from_secs(60)).unwrap().is_none());
/// ```
#[derive(bon::Builder)]
pub struct MemoryStore {
    /// The memory budget in bytes (default 256 MiB).
    #[builder(default = DEFAULT_BUDGET_BYTES)]
    budget_bytes: usize,
    /// How long a record is kept after it was stored (default 24 h).
    #[builder(default = DEFAULT_TTL)]
    ttl: Duration,
    #[builder(skip)]
    inner: Mutex<Inner>,
}

/// How full a [`MemoryStore`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Records kept.
    pub responses: usize,
    /// Bytes they take by the store's count: JSON text, ids, and a fixed cost per record
    /// and per item id. Never more than the budget.
    pub bytes: usize,
}

/// A record's key: the client it belongs to, and its response id.
type Key = (ClientId, Box<str>);

#[derive(Default)]
struct Inner {
    records: HashMap<Key, Entry>,
    /// The records by last use, oldest first (the value of `Entry::used`).
    recency: BTreeMap<u64, Key>,
    /// Item ids to the responses that hold the item, most recent last, per client (the AI SDK
    /// sends items back, so a later response holds them too).
    items: HashMap<Key, Vec<Box<str>>>,
    /// The next value of the recency clock.
    tick: u64,
    bytes: usize,
}

struct Entry {
    /// The record as JSON text (`StoredResponse`'s serialized form).
    json: Box<str>,
    item_ids: Vec<Box<str>>,
    expires: Instant,
    used: u64,
    cost: usize,
}

impl MemoryStore {
    /// The budget this store keeps within, in bytes.
    pub fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }

    /// How many records it holds and the bytes they take.
    pub fn usage(&self) -> Usage {
        let inner = self.lock();
        Usage {
            responses: inner.records.len(),
            bytes: inner.bytes,
        }
    }

    /// [`ResponseStore::put`] at time `now`.
    pub fn put_at(
        &self,
        client: &ClientId,
        response: &StoredResponse,
        now: Instant,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(response)
            .map_err(|err| StoreError::Corrupt {
                id: response.id().to_owned(),
                reason: err.to_string(),
            })?
            .into_boxed_str();
        let item_ids: Vec<Box<str>> = response.item_ids().map(Box::from).collect();
        let id = response.id();
        let cost = ENTRY_OVERHEAD
            + json.len()
            + 2 * (client.as_str().len() + id.len())
            + item_ids
                .iter()
                .map(|item| ITEM_OVERHEAD + 2 * item.len() + client.as_str().len() + id.len())
                .sum::<usize>();
        if cost > self.budget_bytes {
            return Err(StoreError::TooLarge {
                id: id.to_owned(),
                bytes: cost,
                budget: self.budget_bytes,
            });
        }
        let key: Key = (client.clone(), id.into());
        let mut inner = self.lock();
        inner.remove(&key);
        while inner.bytes + cost > self.budget_bytes {
            let Some((_, oldest)) = inner.recency.pop_first() else {
                break;
            };
            inner.remove(&oldest);
        }
        for item in &item_ids {
            let holders = inner
                .items
                .entry((client.clone(), item.clone()))
                .or_default();
            if !holders.contains(&key.1) {
                holders.push(key.1.clone());
            }
        }
        let used = inner.touch(&key);
        inner.bytes += cost;
        inner.records.insert(
            key,
            Entry {
                json,
                item_ids,
                expires: now + self.ttl,
                used,
                cost,
            },
        );
        Ok(())
    }

    /// [`ResponseStore::get`] at time `now` (a use: the record becomes the most recent).
    pub fn get_at(
        &self,
        client: &ClientId,
        id: &str,
        now: Instant,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let Some(json) = self.lock().use_record(&(client.clone(), id.into()), now) else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|err| StoreError::Corrupt {
                id: id.to_owned(),
                reason: err.to_string(),
            })
    }

    /// [`ResponseStore::item`] at time `now` (a use of the response that holds it).
    pub fn item_at(
        &self,
        client: &ClientId,
        id: &str,
        now: Instant,
    ) -> Result<Option<Value>, StoreError> {
        let Some(newest) = self
            .lock()
            .items
            .get(&(client.clone(), id.into()))
            .and_then(|holders| holders.last().cloned())
        else {
            return Ok(None);
        };
        // An expired holder drops out of the index as it is read: then the next one answers.
        match self.get_at(client, &newest, now)? {
            Some(record) => Ok(record.item(id).cloned()),
            None => self.item_at(client, id, now),
        }
    }

    /// [`ResponseStore::delete`].
    pub fn delete_now(&self, client: &ClientId, id: &str) -> bool {
        self.lock().remove(&(client.clone(), id.into()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent at every await-free step, so a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Moves `key` to the most recent end of the order; its new place.
    fn touch(&mut self, key: &Key) -> u64 {
        if let Some(entry) = self.records.get(key) {
            self.recency.remove(&entry.used);
        }
        let used = self.tick;
        self.tick += 1;
        self.recency.insert(used, key.clone());
        used
    }

    /// The JSON of a live record, marked as used; an expired one is dropped.
    fn use_record(&mut self, key: &Key, now: Instant) -> Option<Box<str>> {
        let expires = self.records.get(key)?.expires;
        if now >= expires {
            self.remove(key);
            return None;
        }
        let used = self.touch(key);
        let entry = self.records.get_mut(key)?;
        entry.used = used;
        Some(entry.json.clone())
    }

    /// Forgets a record and its items; whether it was there.
    fn remove(&mut self, key: &Key) -> bool {
        let Some(entry) = self.records.remove(key) else {
            return false;
        };
        self.recency.remove(&entry.used);
        self.bytes -= entry.cost;
        for item in entry.item_ids {
            let item_key = (key.0.clone(), item);
            if let Some(holders) = self.items.get_mut(&item_key) {
                holders.retain(|holder| *holder != key.1);
                if holders.is_empty() {
                    self.items.remove(&item_key);
                }
            }
        }
        true
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("budget_bytes", &self.budget_bytes)
            .field("ttl", &self.ttl)
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ResponseStore for MemoryStore {
    async fn put(&self, client: &ClientId, response: &StoredResponse) -> Result<(), StoreError> {
        self.put_at(client, response, Instant::now())
    }

    async fn get(&self, client: &ClientId, id: &str) -> Result<Option<StoredResponse>, StoreError> {
        self.get_at(client, id, Instant::now())
    }

    async fn item(&self, client: &ClientId, id: &str) -> Result<Option<Value>, StoreError> {
        self.item_at(client, id, Instant::now())
    }

    async fn delete(&self, client: &ClientId, id: &str) -> Result<bool, StoreError> {
        Ok(self.delete_now(client, id))
    }
}
