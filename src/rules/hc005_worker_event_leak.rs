use std::collections::BTreeMap;

use crate::lifecycle::Generation;
use crate::model::{Confidence, Level, Role};

use super::evidence::label;
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// Event-like handles created while creating worker threads that outlive
    /// their threads and pile up: eventfds, timerfds or pipes made per created
    /// thread (POSIX), Event handles made by `clr!Thread::AllocHandles` under
    /// `ThreadpoolMgr::CreateWorkerThread` (.NET Framework). The count keeps
    /// growing even while the process is idle, until a GC (if any) reclaims them.
    ///
    /// A handle counts as made for a thread when its creator spawned the thread
    /// right after making it, or the new thread made it right after starting
    /// (or, with stacks, when its creation stack passes through thread-creation
    /// frames). It is reported when two or more such handles from one site were
    /// still open after their threads ended while the process went on.
    ///
    /// Handles that live as long as the process are not worker leaks: a thread
    /// that runs until shutdown (an event loop, libuv's or memcached's per-worker
    /// notify pipes, a jobserver helper) ends in the process's exit, with its
    /// handles. A thread counts as ended while the process went on when the
    /// process made another call after it (a call returning after a thread's
    /// exit; the `= ?` leftovers of a process-wide exit do not count), or lived
    /// at least `worker_exit_grace_ms` (config `[thresholds]`, default 100)
    /// after it. Handles linked to only one thread are not per worker (an event
    /// loop's pipes made before its one helper thread) unless their creation
    /// stack shows the thread-creation path. Objects made right
    /// before a fork belong to the child process (multiprocessing sentinel
    /// pipes), not to a thread spawned later.
    ///
    /// ## Why it matters
    /// Every worker that comes and goes leaves a handle behind: handle counts
    /// creep up in idle services, and a thread-pool churn eventually exhausts the
    /// table (EMFILE) or the process handle quota.
    ///
    /// ## Example
    /// ```text
    /// 30 eventfd2(0, EFD_CLOEXEC) = 3<anon_inode:[eventfd]>
    /// 39 clone3({flags=CLONE_VM|...|CLONE_THREAD...}) = 32445
    /// ...                                   (thread exits; fd 3 is never closed)
    /// ```
    ///
    /// ## How to fix
    /// Close the per-thread object when its thread exits (a thread-exit hook, RAII
    /// in the thread function), or share one object among the pool. For the .NET
    /// Framework thread-pool Event leak: move to .NET Framework 4.5 or later;
    /// `GC.Collect()` reclaims the handles as a workaround.
    pub struct WorkerEventLeak {
        code: "HC005",
        name: "worker-event-leak",
        level: Level::Warning,
        summary: "event handles made per worker thread outlive their threads",
    }
}

/// Frames that show a handle was made on the thread-creation path.
const THREAD_CREATION_FRAMES: &[&str] = &[
    "Thread::AllocHandles",
    "Thread::CreateNewOSThread",
    "Thread::CreateNewThread",
    "ThreadpoolMgr::CreateWorkerThread",
    "ThreadpoolMgr::CreateCompletionPortThread",
    "SetupUnstartedThread",
    "pthread_create",
    "CreateThread",
];

/// The .NET Framework 4 thread-pool Event leak (KB 2973904): manual-reset
/// Events made by `Thread::AllocHandles` for each new pool thread, reclaimed
/// only when a GC finalizes the managed Thread object. The stack shape alone is
/// the evidence, so one such handle is enough.
fn is_clr_threadpool_event_path(cx: &RuleContext<'_>, g: &Generation) -> bool {
    let Some(stack) = g.open().and_then(|o| o.stack) else {
        return false;
    };
    let frames: Vec<&str> = cx
        .interner
        .frames(stack)
        .iter()
        .map(|f| cx.interner.resolve(*f))
        .collect();
    let has = |m: &str| frames.iter().any(|t| t.contains(m));
    has("CLREvent::Create")
        && has("Thread::AllocHandles")
        && has("Thread::CreateNewOSThread")
        && has("ThreadpoolMgr::")
}

impl WorkerEventLeak {
    fn made_for_thread(cx: &RuleContext<'_>, g: &Generation) -> bool {
        g.cold.thread_link.is_some() || Self::made_on_creation_path(cx, g)
    }

    /// The creation stack passes through thread-creation frames.
    fn made_on_creation_path(cx: &RuleContext<'_>, g: &Generation) -> bool {
        let Some(stack) = g.open().and_then(|o| o.stack) else {
            return false;
        };
        cx.interner.frames(stack).iter().any(|f| {
            let t = cx.interner.resolve(*f);
            THREAD_CREATION_FRAMES.iter().any(|m| t.contains(m))
        })
    }
}

impl WorkerEventLeak {
    /// The thread ended while its process went on (not in the process's exit).
    fn ended_before_process(cx: &RuleContext<'_>, g: &Generation, tid: u32) -> bool {
        let table = cx.table_of(g);
        let Some(rec) = table.threads.iter().find(|r| r.tid == tid) else {
            return true;
        };
        let Some(exit) = rec.exit else { return false };
        if rec.process_went_on {
            return true;
        }
        match (exit.time, table.ended.as_deref().and_then(|e| e.time)) {
            (Some(t), Some(end)) => {
                let grace = (cx.thresholds.worker_exit_grace_ms as i64).saturating_mul(1_000_000);
                end.saturating_sub(t) >= grace
            }
            _ => false,
        }
    }
}

