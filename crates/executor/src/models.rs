//! The models each upstream serves, and the effort-suffixed aliases byok adds.

use serde_json::Value;

/// The models the ChatGPT Codex backend serves to a ChatGPT sign-in.
pub const CODEX_MODELS: &[&str] = &[
    "gpt-5",
    "gpt-5-codex",
    "gpt-5-codex-mini",
    "gpt-5.1",
    "gpt-5.1-codex",
    "gpt-5.1-codex-mini",
    "gpt-5.1-codex-max",
    "gpt-5.2",
    "gpt-5.2-codex",
    "codex-mini-latest",
    "o3",
    "o4-mini",
];

/// Chat models the OpenAI API serves besides the Codex ones, listed in API-key mode.
const OPENAI_ONLY_MODELS: &[&str] = &["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"];

/// Reasoning efforts a model id may carry as a suffix: `gpt-5-codex-high`.
pub const EFFORTS: &[&str] = &["minimal", "low", "medium", "high"];

/// An alias such as `gpt-5-codex-high` split into the model and the reasoning effort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alias<'a> {
    /// The model the upstream knows, e.g. `gpt-5-codex`.
    pub model: &'a str,
    /// The reasoning effort, e.g. `high`.
    pub effort: &'a str,
}

/// Splits an effort-suffixed alias of a known model; `None` for anything else (including an
/// unknown model that happens to end in `-high`, which is passed on as it is).
///
/// ```
/// use byok_executor::models::{split_alias, Alias};
/// assert_eq!(split_alias("gpt-5-codex-high"), Some(Alias { model: "gpt-5-codex", effort: "high" }));
/// assert_eq!(split_alias("gpt-5-codex"), None);
/// ```
pub fn split_alias(id: &str) -> Option<Alias<'_>> {
    let (model, effort) = id.rsplit_once('-')?;
    (EFFORTS.contains(&effort) && is_reasoning_model(model)).then_some(Alias { model, effort })
}

/// Whether `model` is a reasoning model that takes an effort (the gpt-5 family, o3, o4-mini).
fn is_reasoning_model(model: &str) -> bool {
    CODEX_MODELS.contains(&model)
}

/// Resolves an alias in a Chat Completions body: `model` becomes the real model and
/// `reasoning_effort` the suffix, unless the client set an effort itself.
pub(crate) fn apply_chat_alias(body: &mut Value) {
    if let Some((map, effort)) = resolve_alias(body) {
        map.entry("reasoning_effort").or_insert(effort);
    }
}

/// Resolves an alias in a Responses body: `model` becomes the real model and
/// `reasoning.effort` the suffix, unless the client set an effort itself.
pub(crate) fn apply_responses_alias(body: &mut Value) {
    if let Some((map, effort)) = resolve_alias(body) {
        let reasoning = map
            .entry("reasoning")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(reasoning) = reasoning.as_object_mut() {
            reasoning.entry("effort").or_insert(effort);
        }
    }
}

/// Replaces an aliased `model` in `body` by the real model; returns the body's fields and the
/// alias's effort, or `None` (and leaves the body alone) when the model is no alias.
fn resolve_alias(body: &mut Value) -> Option<(&mut serde_json::Map<String, Value>, Value)> {
    let map = body.as_object_mut()?;
    let alias = map
        .get("model")
        .and_then(Value::as_str)
        .and_then(split_alias)?;
    let (model, effort) = (alias.model.to_owned(), alias.effort.to_owned());
    map.insert("model".into(), Value::String(model));
    Some((map, Value::String(effort)))
}

/// The model ids to list for one upstream, aliases included: never empty, `o4-mini` always in.
pub(crate) fn supported(openai_api: bool) -> Vec<String> {
    let mut ids = Vec::new();
    for model in CODEX_MODELS {
        ids.push((*model).to_owned());
        ids.extend(EFFORTS.iter().map(|effort| format!("{model}-{effort}")));
    }
    if openai_api {
        ids.extend(OPENAI_ONLY_MODELS.iter().map(|m| (*m).to_owned()));
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_codex_family_and_aliases() {
        for openai_api in [false, true] {
            let ids = supported(openai_api);
            for id in [
                "gpt-5",
                "gpt-5-codex",
                "o3",
                "o4-mini",
                "gpt-5-codex-high",
                "gpt-5-minimal",
            ] {
                assert!(ids.iter().any(|m| m == id), "{id} missing");
            }
            assert_eq!(ids.iter().any(|m| m == "gpt-4o"), openai_api);
            for id in &ids {
                assert!(
                    CODEX_MODELS.contains(&id.as_str())
                        || OPENAI_ONLY_MODELS.contains(&id.as_str())
                        || split_alias(id).is_some(),
                    "{id} is neither a model nor an alias"
                );
            }
        }
    }

    #[test]
    fn aliases_become_model_and_effort_unless_the_client_chose() {
        let mut chat = serde_json::json!({"model": "gpt-5-codex-high"});
        apply_chat_alias(&mut chat);
        assert_eq!(
            chat,
            serde_json::json!({"model": "gpt-5-codex", "reasoning_effort": "high"})
        );
        let mut chat = serde_json::json!({"model": "o3-low", "reasoning_effort": "high"});
        apply_chat_alias(&mut chat);
        assert_eq!(
            chat,
            serde_json::json!({"model": "o3", "reasoning_effort": "high"})
        );
        let mut responses =
            serde_json::json!({"model": "gpt-5-minimal", "reasoning": {"summary": "auto"}});
        apply_responses_alias(&mut responses);
        assert_eq!(
            responses,
            serde_json::json!({"model": "gpt-5", "reasoning": {"summary": "auto", "effort": "minimal"}})
        );
        let mut unknown = serde_json::json!({"model": "my-model-high"});
        apply_responses_alias(&mut unknown);
        assert_eq!(unknown, serde_json::json!({"model": "my-model-high"}));
    }

    #[test]
    fn aliases_of_unknown_models_stay_whole() {
        assert_eq!(split_alias("my-model-high"), None);
        assert_eq!(split_alias("o4-mini"), None);
        assert_eq!(
            split_alias("o4-mini-low"),
            Some(Alias {
                model: "o4-mini",
                effort: "low"
            })
        );
    }
}
