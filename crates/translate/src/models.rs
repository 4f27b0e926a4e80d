//! Model aliases: `gpt-5-codex-high` is the model `gpt-5-codex` at reasoning effort `high`.
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
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEntry {
    /// The model id the upstream knows (the catalog's `slug`), e.g. `gpt-5-codex`.
    pub id: String,
    /// The efforts it takes (the catalog's `supported_reasoning_levels[].effort`).
    pub efforts: Vec<String>,
}

impl ModelEntry {
    /// An entry for `id` taking `efforts`.
    pub fn new<S: Into<String>>(
        id: impl Into<String>,
        efforts: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            id: id.into(),
            efforts: efforts.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the model takes `effort`.
    pub fn takes(&self, effort: &str) -> bool {
        self.efforts.iter().any(|e| e == effort)
    }
}

/// The efforts byok has always offered as aliases of the Codex models.
const CLASSIC: [&str; 4] = ["minimal", "low", "medium", "high"];
/// The same and `xhigh`, for the models that take it.
const WITH_XHIGH: [&str; 5] = ["minimal", "low", "medium", "high", "xhigh"];

/// The models the ChatGPT Codex backend serves, for when its live catalog cannot be asked.
/// Never empty; holds `o4-mini`.
pub fn bundled_models() -> &'static [ModelEntry] {
    static BUNDLED: LazyLock<Vec<ModelEntry>> = LazyLock::new(|| {
        let classic = [
            "gpt-5",
            "gpt-5-codex",
            "gpt-5-codex-mini",
            "gpt-5.1",
            "gpt-5.1-codex",
            "gpt-5.1-codex-mini",
            "codex-mini-latest",
            "o3",
            "o4-mini",
        ];
        let with_xhigh = ["gpt-5.1-codex-max", "gpt-5.2", "gpt-5.2-codex", "gpt-5.5"];
        classic
            .iter()
            .map(|id| ModelEntry::new(*id, CLASSIC))
            .chain(with_xhigh.iter().map(|id| ModelEntry::new(*id, WITH_XHIGH)))
            .collect()
    });
    &BUNDLED
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

/// Every id the catalog answers to: each model, then its aliases (`MODEL-EFFORT`).
///
/// ```
/// use byok_translate::{ModelEntry, model_ids};
/// let ids = model_ids(&[ModelEntry::new("o3", ["low"])]);
/// assert_eq!(ids, ["o3", "o3-low"]);
/// ```
pub fn model_ids(catalog: &[ModelEntry]) -> Vec<String> {
    let mut ids = Vec::new();
    for entry in catalog {
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
/// let mut chat = json!({"model": "gpt-5-codex-high"});
/// resolve_chat_alias(&mut chat, bundled_models()).unwrap();
/// assert_eq!(chat, json!({"model": "gpt-5-codex", "reasoning_effort": "high"}));
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
/// let mut body = json!({"model": "gpt-5-minimal", "reasoning": {"summary": "auto"}});
/// resolve_responses_alias(&mut body, bundled_models()).unwrap();
/// assert_eq!(body, json!({"model": "gpt-5", "reasoning": {"summary": "auto", "effort": "minimal"}}));
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
            "gpt-5",
            "gpt-5-codex",
            "o3",
            "o4-mini",
            "gpt-5-codex-high",
            "gpt-5-minimal",
            "gpt-5.5-xhigh",
        ] {
            assert!(ids.iter().any(|m| m == id), "{id} missing");
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
        let mut chat = json!({"model": "o3-low", "reasoning_effort": "high"});
        resolve_chat_alias(&mut chat, catalog).unwrap();
        assert_eq!(chat, json!({"model": "o3", "reasoning_effort": "high"}));
        let mut unknown = json!({"model": "my-model-high"});
        resolve_responses_alias(&mut unknown, catalog).unwrap();
        assert_eq!(unknown, json!({"model": "my-model-high"}));
        let mut plain = json!({"model": "gpt-5-codex-mini"});
        resolve_responses_alias(&mut plain, catalog).unwrap();
        assert_eq!(plain, json!({"model": "gpt-5-codex-mini"}));
    }

    #[test]
    fn the_same_rule_for_chat_and_responses() {
        // `gpt-5-xhigh` once meant `gpt-5` at xhigh on Chat and the unknown model
        // `gpt-5-xhigh` on `/v1/responses`; now both endpoints refuse it the same way.
        let catalog = bundled_models();
        let chat = resolve_chat_alias(&mut json!({"model": "gpt-5-xhigh"}), catalog).unwrap_err();
        let responses =
            resolve_responses_alias(&mut json!({"model": "gpt-5-xhigh"}), catalog).unwrap_err();
        assert_eq!(chat, responses);
        assert_eq!(chat.param(), Some("model"));
        assert!(
            chat.to_string().contains("minimal, low, medium, high"),
            "{chat}"
        );
        let mut chat = json!({"model": "gpt-5.2-xhigh"});
        resolve_chat_alias(&mut chat, catalog).unwrap();
        let mut responses = json!({"model": "gpt-5.2-xhigh"});
        resolve_responses_alias(&mut responses, catalog).unwrap();
        assert_eq!(chat["model"], responses["model"]);
        assert_eq!(chat["reasoning_effort"], responses["reasoning"]["effort"]);
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
