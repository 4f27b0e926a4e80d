#![doc = include_str!("../README.md")]

pub mod claims;
mod config;
mod error;
pub mod identity;
pub mod login;
mod manager;
mod store;
mod token_endpoint;

pub use config::{AuthConfig, CODEX_CLIENT_ID, DEFAULT_ISSUER, ISSUER_ENV};
pub use error::{AuthError, RefreshRejection};
pub use identity::{BadClientVersion, CodexIdentity};
pub use manager::AuthManager;
pub use store::{
    Account, CodexCliStore, FileTokenStore, RefreshLock, TokenStore, import_codex_cli,
};
pub use token_endpoint::RefreshReason;
