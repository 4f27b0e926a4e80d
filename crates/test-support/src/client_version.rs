//! The Codex backend's client version gate, for every stand-in Codex backend: a
//! `POST /responses` is served only to a client that says which Codex it is (the `version`
//! header, and the version in its `User-Agent`) and is at least as new as the requested model's
//! `minimal_client_version` in the backend's catalog.
//!
//! What the official client sends (`tests/data/codex-cli/chatgpt-mode/official-http-05.json`):
//! `version: 0.169.0` and `user-agent: codex_exec/0.169.0 (...) ... (codex_exec; 0.169.0)`.
//!
//! What the real backend answers an older client, as users of other gateways and of old
//! official clients reported it (openai/codex#31826, kittors/CliRelay#884,
//! diegosouzapw/OmniRoute#1608; the same words inside a WebSocket error event in
//! coleam00/Archon#1447): HTTP 400 with
//!
//! ```text
//! {"detail":"The 'gpt-5.6-sol' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again."}
//! ```
//!
//! A client that sends no `version` header is taken for an old one (agent0ai/agent-zero#1765:
//! the backend gated the GPT-5.6 models on that header alone). For a model without a minimum
//! nobody recorded what the backend does without the header; the stand-ins refuse it all the
//! same, so that a byok that stops sending what the official client sends fails here first.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The minimal client versions of the official catalog, for a stand-in that serves no catalog
/// of its own: `codex-rs/models-manager/models.json` of openai/codex (commit 069e6b19) gives
/// gpt-5.6-sol and gpt-5.6-terra `0.142.2`. Other models have no minimum here.
pub const OFFICIAL_MINIMA: &[(&str, &str)] =
    &[("gpt-5.6-sol", "0.142.2"), ("gpt-5.6-terra", "0.142.2")];

/// The backend's words for a client too old for `model`.
pub fn needs_newer_client(model: &str) -> String {
    format!(
        "The '{model}' model requires a newer version of Codex. Please upgrade to the latest app \
         or CLI and try again."
    )
}

/// The `minimal_client_version` of `model`: from `catalog` (the backend's `{"models": [...]}`)
/// when the stand-in serves one, else from [`OFFICIAL_MINIMA`].
pub fn minimal_client_version(catalog: Option<&Value>, model: &str) -> Option<String> {
    match catalog {
        Some(catalog) => catalog["models"]
            .as_array()?
            .iter()
            .find(|m| m["slug"] == model)?["minimal_client_version"]
            .as_str()
            .map(str::to_owned),
        None => OFFICIAL_MINIMA
            .iter()
            .find(|(slug, _)| *slug == model)
            .map(|(_, version)| (*version).to_owned()),
    }
}

/// The backend's refusal of a `/responses` request for `model` whose client is unknown (no
/// `version` header, a `User-Agent` that is not a Codex client's with its version) or older
/// than `minimal` (either version below it); `None` when the client may be served.
pub fn refuse_old_client(
    headers: &HeaderMap,
    model: &str,
    minimal: Option<&str>,
) -> Option<Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let said = header("version").and_then(Version::parse);
    // `codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)`: a Codex
    // client (`codex_exec`, `codex_cli_rs`, `Codex Desktop`) and its version.
    let agent = header("user-agent")
        .and_then(|ua| ua.split_once('/'))
        .filter(|(product, _)| product.to_ascii_lowercase().starts_with("codex"))
        .and_then(|(_, rest)| Version::parse(rest.split_whitespace().next()?));
    let minimal = minimal.and_then(Version::parse);
    let new_enough = |v: &Version| minimal.as_ref().is_none_or(|min| v >= min);
    let served = match (said, agent) {
        (Some(said), Some(agent)) => new_enough(&said) && new_enough(&agent),
        _ => false,
    };
    (!served).then(|| {
        let body = json!({ "detail": needs_newer_client(model) });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    })
}

