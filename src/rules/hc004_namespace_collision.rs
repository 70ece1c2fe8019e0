use crate::lifecycle::ownership::{Chain, ChainRole, StaleRelease};
use crate::model::{Finding, Label, Level, Role};

use super::evidence::{label, open_label};
use super::{Findings, RuleContext, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it finds
    /// A stale holder *releasing* a recycled value: its handle was closed, the
    /// value was handed to an unrelated resource, and the old holder's second
    /// close kills the new owner's handle, often of another type (closing an Event
    /// twice closes a File). A cascade (the killed handle's owner then closes
    /// whatever took the value next, fdsan's offender → bystander → victim) is
    /// one finding: its primary location is the root cause, the first stale
    /// release, and every link is labelled (first release, recycle, stale
    /// release, collateral release, the victim's failure or silent misuse).
    ///
    /// ## Why it matters
    /// The victim fails far from the bug ("the handle is invalid", EBADF in an
    /// unrelated thread, a socket that vanishes), or does not fail at all and
    /// writes into someone else's file; the stale release itself succeeds, so
    /// nothing points at the culprit.
    ///
    /// Ownership evidence, each kind independent, named in every finding:
    /// *holder* (the releasing task had released or held the previous
    /// generation and never took part in the new one, which another task made;
    /// a close_range sweep over the old value names no value and does not count);
    /// *code path* (the program's own frames of the release match those that
    /// released the previous generation, and the two were created by different
    /// code); *victim* (the owner acts later as if it still held its handle: it
    /// fails, or silently uses or releases what took the value next);
    /// *resource* (the owner's failing call fits only the new kind). A finding
    /// needs two kinds; holder with code path, or code path with a victim, is
    /// high confidence (ETW, which logs only successes, needs no victim).
    ///
    /// ## Example
    /// ```text
    /// 58 [A] close(5<anon_inode:[eventfd]>) = 0
    /// 71 [B] openat(AT_FDCWD, "/tmp/data", O_RDONLY) = 5</tmp/data>
    /// 74 [A] close(5</tmp/data>) = 0                  <- stale close (root cause)
    /// 80 [B] read(5, ...) = -1 EBADF                  <- victim
    /// ```
    ///
    /// ## How to fix
    /// Find the code path that releases twice (the first-release and
    /// bad-release labels) and make it release once, resetting its stored
    /// value. Ownership wrappers (unique_fd, SafeHandle, fdsan tags) turn this
    /// into an immediate, local failure.
    pub struct NamespaceCollision {
        code: "HC004",
        name: "namespace-collision",
        level: Level::Error,
        summary: "a stale holder releases a recycled value, killing another handle",
    }
}

impl NamespaceCollision {
    fn findings(&self, cx: &RuleContext<'_>) -> Vec<Finding> {
        let own = &cx.graph.ownership;
        own.chains
            .iter()
            .filter_map(|c| chain_finding(cx, &META, c))
            .collect()
    }

    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        out.absorb(self.findings(cx));
    }
}

/// One finding for a collision chain, under `meta` (HC004, or HC001 when
/// HC004 is off): message, every link labelled, evidence and what would make it certain.
pub(super) fn chain_finding(
    cx: &RuleContext<'_>,
    meta: &'static RuleMeta,
    chain: &Chain,
) -> Option<Finding> {
    let own = &cx.graph.ownership;
    let root: &StaleRelease = own.releases.get(chain.root)?;
    let old = cx.graph.gen_(root.attr.meant)?;
    let new = cx.graph.gen_(root.attr.hit)?;
    // The holder had released the generation it meant.
    old.release()?;
    let collateral: Vec<&StaleRelease> = chain
        .collateral
        .iter()
        .filter_map(|i| own.releases.get(*i))
        .collect();
    let mut message = format!(
        "stale release of {} (task {}) closes the {} that task {} made, not the {} it had already closed",
        cx.handle_name(new.handle),
        root.attr.event.tid,
        cx.what(new),
        new.open().map(|o| o.tid).unwrap_or(0),
        cx.what(old),
    );
    if meta.code != "HC004" {
        message = format!("{} released twice: {message}", cx.handle_name(new.handle));
    }
    if !collateral.is_empty() {
        message.push_str(&format!(
            "; a cascade: {} more handle{} killed by their owners' collateral releases",
            collateral.len(),
            if collateral.len() == 1 { "" } else { "s" }
        ));
    }
    if chain.has(ChainRole::VictimMisuse) {
        message.push_str(", and the last owner silently uses what took the value");
    }
    let mut f = cx.finding(meta, Level::Error, message);
    f.pid = cx.table_of(new).pid;
    f.confidence = root.attr.confidence;
    if let Some(l) = open_label(cx, old) {
        f.labels.push(l);
    }
    for link in &chain.links {
        f.labels.push(link_label(cx, link));
    }
    f.notes.push(root.attr.evidence_note().into());
    for (n, c) in collateral.iter().enumerate() {
        f.notes.push(
            format!(
                "link {} (collateral release at {}), {}",
                n + 2,
                cx.at(&c.attr.event),
                c.attr.evidence_note()
            )
            .into(),
        );
    }
    if chain.has(ChainRole::Transient) {
        f.notes.push("the transient dup/close pairs on the same number are the C library's (perror, stdio duplicating a standard stream): part of the victim's story, not another double close".into());
    }
    if !root.attr.to_be_certain.is_empty() {
        f.notes
            .push(format!("to make it certain: {}", root.attr.to_be_certain.join("; ")).into());
    }
    f.site = cx.site(Some(old), &root.attr.event);
    Some(f)
}

fn link_label(cx: &RuleContext<'_>, link: &crate::lifecycle::ownership::ChainLink) -> Label {
    let g = cx.graph.gen_(link.gen_);
    let what = g.map(|g| cx.what(g)).unwrap_or_default();
    let e = &link.event;
    match link.role {
        ChainRole::FirstRelease => label(
            e,
            Role::FirstRelease,
            format!("{what} first released here (task {})", e.tid),
        ),
        ChainRole::Recycle => label(
            e,
            Role::Recycle,
            format!("value recycled here for {what} (task {})", e.tid),
        ),
        ChainRole::StaleRelease => label(
            e,
            Role::BadRelease,
            format!(
                "stale release here (task {}) kills the {what}: root cause",
                e.tid
            ),
        ),
        ChainRole::CollateralRelease => label(
            e,
            Role::Collateral,
            format!(
                "collateral release (task {}, whose own handle was killed) kills the {what}",
                e.tid
            ),
        ),
        ChainRole::VictimFailure => label(
            e,
            Role::Victim,
            format!(
                "the owner's {} fails (task {}): its handle is gone",
                cx.call(e),
                e.tid
            ),
        ),
        ChainRole::VictimMisuse => label(
            e,
            Role::Victim,
            format!(
                "the owner's {} (task {}) silently hits the {what}",
                cx.call(e),
                e.tid
            ),
        ),
        ChainRole::Transient => label(
            e,
            if matches!(e.op, crate::model::Op::Dup { .. }) {
                Role::Duplicate
            } else {
                Role::Release
            },
            format!(
                "libc's transient {} on the same number (task {})",
                cx.call(e),
                e.tid
            ),
        ),
    }
}
