//! `AuthManager` against a stand-in issuer: refresh when due, single-flight, rotation written
//! back to both store kinds, and the errors a user sees.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use byok_auth::{
    Account, AuthError, AuthManager, CodexCliStore, FileTokenStore, RefreshRejection, TokenStore,
};
use byok_test_support::issuer as support;
use byok_types::{ByokError, OAuthToken, Secret};
use serde_json::{Value, json};
use support::{ACCOUNT_ID, access_token, id_token, now};

const NAME: &str = "dev@example.com";

/// A token whose access token expires at `exp`, with refresh token `refresh`.
fn token(tag: &str, exp: i64, refresh: &str) -> OAuthToken {
    OAuthToken {
        access_token: Secret::new(access_token(tag, exp)),
        refresh_token: Secret::new(refresh),
        id_token: Secret::new(id_token()),
        expires_at: Some(exp),
        account_id: Some(ACCOUNT_ID.into()),
        last_refresh: Some(now() - 3600),
    }
}

async fn file_store_with(dir: &Path, token: OAuthToken) -> Arc<FileTokenStore> {
    let store = Arc::new(FileTokenStore::new(dir));
    store
        .save(&Account {
            name: NAME.into(),
            token,
        })
        .await
        .unwrap();
    store
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_valid_token_is_returned_without_asking_the_issuer() {
    let issuer = support::Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let stored = token("valid", now() + 3600, "rt-0");
    let store = file_store_with(dir.path(), stored.clone()).await;
    let auth = AuthManager::new(store, issuer.config());

    let got = auth.get_token().await.unwrap();
    assert_eq!(got.access_token, stored.access_token);
    assert_eq!(got.account_id.unwrap().as_str(), ACCOUNT_ID);
    assert_eq!(issuer.refreshes(), 0);
}

#[tokio::test]
async fn a_token_expiring_within_five_minutes_is_refreshed_and_saved_with_mode_0600() {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-0");
    let dir = tempfile::tempdir().unwrap();
    let old = token("old", now() + 120, "rt-0");
    let store = file_store_with(dir.path(), old.clone()).await;
    let auth = AuthManager::new(store.clone(), issuer.config());

    let got = auth.get_token_for(NAME).await.unwrap();
    assert_ne!(got.access_token, old.access_token);
    assert!(got.expires_at.unwrap() > now() + 3000);
    assert_eq!(got.account_id.unwrap().as_str(), ACCOUNT_ID);
    assert_eq!(issuer.refreshes(), 1);
    // The refresh is a JSON request with exactly the Codex CLI's fields.
    let body = issuer
        .state
        .last_refresh_body
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(body["refresh_token"], "rt-0");
    assert_eq!(body["client_id"], byok_auth::CODEX_CLIENT_ID);
    assert_eq!(body["refresh_reason"], "proactive_expiry");
    let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["client_id", "grant_type", "refresh_reason", "refresh_token"]
    );

    // The rotated tokens are in the file, which only its owner can read.
    let saved = store.get(NAME).await.unwrap().unwrap();
    assert_eq!(saved.token, got_again(&auth).await);
    assert_ne!(saved.token.refresh_token.expose(), "rt-0");
    assert_eq!(mode(store.path()), 0o600);
}

async fn got_again(auth: &AuthManager) -> OAuthToken {
    auth.get_token().await.unwrap()
}

