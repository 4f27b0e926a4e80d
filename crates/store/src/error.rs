//! What can go wrong in a store.

use byok_types::ByokError;
use thiserror::Error;

/// A store that could not do what it was asked.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record alone is larger than the whole memory budget, so it is not kept.
    #[error(
        "the response `{id}` takes {bytes} bytes, more than the whole response store \
         ({budget} bytes); raise `response_store_mib` to keep responses this large"
    )]
    TooLarge {
        /// The response id.
        id: String,
        /// What the record takes.
        bytes: usize,
        /// The store's whole budget.
        budget: usize,
    },
    /// A kept record does not read back (a shared store written by another version).
    #[error("the stored response `{id}` cannot be read back: {reason}")]
    Corrupt {
        /// The response id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store cannot be reached (a shared store over the network).
    #[error("the response store is unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for ByokError {
    fn from(err: StoreError) -> Self {
        ByokError::Internal(err.to_string())
    }
}
