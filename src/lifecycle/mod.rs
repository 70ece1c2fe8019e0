//! Lifecycle: per handle table, each handle value becomes a sequence of
//! generations (open → uses → release), linked in a [`HandleGraph`].

mod builder;
#[cfg(test)]
mod builder_tests;
pub mod generation;
pub mod history;
pub mod ownership;
pub mod sites;
mod store;
pub mod table;

use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap;

pub use builder::LifecycleBuilder;
pub use generation::{GenId, Generation, Provenance, Release, ReleaseHow, SiteKey, TableId};
pub use sites::SiteStats;
pub use table::{ExecRecord, Table, ThreadRecord};

use crate::model::Event;

/// How two generations relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The next generation of the same value (the value was recycled).
    RecycledAs,
    /// Made from it by dup / DuplicateHandle.
    DuplicatedAs,
    /// Copied into a child's table by fork.
    InheritedBy,
    /// A holder of the source generation released the target (see [`ownership`]).
    StaleReleaseOf,
    /// A holder of the source generation used the target.
    StaleUseOf,
    /// The owner of the (killed) source generation released the target.
    Collateral,
}

/// What rules read: the generations kept by the builder, their tables, the
/// per-site counters, and the links between generations.
pub struct HandleGraph {
    pub gens: Vec<Generation>,
    index: FxHashMap<GenId, usize>,
    pub tables: Vec<Table>,
    pub sites: Vec<(SiteKey, SiteStats)>,
    pub gc_events: Vec<Event>,
    pub rpc_events: Vec<Event>,
    pub links: DiGraph<GenId, Link>,
    nodes: FxHashMap<GenId, NodeIndex>,
    /// Who meant which generation: computed once, after the graph is built.
    pub ownership: ownership::Ownership,
    /// Collected only when the views asked for it (`LifecycleBuilder::keep_history`).
    pub history: Option<history::History>,
}

impl HandleGraph {
    fn build(
        gens: store::GenStore,
        tables: Vec<Table>,
        sites: FxHashMap<SiteKey, SiteStats>,
        gc_events: Vec<Event>,
        rpc_events: Vec<Event>,
    ) -> HandleGraph {
        // In id order already; sized once (doubling a vector of a million
        // generations would hold twice their memory at the end).
        let mut all: Vec<Generation> = Vec::with_capacity(gens.len());
        all.extend(gens.into_values());
        let gens = all;
        let index: FxHashMap<GenId, usize> =
            gens.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
        let mut links = DiGraph::new();
        let mut nodes = FxHashMap::default();
        for g in &gens {
            nodes.insert(g.id, links.add_node(g.id));
        }
        for g in &gens {
            let to = nodes[&g.id];
            if let Some(p) = g.prev.and_then(|p| nodes.get(&p)) {
                links.add_edge(*p, to, Link::RecycledAs);
            }
            match g.provenance {
                Provenance::Duplicated { from: Some(f) } => {
                    if let Some(f) = nodes.get(&f) {
                        links.add_edge(*f, to, Link::DuplicatedAs);
                    }
                }
                Provenance::Inherited { from } => {
                    if let Some(f) = nodes.get(&from) {
                        links.add_edge(*f, to, Link::InheritedBy);
                    }
                }
                _ => {}
            }
        }
        let mut sites: Vec<(SiteKey, SiteStats)> = sites.into_iter().collect();
        sites.sort_unstable_by_key(|(k, s)| (k.table, s.first_open.seq));
        HandleGraph {
            gens,
            index,
            tables,
            sites,
            gc_events,
            rpc_events,
            links,
            nodes,
            ownership: ownership::Ownership::default(),
            history: None,
        }
    }

    /// Runs the ownership pass (once, when the builder finishes).
    pub(crate) fn attribute_ownership(&mut self, interner: &crate::model::Interner) {
        ownership::attribute(self, interner);
    }

    fn add_link(&mut self, from: GenId, to: GenId, link: Link) {
        if let (Some(f), Some(t)) = (self.nodes.get(&from), self.nodes.get(&to)) {
            self.links.add_edge(*f, *t, link);
        }
    }

    /// The generation linked to `g` by an incoming `link`, if any.
    pub fn incoming(&self, g: &Generation, link: Link) -> Option<&Generation> {
        let n = self.nodes.get(&g.id)?;
        self.links
            .edges_directed(*n, petgraph::Direction::Incoming)
            .find(|e| *e.weight() == link)
            .and_then(|e| self.links.node_weight(petgraph::visit::EdgeRef::source(&e)))
            .and_then(|id| self.gen_(*id))
    }

    pub fn gen_(&self, id: GenId) -> Option<&Generation> {
        self.index.get(&id).and_then(|i| self.gens.get(*i))
    }

    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id.0 as usize]
    }

    /// The previous generation of the same value, when still kept.
    pub fn previous(&self, g: &Generation) -> Option<&Generation> {
        g.prev.and_then(|p| self.gen_(p))
    }

    /// Where an inherited generation really came from: follows inherit links
    /// back to the generation that was opened.
    pub fn linked_origin<'a>(&'a self, g: &'a Generation) -> Option<&'a Generation> {
        let mut cur = g;
        for _ in 0..64 {
            match cur.provenance {
                Provenance::Inherited { from } => cur = self.gen_(from)?,
                _ => return Some(cur),
            }
        }
        None
    }

    /// Generations linked from `g` by `link`.
    pub fn linked(&self, g: &Generation, link: Link) -> Vec<&Generation> {
        let Some(n) = self.nodes.get(&g.id) else {
            return Vec::new();
        };
        self.links
            .edges(*n)
            .filter(|e| *e.weight() == link)
            .filter_map(|e| self.links.node_weight(petgraph::visit::EdgeRef::target(&e)))
            .filter_map(|id| self.gen_(*id))
            .collect()
    }
}
