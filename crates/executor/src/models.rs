//! The model catalog an executor resolves aliases against and lists.
//!
//! The alias rule itself is byok-translate's ([`byok_translate::resolve_model`]): one rule for
//! Chat, `/v1/responses` and any model map. This module only holds the catalog it is applied
//! to: the bundled list until a live one (the Codex backend's `GET /models`) replaces it.

use std::sync::{Arc, PoisonError, RwLock};

use byok_translate::{ModelEntry, bundled_models, model_ids};

/// Chat models the OpenAI API serves besides the Codex ones, listed in API-key mode.
const OPENAI_ONLY_MODELS: &[&str] = &["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"];

/// The catalog in use; swapped whole when a fresher one arrives, read once per request.
#[derive(Debug)]
pub struct ModelCatalog {
    current: RwLock<Arc<[ModelEntry]>>,
}

impl Default for ModelCatalog {
    fn default() -> Self {
        Self {
            current: RwLock::new(bundled_models().into()),
        }
    }
}

impl ModelCatalog {
    /// The catalog as it is now (a cheap clone of a shared list).
    pub fn get(&self) -> Arc<[ModelEntry]> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the catalog, e.g. with the live one the backend served. An empty list is
    /// ignored: the bundled one is better than none.
    pub fn replace(&self, models: Vec<ModelEntry>) {
        if models.is_empty() {
            return;
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = models.into();
    }

    /// The model ids to list for one upstream, aliases included: never empty.
    pub(crate) fn ids(&self, openai_api: bool) -> Vec<String> {
        let mut ids = model_ids(&self.get());
        if openai_api {
            ids.extend(OPENAI_ONLY_MODELS.iter().map(|m| (*m).to_owned()));
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_codex_family_and_aliases() {
        let catalog = ModelCatalog::default();
        for openai_api in [false, true] {
            let ids = catalog.ids(openai_api);
            for id in ["gpt-5", "o4-mini", "gpt-5-codex-high", "gpt-5-minimal"] {
                assert!(ids.iter().any(|m| m == id), "{id} missing");
            }
            assert_eq!(ids.iter().any(|m| m == "gpt-4o"), openai_api);
        }
    }

    #[test]
    fn a_live_catalog_replaces_the_bundled_one_but_never_with_nothing() {
        let catalog = ModelCatalog::default();
        catalog.replace(Vec::new());
        assert!(catalog.ids(false).iter().any(|m| m == "o4-mini"));
        catalog.replace(vec![ModelEntry::new("gpt-9", ["high"])]);
        assert_eq!(catalog.ids(false), ["gpt-9", "gpt-9-high"]);
    }
}
