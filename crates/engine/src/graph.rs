//! The node-level DAG (petgraph): edges from `needs` and from sets that a node produces.

use crate::spec::{SetSource, Spec};
use petgraph::algo::{kosaraju_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

/// Edges point from the upstream node to the one that depends on it.
pub fn node_graph(spec: &Spec) -> DiGraph<&str, EdgeKind> {
    let mut g = DiGraph::new();
    let idx: Vec<NodeIndex> = spec.nodes.iter().map(|n| g.add_node(n.name.as_str())).collect();
    let find = |name: &str| spec.nodes.iter().position(|n| n.name == name);
    for (i, node) in spec.nodes.iter().enumerate() {
        for need in &node.needs {
            if let Some(j) = find(need) {
                g.add_edge(idx[j], idx[i], EdgeKind::Needs);
            }
        }
        if let Some(SetSource::FromNode { node: src, .. }) = node.foreach.as_ref().and_then(|s| spec.sets.get(s)).map(|s| &s.source)
            && let Some(j) = find(src)
            && !node.needs.contains(src)
        {
            g.add_edge(idx[j], idx[i], EdgeKind::Set);
        }
    }
    g
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    Needs,
    /// The downstream node iterates over a set read from the upstream node's output.
    Set,
}

/// One cycle, as node names in order, if the nodes have any.
pub fn find_cycle(spec: &Spec) -> Option<Vec<String>> {
    let g = node_graph(spec);
    if toposort(&g, None).is_ok() {
        return None;
    }
    let scc = kosaraju_scc(&g).into_iter().find(|c| c.len() > 1 || g.contains_edge(c[0], c[0]))?;
    // Walk the component from its first node to print the cycle in edge order.
    let start = scc.iter().copied().min()?;
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let next = g.neighbors(cur).filter(|n| scc.contains(n)).min()?;
        if next == start || path.contains(&next) {
            break;
        }
        path.push(next);
        cur = next;
    }
    Some(path.into_iter().map(|i| g[i].to_owned()).collect())
}

/// Node indices (into `spec.nodes`) upstream first; ties keep file order.
pub fn topo_order(spec: &Spec) -> Vec<usize> {
    let g = node_graph(spec);
    let mut indegree: Vec<usize> = g.node_indices().map(|n| g.neighbors_directed(n, petgraph::Incoming).count()).collect();
    let mut order = Vec::with_capacity(spec.nodes.len());
    let mut done = vec![false; spec.nodes.len()];
    while order.len() < spec.nodes.len() {
        let Some(next) = (0..spec.nodes.len()).find(|&i| !done[i] && indegree[i] == 0) else { break };
        done[next] = true;
        order.push(next);
        for n in g.neighbors(NodeIndex::new(next)) {
            indegree[n.index()] -= 1;
        }
    }
    order
}

pub enum Format {
    Dot,
    Mermaid,
}

/// Draws the node-level DAG; `counts` gives the number of instances per node where known.
pub fn render(spec: &Spec, format: Format, counts: &[Option<usize>]) -> String {
    let g = node_graph(spec);
    let label = |i: usize| {
        let n = &spec.nodes[i];
        match (&n.foreach, counts.get(i).copied().flatten()) {
            (Some(set), Some(c)) => format!("{} [{set}: {c}]", n.name),
            (Some(set), None) => format!("{} [{set}: ?]", n.name),
            (None, _) => n.name.clone(),
        }
    };
    let mut out = String::new();
    match format {
        Format::Dot => {
            out.push_str(&format!("digraph {:?} {{\n  rankdir=LR;\n  node [shape=box];\n", spec.name));
            for i in 0..spec.nodes.len() {
                out.push_str(&format!("  {:?} [label={:?}];\n", spec.nodes[i].name, label(i)));
            }
            for e in g.edge_indices() {
                let (a, b) = g.edge_endpoints(e).unwrap();
                let style = if g[e] == EdgeKind::Set { " [style=dashed, label=\"set\"]" } else { "" };
                out.push_str(&format!("  {:?} -> {:?}{style};\n", g[a], g[b]));
            }
            out.push_str("}\n");
        }
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            for i in 0..spec.nodes.len() {
                out.push_str(&format!("  {}[\"{}\"]\n", spec.nodes[i].name, label(i)));
            }
            for e in g.edge_indices() {
                let (a, b) = g.edge_endpoints(e).unwrap();
                let arrow = if g[e] == EdgeKind::Set { "-. set .->" } else { "-->" };
                out.push_str(&format!("  {} {arrow} {}\n", g[a], g[b]));
            }
        }
    }
    out
}

/// Draws every expanded instance and its dependencies (for small pipelines; a node whose
/// instances are not known before running is left out).
pub fn render_instances(spec: &Spec, format: Format, instances: &[crate::expand::Instance]) -> String {
    let mut out = String::new();
    let name = |i: usize| format!("i{i}");
    match format {
        Format::Dot => {
            out.push_str(&format!("digraph {:?} {{\n  rankdir=LR;\n  node [shape=box];\n", spec.name));
            for (i, inst) in instances.iter().enumerate() {
                out.push_str(&format!("  {} [label={:?}];\n", name(i), inst.id));
            }
            for (i, inst) in instances.iter().enumerate() {
                for &d in inst.deps.iter().flatten() {
                    out.push_str(&format!("  {} -> {};\n", name(d), name(i)));
                }
            }
            out.push_str("}\n");
        }
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            for (i, inst) in instances.iter().enumerate() {
                out.push_str(&format!("  {}[\"{}\"]\n", name(i), inst.id.replace('"', "'")));
            }
            for (i, inst) in instances.iter().enumerate() {
                for &d in inst.deps.iter().flatten() {
                    out.push_str(&format!("  {} --> {}\n", name(d), name(i)));
                }
            }
        }
    }
    out
}
