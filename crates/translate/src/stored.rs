//! Stored responses on a backend that stores nothing: the record kept of each response, and
//! `previous_response_id` and `item_reference` expanded from those records.
//!
//! The Codex backend must be sent `store: false` and keeps no items, yet Responses clients
//! refer to earlier items by id: the Vercel AI SDK (its default `store: true`) sends step 2 of a
//! tool loop as `[developer, user, {"type":"item_reference","id":"rs_.."}, function_call,
//! function_call_output]`, and the SDKs chain turns with `previous_response_id`. A gateway keeps
//! a [`StoredResponse`] of every response it served and, before sending a request upstream,
//! puts back the items the references stand for.
//!
//! This module is the pure part, in four steps a caller drives around its own (async,
//! fallible) store:
//! 1. [`References::of`] says what a request refers to;
//! 2. the caller fetches those records and items (walking the `previous_response_id` chain with
//!    [`StoredResponse::previous_response_id`]);
//! 3. [`expand_references`] builds the input the upstream gets;
//! 4. once the answer is finished, [`served_as_stored`] marks it as stored and
//!    [`StoredResponse::new`] makes its record (ids given with [`give_input_ids`]).
//!
//! [`input_items_page`] answers `GET /v1/responses/{id}/input_items` from a record.
//!
//! ```
//! use std::collections::HashMap;
//! use byok_translate::{References, StoredResponse, expand_references};
//! use serde_json::json;
//!
//! // Turn 1 was served and stored.
//! let first = StoredResponse::new(
//!     vec![json!({"type": "message", "id": "msg_1", "role": "user", "content": "Hi"})],
//!     json!({"id": "resp_1", "output": [{"type": "message", "id": "msg_2", "role": "assistant",
//!            "content": [{"type": "output_text", "text": "Hello!"}]}]}),
//! ).unwrap();
//! // Turn 2 refers to it.
//! let body = json!({"model": "gpt-5", "previous_response_id": "resp_1", "input": "And you?"});
//! let refs = References::of(&body).unwrap();
//! assert_eq!(refs.previous_response_id.as_deref(), Some("resp_1"));
//! let expanded = expand_references(body, &[first], &HashMap::new()).unwrap();
//! let input = expanded.body["input"].as_array().unwrap();
//! assert_eq!(input.len(), 3); // the stored question and answer, then the new question
//! assert_eq!(input[1]["content"][0]["text"], "Hello!");
//! assert!(expanded.body.get("previous_response_id").is_none());
//! assert_eq!(expanded.own_input()[0]["content"][0]["text"], "And you?");
//! ```

use std::collections::HashMap;
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::error::TranslateError;
use crate::stream::RequestEcho;

/// What byok keeps of one response it served: the request's own input items (references
/// replaced by the items they stand for, every item with an id) and the `response` object as
/// the client got it (its `output`: reasoning with `encrypted_content`, messages, function
/// calls).
///
/// It serializes as `{"input": [...], "response": {...}}`, the form a shared store keeps.
#[derive(Clone, Debug)]
pub struct StoredResponse {
    id: String,
    previous_response_id: Option<String>,
    input: Vec<Value>,
    /// The response, without the fields in `echo`.
    response: Value,
    /// The response's fields that echo the request, as text ([`StoredResponse::written`]).
    echo: RequestEcho,
    /// The whole response as JSON text, when it was written out once for both the store and
    /// the client ([`StoredResponse::encoded`]): the record's serialization copies it.
    text: Option<Box<RawValue>>,
}

impl PartialEq for StoredResponse {
    fn eq(&self, other: &Self) -> bool {
        // `echo` and `text` are parts of the response as text: two records are equal when
        // their responses are.
        self.id == other.id
            && self.previous_response_id == other.previous_response_id
            && self.input == other.input
            && self.response() == other.response()
    }
}

impl StoredResponse {
    /// The record of `response` (a Responses `response` object), answered to a request whose own
    /// input items were `input`. `None` when `response` has no string `id`.
    ///
    /// The `previous_response_id` of the chain is read from `response` (see
    /// [`served_as_stored`]), so it is written once.
    pub fn new(input: Vec<Value>, response: Value) -> Option<Self> {
        Self::of(input, response).ok()
    }

