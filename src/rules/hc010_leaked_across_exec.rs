use std::collections::BTreeMap;

use crate::lifecycle::{Generation, Provenance, ReleaseHow, Table};
use crate::model::{Confidence, Level, Op, Role};

use super::evidence::{label, open_label};
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// File descriptors without close-on-exec that are alive at a successful
    /// `execve` and inherited by the new program, which then never uses them.
    /// Only fds the traced program made are reported (not 0/1/2, not fds it
    /// inherited from its own launcher), and not fds the new program goes on to
    /// use (a deliberate hand-over, such as make's jobserver pipe or socket
    /// activation; opening `/dev/fd/N` is a use of fd N).
    ///
    /// Deliberate inheritance is not reported either: an fd whose close-on-exec
    /// flag was cleared (`fcntl(fd, F_SETFD, 0)`: jobservers, Python
    /// `pass_fds`), an fd placed by `dup2` onto a chosen number from a source
    /// that was not close-on-exec either (a shell's `exec 5>>config.log`; a
    /// `dup2` that drops an `O_CLOEXEC` the source had is a leak), and fds the new program closes itself before it
    /// runs anything else (a spawn helper closing everything before its own
    /// exec). A process-substitution fd (`/dev/fd/63`) is meant for the program
    /// that opens it: every other program it goes into is a leak. One set of
    /// fds leaked into many execs is one finding listing them.
    ///
    /// ## Why it matters
    /// The child keeps files, sockets and pipe ends open behind the parent's
    /// back: a pipe never sees EOF, a listening socket stays bound after the
    /// server exits, a deleted file keeps its disk space, and secrets leak into
    /// untrusted programs.
    ///
    /// ## Example
    /// ```text
    /// 30 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>
    /// 38 execve("/bin/ls", ["ls", "/proc/self/fd/"], ...) = 0   <- fd 3 goes along
    /// ```
    ///
    /// ## How to fix
    /// Open with `O_CLOEXEC` / `SOCK_CLOEXEC` / `pipe2(..., O_CLOEXEC)` /
    /// `F_DUPFD_CLOEXEC` by default, and clear the flag only on fds meant for the
    /// child (or pass them with posix_spawn file actions).
    pub struct LeakedAcrossExec {
        code: "HC010",
        name: "leaked-across-exec",
        level: Level::Warning,
        summary: "fds without close-on-exec inherited by an exec'd program",
    }
}

