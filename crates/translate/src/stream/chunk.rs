//! Writes Chat Completions chunk SSE bytes straight into the output buffer.
//!
//! The part every chunk shares (`id`, `object`, `created`, `model`) is rendered once; each
//! chunk is then that prefix, a small delta written by hand, and strings escaped by `serde_json`.

use serde::Serialize;

use crate::usage::ChatUsage;

/// Renders the chunks of one stream.
#[derive(Debug, Default)]
pub(crate) struct ChunkWriter {
    /// `data: {"id":..,"object":"chat.completion.chunk","created":..,"model":..,"choices":[`
    prefix: Vec<u8>,
}

impl ChunkWriter {
    /// Sets the fields every chunk repeats; `id` is the Responses id (made a Chat id by
    /// [`crate::answer::chat_completion_id`]).
    pub fn set_head(&mut self, id: &str, created: &str, model: &str) {
        self.prefix.clear();
        self.prefix.extend_from_slice(b"data: {\"id\":");
        write_str(&mut self.prefix, &crate::answer::chat_completion_id(id));
        self.prefix
            .extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        self.prefix.extend_from_slice(created.as_bytes());
        self.prefix.extend_from_slice(b",\"model\":");
        write_str(&mut self.prefix, model);
        self.prefix.extend_from_slice(b",\"choices\":[");
    }

    pub fn has_head(&self) -> bool {
        !self.prefix.is_empty()
    }

    fn open_delta(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{");
    }

    fn close_delta(out: &mut Vec<u8>) {
        out.extend_from_slice(b"},\"finish_reason\":null}]}\n\n");
    }

    /// The first chunk: the assistant role.
    pub fn role(&self, out: &mut Vec<u8>) {
        self.open_delta(out);
        out.extend_from_slice(b"\"role\":\"assistant\",\"content\":\"\"");
        Self::close_delta(out);
    }

    /// A chunk with one string field of the delta: `content`, `refusal` or `reasoning_content`.
    pub fn text(&self, out: &mut Vec<u8>, field: TextField, text: Text<'_>) {
        self.open_delta(out);
        out.extend_from_slice(field.key());
        text.write(out);
        Self::close_delta(out);
    }

    /// A tool call's first chunk: its index, id, name and the arguments known so far.
    pub fn tool_call_start(
        &self,
        out: &mut Vec<u8>,
        index: usize,
        id: &str,
        name: &str,
        arguments: &str,
    ) {
        self.open_delta(out);
        out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
        out.extend_from_slice(index.to_string().as_bytes());
        out.extend_from_slice(b",\"id\":");
        write_str(out, id);
        out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
        write_str(out, name);
        out.extend_from_slice(b",\"arguments\":");
        write_str(out, arguments);
        out.extend_from_slice(b"}}]");
        Self::close_delta(out);
    }

    /// More arguments of the tool call at `index`.
    pub fn tool_call_arguments(&self, out: &mut Vec<u8>, index: usize, arguments: Text<'_>) {
        self.open_delta(out);
        out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
        out.extend_from_slice(index.to_string().as_bytes());
        out.extend_from_slice(b",\"function\":{\"arguments\":");
        arguments.write(out);
        out.extend_from_slice(b"}}]");
        Self::close_delta(out);
    }

    /// The chunk with the one `finish_reason` of the stream.
    pub fn finish(&self, out: &mut Vec<u8>, reason: &str) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{},\"finish_reason\":");
        write_str(out, reason);
        out.extend_from_slice(b"}]}\n\n");
    }

    /// The usage chunk (`choices: []`).
    pub fn usage(&self, out: &mut Vec<u8>, usage: ChatUsage) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"],\"usage\":");
        write_json(out, &usage);
        out.extend_from_slice(b"}\n\n");
    }

    /// The end of a successful stream.
    pub fn done(out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

/// The error event that ends a failed stream, in OpenAI's shape.
pub(crate) fn error_event(out: &mut Vec<u8>, message: &str, code: Option<&str>) {
    #[derive(Serialize)]
    struct Body<'a> {
        message: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        param: Option<&'a str>,
        code: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Envelope<'a> {
        error: Body<'a>,
    }
    out.extend_from_slice(b"data: ");
    write_json(
        out,
        &Envelope {
            error: Body {
                message,
                kind: "upstream_error",
                param: None,
                code,
            },
        },
    );
    out.extend_from_slice(b"\n\n");
}

/// A string for a chunk: text to escape, or a JSON string as the upstream wrote it (checked
/// valid by the reader), copied as it is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Text<'a> {
    Plain(&'a str),
    Json(&'a str),
}

impl Text<'_> {
    pub(crate) fn write(self, out: &mut Vec<u8>) {
        match self {
            Self::Plain(text) => write_str(out, text),
            Self::Json(json) => out.extend_from_slice(json.as_bytes()),
        }
    }
}

/// Which string field of a delta a text goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextField {
    Content,
    Refusal,
    Reasoning,
}

impl TextField {
    fn key(self) -> &'static [u8] {
        match self {
            Self::Content => b"\"content\":",
            Self::Refusal => b"\"refusal\":",
            Self::Reasoning => b"\"reasoning_content\":",
        }
    }
}

/// Writes `s` as a JSON string (quoted and escaped).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    write_json(out, s);
}

pub(crate) fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("serializing plain data into a Vec cannot fail");
}
