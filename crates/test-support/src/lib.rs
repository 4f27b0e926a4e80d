//! Stand-ins for byok's tests, written once and used by every crate's tests as a path
//! dev-dependency (`publish = false`: nothing published depends on it; `cargo xtask layers`
//! checks that).
//!
//! * [`issuer`]: the ChatGPT issuer (`auth.openai.com`): PKCE code exchange, device codes,
//!   refresh with rotating refresh tokens, for one account or several, failures on demand.
//!
//! A stand-in behaves like the real service where byok depends on it, refusals included.

#![allow(clippy::missing_panics_doc)]

pub mod issuer;
