//! The error of an input that is unusable as a whole (exit 2): which input,
//! where in it (a typed location), what was expected, and a hint.

use std::fmt;

/// Where in an input an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The input as a whole (it cannot be opened, it is empty, ...).
    Whole,
    /// A 1-based line of a text input.
    Line(u64),
    /// A byte offset into a binary or compressed input.
    Byte(u64),
    /// A 1-based record of a binary input.
    Record(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Whole => Ok(()),
            Location::Line(n) => write!(f, "line {n}"),
            Location::Byte(n) => write!(f, "byte {n:#x}"),
            Location::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// A fatal input error, shown as `PATH: [LOCATION: ]MESSAGE` with the hint
/// as miette help (or `  hint: ...` on its own line, [`InputError::report`]).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {}{message}", at_prefix(*.at))]
pub struct InputError {
    /// The input as the user named it.
    pub path: String,
    pub at: Location,
    /// What was wrong, or what was expected.
    pub message: String,
    #[help]
    pub hint: Option<String>,
}

fn at_prefix(at: Location) -> String {
    match at {
        Location::Whole => String::new(),
        at => format!("{at}: "),
    }
}

impl InputError {
    /// An error about the input as a whole.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            path: path.into(),
            at: Location::Whole,
            message: message.into(),
            hint: None,
        }
    }

    /// The same error at a place in the input.
    pub fn at(mut self, at: Location) -> InputError {
        self.at = at;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> InputError {
        self.hint = Some(hint.into());
        self
    }

    /// The error line, then `  hint: ...` on its own line when there is one;
    /// terminal-safe (the path and message may hold a trace's bytes).
    pub fn report(&self) -> String {
        let text = match &self.hint {
            Some(h) => format!("{self}\n  hint: {h}"),
            None => self.to_string(),
        };
        crate::model::sanitize::lines_for_terminal(&text)
    }
}
