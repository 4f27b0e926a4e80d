//! A Codex CLI sign-in for the benchmark's `byok serve`: unexpired, unsigned tokens that the
//! stand-in upstream accepts (it checks nothing) and that byok never needs to refresh.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// Writes `CODEX_HOME/auth.json` under `work` and returns that `CODEX_HOME`.
pub fn write_codex_home(work: &Path) -> Result<PathBuf, String> {
    let home = work.join("codex-home");
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create {}: {e}", home.display()))?;
    let claims = json!({
        "exp": 4_102_444_800_i64, // 2100-01-01
        "email": "bench@example.com",
        "https://api.openai.com/auth": {
            "chatgpt_account_id": "bench-account",
            "chatgpt_plan_type": "plus"
        }
    });
    let jwt = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let auth = json!({
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": jwt,
            "access_token": jwt,
            "refresh_token": "bench-refresh-token",
            "account_id": "bench-account"
        },
        "last_refresh": "2026-11-25T00:00:00Z"
    });
    let path = home.join("auth.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&auth).unwrap_or_default(),
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(home)
}
