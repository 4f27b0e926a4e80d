//! An incremental Server-Sent Events parser: bytes in (split anywhere), events out.
//!
//! It follows the WHATWG rules that matter for API streams: lines end in CRLF, LF or CR;
//! `event:` names the event; several `data:` lines join with `\n`; lines starting with `:`
//! are comments; a blank line ends an event; an event without data is not dispatched.
//! Events borrow from the parser's buffer, so a single-line `data:` payload is never copied.

use std::borrow::Cow;

/// One dispatched event. Borrowed from the parser until the next call that changes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` name, if the event had one.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n` (invalid UTF-8 replaced by U+FFFD).
    pub data: Cow<'a, str>,
    /// The event's bytes exactly as received, from its first line to its ending blank line
    /// (comments and `id:` lines included), for callers that pass events on untouched.
    pub raw: &'a [u8],
}

/// Where the `data:` lines of the event being read are.
#[derive(Clone, Copy, Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line so far: its range in the buffer (no copy needed).
    One(usize, usize),
    /// Several lines, joined in `joined`.
    Many,
}

/// An incremental SSE parser.
///
/// ```
/// use byok_translate::SseParser;
///
/// let mut parser = SseParser::new();
/// parser.push(b"event: greeting\r\ndata: hel");
/// assert!(parser.next_event().is_none()); // the event is not complete yet
/// parser.push(b"lo\r\n\r\n: a comment\ndata: {}\n");
/// let event = parser.next_event().unwrap();
/// assert_eq!((event.event, &*event.data), (Some("greeting"), "hello"));
/// assert!(parser.next_event().is_none());
/// parser.end(); // the upstream closed: a last event without its blank line still counts
/// assert_eq!(parser.next_event().unwrap().data, "{}");
/// ```
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Where the event being read starts (bytes before it are consumed).
    event_start: usize,
    /// Where the next unread line starts.
    line_start: usize,
    /// The last line ended in CR: a LF right after it is part of that line ending.
    skip_lf: bool,
    name: Option<(usize, usize)>,
    data: Data,
    joined: Vec<u8>,
}

impl SseParser {
    /// A parser with nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes. Events they complete come out of [`SseParser::next_event`].
    pub fn push(&mut self, input: &[u8]) {
        if self.event_start > 0 {
            // Drop what earlier events used, keeping the offsets of the current one valid.
            let consumed = self.event_start;
            self.buf.drain(..consumed);
            self.event_start = 0;
            self.line_start -= consumed;
            if let Some((start, end)) = &mut self.name {
                *start -= consumed;
                *end -= consumed;
            }
            if let Data::One(start, end) = &mut self.data {
                *start -= consumed;
                *end -= consumed;
            }
        }
        self.buf.extend_from_slice(input);
    }

    /// Marks the end of the input: a last event that lacks its blank line is completed, so
    /// the following [`SseParser::next_event`] calls return it.
    pub fn end(&mut self) {
        self.push(b"\n\n");
    }

    /// The next complete event, if the bytes pushed so far hold one.
    pub fn next_event(&mut self) -> Option<SseEvent<'_>> {
        loop {
            if self.skip_lf && self.line_start < self.buf.len() {
                self.skip_lf = false;
                if self.buf[self.line_start] == b'\n' {
                    self.line_start += 1;
                }
            }
            let start = self.line_start;
            let len = memchr::memchr2(b'\n', b'\r', &self.buf[start..])?;
            let end = start + len;
            self.skip_lf = self.buf[end] == b'\r';
            self.line_start = end + 1;
            if len == 0 {
                if matches!(self.data, Data::None) {
                    // A blank line ending an event without data: nothing to dispatch.
                    self.name = None;
                    self.event_start = self.line_start;
                    continue;
                }
                return Some(self.dispatch());
            }
            self.read_field(start, end);
        }
    }

    fn read_field(&mut self, start: usize, end: usize) {
        let line = &self.buf[start..end];
        let (field, value_start) = match memchr::memchr(b':', line) {
            Some(0) => return, // a comment
            Some(colon) => {
                let after = start + colon + 1;
                let skip_space = usize::from(self.buf.get(after) == Some(&b' ') && after < end);
                (&line[..colon], after + skip_space)
            }
            None => (line, end),
        };
        match field {
            b"data" => match self.data {
                Data::None => self.data = Data::One(value_start, end),
                Data::One(first_start, first_end) => {
                    self.joined.clear();
                    self.joined
                        .extend_from_slice(&self.buf[first_start..first_end]);
                    self.joined.push(b'\n');
                    self.joined.extend_from_slice(&self.buf[value_start..end]);
                    self.data = Data::Many;
                }
                Data::Many => {
                    self.joined.push(b'\n');
                    self.joined.extend_from_slice(&self.buf[value_start..end]);
                }
            },
            b"event" => self.name = Some((value_start, end)),
            _ => {} // `id`, `retry` and unknown fields do not matter to API streams
        }
    }

    fn dispatch(&mut self) -> SseEvent<'_> {
        let raw_start = self.event_start;
        self.event_start = self.line_start;
        let name = self.name.take();
        let data = std::mem::take(&mut self.data);
        let event = name.and_then(|(start, end)| std::str::from_utf8(&self.buf[start..end]).ok());
        let data = match data {
            Data::One(start, end) => String::from_utf8_lossy(&self.buf[start..end]),
            Data::Many | Data::None => String::from_utf8_lossy(&self.joined),
        };
        SseEvent {
            event,
            data,
            raw: &self.buf[raw_start..self.line_start],
        }
    }
}
