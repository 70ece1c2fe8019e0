use crate::model::{Confidence, Level, Role};

use super::evidence::{label, open_label};
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// One thread releasing a handle while another thread sharing the table is
    /// blocked in a call on it (strace shows the blocked call as
    /// `<unfinished ...>` when the close happens).
    ///
    /// ## Why it matters
    /// On Linux the blocked call keeps the old file alive and may still complete,
    /// but the number is free: the next open anywhere in the process can take it,
    /// and the blocked thread's next call (and its eventual close) will hit the
    /// new resource. Closing an fd does not wake a thread blocked on it.
    ///
    /// ## Example
    /// ```text
    /// 53 [B] read(3<pipe:[1234]>,  <unfinished ...>
    /// 66 [A] close(3<pipe:[1234]>) = 0
    /// 69 [B] <... read resumed>"x", 1) = 1
    /// ```
    ///
    /// ## How to fix
    /// Stop the user first: `shutdown(2)` a socket or write a wake-up byte, join
    /// or signal the blocked thread, then close. Reference-count handles shared
    /// between threads.
    pub struct CloseWhileInUse {
        code: "HC009",
        name: "close-while-in-use",
        level: Level::Error,
        summary: "a handle released while another thread is blocked on it",
    }
}

impl CloseWhileInUse {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        for g in &cx.graph.gens {
            let Some(rel) = g.release() else { continue };
            let Some(blocked) = g.cold.in_flight_at_release.items.first() else {
                continue;
            };
            let mut f = cx.finding(
                &META,
                Level::Error,
                format!(
                    "{} closed by task {} while task {} was blocked in {} on it",
                    cx.describe(g),
                    rel.event.tid,
                    blocked.tid,
                    cx.call(blocked)
                ),
            );
            f.pid = cx.table_of(g).pid;
            f.confidence = Confidence::High;
            if let Some(l) = open_label(cx, g) {
                f.labels.push(l);
            }
            for b in g.cold.in_flight_at_release.items.iter().take(3) {
                f.labels.push(label(
                    b,
                    Role::InFlight,
                    format!("task {} blocks in {} here", b.tid, cx.call(b)),
                ));
            }
            f.labels.push(label(
                &rel.event,
                Role::BadRelease,
                format!("task {} closes it meanwhile", rel.event.tid),
            ));
            if let Some(next) = g.next.and_then(|n| cx.graph.gen_(n))
                && let Some(open) = next.open()
            {
                f.labels.push(label(
                    &open,
                    Role::Recycle,
                    format!("value recycled here for {}", cx.what(next)),
                ));
            }
            f.site = cx.site(Some(g), &rel.event);
            out.push(f);
        }
    }
}
