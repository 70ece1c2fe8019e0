//! The error of an input that is unusable as a whole (exit 2).

use std::fmt;

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
