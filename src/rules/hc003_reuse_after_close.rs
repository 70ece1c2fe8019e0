use crate::lifecycle::ownership::StaleUse;
use crate::model::{Confidence, Finding, Level, Role};

use super::evidence::{label, recycle_chain_labels};
use super::{Findings, RuleContext, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it finds
    /// A stale holder *using* a handle value after it was closed and recycled to
    /// another resource: the operation silently hits the new resource. A write
    /// meant for a file lands in someone else's socket, and often succeeds.
    ///
    /// ## Why it matters
    /// Nothing fails at the stale call itself: data goes to the wrong peer, or is
    /// read from the wrong file, and the real owner sees corrupt input later.
    /// This is the bug class fdsan and `valgrind --modify-fds=high` exist for.
    ///
    /// Evidence, each kind independent and named in the finding: *holder* (the
    /// task held the previous generation and did not make the new one, which
    /// another task made); *resource* (the call fits only the old kind: lseek on
    /// a pipe → ESPIPE, fsync on a socket → EINVAL); *code path* (the program's
    /// own frames of the call used the previous generation, and the two were
    /// created by different code: the same creation path is a loop or an accept
    /// loop handing connections out, not a stale holder); *victim* (the task's
    /// handle had been killed by a stale release). Holder needs one more kind
    /// (two more for high confidence): a holder alone, even using a value whose
    /// kind changed, is not reported (a handoff the trace cannot see looks the
    /// same). A standard stream (0-2) the task used, closed by another task and
    /// taken by a plain open, is resource evidence. Success is not innocence: the stale write that
    /// lands in a socket or a data file is reported although it succeeds.
    ///
    /// ## Example
    /// ```text
    /// 32 close(3</tmp/stale-cache.dat>) = 0
    /// 33 socketpair(AF_UNIX, SOCK_STREAM, 0, [3<socket:[59585]>, 4<socket:[59586]>]) = 0
    /// 34 write(3<socket:[59585]>, "v2\n", 3) = 3        <- meant for the file
    /// ```
    ///
    /// ## How to fix
    /// Reset cached handle values when releasing them, and never keep a raw value
    /// beyond the owner's lifetime: hold the owning object (unique_fd, SafeHandle)
    /// or a reference to it instead.
    pub struct ReuseAfterClose {
        code: "HC003",
        name: "reuse-after-close",
        level: Level::Error,
        summary: "a stale holder uses a value that was closed and recycled",
    }
}

impl ReuseAfterClose {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        let own = &cx.graph.ownership;
        for (i, s) in own.uses.iter().enumerate() {
            // The last link of a collision chain: HC004 reports the chain.
            if cx.runs("HC004") && own.chains.iter().any(|c| c.misuse == Some(i)) {
                continue;
            }
            if let Some(f) = stale_use_finding(cx, &META, s) {
                out.push(f);
            }
        }
    }
}

/// A finding for stale uses of one generation by one task, under `meta`
/// (HC003, or HC002 when HC003 is off).
pub(super) fn stale_use_finding(
    cx: &RuleContext<'_>,
    meta: &'static RuleMeta,
    s: &StaleUse,
) -> Option<Finding> {
    let old = cx.graph.gen_(s.attr.meant)?;
    let new = cx.graph.gen_(s.attr.hit)?;
    let old_release = old.release()?;
    let first = s.uses.first()?;
    // Low confidence (a holder and a change of kind, nothing more) is a note:
    // a handoff the trace cannot see looks the same.
    let level = if s.attr.confidence >= Confidence::Medium {
        Level::Error
    } else {
        Level::Note
    };
    let succeeded = s.uses.iter().any(|u| u.outcome.is_ok());
    let mut f = cx.finding(
        meta,
        level,
        format!(
            "stale use of {}: {} (task {}) hits the {} that took over the value, not the {} it had closed{}",
            cx.handle_name(new.handle),
            cx.call(first),
            first.tid,
            cx.what(new),
            cx.what(old),
            if succeeded { "; it succeeds, silently" } else { "" }
        ),
    );
    f.pid = cx.table_of(new).pid;
    f.confidence = s.attr.confidence;
    f.labels.extend(recycle_chain_labels(
        cx,
        old,
        new,
        Role::Release,
        format!(
            "{} closed here (task {})",
            cx.what(old),
            old_release.event.tid
        ),
    ));
    for u in s.uses.iter().take(4) {
        f.labels.push(label(
            u,
            Role::BadUse,
            format!(
                "stale {} (task {}) hits the {}{}",
                cx.call(u),
                u.tid,
                new.kind.as_str(),
                if u.outcome.is_ok() {
                    ", and succeeds"
                } else {
                    ""
                }
            ),
        ));
    }
    f.notes.push(s.attr.evidence_note().into());
    if !s.attr.to_be_certain.is_empty() {
        f.notes
            .push(format!("to make it certain: {}", s.attr.to_be_certain.join("; ")).into());
    }
    f.site = cx.site(Some(old), first);
    Some(f)
}
