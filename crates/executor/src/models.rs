//! The model catalog an executor resolves aliases against and lists.
//!
//! The alias rule itself is byok-translate's ([`byok_translate::resolve_model`]): one rule for
//! Chat, `/v1/responses` and any model map. This module holds the catalogs it is applied to:
//! per signed-in ChatGPT account, the live one the Codex backend served
//! (`GET {codex_base}/models`, fetched by `codex/catalog.rs`), and the bundled list
//! ([`byok_translate::bundled_models`]) while no account's catalog is known. The live catalogs
//! are kept in `$BYOK_HOME/models_cache.json`, so a restart knows them before it asks again.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use byok_translate::{ModelEntry, bundled_models, codex_catalog, model_ids};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Chat models the OpenAI API serves besides the Codex ones, listed in API-key mode.
const OPENAI_ONLY_MODELS: &[&str] = &["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"];

/// The name of the cache file in `$BYOK_HOME`.
pub const MODELS_CACHE_FILE: &str = "models_cache.json";

/// One account's live catalog, as the backend last served it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountModels {
    /// The models, in the catalog's order; hidden ones included (they are served).
    pub models: Arc<[ModelEntry]>,
    /// The catalog's version tag (`x-models-etag`): the backend's answers carry the tag of the
    /// catalog they were served with, so a changed tag says the catalog changed.
    pub etag: Option<String>,
    /// When it was fetched (or last confirmed by a matching tag), in Unix seconds.
    pub fetched_at: i64,
    /// The `client_version` it was asked with: the backend gates models on it.
    pub client_version: String,
}

impl AccountModels {
    /// A catalog fetched at `fetched_at` with `client_version`.
    pub fn new(
        models: Vec<ModelEntry>,
        etag: Option<String>,
        fetched_at: i64,
        client_version: impl Into<String>,
    ) -> Self {
        Self {
            models: models.into(),
            etag,
            fetched_at,
            client_version: client_version.into(),
        }
    }

    /// The catalog as a team shares it, in the backend's shape (as the cache file keeps it).
    pub(crate) fn to_shared(&self) -> byok_types::SharedCatalog {
        byok_types::SharedCatalog::new(
            catalog_json(&self.models),
            self.etag.clone(),
            self.fetched_at,
            self.client_version.clone(),
        )
    }

    /// A catalog a team's instance shared; none if it lists no model byok can read.
    pub(crate) fn from_shared(shared: byok_types::SharedCatalog) -> Option<Self> {
        let models = codex_catalog(&shared.catalog).filter(|m| !m.is_empty())?;
        Some(Self::new(
            models,
            shared.etag,
            shared.fetched_at,
            shared.client_version,
        ))
    }
}

/// The catalogs in use; each read is one lock and an `Arc` clone.
#[derive(Debug, Default)]
pub struct ModelCatalog {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Account name -> its live catalog.
    accounts: BTreeMap<String, AccountModels>,
    /// The models any account's live catalog holds (the first account's order, then what
    /// the others add); `None` while no live catalog is known.
    merged: Option<Arc<[ModelEntry]>>,
}

impl State {
    fn merge(&mut self) {
        let mut merged: Vec<ModelEntry> = Vec::new();
        for catalog in self.accounts.values() {
            for entry in catalog.models.iter() {
                if !merged.iter().any(|known| known.id == entry.id) {
                    merged.push(entry.clone());
                }
            }
        }
        self.merged = (!merged.is_empty()).then(|| merged.into());
    }
}

impl ModelCatalog {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The catalog requests are resolved against: what the signed-in accounts' live catalogs
    /// hold, or the bundled list while none is known.
    pub fn get(&self) -> Arc<[ModelEntry]> {
        self.read().merged.clone().unwrap_or_else(|| {
            // Built once: a copy per call cost ~22k instructions of every request (callgrind).
            static BUNDLED: LazyLock<Arc<[ModelEntry]>> = LazyLock::new(|| bundled_models().into());
            Arc::clone(&BUNDLED)
        })
    }

