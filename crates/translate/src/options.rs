//! The choices a caller makes about a translation.

/// Which Responses API a Chat request is translated for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    /// OpenAI's public `/v1/responses`: every field it accepts is kept.
    #[default]
    OpenAi,
    /// The ChatGPT Codex backend: `store: false`, `stream: true`, string `instructions`,
    /// encrypted reasoning included, and only the fields it accepts (an allowlist).
    Codex,
}

/// How reasoning text (summaries or raw reasoning) reaches a Chat client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReasoningMode {
    /// In `reasoning_content`, next to `content` (what most clients understand).
    #[default]
    ReasoningContent,
    /// Inside `content`, wrapped in `<think>` .. `</think>`.
    ThinkTags,
    /// Not sent.
    Hidden,
}

impl ReasoningMode {
    /// The mode a setting or the `x-byok-reasoning` header names: `content`, `think-tags` or
    /// `hidden` (case and surrounding blanks ignored).
    ///
    /// ```
    /// use byok_translate::ReasoningMode;
    /// assert_eq!(ReasoningMode::from_name(" Think-Tags "), Some(ReasoningMode::ThinkTags));
    /// assert_eq!(ReasoningMode::from_name("xml"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        [
            ("content", Self::ReasoningContent),
            ("think-tags", Self::ThinkTags),
            ("hidden", Self::Hidden),
        ]
        .into_iter()
        .find_map(|(known, mode)| name.eq_ignore_ascii_case(known).then_some(mode))
    }
}
