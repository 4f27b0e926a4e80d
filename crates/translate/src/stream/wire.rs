//! The Responses stream events, as typed views that borrow from the event's JSON text.
//!
//! Only the fields translators read are declared; everything else (the 10-30 KB `instructions`
//! of every lifecycle event among them) is skipped by serde without being copied.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::usage::ResponsesUsage;

/// One event of the hot path, every field it may need.
#[derive(Debug, Deserialize)]
pub(crate) struct Event<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub output_index: Option<u32>,
    #[serde(default)]
    pub content_index: Option<u32>,
    #[serde(default)]
    pub summary_index: Option<u32>,
    #[serde(default, borrow)]
    pub delta: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub arguments: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub item: Option<Item<'a>>,
    #[serde(default, borrow)]
    pub response: Option<ResponseHead<'a>>,
    /// `error` events carry their message and code at the top level.
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
}

/// A delta event (`*.delta`), the bulk of every stream: small, so parsing it moves little.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Delta<'a> {
    #[serde(default)]
    pub output_index: Option<u32>,
    #[serde(default)]
    pub content_index: Option<u32>,
    #[serde(default)]
    pub summary_index: Option<u32>,
    #[serde(default, borrow, rename = "delta")]
    pub text: Option<Cow<'a, str>>,
    /// The `delta` as the JSON string it came as (quotes and escapes included, checked
    /// valid), when the fast reader read it: it is copied into the chunk as it is.
    #[serde(skip)]
    pub json: Option<&'a str>,
}

/// An output item (`output_item.added` / `.done`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Item<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    /// A reasoning item's opaque state, what lets the next turn continue its reasoning.
    #[serde(default, borrow)]
    pub encrypted_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub arguments: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub content: Vec<Part<'a>>,
    #[serde(default, borrow)]
    pub summary: Vec<Part<'a>>,
}

/// A content part of a message, or a summary part of a reasoning item.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Part<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub refusal: Option<Cow<'a, str>>,
}

/// The fields of the `response` object a translator needs.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResponseHead<'a> {
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub created_at: Option<serde_json::Number>,
    #[serde(default, borrow)]
    pub model: Cow<'a, str>,
    #[serde(default)]
    pub usage: Option<ResponsesUsage>,
    #[serde(default, borrow)]
    pub incomplete_details: Option<IncompleteDetails<'a>>,
    #[serde(default, borrow)]
    pub error: Option<ErrorBody<'a>>,
}

/// Why a response is incomplete.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IncompleteDetails<'a> {
    #[serde(default, borrow)]
    pub reason: Option<Cow<'a, str>>,
}

/// The `error` of a failed response.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody<'a> {
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
}

/// The finish reason of an incomplete response.
pub(crate) fn incomplete_finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("content_filter") => "content_filter",
        _ => "length",
    }
}

/// An event whose `item` and `response` stay raw JSON, for translators that keep them whole.
#[derive(Debug, Deserialize)]
pub(crate) struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub sequence_number: Option<u64>,
    #[serde(default)]
    pub output_index: Option<u32>,
    #[serde(default)]
    pub content_index: Option<u32>,
    #[serde(default)]
    pub summary_index: Option<u32>,
    #[serde(default, borrow)]
    pub delta: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub arguments: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub item: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub response: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
}

impl RawEvent<'_> {
    /// The upstream's message and code, for `response.failed` and `error` events.
    pub fn failure(&self) -> (String, Option<String>) {
        let head = self
            .response
            .and_then(|raw| serde_json::from_str::<ResponseHead<'_>>(raw.get()).ok());
        let error = head.as_ref().and_then(|head| head.error.as_ref());
        let message = error
            .and_then(|e| e.message.as_deref())
            .or(self.message.as_deref());
        let code = error
            .and_then(|e| e.code.as_deref())
            .or(self.code.as_deref());
        (
            message
                .unwrap_or("the upstream failed the response")
                .to_owned(),
            code.map(str::to_owned),
        )
    }
}

/// How events written the usual way begin.
pub(crate) const KIND_PREFIX: &[u8] = b"{\"type\":\"";

/// The `type` of an event written the usual way (`{"type":"..."` first, no escapes), read
/// without parsing the event. `None` when the event is written otherwise: then it is parsed.
pub(crate) fn sniff_kind(data: &[u8]) -> Option<&[u8]> {
    let rest = data.strip_prefix(KIND_PREFIX)?;
    let kind = &rest[..memchr::memchr(b'"', rest)?];
    (!kind.contains(&b'\\')).then_some(kind)
}
