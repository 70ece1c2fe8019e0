use crate::lifecycle::ReleaseHow;
use crate::model::{Confidence, Finding, Level, Op, Role, flags};

use super::evidence::{label, open_label};
use super::{Rule, RuleContext, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it finds
    /// A handle released again after its release, with no reopen of the value in
    /// between: `close(fd)` answering `EBADF` right after a successful close,
    /// `CloseHandle` twice, two SafeHandles owning one handle, or `close_range`
    /// over fds it already closed (which returns 0 anyway).
    ///
    /// ## Why it matters
    /// Handle values are recycled the moment they are released. In a program with
    /// more than one thread, the value can be handed to another thread's new file,
    /// socket or Event between the two releases: the second release then closes
    /// somebody else's handle (see HC004). It is reported as an error when another
    /// task shared the handle table, and as a note when the program was alone
    /// with its table and nothing was recycled: harmless in this run, a latent bug.
    ///
    /// A bounded `close_range` that finds only fds the same task already closed
    /// one by one (a subprocess child closing everything else before exec) is a
    /// sweep, reported as a folded note. The same double release repeated at
    /// one site of one program (a shell closing a pipeline's pipe twice, run
    /// after run) is one finding with its count.
    ///
    /// ## Example
    /// ```text
    /// 30 openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 3</etc/hostname>
    /// 32 close(3</etc/hostname>) = 0
    /// 33 close(3) = -1 EBADF (Bad file descriptor)
    /// ```
    ///
    /// ## How to fix
    /// Give every handle one owner and reset the stored value when it is released
    /// (`fd = -1;` after `close(fd)`; `Dispose` the SafeHandle, never the raw
    /// handle). Cleanup paths should check the reset value instead of closing again.
    pub struct DoubleRelease;
}

static META: RuleMeta = RuleMeta {
    code: "HC001",
    name: "double-release",
    level: Level::Error,
    summary: "a handle released again after its release",
};

impl Rule for DoubleRelease {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn check(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        merge_close_range(cx, self.per_generation(cx))
    }
}

/// One `close_range` call finding several values already closed is one
/// finding listing them, not one per value.
fn merge_close_range(cx: &RuleContext<'_>, findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        let bad = f.primary().map(|p| p.event);
        let range_call = bad.filter(|e| matches!(e.op, Op::CloseRange { .. }));
        let existing = range_call.and_then(|e| {
            out.iter_mut().find(|o| {
                o.primary().is_some_and(|p| {
                    p.event.seq == e.seq && matches!(p.event.op, Op::CloseRange { .. })
                })
            })
        });
        match (existing, range_call) {
            (Some(o), Some(e)) => {
                for l in f.labels {
                    if l.role != Role::BadRelease {
                        o.labels.push(l);
                    }
                }
                o.level = o.level.max(f.level);
                let mut values: Vec<i64> = o
                    .labels
                    .iter()
                    .filter(|l| l.role == Role::FirstRelease)
                    .map(|l| l.event.handle)
                    .collect();
                values.sort_unstable();
                values.dedup();
                let names: Vec<String> = values.iter().map(|h| cx.handle_name(*h)).collect();
                o.message = format!(
                    "{} released twice: close_range at {} finds them already closed",
                    names.join(", "),
                    cx.at(&e)
                );
            }
            _ => out.push(f),
        }
    }
    for f in &mut out {
        f.labels.sort_by_key(|l| l.event.seq);
        f.labels.dedup_by_key(|l| (l.event.seq, l.role));
    }
    out
}

impl DoubleRelease {
    fn per_generation(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for g in &cx.graph.gens {
            let Some(first) = g.release else { continue };
            // The victim's own failing release after a stale one: HC004 reports the chain.
            if super::ownership::stale_release(cx, g).is_some() {
                continue;
            }
            if first.how == ReleaseHow::Vanished || first.how == ReleaseHow::Superseded {
                continue;
            }
            let again: Vec<_> = g
                .after_release
                .items
                .iter()
                .filter(|e| {
                    !e.has(flags::SWEEP)
                        && match e.op {
                            Op::Close => e.outcome.is_bad_handle() || e.outcome.is_ok(),
                            Op::CloseRange { .. } => true,
                            _ => false,
                        }
                })
                .collect();
            let Some(second) = again.first() else {
                continue;
            };
            let cross_task = second.tid != first.event.tid;
            let shared = g.sharers_at_release > 1 || cross_task;
            // A bounded close_range over fds the task already closed one by one
            // (a subprocess child closing "everything else" before exec) is a
            // sweep that found nothing left: a folded note, not a double release.
            let range_sweep = matches!(second.op, Op::CloseRange { .. })
                && first.how != ReleaseHow::CloseRange
                && second.tid == first.event.tid;
            let level = if shared && !range_sweep {
                Level::Error
            } else {
                Level::Note
            };
            let how = if matches!(second.op, Op::CloseRange { .. }) {
                "close_range"
            } else {
                "release"
            };
            let mut f = cx.finding(
                &META,
                level,
                format!(
                    "{} released twice: the {} at {} finds it already closed",
                    cx.describe(g),
                    how,
                    cx.at(second)
                ),
            );
            f.pid = cx.table_of(g).pid;
            f.confidence = Confidence::High;
            if let Some(l) = open_label(cx, g) {
                f.labels.push(l);
            }
            f.labels.push(label(
                &first.event,
                Role::FirstRelease,
                "first released here",
            ));
            for e in again.iter().take(4) {
                f.labels
                    .push(label(e, Role::BadRelease, "released again here"));
            }
            if shared {
                f.notes.push(format!(
                    "{} tasks shared the handle table: between the two releases another thread could have been handed {}, and the second release would have closed it",
                    g.sharers_at_release.max(2),
                    cx.handle_name(g.handle)
                ));
            } else {
                f.notes.push("harmless in this run: no other task shared the handle table and the value was not reused in between; with threads, the second release would close whatever took the value".to_string());
            }
            f.site = cx.site(Some(g), second);
            if range_sweep {
                f.folded = true;
                f.notes.push("close_range swept a range whose fds this task had already closed one by one: nothing was closed twice by the kernel".to_string());
            }
            out.push(f);
        }
        out
    }
}
