//! Collision chains: a stale release kills a generation whose owner then,
//! unknowingly, releases or uses what took the value next (fdsan's offender →
//! bystander → victim). A chain is a path of `StaleReleaseOf` and `Collateral`
//! links in the handle graph, starting at the root cause: the first stale
//! release, whose own target was not killed by another stale release.

use super::facts::transient;
use super::{StaleRelease, StaleUse};
use crate::lifecycle::{GenId, HandleGraph, Link};
use crate::model::{Event, flags};
use rustc_hash::FxHashMap;

/// What one link of a chain is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainRole {
    /// The offender's correct release of its own generation.
    FirstRelease,
    /// The value handed to a new resource.
    Recycle,
    /// The root cause: a release by a holder of an earlier generation.
    StaleRelease,
    /// A killed generation's owner releasing what took the value next.
    CollateralRelease,
    /// The last victim's call failing (EBADF): its handle is gone.
    VictimFailure,
    /// The last victim's call silently hitting what took the value next.
    VictimMisuse,
    /// A libc helper's transient duplicate on the same number (perror, stdio).
    Transient,
}

#[derive(Clone, Copy, Debug)]
pub struct ChainLink {
    pub role: ChainRole,
    pub event: Event,
    /// The generation this link is about.
    pub gen_: GenId,
}

#[derive(Clone, Debug)]
pub struct Chain {
    /// Index of the root stale release in `Ownership::releases`.
    pub root: usize,
    /// Indices of the collateral releases, in order.
    pub collateral: Vec<usize>,
    /// Index of the final silent stale use, when the chain ends in one.
    pub misuse: Option<usize>,
    /// Every link, in trace order.
    pub links: Vec<ChainLink>,
    /// Generations taking part (the offender's, each killed one, the last hit).
    pub gens: Vec<GenId>,
}

impl Chain {
    pub fn has(&self, role: ChainRole) -> bool {
        self.links.iter().any(|l| l.role == role)
    }
}

/// Adds the ownership links to the graph: stale-release-of and stale-use-of
/// (meant generation → hit generation), collateral (killed generation → the
/// generation its owner then released).
pub(super) fn link(graph: &mut HandleGraph, releases: &[StaleRelease], uses: &[StaleUse]) {
    for r in releases {
        graph.add_link(r.attr.meant, r.attr.hit, Link::StaleReleaseOf);
    }
    for u in uses {
        graph.add_link(u.attr.meant, u.attr.hit, Link::StaleUseOf);
    }
    let by_seq: FxHashMap<u64, usize> = releases
        .iter()
        .enumerate()
        .map(|(i, r)| (r.attr.event.seq, i))
        .collect();
    for r in releases {
        if let Some(v) = &r.victim
            && let Some(next) = by_seq.get(&v.event.seq).and_then(|i| releases.get(*i))
        {
            graph.add_link(r.attr.hit, next.attr.hit, Link::Collateral);
        }
    }
}

pub(super) fn build(
    graph: &HandleGraph,
    releases: &[StaleRelease],
    uses: &[StaleUse],
) -> Vec<Chain> {
    let by_hit: FxHashMap<GenId, usize> = releases
        .iter()
        .enumerate()
        .map(|(i, r)| (r.attr.hit, i))
        .collect();
    let mut chains = Vec::new();
    for (i, root) in releases.iter().enumerate() {
        // Not a root when its own target was killed by a stale release (then it is collateral).
        let meant = graph.gen_(root.attr.meant);
        if meant.is_some_and(|m| graph.incoming(m, Link::StaleReleaseOf).is_some()) {
            continue;
        }
        let mut links = Vec::new();
        let mut gens = vec![root.attr.meant];
        if let Some(m) = meant
            && let Some(rel) = m.release()
        {
            links.push(ChainLink {
                role: ChainRole::FirstRelease,
                event: rel.event,
                gen_: m.id,
            });
        }
        let mut collateral = Vec::new();
        let mut misuse = None;
        let mut cur = i;
        for _ in 0..16 {
            let r = &releases[cur];
            let Some(hit) = graph.gen_(r.attr.hit) else {
                break;
            };
            gens.push(hit.id);
            if let Some(open) = hit.open() {
                links.push(ChainLink {
                    role: ChainRole::Recycle,
                    event: open,
                    gen_: hit.id,
                });
            }
            links.push(ChainLink {
                role: if cur == i {
                    ChainRole::StaleRelease
                } else {
                    ChainRole::CollateralRelease
                },
                event: r.attr.event,
                gen_: hit.id,
            });
            // Follow the collateral link, as a path in the graph.
            if let Some(next_gen) = graph.linked(hit, Link::Collateral).first()
                && let Some(n) = by_hit.get(&next_gen.id).copied()
                && !collateral.contains(&n)
                && n != i
            {
                add_transients(graph, hit.id, &mut links, &mut gens);
                collateral.push(n);
                cur = n;
                continue;
            }
            if let Some(v) = &r.victim {
                add_transients(graph, hit.id, &mut links, &mut gens);
                if v.silent {
                    if let Some(g) = graph.gen_(v.hit) {
                        gens.push(g.id);
                        if let Some(open) = g.open() {
                            links.push(ChainLink {
                                role: ChainRole::Recycle,
                                event: open,
                                gen_: g.id,
                            });
                        }
                    }
                    misuse = uses.iter().position(|u| {
                        u.attr.hit == v.hit && u.uses.iter().any(|e| e.seq == v.event.seq)
                    });
                    links.push(ChainLink {
                        role: ChainRole::VictimMisuse,
                        event: v.event,
                        gen_: v.hit,
                    });
                } else {
                    links.push(ChainLink {
                        role: ChainRole::VictimFailure,
                        event: v.event,
                        gen_: v.hit,
                    });
                }
            }
            break;
        }
        links.sort_by_key(|l| l.event.seq);
        links.dedup_by_key(|l| (l.event.seq, l.role as u8));
        chains.push(Chain {
            root: i,
            collateral,
            misuse,
            links,
            gens,
        });
    }
    chains
}

/// Transient libc duplicates that took the value right after `g`: part of the
/// victim's story (perror's `dup(2)` ... `close`), not a second double close.
fn add_transients(
    graph: &HandleGraph,
    g: GenId,
    links: &mut Vec<ChainLink>,
    gens: &mut Vec<GenId>,
) {
    let Some(mut cur) = graph.gen_(g) else { return };
    for _ in 0..8 {
        let Some(n) = cur.next.and_then(|n| graph.gen_(n)) else {
            return;
        };
        if !transient(graph, n) {
            return;
        }
        if let Some(open) = n.open() {
            links.push(ChainLink {
                role: ChainRole::Transient,
                event: open,
                gen_: n.id,
            });
        }
        if let Some(rel) = n.release() {
            links.push(ChainLink {
                role: ChainRole::Transient,
                event: rel.event,
                gen_: n.id,
            });
        }
        // The victim going on with its dead handle after the transient pair.
        for e in n.cold.after_release.items.iter().filter(|e| {
            e.outcome.is_bad_handle()
                && !e.has(flags::SWEEP)
                && Some(e.tid) == n.open().map(|o| o.tid)
        }) {
            links.push(ChainLink {
                role: ChainRole::VictimFailure,
                event: *e,
                gen_: n.id,
            });
        }
        gens.push(n.id);
        cur = n;
    }
}
