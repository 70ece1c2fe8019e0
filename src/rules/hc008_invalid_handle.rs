use crate::model::{Confidence, Finding, Level, Op, Role, Text, flags};

use super::evidence::label;
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// A release or use of a value that was never a valid handle: never opened in
    /// the trace and not inherited, e.g. `close(-1)`, `write(10, ...) = -1 EBADF`
    /// with no history of fd 10, `INVALID_HANDLE_VALUE`, Application Verifier stop
    /// 0x300. Close-all sweeps, probes such as `fcntl(fd, F_GETFD)`, and fds
    /// inherited from the launcher are not reported.
    ///
    /// ## Why it matters
    /// The code works with a value it never got from the OS: an uninitialised
    /// variable, a failed open whose -1 was not checked, a value from another
    /// process. If that value happens to be open, the call hits an unrelated handle.
    /// Negative values and 0/1/2 can never hit another component's handle and are
    /// notes.
    ///
    /// ## Example
    /// ```text
    /// 34 write(10, "bad\n", 4) = -1 EBADF (Bad file descriptor)
    /// ```
    ///
    /// ## How to fix
    /// Check the result of every open before using it, initialise handle variables
    /// to -1 / INVALID_HANDLE_VALUE and test for it, and pass handles between
    /// processes only through the OS (inheritance, SCM_RIGHTS, DuplicateHandle).
    pub struct InvalidHandle {
        code: "HC008",
        name: "invalid-handle",
        level: Level::Warning,
        summary: "release or use of a value that was never a valid handle",
    }
}

impl InvalidHandle {
    fn findings(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for table in &cx.graph.tables {
            let first = out.len();
            for ev in &table.never_valid.items {
                if ev.has(flags::SWEEP) || ev.op == Op::Probe {
                    continue;
                }
                let closing = matches!(ev.op, Op::Close | Op::CloseRange { .. });
                let rundown_close = ev.outcome.is_ok() && table.seeded;
                // POSIX: a negative value or 0-2 cannot hit another component's handle.
                // Windows: -1 (INVALID_HANDLE_VALUE) and NULL are unchecked failures.
                let harmless = cx.style == crate::rules::HandleStyle::Fd
                    && (ev.handle < 0 || (0..=2).contains(&ev.handle));
                let level = if harmless {
                    Level::Note
                } else {
                    Level::Warning
                };
                let what = if closing { "release" } else { "use" };
                let unknown = ev.handle == crate::model::UNKNOWN_HANDLE;
                let message = if unknown {
                    format!(
                        "{what} of an invalid handle (the evidence does not give its value): {}",
                        cx.call(ev),
                    )
                } else {
                    format!(
                        "{} of {}, which was never open: {}",
                        what,
                        cx.handle_name(ev.handle),
                        cx.call(ev),
                    )
                };
                let mut f = cx.finding(&META, level, message);
                f.pid = table.pid;
                f.confidence = if rundown_close {
                    Confidence::Medium
                } else {
                    Confidence::High
                };
                f.labels.push(label(
                    ev,
                    if closing {
                        Role::BadRelease
                    } else {
                        Role::BadUse
                    },
                    if unknown {
                        Text::from("the handle passed here was not valid")
                    } else {
                        format!(
                            "{} was never opened or inherited",
                            cx.handle_name(ev.handle)
                        )
                        .into()
                    },
                ));
                if ev.handle == crate::model::UNKNOWN_HANDLE {
                    f.notes.push("STATUS_INVALID_HANDLE (c0000008) says only that the value was not a valid handle at this call: a handle closed earlier (a double CloseHandle, the commonest cause) or one never opened; the evidence does not give the value. Run with `!htrace -enable` (or Application Verifier's Handles layer) and dump `!htrace <handle>` at the exception: a CLOSE record before it makes this a double release (HC001) or a use after close (HC002)".into());
                } else if ev.handle < 0 && cx.style == crate::rules::HandleStyle::Windows {
                    f.notes.push("-1 is INVALID_HANDLE_VALUE: usually the unchecked result of a failed CreateFile (or the tool did not record the value)".into());
                } else if ev.handle < 0 {
                    f.notes.push("a negative value can never name a handle: usually an unchecked failed open".into());
                } else if rundown_close {
                    f.notes.push("the rundown at the start of the trace listed every open handle and this one was not among them".into());
                } else if (0..=2).contains(&ev.handle) {
                    f.notes.push("standard streams closed by the launcher: harmless unless the program opens files that then take these numbers".into());
                }
                f.site = format!(
                    "{}|{}|{}|{}",
                    cx.program(table),
                    cx.call(ev),
                    if ev.handle == crate::model::UNKNOWN_HANDLE {
                        "unknown"
                    } else if ev.handle < 0 {
                        "negative"
                    } else {
                        "value"
                    },
                    cx.stack_site(ev)
                );
                f.shrink_to_fit();
                out.push(f);
            }
            // The builder keeps the first calls on never-open values of a table
            // and counts the rest: say so, so that a million close(-1) do not
            // read as a hundred.
            let dropped = table.never_valid.dropped;
            if dropped > 0
                && let Some(f) = out.get_mut(first)
            {
                f.notes.push(format!(
                    "{dropped} more calls on values never open in this process were counted but not kept: the first {} are the ones reported",
                    table.never_valid.items.len()
                ).into());
            }
        }
        out
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        out.absorb(self.findings(cx));
    }
}
