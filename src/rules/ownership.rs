//! Ownership evidence shared by HC002, HC003 and HC004: did an operation on a
//! recycled value come from the value's previous holder?
//!
//! Strength, strongest first: stacks (the call site touched the old generation),
//! resource type (the op fits only the old kind), the victim's own later
//! failure, the thread.

use crate::lifecycle::{Generation, Provenance, ReleaseHow};
use crate::model::{Confidence, ErrorClass, Event, Op, ResourceKind, flags};

use super::RuleContext;

/// Why we think the release of a recycled generation came from the old holder.
pub struct StaleRelease<'g> {
    pub old: &'g Generation,
    pub new: &'g Generation,
    pub release: Event,
    /// The rightful owner failing afterwards (EBADF), if seen.
    pub victim: Option<Event>,
    pub confidence: Confidence,
    pub evidence: Vec<String>,
}

/// First failing use or release of a generation's value after its release.
pub fn victim_failure(g: &Generation) -> Option<Event> {
    g.after_release
        .items
        .iter()
        .find(|e| e.outcome.is_bad_handle() && !e.has(flags::SWEEP) && e.op != Op::Probe)
        .copied()
}

fn kinds_differ(a: ResourceKind, b: ResourceKind) -> bool {
    a != ResourceKind::Unknown && b != ResourceKind::Unknown && a != b
}

/// The kinds of object a call can be made on, when it is specific to some;
/// `None` when the call fits any handle (read, write, close...).
fn call_fits(call: &str) -> Option<&'static [ResourceKind]> {
    use ResourceKind::*;
    Some(match call {
        "sendto" | "recvfrom" | "sendmsg" | "recvmsg" | "sendmmsg" | "recvmmsg" | "send"
        | "recv" | "accept" | "accept4" | "connect" | "bind" | "listen" | "shutdown"
        | "getsockopt" | "setsockopt" | "getsockname" | "getpeername" | "WSASend" | "WSARecv"
        | "closesocket" => &[Socket],
        "getdents" | "getdents64" | "fchdir" => &[Directory],
        "lseek" | "_llseek" | "pread64" | "pwrite64" | "fsync" | "fdatasync" | "ftruncate"
        | "fallocate" => &[File, MemFd, CharDevice],
        "epoll_ctl" | "epoll_wait" | "epoll_pwait" | "epoll_pwait2" => &[Epoll],
        "timerfd_settime" | "timerfd_gettime" => &[TimerFd],
        "inotify_add_watch" | "inotify_rm_watch" => &[Inotify],
        "SetEvent" | "ResetEvent" | "PulseEvent" => &[Event],
        "ReleaseMutex" => &[Mutant],
        "ReleaseSemaphore" => &[Semaphore],
        "ReadFile" | "WriteFile" | "ReadFileEx" | "WriteFileEx" | "FlushFileBuffers"
        | "SetFilePointer" | "SetFilePointerEx" | "GetFileSize" | "GetFileSizeEx" => {
            &[File, Pipe, CharDevice]
        }
        "RegQueryValueExW" | "RegQueryValueExA" | "RegSetValueExW" | "RegSetValueExA"
        | "RegCloseKey" => &[Key],
        _ => return None,
    })
}

/// True when `call` can only have been meant for `new`, not for `old`.
fn fits_only_new(call: &str, old: ResourceKind, new: ResourceKind) -> bool {
    match call_fits(call) {
        Some(kinds) => kinds.contains(&new) && !kinds.contains(&old),
        None => false,
    }
}

