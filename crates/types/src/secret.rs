//! A string that must never be printed.

use serde::{Deserialize, Serialize};

/// A secret string (access token, refresh token, API key).
///
/// Its `Debug` prints `***` so that a secret inside a logged struct stays hidden; it has no
/// `Display`. Read it with [`Secret::expose`] only where it is sent.
///
/// ```
/// use byok_types::Secret;
/// let token = Secret::new("eyJhbGciOi...");
/// assert_eq!(format!("{token:?}"), "***");
/// assert_eq!(token.expose(), "eyJhbGciOi...");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (an absent value in some file formats).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}
