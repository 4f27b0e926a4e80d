//! Model aliases: `gpt-5.6-sol-high` is the model `gpt-5.6-sol` at reasoning effort `high`.
//!
//! One rule for every front (Chat Completions, `/v1/responses`, a model map such as the
//! Anthropic front's `opus = "gpt-5.5-high"`), decided against a model catalog passed in: the
//! bundled [`bundled_models`] list, or the live catalog the Codex backend serves
//! (`GET {codex_base}/models`, each model's `supported_reasoning_levels`). The rule:
//!
//! 1. an id the catalog holds is that model, whatever it ends with;
//! 2. else `MODEL-EFFORT` where the catalog holds `MODEL` and `MODEL` takes `EFFORT` is an alias;
//! 3. else `MODEL-EFFORT` where `EFFORT` is a known effort word that `MODEL` does not take is a
//!    mistake the client hears about (400 naming the efforts it does take);
//! 4. anything else is passed on unchanged (the upstream may know models byok does not).
//!
//! A client's own effort (`reasoning_effort`, `reasoning.effort`) wins over the suffix.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::error::TranslateError;

/// Every effort word a model id may end with; which ones a model takes is its catalog entry's.
pub const EFFORT_WORDS: [&str; 6] = ["none", "minimal", "low", "medium", "high", "xhigh"];

/// One model of a catalog and the reasoning efforts it takes (empty: it takes none).
///
/// ```
/// use byok_translate::ModelEntry;
/// let entry = ModelEntry::new("gpt-5.5", ["low", "medium", "high", "xhigh"]);
/// assert!(entry.takes("xhigh"));
/// assert!(!entry.hidden);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelEntry {
    /// The model id the upstream knows (the catalog's `slug`), e.g. `gpt-5.5`.
    pub id: String,
    /// The efforts it takes (the catalog's `supported_reasoning_levels[].effort`).
    pub efforts: Vec<String>,
    /// The effort the backend uses when none is asked for (`default_reasoning_level`).
    pub default_effort: Option<String>,
    /// The name the catalog shows people (`display_name`), if it gives one.
    pub display_name: Option<String>,
    /// The catalog's one-line description.
    pub description: Option<String>,
    /// Served but not listed (`visibility` other than `list`, e.g. `codex-auto-review`):
    /// left out of `/v1/models`, still accepted.
    pub hidden: bool,
}

impl ModelEntry {
    /// A listed entry for `id` taking `efforts`.
    pub fn new<S: Into<String>>(
        id: impl Into<String>,
        efforts: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            id: id.into(),
            efforts: efforts.into_iter().map(Into::into).collect(),
            default_effort: None,
            display_name: None,
            description: None,
            hidden: false,
        }
    }

    /// The same entry, served but not listed.
    #[must_use]
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// The same entry with the effort used when none is asked for.
    #[must_use]
    pub fn default_effort(mut self, effort: impl Into<String>) -> Self {
        self.default_effort = Some(effort.into());
        self
    }

    /// The same entry with the name and description people are shown.
    #[must_use]
    pub fn described(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self.description = Some(description.into());
        self
    }

    /// Whether the model takes `effort`.
    pub fn takes(&self, effort: &str) -> bool {
        self.efforts.iter().any(|e| e == effort)
    }
}

/// The models the ChatGPT Codex backend serves ChatGPT accounts as of 2026-12 (Codex CLI
/// 0.169.0, the version the recordings in `tests/data/codex-cli/chatgpt-mode/` were made
/// with), for when its live catalog cannot be asked. Never empty.
///
/// gpt-5.2 and gpt-5.3-codex were retired for ChatGPT accounts in 2026-06 and gpt-5.4 in
/// 2026-08, so they are not here. `o4-mini` stays because byok's contract promises it in the
/// fallback (DESIGN.md); the live catalog, once asked, decides.
pub fn bundled_models() -> &'static [ModelEntry] {
    static BUNDLED: LazyLock<Vec<ModelEntry>> = LazyLock::new(|| {
        const FULL: [&str; 4] = ["low", "medium", "high", "xhigh"];
        let model = |id: &str, name: &str, about: &str, efforts: &[&str]| {
            ModelEntry::new(id, efforts.iter().copied())
                .default_effort("medium")
                .described(name, about)
        };
        vec![
            model(
                "gpt-5.6-sol",
                "GPT-5.6 Sol",
                "Frontier agentic coding model.",
                &FULL,
            ),
            model(
                "gpt-5.6-terra",
                "GPT-5.6 Terra",
                "Balanced model for everyday coding.",
                &FULL,
            ),
            model(
                "gpt-5.6-luna",
                "GPT-5.6 Luna",
                "Fast, economical model.",
                &["low", "medium", "high"],
            ),
            model(
                "gpt-5.5",
                "GPT-5.5",
                "Strong general model for coding and reasoning.",
                &FULL,
            ),
            model(
                "gpt-5.3-codex-spark",
                "GPT-5.3-Codex-Spark",
                "Near-instant coding model.",
                &FULL,
            ),
            model(
                "codex-auto-review",
                "Codex Auto Review",
                "The model behind automatic reviews.",
                &["low", "medium", "high"],
            )
            .hidden(),
            model(
                "o4-mini",
                "o4-mini",
                "Kept for byok's contract; the live catalog decides.",
                &["low", "medium", "high"],
            ),
        ]
    });
    &BUNDLED
}