/// Both generations were created by the same code path (a loop opening file
/// after file): matching call sites are then that loop, not a stale holder.
fn same_creation_path(old: &Generation, new: &Generation) -> bool {
    match (
        old.open.and_then(|o| o.stack),
        new.open.and_then(|o| o.stack),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The value came back from the kernel's lowest-free-number allocation (open,
/// socket, dup...), not by a deliberate `dup2` onto it.
fn recycled(g: &Generation) -> bool {
    let explicit_target = matches!(g.open.map(|e| e.op), Some(Op::Dup { replaces: true, .. }));
    !explicit_target
        && matches!(
            g.provenance,
            Provenance::Opened | Provenance::Duplicated { .. } | Provenance::Received
        )
}

/// Classifies the release of `new` (a recycled value) as the old holder's.
pub fn stale_release<'g>(cx: &RuleContext<'g>, new: &'g Generation) -> Option<StaleRelease<'g>> {
    if !recycled(new) {
        return None;
    }
    let old = cx.graph.previous(new)?;
    let old_release = old.release?;
    let release = new.release?;
    if release.how != ReleaseHow::Close
        || !matches!(release.event.outcome, crate::model::Outcome::Ok)
    {
        return None;
    }
    let victim = victim_failure(new);
    let mut evidence = Vec::new();
    let mut stack_confidence = None;

    let same_close_path =
        release.event.stack.is_some() && release.event.stack == old_release.event.stack;
    let close_at_old_site = release.event.stack.is_some()
        && old
            .use_sites
            .items
            .iter()
            .any(|u| u.stack == release.event.stack);
    if same_close_path {
        evidence.push(format!(
            "the same code path (stack) released the previous {} at {}",
            cx.handle_name(old.handle),
            cx.at(&old_release.event)
        ));
        stack_confidence = Some(Confidence::High);
    } else if close_at_old_site {
        evidence.push("the releasing call site had used the previous generation".to_string());
        stack_confidence = Some(Confidence::High);
    }
    let types_differ = kinds_differ(old.kind, new.kind);
    // Type evidence: the victim's call fits only the new object, so it was the
    // new owner's call, and the new owner still expected its handle open.
    let victim_is_new_owner = victim
        .as_ref()
        .is_some_and(|v| types_differ && fits_only_new(&cx.call(v), old.kind, new.kind));
    if victim_is_new_owner {
        evidence.push(format!(
            "the value had been recycled from a {} to a {}, and the failing call fits only a {}",
            old.kind.as_str(),
            new.kind.as_str(),
            new.kind.as_str()
        ));
    }
    // Thread evidence: the task that released the old generation released the
    // new one too, while another task made the new one and failed afterwards.
    let new_owner_tid = new.open.map(|e| e.tid);
    let thread_evidence = release.event.tid == old_release.event.tid
        && Some(release.event.tid) != new_owner_tid
        && victim.as_ref().is_none_or(|v| v.tid != release.event.tid);
    if thread_evidence {
        evidence.push(format!(
            "task {} released both generations but task {} created the new one",
            release.event.tid,
            new_owner_tid.unwrap_or(0)
        ));
    }
    if let Some(v) = &victim {
        evidence.push(format!(
            "the new owner's {} failed with {} afterwards",
            cx.call(v),
            match v.outcome {
                crate::model::Outcome::Failed { name, .. } => cx.text(name),
                _ => "an error".to_string(),
            }
        ));
    }
    let confidence = match stack_confidence {
        // Stack evidence: enough with a victim or a change of object type.
        Some(c) if victim.is_some() || types_differ => c,
        Some(_) => return None,
        None if victim.is_some() && (victim_is_new_owner || thread_evidence) => Confidence::Medium,
        None => return None,
    };
    Some(StaleRelease {
        old,
        new,
        release: release.event,
        victim,
        confidence,
        evidence,
    })
}

/// Uses of a recycled generation that look like the old holder's.
pub struct StaleUses<'g> {
    pub old: &'g Generation,
    pub new: &'g Generation,
    pub uses: Vec<Event>,
    pub confidence: Confidence,
    pub evidence: Vec<String>,
}

pub fn stale_uses<'g>(cx: &RuleContext<'g>, new: &'g Generation) -> Option<StaleUses<'g>> {
    if !recycled(new) {
        return None;
    }
    let old = cx.graph.previous(new)?;
    old.release?;
    let mut uses: Vec<Event> = Vec::new();
    let mut evidence = Vec::new();
    let mut confidence = Confidence::Low;

    // Stack evidence: a call site that used the old generation. On its own it
    // cannot tell a stale holder from a loop or a thread-pool worker handling
    // one connection after another with the same code, so it only raises the
    // confidence of a finding that other evidence makes.
    let stack_matches: Vec<Event> = if same_creation_path(old, new) {
        Vec::new()
    } else {
        new.stale_use_candidates.items.clone()
    };
    // Type evidence: an op that failed because it fits only the old kind, made
    // by a task that held the old generation and did not make the new one (an
    // owner probing its own pipe with lseek is not stale).
    let new_owner_tid = new.open.map(|e| e.tid);
    let old_users: Vec<u32> = old
        .use_sites
        .items
        .iter()
        .map(|u| u.tid)
        .chain(old.open.map(|o| o.tid))
        .collect();
    if kinds_differ(old.kind, new.kind) {
        for e in &new.failed_uses.items {
            let by_old_holder = Some(e.tid) != new_owner_tid && old_users.contains(&e.tid);
            if e.outcome.failed_class() == Some(ErrorClass::WrongType)
                && by_old_holder
                && !uses.iter().any(|u| u.seq == e.seq)
            {
                uses.push(*e);
                confidence = confidence.max(Confidence::Medium);
                evidence.push(format!(
                    "{} failed on the {} with a wrong-type error: it was meant for the previous {}",
                    cx.call(e),
                    new.kind.as_str(),
                    old.kind.as_str()
                ));
            }
        }
    }
    // The stale releaser's own earlier uses of the new generation.
    if let Some(sr) = stale_release(cx, new) {
        confidence = confidence.max(sr.confidence.min(Confidence::Medium));
        let old_calls: Vec<_> = old.use_sites.items.iter().map(|u| u.call).collect();
        let before = uses.len();
        for e in &new.use_sites.items {
            if e.tid == sr.release.tid
                && e.seq < sr.release.seq
                && old_calls.contains(&e.call)
                && !uses.iter().any(|u| u.seq == e.seq)
            {
                uses.push(*e);
            }
        }
        if uses.len() > before {
            evidence.push(format!(
                "the same task later released the value as if it still held the previous {}",
                old.kind.as_str()
            ));
        }
    }
    if uses.is_empty() || confidence == Confidence::Low {
        return None;
    }
    if !stack_matches.is_empty() {
        confidence = Confidence::High;
        evidence.push("the same call site (stack) had used the previous generation".to_string());
        for e in stack_matches {
            if !uses.iter().any(|u| u.seq == e.seq) {
                uses.push(e);
            }
        }
    }
    // Further uses by the stale tasks that match calls made on the old generation.
    let stale_tids: Vec<u32> = uses.iter().map(|u| u.tid).collect();
    let old_calls: Vec<_> = old.use_sites.items.iter().map(|u| u.call).collect();
    for e in &new.use_sites.items {
        if stale_tids.contains(&e.tid)
            && Some(e.tid) != new_owner_tid
            && old_calls.contains(&e.call)
            && !uses.iter().any(|u| u.seq == e.seq)
        {
            uses.push(*e);
        }
    }
    uses.sort_by_key(|e| e.seq);
    Some(StaleUses {
        old,
        new,
        uses,
        confidence,
        evidence,
    })
}