    /// Whether some account's live catalog is known (then a model none of them holds is
    /// refused; with the bundled list the backend decides).
    pub fn is_live(&self) -> bool {
        self.read().merged.is_some()
    }

    /// The live catalog of `account`, if known.
    pub fn account(&self, account: &str) -> Option<AccountModels> {
        self.read().accounts.get(account).cloned()
    }

    /// Every account's live catalog, by account name.
    pub fn accounts(&self) -> Vec<(String, AccountModels)> {
        self.read()
            .accounts
            .iter()
            .map(|(name, models)| (name.clone(), models.clone()))
            .collect()
    }

    /// Takes `models` as `account`'s live catalog (an empty one is ignored: the backend
    /// serves no account nothing, so it is a broken answer).
    pub fn set(&self, account: &str, models: AccountModels) {
        if models.models.is_empty() {
            return;
        }
        let mut state = self.write();
        state.accounts.insert(account.to_owned(), models);
        state.merge();
    }

    /// Marks `account`'s catalog as still current at `now` (an answer carried its tag).
    pub(crate) fn confirm(&self, account: &str, now: i64) {
        if let Some(models) = self.write().accounts.get_mut(account) {
            models.fetched_at = now;
        }
    }

    /// Forgets the accounts not in `accounts` (signed out).
    pub(crate) fn keep_only(&self, accounts: &[String]) {
        let mut state = self.write();
        let before = state.accounts.len();
        state.accounts.retain(|name, _| accounts.contains(name));
        if state.accounts.len() != before {
            state.merge();
        }
    }

    /// Whether `account` may be asked for `model`: its live catalog holds it, or none is
    /// known for it.
    pub(crate) fn serves(&self, account: &str, model: &str) -> bool {
        self.read()
            .accounts
            .get(account)
            .is_none_or(|catalog| catalog.models.iter().any(|entry| entry.id == model))
    }

    /// The listed models of the catalog in use, for an error that names them.
    pub(crate) fn listed(&self) -> Vec<String> {
        self.get()
            .iter()
            .filter(|entry| !entry.hidden)
            .map(|entry| entry.id.clone())
            .collect()
    }

    /// The model ids to list for one upstream, aliases included, hidden models left out:
    /// never empty.
    pub(crate) fn ids(&self, openai_api: bool) -> Vec<String> {
        let mut ids = model_ids(&self.get());
        if openai_api {
            ids.extend(OPENAI_ONLY_MODELS.iter().map(|m| (*m).to_owned()));
        }
        if ids.is_empty() {
            ids = model_ids(bundled_models());
        }
        ids
    }

    /// Reads the catalogs kept in `path` (a missing or unreadable file is no catalog: they
    /// are asked for again).
    pub fn load(&self, path: &Path) {
        let Ok(text) = std::fs::read(path) else {
            return;
        };
        let Ok(file) = serde_json::from_slice::<CacheFile>(&text) else {
            tracing::warn!(path = %path.display(), "the models cache is not byok's; it is asked for again");
            return;
        };
        let mut state = self.write();
        for (account, cached) in file.accounts {
            let Some(models) = codex_catalog(&cached.catalog).filter(|m| !m.is_empty()) else {
                continue;
            };
            state.accounts.insert(
                account,
                AccountModels::new(
                    models,
                    cached.etag,
                    cached.fetched_at,
                    cached.client_version,
                ),
            );
        }
        state.merge();
    }

    /// Writes the live catalogs to `path`, atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let file = CacheFile {
            accounts: self
                .read()
                .accounts
                .iter()
                .map(|(account, models)| {
                    let cached = Cached {
                        fetched_at: models.fetched_at,
                        etag: models.etag.clone(),
                        client_version: models.client_version.clone(),
                        catalog: catalog_json(&models.models),
                    };
                    (account.clone(), cached)
                })
                .collect(),
        };
        let text = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, path)
    }
}

