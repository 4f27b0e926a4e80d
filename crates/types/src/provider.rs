//! Which upstream a request goes to.

use serde::{Deserialize, Serialize};

/// The upstreams byok speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderId {
    /// The OpenAI API, reached with an API key (`sk-...`).
    #[serde(rename = "openai")]
    OpenAi,
    /// The ChatGPT Codex backend, reached with a ChatGPT sign-in.
    Codex,
}

impl ProviderId {
    /// The lowercase name used in files and logs: `openai` or `codex`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Codex => "codex",
        }
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(Self::OpenAi),
            "codex" => Ok(Self::Codex),
            other => Err(format!(
                "unknown provider `{other}`: expected `openai` or `codex`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ProviderId;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for id in [ProviderId::OpenAi, ProviderId::Codex] {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{id}\""));
            assert_eq!(serde_json::from_str::<ProviderId>(&json).unwrap(), id);
            assert_eq!(id.as_str().parse::<ProviderId>().unwrap(), id);
        }
        assert!("anthropic".parse::<ProviderId>().is_err());
    }
}
