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
    without_password(settings.state_url.as_deref().unwrap_or_default())
}

/// `url` with what precedes its host hidden. The host follows the last `@` (as URL parsers,
/// the redis crate's among them, read it), so a password holding an `@` is hidden whole.
fn without_password(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((scheme_and_user, rest)) => {
            let scheme = scheme_and_user.split("//").next().unwrap_or("redis:");
            format!("{scheme}//***@{rest}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_password_is_hidden_whole_even_when_it_holds_an_at() {
        assert_eq!(
            without_password("redis://:s3cr@t@redis.internal:6379/0"),
            "redis://***@redis.internal:6379/0"
        );
        assert_eq!(
            without_password("redis://user:pw@10.0.0.5:6379"),
            "redis://***@10.0.0.5:6379"
        );
        assert_eq!(
            without_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
