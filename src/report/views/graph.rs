//! The HandleGraph of a selection as plain nodes and edges: generations as
//! nodes, links (whatever kinds the lifecycle makes) as edges, findings on nodes.

use rustc_hash::FxHashSet;
use serde::Serialize;

use petgraph::visit::EdgeRef;

use super::{
    finding_touches, handle_style, kebab, process_selected, program_of, provenance_name,
    release_name, where_text,
};
use crate::analysis::{Analysis, Selection};
use crate::lifecycle::GenId;

/// Nodes shown at most; the rest are counted.
const MAX_NODES: usize = 5000;

#[derive(Debug, Serialize)]
pub struct GraphView {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Selected generations beyond `MAX_NODES`, not shown.
    pub nodes_dropped: usize,
}

#[derive(Debug, Serialize)]
pub struct GraphNode {
    /// `j0g12`: job and generation, unique in one analysis.
    pub id: String,
    pub pid: u32,
    pub program: Option<String>,
    pub handle: String,
    pub kind: String,
    pub resource: Option<String>,
    pub how_made: &'static str,
    pub opened_at: Option<String>,
    pub released: Option<&'static str>,
    pub released_at: Option<String>,
    pub open_at_end: bool,
    /// Codes of the findings whose evidence falls in this generation.
    pub findings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// The link kind in kebab case: `recycled-as`, `duplicated-as`, `inherited-by`...
    pub link: String,
}

/// Generations of the selected processes and value, plus the generations one
/// link away (so a dup or fork into another process stays visible).
pub fn build(a: &Analysis, sel: &Selection) -> GraphView {
    let style = handle_style(a);
    let mut view = GraphView {
        nodes: Vec::new(),
        edges: Vec::new(),
        nodes_dropped: 0,
    };
    let by_value = super::findings_by_value(&a.findings);
    for (j, graph) in a.graphs.iter().enumerate() {
        let id = |g: GenId| format!("j{j}g{}", g.0);
        let mut chosen: FxHashSet<GenId> = graph
            .gens
            .iter()
            .filter(|g| sel.handle.is_none_or(|h| h == g.handle))
            .filter(|g| process_selected(sel, a, graph, graph.table(g.table).pid))
            .map(|g| g.id)
            .collect();
        let mut neighbours = Vec::new();
        for e in graph.links.edge_references() {
            let (s, t) = (graph.links[e.source()], graph.links[e.target()]);
            if chosen.contains(&s) != chosen.contains(&t) {
                neighbours.push(if chosen.contains(&s) { t } else { s });
            }
        }
        chosen.extend(neighbours);
        for g in &graph.gens {
            if !chosen.contains(&g.id) {
                continue;
            }
            if view.nodes.len() >= MAX_NODES {
                view.nodes_dropped += 1;
                chosen.remove(&g.id);
                continue;
            }
            let pid = graph.table(g.table).pid;
            let (from, to) = super::timeline::span_of(graph, g);
            let mut findings: Vec<String> = by_value
                .get(&g.handle)
                .into_iter()
                .flatten()
                .filter(|f| finding_touches(f, pid, g.handle, from, to))
                .map(|f| f.code.to_string())
                .collect();
            findings.dedup();
            view.nodes.push(GraphNode {
                id: id(g.id),
                pid,
                program: program_of(a, graph, pid),
                handle: style.name(g.handle),
                kind: g.kind.as_str().to_string(),
                resource: g
                    .resource
                    .map(|r| crate::model::sanitize::for_terminal(a.interner.resolve(r))),
                how_made: provenance_name(g.provenance),
                opened_at: g.open().map(|e| where_text(a, &e)),
                released: g.release().map(|r| release_name(r.how)),
                released_at: g.release().map(|r| where_text(a, &r.event)),
                open_at_end: g.open_at_exit.is_some(),
                findings,
            });
        }
        let mut edges: Vec<GraphEdge> = graph
            .links
            .edge_references()
            .filter_map(|e| {
                let (s, t) = (graph.links[e.source()], graph.links[e.target()]);
                (chosen.contains(&s) && chosen.contains(&t)).then(|| GraphEdge {
                    from: id(s),
                    to: id(t),
                    link: kebab(&format!("{:?}", e.weight())),
                })
            })
            .collect();
        edges.sort_by(|a, b| (&a.from, &a.to, &a.link).cmp(&(&b.from, &b.to, &b.link)));
        view.edges.extend(edges);
    }
    view
}
