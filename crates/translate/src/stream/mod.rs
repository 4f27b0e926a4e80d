//! Incremental translators of SSE streams, all driven the same way through [`SseTranslator`].

mod assemble;
mod chat;
pub(crate) mod chunk;
mod collect;
mod delta;
mod passthrough;
mod tool_calls;
pub(crate) mod wire;

pub use chat::ChatStreamTranslator;
pub(crate) use chunk::write_json;
pub use collect::{RequestEcho, ResponseCollector};
pub use passthrough::ResponsesPassthrough;
pub(crate) use wire::incomplete_finish_reason;

/// One event of the hot path, as far as a translator wants it read.
#[allow(
    clippy::large_enum_variant,
    reason = "returned and matched at once, never stored: boxing would allocate per event"
)]
pub(crate) enum Parsed<'a> {
    /// A `*.delta` event, its type and its fields (read without a full parse when it is
    /// written the usual way).
    Delta(&'a [u8], wire::Delta<'a>),
    /// Any other event, parsed.
    Event(wire::Event<'a>),
}

/// Reads one event's data, unless `wants` says its type cannot matter (then it is not even
/// parsed: lifecycle events carry the whole 10-30 KB `instructions`). Lines that are not JSON
/// events (keep-alives, the `[DONE]` of proxies) give `None`.
///
/// An event that carries a long `instructions` string (`response.created` and the terminal
/// event echo the request's) is parsed without it: `scratch` gets a copy of the data with the
/// string emptied ([`without_instructions`]), since no translator reads it and serde skips a
/// string at ~4 instructions a byte where finding its end takes a fraction of one
/// (callgrind, the recorded text stream: 89k of a Chat stream's 735k instructions went to
/// skipping the two 11 KB echoes).
pub(crate) fn parse_event<'a>(
    data: &'a [u8],
    scratch: &'a mut Vec<u8>,
    wants: impl FnOnce(&[u8]) -> bool,
) -> Option<Parsed<'a>> {
    match wire::sniff_kind(data) {
        Some(kind) if !wants(kind) => None,
        Some(kind) if kind.ends_with(b".delta") => {
            let after_kind = wire::KIND_PREFIX.len() + kind.len() + 1;
            let fast = delta::read_delta_after(data, after_kind);
            fast.or_else(|| serde_json::from_slice(data).ok())
                .map(|delta| Parsed::Delta(kind, delta))
        }
        _ => {
            let data = if without_instructions(data, scratch).is_some() {
                scratch.as_slice()
            } else {
                data
            };
            serde_json::from_slice(data).ok().map(Parsed::Event)
        }
    }
}

/// Below this length an `instructions` string is parsed as it is: copying the event would
/// cost more than skipping it.
const LONG_INSTRUCTIONS: usize = 1024;

/// What [`without_instructions`] took out of an event's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Emptied {
    /// Where the string's text began (just after its opening quote).
    pub(crate) at: usize,
    /// How many bytes of text it had.
    pub(crate) len: usize,
}

impl Emptied {
    /// Where the byte at `at` of the emptied copy is in the original data.
    pub(crate) fn original(self, at: usize) -> usize {
        if at < self.at { at } else { at + self.len }
    }
}

/// Writes into `scratch` the event `data` with the value of its first `"instructions"` key
/// emptied (`"instructions":""`), when that value is a string of at least
/// [`LONG_INSTRUCTIONS`] bytes; what it took out, if it did. Only a key can match: inside a
/// JSON string every `"` is escaped, and the match must follow a `{` or `,`. Data that is no
/// valid JSON is left as it is, for serde to refuse.
pub(crate) fn without_instructions(data: &[u8], scratch: &mut Vec<u8>) -> Option<Emptied> {
    const KEY: &[u8] = b"\"instructions\":\"";
    if data.len() < LONG_INSTRUCTIONS {
        return None;
    }
    let at = memchr::memmem::find(data, KEY)?;
    if at == 0 || !matches!(data[at - 1], b'{' | b',') {
        return None;
    }
    let start = at + KEY.len();
    let end = string_end(data, start)?;
    if end - start < LONG_INSTRUCTIONS {
        return None;
    }
    scratch.clear();
    scratch.reserve(data.len() - (end - start));
    scratch.extend_from_slice(&data[..start]);
    scratch.extend_from_slice(&data[end..]);
    Some(Emptied {
        at: start,
        len: end - start,
    })
}