    /// As [`new`](Self::new), but a `response` without a string `id` is given back, for a
    /// caller that answers with it either way.
    pub fn of(input: Vec<Value>, response: Value) -> Result<Self, Value> {
        let Some(id) = response
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(response);
        };
        let previous_response_id = response
            .get("previous_response_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            id,
            previous_response_id,
            input,
            response,
            echo: RequestEcho::default(),
            text: None,
        })
    }

    /// As [`of`](Self::of), with the response written out as JSON text now, once: the record's
    /// serialization (what a store keeps) copies that text, and [`into_json`](Self::into_json)
    /// gives it back to answer the client with, so a response that is kept and answered is
    /// serialized once, not twice (callgrind: ~150k instructions of an ~11 KB response).
    ///
    /// ```
    /// use byok_translate::StoredResponse;
    /// use serde_json::{Value, json};
    ///
    /// let record = StoredResponse::encoded(vec![], json!({"id": "resp_1", "output": []})).unwrap();
    /// let kept: Value = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
    /// assert_eq!(kept, json!({"input": [], "response": {"id": "resp_1", "output": []}}));
    /// assert_eq!(record.into_json(), r#"{"id":"resp_1","output":[]}"#);
    /// ```
    pub fn encoded(input: Vec<Value>, response: Value) -> Result<Self, Value> {
        Self::written(input, response, RequestEcho::default())
    }

    /// As [`encoded`](Self::encoded), for a response collected with its request's echo apart
    /// ([`crate::ResponseCollector::finish_with_echo`]): its text is written with the echo's
    /// text copied as it came, never parsed.
    pub fn written(input: Vec<Value>, response: Value, echo: RequestEcho) -> Result<Self, Value> {
        let mut record = Self::of(input, response)?;
        record.text = Some(echo.write(&record.response));
        record.echo = echo;
        Ok(record)
    }

    /// The `response` object as JSON text (written out now unless [`encoded`](Self::encoded)
    /// did already).
    pub fn into_json(self) -> String {
        let text = self.text.unwrap_or_else(|| self.echo.write(&self.response));
        Box::<str>::from(text).into_string()
    }

    /// The response id (`resp_...`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The response this one continued, if any: the next record of its chain.
    pub fn previous_response_id(&self) -> Option<&str> {
        self.previous_response_id.as_deref()
    }

    /// The request's own input items (not those of the chain before it).
    pub fn input(&self) -> &[Value] {
        &self.input
    }

    /// The response's output items.
    pub fn output(&self) -> &[Value] {
        self.response
            .get("output")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The `response` object, as `GET /v1/responses/{id}` answers it (made whole here when
    /// its echo of the request is kept as text).
    pub fn response(&self) -> Cow<'_, Value> {
        if self.echo.is_empty() {
            Cow::Borrowed(&self.response)
        } else {
            let mut whole = self.response.clone();
            self.echo.clone().restore(&mut whole);
            Cow::Owned(whole)
        }
    }

    /// The `response` object, taken out of the record.
    pub fn into_response(self) -> Value {
        let mut response = self.response;
        self.echo.restore(&mut response);
        response
    }

    /// The ids of the items a later request may refer to (input and output items that have one).
    pub fn item_ids(&self) -> impl Iterator<Item = &str> {
        self.input
            .iter()
            .chain(self.output())
            .filter_map(|item| item.get("id").and_then(Value::as_str))
    }

    /// The input or output item with this id.
    pub fn item(&self, id: &str) -> Option<&Value> {
        self.input
            .iter()
            .chain(self.output())
            .find(|item| item.get("id").and_then(Value::as_str) == Some(id))
    }
}

/// The stored form of a [`StoredResponse`], borrowed for writing.
#[derive(Serialize)]
struct RecordRef<'a> {
    input: &'a [Value],
    response: &'a RawValue,
}

/// The stored form of a [`StoredResponse`], owned for reading.
#[derive(Deserialize)]
struct Record {
    input: Vec<Value>,
    response: Value,
}

impl Serialize for StoredResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let written;
        let response = if let Some(text) = &self.text {
            text
        } else {
            written = self.echo.write(&self.response);
            &written
        };
        RecordRef {
            input: &self.input,
            response,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StoredResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let record = Record::deserialize(deserializer)?;
        Self::new(record.input, record.response)
            .ok_or_else(|| serde::de::Error::custom("a stored response without a string `id`"))
    }
}

/// What a Responses request refers to that a store must supply before it can go upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    /// The response it continues (`previous_response_id`).
    pub previous_response_id: Option<String>,
    /// The ids of its `item_reference` items, in order (repeats kept out).
    pub item_ids: Vec<String>,
}

impl References {
    /// Reads the references of a Responses request body. Malformed ones (a `previous_response_id`
    /// that is not a string, an `item_reference` without a string `id`) are a 400.
    pub fn of(body: &Value) -> Result<Self, TranslateError> {
        let previous_response_id = match body.get("previous_response_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(_) => {
                return Err(TranslateError::invalid(
                    "previous_response_id",
                    "expected the id of a response (`resp_...`)",
                ));
            }
        };
        let mut item_ids: Vec<String> = Vec::new();
        if let Some(Value::Array(input)) = body.get("input") {
            for (at, item) in input.iter().enumerate() {
                if let Some(id) = reference_id(item, at)?
                    && !item_ids.iter().any(|known| known == id)
                {
                    item_ids.push(id.to_owned());
                }
            }
        }
        Ok(Self {
            previous_response_id,
            item_ids,
        })
    }

    /// True when the request refers to nothing stored.
    pub fn is_empty(&self) -> bool {
        self.previous_response_id.is_none() && self.item_ids.is_empty()
    }
}

