//! Facts about one generation that both the attribution and the chains read.

use crate::lifecycle::{Generation, HandleGraph, Provenance, ReleaseHow};
use crate::model::Op;

/// The task that made `g` (opened, duplicated or received it), if the trace shows it.
pub(super) fn creator(g: &Generation) -> Option<u32> {
    match g.provenance {
        Provenance::Opened | Provenance::Duplicated { .. } | Provenance::Received => {
            g.open().map(|e| e.tid)
        }
        _ => None,
    }
}

/// A libc helper's transient duplicate of a standard stream (perror, stdio's
/// `dup(2)` ... `close`): made and closed by one task around a few uses.
pub(super) fn transient(graph: &HandleGraph, g: &Generation) -> bool {
    let Provenance::Duplicated { from } = g.provenance else {
        return false;
    };
    let from_std = match (from.and_then(|f| graph.gen_(f)), g.open().map(|e| e.op)) {
        (Some(f), _) => (0..=2).contains(&f.handle),
        (None, Some(Op::Dup { source, .. })) => (0..=2).contains(&source),
        _ => false,
    };
    let Some(tid) = creator(g) else { return false };
    from_std
        && g.release()
            .is_some_and(|r| r.event.tid == tid && r.how == ReleaseHow::Close)
        && g.cold.use_sites.items.iter().all(|u| u.tid == tid)
        && g.cold.uses <= 8
}
