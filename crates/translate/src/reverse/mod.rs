//! The reverse direction: a Responses client served from a Chat Completions-only upstream.

mod answer;
mod chunk;
mod item;
mod request;
mod stream;

pub use answer::chat_to_response;
pub use request::responses_to_chat_request;
pub use stream::ResponsesStreamBuilder;