/// The id an input item refers to, if it is a reference: `{"type": "item_reference", "id"}`,
/// or `{"id"}` alone (the API's `type` is optional on references).
fn reference_id(item: &Value, at: usize) -> Result<Option<&str>, TranslateError> {
    let Value::Object(item) = item else {
        return Ok(None);
    };
    let typed = item.get("type").and_then(Value::as_str) == Some("item_reference");
    let bare = item.len() == 1 && item.contains_key("id");
    if !typed && !bare {
        return Ok(None);
    }
    match item.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(Some(id)),
        _ => Err(TranslateError::invalid(
            format!("input[{at}].id"),
            "an `item_reference` needs the `id` of a stored item",
        )),
    }
}

/// A request with its references replaced by what they stand for.
#[derive(Clone, Debug)]
pub struct Expanded {
    /// The request body for the upstream: `input` holds the whole history as a list, no
    /// `previous_response_id`, no `item_reference`.
    pub body: Value,
    /// Where the request's own items start in `body["input"]` (those before are the chain's).
    own_from: usize,
}

impl Expanded {
    /// The request's own input items, references replaced: what its record keeps.
    pub fn own_input(&self) -> &[Value] {
        self.body
            .get("input")
            .and_then(Value::as_array)
            .and_then(|input| input.get(self.own_from..))
            .unwrap_or_default()
    }

    /// The request's own input items, to change in place (e.g. with [`give_input_ids`], so
    /// that what goes upstream is what is kept).
    pub fn own_input_mut(&mut self) -> &mut [Value] {
        self.body
            .get_mut("input")
            .and_then(Value::as_array_mut)
            .and_then(|input| input.get_mut(self.own_from..))
            .unwrap_or_default()
    }
}

/// Builds the input the upstream gets: for each record of `chain` (the `previous_response_id`
/// chain, oldest first), its input items then its output items, as the OpenAI API itself
/// continues a response; then the request's own input with each `item_reference` replaced by
/// the item of that id, looked up in `chain` and then in `items`. A string `input` becomes a
/// user message (as [`crate::responses_for_codex`] makes it). Instructions are not carried over (the API does not either).
///
/// A reference found nowhere is a 400 that says the item is not stored
/// ([`TranslateError::NotStored`]).
pub fn expand_references<S: BuildHasher>(
    body: Value,
    chain: &[StoredResponse],
    items: &HashMap<String, Value, S>,
) -> Result<Expanded, TranslateError> {
    let Value::Object(mut body) = body else {
        return Err(TranslateError::NotAnObject);
    };
    body.remove("previous_response_id");
    let own = match body.remove("input") {
        None | Some(Value::Null) => Vec::new(),
        // As `responses_for_codex` wraps it.
        Some(Value::String(text)) => vec![json!({
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        })],
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(TranslateError::invalid(
                "input",
                "expected a string or an array of items",
            ));
        }
    };
    let history: usize = chain
        .iter()
        .map(|record| record.input.len() + record.output().len())
        .sum();
    let mut input = Vec::with_capacity(history + own.len());
    for record in chain {
        input.extend(record.input.iter().cloned());
        input.extend(record.output().iter().cloned());
    }
    for (at, item) in own.into_iter().enumerate() {
        let Some(id) = reference_id(&item, at)? else {
            input.push(item);
            continue;
        };
        let found = chain
            .iter()
            .rev()
            .find_map(|record| record.item(id))
            .or_else(|| items.get(id))
            .ok_or_else(|| TranslateError::not_stored(format!("input[{at}]"), "item", id))?;
        input.push(found.clone());
    }
    body.insert("input".into(), Value::Array(input));
    Ok(Expanded {
        body: Value::Object(body),
        own_from: history,
    })
}

