//! Which credentials `byok serve` uses, and the executor built from them.

use std::sync::Arc;

use byok_auth::{AuthError, AuthManager, CodexCliStore, FileTokenStore, TokenStore};
use byok_executor::{CodexExecutor, ProviderHttp};
use byok_types::{Metrics, RateLimitStore, Secret};

use crate::{CliError, Settings};

/// Where an API key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `OPENAI_API_KEY` (or `--openai-api-key`).
    Environment,
    /// The `OPENAI_API_KEY` entry of the Codex CLI's `auth.json`.
    CodexCli(String),
}

/// The credentials `byok serve` found, in the order it looks for them.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// An OpenAI API key: requests go to the OpenAI API.
    ApiKey {
        /// The key (never printed).
        key: Secret,
        /// Where it came from.
        source: KeySource,
    },
    /// byok's own ChatGPT sign-ins (`byok login`), used in turn.
    ByokAccounts {
        /// The credentials file.
        store: FileTokenStore,
        /// The account names, the active one first.
        accounts: Vec<String>,
    },
    /// The team's ChatGPT sign-ins, shared through Redis (`state_url`), used in turn by every
    /// instance; this instance's own sign-ins were added to them at start.
    Team {
        /// The team's token store.
        store: byok_state::RedisTokenStore,
        /// The account names, the active one first.
        accounts: Vec<String>,
    },
    /// The Codex CLI's ChatGPT sign-in, used (and refreshed) in place.
    CodexCli {
        /// The Codex CLI's `auth.json`.
        store: CodexCliStore,
        /// The account's email (or id), for messages.
        account: String,
    },
    /// Nothing: requests are answered 401 with how to sign in. A later `byok login` is picked
    /// up without a restart, since every request checks whether the credentials file changed.
    None {
        /// byok's (empty) credentials file.
        store: FileTokenStore,
    },
}

