//! A message or reasoning item being built from Chat deltas, and the events of its life.

use serde_json::{Value, json};

use super::answer::{message_item, reasoning_item};

/// What an item streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Reasoning,
    Text,
    Refusal,
}

/// The message or reasoning item being streamed (one content or summary part).
#[derive(Debug)]
pub(crate) struct Open {
    pub kind: Kind,
    pub output_index: u32,
    id: String,
    text: String,
}

/// An event's type and body (`type` and `sequence_number` are added when it is sent).
pub(crate) type Event = (&'static str, Value);

impl Open {
    pub fn new(kind: Kind, base: &str, output_index: u32) -> Self {
        let prefix = if kind == Kind::Reasoning { "rs" } else { "msg" };
        Self {
            kind,
            output_index,
            id: format!("{prefix}_{base}_{output_index}"),
            text: String::new(),
        }
    }

    /// Where an event about this item points.
    fn at(&self, extra: Value) -> Value {
        let mut at = json!({"item_id": self.id, "output_index": self.output_index});
        if let (Value::Object(at), Value::Object(extra)) = (&mut at, extra) {
            at.extend(extra);
        }
        at
    }

    /// `output_item.added`, then the part's `added`.
    pub fn added(&self) -> [Event; 2] {
        let (item, part_event, part) = match self.kind {
            Kind::Reasoning => (
                json!({"type": "reasoning", "id": self.id, "summary": []}),
                "response.reasoning_summary_part.added",
                json!({"summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
            ),
            Kind::Text | Kind::Refusal => (
                json!({"type": "message", "id": self.id, "status": "in_progress", "role": "assistant", "content": []}),
                "response.content_part.added",
                json!({"content_index": 0, "part": self.part("")}),
            ),
        };
        [
            (
                "response.output_item.added",
                json!({"output_index": self.output_index, "item": item}),
            ),
            (part_event, self.at(part)),
        ]
    }

    /// Takes in more text, and says so.
    pub fn delta(&mut self, text: &str) -> Event {
        self.text.push_str(text);
        let (event, extra) = match self.kind {
            Kind::Reasoning => (
                "response.reasoning_summary_text.delta",
                json!({"summary_index": 0, "delta": text}),
            ),
            Kind::Text => (
                "response.output_text.delta",
                json!({"content_index": 0, "delta": text, "logprobs": []}),
            ),
            Kind::Refusal => (
                "response.refusal.delta",
                json!({"content_index": 0, "delta": text}),
            ),
        };
        (event, self.at(extra))
    }

    /// The text's and the part's `done` events, and the finished item (for `output_item.done`).
    pub fn done(self) -> (Vec<Event>, Value) {
        let part = self.part(&self.text);
        match self.kind {
            Kind::Reasoning => {
                let events = vec![
                    (
                        "response.reasoning_summary_text.done",
                        self.at(json!({"summary_index": 0, "text": self.text})),
                    ),
                    (
                        "response.reasoning_summary_part.done",
                        self.at(json!({"summary_index": 0, "part": part})),
                    ),
                ];
                (events, reasoning_item(&self.id, &self.text))
            }
            Kind::Text | Kind::Refusal => {
                let text_done = if self.kind == Kind::Text {
                    (
                        "response.output_text.done",
                        json!({"content_index": 0, "text": self.text, "logprobs": []}),
                    )
                } else {
                    (
                        "response.refusal.done",
                        json!({"content_index": 0, "refusal": self.text}),
                    )
                };
                let events = vec![
                    (text_done.0, self.at(text_done.1)),
                    (
                        "response.content_part.done",
                        self.at(json!({"content_index": 0, "part": part.clone()})),
                    ),
                ];
                (events, message_item(&self.id, vec![part]))
            }
        }
    }

    fn part(&self, text: &str) -> Value {
        match self.kind {
            Kind::Reasoning => json!({"type": "summary_text", "text": text}),
            Kind::Text => json!({"type": "output_text", "text": text, "annotations": []}),
            Kind::Refusal => json!({"type": "refusal", "refusal": text}),
        }
    }
}
