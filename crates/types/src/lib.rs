#![doc = include_str!("../README.md")]

mod clock;
mod context;
mod error;
mod executor;
pub mod human;
mod key_usage;
mod metrics;
mod provider;
mod ratelimit;
mod request;
mod secret;
mod shared;
mod silence;
mod status;
mod stream;
mod token;

pub use clock::unix_now;
pub use context::{ClientId, RequestContext, ServedBy};
pub use error::{ByokError, Result, error_chain};
pub use executor::{ByteStream, ProviderExecutor, ProviderResponse};
pub use key_usage::{ClientKeyStatus, KeyUsageStore, MemoryKeyUsage, next_utc_midnight, utc_day};
pub use metrics::{
    EndpointLabels, KeyLabels, KeyRefusalLabels, Metrics, ProviderLabels, RefreshLabels,
    RequestLabels, SharedStateLabels, TokenLabels, UpstreamLabels, WindowLabels,
};
pub use provider::ProviderId;
pub use ratelimit::{Credits, LimitFamily, RateLimitSnapshot, RateLimitStore, RateLimitWindow};
pub use request::{ChatRequest, ResponsesRequest};
pub use secret::Secret;
pub use shared::{
    SharedAffinity, SharedCatalog, SharedCatalogs, SharedRateLimits, SharedRests, StateHealth,
};
pub use silence::Silence;
pub use status::{AccountStatus, ProviderStatus};
pub use stream::{ProviderStream, StreamEnd, StreamProtocol, StreamReport, TokenUsage};
pub use token::{AccountId, OAuthToken};
