//! The stand-in OAuth issuer and signed-in accounts over a real `FileTokenStore`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use base64::Engine;
use byok_auth::{Account, AuthConfig, AuthManager, FileTokenStore, TokenStore};
use byok_types::{OAuthToken, Secret};
use serde_json::{Value, json};

use super::upstream::serve;

/// A stand-in OAuth issuer: `POST /oauth/token` refreshes, counting the calls.
pub struct Issuer {
    pub url: String,
    refreshes: Arc<AtomicUsize>,
}

impl Issuer {
    pub async fn start() -> Self {
        let refreshes = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .route("/oauth/token", axum::routing::post(refresh))
            .with_state(refreshes.clone());
        Self {
            url: serve(router).await,
            refreshes,
        }
    }

    /// How many refresh requests reached the issuer.
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
}

async fn refresh(State(count): State<Arc<AtomicUsize>>, body: Bytes) -> axum::Json<Value> {
    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
    let request: Value = serde_json::from_slice(&body).unwrap();
    // Refresh tokens are `rt-<account id>` in these tests.
    let account_id = request["refresh_token"]
        .as_str()
        .unwrap()
        .trim_start_matches("rt-")
        .to_owned();
    axum::Json(json!({
        "access_token": fake_jwt(&account_id, &format!("refreshed-{n}")),
        "refresh_token": format!("rt-{account_id}"),
        "id_token": fake_jwt(&account_id, "id"),
        "expires_in": 3600,
    }))
}

pub use byok_types::unix_now;

/// An unsigned JWT whose claims name a ChatGPT account, valid for an hour.
pub fn fake_jwt(account_id: &str, nonce: &str) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(&json!({"alg": "none", "typ": "JWT"}));
    let claims = b64(&json!({
        "exp": unix_now() + 3600,
        "email": format!("{account_id}@example.com"),
        "nonce": nonce,
        "https://api.openai.com/auth": {"chatgpt_account_id": account_id, "chatgpt_plan_type": "plus"},
    }));
    format!("{header}.{claims}.sig")
}

/// Signed-in accounts in a temporary `FileTokenStore`, refreshing at `issuer`.
pub struct SignedIn {
    pub dir: tempfile::TempDir,
    pub auth: Arc<AuthManager>,
}

/// Accounts named `name`, with ChatGPT account id `acc-<name>`; the first one is active.
pub async fn signed_in(names: &[&str], issuer: &Issuer) -> SignedIn {
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path());
    for name in names {
        let id = format!("acc-{name}");
        let token = OAuthToken {
            access_token: Secret::new(fake_jwt(&id, "first")),
            refresh_token: Secret::new(format!("rt-{id}")),
            id_token: Secret::new(fake_jwt(&id, "id")),
            expires_at: Some(unix_now() + 3600),
            account_id: Some(id.as_str().into()),
            last_refresh: Some(unix_now()),
        };
        store
            .save(&Account {
                name: (*name).to_owned(),
                token,
            })
            .await
            .unwrap();
    }
    let config = AuthConfig::builder().issuer(&issuer.url).build();
    SignedIn {
        auth: Arc::new(AuthManager::new(Arc::new(store), config)),
        dir,
    }
}