/// The entries of a Codex backend catalog, the answer of `GET {codex_base}/models`:
/// `{"models": [{"slug", "display_name", "description", "default_reasoning_level",
/// "supported_reasoning_levels": [{"effort"}], "visibility", "priority"}, ...]}`, in the
/// catalog's `priority` order (lowest first). `None` when `catalog` is not such an answer;
/// entries without a `slug` are skipped, efforts may also come as plain strings.
///
/// ```
/// use byok_translate::codex_catalog;
/// let answer = serde_json::json!({"models": [
///     {"slug": "b", "priority": 2, "visibility": "list", "supported_reasoning_levels": [{"effort": "high"}]},
///     {"slug": "a", "priority": 1, "visibility": "hide", "supported_reasoning_levels": ["low"]},
/// ]});
/// let entries = codex_catalog(&answer).unwrap();
/// assert_eq!(entries[0].id, "a");
/// assert!(entries[0].hidden && entries[0].takes("low"));
/// assert!(entries[1].takes("high"));
/// assert!(codex_catalog(&serde_json::json!({"detail": "no"})).is_none());
/// ```
pub fn codex_catalog(catalog: &Value) -> Option<Vec<ModelEntry>> {
    let models = catalog.get("models")?.as_array()?;
    let text = |model: &Value, key: &str| {
        model
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut entries: Vec<(i64, ModelEntry)> = models
        .iter()
        .filter_map(|model| {
            let id = text(model, "slug")?;
            let efforts = model
                .get("supported_reasoning_levels")
                .and_then(Value::as_array)
                .map(|levels| {
                    levels
                        .iter()
                        .filter_map(|level| {
                            level
                                .get("effort")
                                .and_then(Value::as_str)
                                .or_else(|| level.as_str())
                                .map(str::to_owned)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let visibility = model.get("visibility").and_then(Value::as_str);
            let entry = ModelEntry {
                id,
                efforts,
                default_effort: text(model, "default_reasoning_level"),
                display_name: text(model, "display_name"),
                description: text(model, "description"),
                hidden: visibility.is_some_and(|v| v != "list"),
            };
            let priority = model.get("priority").and_then(Value::as_i64).unwrap_or(0);
            Some((priority, entry))
        })
        .collect();
    // Stable: equal priorities keep the catalog's order.
    entries.sort_by_key(|(priority, _)| *priority);
    Some(entries.into_iter().map(|(_, entry)| entry).collect())
}

/// What a requested model id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedModel<'a> {
    /// The model to send upstream.
    pub model: &'a str,
    /// The effort an alias's suffix asks for, if the id is an alias.
    pub effort: Option<&'a str>,
}

/// Resolves `requested` against `catalog` by the rule in this module's docs.
///
/// ```
/// use byok_translate::{ModelEntry, ResolvedModel, resolve_model};
/// let catalog = [ModelEntry::new("gpt-5", ["low", "high"])];
/// assert_eq!(
///     resolve_model(&catalog, "gpt-5-high").unwrap(),
///     ResolvedModel { model: "gpt-5", effort: Some("high") }
/// );
/// assert_eq!(resolve_model(&catalog, "gpt-5").unwrap().effort, None);
/// assert_eq!(resolve_model(&catalog, "my-model-high").unwrap().model, "my-model-high");
/// assert!(resolve_model(&catalog, "gpt-5-xhigh").is_err());
/// ```
pub fn resolve_model<'a>(
    catalog: &[ModelEntry],
    requested: &'a str,
) -> Result<ResolvedModel<'a>, TranslateError> {
    let whole = ResolvedModel {
        model: requested,
        effort: None,
    };
    if catalog.iter().any(|entry| entry.id == requested) {
        return Ok(whole);
    }
    let Some((model, effort)) = requested.rsplit_once('-') else {
        return Ok(whole);
    };
    let Some(entry) = catalog.iter().find(|entry| entry.id == model) else {
        return Ok(whole);
    };
    if entry.takes(effort) {
        return Ok(ResolvedModel {
            model,
            effort: Some(effort),
        });
    }
    if EFFORT_WORDS.contains(&effort) {
        let takes = if entry.efforts.is_empty() {
            "no reasoning effort".to_owned()
        } else {
            format!("the efforts {}", entry.efforts.join(", "))
        };
        return Err(TranslateError::invalid(
            "model",
            format!(
                "`{requested}` asks `{model}` for reasoning effort `{effort}`, but it takes {takes}; \
                 `GET /v1/models` lists the aliases"
            ),
        ));
    }
    Ok(whole)
}

/// Every id the catalog lists: each model, then its aliases (`MODEL-EFFORT`); hidden models
/// are left out (they are still served).
///
/// ```
/// use byok_translate::{ModelEntry, model_ids};
/// let ids = model_ids(&[ModelEntry::new("o3", ["low"]), ModelEntry::new("secret", ["low"]).hidden()]);
/// assert_eq!(ids, ["o3", "o3-low"]);
/// ```
pub fn model_ids(catalog: &[ModelEntry]) -> Vec<String> {
    let mut ids = Vec::new();
    for entry in catalog.iter().filter(|entry| !entry.hidden) {
        ids.push(entry.id.clone());
        ids.extend(
            entry
                .efforts
                .iter()
                .map(|effort| format!("{}-{effort}", entry.id)),
        );
    }
    ids
}

/// Resolves an alias in a Chat Completions body: `model` becomes the real model and
/// `reasoning_effort` the suffix, unless the client set an effort itself.
///
/// ```
/// use byok_translate::{bundled_models, resolve_chat_alias};
/// use serde_json::json;
/// let mut chat = json!({"model": "gpt-5.6-sol-high"});
/// resolve_chat_alias(&mut chat, bundled_models()).unwrap();
/// assert_eq!(chat, json!({"model": "gpt-5.6-sol", "reasoning_effort": "high"}));
/// ```
pub fn resolve_chat_alias(body: &mut Value, catalog: &[ModelEntry]) -> Result<(), TranslateError> {
    if let Some((map, effort)) = resolve_in(body, catalog)? {
        map.entry("reasoning_effort").or_insert(effort);
    }
    Ok(())
}

/// Resolves an alias in a Responses body: `model` becomes the real model and
/// `reasoning.effort` the suffix, unless the client set an effort itself.
///
/// ```
/// use byok_translate::{bundled_models, resolve_responses_alias};
/// use serde_json::json;
/// let mut body = json!({"model": "gpt-5.5-xhigh", "reasoning": {"summary": "auto"}});
/// resolve_responses_alias(&mut body, bundled_models()).unwrap();
/// assert_eq!(body, json!({"model": "gpt-5.5", "reasoning": {"summary": "auto", "effort": "xhigh"}}));
/// ```
pub fn resolve_responses_alias(
    body: &mut Value,
    catalog: &[ModelEntry],
) -> Result<(), TranslateError> {
    if let Some((map, effort)) = resolve_in(body, catalog)? {
        let reasoning = map
            .entry("reasoning")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(reasoning) = reasoning.as_object_mut() {
            reasoning.entry("effort").or_insert(effort);
        }
    }
    Ok(())
}

/// A body's fields and the effort its alias asked for.
type Aliased<'b> = (&'b mut Map<String, Value>, Value);

/// Replaces an aliased `model` in `body` by the real model; returns the body's fields and the
/// alias's effort, or `None` (and leaves the body alone) when the model is no alias.
fn resolve_in<'b>(
    body: &'b mut Value,
    catalog: &[ModelEntry],
) -> Result<Option<Aliased<'b>>, TranslateError> {
    let Some(map) = body.as_object_mut() else {
        return Ok(None);
    };
    let Some(requested) = map.get("model").and_then(Value::as_str) else {
        return Ok(None);
    };
    let resolved = resolve_model(catalog, requested)?;
    let Some(effort) = resolved.effort else {
        return Ok(None);
    };
    let (model, effort) = (resolved.model.to_owned(), effort.to_owned());
    map.insert("model".into(), Value::String(model));
    Ok(Some((map, Value::String(effort))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bundled_catalog_lists_models_and_aliases() {
        let ids = model_ids(bundled_models());
        for id in [
            "gpt-5.6-sol",
            "gpt-5.6-sol-xhigh",
            "gpt-5.6-luna-low",
            "gpt-5.5",
            "gpt-5.5-high",
            "gpt-5.3-codex-spark",
            "o4-mini",
        ] {
            assert!(ids.iter().any(|m| m == id), "{id} missing");
        }
        for retired in ["gpt-5.2", "gpt-5.3-codex", "gpt-5.4", "codex-auto-review"] {
            assert!(!ids.iter().any(|m| m == retired), "{retired} listed");
        }
        for id in &ids {
            let resolved = resolve_model(bundled_models(), id).unwrap();
            assert!(
                bundled_models().iter().any(|e| e.id == resolved.model),
                "{id} resolves to no model"
            );
        }
    }

    #[test]
    fn aliases_become_model_and_effort_unless_the_client_chose() {
        let catalog = bundled_models();
        let mut chat = json!({"model": "o4-mini-low", "reasoning_effort": "high"});
        resolve_chat_alias(&mut chat, catalog).unwrap();
        assert_eq!(
            chat,
            json!({"model": "o4-mini", "reasoning_effort": "high"})
        );
        let mut unknown = json!({"model": "my-model-high"});
        resolve_responses_alias(&mut unknown, catalog).unwrap();
        assert_eq!(unknown, json!({"model": "my-model-high"}));
        let mut plain = json!({"model": "gpt-5.3-codex-spark"});
        resolve_responses_alias(&mut plain, catalog).unwrap();
        assert_eq!(plain, json!({"model": "gpt-5.3-codex-spark"}));
        // A hidden model is served: its aliases resolve.
        let mut hidden = json!({"model": "codex-auto-review-high"});
        resolve_responses_alias(&mut hidden, catalog).unwrap();
        assert_eq!(hidden["model"], "codex-auto-review");
    }

    #[test]
    fn the_same_rule_for_chat_and_responses() {
        // `gpt-5-xhigh` once meant `gpt-5` at xhigh on Chat and the unknown model
        // `gpt-5-xhigh` on `/v1/responses`; now both endpoints decide alike.
        let catalog = bundled_models();
        let chat =
            resolve_chat_alias(&mut json!({"model": "gpt-5.6-luna-xhigh"}), catalog).unwrap_err();
        let responses =
            resolve_responses_alias(&mut json!({"model": "gpt-5.6-luna-xhigh"}), catalog)
                .unwrap_err();
        assert_eq!(chat, responses);
        assert_eq!(chat.param(), Some("model"));
        assert!(chat.to_string().contains("low, medium, high"), "{chat}");
        let mut chat = json!({"model": "gpt-5.6-sol-xhigh"});
        resolve_chat_alias(&mut chat, catalog).unwrap();
        let mut responses = json!({"model": "gpt-5.6-sol-xhigh"});
        resolve_responses_alias(&mut responses, catalog).unwrap();
        assert_eq!(chat["model"], responses["model"]);
        assert_eq!(chat["reasoning_effort"], responses["reasoning"]["effort"]);
    }

    #[test]
    fn efforts_come_from_the_catalog_so_none_and_xhigh_work_where_offered() {
        let answer = json!({"models": [
            {"slug": "gpt-9", "priority": 1, "visibility": "list", "default_reasoning_level": "medium",
             "supported_reasoning_levels": [{"effort": "none"}, {"effort": "medium"}, {"effort": "xhigh"}]},
        ]});
        let catalog = codex_catalog(&answer).unwrap();
        assert_eq!(
            model_ids(&catalog),
            ["gpt-9", "gpt-9-none", "gpt-9-medium", "gpt-9-xhigh"]
        );
        assert_eq!(
            resolve_model(&catalog, "gpt-9-none").unwrap().effort,
            Some("none")
        );
        assert!(resolve_model(&catalog, "gpt-9-high").is_err());
        assert_eq!(catalog[0].default_effort.as_deref(), Some("medium"));
    }

    #[test]
    fn a_catalog_id_that_looks_like_an_alias_is_a_model() {
        let catalog = [
            ModelEntry::new("gpt-9", ["low"]),
            ModelEntry::new("gpt-9-low", Vec::<String>::new()),
        ];
        assert_eq!(resolve_model(&catalog, "gpt-9-low").unwrap().effort, None);
        assert_eq!(resolve_model(&catalog, "high").unwrap().model, "high");
    }
}
