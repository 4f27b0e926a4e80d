//! Which upstream model answers a request that names a Claude model.

use std::borrow::Cow;

/// The GPT models (or aliases, such as `gpt-5.5-high`) that stand in for Claude's families.
///
/// Anthropic clients name Claude models (`claude-sonnet-4-5-20250929`, `claude-opus-4-1`,
/// `claude-3-5-haiku-latest`): each maps by the family its name contains. GPT model names
/// (anything not starting with `claude-`) pass as they are, so a client may also ask for
/// `gpt-5.5` directly.
///
/// The defaults use `gpt-5.5`, the model of the Codex CLI 0.169 recordings
/// (`tests/data/codex-cli-README.md`), at three reasoning efforts: the effort suffix is
/// resolved later, like any alias.
///
/// ```
/// use byok_translate::ClaudeModels;
///
/// let models = ClaudeModels::default();
/// assert_eq!(models.resolve("claude-opus-4-1-20250805").as_deref(), Some("gpt-5.5-high"));
/// assert_eq!(models.resolve("claude-3-5-haiku-latest").as_deref(), Some("gpt-5.5-low"));
/// assert_eq!(models.resolve("gpt-5.1-codex").as_deref(), Some("gpt-5.1-codex"));
/// assert_eq!(models.resolve("claude-2.1"), None); // no family: the client gets a 404
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaudeModels {
    /// What `claude-*opus*` names map to.
    pub opus: String,
    /// What `claude-*sonnet*` names map to.
    pub sonnet: String,
    /// What `claude-*haiku*` names map to.
    pub haiku: String,
}

impl Default for ClaudeModels {
    fn default() -> Self {
        Self {
            opus: "gpt-5.5-high".into(),
            sonnet: "gpt-5.5-medium".into(),
            haiku: "gpt-5.5-low".into(),
        }
    }
}

impl ClaudeModels {
    /// The model to ask the upstream for, or `None` for a Claude name of no known family.
    pub fn resolve<'a>(&'a self, requested: &'a str) -> Option<Cow<'a, str>> {
        let lower = requested.to_ascii_lowercase();
        if !lower.starts_with("claude-") {
            return Some(Cow::Borrowed(requested));
        }
        let family = if lower.contains("opus") {
            &self.opus
        } else if lower.contains("sonnet") {
            &self.sonnet
        } else if lower.contains("haiku") {
            &self.haiku
        } else {
            return None;
        };
        Some(Cow::Borrowed(family.as_str()))
    }
}
