//! `byok models`: asks the Codex backend for each signed-in account's model catalog (as `byok
//! serve` does at start), says where the catalog in use comes from, and lists the model ids
//! `byok serve` accepts.
//!
//! stdout holds the ids only, one a line (models, then each one's effort aliases), for
//! scripts; stderr says what was asked and describes each model.

use std::fmt::Write as _;
use std::sync::Arc;

use byok_executor::{CodexExecutor, Mode};
use byok_types::{RateLimitStore, human, unix_now};

use crate::{CliError, Credentials, Settings};

/// `byok models`.
pub async fn models(settings: &Settings) -> Result<(), CliError> {
    let credentials = Credentials::find(settings).await?;
    let ratelimits = Arc::new(RateLimitStore::default());
    let executor =
        credentials.executor(settings, ratelimits, &byok_types::Metrics::default(), None)?;
    let mut report = format!("Credentials: {credentials}\n");
    report.push_str(&catalog_report(&executor, unix_now()).await);
    report.push_str("Models `byok serve` accepts:");
    eprintln!("{report}");
    for id in executor.supported_models() {
        println!("{id}");
    }
    Ok(())
}

/// Asks for the catalogs and describes them: per account what the backend answered, then each
/// model of the catalog in use.
pub async fn catalog_report(executor: &CodexExecutor, now: i64) -> String {
    let mut out = String::new();
    if executor.mode() == Mode::ApiKey {
        out.push_str("Catalog: byok's bundled list (the OpenAI API key mode asks no catalog)\n");
    } else {
        match executor.refresh_models(false).await {
            Ok(answers) => {
                for answer in answers {
                    let line = match &answer.answer {
                        Ok(models) => format!(
                            "{} models, tag {}, for client version {}",
                            models.models.len(),
                            models.etag.as_deref().unwrap_or("none"),
                            models.client_version
                        ),
                        Err(err) => match executor.models().account(&answer.account) {
                            Some(kept) => format!(
                                "could not be asked ({err}); the copy kept {} is in use",
                                human::ago(now - kept.fetched_at)
                            ),
                            None => format!("could not be asked ({err})"),
                        },
                    };
                    let _ = writeln!(out, "Catalog of {}: {line}", answer.account);
                }
            }
            Err(err) => {
                let _ = writeln!(out, "Catalog: not asked ({err})");
            }
        }
        if !executor.models().is_live() {
            out.push_str("Catalog: byok's bundled list (no account's catalog is known)\n");
        }
    }
    for entry in executor.models().get().iter() {
        let name = entry.display_name.as_deref().unwrap_or("");
        let efforts = if entry.efforts.is_empty() {
            "no reasoning effort".to_owned()
        } else {
            format!("efforts {}", entry.efforts.join(", "))
        };
        let default = entry
            .default_effort
            .as_deref()
            .map(|effort| format!(" (default {effort})"))
            .unwrap_or_default();
        let hidden = if entry.hidden {
            "; hidden: served, not listed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<22} {name:<20} {efforts}{default}{hidden}",
            entry.id
        );
    }
    out
}
