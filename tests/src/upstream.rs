//! The stand-in Codex backend and OpenAI API as the end-to-end tests use it:
//! byok-test-support's upstream (the recordings of `tests/data/codex-recorded`, one write per
//! event, the OpenAI API answering [`OPENAI_ANSWER`]), with the ChatGPT issuer of
//! byok-test-support beside it, which knows the account of
//! [`Byok::sign_in`](crate::harness::Byok::sign_in).

use byok_test_support::issuer::Issuer;
use byok_test_support::upstream;

pub use byok_test_support::Received;
pub use byok_test_support::upstream::{
    CODEX_PATH, OPENAI_ANSWER, OPENAI_COMPACTION, OPENAI_NOT_FOUND, Reply, Then, Until,
    standin_encrypted,
};

/// The running stand-in and its issuer; it derefs to the upstream ([`upstream::StandIn`]:
/// `url`, `received`, `set_reply`, `set_catalog`, ...). Dropping it stops both.
pub struct StandIn {
    upstream: upstream::StandIn,
    /// The issuer byok signs in and refreshes at.
    issuer: Issuer,
}

impl std::ops::Deref for StandIn {
    type Target = upstream::StandIn;

    fn deref(&self) -> &upstream::StandIn {
        &self.upstream
    }
}

impl StandIn {
    /// Starts a stand-in answering every Codex request with `reply`.
    pub async fn start(reply: Reply) -> Self {
        let upstream = upstream::StandIn::builder()
            .recordings(crate::fixtures::path("codex-recorded"))
            .reply(reply)
            .openai_reply(Reply::OpenAi)
            .start()
            .await;
        let issuer = Issuer::start().await;
        issuer.accept_refresh_token_of(crate::harness::ACCOUNT_ID, crate::harness::REFRESH_TOKEN);
        Self { upstream, issuer }
    }

    /// The issuer's address, for byok's `auth_issuer`.
    pub fn issuer_url(&self) -> String {
        self.issuer.url.clone()
    }

    /// How many refresh requests reached the issuer.
    pub fn refreshes(&self) -> usize {
        self.issuer.refreshes()
    }
}
