//! The errors of this crate: a request that cannot be translated, a stream that did not end well.

use serde_json::Value;
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
    /// A field holds a value of the wrong JSON type; the message is the OpenAI API's own.
    #[error("Invalid type for '{param}': expected {expected}, but got {got} instead.")]
    InvalidType {
        /// The request field at fault.
        param: String,
        /// The type wanted, as the API says it (`a string`, `an array of objects`).
        expected: &'static str,
        /// The type sent (`a string`, `an object`, `null`).
        got: &'static str,
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
            | Self::InvalidType { param, .. }
            | Self::Unsupported { param, .. }
            | Self::NotStored { param, .. } => Some(param),
        }
    }

    /// OpenAI's `error.code` for the fault, if it has one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::NotAnObject | Self::NotStored { .. } => None,
            Self::Missing { .. } => Some("missing_required_parameter"),
            Self::Invalid { .. } => Some("invalid_value"),
            Self::InvalidType { .. } => Some("invalid_type"),
            Self::Unsupported { .. } => Some("unsupported_parameter"),
        }
    }

    /// The error for `param` holding `got` where `expected` (as the API names it) belongs.
    pub(crate) fn invalid_type(
        param: impl Into<String>,
        expected: &'static str,
        got: &Value,
    ) -> Self {
        Self::InvalidType {
            param: param.into(),
            expected,
            got: json_kind(got),
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

/// A JSON value's type as the OpenAI API names it in its errors ("but got a string instead").
/// Twin of byok-types' `json_kind`: the two crates depend on none of ours (`cargo xtask layers`).
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
