//! The progress bar on stderr for large inputs (indicatif), fed by the
//! input hook ([`crate::input::progress`]).
//!
//! It appears only once the inputs are large: files whose sizes add up to more
//! than [`SHOW_ABOVE`] get a byte bar from the start; stdin gets a spinner
//! with throughput once that many bytes have been read. The binary installs it
//! only when stderr is a terminal and neither `-q` nor `-v` is given, so CI
//! logs and pipes never see it.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::progress::Observer;

/// Inputs smaller than this finish too fast for a bar to help.
pub const SHOW_ABOVE: u64 = 64 << 20;

#[derive(Default)]
struct State {
    bar: Option<ProgressBar>,
    /// Sum of the known sizes; None once an input of unknown size (stdin) started.
    total: Option<u64>,
    read: u64,
    open: usize,
}

pub struct Bar {
    state: Mutex<State>,
    color: bool,
}

impl Bar {
    pub fn new(color: bool) -> Bar {
        Bar {
            state: Mutex::new(State {
                total: Some(0),
                ..State::default()
            }),
            color,
        }
    }

    fn make(&self, total: Option<u64>) -> ProgressBar {
        let (bar, template) = match total {
            Some(t) => (
                ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                if self.color {
                    "{spinner} reading {bar:40.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
                } else {
                    "{spinner} reading {bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
                },
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                "{spinner} reading {bytes} {binary_bytes_per_sec} {elapsed}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar
    }
}

impl Observer for Bar {
    fn start(&self, _path: &str, total: Option<u64>) {
        let Ok(mut s) = self.state.lock() else { return };
        s.open += 1;
        s.total = match (s.total, total) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            _ => None,
        };
        match (&s.bar, s.total) {
            (Some(bar), Some(t)) => bar.set_length(t),
            (None, Some(t)) if t > SHOW_ABOVE => {
                let bar = self.make(Some(t));
                bar.set_position(s.read);
                s.bar = Some(bar);
            }
            _ => {}
        }
    }

    fn advance(&self, bytes: u64) {
        let Ok(mut s) = self.state.lock() else { return };
        s.read = s.read.saturating_add(bytes);
        if s.bar.is_none() && s.total.is_none() && s.read > SHOW_ABOVE {
            let bar = self.make(None);
            bar.set_position(s.read);
            s.bar = Some(bar);
        } else if let Some(bar) = &s.bar {
            bar.set_position(s.read);
        }
    }

    fn finish(&self) {
        let Ok(mut s) = self.state.lock() else { return };
        s.open = s.open.saturating_sub(1);
        if s.open == 0
            && let Some(bar) = s.bar.take()
        {
            bar.finish_and_clear();
        }
    }
}
