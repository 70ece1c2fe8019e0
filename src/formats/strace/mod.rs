//! strace output: every layout strace 6.x writes (see shared research strace.md).

use crate::model::Origin;

use super::ReadContext;

/// True when the head of an input looks like strace output.
pub fn sniff(head: &[u8]) -> bool {
    head.windows(2).any(|w| w == b"(") || head.starts_with(b"[pid")
}

/// Line-at-a-time strace parser. Feed every line (without its `\n`) in order,
/// then call [`StraceParser::finish`].
#[derive(Default)]
pub struct StraceParser {}

impl StraceParser {
    pub fn new() -> StraceParser {
        StraceParser::default()
    }

    /// `forced_tid`: the task of every line (strace `-ff` per-task files).
    pub fn line(
        &mut self,
        _line: &[u8],
        _origin: Origin,
        _forced_tid: Option<u32>,
        _ctx: &mut ReadContext<'_>,
    ) {
    }

    pub fn finish(&mut self, _ctx: &mut ReadContext<'_>) {}
}
