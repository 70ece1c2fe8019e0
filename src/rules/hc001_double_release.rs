use crate::lifecycle::ReleaseHow;
use rustc_hash::FxHashMap;

use crate::model::{Confidence, Finding, Level, Op, Role, flags};

use super::evidence::{label, open_label};
use super::{Findings, RuleContext, declare_rule};

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
    /// somebody else's handle (see HC004). It is always an error (valgrind, fdsan
    /// and Application Verifier treat it as one); the finding says whether
    /// anything could have taken the value in this run (another task sharing the
    /// table). When HC004 is off, its stale releases (a double release across a
    /// recycle) are reported here, with the same chain.
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
    pub struct DoubleRelease {
        code: "HC001",
        name: "double-release",
        level: Level::Error,
        summary: "a handle released again after its release",
    }
}

impl DoubleRelease {
    fn findings(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let mut out = merge_close_range(cx, self.per_generation(cx));
        // A stale release is a double release across a recycle: when HC004 is
        // off, this rule reports the chain.
        if !cx.runs("HC004") {
            out.extend(
                cx.graph
                    .ownership
                    .chains
                    .iter()
                    .filter_map(|c| super::hc004_namespace_collision::chain_finding(cx, &META, c)),
            );
        }
        out
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        out.absorb(self.findings(cx));
    }
}

/// One `close_range` call finding several values already closed is one
/// finding listing them, not one per value. Linear: the finding of each call
/// is found by its event's sequence number, and a merged finding's message is
/// written once, after all its values are in.
fn merge_close_range(cx: &RuleContext<'_>, mut findings: Vec<Finding>) -> Vec<Finding> {
    // Merged in place (500k findings are not copied into a second list):
    // close_range event seq -> (index of its first finding, merged more than one).
    let mut by_call: FxHashMap<u64, (usize, bool)> = FxHashMap::default();
    let mut merged_away = vec![false; findings.len()];
    for i in 0..findings.len() {
        let range_call = findings[i]
            .primary()
            .map(|p| p.event)
            .filter(|e| matches!(e.op, Op::CloseRange { .. }));
        let Some(e) = range_call else {
            continue;
        };
        match by_call.get_mut(&e.seq) {
            Some((first, merged)) => {
                *merged = true;
                merged_away[i] = true;
                let labels = std::mem::take(&mut findings[i].labels);
                let level = findings[i].level;
                let o = &mut findings[*first];
                for l in labels {
                    if l.role != Role::BadRelease {
                        o.labels.push(l);
                    }
                }
                o.level = o.level.max(level);
            }
            None => {
                by_call.insert(e.seq, (i, false));
            }
        }
    }
    for (i, merged) in by_call.into_values() {
        if !merged {
            continue;
        }
        let o = &mut findings[i];
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
            "{} released twice: a close_range finds them already closed",
            names.join(", "),
        );
    }
    let mut away = merged_away.into_iter();
    findings.retain(|_| !away.next().unwrap_or(false));
    let mut out = findings;
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
            let Some(first) = g.release() else { continue };
            // The victim's own failing release after a stale one is a link of
            // the chain (reported by HC004, or below when HC004 is off).
            let own = &cx.graph.ownership;
            if own.release_of(g.id).is_some() {
                continue;
            }
            if first.how == ReleaseHow::Vanished || first.how == ReleaseHow::Superseded {
                continue;
            }
            let again: Vec<_> = g
                .cold
                .after_release
                .items
                .iter()
                .filter(|e| {
                    !e.has(flags::SWEEP)
                        && !own.event_in_chain(e.seq)
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
            // Always an error (valgrind, fdsan and Application Verifier agree);
            // the notes say whether anything could have taken the value. One
            // exception: a bounded close_range over fds the task already closed
            // one by one (a subprocess child closing "everything else" before
            // exec) is a sweep that found nothing left: a folded note.
            let range_sweep = matches!(second.op, Op::CloseRange { .. })
                && first.how != ReleaseHow::CloseRange
                && second.tid == first.event.tid;
            let level = if range_sweep {
                Level::Note
            } else {
                Level::Error
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
                    "{} released twice: the second {} finds it already closed ({})",
                    cx.describe(g),
                    how,
                    if shared {
                        "another task shared the table: anything it opened in between could have taken the value"
                    } else {
                        "nothing else could have taken the value in this run"
                    }
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
            // Windows evidence (!htrace, verifier, ETW) never shows every thread
            // of the process: thread-pool and loader threads share its table.
            let windows = cx.style == crate::rules::HandleStyle::Windows;
            if windows && !shared {
                f.notes.push(format!(
                    "every Windows process has threads this evidence does not show (thread pool, loader, injected): between the two releases one of them could have been handed {}, and the second release would have closed it",
                    cx.handle_name(g.handle)
                ).into());
            } else if shared {
                f.notes.push(format!(
                    "{} tasks shared the handle table: between the two releases another thread could have been handed {}, and the second release would have closed it",
                    g.sharers_at_release.max(2),
                    cx.handle_name(g.handle)
                ).into());
            } else {
                f.notes.push("nothing could have taken the value in this run: no other task shared the handle table and nothing was opened in between; with threads, or an open between the two releases, the second release closes whatever took the value".into());
            }
            f.site = cx.site(Some(g), second);
            if range_sweep {
                f.folded = true;
                f.notes.push("close_range swept a range whose fds this task had already closed one by one: nothing was closed twice by the kernel".into());
            }
            // Every finding is held until the rule ends: no spare room.
            f.shrink_to_fit();
            out.push(f);
        }
        out
    }
}
