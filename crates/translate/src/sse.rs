//! An incremental Server-Sent Events parser: bytes in (split anywhere), events out.
//!
//! It follows the WHATWG rules that matter for API streams: lines end in CRLF, LF or CR;
//! `event:` names the event; several `data:` lines join with `\n`; lines starting with `:`
//! are comments; a blank line ends an event; an event without data is not dispatched.
//!
//! Speed matters (every upstream byte passes here): events that lie whole inside the bytes
//! just fed are handed out borrowed from those bytes, without a copy; only the unfinished
//! tail of a feed is kept for the next one.

use std::borrow::Cow;
use std::ops::ControlFlow;

/// One dispatched event, borrowed from the fed bytes or the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` name, if the event had one (and it was UTF-8).
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n`, as bytes (API streams carry JSON: parse them with
    /// `serde_json::from_slice`).
    pub data: &'a [u8],
    /// The event's bytes exactly as received, from its first line to its ending blank line
    /// (comments and `id:` lines included), for callers that pass events on untouched.
    pub raw: &'a [u8],
}

impl<'a> SseEvent<'a> {
    /// The data as text (invalid UTF-8 replaced by U+FFFD).
    pub fn text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.data)
    }
}

/// How much room for an unfinished event a parser keeps between events.
const KEPT_CAPACITY: usize = 1024;

/// An incremental SSE parser.
///
/// ```
/// use byok_translate::SseParser;
///
/// let mut parser = SseParser::new();
/// let mut seen = Vec::new();
/// parser.feed(b"event: greeting\r\ndata: hel", |event| seen.push(event.text().into_owned()));
/// assert!(seen.is_empty()); // the event is not complete yet
/// parser.feed(b"lo\r\n\r\n: a comment\ndata: {}\n", |event| {
///     assert_eq!(event.event, Some("greeting"));
///     seen.push(event.text().into_owned());
/// });
/// assert_eq!(seen, ["hello"]);
/// // The upstream closed: a last event without its blank line still counts.
/// parser.end(|event| seen.push(event.text().into_owned()));
/// assert_eq!(seen, ["hello", "{}"]);
/// ```
#[derive(Debug, Default)]
pub struct SseParser {
    /// The unfinished event carried over from earlier feeds (offsets in `scan` point here).
    pending: Vec<u8>,
    scan: Scan,
    /// Several `data:` lines, joined.
    joined: Vec<u8>,
}

/// Where scanning stands, as offsets into the bytes being scanned.
#[derive(Clone, Copy, Debug, Default)]
struct Scan {
    /// Where the event being read starts.
    event_start: usize,
    /// Where the next unread line starts.
    line_start: usize,
    /// The last line ended in CR: a LF right after it is part of that line ending.
    skip_lf: bool,
    /// How far the unfinished line is known to hold no line ending, so that a long line
    /// arriving in many pieces is searched once, not once per piece.
    searched: usize,
    name: Option<(usize, usize)>,
    data: Data,
}

/// Where the `data:` lines of the event being read are.
#[derive(Clone, Copy, Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line so far: its range (no copy needed).
    One(usize, usize),
    /// Several lines, joined in `SseParser::joined`.
    Many,
}

/// A complete event, as ranges of the scanned bytes.
struct Dispatch {
    raw: (usize, usize),
    name: Option<(usize, usize)>,
    data: Data,
}

