//! The errors of this crate: a request that cannot be translated, a stream that did not end well.

use thiserror::Error;

/// A request this crate cannot translate; its message suits a `400` answer to the client.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TranslateError {
    /// The body is not a JSON object.
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("`{param}` is required")]
    Missing {
        /// The request field at fault.
        param: String,
    },
    /// A field holds a value of the wrong shape.
    #[error("`{param}` is invalid: {reason}")]
    Invalid {
        /// The request field at fault.
        param: String,
        /// What is wrong with it and what is expected instead.
        reason: String,
    },
    /// A field asks for something the target API cannot do.
    #[error("{message}")]
    Unsupported {
        /// The request field at fault.
        param: String,
        /// What is not supported, by whom, and what to do instead.
        message: String,
    },
    /// A reference to a stored response or item (`previous_response_id`, `item_reference`)
    /// that is not stored (see [`crate::expand_references`]).
    #[error(
        "the {what} `{id}` is not stored here: the response was evicted (see the settings \
         `response_store_mib` and `response_store_ttl_secs`), deleted, created with \
         `store: false`, or served by another byok; send the items themselves in `input`"
    )]
    NotStored {
        /// The request field at fault.
        param: String,
        /// What was referred to: `response` or `item`.
        what: &'static str,
        /// The id referred to.
        id: String,
    },
}

impl TranslateError {
    /// The request field at fault, if any (OpenAI's `error.param`).
    pub fn param(&self) -> Option<&str> {
        match self {
            Self::NotAnObject => None,
            Self::Missing { param }
            | Self::Invalid { param, .. }
            | Self::Unsupported { param, .. }
            | Self::NotStored { param, .. } => Some(param),
        }
    }

    #[allow(dead_code, reason = "used by the request translators")]
    pub(crate) fn invalid(param: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            param: param.into(),
            reason: reason.into(),
        }
    }

    /// The error of a reference to `what` (`response` or `item`) `id`, from the request
    /// field `param`, that the store does not hold.
    pub fn not_stored(param: impl Into<String>, what: &'static str, id: impl Into<String>) -> Self {
        Self::NotStored {
            param: param.into(),
            what,
            id: id.into(),
        }
    }

    #[allow(dead_code, reason = "used by the request translators")]
    pub(crate) fn unsupported(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unsupported {
            param: param.into(),
            message: message.into(),
        }
    }
}

/// A Responses stream that did not end with a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamError {
    /// The upstream reported a failure (`response.failed` or an `error` event).
    #[error("the upstream failed: {message}")]
    Failed {
        /// The upstream's message.
        message: String,
        /// The upstream's error code, if it gave one.
        code: Option<String>,
    },
    /// The stream ended before any terminal event (`response.completed`, `incomplete`, `failed`).
    #[error("the upstream stream ended before response.completed; retry the request")]
    CutOff,
}
