use crate::lifecycle::ReleaseHow;
use crate::model::{Confidence, Level, Op, Role, Text, flags};

use super::evidence::{label, open_label};
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// An operation (read, write, send, ioctl, WaitForSingleObject...) on a handle
    /// value that was released and not reused: the call fails with `EBADF` /
    /// `ERROR_INVALID_HANDLE`.
    ///
    /// ## Why it matters
    /// The operation silently did nothing: data meant for a file or socket is lost.
    /// And the code still holds a stale value: had the value been recycled first,
    /// the same call would have hit someone else's handle (HC003).
    ///
    /// When HC003 is off (`--ignore`, `--select`, config), its stale uses of a
    /// recycled value are reported here; when HC004 and HC001 are both off, the
    /// victim's failure after a stale release is reported here, naming the
    /// release that killed its handle.
    ///
    /// ## Example
    /// ```text
    /// 32 close(3</tmp/uac.log>) = 0
    /// 33 write(3, "late message\n", 13) = -1 EBADF (Bad file descriptor)
    /// ```
    ///
    /// ## How to fix
    /// Release a handle only after its last use, and reset the stored value when
    /// releasing it so later code can tell it is gone. With threads, make the
    /// release wait for users (reference count, join, or shutdown before close).
    pub struct UseAfterClose {
        code: "HC002",
        name: "use-after-close",
        level: Level::Error,
        summary: "an operation on a handle that is closed and not reused",
    }
}

impl UseAfterClose {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        for g in &cx.graph.gens {
            let Some(rel) = g.release() else { continue };
            // When the release itself was a stale holder's, the victim's failure is
            // a link of the chain that HC004 (or, when it is off, HC001) reports.
            let own = &cx.graph.ownership;
            let chain_reported = cx.runs("HC004") || cx.runs("HC001");
            let killed_by = own.release_of(g.id);
            if killed_by.is_some() && chain_reported {
                continue;
            }
            let bad: Vec<_> = g
                .cold
                .after_release
                .items
                .iter()
                .filter(|e| {
                    e.op == Op::Use
                        && e.outcome.is_bad_handle()
                        && !e.has(flags::SWEEP)
                        && !(chain_reported && own.event_in_chain(e.seq))
                })
                .collect();
            let Some(first_bad) = bad.first() else {
                continue;
            };
            let mut f = cx.finding(
                &META,
                Level::Error,
                format!(
                    "{} used after it was closed: {} fails with {}",
                    cx.describe(g),
                    cx.call(first_bad),
                    match first_bad.outcome {
                        crate::model::Outcome::Failed { name, .. } => cx.text(name),
                        _ => "an error".to_string(),
                    }
                ),
            );
            f.pid = cx.table_of(g).pid;
            f.confidence = Confidence::High;
            if let Some(l) = open_label(cx, g) {
                f.labels.push(l);
            }
            let release_text: Text = match rel.how {
                ReleaseHow::Vanished => {
                    "the kernel reports it closed here; no release of it appears in the trace"
                        .into()
                }
                ReleaseHow::ReplacedByDup => "closed here by dup2 onto it".into(),
                ReleaseHow::ExecCloexec => "closed here by exec (close-on-exec)".into(),
                _ if rel.event.tid != first_bad.tid => {
                    format!("closed here by task {}", rel.event.tid).into()
                }
                _ => "closed here".into(),
            };
            f.labels
                .push(label(&rel.event, Role::Release, release_text));
            for e in bad.iter().take(4) {
                f.labels.push(label(
                    e,
                    Role::BadUse,
                    format!("{} on the closed value", cx.call(e)),
                ));
            }
            if bad.len() > 4 || g.cold.after_release.dropped > 0 {
                f.notes.push(
                    format!(
                        "{} more failing uses not shown",
                        bad.len().saturating_sub(4) + g.cold.after_release.dropped as usize
                    )
                    .into(),
                );
            }
            if rel.how == ReleaseHow::Vanished {
                f.confidence = Confidence::Medium;
                f.notes.push("the trace shows no release: something it does not capture closed the value (an untraced thread or process sharing the table, or a filtered syscall)".into());
            }
            if rel.event.tid != first_bad.tid {
                f.notes.push(
                    format!(
                        "task {} closed it while task {} still used it",
                        rel.event.tid, first_bad.tid
                    )
                    .into(),
                );
            }
            if let Some(k) = killed_by {
                f.notes.push(format!(
                    "its handle was killed by task {}'s stale release at {} (HC004 and HC001 are off)",
                    k.attr.event.tid,
                    cx.at(&k.attr.event)
                ).into());
            }
            f.site = cx.site(Some(g), first_bad);
            out.push(f);
        }
        // A stale use is a use after close that hit a recycled value: when
        // HC003 is off, this rule reports it.
        if !cx.runs("HC003") {
            let own = &cx.graph.ownership;
            for (i, s) in own.uses.iter().enumerate() {
                if cx.runs("HC004") && own.chains.iter().any(|c| c.misuse == Some(i)) {
                    continue;
                }
                out.extend(super::hc003_reuse_after_close::stale_use_finding(
                    cx, &META, s,
                ));
            }
        }
    }
}
