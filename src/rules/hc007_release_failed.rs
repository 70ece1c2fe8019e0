use crate::model::{Confidence, ErrorClass, Level, Outcome, Role, flags};

use super::evidence::{label, open_label};
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// A release that failed for a reason other than "already closed": `close`
    /// answering `EIO`, `EINTR` or `ENOSPC`, `CloseHandle` on a protected handle,
    /// `SafeHandle.ReleaseHandle` returning false (the .NET releaseHandleFailed MDA).
    ///
    /// ## Why it matters
    /// On Linux the fd is gone even when close fails, but the error means data
    /// may not have reached the disk or server (`EIO`, `ENOSPC` on NFS), and a
    /// retry after `EINTR` is a double close. On Windows and in .NET the handle
    /// may really stay open: the resource leaks.
    ///
    /// ## Example
    /// ```text
    /// 32 close(3</tmp/hc-eio.dat>) = -1 EIO (Input/output error)
    /// ```
    ///
    /// ## How to fix
    /// Check the result of close/CloseHandle and report it (for files, `fsync`
    /// first to surface write errors where they can be handled). Never retry
    /// `close` on Linux. For SafeHandle: do not call DangerousGetHandle without
    /// DangerousAddRef/DangerousRelease, wrap handles you do not own with
    /// `ownsHandle: false`, and never copy a SafeHandle's raw value across
    /// serialization.
    pub struct ReleaseFailed {
        code: "HC007",
        name: "release-failed",
        level: Level::Warning,
        summary: "a release failed for a reason other than already-closed",
    }
}

impl ReleaseFailed {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        for g in &cx.graph.gens {
            let Some(rel) = g.release() else { continue };
            let Outcome::Failed { class, name } = rel.event.outcome else {
                continue;
            };
            if class == ErrorClass::BadHandle {
                continue;
            }
            let err = cx.text(name);
            let mut f = cx.finding(
                &META,
                Level::Warning,
                format!("release of {} failed with {}", cx.describe(g), err),
            );
            f.pid = cx.table_of(g).pid;
            f.confidence = Confidence::High;
            if let Some(l) = open_label(cx, g)
                && l.event.seq != rel.event.seq
            {
                f.labels.push(l);
            }
            f.labels.push(label(
                &rel.event,
                Role::BadRelease,
                format!("{} fails with {err}", cx.call(&rel.event)),
            ));
            match class {
                ErrorClass::Interrupted => f.notes.push(
                    "on Linux the fd is released even when close is interrupted: retrying the close would be a double close".into(),
                ),
                _ if err == "releaseHandleFailed" => f.notes.push(
                    "ReleaseHandle returned false: the handle may still be open and its resource leaked".into(),
                ),
                _ => f.notes.push(
                    "the value is released (Linux) but buffered data may be lost; on Windows the handle may stay open".into(),
                ),
            }
            if rel.event.has(flags::INJECTED) {
                f.notes
                    .push("this failure was injected by the tracer (strace --inject)".into());
            }
            f.site = cx.site(Some(g), &rel.event);
            out.push(f);
        }
    }
}
