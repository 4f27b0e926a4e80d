//! The account commands: `login`, `logout`, `import-codex-cli`, `models`.

use byok_auth::login::device::{self, DeviceOptions};
use byok_auth::login::pkce::{self, PkceOptions};
use byok_auth::{AuthConfig, CodexCliStore, FileTokenStore, TokenStore, import_codex_cli};

use crate::args::{ImportArgs, LoginArgs, LogoutArgs};
use crate::{CliError, Settings};

/// Where sign-ins and refreshes go: the settings' issuer, else the real one, asked by the
/// Codex CLI of `codex_client_version` (the backend is told the same).
pub(crate) fn auth_config(settings: &Settings) -> AuthConfig {
    AuthConfig::builder()
        .maybe_issuer(settings.auth_issuer.as_deref())
        .identity(byok_auth::CodexIdentity::new(&settings.codex_client_version).unwrap_or_default())
        .build()
}

/// `byok login`: signs in with ChatGPT and saves the tokens in byok's credentials file.
pub async fn login(settings: &Settings, args: &LoginArgs) -> Result<(), CliError> {
    let config = auth_config(settings);
    let signed_in = if args.device {
        let options = DeviceOptions::builder().open_browser(false).build();
        device::login(&config, &options, |prompt| eprintln!("{prompt}")).await?
    } else {
        let options = PkceOptions::builder()
            .open_browser(!args.no_browser)
            .build();
        pkce::login(&config, &options, |url| {
            eprintln!(
                "Sign in to ChatGPT in your browser. If none opens, visit this address on this \
                 machine:\n\n  {url}\n\n(On a machine without a browser, use `byok login --device`.)"
            );
        })
        .await?
    };
    let plan = signed_in.claims.chatgpt_plan_type.clone();
    let store = FileTokenStore::new(&settings.home);
    let account = signed_in.into_account();
    store.save(&account).await?;
    println!(
        "Signed in as {} (plan {}). Tokens saved in {}.",
        account.name,
        plan.as_deref().unwrap_or("unknown"),
        store.path().display()
    );
    println!("Run `byok serve` to use it.");
    Ok(())
}

/// `byok logout`: removes a sign-in (the active one by default) from byok's credentials file.
pub async fn logout(settings: &Settings, args: &LogoutArgs) -> Result<(), CliError> {
    let store = FileTokenStore::new(&settings.home);
    let active = match &args.account {
        Some(name) => Some(name.clone()),
        None => store.load().await?.into_iter().next().map(|a| a.name),
    };
    let Some(name) = active else {
        println!(
            "No ChatGPT account is signed in to byok ({}).",
            store.path().display()
        );
        return Ok(());
    };
    if store.remove(&name).await? {
        println!(
            "Signed out {name}: its tokens are removed from {}.",
            store.path().display()
        );
        Ok(())
    } else {
        Err(CliError::UnknownAccount {
            name,
            path: store.path().display().to_string(),
        })
    }
}

/// `byok import-codex-cli`: copies the Codex CLI's sign-in into byok's credentials file.
pub async fn import(settings: &Settings, args: &ImportArgs) -> Result<(), CliError> {
    let from = match &args.from {
        Some(path) if path.is_dir() => CodexCliStore::new(path),
        Some(path) => CodexCliStore::with_file(path),
        None => CodexCliStore::new(&settings.codex_home),
    };
    let store = FileTokenStore::new(&settings.home);
    let account = import_codex_cli(&from, &store).await?;
    let plan = account.claims().chatgpt_plan_type;
    println!(
        "Imported the Codex CLI's sign-in as {} (plan {}) into {}; it is byok's active account.",
        account.name,
        plan.as_deref().unwrap_or("unknown"),
        store.path().display()
    );
    println!(
        "Note: refresh tokens rotate. After byok's first refresh the Codex CLI's copy stops \
         working: sign the Codex CLI in again then, or `byok logout --account {}` and let \
         `byok serve` use {} in place.",
        account.name,
        from.path().display()
    );
    Ok(())
}
