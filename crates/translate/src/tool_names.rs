//! Tool names longer than the Codex backend accepts (64 chars), shortened uniquely and restored.

use std::collections::HashMap;

/// The longest tool name the Codex backend accepts.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The tool names a translated request shortened, so answers can name the originals again.
///
/// ```
/// use byok_translate::ToolNameMap;
///
/// let mut map = ToolNameMap::default();
/// let long = "a_very_long_tool_name_from_some_mcp_server_that_goes_on_and_on_and_on";
/// let sent = map.shorten(long);
/// assert!(sent.len() <= 64);
/// assert_eq!(map.original(&sent), long);
/// assert_eq!(map.original("get_weather"), "get_weather");
/// ```
#[derive(Clone, Debug, Default)]
pub struct ToolNameMap {
    /// sent (short) name -> original name.
    to_original: HashMap<String, String>,
    /// original name -> sent name, so every mention of a tool shortens the same way.
    to_sent: HashMap<String, String>,
}

impl ToolNameMap {
    /// The name the client used for a tool the upstream calls `sent` (itself if not shortened).
    pub fn original<'a>(&'a self, sent: &'a str) -> &'a str {
        self.to_original.get(sent).map_or(sent, String::as_str)
    }

    /// True when no name was shortened (answers need no rewriting).
    pub fn is_empty(&self) -> bool {
        self.to_original.is_empty()
    }

    /// The name to send for `original`: itself when short enough, else a unique shortening
    /// (a prefix and a hash of the full name), remembered for [`ToolNameMap::original`].
    pub fn shorten(&mut self, original: &str) -> String {
        if original.len() <= MAX_TOOL_NAME_LEN {
            return original.to_owned();
        }
        if !self.to_sent.contains_key(original) {
            let sent = self.unique_short(original);
            self.to_original.insert(sent.clone(), original.to_owned());
            self.to_sent.insert(original.to_owned(), sent);
        }
        self.to_sent[original].clone()
    }

    fn unique_short(&self, original: &str) -> String {
        // A hash of the whole name keeps shortenings stable across requests of one conversation,
        // which matters: the history replays earlier calls by name.
        let hash = fnv1a(original.as_bytes());
        for attempt in 0u32.. {
            let suffix = if attempt == 0 {
                format!("_{hash:08x}")
            } else {
                format!("_{hash:08x}_{attempt}")
            };
            let mut cut = MAX_TOOL_NAME_LEN - suffix.len();
            while !original.is_char_boundary(cut) {
                cut -= 1;
            }
            let candidate = format!("{}{suffix}", &original[..cut]);
            if !self.to_original.contains_key(&candidate) {
                return candidate;
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        let mut map = ToolNameMap::default();
        assert_eq!(map.shorten("get_weather"), "get_weather");
        assert!(map.is_empty());
    }

    #[test]
    fn long_names_with_a_common_prefix_stay_unique_and_restorable() {
        let mut map = ToolNameMap::default();
        let a = format!("{}_alpha", "x".repeat(70));
        let b = format!("{}_beta", "x".repeat(70));
        let sa = map.shorten(&a);
        let sb = map.shorten(&b);
        assert_ne!(sa, sb);
        assert!(sa.len() <= MAX_TOOL_NAME_LEN && sb.len() <= MAX_TOOL_NAME_LEN);
        assert_eq!(map.original(&sa), a);
        assert_eq!(map.original(&sb), b);
        assert_eq!(
            map.shorten(&a),
            sa,
            "the same name shortens the same way twice"
        );
    }

    #[test]
    fn multibyte_names_are_cut_on_a_char_boundary() {
        let mut map = ToolNameMap::default();
        let name = "é".repeat(40);
        let sent = map.shorten(&name);
        assert!(sent.len() <= MAX_TOOL_NAME_LEN);
        assert_eq!(map.original(&sent), name);
    }
}
