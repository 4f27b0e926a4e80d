//! The executor's [`RequestContext`] of a request, as an extractor: who sent it (the client-key
//! middleware's [`ClientId`]), its headers, and the [`ServedBy`] cell the access log reads.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use byok_types::{ClientId, RequestContext, ServedBy};

/// A handler argument holding the request's [`RequestContext`].
pub(crate) struct Ctx(pub(crate) RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Routes behind the client-key middleware always have an identity; others are local.
        let client = parts
            .extensions
            .get::<ClientId>()
            .cloned()
            .unwrap_or_else(ClientId::local);
        let served_by = parts
            .extensions
            .get::<ServedBy>()
            .cloned()
            .unwrap_or_default();
        Ok(Self(
            RequestContext::new(client, parts.headers.clone()).with_served_by(served_by),
        ))
    }
}
