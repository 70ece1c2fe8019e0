use crate::model::{Finding, Level, Role};

use super::evidence::{label, recycle_chain_labels, stack_hint};
use super::ownership::stale_uses;
use super::{RuleContext, declare_rule};

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
    /// Evidence that the use came from the old holder: the operation fits only
    /// the old resource type and was made by a task that held the old handle
    /// (lseek on a pipe → ESPIPE, send on a file → ENOTSOCK), or the same task
    /// later releases the value as the old holder (HC004). A matching call
    /// site (stack) raises the confidence to high but is never enough alone: a
    /// loop or a thread-pool worker handles one file or connection after
    /// another from the same code. The confidence of each finding says which
    /// evidence was found.
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
    fn check(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for g in &cx.graph.gens {
            let Some(s) = stale_uses(cx, g) else { continue };
            let Some(old_release) = s.old.release else {
                continue;
            };
            let Some(first) = s.uses.first() else {
                continue;
            };
            let mut f = cx.finding(
                &META,
                Level::Error,
                format!(
                    "stale use of {}: {} at {} hits the {} that took over the value, not the {} closed at {}",
                    cx.handle_name(g.handle),
                    cx.call(first),
                    cx.at(first),
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
                Role::Release,
                format!("{} closed here", cx.what(s.old)),
            ));
            for u in s.uses.iter().take(4) {
                f.labels.push(label(
                    u,
                    Role::BadUse,
                    format!(
                        "stale {} (task {}) hits the {}",
                        cx.call(u),
                        u.tid,
                        s.new.kind.as_str()
                    ),
                ));
            }
            f.notes.extend(s.evidence.iter().cloned());
            let evs: Vec<_> = s.uses.iter().collect();
            if let Some(h) = stack_hint(&evs) {
                f.notes.push(format!("to make it certain, {h}"));
            }
            f.site = cx.site(Some(s.old), first);
            out.push(f);
        }
        out
    }
}
