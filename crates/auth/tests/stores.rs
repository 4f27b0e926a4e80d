//! The two token stores as `byok login`, `status`, `logout` and `import-codex-cli` use them.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;

use byok_auth::{
    Account, AuthError, AuthManager, CodexCliStore, FileTokenStore, TokenStore, import_codex_cli,
};
use byok_test_support::issuer as support;
use byok_types::{OAuthToken, ProviderId, Secret};
use serde_json::json;
use support::{ACCOUNT_ID, EMAIL, access_token, id_token, now};

fn account(name: &str, tag: &str) -> Account {
    Account {
        name: name.into(),
        token: OAuthToken {
            access_token: Secret::new(access_token(tag, now() + 3600)),
            refresh_token: Secret::new(format!("rt-{tag}")),
            id_token: Secret::new(id_token()),
            expires_at: Some(now() + 3600),
            account_id: Some(ACCOUNT_ID.into()),
            last_refresh: Some(now()),
        },
    }
}

#[tokio::test]
async fn several_accounts_one_active_first_in_every_listing() {
    let issuer = support::Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileTokenStore::new(dir.path()));
    for (name, tag) in [("work", "w"), ("home", "h"), ("alt", "a")] {
        store.save(&account(name, tag)).await.unwrap();
    }
    let auth = AuthManager::new(store.clone(), issuer.config());
    // The first account saved is the active one.
    assert_eq!(auth.accounts().await.unwrap(), ["work", "alt", "home"]);

    store.set_active("home").await.unwrap();
    assert_eq!(auth.accounts().await.unwrap(), ["home", "alt", "work"]);
    let home = auth.get_token().await.unwrap();
    assert_eq!(home.refresh_token.expose(), "rt-h");
    let alt = auth.get_token_for("alt").await.unwrap();
    assert_eq!(alt.refresh_token.expose(), "rt-a");

    // Logging the active account out makes another one active.
    assert!(store.remove("home").await.unwrap());
    assert!(!store.remove("home").await.unwrap());
    assert_eq!(auth.accounts().await.unwrap(), ["alt", "work"]);
    let err = store.set_active("home").await.unwrap_err();
    assert!(matches!(err, AuthError::UnknownAccount { .. }));
    assert_eq!(issuer.refreshes(), 0);
}

#[tokio::test]
async fn providers_are_kept_apart_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let codex = FileTokenStore::new(dir.path());
    let other = FileTokenStore::new(dir.path()).for_provider(ProviderId::OpenAi);
    codex.save(&account("me", "c")).await.unwrap();
    other.save(&account("you", "o")).await.unwrap();
    assert_eq!(codex.load().await.unwrap()[0].name, "me");
    assert_eq!(other.load().await.unwrap()[0].name, "you");
    assert_eq!(codex.load().await.unwrap().len(), 1);
    let mode = std::fs::metadata(codex.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Secrets are stored themselves, not their `Debug` mask.
    assert!(
        std::fs::read_to_string(codex.path())
            .unwrap()
            .contains("\"rt-c\"")
    );
}

fn write_auth_json(dir: &std::path::Path, value: &serde_json::Value) {
    std::fs::write(dir.join("auth.json"), value.to_string()).unwrap();
}

#[tokio::test]
async fn import_codex_cli_copies_the_sign_in_under_its_email() {
    let codex_home = tempfile::tempdir().unwrap();
    let exp = now() + 3600;
    let access = access_token("codex", exp);
    write_auth_json(
        codex_home.path(),
        &json!({
            "OPENAI_API_KEY": null,
            "tokens": {"id_token": id_token(), "access_token": access,
                       "refresh_token": "rt-codex", "account_id": ACCOUNT_ID},
            "last_refresh": "2026-03-04T05:06:07Z"
        }),
    );
    let byok_home = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(byok_home.path());
    store.save(&account("older", "o")).await.unwrap();

    let imported = import_codex_cli(&CodexCliStore::new(codex_home.path()), &store)
        .await
        .unwrap();
    assert_eq!(imported.name, EMAIL);
    let accounts = store.load().await.unwrap();
    assert_eq!(
        accounts[0].name, EMAIL,
        "the imported sign-in becomes active"
    );
    assert_eq!(accounts[0].token.refresh_token.expose(), "rt-codex");
    assert_eq!(accounts[0].token.access_token.expose(), access);
    assert_eq!(
        accounts[0].token.last_refresh,
        Some(
            "2026-03-04T05:06:07Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_second()
        )
    );
    // What `byok status` shows.
    let claims = accounts[0].claims();
    assert_eq!(claims.chatgpt_plan_type.as_deref(), Some("plus"));
    assert_eq!(claims.exp, Some(exp));
    assert_eq!(claims.email.as_deref(), Some(EMAIL));
}

#[tokio::test]
async fn the_account_id_comes_from_the_id_token_when_auth_json_has_none() {
    let codex_home = tempfile::tempdir().unwrap();
    write_auth_json(
        codex_home.path(),
        &json!({
            "tokens": {"id_token": id_token(), "access_token": "opaque", "refresh_token": "rt"}
        }),
    );
    let loaded = CodexCliStore::new(codex_home.path()).load().await.unwrap();
    assert_eq!(
        loaded[0].token.account_id.as_ref().unwrap().as_str(),
        ACCOUNT_ID
    );
    assert_eq!(loaded[0].name, CodexCliStore::ACCOUNT);
}

#[tokio::test]
async fn a_missing_or_api_key_only_auth_json_explains_the_keyring() {
    let codex_home = tempfile::tempdir().unwrap();
    let store = CodexCliStore::new(codex_home.path());
    let err = store.load().await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&codex_home.path().join("auth.json").display().to_string()));
    assert!(message.contains("keyring"), "{message}");

    write_auth_json(codex_home.path(), &json!({"OPENAI_API_KEY": "sk-test-123"}));
    assert!(matches!(
        store.load().await,
        Err(AuthError::CodexCliMissing { .. })
    ));
    assert_eq!(
        store.api_key().await.unwrap().unwrap().expose(),
        "sk-test-123"
    );
}

#[tokio::test]
async fn byok_never_signs_the_codex_cli_out() {
    let codex_home = tempfile::tempdir().unwrap();
    write_auth_json(
        codex_home.path(),
        &json!({"tokens": {"id_token": "", "access_token": "a", "refresh_token": "r"}}),
    );
    let store = CodexCliStore::new(codex_home.path());
    let err = store.remove(CodexCliStore::ACCOUNT).await.unwrap_err();
    assert!(err.to_string().contains("codex logout"));
    assert!(codex_home.path().join("auth.json").exists());
}

#[tokio::test]
async fn a_corrupt_auth_json_is_an_error_naming_it() {
    let codex_home = tempfile::tempdir().unwrap();
    std::fs::write(codex_home.path().join("auth.json"), "not json").unwrap();
    let store = CodexCliStore::new(codex_home.path());
    let err = store.load().await.unwrap_err();
    assert!(matches!(err, AuthError::Corrupt { .. }));
    assert!(err.to_string().contains("auth.json"));
    assert!(store.save(&account("x", "x")).await.is_err());
    assert_eq!(
        std::fs::read_to_string(codex_home.path().join("auth.json")).unwrap(),
        "not json"
    );
}
