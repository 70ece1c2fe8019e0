//! Where an event came from in the input, so a diagnostic can show the evidence.

/// Index of an input file within one analysis (`Analysis::inputs`).
pub type InputId = u16;

/// Points back into the input: a text line (1-based `line`, `offset` = byte
/// offset of the line start) or a binary record (`record` number, `offset` =
/// byte offset of the record). Unused fields are 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Origin {
    pub input: InputId,
    pub line: u32,
    pub record: u32,
    pub offset: u64,
}

impl Origin {
    pub fn line(input: InputId, line: u32, offset: u64) -> Origin {
        Origin {
            input,
            line,
            record: 0,
            offset,
        }
    }
    pub fn record(input: InputId, record: u32, offset: u64) -> Origin {
        Origin {
            input,
            line: 0,
            record,
            offset,
        }
    }
    pub fn is_line(&self) -> bool {
        self.line != 0
    }
}
