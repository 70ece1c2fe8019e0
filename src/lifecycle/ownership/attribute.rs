//! The attribution pass: stale releases first (they say whose handles died),
//! then stale uses (which read the releases as victim context), then chains.

use rustc_hash::FxHashMap;

use super::facts::{creator, transient};
use super::frames::code_path;
use super::{Attribution, Evidence, EvidenceKind, StaleRelease, StaleUse, VictimAct};
use crate::lifecycle::{GenId, Generation, HandleGraph, Provenance, ReleaseHow};
use crate::model::{Confidence, ErrorClass, Event, Interner, Op, ResourceKind, StackId, flags};

/// Which generation every stale release and stale use of `graph` meant.
pub(super) fn attribute_calls(
    graph: &HandleGraph,
    interner: &Interner,
) -> (Vec<StaleRelease>, Vec<StaleUse>) {
    let mut cx = Pass {
        graph,
        interner,
        paths: FxHashMap::default(),
    };
    let mut releases = Vec::new();
    for g in &graph.gens {
        if let Some(r) = cx.stale_release(g) {
            releases.push(r);
        }
    }
    let by_hit: FxHashMap<GenId, usize> = releases
        .iter()
        .enumerate()
        .map(|(i, r)| (r.attr.hit, i))
        .collect();
    let mut uses = Vec::new();
    for g in &graph.gens {
        uses.extend(cx.stale_uses(g, &releases, &by_hit));
    }
    (releases, uses)
}

struct Pass<'a> {
    graph: &'a HandleGraph,
    interner: &'a Interner,
    paths: FxHashMap<StackId, Vec<String>>,
}

/// Trace text without control characters (they reach the terminal).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `line 33` or `record 12`.
fn at(ev: &Event) -> String {
    if ev.origin.is_line() {
        format!("line {}", ev.origin.line)
    } else {
        format!("record {}", ev.origin.record)
    }
}

fn kinds_differ(a: ResourceKind, b: ResourceKind) -> bool {
    a != ResourceKind::Unknown && b != ResourceKind::Unknown && a != b
}

/// The kinds a call can be made on, when it is specific to some; `None` when
/// it fits any handle (read, write, close...).
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

/// The value came back from the kernel's lowest-free-number allocation (open,
/// socket, dup...), not by a deliberate `dup2` onto it or a fork.
pub(super) fn recycled(g: &Generation) -> bool {
    let explicit_target = matches!(g.open().map(|e| e.op), Some(Op::Dup { replaces: true, .. }));
    !explicit_target
        && matches!(
            g.provenance,
            Provenance::Opened | Provenance::Duplicated { .. } | Provenance::Received
        )
}

/// `tid` made `g` or used it before `before`. When uses were dropped from the
/// bounded list, an unseen task may have used it: answer yes (no evidence).
fn took_part(g: &Generation, tid: u32, before: u64) -> bool {
    creator(g) == Some(tid)
        || g.cold
            .use_sites
            .items
            .iter()
            .any(|u| u.tid == tid && u.seq < before)
        || g.cold.use_sites.dropped > 0
}

/// How `tid` held `g`, if it did: made, used or released it. A close_range
/// releases whatever lies in its range without naming a value (a sweep, as
/// before an exec or by a thread tidying up): it does not make the sweeper a
/// holder of what it swept.
fn held(g: &Generation, tid: u32) -> Option<&'static str> {
    if g.release()
        .is_some_and(|r| r.event.tid == tid && r.how != ReleaseHow::CloseRange)
    {
        Some("released")
    } else if creator(g) == Some(tid) || g.open().is_some_and(|o| o.tid == tid) {
        Some("made")
    } else if g.cold.use_sites.items.iter().any(|u| u.tid == tid) {
        Some("used")
    } else {
        None
    }
}

/// Failing calls made on a value after `g` ended (its after-release list), and
/// after any transient libc duplicates that took the value next.
fn failures_after<'g>(graph: &'g HandleGraph, g: &'g Generation) -> Vec<(&'g Event, GenId)> {
    let mut out = Vec::new();
    let mut cur = Some(g);
    for _ in 0..8 {
        let Some(c) = cur else { break };
        out.extend(
            c.cold
                .after_release
                .items
                .iter()
                .filter(|e| e.outcome.is_bad_handle() && !e.has(flags::SWEEP) && e.op != Op::Probe)
                .map(|e| (e, g.id)),
        );
        cur = c
            .next
            .and_then(|n| graph.gen_(n))
            .filter(|n| transient(graph, n));
    }
    out
}

