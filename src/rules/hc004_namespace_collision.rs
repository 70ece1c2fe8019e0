use crate::model::{Finding, Level, Role};

use super::evidence::{label, recycle_chain_labels, stack_hint};
use super::ownership::stale_release;
use super::{RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// A stale holder *releasing* a recycled value: its handle was closed, the
    /// value was handed to an unrelated resource, and the old holder's second
    /// close kills the new owner's handle, often of another type (closing an Event
    /// twice closes a File). The finding shows the whole chain: first release,
    /// recycle, stale release, and the victim's failure.
    ///
    /// ## Why it matters
    /// The victim fails far from the bug ("the handle is invalid", EBADF in an
    /// unrelated thread, a socket that vanishes), and the stale release itself
    /// succeeds, so nothing points at the culprit. This is the classic double
    /// close across threads (fdsan's victim/bystander/offender story).
    ///
    /// Ownership evidence, strongest first: the releasing stack is the one that
    /// released the previous generation; the resource type changed and the victim's
    /// operation fits only the new type; the victim's own failure; the thread.
    ///
    /// ## Example
    /// ```text
    /// 58 [A] close(5<anon_inode:[eventfd]>) = 0
    /// 71 [B] openat(AT_FDCWD, "/tmp/data", O_RDONLY) = 5</tmp/data>
    /// 74 [A] close(5</tmp/data>) = 0                  <- stale close
    /// 80 [B] read(5, ...) = -1 EBADF                  <- victim
    /// ```
    ///
    /// ## How to fix
    /// Find the code path that releases twice (the first two labels) and make it
    /// release once, resetting its stored value. Ownership wrappers (unique_fd,
    /// SafeHandle, fdsan tags) turn this into an immediate, local failure.
    pub struct NamespaceCollision {
        code: "HC004",
        name: "namespace-collision",
        level: Level::Error,
        summary: "a stale holder releases a recycled value, killing another handle",
    }
}

impl NamespaceCollision {
    fn check(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for g in &cx.graph.gens {
            let Some(s) = stale_release(cx, g) else {
                continue;
            };
            let Some(old_release) = s.old.release else {
                continue;
            };
            let mut f = cx.finding(
                &META,
                Level::Error,
                format!(
                    "stale release of {} at {} closes the {} that took over the value, not the {} already closed at {}",
                    cx.handle_name(g.handle),
                    cx.at(&s.release),
                    cx.what(s.new),
                    cx.what(s.old),
                    cx.at(&old_release.event)
                ),
            );
            f.pid = cx.table_of(g).pid;
            f.confidence = s.confidence;
            f.labels.extend(recycle_chain_labels(
                cx,
                s.old,
                s.new,
                Role::FirstRelease,
                format!("{} first released here", cx.what(s.old)),
            ));
            f.labels.push(label(
                &s.release,
                Role::BadRelease,
                format!(
                    "stale release here (task {}) kills the {}",
                    s.release.tid,
                    s.new.kind.as_str()
                ),
            ));
            if let Some(v) = &s.victim {
                f.labels.push(label(
                    v,
                    Role::Victim,
                    format!("the owner's {} fails: its handle is gone", cx.call(v)),
                ));
            }
            f.notes.push(format!("evidence: {}", s.evidence.join("; ")));
            let evs = [&s.release, &old_release.event];
            if let Some(h) = stack_hint(&evs) {
                f.notes.push(format!("to make it certain, {h}"));
            } else if s.confidence < crate::model::Confidence::High {
                f.notes.push("the stacks differ: the owner may instead have used its handle after closing it itself".to_string());
            }
            f.site = cx.site(Some(s.old), &s.release);
            out.push(f);
        }
        out
    }
}
