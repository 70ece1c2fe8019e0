//! Readers: one module per input format, each turning bytes into [`Event`]s plus
//! an account of what it skipped. Readers know syntax and the format's own
//! semantics (what a syscall or an ETW opcode does), nothing about bugs.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::{Event, InputId, Interner};

pub mod appverif;
pub mod etl;
pub mod htrace;
pub mod jsonl;
pub mod mda;
pub mod strace;

/// Where readers send events (ripgrep's "sink"). The lifecycle builder is one.
pub trait EventSink {
    /// Called in stream order. `seq` is assigned by the sink.
    fn event(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    fn event(&mut self, mut event: Event) {
        event.seq = self.len() as u64;
        self.push(event);
    }
}

/// Everything a reader needs besides its bytes.
pub struct ReadContext<'a> {
    pub input: InputId,
    pub interner: &'a mut Interner,
    pub sink: &'a mut dyn EventSink,
    pub stats: &'a mut ReadStats,
}

/// What a reader saw and what it could not use. Skips are counted by reason,
/// with the first place each reason occurred.
#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    /// Lines (text formats) or records (binary formats) read.
    pub units: u64,
    pub events: u64,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, SkipCount>,
    /// Data the tracer itself says it lost (ETW EVENTS_LOST, dropped buffers).
    pub lost: BTreeMap<String, u64>,
    /// Format-specific counters worth showing (`stats` subcommand).
    pub counters: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default)]
pub struct SkipCount {
    pub count: u64,
    /// 1-based line or record number of the first occurrence.
    pub first_at: u64,
}

impl ReadStats {
    pub fn skip(&mut self, reason: &str, at: u64) {
        self.skipped += 1;
        match self.skipped_by_reason.get_mut(reason) {
            Some(s) => s.count += 1,
            None => {
                self.skipped_by_reason.insert(
                    reason.to_string(),
                    SkipCount {
                        count: 1,
                        first_at: at,
                    },
                );
            }
        }
    }
    pub fn bump(&mut self, counter: &str, by: u64) {
        match self.counters.get_mut(counter) {
            Some(c) => *c += by,
            None => {
                self.counters.insert(counter.to_string(), by);
            }
        }
    }
}

/// A fatal input error: the input as a whole is unusable (exit 2).
#[derive(Debug)]
pub struct InputError {
    pub path: String,
    /// "line 12", "byte 0x40", or empty.
    pub at: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}: {}", self.path, self.message)?;
        } else {
            write!(f, "{}: {}: {}", self.path, self.at, self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// Input formats handlecheck reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Strace,
    Etl,
    Htrace,
    Appverif,
    Mda,
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Strace => "strace",
            Format::Etl => "etl",
            Format::Htrace => "htrace",
            Format::Appverif => "appverif",
            Format::Mda => "mda",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Guesses the format from the first bytes of the (decompressed) input.
/// Content decides, never the file name.
pub fn sniff(head: &[u8]) -> Option<Format> {
    // Most specific first: structured formats, then debugger text, then strace.
    if etl::sniff(head) {
        Some(Format::Etl)
    } else if jsonl::sniff(head) {
        Some(Format::Jsonl)
    } else if appverif::sniff(head) {
        Some(Format::Appverif)
    } else if htrace::sniff(head) {
        Some(Format::Htrace)
    } else if mda::sniff(head) {
        Some(Format::Mda)
    } else if strace::sniff(head) {
        Some(Format::Strace)
    } else {
        None
    }
}

/// Reads a format that is parsed from one buffer (everything but strace).
pub fn read_whole(
    format: Format,
    bytes: &[u8],
    path: &str,
    ctx: &mut ReadContext<'_>,
) -> Result<(), InputError> {
    match format {
        Format::Htrace => htrace::read(bytes, path, ctx),
        Format::Appverif => appverif::read(bytes, path, ctx),
        Format::Mda => mda::read(bytes, path, ctx),
        Format::Jsonl => jsonl::read(bytes, path, ctx),
        Format::Etl => etl::read(bytes, path, ctx),
        Format::Strace => Err(InputError {
            path: path.to_string(),
            at: String::new(),
            message: format!("the {} reader is not part of this build", format.as_str()),
            hint: None,
        }),
    }
}

/// How diagnostics get the text of an event of this format back.
pub fn evidence_for(format: Format, bytes: Vec<u8>) -> crate::report::evidence::EvidenceSource {
    match format {
        Format::Etl => crate::report::evidence::EvidenceSource::Rendered(etl::render_event),
        _ => crate::report::evidence::EvidenceSource::Memory(bytes),
    }
}