impl Credentials {
    /// Looks for credentials in order: `OPENAI_API_KEY`, byok's own sign-ins, the Codex CLI's
    /// `auth.json`. A credentials file that exists but cannot be read is an error, not "none".
    pub async fn find(settings: &Settings) -> Result<Self, CliError> {
        if let Some(key) = &settings.openai_api_key {
            return Ok(Self::ApiKey {
                key: key.clone(),
                source: KeySource::Environment,
            });
        }
        let store = FileTokenStore::new(&settings.home);
        let accounts: Vec<String> = store.load().await?.into_iter().map(|a| a.name).collect();
        if !accounts.is_empty() {
            return Ok(Self::ByokAccounts { store, accounts });
        }
        let codex = CodexCliStore::new(&settings.codex_home);
        match codex.load().await {
            Ok(found) if !found.is_empty() => {
                let account = codex.label(&found[0]);
                return Ok(Self::CodexCli {
                    store: codex,
                    account,
                });
            }
            Ok(_) | Err(AuthError::CodexCliMissing { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        if let Some(key) = codex.api_key().await? {
            return Ok(Self::ApiKey {
                key,
                source: KeySource::CodexCli(codex.path().display().to_string()),
            });
        }
        Ok(Self::None { store })
    }

    /// The credentials of an instance of a team sharing `team`: an API key as [`find`]
    /// finds it; else the team's sign-ins, once this instance's own (`credentials.json`) are
    /// added to them; else what [`find`] finds (the Codex CLI's sign-in stays this machine's:
    /// it is used in place, and a team refreshing it would break the CLI's copy).
    ///
    /// [`find`]: Credentials::find
    pub async fn find_in_team(
        settings: &Settings,
        team: &byok_state::RedisTokenStore,
    ) -> Result<Self, CliError> {
        if settings.openai_api_key.is_some() {
            return Self::find(settings).await;
        }
        let local = FileTokenStore::new(&settings.home).load().await?;
        let added = team.adopt(&local).await?;
        if added > 0 {
            tracing::info!(added, "this instance's sign-ins are now the team's");
        }
        let accounts: Vec<String> = team.load().await?.into_iter().map(|a| a.name).collect();
        if accounts.is_empty() {
            return Self::find(settings).await;
        }
        Ok(Self::Team {
            store: team.clone(),
            accounts,
        })
    }

    /// The API key, in API-key mode.
    fn api_key(&self) -> Option<Secret> {
        match self {
            Self::ApiKey { key, .. } => Some(key.clone()),
            _ => None,
        }
    }

    /// The token store the executor's [`AuthManager`] reads.
    /// (API-key mode reads none, but the executor always holds one.)
    fn token_store(&self, settings: &Settings) -> Arc<dyn TokenStore> {
        match self {
            Self::CodexCli { store, .. } => Arc::new(store.clone()),
            Self::Team { store, .. } => Arc::new(store.clone()),
            Self::ByokAccounts { store, .. } | Self::None { store } => Arc::new(store.clone()),
            Self::ApiKey { .. } => Arc::new(FileTokenStore::new(&settings.home)),
        }
    }

    /// Who byok says it is to OpenAI: its installation id is the Codex CLI's when byok uses
    /// the Codex CLI's sign-in in place (one installation, as the backend sees it), else its
    /// own in `BYOK_HOME`.
    pub fn identity(&self, settings: &Settings) -> byok_auth::CodexIdentity {
        match self {
            Self::CodexCli { .. } => settings.codex_identity(&settings.codex_home),
            _ => settings.codex_identity(&settings.home),
        }
    }

    /// The executor that answers requests with these credentials.
    pub fn executor(
        &self,
        settings: &Settings,
        ratelimit: Arc<RateLimitStore>,
        metrics: &Metrics,
        shared: Option<&byok_state::RedisState>,
    ) -> Result<CodexExecutor, CliError> {
        let http = ProviderHttp::new()?;
        let auth_config =
            crate::accounts::auth_config(settings).with_identity(self.identity(settings));
        let base_url = match self {
            Self::ApiKey { .. } => settings.openai_base_url.clone(),
            _ => settings.codex_base_url.clone(),
        };
        Ok(CodexExecutor::builder()
            .http(http)
            .auth(
                AuthManager::new(self.token_store(settings), auth_config)
                    .with_metrics(metrics.clone()),
            )
            .maybe_api_key(self.api_key())
            .maybe_base_url(base_url)
            .ratelimit(ratelimit)
            .maybe_idle_timeout(settings.upstream_idle_timeout)
            .reasoning(settings.reasoning.into())
            .aliases(settings.aliases.clone())
            .metrics(metrics.clone())
            .maybe_store(response_store(settings, shared))
            .maybe_shared_rests(shared.map(|state| {
                Arc::new(byok_state::RedisRests::new(state.clone()))
                    as Arc<dyn byok_types::SharedRests>
            }))
            .maybe_shared_affinity(shared.map(|state| {
                Arc::new(byok_state::RedisAffinity::new(state.clone()))
                    as Arc<dyn byok_types::SharedAffinity>
            }))
            .maybe_shared_ratelimits(shared.map(|state| {
                Arc::new(byok_state::RedisRateLimits::new(state.clone()))
                    as Arc<dyn byok_types::SharedRateLimits>
            }))
            .maybe_shared_catalogs(shared.map(|state| {
                Arc::new(byok_state::RedisCatalogs::new(state.clone()))
                    as Arc<dyn byok_types::SharedCatalogs>
            }))
            .claude_models(settings.anthropic.clone())
            .models_cache(settings.home.join(byok_executor::models::MODELS_CACHE_FILE))
            .build())
    }
}

/// The response store `settings` ask for: the team's in Redis when there is one; else in
/// memory, within `response_store_mib`; none at 0.
fn response_store(
    settings: &Settings,
    shared: Option<&byok_state::RedisState>,
) -> Option<Arc<dyn byok_store::ResponseStore>> {
    if let Some(state) = shared {
        return Some(Arc::new(byok_state::RedisResponseStore::new(
            state.clone(),
            settings.response_store_ttl,
        )));
    }
    (settings.response_store_bytes > 0).then(|| {
        Arc::new(
            byok_store::MemoryStore::builder()
                .budget_bytes(settings.response_store_bytes)
                .ttl(settings.response_store_ttl)
                .build(),
        ) as Arc<dyn byok_store::ResponseStore>
    })
}

impl std::fmt::Display for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiKey {
                source: KeySource::Environment,
                ..
            } => f.write_str("OpenAI API key from OPENAI_API_KEY (requests go to the OpenAI API)"),
            Self::ApiKey {
                source: KeySource::CodexCli(path),
                ..
            } => write!(
                f,
                "OpenAI API key from the Codex CLI's {path} (requests go to the OpenAI API)"
            ),
            Self::ByokAccounts { store, accounts } => write!(
                f,
                "ChatGPT sign-in as {} (from {}; requests go to the Codex backend)",
                accounts.join(", "),
                store.path().display()
            ),
            Self::Team { store, accounts } => write!(
                f,
                "ChatGPT sign-in as {} ({}; requests go to the Codex backend)",
                accounts.join(", "),
                store.describe()
            ),
            Self::CodexCli { store, account } => write!(
                f,
                "the Codex CLI's ChatGPT sign-in as {account} ({}, used in place; requests go \
                 to the Codex backend)",
                store.path().display()
            ),
            Self::None { .. } => f.write_str(
                "no credentials yet: requests are answered 401 until you sign in with \
                 `byok login`, take the Codex CLI's sign-in with `byok import-codex-cli`, or set \
                 OPENAI_API_KEY",
            ),
        }
    }
}