/// Gives every input item the shape and id the API lists it with: a `type` (`message` for a
/// bare `role` item), message `content` as a list of parts, and an `id` (`msg_`, `fco_` for a
/// function call's output, `item_` otherwise, then `unique()`) where it has none. The Codex
/// CLI sends such ids on every item it sends back, and the backend takes them.
///
/// ```
/// use byok_translate::give_input_ids;
/// use serde_json::json;
///
/// let mut items = vec![json!({"role": "user", "content": "Hi"}), json!({"type": "reasoning", "id": "rs_1"})];
/// give_input_ids(&mut items, || "7".to_owned());
/// assert_eq!(items[0], json!({"type": "message", "id": "msg_7", "role": "user",
///                             "content": [{"type": "input_text", "text": "Hi"}]}));
/// assert_eq!(items[1]["id"], "rs_1");
/// ```
pub fn give_input_ids(items: &mut [Value], mut unique: impl FnMut() -> String) {
    for item in items {
        let Value::Object(map) = item else { continue };
        if !map.contains_key("type") && map.contains_key("role") {
            map.insert("type".into(), "message".into());
        }
        if map.get("type").and_then(Value::as_str) == Some("message") {
            content_as_parts(map);
        }
        if map.get("id").and_then(Value::as_str).is_none() {
            let prefix = match map.get("type").and_then(Value::as_str) {
                Some("message") => "msg",
                Some("function_call_output") => "fco",
                _ => "item",
            };
            let id = format!("{prefix}_{}", unique());
            // The id first, as the API lists it: rebuilt so, not appended.
            let mut ordered = Map::with_capacity(map.len() + 1);
            ordered.insert("type".into(), map.remove("type").unwrap_or(Value::Null));
            ordered.insert("id".into(), id.into());
            ordered.append(map);
            *map = ordered;
        }
    }
}

/// A message's string `content` as one text part (`output_text` for the assistant's).
fn content_as_parts(message: &mut Map<String, Value>) {
    let kind = if message.get("role").and_then(Value::as_str) == Some("assistant") {
        "output_text"
    } else {
        "input_text"
    };
    let Some(Value::String(text)) = message.get_mut("content") else {
        return;
    };
    let text = std::mem::take(text);
    message.insert("content".into(), json!([{"type": kind, "text": text}]));
}

/// Marks a `response` object as byok serves it when it keeps it: `store: true`, and the
/// `previous_response_id` the client sent (the upstream got the expanded history instead, and
/// reports `store: false` and no previous response).
pub fn served_as_stored(response: &mut Value, previous_response_id: Option<&str>) {
    let Some(response) = response.as_object_mut() else {
        return;
    };
    response.insert("store".into(), true.into());
    response.insert(
        "previous_response_id".into(),
        previous_response_id.map_or(Value::Null, Into::into),
    );
}

/// The order of a list of input items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first (the API's default).
    #[default]
    Desc,
}

/// The query of `GET /v1/responses/{id}/input_items`, as the API takes it (`include` and any
/// other parameter are accepted and have no effect here).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ItemsQuery {
    /// How many items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The order of the list (default `desc`).
    pub order: Option<Order>,
    /// List the items after this item id (in the list's order).
    pub after: Option<String>,
    /// List the items before this item id (in the list's order).
    pub before: Option<String>,
}

/// The API's largest page of input items.
const MAX_PAGE: u32 = 100;
/// The API's default page of input items.
const DEFAULT_PAGE: u32 = 20;

/// One page of a stored response's input items, in the API's list shape:
/// `{"object": "list", "data", "first_id", "last_id", "has_more"}`.
///
/// ```
/// use byok_translate::{ItemsQuery, Order, StoredResponse, input_items_page};
/// use serde_json::json;
///
/// let items = (1..=3).map(|n| json!({"type": "message", "id": format!("msg_{n}"), "role": "user", "content": []})).collect();
/// let record = StoredResponse::new(items, json!({"id": "resp_1", "output": []})).unwrap();
/// let query = ItemsQuery { limit: Some(2), order: Some(Order::Asc), ..ItemsQuery::default() };
/// let page = input_items_page(&record, &query).unwrap();
/// assert_eq!((page["first_id"].as_str(), page["last_id"].as_str()), (Some("msg_1"), Some("msg_2")));
/// assert_eq!(page["has_more"], true);
/// ```
pub fn input_items_page(
    record: &StoredResponse,
    query: &ItemsQuery,
) -> Result<Value, TranslateError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(TranslateError::invalid(
            "limit",
            format!("expected a number from 1 to {MAX_PAGE}"),
        ));
    }
    let mut items: Vec<&Value> = record.input.iter().collect();
    if query.order.unwrap_or_default() == Order::Desc {
        items.reverse();
    }
    let position = |param: &str, id: &str| {
        items
            .iter()
            .position(|item| item.get("id").and_then(Value::as_str) == Some(id))
            .ok_or_else(|| {
                TranslateError::invalid(
                    param,
                    format!("the response `{}` has no input item `{id}`", record.id),
                )
            })
    };
    let start = match &query.after {
        Some(id) => position("after", id)? + 1,
        None => 0,
    };
    let end = match &query.before {
        Some(id) => position("before", id)?,
        None => items.len(),
    };
    let window = items.get(start..end).unwrap_or_default();
    let page = &window[..window.len().min(limit as usize)];
    let id_of = |item: Option<&&Value>| item.and_then(|item| item.get("id")).cloned();
    Ok(json!({
        "object": "list",
        "data": page,
        "first_id": id_of(page.first()),
        "last_id": id_of(page.last()),
        "has_more": window.len() > page.len(),
    }))
}
