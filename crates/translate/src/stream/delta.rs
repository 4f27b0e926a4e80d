//! A reader for delta events, the bulk of every stream, that skips serde's per-key work.
//!
//! `{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_..",
//! "output_index":1,"content_index":0,"delta":"Hey","logprobs":[],"obfuscation":".."}`:
//! a flat object of which four fields matter. Walking it by hand costs about what a bare
//! `IgnoredAny` pass costs; a derived `Deserialize` parses and matches every key. Anything
//! this reader does not expect (escaped keys, odd nesting) makes it give up, and the caller
//! falls back to serde, so it only ever speeds up, never changes, the reading.

use std::borrow::Cow;

use super::wire::Delta;

/// Reads a delta event; `None` when it is not written the plain way.
pub(crate) fn read_delta(data: &[u8]) -> Option<Delta<'_>> {
    let mut reader = Reader { bytes: data, at: 0 };
    let mut delta = Delta::default();
    reader.skip_ws();
    reader.expect(b'{')?;
    loop {
        reader.skip_ws();
        let key = reader.plain_string()?;
        reader.skip_ws();
        reader.expect(b':')?;
        reader.skip_ws();
        match key {
            b"output_index" => delta.output_index = Some(reader.number()?),
            b"content_index" => delta.content_index = Some(reader.number()?),
            b"summary_index" => delta.summary_index = Some(reader.number()?),
            b"delta" => delta.text = Some(reader.string()?),
            _ => reader.skip_value()?,
        }
        reader.skip_ws();
        match reader.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    reader.skip_ws();
    (reader.at == data.len()).then_some(delta)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The end (after the closing quote) of the string starting here, and whether it has escapes.
    fn string_end(&self) -> Option<(usize, bool)> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            at += memchr::memchr2(b'"', b'\\', &self.bytes[at..])?;
            if self.bytes[at] == b'"' {
                return Some((at + 1, escaped));
            }
            escaped = true;
            at += 2;
            if at > self.bytes.len() {
                return None;
            }
        }
    }

    /// A string without escapes, as its raw bytes (keys are).
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        let (end, escaped) = self.string_end()?;
        if escaped {
            return None;
        }
        let text = &self.bytes[self.at + 1..end - 1];
        self.at = end;
        Some(text)
    }

    /// A string value, borrowed unless it has escapes (then `serde_json` decodes it).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let (end, escaped) = self.string_end()?;
        let quoted = &self.bytes[self.at..end];
        self.at = end;
        if escaped {
            serde_json::from_slice::<String>(quoted)
                .ok()
                .map(Cow::Owned)
        } else {
            std::str::from_utf8(&quoted[1..quoted.len() - 1])
                .ok()
                .map(Cow::Borrowed)
        }
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()?
            .parse()
            .ok()
    }

    /// Skips a value this reader does not need: a string, a scalar, or a (nested) array or
    /// object, minding strings so that brackets inside them do not count.
    fn skip_value(&mut self) -> Option<()> {
        match *self.bytes.get(self.at)? {
            b'"' => self.at = self.string_end()?.0,
            b'[' | b'{' => {
                let mut depth = 0usize;
                loop {
                    match *self.bytes.get(self.at)? {
                        b'"' => {
                            self.at = self.string_end()?.0;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
                {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_reads() {
        let data = r#"{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"say \"hi\" \u00d7 {[","logprobs":[{"a":"]}"}],"obfuscation":"x"}"#;
        let fast = read_delta(data.as_bytes()).unwrap();
        let serde: Delta<'_> = serde_json::from_str(data).unwrap();
        assert_eq!(
            (fast.output_index, fast.content_index, fast.summary_index),
            (Some(1), Some(0), None)
        );
        assert_eq!(fast.text, serde.text);
        assert_eq!(fast.text.as_deref(), Some("say \"hi\" × {["));
    }

    #[test]
    fn gives_up_on_what_it_does_not_expect() {
        for data in [
            r#"{"de\u006cta":"x"}"#,
            r#"{"delta":"x""#,
            r#"{"delta":"x"} trailing"#,
            r#"{"delta":}"#,
            "",
            "{",
        ] {
            assert!(read_delta(data.as_bytes()).is_none(), "{data}");
        }
    }
}
