//! The `output` of a response, rebuilt from its streamed events.
//!
//! The Codex backend often ends with `response.completed` whose `output` is `[]` although
//! every item was streamed; so the output is built from `response.output_item.done` items,
//! and, for an item that never got its `done`, from its `added` event and its deltas.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::wire::RawEvent;
use crate::tool_names::ToolNameMap;

/// Gathers output items by `output_index`.
#[derive(Debug, Default)]
pub(crate) struct OutputAssembler {
    items: BTreeMap<u32, Slot>,
}

/// What is known of one output item.
#[derive(Debug, Default)]
struct Slot {
    done: Option<Value>,
    added: Option<Value>,
    /// Text deltas by `content_index` (message) or `summary_index` (reasoning).
    texts: BTreeMap<u32, String>,
    refusals: BTreeMap<u32, String>,
    arguments: String,
    /// The kind of delta seen, for an item whose `added` event is missing.
    delta_kind: Option<&'static str>,
}

impl OutputAssembler {
    /// Takes in one event.
    pub fn event(&mut self, event: &RawEvent<'_>) {
        let Some(index) = event.output_index else {
            return;
        };
        let parse_item = || {
            event
                .item
                .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        };
        let delta = event.delta.as_deref().unwrap_or_default();
        match &*event.kind {
            "response.output_item.added" => self.slot(index).added = parse_item(),
            "response.output_item.done" => self.slot(index).done = parse_item(),
            "response.output_text.delta" => {
                let slot = self.slot(index);
                slot.delta_kind = Some("message");
                slot.texts
                    .entry(event.content_index.unwrap_or(0))
                    .or_default()
                    .push_str(delta);
            }
            "response.refusal.delta" => {
                let slot = self.slot(index);
                slot.delta_kind = Some("message");
                slot.refusals
                    .entry(event.content_index.unwrap_or(0))
                    .or_default()
                    .push_str(delta);
            }
            "response.reasoning_summary_text.delta" => {
                let slot = self.slot(index);
                slot.delta_kind = Some("reasoning");
                slot.texts
                    .entry(event.summary_index.unwrap_or(0))
                    .or_default()
                    .push_str(delta);
            }
            "response.function_call_arguments.delta" => {
                let slot = self.slot(index);
                slot.delta_kind = Some("function_call");
                slot.arguments.push_str(delta);
            }
            "response.function_call_arguments.done" => {
                if let Some(arguments) = &event.arguments {
                    (**arguments).clone_into(&mut self.slot(index).arguments);
                }
            }
            _ => {}
        }
    }

    fn slot(&mut self, index: u32) -> &mut Slot {
        self.items.entry(index).or_default()
    }

    /// True when no item was streamed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The output items in order, with tool names restored.
    pub fn output(&self, names: &ToolNameMap) -> Vec<Value> {
        self.items
            .values()
            .map(|slot| {
                let mut item = slot
                    .done
                    .clone()
                    .unwrap_or_else(|| slot.built_from_deltas());
                restore_name(&mut item, names);
                item
            })
            .collect()
    }
}

impl Slot {
    /// An item that never got its `done` event: its `added` form, filled with its deltas.
    fn built_from_deltas(&self) -> Value {
        let mut item = self
            .added
            .clone()
            .unwrap_or_else(|| json!({"type": self.delta_kind.unwrap_or("message")}));
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "message" => {
                let mut content = Vec::new();
                for (index, text) in &self.texts {
                    content.push(json!({"type": "output_text", "text": text, "annotations": []}));
                    if let Some(refusal) = self.refusals.get(index) {
                        content.push(json!({"type": "refusal", "refusal": refusal}));
                    }
                }
                let orphans = self
                    .refusals
                    .iter()
                    .filter(|(index, _)| !self.texts.contains_key(index));
                content.extend(
                    orphans.map(|(_, refusal)| json!({"type": "refusal", "refusal": refusal})),
                );
                item["content"] = content.into();
                item["role"] = "assistant".into();
            }
            "reasoning" => {
                let summary: Vec<Value> = self
                    .texts
                    .values()
                    .map(|text| json!({"type": "summary_text", "text": text}))
                    .collect();
                item["summary"] = summary.into();
            }
            "function_call" => item["arguments"] = self.arguments.clone().into(),
            _ => {}
        }
        item
    }
}

/// Puts back the client's name of a tool whose name was shortened for the upstream.
pub(crate) fn restore_name(item: &mut Value, names: &ToolNameMap) {
    if names.is_empty() {
        return;
    }
    if let Some(Value::String(name)) = item.get_mut("name") {
        let original = names.original(name);
        if original != name {
            *name = original.to_owned();
        }
    }
}
