//! The Anthropic Messages API front, the part both upstreams share: a Messages request
//! translated to a Responses body for the upstream's preset (its Claude model mapped by the
//! `[anthropic]` settings, an alias resolved), and the upstream's Responses stream translated
//! back into Messages events. Each upstream sends the body its own way
//! (`CodexBackend::messages`, `OpenAiApi::messages`).

use byok_translate::{
    ClaudeModels, MessagesOptions, MessagesStreamTranslator, ModelEntry, Preset,
    TranslatedMessages, messages_to_responses, resolve_responses_alias,
};
use byok_types::{ByokError, ProviderStream, Result, StreamProtocol};
use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

use crate::executor::translate_error;
use crate::stream::{Translated, shaped};
use crate::upstream::BodyError;

/// The model that answers a Messages request for `requested` (the client's model, or the
/// target `[aliases]` gives it): a Claude name by its family, a GPT name as it is. A Claude
/// name of no known family is a 404 that says which names map.
pub(crate) fn upstream_model(claude: &ClaudeModels, requested: &str) -> Result<String> {
    claude
        .resolve(requested)
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| {
            ByokError::NotFound(format!(
                "the model `{requested}` has no GPT counterpart: byok maps Claude model names \
                 that contain opus, sonnet or haiku (set them in byok.toml's [anthropic] table) \
                 and passes GPT model names such as gpt-5.5 as they are"
            ))
        })
}

/// Translates a `POST /v1/messages` body for `preset`, asking `model` (from
/// [`upstream_model`]); the answer will name the model the body names.
pub(crate) fn translate(
    body: &Value,
    model: &str,
    preset: Preset,
    catalog: &[ModelEntry],
) -> Result<TranslatedMessages> {
    let mut translated =
        messages_to_responses(body, model, preset).map_err(|e| translate_error(&e))?;
    // The mapped model may be an alias (`gpt-5.5-high`): the one rule resolves it, the
    // client's own effort (thinking budget, `output_config.effort`) first.
    resolve_responses_alias(&mut translated.body, catalog).map_err(|e| translate_error(&e))?;
    Ok(translated)
}

/// The upstream's Responses stream (`body`) as Messages events (`ping` while silent is the
/// server's).
pub(crate) fn stream<B>(
    body: B,
    options: MessagesOptions,
    idle_timeout: std::time::Duration,
) -> ProviderStream
where
    B: Stream<Item = std::result::Result<Bytes, BodyError>> + Send + 'static,
{
    shaped(
        body,
        Translated(MessagesStreamTranslator::new(options)),
        idle_timeout,
        StreamProtocol::Anthropic,
    )
}