#[tokio::test]
async fn fifty_concurrent_callers_cause_exactly_one_refresh() {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-0");
    let dir = tempfile::tempdir().unwrap();
    let store = file_store_with(dir.path(), token("expired", now() - 10, "rt-0")).await;
    let auth = Arc::new(AuthManager::new(store, issuer.config()));

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let auth = Arc::clone(&auth);
            tokio::spawn(async move { auth.get_token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().unwrap().access_token);
    }
    assert_eq!(issuer.refreshes(), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
}

#[tokio::test]
async fn concurrent_refreshes_after_a_401_reach_the_issuer_once() {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-0");
    let dir = tempfile::tempdir().unwrap();
    let store = file_store_with(dir.path(), token("valid", now() + 3600, "rt-0")).await;
    let auth = Arc::new(AuthManager::new(store, issuer.config()));
    let rejected = auth.get_token().await.unwrap().access_token;

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let auth = Arc::clone(&auth);
            let rejected = rejected.clone();
            tokio::spawn(async move { auth.refresh_rejected(NAME, &rejected).await })
        })
        .collect();
    for task in tasks {
        assert_ne!(task.await.unwrap().unwrap().access_token, rejected);
    }
    assert_eq!(issuer.refreshes(), 1);
    let body = issuer.state.last_refresh_body.lock().unwrap().clone();
    assert_eq!(body.unwrap()["refresh_reason"], "unauthorized_recovery");

    // The refused token named again (a request that was refused before the refresh answered)
    // causes no second refresh: the store holds another token already.
    let again = auth.refresh_rejected(NAME, &rejected).await.unwrap();
    assert_ne!(again.access_token, rejected);
    assert_eq!(issuer.refreshes(), 1);
}

/// The Codex CLI's `auth.json` with these tokens.
fn codex_auth_json(access: &str, refresh: &str) -> String {
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token(),
            "access_token": access,
            "refresh_token": refresh,
            "account_id": ACCOUNT_ID
        },
        "last_refresh": "2026-12-01T21:40:51.040055403Z"
    })
    .to_string()
}

#[tokio::test]
async fn a_refresh_token_the_codex_cli_used_first_gives_way_to_the_tokens_it_saved() {
    let issuer = support::Issuer::start().await;
    // The Codex CLI, sharing auth.json, has just refreshed: the issuer accepts only its new
    // refresh token, and the CLI writes its tokens a moment after.
    issuer.accept_refresh_token("rt-cli");
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    let expired = access_token("before", now() - 10);
    std::fs::write(&path, codex_auth_json(&expired, "rt-shared")).unwrap();
    let auth = AuthManager::new(Arc::new(CodexCliStore::new(home.path())), issuer.config());
    let theirs = access_token("the-cli's", now() + 3600);
    let writer = {
        let (path, theirs) = (path.clone(), theirs.clone());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            std::fs::write(&path, codex_auth_json(&theirs, "rt-cli")).unwrap();
        })
    };

    let got = auth.get_token().await.unwrap();

    writer.await.unwrap();
    assert_eq!(got.access_token.expose(), theirs);
    assert_eq!(got.refresh_token.expose(), "rt-cli");
    assert_eq!(issuer.refreshes(), 1, "byok's one refused try");
    // The file is the CLI's, untouched by byok.
    assert_eq!(read_json(&path)["tokens"]["refresh_token"], "rt-cli");
}

#[tokio::test]
async fn a_reused_refresh_token_with_nothing_new_in_the_store_means_signing_in_again() {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-elsewhere");
    let home = tempfile::tempdir().unwrap();
    let expired = access_token("before", now() - 10);
    std::fs::write(
        home.path().join("auth.json"),
        codex_auth_json(&expired, "rt-shared"),
    )
    .unwrap();
    let auth = AuthManager::new(Arc::new(CodexCliStore::new(home.path())), issuer.config());

    let err = auth.get_token().await.unwrap_err();

    assert!(
        matches!(
            err,
            AuthError::SignInAgain {
                reason: RefreshRejection::Reused,
                ..
            }
        ),
        "{err:?}"
    );
    // It is the Codex CLI's sign-in: the Codex CLI signs it in again (before: `byok login`,
    // which would leave byok reading the same ended sign-in).
    let message = err.to_string();
    assert!(
        message.contains("sign in again with `codex login`"),
        "{message}"
    );
    assert!(!message.contains("byok login"), "{message}");
}

