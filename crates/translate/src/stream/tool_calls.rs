//! Chat numbers tool calls from 0 in the order they start; Responses numbers output items.

/// The tool calls of one answer, in Chat's order (a call's position is its Chat index).
#[derive(Debug, Default)]
pub(crate) struct ToolCalls {
    calls: Vec<ToolCall>,
}

#[derive(Debug)]
struct ToolCall {
    output_index: u32,
    arguments_sent: bool,
}

impl ToolCalls {
    /// Registers the call of output item `output_index`: its Chat index, or `None` when the
    /// call is known already.
    pub fn start(&mut self, output_index: u32, arguments_sent: bool) -> Option<usize> {
        if self
            .calls
            .iter()
            .any(|call| call.output_index == output_index)
        {
            return None;
        }
        self.calls.push(ToolCall {
            output_index,
            arguments_sent,
        });
        Some(self.calls.len() - 1)
    }

    /// The Chat index of the call of output item `output_index`, now that arguments are sent.
    pub fn arguments(&mut self, output_index: u32) -> Option<usize> {
        let index = self
            .calls
            .iter()
            .position(|call| call.output_index == output_index)?;
        self.calls[index].arguments_sent = true;
        Some(index)
    }

    /// Whether the call of output item `output_index` got no arguments yet.
    pub fn waiting(&self, output_index: u32) -> bool {
        self.calls
            .iter()
            .any(|call| call.output_index == output_index && !call.arguments_sent)
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_numbered_from_zero_whatever_their_output_index() {
        let mut calls = ToolCalls::default();
        assert!(calls.is_empty());
        assert_eq!(calls.start(1, false), Some(0));
        assert_eq!(calls.start(2, false), Some(1));
        assert_eq!(calls.start(1, false), None, "a call starts once");
        assert!(calls.waiting(2));
        assert_eq!(calls.arguments(2), Some(1));
        assert!(!calls.waiting(2));
        assert_eq!(calls.arguments(7), None);
    }
}