impl SseParser {
    /// A parser with nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads received bytes (split anywhere) and calls `on_event` for each event they complete.
    pub fn feed(&mut self, input: &[u8], mut on_event: impl FnMut(SseEvent<'_>)) {
        self.feed_until(input, |event| {
            on_event(event);
            ControlFlow::Continue(())
        });
    }

    /// Like [`feed`](Self::feed), but stops at the first event for which `on_event` breaks:
    /// the bytes after it are not read, and the parser forgets them (it is left as new). For a
    /// caller that needs the events up to one only: the Codex hold-back reads a stream up to
    /// its first output event, and a whole answer often comes in one chunk (callgrind: reading
    /// the rest of a 39 KB answer was ~40k instructions of a non-streaming request).
    /// Whether it stopped.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use byok_translate::SseParser;
    ///
    /// let mut parser = SseParser::new();
    /// let mut seen = Vec::new();
    /// let stopped = parser.feed_until(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", |event| {
    ///     seen.push(event.text().into_owned());
    ///     if event.data == b"2" { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    /// });
    /// assert!(stopped);
    /// assert_eq!(seen, ["1", "2"]);
    /// ```
    pub fn feed_until(
        &mut self,
        input: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>) -> ControlFlow<()>,
    ) -> bool {
        let mut rest = input;
        // An unfinished event is completed line by line, so that only its own bytes are copied.
        while !self.pending.is_empty() && !rest.is_empty() {
            let take = match memchr::memchr2(b'\n', b'\r', rest) {
                Some(end) if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') => end + 2,
                Some(end) => end + 1,
                None => rest.len(),
            };
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            while let Some(found) = self.scan.next(&self.pending, &mut self.joined) {
                if on_event(found.event(&self.pending, &self.joined)).is_break() {
                    *self = Self::default();
                    return true;
                }
            }
            self.keep_from(self.scan.event_start, None);
        }
        if self.pending.is_empty() {
            while let Some(found) = self.scan.next(rest, &mut self.joined) {
                if on_event(found.event(rest, &self.joined)).is_break() {
                    *self = Self::default();
                    return true;
                }
            }
            self.keep_from(self.scan.event_start, Some(rest));
        }
        false
    }

    /// Marks the end of the input: a last event that lacks its blank line is completed
    /// and handed to `on_event`.
    pub fn end(&mut self, on_event: impl FnMut(SseEvent<'_>)) {
        self.feed(b"\n\n", on_event);
    }

    /// Keeps the bytes from `start` on (of `pending`, or of `fed` when given) as the
    /// unfinished event, moving the scan offsets with them.
    fn keep_from(&mut self, start: usize, fed: Option<&[u8]>) {
        match fed {
            Some(fed) => self.pending.extend_from_slice(&fed[start..]),
            None => drop(self.pending.drain(..start)),
        }
        if self.pending.is_empty() && self.pending.capacity() > KEPT_CAPACITY {
            // A large event split across reads (the 11 KB lifecycle events) is done with: its
            // room is let go rather than kept for the rest of a stream of small events
            // (massif: ~6 KB of every open stream's memory).
            self.pending = Vec::new();
        }
        self.scan.shift(start);
    }
}

impl Scan {
    fn shift(&mut self, by: usize) {
        self.event_start -= by;
        self.line_start -= by;
        self.searched = self.searched.saturating_sub(by);
        if let Some((start, end)) = &mut self.name {
            *start -= by;
            *end -= by;
        }
        if let Data::One(start, end) = &mut self.data {
            *start -= by;
            *end -= by;
        }
    }

    /// Reads lines of `bytes` until an event is complete.
    fn next(&mut self, bytes: &[u8], joined: &mut Vec<u8>) -> Option<Dispatch> {
        loop {
            if self.skip_lf && self.line_start < bytes.len() {
                self.skip_lf = false;
                if bytes[self.line_start] == b'\n' {
                    self.line_start += 1;
                }
            }
            let start = self.line_start;
            let from = start.max(self.searched);
            let Some(found) = memchr::memchr2(b'\n', b'\r', bytes.get(from..)?) else {
                self.searched = bytes.len();
                return None;
            };
            let end = from + found;
            let len = end - start;
            self.skip_lf = bytes[end] == b'\r';
            self.line_start = end + 1;
            if len > 0 {
                self.read_field(bytes, start, end, joined);
            } else if matches!(self.data, Data::None) {
                // A blank line ending an event without data: nothing to dispatch.
                self.name = None;
                self.event_start = self.line_start;
            } else {
                if self.skip_lf && bytes.get(self.line_start) == Some(&b'\n') {
                    // The event's last CRLF belongs to it.
                    self.skip_lf = false;
                    self.line_start += 1;
                }
                let raw = (self.event_start, self.line_start);
                self.event_start = self.line_start;
                let data = std::mem::take(&mut self.data);
                return Some(Dispatch {
                    raw,
                    name: self.name.take(),
                    data,
                });
            }
        }
    }