/// Where the JSON string whose text starts at `from` ends (its closing quote), if it does.
/// Quotes are looked for, not escapes: a long text holds far fewer quotes than backslashes
/// (the recorded instructions: 18 against 128), and a quote after an odd run of backslashes
/// is escaped.
fn string_end(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let quote = at + memchr::memchr(b'"', data.get(at..)?)?;
        let escapes = data[from..quote]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count();
        if escapes % 2 == 0 {
            return Some(quote);
        }
        at = quote + 1;
    }
}

/// An incremental stream translator: upstream bytes in, translated SSE bytes out.
///
/// Every translator of this crate implements it, so a caller wraps them all the same way:
/// `feed` each received chunk, `finish` when the upstream closes, and read `state` to learn
/// whether the stream ended well and `usage` for the tokens it cost.
pub trait SseTranslator {
    /// Feeds upstream bytes (split anywhere), appends translated SSE bytes to `out`.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>);
    /// Upstream ended: flushes, and if no terminal event was seen emits the error event.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// Where the stream stands (so the caller knows whether it ended well).
    fn state(&self) -> StreamState;
    /// The token counts the upstream reported, once it has (with the terminal event, as a
    /// rule, whether or not the client asked to be sent them). `None` until then, and for
    /// translators that do not read usage.
    fn usage(&self) -> Option<crate::TokenCounts> {
        None
    }
    /// The data of the last `codex.rate_limits` event fed since the previous call: the Codex
    /// backend's in-stream report of the account's limits, for the caller to record. The
    /// event itself is not the client's business (Chat) or passed on as it came (Responses).
    fn take_rate_limits(&mut self) -> Option<serde_json::Value> {
        None
    }
}

/// The type of the Codex backend's in-stream rate-limit event.
pub(crate) const RATE_LIMITS_EVENT: &str = "codex.rate_limits";

/// Where a translated stream stands.
///
/// Every state but `Running` is terminal: the client has been sent the stream's end.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamState {
    /// No terminal event yet.
    Running,
    /// The answer ended well.
    Completed,
    /// The answer ended early, its reason given to the client (`max_output_tokens`,
    /// `content_filter`, ...).
    Incomplete {
        /// The upstream's reason.
        reason: String,
    },
    /// The upstream reported a failure; the client got an error event.
    Failed {
        /// What went wrong, as told to the client.
        message: String,
    },
    /// The upstream's stream ended before its terminal event; the client got an error event.
    Cut {
        /// What the client was told.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emptied(data: &str) -> Option<String> {
        let mut scratch = Vec::new();
        without_instructions(data.as_bytes(), &mut scratch)
            .map(|_| String::from_utf8(scratch).unwrap())
    }

    #[test]
    fn long_instructions_are_emptied_and_the_rest_kept() {
        // Escaped quotes and backslashes inside the string do not end it.
        let text = format!("{}\\\"quoted\\\" \\\\ end", "a\\n".repeat(600));
        let data = format!(
            r#"{{"type":"response.created","response":{{"id":"r","instructions":"{text}","model":"gpt-5"}}}}"#
        );
        assert_eq!(
            emptied(&data).as_deref(),
            Some(
                r#"{"type":"response.created","response":{"id":"r","instructions":"","model":"gpt-5"}}"#
            )
        );
        let mut scratch = Vec::new();
        let Some(Parsed::Event(event)) = parse_event(data.as_bytes(), &mut scratch, |_| true)
        else {
            panic!("the event parses");
        };
        let head = event.response.unwrap();
        assert_eq!((&*head.id, &*head.model), ("r", "gpt-5"));
    }

    #[test]
    fn only_a_long_instructions_key_is_touched() {
        let long = "x".repeat(2000);
        // Short instructions: parsed as they are.
        assert_eq!(
            emptied(&format!(r#"{{"instructions":"short","pad":"{long}"}}"#)),
            None
        );
        // The words inside another string (their quotes escaped) are no key.
        let inside = format!(r#"{{"delta":"\"instructions\":\"{long}"}}"#);
        assert_eq!(emptied(&inside), None);
        // Not a string, or never closed: left for serde to read or refuse.
        assert_eq!(
            emptied(&format!(r#"{{"instructions":null,"pad":"{long}"}}"#)),
            None
        );
        assert_eq!(emptied(&format!(r#"{{"instructions":"{long}"#)), None);
        assert_eq!(emptied(&format!(r#"{{"instructions":"{long}\"#)), None);
    }
}