impl WorkerEventLeak {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        // Grouped per table and kind: one finding per process and object type.
        let mut by_site: BTreeMap<(u32, crate::model::ResourceKind), Vec<&Generation>> =
            BTreeMap::new();
        for g in &cx.graph.gens {
            if !g.kind.is_signal_object() || g.open().is_none() {
                continue;
            }
            // Outlived its thread (even if a GC reclaimed it later) while the
            // process went on; without a linked thread (stack evidence only),
            // never released.
            let leaked = match g.cold.thread_link {
                Some(tid) => {
                    g.cold.outlived_thread.is_some() && Self::ended_before_process(cx, g, tid)
                }
                None => {
                    g.cold.outlived_thread.is_some()
                        || (g.release.is_none() && g.open_at_exit.is_some())
                }
            };
            if !leaked {
                continue;
            }
            if !Self::made_for_thread(cx, g) {
                continue;
            }
            by_site.entry((g.table.0, g.kind)).or_default().push(g);
        }
        for (_, gens) in by_site {
            let clr_kb = gens.iter().any(|g| is_clr_threadpool_event_path(cx, g));
            if gens.len() < 2 && !clr_kb {
                continue;
            }
            // Per worker: linked handles must belong to two threads or more
            // (an event loop's pipes made before its one helper thread are not).
            let mut threads: Vec<u32> = gens.iter().filter_map(|g| g.cold.thread_link).collect();
            threads.sort_unstable();
            threads.dedup();
            if threads.len() == 1 && !gens.iter().any(|g| Self::made_on_creation_path(cx, g)) {
                continue;
            }
            let first = gens[0];
            let Some(first_open) = first.open() else {
                continue;
            };
            let outlived = gens
                .iter()
                .filter(|g| g.cold.outlived_thread.is_some())
                .count();
            let kind = first.kind.as_str();
            let mut f = cx.finding(
                &META,
                Level::Warning,
                if outlived == 0 {
                    // No thread exit in the trace (a debugger dump): say what it shows.
                    format!(
                        "{} {} handle{} made while creating worker threads still open",
                        gens.len(),
                        kind,
                        if gens.len() == 1 { "" } else { "s" }
                    )
                } else {
                    format!(
                        "{} {} handles made while creating worker threads outlived their purpose ({} outlived their thread{})",
                        gens.len(),
                        kind,
                        outlived,
                        if outlived == 1 { "" } else { "s" }
                    )
                },
            );
            f.pid = cx.table_of(first).pid;
            // The KB 2973904 stack is a known defect's own signature.
            f.confidence = if outlived > 0 || clr_kb {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let table = cx.table_of(first);
            for g in gens.iter().take(6) {
                let Some(open) = g.open() else { continue };
                let thread = g
                    .cold
                    .thread_link
                    .map(|t| format!(" for thread {t}"))
                    .unwrap_or_default();
                f.labels.push(label(
                    &open,
                    Role::Open,
                    format!("{}{} created here", cx.describe(g), thread),
                ));
                if let Some(t) = g.cold.thread_link
                    && let Some(rec) = table.threads.iter().find(|r| r.tid == t)
                {
                    f.labels.push(label(
                        &rec.spawn,
                        Role::Spawn,
                        format!("thread {t} created here"),
                    ));
                    if let Some(exit) = rec.exit {
                        f.labels.push(label(
                            &exit,
                            Role::Exit,
                            format!("thread {t} ends; {} still open", cx.handle_name(g.handle)),
                        ));
                    }
                }
            }
            if gens.len() > 6 {
                f.notes
                    .push(format!("{} more not shown", gens.len() - 6).into());
            }
            if clr_kb {
                f.notes.push("the .NET Framework 4 thread-pool Event leak (KB 2973904): clr!CLREvent::CreateManualEvent ← clr!Thread::AllocHandles ← clr!Thread::CreateNewOSThread ← clr!ThreadpoolMgr::CreateWorkerThread makes manual-reset Events for every new thread-pool thread; they outlive the thread".into());
                f.notes.push("the handles go only when a garbage collection runs (the finalizer of the managed Thread object closes them): in a process that rarely collects they pile up even while idle".into());
                f.notes.push("fix: move to .NET Framework 4.5 or later; workaround: call GC.Collect() (then GC.WaitForPendingFinalizers()) periodically to reclaim them".into());
            }
            let live_trend: Vec<String> = gens
                .iter()
                .enumerate()
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            f.notes
                .push(format!("live count over the trace: {}", live_trend.join(" → ")).into());
            let reclaimed: Vec<&&Generation> =
                gens.iter().filter(|g| g.release.is_some()).collect();
            if let Some(gc) = cx
                .graph
                .gc_events
                .iter()
                .find(|e| e.op == crate::model::Op::GcStart)
            {
                f.labels
                    .push(label(gc, Role::Use, "garbage collection starts"));
                if !reclaimed.is_empty() {
                    f.notes.push(format!(
                        "{} of them were released only after a garbage collection: reclaimed by finalizers, not by the thread pool",
                        reclaimed.len()
                    ).into());
                }
            } else if !reclaimed.is_empty() {
                f.notes.push(
                    format!(
                        "{} of them were released long after their thread ended",
                        reclaimed.len()
                    )
                    .into(),
                );
            }
            if let Some(end) = table.ended.as_deref()
                && (end.origin.line != 0 || end.origin.record != 0)
            {
                f.labels
                    .push(label(end, Role::Exit, "process ends with them open"));
            }
            f.labels.sort_by_key(|l| l.event.seq);
            f.site = cx.site(Some(first), &first_open);
            out.push(f);
        }
    }
}
