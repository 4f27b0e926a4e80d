//! A reader for delta events, the bulk of every stream, that skips serde's per-key work.
//!
//! `{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_..",
//! "output_index":1,"content_index":0,"delta":"Hey","logprobs":[],"obfuscation":".."}`:
//! a flat object of which four fields matter. Walking it by hand costs about what a bare
//! `IgnoredAny` pass costs; a derived `Deserialize` parses and matches every key. Anything
//! this reader does not expect (escaped keys, odd nesting) makes it give up, and the caller
//! falls back to serde, so it only ever speeds up, never changes, the reading.

use super::wire::Delta;

/// Reads a delta event; `None` when it is not written the plain way.
#[cfg(test)]
pub(crate) fn read_delta(data: &[u8]) -> Option<Delta<'_>> {
    let mut reader = Reader { bytes: data, at: 0 };
    reader.skip_ws();
    reader.expect(b'{')?;
    reader.fields()
}

/// Reads a delta event whose first `skip` bytes, up to and including the first field (its
/// `"type"`, already read by the caller), are known to be well formed.
pub(crate) fn read_delta_after(data: &[u8], skip: usize) -> Option<Delta<'_>> {
    let mut reader = Reader {
        bytes: data,
        at: skip,
    };
    reader.skip_ws();
    match reader.next()? {
        b',' => reader.fields(),
        b'}' => reader.end(Delta::default()),
        _ => None,
    }
}

impl<'a> Reader<'a> {
    /// The fields of the object, from the first key on, and its end.
    fn fields(&mut self) -> Option<Delta<'a>> {
        let reader = self;
        let mut delta = Delta::default();
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
                b"delta" => delta.json = Some(reader.json_string()?),
                _ => reader.skip_value()?,
            }
            reader.skip_ws();
            match reader.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        reader.end(delta)
    }

    fn end(&mut self, delta: Delta<'a>) -> Option<Delta<'a>> {
        self.skip_ws();
        (self.at == self.bytes.len()).then_some(delta)
    }
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

    /// The end (after the closing quote) of the string starting here, and whether it has
    /// escapes. `None` unless the string is valid JSON: escapes well formed, no raw control
    /// characters (UTF-8 is the caller's to check).
    fn string_end(&self) -> Option<(usize, bool)> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            let special = find_special(self.bytes, at)?;
            match self.bytes[special] {
                b'"' => return Some((special + 1, escaped)),
                b'\\' => {
                    escaped = true;
                    at = special + 2;
                    match *self.bytes.get(special + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' if self
                            .bytes
                            .get(at..at + 4)?
                            .iter()
                            .all(u8::is_ascii_hexdigit) =>
                        {
                            at += 4;
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a control character
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

    /// A string value as the JSON it is written as, quotes included.
    fn json_string(&mut self) -> Option<&'a str> {
        let (end, _) = self.string_end()?;
        let json = std::str::from_utf8(&self.bytes[self.at..end]).ok()?;
        self.at = end;
        Some(json)
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        let mut value: u32 = 0;
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            value = value
                .checked_mul(10)?
                .checked_add(u32::from(digit - b'0'))?;
            self.at += 1;
        }
        (self.at > start).then_some(value)
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

/// The first `"`, `\\` or control character at or after `from`, eight bytes at a time: the
/// strings of delta events are mostly too short for `memchr`'s setup to pay, and a byte loop
/// is slower.
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let is_special = |byte: u8| byte == b'"' || byte == b'\\' || byte < 0x20;
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // Where `word` holds a byte looked for, that byte of `quote` or `backslash` is zero,
        // or the byte itself is below 0x20; the lowest flagged byte is always a true match.
        let zero = |x: u64| x.wrapping_sub(ONES) & !x;
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let found = (zero(quote) | zero(backslash) | control) & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&byte| is_special(byte))
        .map(|found| at + found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the `delta` the fast reader kept as JSON.
    fn decoded(delta: &Delta<'_>) -> Option<String> {
        delta
            .json
            .map(|json| serde_json::from_str(json).expect("the kept JSON is valid"))
    }

    #[test]
    fn reads_what_serde_reads() {
        let data = r#"{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"say \"hi\" \u00d7 {[\n","logprobs":[{"a":"]}"}],"obfuscation":"x"}"#;
        let fast = read_delta(data.as_bytes()).unwrap();
        let serde: Delta<'_> = serde_json::from_str(data).unwrap();
        assert_eq!(
            (fast.output_index, fast.content_index, fast.summary_index),
            (Some(1), Some(0), None)
        );
        assert_eq!(decoded(&fast).as_deref(), serde.text.as_deref());
        assert_eq!(decoded(&fast).as_deref(), Some("say \"hi\" × {[\n"));
        assert_eq!(
            fast.json,
            Some(r#""say \"hi\" \u00d7 {[\n""#),
            "kept as written"
        );
    }

    #[test]
    fn reads_on_after_the_type_the_caller_read() {
        let data = br#"{"type":"response.output_text.delta","output_index":3,"delta":"x"}"#;
        let skip = br#"{"type":"response.output_text.delta""#.len();
        let delta = read_delta_after(data, skip).unwrap();
        assert_eq!(
            (delta.output_index, decoded(&delta).as_deref()),
            (Some(3), Some("x"))
        );
        assert!(read_delta_after(br#"{"type":"t"}"#, 11).is_some_and(|d| d.json.is_none()));
        assert!(read_delta_after(br#"{"type":"t" x}"#, 11).is_none());
    }

    #[test]
    fn long_strings_with_escapes_anywhere() {
        let long = format!(
            "{}\\\"{}\\u00e9{}",
            "a".repeat(40),
            "b".repeat(40),
            "c".repeat(9)
        );
        let data = format!(r#"{{"item_id":"{long}","delta":"{long}"}}"#);
        let fast = read_delta(data.as_bytes()).unwrap();
        let serde: Delta<'_> = serde_json::from_str(&data).unwrap();
        assert_eq!(decoded(&fast).as_deref(), serde.text.as_deref());
    }

    #[test]
    fn finds_the_first_special_byte_at_any_offset() {
        for len in 0..40 {
            for (at, special) in
                (0..len).flat_map(|at| [(at, b'"'), (at, b'\\'), (at, b'\n'), (at, 0)])
            {
                let mut bytes = vec![b'a'; len];
                bytes[at] = special;
                if at + 1 < len {
                    bytes[at + 1] = b'"'; // a later match must not win
                }
                for from in 0..=at {
                    assert_eq!(
                        find_special(&bytes, from),
                        Some(at),
                        "len {len}, at {at}, from {from}"
                    );
                }
            }
            assert_eq!(find_special(&vec![0x80; len], 0), None);
            assert_eq!(find_special(&vec![b' '; len], 0), None);
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_expect() {
        let refused = [
            r#"{"de\u006cta":"x"}"#,
            r#"{"delta":"x""#,
            r#"{"delta":"x"} trailing"#,
            r#"{"delta":}"#,
            "{\"delta\":\"raw\nnewline\"}",
            r#"{"delta":"bad \q escape"}"#,
            r#"{"delta":"short \u12 escape"}"#,
            "",
            "{",
        ];
        for data in refused {
            assert!(read_delta(data.as_bytes()).is_none(), "{data}");
        }
        assert!(
            read_delta(b"{\"delta\":\"\xff\"}").is_none(),
            "invalid UTF-8"
        );
    }
}