/// A Codex CLI version (`0.169.0`, `0.170.0-alpha.3`), ordered as releases are: by number,
/// and a pre-release before its release.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    numbers: [u64; 4],
    /// `true` for a release, so that it sorts after its pre-releases.
    release: bool,
}

impl Version {
    fn parse(text: &str) -> Option<Self> {
        let (numbers, suffix) = text
            .split_once('-')
            .map_or((text, None), |(n, s)| (n, Some(s)));
        let mut parsed = [0; 4];
        let mut count = 0;
        for part in numbers.split('.') {
            *parsed.get_mut(count)? = part.parse().ok()?;
            count += 1;
        }
        (count >= 2 && suffix.is_none_or(|s| !s.is_empty())).then_some(Self {
            numbers: parsed,
            release: suffix.is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(version: Option<&str>, agent: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(version) = version {
            headers.insert("version", version.parse().unwrap());
        }
        headers.insert("user-agent", agent.parse().unwrap());
        headers
    }

    const OFFICIAL_UA: &str =
        "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)";

    #[test]
    fn the_official_client_is_served_and_older_or_unnamed_ones_are_not() {
        let official = headers(Some("0.169.0"), OFFICIAL_UA);
        assert!(refuse_old_client(&official, "gpt-5.6-sol", Some("0.142.2")).is_none());
        assert!(refuse_old_client(&official, "gpt-5.5", None).is_none());
        assert!(refuse_old_client(&official, "gpt-5.6-sol", Some("0.169.0")).is_none());
        let desktop = headers(
            Some("0.169.0"),
            "Codex Desktop/0.169.0 (Mac OS 15.5.0; arm64)",
        );
        assert!(refuse_old_client(&desktop, "gpt-5.6-sol", Some("0.142.2")).is_none());
        let refused = [
            (headers(None, OFFICIAL_UA), None),
            (headers(Some("0.169.0"), "byok/0.1.0"), None),
            (headers(Some("0.169.0"), "codex_exec"), None),
            (headers(Some("latest"), OFFICIAL_UA), None),
            (headers(Some("0.169.0"), OFFICIAL_UA), Some("0.170.0")),
            (
                headers(Some("0.169.0"), OFFICIAL_UA),
                Some("0.169.1-alpha.1"),
            ),
            // The header and the user agent must both be new enough.
            (headers(Some("0.171.0"), OFFICIAL_UA), Some("0.170.0")),
            (
                headers(Some("0.130.0"), "codex_exec/0.171.0 (x)"),
                Some("0.170.0"),
            ),
        ];
        for (headers, minimal) in refused {
            let response = refuse_old_client(&headers, "gpt-5.6-sol", minimal);
            let response = response.unwrap_or_else(|| panic!("{headers:?} {minimal:?} served"));
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn versions_sort_as_releases_do() {
        let v = |t| Version::parse(t).unwrap();
        assert!(v("0.169.0") > v("0.142.2"));
        assert!(v("0.99.0") < v("0.142.2"));
        assert!(v("0.170.0-alpha.3") < v("0.170.0"));
        assert!(v("0.170.0-alpha.3") > v("0.169.9"));
        assert!(v("0.170") == v("0.170.0"));
        for bad in ["", "0", "x.1", "0.1.2.3.4", "0.1-", "0..1"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_minimum_comes_from_the_served_catalog_else_the_official_one() {
        let catalog = json!({"models": [{"slug": "gpt-5.6-sol", "minimal_client_version": "0.160.0"},
            {"slug": "gpt-5.5"}]});
        assert_eq!(
            minimal_client_version(Some(&catalog), "gpt-5.6-sol").as_deref(),
            Some("0.160.0")
        );
        assert_eq!(minimal_client_version(Some(&catalog), "gpt-5.5"), None);
        assert_eq!(
            minimal_client_version(None, "gpt-5.6-sol").as_deref(),
            Some("0.142.2")
        );
        assert_eq!(minimal_client_version(None, "gpt-5.5"), None);
    }
}
