//! Reading server-sent events on the client side.

use serde_json::Value;

/// One event: its `event:` name, if any, and its `data:` lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub name: Option<String>,
    /// The `data:` field.
    pub data: String,
}

impl Event {
    /// The data as JSON (`None` for `[DONE]` and other non-JSON data).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// Splits an SSE body into events; comment lines (`: keep-alive`) are skipped.
pub fn events(body: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let mut name = None;
    let mut data: Vec<&str> = Vec::new();
    for line in body.lines().chain(std::iter::once("")) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if !data.is_empty() {
                out.push(Event {
                    name: name.take(),
                    data: data.join("\n"),
                });
            }
            name = None;
            data.clear();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        } else if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim().to_owned());
        }
    }
    out
}

/// The JSON data of every event (the `[DONE]` marker left out).
pub fn json_events(body: &str) -> Vec<Value> {
    events(body).iter().filter_map(Event::json).collect()
}
