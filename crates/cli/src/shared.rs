//! The state a team of instances shares, when `state_url` is set: connected at start, or
//! `byok serve` does not start.

use byok_state::RedisState;
use byok_types::Secret;

use crate::{CliError, Settings};

/// The Redis of `settings`, connected and answering; `None` when no `state_url` is set.
///
/// Refuses a `state_url` without a `state_key` (or with a short one) before connecting.
pub async fn connect(settings: &Settings) -> Result<Option<RedisState>, CliError> {
    let Some(url) = &settings.state_url else {
        return Ok(None);
    };
    let key = settings
        .state_key
        .clone()
        .unwrap_or_else(|| Secret::new(""));
    Ok(Some(RedisState::connect(url, &key).await?))
}

/// Where the state is, for people: the URL without its password.
pub fn describe(settings: &Settings) -> String {
    let url = settings.state_url.as_deref().unwrap_or_default();
    match url.split_once('@') {
        Some((scheme_and_user, rest)) => {
            let scheme = scheme_and_user.split("//").next().unwrap_or("redis:");
            format!("{scheme}//***@{rest}")
        }
        None => url.to_owned(),
    }
}
