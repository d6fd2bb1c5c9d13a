//! A contraction hierarchy of one profile's road graph, for the full
//! travel-time table from every node to one destination (PHAST: one small
//! upward search from the destination, then one linear sweep over the nodes
//! in descending rank). Built once per network; it does not know about
//! closures, so callers fall back to [`RoadNetwork::search_towards`] when
//! any road is closed.

use crate::roads::{NodeId, Profile, RoadNetwork};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Nodes a witness search may settle before giving up (and adding the
/// shortcut anyway: correct, only less sparse).
const WITNESS_SETTLE_LIMIT: usize = 200;

/// All-to-one travel times over a contraction hierarchy.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Nodes by descending rank (the sweep order).
    sweep: Vec<NodeId>,
    rank: Vec<u32>,
    /// Upward arcs of the reversed graph: from a node to higher-ranked ones.
    up_first: Vec<u32>,
    up_other: Vec<NodeId>,
    up_millis: Vec<u32>,
    /// Downward arcs into each node from higher-ranked ones, in sweep order.
    down_first: Vec<u32>,
    down_from: Vec<NodeId>,
    down_millis: Vec<u32>,
}

/// Working memory for table queries, reused between them.
#[derive(Debug, Default)]
pub struct TableScratch {
    millis: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, NodeId)>>,
}

struct Dynamic {
    out: Vec<Vec<(NodeId, u32)>>,
    into: Vec<Vec<(NodeId, u32)>>,
    contracted: Vec<bool>,
}

impl Dynamic {
    fn add_or_reduce(&mut self, from: NodeId, to: NodeId, millis: u32) {
        let out = &mut self.out[from as usize];
        match out.iter_mut().find(|(n, _)| *n == to) {
            Some(arc) if arc.1 <= millis => return,
            Some(arc) => arc.1 = millis,
            None => out.push((to, millis)),
        }
        let into = &mut self.into[to as usize];
        match into.iter_mut().find(|(n, _)| *n == from) {
            Some(arc) => arc.1 = millis,
            None => into.push((from, millis)),
        }
    }

    /// Shortcuts contracting `v` would need: (from, to, millis).
    fn shortcuts(&self, v: NodeId, witness: &mut Witness) -> Vec<(NodeId, NodeId, u32)> {
        let mut needed = Vec::new();
        for &(u, w_uv) in &self.into[v as usize] {
            if self.contracted[u as usize] {
                continue;
            }
            let targets: Vec<(NodeId, u32)> = self.out[v as usize]
                .iter()
                .filter(|&&(x, _)| x != u && !self.contracted[x as usize])
                .map(|&(x, w_vx)| (x, w_uv + w_vx))
                .collect();
            if targets.is_empty() {
                continue;
            }
            let limit = targets.iter().map(|t| t.1).max().unwrap_or(0);
            witness.search(self, u, v, limit);
            for (x, via_v) in targets {
                if witness.distance(x).is_none_or(|d| d > via_v) {
                    needed.push((u, x, via_v));
                }
            }
        }
        needed
    }

    fn live_degree(&self, v: NodeId) -> usize {
        let live = |arcs: &Vec<(NodeId, u32)>| {
            arcs.iter()
                .filter(|(n, _)| !self.contracted[*n as usize])
                .count()
        };
        live(&self.out[v as usize]) + live(&self.into[v as usize])
    }
}

/// A bounded Dijkstra that avoids one node, with lazily reset memory.
struct Witness {
    distance: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
    heap: BinaryHeap<Reverse<(u32, NodeId)>>,
}

impl Witness {
    fn search(&mut self, graph: &Dynamic, from: NodeId, avoid: NodeId, limit: u32) {
        self.generation += 1;
        self.heap.clear();
        self.set(from, 0);
        let mut settled = 0;
        while let Some(Reverse((d, n))) = self.heap.pop() {
            if d > self.distance[n as usize] || d > limit {
                continue;
            }
            settled += 1;
            if settled > WITNESS_SETTLE_LIMIT {
                break;
            }
            for &(next, w) in &graph.out[n as usize] {
                if next == avoid || graph.contracted[next as usize] {
                    continue;
                }
                let candidate = d + w;
                if self.distance(next).is_none_or(|known| candidate < known) {
                    self.set(next, candidate);
                }
            }
        }
    }

    fn set(&mut self, node: NodeId, d: u32) {
        self.stamp[node as usize] = self.generation;
        self.distance[node as usize] = d;
        self.heap.push(Reverse((d, node)));
    }

    fn distance(&self, node: NodeId) -> Option<u32> {
        (self.stamp[node as usize] == self.generation).then(|| self.distance[node as usize])
    }
}

