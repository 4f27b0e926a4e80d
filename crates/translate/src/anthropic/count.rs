//! `count_tokens` without a tokenizer: a close estimate from the translated request.

use serde_json::Value;

/// What an image costs: OpenAI's count for a 1024 x 1024 image at high detail
/// (85 base + 4 tiles x 170). The image's size is not decoded; most screenshots and photos
/// clients send are scaled near this size.
const IMAGE_TOKENS: u64 = 765;

/// Every message or item costs a few tokens of framing (OpenAI's cookbook counts 3 per
/// message, and 3 more that prime the answer).
const ITEM_TOKENS: u64 = 3;

/// The input tokens a Responses request body (as [`crate::messages_to_responses`] builds it)
/// will likely cost, for `POST /v1/messages/count_tokens`.
///
/// There is no tokenizer here (the crate stays small and pure): text counts one token per
/// four bytes of ASCII, the average of GPT's `o200k` tokenizer on English prose and code,
/// and one per other character (CJK and most non-Latin scripts take about one each). Tool
/// definitions count as their JSON text. Reasoning carried in a signature is not counted:
/// it is not billed as input. Expect it within about 10-20% of the real count on ordinary
/// text, which is what clients use it for (deciding when to compact).
///
/// ```
/// use byok_translate::{Preset, estimate_input_tokens, messages_to_responses};
/// use serde_json::json;
///
/// let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
///     "messages": [{"role": "user", "content": "What is the capital of France?"}]});
/// let body = messages_to_responses(&request, "gpt-5.5", Preset::Codex).unwrap().body;
/// assert_eq!(estimate_input_tokens(&body), 14);
/// ```
pub fn estimate_input_tokens(body: &Value) -> u64 {
    let mut tokens = ITEM_TOKENS;
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str)
        && !instructions.is_empty()
    {
        tokens += ITEM_TOKENS + text_tokens(instructions);
    }
    for item in array(body.get("input")) {
        tokens += ITEM_TOKENS;
        match item.get("type").and_then(Value::as_str) {
            Some("function_call") => {
                tokens += text_tokens(str_of(item.get("name")));
                tokens += text_tokens(str_of(item.get("arguments")));
            }
            Some("function_call_output") => match item.get("output") {
                Some(Value::String(text)) => tokens += text_tokens(text),
                parts => tokens += array(parts).iter().map(part_tokens).sum::<u64>(),
            },
            Some("reasoning") => {
                for part in array(item.get("summary")) {
                    tokens += text_tokens(str_of(part.get("text")));
                }
            }
            _ => {
                tokens += array(item.get("content"))
                    .iter()
                    .map(part_tokens)
                    .sum::<u64>();
            }
        }
    }
    for tool in array(body.get("tools")) {
        tokens += ITEM_TOKENS + text_tokens(&tool.to_string());
    }
    tokens
}

fn array(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn str_of(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or("")
}

fn part_tokens(part: &Value) -> u64 {
    match part.get("type").and_then(Value::as_str) {
        Some("input_image") => IMAGE_TOKENS,
        // A file is read as its text: about what its bytes would be, unknowable here.
        Some("input_file") => text_tokens(str_of(part.get("file_data"))) / 4,
        _ => text_tokens(str_of(part.get("text"))),
    }
}

/// One token per four ASCII bytes (rounded up), one per other character.
fn text_tokens(text: &str) -> u64 {
    let ascii = text.bytes().filter(u8::is_ascii).count() as u64;
    let other = text.chars().filter(|c| !c.is_ascii()).count() as u64;
    ascii.div_ceil(4) + other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_by_script() {
        assert_eq!(text_tokens(""), 0);
        assert_eq!(text_tokens("abcd"), 1);
        assert_eq!(text_tokens("abcde"), 2);
        assert_eq!(text_tokens("日本語"), 3);
    }
}