/// The next generation of the value after `g`, skipping transient libc duplicates.
pub(super) fn next_real<'g>(graph: &'g HandleGraph, g: &'g Generation) -> Option<&'g Generation> {
    let mut cur = g.next.and_then(|n| graph.gen_(n));
    for _ in 0..8 {
        match cur {
            Some(c) if transient(graph, c) => cur = c.next.and_then(|n| graph.gen_(n)),
            other => return other,
        }
    }
    None
}

impl Pass<'_> {
    fn path(&mut self, stack: Option<StackId>) -> Option<Vec<String>> {
        let s = stack?;
        let interner = self.interner;
        let p = self
            .paths
            .entry(s)
            .or_insert_with(|| code_path(interner, s))
            .clone();
        (!p.is_empty()).then_some(p)
    }

    fn call(&self, ev: &Event) -> String {
        printable(self.interner.resolve(ev.call))
    }

    fn what(&self, g: &Generation) -> String {
        match g.resource {
            Some(r) => printable(self.interner.resolve(r)),
            None => g.kind.as_str().to_string(),
        }
    }

    /// Both generations were made by the same code (a loop, an accept loop):
    /// matching call paths are then that loop, not a stale holder.
    fn same_creation_path(&mut self, old: &Generation, new: &Generation) -> bool {
        let (a, b) = (
            self.path(old.open().and_then(|o| o.stack)),
            self.path(new.open().and_then(|o| o.stack)),
        );
        let same_call = old.open().map(|o| o.call) == new.open().map(|o| o.call);
        same_call && matches!((a, b), (Some(a), Some(b)) if a == b)
            || (old.open().is_some_and(|o| o.stack.is_none())
                && new.open().is_some_and(|o| o.stack.is_none())
                && same_call
                && old.kind == new.kind
                && old.resource == new.resource
                && old.resource.is_some())
    }

    /// The owner (not `releaser`) of `new` acting later as if it still held it.
    /// When the releaser is the only task that touched `new`, only its own
    /// failing call that fits nothing but the new kind counts (it was the new
    /// owner's call, so the release was not).
    fn victim_act(
        &self,
        old: &Generation,
        new: &Generation,
        releaser: u32,
        at_seq: u64,
    ) -> Option<VictimAct> {
        let mut owners: Vec<u32> = creator(new).into_iter().collect();
        owners.extend(
            new.cold
                .use_sites
                .items
                .iter()
                .filter(|u| u.seq < at_seq)
                .map(|u| u.tid),
        );
        owners.retain(|t| *t != releaser);
        owners.dedup();
        if owners.is_empty() {
            if !kinds_differ(old.kind, new.kind) {
                return None;
            }
            return failures_after(self.graph, new)
                .into_iter()
                .find(|(e, _)| {
                    call_fits(&self.call(e))
                        .is_some_and(|k| k.contains(&new.kind) && !k.contains(&old.kind))
                })
                .map(|(e, g)| VictimAct {
                    event: *e,
                    silent: false,
                    hit: g,
                });
        }
        let failure = failures_after(self.graph, new)
            .into_iter()
            .find(|(e, _)| owners.contains(&e.tid))
            .map(|(e, g)| VictimAct {
                event: *e,
                silent: false,
                hit: g,
            });
        let silent = next_real(self.graph, new).and_then(|n| {
            let n_creator = creator(n);
            let mut acts: Vec<&Event> = n
                .cold
                .use_sites
                .items
                .iter()
                .filter(|u| owners.contains(&u.tid) && Some(u.tid) != n_creator)
                .collect();
            if let Some(r) = &n.release
                && owners.contains(&r.event.tid)
                && Some(r.event.tid) != n_creator
                && !took_part(n, r.event.tid, r.event.seq)
            {
                acts.push(&r.event);
            }
            acts.into_iter().min_by_key(|e| e.seq).map(|e| VictimAct {
                event: *e,
                silent: true,
                hit: n.id,
            })
        });
        match (failure, silent) {
            (Some(f), Some(s)) => Some(if f.event.seq <= s.event.seq { f } else { s }),
            (f, s) => f.or(s),
        }
    }

    fn stale_release(&mut self, new: &Generation) -> Option<StaleRelease> {
        if !recycled(new) {
            return None;
        }
        let old = self.graph.previous(new)?;
        let old_release = old.release()?;
        if !matches!(old_release.how, ReleaseHow::Close | ReleaseHow::CloseRange) {
            return None;
        }
        let release = new.release()?;
        if release.how != ReleaseHow::Close || !release.event.outcome.is_ok() {
            return None;
        }
        let r = release.event;
        let mut evidence = Vec::new();
        let mut to_be_certain = Vec::new();

        // Holder: the releaser held the old generation and never took part in the new one.
        let new_creator = creator(new);
        let holder = new_creator.is_some_and(|c| c != r.tid)
            && !took_part(new, r.tid, r.seq)
            && held(old, r.tid).is_some();
        if holder {
            evidence.push(Evidence {
                kind: EvidenceKind::Holder,
                text: format!(
                    "task {} had {} the previous {} (released at {}) and never took part in the {}, which task {} made at {}",
                    r.tid,
                    held(old, r.tid).unwrap_or("held"),
                    self.what(old),
                    at(&old_release.event),
                    self.what(new),
                    new_creator.unwrap_or(0),
                    new.open().as_ref().map(at).unwrap_or_default()
                ),
            });
        }
        // Code path: the close path of the old generation released the new one.
        let loop_made = self.same_creation_path(old, new);
        let rel_path = self.path(r.stack);
        let old_rel_path = self.path(old_release.event.stack);
        let code_path = !loop_made && rel_path.is_some() && rel_path == old_rel_path;
        if code_path {
            evidence.push(Evidence {
                kind: EvidenceKind::CodePath,
                text: format!(
                    "the same code path ({}) released the previous {} at {}, and the two were created by different code",
                    rel_path.as_ref().map(|p| p.join(" < ")).unwrap_or_default(),
                    self.what(old),
                    at(&old_release.event)
                ),
            });
        } else if r.stack.is_none() || old_release.event.stack.is_none() {
            to_be_certain.push(
                "stacks of both releases (strace -k, ETW stack walks) to compare their code paths"
                    .to_string(),
            );
        }
        // Victim: the owner acting later as if it still held its handle.
        let victim = self.victim_act(old, new, r.tid, r.seq);
        if let Some(v) = &victim {
            let text = if v.silent {
                format!(
                    "the owner (task {}) later called {} on the value at {} as if it still held its {}: it hit what took the value next",
                    v.event.tid,
                    self.call(&v.event),
                    at(&v.event),
                    self.what(new)
                )
            } else {
                format!(
                    "the owner (task {}) later failed: {} at {} finds its {} gone",
                    v.event.tid,
                    self.call(&v.event),
                    at(&v.event),
                    self.what(new)
                )
            };
            evidence.push(Evidence {
                kind: EvidenceKind::Victim,
                text,
            });
        } else {
            to_be_certain.push("a later call by the owner of the new handle (it fails, or hits what took the value next)".to_string());
        }
        // Resource: the owner's failing call fits only the new kind.
        let differ = kinds_differ(old.kind, new.kind);
        let resource = victim.as_ref().is_some_and(|v| {
            !v.silent
                && differ
                && call_fits(&self.call(&v.event))
                    .is_some_and(|k| k.contains(&new.kind) && !k.contains(&old.kind))
        });
        if resource {
            evidence.push(Evidence {
                kind: EvidenceKind::Resource,
                text: format!(
                    "the value went from {} to {}, and the failing call fits only {} handles: it was the new owner's",
                    old.kind.as_str(),
                    new.kind.as_str(),
                    new.kind.as_str()
                ),
            });
        }
        // A silent act by the owner on what took the value next looks like a
        // handoff when the releaser had used the handle it released (it was
        // handed it too): it counts only when the releaser never took part.
        // Resource: an event loop's registration left behind. The previous
        // generation was in an epoll set and was closed while a forked copy kept
        // its open file description alive (so the kernel kept the registration),
        // and the new one was never registered: epoll keeps reporting the old
        // registration under this number, and the loop tears down the new handle.
        let epoll = self.stale_epoll_registration(old, new, r.tid);
        if let Some(reg) = &epoll {
            evidence.push(Evidence {
                kind: EvidenceKind::Resource,
                text: format!(
                    "the previous {} was registered in an epoll set ({} at {}) and closed while a forked copy kept it open, and the {} never was: the set still reports the old registration under this number",
                    self.what(old),
                    self.call(reg),
                    at(reg),
                    self.what(new)
                ),
            });
        }
        // The registration is seen from epoll_ctl calls, not their op (ADD or
        // DEL): it strengthens a holder's attribution, never makes one alone.
        let resource = resource || epoll.is_some() && holder;
        let v = victim
            .as_ref()
            .is_some_and(|v| !v.silent || !took_part(new, r.tid, r.seq));
        let confidence = if code_path && (holder || v) || holder && v && resource {
            Confidence::High
        } else if holder && v
            || code_path
                && differ
                && new_creator.is_some_and(|c| c != r.tid)
                && !took_part(new, r.tid, r.seq)
            || v && resource
        {
            Confidence::Medium
        } else {
            return None;
        };
        Some(StaleRelease {
            attr: Attribution {
                event: r,
                meant: old.id,
                hit: new.id,
                evidence,
                confidence,
                to_be_certain,
            },
            victim,
        })
    }

    /// The registration (epoll_ctl on the old generation, by `tid`) left in an
    /// epoll set when the old generation was closed while a forked copy of it
    /// was still open; `None` when the new generation was registered too.
    fn stale_epoll_registration(
        &self,
        old: &Generation,
        new: &Generation,
        tid: u32,
    ) -> Option<Event> {
        let is_ctl = |e: &&Event| self.interner.resolve(e.call) == "epoll_ctl";
        let reg = old
            .cold
            .use_sites
            .items
            .iter()
            .filter(is_ctl)
            .find(|e| e.tid == tid)
            .copied()?;
        if new.cold.use_sites.items.iter().any(|e| is_ctl(&e)) {
            return None;
        }
        let closed_at = old.release()?.event.seq;
        let copy_alive = self
            .graph
            .linked(old, crate::lifecycle::Link::InheritedBy)
            .iter()
            .any(|c| c.release().is_none_or(|r| r.event.seq > closed_at));
        copy_alive.then_some(reg)
    }

    /// Stale uses of `new`, one per stale task.
    fn stale_uses(
        &mut self,
        new: &Generation,
        releases: &[StaleRelease],
        by_hit: &FxHashMap<GenId, usize>,
    ) -> Vec<StaleUse> {
        let mut out = Vec::new();
        if !recycled(new) {
            return out;
        }
        let Some(old) = self.graph.previous(new) else {
            return out;
        };
        let Some(old_release) = old.release() else {
            return out;
        };
        if old_release.how == ReleaseHow::Superseded {
            return out;
        }
        let new_creator = creator(new);
        let differ = kinds_differ(old.kind, new.kind);
        let loop_made = self.same_creation_path(old, new);
        let mut candidates: Vec<Event> = new.cold.use_sites.items.to_vec();
        for e in &new.cold.failed_uses.items {
            if !candidates.iter().any(|c| c.seq == e.seq) {
                candidates.push(*e);
            }
        }
        candidates.sort_by_key(|e| e.seq);
        let mut tids: Vec<u32> = candidates.iter().map(|e| e.tid).collect();
        tids.sort_unstable();
        tids.dedup();
        // The old generation was killed by someone else's stale release: its owners are victims.
        let old_killed = by_hit
            .get(&old.id)
            .and_then(|i| releases.get(*i))
            .map(|r| r.attr.event.tid);
        let new_release = by_hit.get(&new.id).and_then(|i| releases.get(*i));
        for tid in tids {
            let mine: Vec<Event> = candidates
                .iter()
                .filter(|e| e.tid == tid)
                .copied()
                .collect();
            let Some(first) = mine.first().copied() else {
                continue;
            };
            let mut evidence = Vec::new();
            let mut to_be_certain = Vec::new();
            let holder = new_creator.is_some_and(|c| c != tid) && held(old, tid).is_some();
            // The holder kept using the value it never released: someone else released it.
            let kept = holder && old_release.event.tid != tid;
            if holder {
                evidence.push(Evidence {
                    kind: EvidenceKind::Holder,
                    text: format!(
                        "task {tid} had {} the previous {} (released at {}{}) and did not make the {}, which task {} made at {}",
                        held(old, tid).unwrap_or("held"),
                        self.what(old),
                        at(&old_release.event),
                        if old_release.event.tid != tid {
                            format!(" by task {}", old_release.event.tid)
                        } else {
                            String::new()
                        },
                        self.what(new),
                        new_creator.unwrap_or(0),
                        new.open().as_ref().map(at).unwrap_or_default()
                    ),
                });
            }
            // Resource: a call that fails because it fits only the old kind.
            let wrong_type: Vec<&Event> = mine
                .iter()
                .filter(|e| {
                    differ
                        && (e.outcome.failed_class() == Some(ErrorClass::WrongType)
                            || call_fits(&self.call(e))
                                .is_some_and(|k| k.contains(&old.kind) && !k.contains(&new.kind)))
                })
                .collect();
            if let Some(w) = wrong_type.first() {
                evidence.push(Evidence {
                    kind: EvidenceKind::Resource,
                    text: format!(
                        "{} at {} fits {} handles, not the {} the value now names",
                        self.call(w),
                        at(w),
                        old.kind.as_str(),
                        new.kind.as_str()
                    ),
                });
            }
            // Code path: the same program frames used the old generation.
            let mut code_path = false;
            if !loop_made {
                let old_paths: Vec<(crate::model::Sym, Vec<String>)> = old
                    .cold
                    .use_sites
                    .items
                    .iter()
                    .filter_map(|u| self.path(u.stack).map(|p| (u.call, p)))
                    .collect();
                for e in &mine {
                    if let Some(p) = self.path(e.stack)
                        && old_paths.iter().any(|(c, op)| *c == e.call && *op == p)
                    {
                        code_path = true;
                        evidence.push(Evidence {
                            kind: EvidenceKind::CodePath,
                            text: format!(
                                "{} at {} comes from the code path ({}) that used the previous {}",
                                self.call(e),
                                at(e),
                                p.join(" < "),
                                self.what(old)
                            ),
                        });
                        break;
                    }
                }
            }
            if mine.iter().all(|e| e.stack.is_none()) {
                to_be_certain.push(
                    "stacks (strace -k, ETW stack walks) to compare the call's code path with the previous holder's"
                        .to_string(),
                );
            }
            // Victim: the task's handle was killed by a stale release, and it goes on using the value.
            let victim = holder && old_killed.is_some_and(|k| k != tid);
            if victim {
                evidence.push(Evidence {
                    kind: EvidenceKind::Victim,
                    text: format!(
                        "task {tid}'s {} had been killed by task {}'s stale release: it goes on using the value as if it still held it",
                        self.what(old),
                        old_killed.unwrap_or(0)
                    ),
                });
            }
            // The same task later releases the value as the old holder.
            let releases_later = new_release.is_some_and(|r| r.attr.event.tid == tid);
            // Resource: a standard stream the task wrote to before, closed by
            // another task and taken by a plain open (not a dup2 retarget): the
            // task's output now lands in that file or socket.
            let stdio = kept
                && (0..=2).contains(&new.handle)
                && matches!(
                    old.provenance,
                    Provenance::PreExisting | Provenance::Inherited { .. }
                )
                && matches!(new.provenance, Provenance::Opened | Provenance::Received)
                && old.cold.use_sites.items.iter().any(|u| u.tid == tid);
            if stdio {
                evidence.push(Evidence {
                    kind: EvidenceKind::Resource,
                    text: format!(
                        "the number was a standard stream ({}) that task {tid} used; task {} closed it and a plain open gave the number to the {}: the task's calls now land there",
                        self.what(old),
                        old_release.event.tid,
                        self.what(new)
                    ),
                });
            }
            let strong = usize::from(!wrong_type.is_empty() || stdio)
                + usize::from(code_path)
                + usize::from(victim)
                + usize::from(releases_later);
            // The task itself made the new generation, then released it as the
            // old holder: its calls on the value that it had made on the old one
            // were meant for the old one too (a cache written after a reopen).
            let own_stale_before_release = !holder
                && releases_later
                && new_release.is_some_and(|r| {
                    mine.iter().any(|e| {
                        e.seq < r.attr.event.seq
                            && old.cold.use_sites.items.iter().any(|u| u.call == e.call)
                    })
                });
            let mut mine = mine;
            if own_stale_before_release && let Some(r) = new_release {
                let rel = r.attr.event;
                mine.retain(|e| {
                    e.seq < rel.seq && old.cold.use_sites.items.iter().any(|u| u.call == e.call)
                });
                evidence.push(Evidence {
                    kind: EvidenceKind::Holder,
                    text: format!(
                        "task {tid} later released the value as the holder of the previous {} (stale release at {}); before that it repeated on the value calls it had made on the {}",
                        self.what(old),
                        at(&rel),
                        self.what(old)
                    ),
                });
            }
            if mine.is_empty() {
                continue;
            }
            let confidence = if holder && strong >= 2 {
                Confidence::High
            } else if holder && strong == 1 || own_stale_before_release {
                Confidence::Medium
            } else {
                continue;
            };
            out.push(StaleUse {
                attr: Attribution {
                    event: first,
                    meant: old.id,
                    hit: new.id,
                    evidence,
                    confidence,
                    to_be_certain,
                },
                uses: mine,
            });
        }
        out
    }
}
