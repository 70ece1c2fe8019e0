//! Readers: one module per input format, each turning bytes into [`Event`]s plus
//! an account of what it skipped. Readers know syntax and the format's own
//! semantics (what a syscall or an ETW opcode does), nothing about bugs.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::{Event, InputId, Interner};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
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
    strace::sniff(head).then_some(Format::Strace)
}
