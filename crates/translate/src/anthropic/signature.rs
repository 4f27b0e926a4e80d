//! A `thinking` block's `signature`: the reasoning item it came from, so it can go back.
//!
//! The Codex backend stores nothing (`store: false`): reasoning survives a turn only when the
//! client sends the item back with its `encrypted_content`. Anthropic clients send thinking
//! blocks back with their `signature` untouched, so the signature carries what rebuilds the
//! item: its id (the Codex CLI sends reasoning items back with their ids, see
//! `tests/data/codex-cli-request-turn2.json`) and its `encrypted_content`.
//!
//! Format: `byok1:{id}:{encrypted_content}`. Neither part holds a `:` (ids are `rs_...`,
//! encrypted content is URL-safe base64). A signature of another form (one that real Claude
//! made, say) cannot be read by a GPT model: its block is dropped.

use serde_json::{Value, json};

const PREFIX: &str = "byok1:";

/// The signature of a reasoning item, `None` when it has no encrypted content to carry.
pub(crate) fn encode(id: Option<&str>, encrypted_content: Option<&str>) -> Option<String> {
    let encrypted = encrypted_content.filter(|e| !e.is_empty())?;
    Some(format!("{PREFIX}{}:{encrypted}", id.unwrap_or("")))
}

/// The reasoning item a thinking block with this `signature` (and text) came from.
pub(crate) fn decode(signature: &str, text: &str) -> Option<Value> {
    let (id, encrypted) = signature.strip_prefix(PREFIX)?.split_once(':')?;
    if encrypted.is_empty() {
        return None;
    }
    let summary = if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": text}])
    };
    let mut item = json!({"type": "reasoning", "summary": summary, "encrypted_content": encrypted});
    if !id.is_empty() {
        item["id"] = id.into();
    }
    Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_rebuilds_its_item() {
        let signature = encode(Some("rs_1"), Some("gAAAAB-x_y=")).unwrap();
        assert_eq!(
            decode(&signature, "Thinking"),
            Some(
                json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAAB-x_y=",
                "summary": [{"type": "summary_text", "text": "Thinking"}]})
            )
        );
        assert_eq!(encode(Some("rs_1"), None), None);
        assert_eq!(decode("EqQBCkYIBxgCKkB-a-claude-signature", "x"), None);
        assert_eq!(decode("byok1:rs_1:", "x"), None);
    }
}
