//! What a finding from a `perf trace` input cannot rest on, said in its notes;
//! and what LOST events do to it: an unseen open, dup or close could explain
//! most findings, so their confidence drops to low, and a leak (a close not
//! seen) is at most a note.

use crate::formats::ReadStats;
use crate::model::{Confidence, Finding, Level, flags};

use super::{CLONE3_PROCESSES, CLONE3_THREADS, LOST_EVENTS, PAIRS_UNKNOWN};

/// Rules whose findings rest on something *missing* from the trace (a close,
/// a close-on-exec flag): with lost events they are not evidence of a leak.
const ABSENCE_RULES: [&str; 3] = ["HC005", "HC006", "HC010"];

/// Adds the perf notes to `f` and applies the lost-events policy.
pub fn apply(f: &mut Finding, stats: &ReadStats) {
    f.notes.push(
        "perf trace prints pointers for paths and fd arrays, so resources are named by kind; its fd \
         decorations are cached by number and go stale, so they are not used"
            .to_string().into(),
    );
    for l in &f.labels {
        if l.event.has(flags::INFERRED) {
            f.notes.push(format!(
                "fd {} at line {}: pipe/socketpair fds are not printed; inferred as the lowest free values of \
                 a table whose every fd the trace shows",
                l.event.handle, l.event.origin.line
            ).into());
            break;
        }
    }
    let threads = stats.counters.get(CLONE3_THREADS).copied().unwrap_or(0);
    let procs = stats.counters.get(CLONE3_PROCESSES).copied().unwrap_or(0);
    if threads + procs > 0 {
        f.notes.push(format!(
            "clone3 hides its flags: {threads} clone3 children were taken as threads sharing the fd table \
             (they never called execve and were not waited for), {procs} as processes (they called execve, \
             were waited for, or called exit_group while their parent went on)"
        ).into());
    }
    if stats.counters.get(PAIRS_UNKNOWN).is_some_and(|n| *n > 0) {
        f.notes.push(
            "some pipe/socketpair fds could not be inferred (a table the trace does not fully show): they \
             appear later as fds of unknown history"
                .to_string().into(),
        );
    }
    let lost: u64 = stats.lost.get(LOST_EVENTS).copied().unwrap_or(0);
    if lost == 0 {
        return;
    }
    // A failed release is seen directly; nothing unseen explains it away.
    if f.code == "HC007" {
        f.notes
            .push(format!("perf lost {lost} events in this trace (LOST notices)").into());
        return;
    }
    f.confidence = Confidence::Low;
    let mut note = format!(
        "perf lost {lost} events in this trace (LOST notices): an open, dup or close it did not record could \
         explain this; record again with a larger buffer (perf trace -m)"
    );
    if ABSENCE_RULES.contains(&f.code) && f.level > Level::Note {
        f.level = Level::Note;
        note.push_str("; a close that was not recorded is not a leak, so this is a note");
    }
    f.notes.push(note.into());
}