impl Hierarchy {
    /// Contracts the reversed graph of `profile` (so the sweep yields times
    /// *to* a destination). Costs seconds on a city; build once.
    pub fn build(network: &RoadNetwork, profile: Profile) -> Hierarchy {
        let n = network.node_count();
        let mut graph = Dynamic {
            out: vec![Vec::new(); n],
            into: vec![Vec::new(); n],
            contracted: vec![false; n],
        };
        for (from, to, millis, _) in network.arcs(profile) {
            // Reversed: an arc a → b becomes b → a.
            graph.add_or_reduce(to, from, millis);
        }
        let mut witness = Witness {
            distance: vec![0; n],
            stamp: vec![0; n],
            generation: 0,
            heap: BinaryHeap::new(),
        };
        let mut neighbours_contracted = vec![0i64; n];
        let priority = |graph: &Dynamic, witness: &mut Witness, v: NodeId, deleted: i64| {
            graph.shortcuts(v, witness).len() as i64 - graph.live_degree(v) as i64 + deleted
        };
        let mut queue: BinaryHeap<Reverse<(i64, NodeId)>> = (0..n as NodeId)
            .map(|v| Reverse((priority(&graph, &mut witness, v, 0), v)))
            .collect();
        let mut rank = vec![0u32; n];
        let mut up: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        let mut down: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        let mut next_rank = 0u32;
        while let Some(Reverse((old, v))) = queue.pop() {
            if graph.contracted[v as usize] {
                continue;
            }
            // Lazy update: contract only if still no worse than the next candidate.
            let current = priority(&graph, &mut witness, v, neighbours_contracted[v as usize]);
            if current > old
                && queue
                    .peek()
                    .is_some_and(|Reverse((best, _))| current > *best)
            {
                queue.push(Reverse((current, v)));
                continue;
            }
            for (from, to, millis) in graph.shortcuts(v, &mut witness) {
                graph.add_or_reduce(from, to, millis);
            }
            for &(x, w) in &graph.out[v as usize] {
                if !graph.contracted[x as usize] {
                    up[v as usize].push((x, w));
                    neighbours_contracted[x as usize] += 1;
                }
            }
            for &(u, w) in &graph.into[v as usize] {
                if !graph.contracted[u as usize] {
                    down[v as usize].push((u, w));
                    neighbours_contracted[u as usize] += 1;
                }
            }
            graph.contracted[v as usize] = true;
            rank[v as usize] = next_rank;
            next_rank += 1;
        }
        let mut sweep: Vec<NodeId> = (0..n as NodeId).collect();
        sweep.sort_unstable_by_key(|&v| Reverse(rank[v as usize]));
        let flatten = |lists: &[Vec<(NodeId, u32)>], order: &mut dyn Iterator<Item = NodeId>| {
            let (mut first, mut other, mut millis) = (vec![0u32], Vec::new(), Vec::new());
            for v in order {
                for &(x, w) in &lists[v as usize] {
                    other.push(x);
                    millis.push(w);
                }
                first.push(other.len() as u32);
            }
            (first, other, millis)
        };
        let (up_first, up_other, up_millis) = flatten(&up, &mut (0..n as NodeId));
        let (down_first, down_from, down_millis) = flatten(&down, &mut sweep.iter().copied());
        Hierarchy {
            sweep,
            rank,
            up_first,
            up_other,
            up_millis,
            down_first,
            down_from,
            down_millis,
        }
    }

    /// Milliseconds from every node to `destination` (`u32::MAX`: unreachable),
    /// indexed by node.
    pub fn times_to<'s>(&self, destination: NodeId, scratch: &'s mut TableScratch) -> &'s [u32] {
        let n = self.rank.len();
        scratch.millis.clear();
        scratch.millis.resize(n, u32::MAX);
        scratch.heap.clear();
        // Upward search from the destination in the reversed graph.
        scratch.millis[destination as usize] = 0;
        scratch.heap.push(Reverse((0, destination)));
        while let Some(Reverse((d, v))) = scratch.heap.pop() {
            if d > scratch.millis[v as usize] {
                continue;
            }
            let arcs = self.up_first[v as usize] as usize..self.up_first[v as usize + 1] as usize;
            for i in arcs {
                let (x, candidate) = (self.up_other[i], d + self.up_millis[i]);
                if candidate < scratch.millis[x as usize] {
                    scratch.millis[x as usize] = candidate;
                    scratch.heap.push(Reverse((candidate, x)));
                }
            }
        }
        // Downward sweep in descending rank: every higher node is final first.
        for (position, &v) in self.sweep.iter().enumerate() {
            let mut best = scratch.millis[v as usize];
            for i in self.down_first[position] as usize..self.down_first[position + 1] as usize {
                let from = scratch.millis[self.down_from[i] as usize];
                if from != u32::MAX {
                    best = best.min(from + self.down_millis[i]);
                }
            }
            scratch.millis[v as usize] = best;
        }
        &scratch.millis
    }
}