#[tokio::test]
async fn refresh_unless_rotated_rereads_the_store_and_reuses_another_process_rotation() {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-0");
    let dir = tempfile::tempdir().unwrap();
    let store = file_store_with(dir.path(), token("valid", now() + 3600, "rt-0")).await;
    // Two byok processes sharing one credentials file.
    let first = AuthManager::new(Arc::new(FileTokenStore::new(dir.path())), issuer.config());
    let second = AuthManager::new(store, issuer.config());
    let before = second.get_token().await.unwrap();

    let rotated = first.refresh_unless_rotated(NAME).await.unwrap();
    assert_eq!(issuer.refreshes(), 1);
    // The second process sees the rotation instead of sending the used refresh token again
    // (which the issuer would refuse as reused).
    let seen = second.refresh_unless_rotated(NAME).await.unwrap();
    assert_eq!(seen.access_token, rotated.access_token);
    assert_ne!(seen.access_token, before.access_token);
    assert_eq!(issuer.refreshes(), 1);
}

#[tokio::test]
async fn rotation_is_written_back_to_the_codex_cli_auth_json_in_its_format() {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-codex");
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("auth.json");
    let original = json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token(),
            "access_token": access_token("codex-old", now() + 60),
            "refresh_token": "rt-codex",
            "account_id": ACCOUNT_ID
        },
        "last_refresh": "2026-01-02T03:04:05.123456Z"
    });
    std::fs::write(&path, original.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let auth = AuthManager::new(Arc::new(CodexCliStore::new(home.path())), issuer.config());

    let got = auth.get_token().await.unwrap();
    assert_eq!(issuer.refreshes(), 1);
    let written = read_json(&path);
    assert_eq!(written["tokens"]["access_token"], got.access_token.expose());
    assert_eq!(
        written["tokens"]["refresh_token"],
        got.refresh_token.expose()
    );
    assert_ne!(written["tokens"]["refresh_token"], "rt-codex");
    assert_eq!(written["tokens"]["account_id"], ACCOUNT_ID);
    // What the Codex CLI needs is still there, unknown fields included.
    assert_eq!(written["auth_mode"], "chatgpt");
    assert!(written["OPENAI_API_KEY"].is_null());
    let last: jiff::Timestamp = written["last_refresh"].as_str().unwrap().parse().unwrap();
    assert!((last.as_second() - now()).abs() < 600);
    assert_eq!(mode(&path), 0o600);
}

#[tokio::test]
async fn a_reused_refresh_token_tells_the_user_to_sign_in_again() {
    let issuer = support::Issuer::start().await;
    // Another program already used rt-0: the issuer now only accepts its successor.
    issuer.accept_refresh_token("rt-1");
    let dir = tempfile::tempdir().unwrap();
    let store = file_store_with(dir.path(), token("expired", now() - 1, "rt-0")).await;
    let auth = AuthManager::new(store, issuer.config());

    let err = auth.get_token().await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::SignInAgain {
                reason: RefreshRejection::Reused,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("already used"), "{message}");
    assert!(
        message.contains("sign in again with `byok login`"),
        "{message}"
    );
    let byok = ByokError::from(err);
    assert_eq!(byok.status(), 401);
    assert!(
        !byok.to_string().contains("rt-0"),
        "the token must not be shown"
    );
}