    fn read_field(&mut self, bytes: &[u8], start: usize, end: usize, joined: &mut Vec<u8>) {
        let line = &bytes[start..end];
        let (field, value_start) = match memchr::memchr(b':', line) {
            Some(0) => return, // a comment
            Some(colon) => {
                let after = start + colon + 1;
                (
                    &line[..colon],
                    after + usize::from(after < end && bytes[after] == b' '),
                )
            }
            None => (line, end),
        };
        match field {
            b"data" => match self.data {
                Data::None => self.data = Data::One(value_start, end),
                Data::One(first_start, first_end) => {
                    joined.clear();
                    joined.extend_from_slice(&bytes[first_start..first_end]);
                    joined.push(b'\n');
                    joined.extend_from_slice(&bytes[value_start..end]);
                    self.data = Data::Many;
                }
                Data::Many => {
                    joined.push(b'\n');
                    joined.extend_from_slice(&bytes[value_start..end]);
                }
            },
            b"event" => self.name = Some((value_start, end)),
            _ => {} // `id`, `retry` and unknown fields do not matter to API streams
        }
    }
}

impl Dispatch {
    fn event<'a>(&self, bytes: &'a [u8], joined: &'a [u8]) -> SseEvent<'a> {
        let data = match self.data {
            Data::One(start, end) => &bytes[start..end],
            Data::Many | Data::None => joined,
        };
        SseEvent {
            event: self
                .name
                .and_then(|(start, end)| std::str::from_utf8(&bytes[start..end]).ok()),
            data,
            raw: &bytes[self.raw.0..self.raw.1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of a stream fed in `chunks`, and their raw bytes end to end.
    fn parse(chunks: &[&[u8]]) -> (Vec<(Option<String>, String)>, Vec<u8>) {
        let mut parser = SseParser::new();
        let (mut seen, mut raw) = (Vec::new(), Vec::new());
        let mut push = |event: SseEvent<'_>| {
            seen.push((event.event.map(str::to_owned), event.text().into_owned()));
            raw.extend_from_slice(event.raw);
        };
        for chunk in chunks {
            parser.feed(chunk, &mut push);
        }
        parser.end(&mut push);
        (seen, raw)
    }

    fn events(chunks: &[&[u8]]) -> Vec<(Option<String>, String)> {
        parse(chunks).0
    }

    #[test]
    fn line_endings_comments_and_multi_line_data() {
        let stream: &[u8] = b": hi\r\nevent: a\r\ndata: 1\r\ndata:2\r\n\r\ndata: x\rdata: y\r\rdata: z\n\nid: 3\n\n";
        let whole = events(&[stream]);
        let names: Vec<_> = whole
            .iter()
            .map(|(name, data)| (name.as_deref(), data.as_str()))
            .collect();
        assert_eq!(names, [(Some("a"), "1\n2"), (None, "x\ny"), (None, "z")]);
        for split in 0..=stream.len() {
            assert_eq!(
                events(&[&stream[..split], &stream[split..]]),
                whole,
                "split at {split}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(events(&bytes), whole);
    }

    #[test]
    fn raw_bytes_cover_the_stream() {
        let stream: &[u8] = b": keep-alive\nevent: a\ndata: 1\r\n\r\ndata: 2\n\n";
        assert_eq!(parse(&[stream]).1, stream);
        for split in 0..=stream.len() {
            assert_eq!(
                parse(&[&stream[..split], &stream[split..]]).1,
                stream,
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_dispatched_at_the_end() {
        assert_eq!(events(&[b"data: tail"])[0].1, "tail");
        assert!(events(&[b"event: only-a-name\n\n"]).is_empty());
    }
}