/// `$BYOK_HOME/models_cache.json`: per account, the catalog in the backend's own shape (so the
/// one parser reads both), with when, under which tag and for which client version.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    accounts: BTreeMap<String, Cached>,
}

#[derive(Serialize, Deserialize)]
struct Cached {
    fetched_at: i64,
    #[serde(default)]
    etag: Option<String>,
    client_version: String,
    catalog: Value,
}

/// Entries in the shape of the backend's answer (the fields byok reads).
fn catalog_json(models: &[ModelEntry]) -> Value {
    let models: Vec<Value> = models
        .iter()
        .zip(0..)
        .map(|(entry, priority): (&ModelEntry, i64)| {
            json!({
                "slug": entry.id,
                "display_name": entry.display_name,
                "description": entry.description,
                "default_reasoning_level": entry.default_effort,
                "supported_reasoning_levels": entry.efforts.iter().map(|e| json!({"effort": e})).collect::<Vec<_>>(),
                "visibility": if entry.hidden { "hide" } else { "list" },
                "priority": priority,
            })
        })
        .collect();
    json!({ "models": models })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(ids: &[&str]) -> AccountModels {
        AccountModels::new(
            ids.iter()
                .map(|id| ModelEntry::new(*id, ["low", "high"]))
                .collect(),
            Some("etag-1".into()),
            1_000,
            "0.169.0",
        )
    }

    #[test]
    fn the_bundled_list_until_a_live_catalog_is_known() {
        let catalog = ModelCatalog::default();
        assert!(!catalog.is_live());
        for openai_api in [false, true] {
            let ids = catalog.ids(openai_api);
            for id in ["gpt-5.6-sol", "o4-mini", "gpt-5.5-xhigh"] {
                assert!(ids.iter().any(|m| m == id), "{id} missing");
            }
            assert_eq!(ids.iter().any(|m| m == "gpt-4o"), openai_api);
            assert!(!ids.iter().any(|m| m == "codex-auto-review"), "hidden");
        }
        assert!(catalog.serves("anyone", "anything"));
    }

    #[test]
    fn live_catalogs_are_merged_and_decide_per_account() {
        let catalog = ModelCatalog::default();
        catalog.set("a", live(&["gpt-9", "gpt-8"]));
        catalog.set("b", live(&["gpt-8", "gpt-7"]));
        catalog.set("c", AccountModels::new(Vec::new(), None, 0, "0.169.0"));
        assert!(catalog.is_live());
        assert_eq!(catalog.listed(), ["gpt-9", "gpt-8", "gpt-7"]);
        assert_eq!(
            catalog.ids(false)[..3],
            ["gpt-9", "gpt-9-low", "gpt-9-high"]
        );
        assert!(catalog.serves("a", "gpt-9") && !catalog.serves("b", "gpt-9"));
        assert!(
            catalog.serves("c", "gpt-9"),
            "no live catalog: the backend decides"
        );
        catalog.keep_only(&["b".into()]);
        assert_eq!(catalog.listed(), ["gpt-8", "gpt-7"]);
    }

    #[test]
    fn the_cache_file_keeps_what_was_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODELS_CACHE_FILE);
        let catalog = ModelCatalog::default();
        let mut models = live(&["gpt-9"]);
        models.models = vec![
            ModelEntry::new("gpt-9", ["none", "xhigh"]).default_effort("xhigh"),
            ModelEntry::new("review", ["low"]).hidden(),
        ]
        .into();
        catalog.set("me", models.clone());
        catalog.save(&path).unwrap();

        let again = ModelCatalog::default();
        again.load(&path);
        assert_eq!(again.account("me"), Some(models));
        assert_eq!(again.ids(false), ["gpt-9", "gpt-9-none", "gpt-9-xhigh"]);

        std::fs::write(&path, "not json").unwrap();
        let broken = ModelCatalog::default();
        broken.load(&path);
        assert!(!broken.is_live());
    }
}