#[tokio::test]
async fn expired_invalidated_and_401_refreshes_also_mean_sign_in_again() {
    let cases = [
        (
            400,
            json!({"error": "refresh_token_expired"}),
            RefreshRejection::Expired,
        ),
        (
            400,
            json!({"error": {"code": "refresh_token_invalidated"}}),
            RefreshRejection::Invalidated,
        ),
        (
            401,
            json!({"error": {"message": "no"}}),
            RefreshRejection::Unauthorized,
        ),
    ];
    for (status, body, want) in cases {
        let issuer = support::Issuer::start().await;
        issuer.fail_refreshes(status, body);
        let dir = tempfile::tempdir().unwrap();
        let store = file_store_with(dir.path(), token("expired", now() - 1, "rt-0")).await;
        let auth = AuthManager::new(store, issuer.config());
        match auth.get_token().await {
            Err(AuthError::SignInAgain { reason, .. }) => assert_eq!(reason, want),
            other => panic!("expected sign-in-again, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_issuer_error_is_not_mistaken_for_an_ended_sign_in() {
    let issuer = support::Issuer::start().await;
    issuer.fail_refreshes(503, json!({"error": "temporarily_unavailable"}));
    let dir = tempfile::tempdir().unwrap();
    let store = file_store_with(dir.path(), token("expired", now() - 1, "rt-0")).await;
    let auth = AuthManager::new(store.clone(), issuer.config());

    let err = auth.get_token().await.unwrap_err();
    assert!(
        matches!(err, AuthError::Issuer { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("try again later"));
    // The stored tokens are kept for the next attempt.
    let kept = store.get(NAME).await.unwrap().unwrap();
    assert_eq!(kept.token.refresh_token.expose(), "rt-0");
}

#[tokio::test]
async fn an_unreachable_issuer_is_reported_as_such() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let store = file_store_with(dir.path(), token("expired", now() - 1, "rt-0")).await;
    let config = byok_auth::AuthConfig::builder().issuer(&url).build();
    let auth = AuthManager::new(store, config);

    let err = auth.get_token().await.unwrap_err();
    assert!(matches!(err, AuthError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&url));
    assert_eq!(ByokError::from(err).status(), 502);
}

#[tokio::test]
async fn a_corrupt_credentials_file_is_an_error_naming_it_and_is_left_untouched() {
    let issuer = support::Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    std::fs::write(&path, "{\"providers\": {\"codex\": ").unwrap();
    let store = Arc::new(FileTokenStore::new(dir.path()));
    let auth = AuthManager::new(store.clone(), issuer.config());

    let err = auth.get_token().await.unwrap_err();
    assert!(matches!(err, AuthError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    let save = store
        .save(&Account {
            name: "new".into(),
            token: token("new", now() + 3600, "rt-new"),
        })
        .await;
    assert!(matches!(save, Err(AuthError::Corrupt { .. })));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"providers\": {\"codex\": "
    );
}

#[tokio::test]
async fn nobody_signed_in_and_unknown_accounts_say_how_to_sign_in() {
    let issuer = support::Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthManager::new(Arc::new(FileTokenStore::new(dir.path())), issuer.config());

    let err = auth.get_token().await.unwrap_err();
    assert!(matches!(err, AuthError::NotSignedIn { .. }));
    assert!(err.to_string().contains("byok login"));
    let err = auth.get_token_for("someone").await.unwrap_err();
    assert!(matches!(err, AuthError::UnknownAccount { .. }));
    assert_eq!(ByokError::from(err).status(), 401);
}

/// Two byok processes (separate managers and stores over the same file) refreshing at once.
async fn two_processes_refresh_once(
    store: impl Fn() -> Arc<dyn TokenStore>,
    account: &str,
) -> usize {
    let issuer = support::Issuer::start().await;
    issuer.accept_refresh_token("rt-0");
    let processes = [
        Arc::new(AuthManager::new(store(), issuer.config())),
        Arc::new(AuthManager::new(store(), issuer.config())),
    ];
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let auth = Arc::clone(&processes[i % 2]);
            let account = account.to_owned();
            tokio::spawn(async move { auth.get_token_for(&account).await })
        })
        .collect();
    for task in tasks {
        // A second refresh would send the used-up rt-0 and fail as reused.
        task.await.unwrap().unwrap();
    }
    issuer.refreshes()
}

#[tokio::test]
async fn two_processes_sharing_credentials_json_refresh_once() {
    let dir = tempfile::tempdir().unwrap();
    file_store_with(dir.path(), token("expired", now() - 1, "rt-0")).await;
    let path = dir.path().to_owned();
    let refreshes = two_processes_refresh_once(|| Arc::new(FileTokenStore::new(&path)), NAME).await;
    assert_eq!(refreshes, 1);
}

#[tokio::test]
async fn two_processes_sharing_auth_json_refresh_once() {
    let home = tempfile::tempdir().unwrap();
    let auth_json = json!({
        "tokens": {
            "id_token": id_token(),
            "access_token": access_token("expired", now() - 1),
            "refresh_token": "rt-0"
        }
    });
    std::fs::write(home.path().join("auth.json"), auth_json.to_string()).unwrap();
    let path = home.path().to_owned();
    let refreshes = two_processes_refresh_once(
        || Arc::new(CodexCliStore::new(&path)),
        CodexCliStore::ACCOUNT,
    )
    .await;
    assert_eq!(refreshes, 1);
}
