use crate::model::{Confidence, Finding, Level, Role};

use super::evidence::{label, open_label};
use super::{RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// File descriptors without close-on-exec that are alive at a successful
    /// `execve` and inherited by the new program, which then never uses them.
    /// Only fds the traced program made are reported (not 0/1/2, not fds it
    /// inherited from its own launcher), and not fds the new program goes on to
    /// use (a deliberate hand-over, such as make's jobserver pipe or socket
    /// activation).
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
    fn check(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for table in &cx.graph.tables {
            for exec in &table.execs {
                let leaked: Vec<_> = exec
                    .inherited
                    .iter()
                    .filter_map(|id| cx.graph.gen_(*id))
                    // Used by the new program: a deliberate hand-over.
                    .filter(|g| g.last_use.is_none_or(|u| u.seq <= exec.event.seq))
                    .collect();
                if leaked.is_empty() {
                    continue;
                }
                let program = exec
                    .event
                    .resource
                    .map(|r| cx.text(r))
                    .unwrap_or_else(|| "the new program".to_string());
                let names: Vec<String> = leaked.iter().take(6).map(|g| cx.describe(g)).collect();
                let mut f = cx.finding(
                    &META,
                    Level::Warning,
                    format!(
                        "{} fd{} without close-on-exec leaked into {}: {}{}",
                        leaked.len(),
                        if leaked.len() == 1 { "" } else { "s" },
                        program,
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
                f.labels.push(label(
                    &exec.event,
                    Role::Exec,
                    format!("exec of {program} inherits them"),
                ));
                f.labels.sort_by_key(|l| l.event.seq);
                f.labels.dedup_by_key(|l| l.event.seq);
                f.notes.push(
                    "the new program never used them: nothing needed them across the exec"
                        .to_string(),
                );
                f.site = format!(
                    "{}|exec|{}",
                    cx.program(table),
                    program.rsplit('/').next().unwrap_or(&program)
                );
                out.push(f);
            }
        }
        out
    }
}