impl LeakedAcrossExec {
    /// The generation and the ones it was inherited from, newest first.
    fn chain<'a>(cx: &RuleContext<'a>, g: &'a Generation) -> Vec<&'a Generation> {
        let mut out = vec![g];
        let mut cur = g;
        for _ in 0..64 {
            match cur.provenance {
                Provenance::Inherited { from } => match cx.graph.gen_(from) {
                    Some(p) => {
                        out.push(p);
                        cur = p;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        out
    }

    /// Inherited on purpose: close-on-exec cleared right for it (`F_SETFD 0`),
    /// or placed by dup2 onto a chosen number from a source without
    /// close-on-exec (a shell's `exec 5>>log`, a jobserver) — unless it was handed out by its `/dev/fd/N` path, which is
    /// process substitution: meant for the one program that opens it.
    fn deliberate(cx: &RuleContext<'_>, g: &Generation) -> bool {
        let chain = Self::chain(cx, g);
        if chain.iter().any(|c| c.made_inheritable) {
            return true;
        }
        if chain.iter().any(|c| c.reopened_by_path) {
            return false;
        }
        chain.iter().any(|c| {
            let Provenance::Duplicated { from } = c.provenance else {
                return false;
            };
            // dup2 drops close-on-exec: from a source that had it, the flag
            // was lost by mistake, not left off on purpose.
            let source_cloexec = from
                .and_then(|f| cx.graph.gen_(f))
                .is_some_and(|s| s.cloexec);
            c.handle >= 3
                && !source_cloexec
                && c.open().is_some_and(|o| {
                    matches!(o.op, Op::Dup { replaces: true, source, .. } if source != o.handle)
                })
        })
    }

    /// The new program closed it itself before running anything else (a helper
    /// that closes every inherited fd before its own exec, like jspawnhelper).
    fn closed_by_new_program(table: &Table, exec_index: usize, g: &Generation) -> bool {
        let Some(exec) = table.execs.get(exec_index) else {
            return false;
        };
        let next_exec = table.execs.get(exec_index + 1).map(|e| e.event.seq);
        g.release().is_some_and(|r| {
            r.event.seq > exec.event.seq
                && next_exec.is_none_or(|n| r.event.seq < n)
                && matches!(
                    r.how,
                    ReleaseHow::Close | ReleaseHow::CloseRange | ReleaseHow::ReplacedByDup
                )
        })
    }
}

impl LeakedAcrossExec {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        // One leaked set of generations (by where they were opened) into many
        // execs is one finding: (origin ids) -> [(table, exec index, leaked)].
        type Leak<'a> = (&'a Table, usize, Vec<&'a Generation>);
        let mut groups: BTreeMap<Vec<u32>, Vec<Leak<'_>>> = BTreeMap::new();
        for table in &cx.graph.tables {
            for (i, exec) in table.execs.iter().enumerate() {
                let leaked: Vec<&Generation> = exec
                    .inherited
                    .iter()
                    .filter_map(|id| cx.graph.gen_(*id))
                    // Used by the new program: a deliberate hand-over.
                    .filter(|g| g.cold.last_use.is_none_or(|u| u.seq <= exec.event.seq))
                    .filter(|g| !Self::deliberate(cx, g))
                    .filter(|g| !Self::closed_by_new_program(table, i, g))
                    .collect();
                if leaked.is_empty() {
                    continue;
                }
                let mut key: Vec<u32> = leaked
                    .iter()
                    .map(|g| cx.graph.linked_origin(g).unwrap_or(g).id.0)
                    .collect();
                key.sort_unstable();
                groups.entry(key).or_default().push((table, i, leaked));
            }
        }
        for (_, execs) in groups {
            let Some((table, i, leaked)) = execs.first() else {
                continue;
            };
            let program_of = |t: &Table, i: usize| {
                t.execs[i]
                    .event
                    .resource
                    .map(|r| cx.text(r))
                    .unwrap_or_else(|| "the new program".to_string())
            };
            let program = program_of(table, *i);
            let names: Vec<String> = leaked.iter().take(6).map(|g| cx.describe(g)).collect();
            let more = if execs.len() > 1 {
                let first = program.rsplit('/').next().unwrap_or(&program).to_string();
                let mut others: Vec<String> = Vec::new();
                for (t, j, _) in execs.iter().skip(1) {
                    let p = program_of(t, *j);
                    let p = p.rsplit('/').next().unwrap_or(&p).to_string();
                    if p != first && !others.contains(&p) {
                        others.push(p);
                    }
                }
                let n = execs.len() - 1;
                let s = if n == 1 { "" } else { "s" };
                if others.is_empty() {
                    format!(" and {n} more exec{s} of it")
                } else {
                    format!(
                        " and {n} more exec{s} ({})",
                        others.into_iter().take(8).collect::<Vec<_>>().join(", ")
                    )
                }
            } else {
                String::new()
            };
            let mut f = cx.finding(
                &META,
                Level::Warning,
                format!(
                    "{} fd{} without close-on-exec leaked into {}{}: {}{}",
                    leaked.len(),
                    if leaked.len() == 1 { "" } else { "s" },
                    program,
                    more,
                    names.join(", "),
                    if leaked.len() > 6 { ", ..." } else { "" }
                ),
            );
            f.pid = table.pid;
            f.confidence = Confidence::High;
            for g in leaked.iter().take(6) {
                let origin = cx.graph.linked_origin(g);
                if let Some(l) = origin.and_then(|o| open_label(cx, o)) {
                    f.labels.push(l);
                } else if let Some(l) = open_label(cx, g) {
                    f.labels.push(l);
                }
            }
            for (t, j, _) in execs.iter().take(4) {
                let p = program_of(t, *j);
                f.labels.push(label(
                    &t.execs[*j].event,
                    Role::Exec,
                    format!("exec of {p} inherits them"),
                ));
            }
            f.labels.sort_by_key(|l| l.event.seq);
            f.labels.dedup_by_key(|l| l.event.seq);
            // A program still running when the trace stopped may use them later.
            // A table the trace stopped seeing has a made-up end (no origin).
            let exited = |t: &Table| {
                t.ended
                    .as_deref()
                    .is_some_and(|e| e.origin.line != 0 || e.origin.record != 0)
            };
            if execs.iter().all(|(t, _, _)| exited(t)) {
                f.notes.push(
                    "the new program never used them: nothing needed them across the exec"
                        .to_string()
                        .into(),
                );
            } else {
                f.confidence = Confidence::Medium;
                f.notes.push(
                    "the new program had not used them when the trace stopped (it was still running): a later use would make this a deliberate hand-over".into(),
                );
            }
            if leaked
                .iter()
                .any(|g| Self::chain(cx, g).iter().any(|c| c.reopened_by_path))
            {
                f.notes.push("a process-substitution fd (opened by its /dev/fd/N path) is meant for the one program that opens it; these programs inherited it by accident".into());
            }
            if execs.len() > 1 {
                f.notes.push(
                    format!(
                        "the same fds went into {} execs; the first {} are labelled",
                        execs.len(),
                        execs.len().min(4)
                    )
                    .into(),
                );
            }
            // The program that made the fds is the one at fault (and the one
            // `[allow] programs` names): the table the first fd was opened in.
            let maker = leaked
                .first()
                .and_then(|g| cx.graph.linked_origin(g))
                .map(|o| cx.table_of(o))
                .unwrap_or(table);
            let maker_program = if maker.id == table.id {
                table.execs[*i]
                    .program_before
                    .map(|p| {
                        let p = cx.text(p);
                        p.rsplit('/').next().unwrap_or(&p).to_string()
                    })
                    .unwrap_or_default()
            } else {
                cx.program(maker)
            };
            f.site = format!(
                "{}|exec|{}",
                maker_program,
                program.rsplit('/').next().unwrap_or(&program)
            );
            out.push(f);
        }
    }
}
