//! The road network: a routable graph per travel profile (driving respects
//! one-way streets and drives at the road class's speed; walking goes both
//! ways on anything walkable), snapping points to the nearest usable road
//! node, and segments that can be closed.
//!
//! Travel times are whole milliseconds, so every search over the same graph
//! gives exactly the same times, whatever order it settles nodes in.

use crate::Coordinates;
use rstar::{AABB, PointDistance, RTree, RTreeObject};
use serde::{Deserialize, Serialize};

/// A node of the network (an index, not an OSM id).
pub type NodeId = u32;
/// A stretch of road between two consecutive nodes of a way (closable).
pub type SegmentId = u32;

/// How someone travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Driving,
    Walking,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Driving, Profile::Walking];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Driving => "driving",
            Profile::Walking => "walking",
        }
    }
}

/// Walking speed, metres per second (5 km/h).
pub const WALKING_SPEED_M_S: f64 = 1.4;

/// Road classes, as OSM's `highway=*` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoadClass {
    Motorway,
    Trunk,
    Primary,
    Secondary,
    Tertiary,
    Unclassified,
    Residential,
    LivingStreet,
    Service,
    Pedestrian,
    Footway,
    Path,
    Steps,
    Cycleway,
    Track,
}

impl RoadClass {
    /// OSM's name of the class (as serde writes it).
    pub fn as_str(self) -> &'static str {
        use RoadClass::*;
        match self {
            Motorway => "motorway",
            Trunk => "trunk",
            Primary => "primary",
            Secondary => "secondary",
            Tertiary => "tertiary",
            Unclassified => "unclassified",
            Residential => "residential",
            LivingStreet => "living_street",
            Service => "service",
            Pedestrian => "pedestrian",
            Footway => "footway",
            Path => "path",
            Steps => "steps",
            Cycleway => "cycleway",
            Track => "track",
        }
    }

    /// The class of an OSM `highway` value (links count as their road).
    pub fn from_osm(highway: &str) -> Option<RoadClass> {
        use RoadClass::*;
        Some(match highway.trim_end_matches("_link") {
            "motorway" => Motorway,
            "trunk" => Trunk,
            "primary" => Primary,
            "secondary" => Secondary,
            "tertiary" => Tertiary,
            "unclassified" | "road" => Unclassified,
            "residential" => Residential,
            "living_street" => LivingStreet,
            "service" => Service,
            "pedestrian" => Pedestrian,
            "footway" | "corridor" | "bridleway" => Footway,
            "path" => Path,
            "steps" => Steps,
            "cycleway" => Cycleway,
            "track" => Track,
            _ => return None,
        })
    }

    /// Urban driving speed in km/h, or None where cars may not go.
    pub fn driving_speed_kmh(self) -> Option<f64> {
        use RoadClass::*;
        match self {
            Motorway => Some(80.0),
            Trunk => Some(60.0),
            Primary => Some(45.0),
            Secondary => Some(40.0),
            Tertiary => Some(35.0),
            Unclassified | Residential => Some(25.0),
            Service => Some(15.0),
            LivingStreet => Some(10.0),
            // Tracks are farm and forest roads: not for a patrol car.
            Pedestrian | Footway | Path | Steps | Cycleway | Track => None,
        }
    }

    pub fn walkable(self) -> bool {
        !matches!(self, RoadClass::Motorway | RoadClass::Trunk)
    }
}

/// Which way traffic may drive along a way's node order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Oneway {
    No,
    Forward,
    Backward,
}

/// Who the way's tags let through, beyond what its class allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub driving: bool,
    pub walking: bool,
}

impl Access {
    pub const ALL: Access = Access {
        driving: true,
        walking: true,
    };
}

/// One way before building: its nodes (an id and a position each), class,
/// direction and access. Ways share nodes by id where they join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoadWay {
    pub nodes: Vec<(i64, Coordinates)>,
    pub class: RoadClass,
    pub oneway: Oneway,
    pub access: Access,
    /// The street's name (OpenStreetMap's `name:zh`, else `name`), for
    /// the map's labels and address search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The street's local name (`name`) when `name` above is its Chinese
    /// one: callers in a foreign city say "Yonge Street", and house numbers
    /// are given on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_name: Option<String>,
}

/// What an extract knows of an address or a named place apart from its
/// streets: `addr:street` + `addr:housenumber` on a building or a node,
/// and named points of interest (shops, schools, hospitals, parks...),
/// each at a point (a building's or area's at the middle of its outline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointAddress {
    pub location: Coordinates,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub housenumber: Option<String>,
    /// A point of interest's name (`name:zh`, else `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a base map draws besides its roads, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    /// A lake, pond, reservoir or river's area (a polygon).
    Water,
    /// A river, stream or canal (a line).
    Waterway,
    /// A park, garden, wood, grass or pitch (a polygon).
    Park,
    /// A building's outline (a polygon).
    Building,
}

/// An outline (or a line, for a waterway) of the extract's base map, with
/// its name when it has one (a lake's, a park's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapArea {
    pub kind: AreaKind,
    pub points: Vec<Coordinates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A compressed adjacency list (forward or reversed) of one profile.
#[derive(Debug, Clone, Default)]
struct Adjacency {
    first: Vec<u32>,
    other: Vec<NodeId>,
    millis: Vec<u32>,
    metres: Vec<f32>,
    segment: Vec<SegmentId>,
}

impl Adjacency {
    /// Builds from (from, to, millis, metres, segment) arcs.
    fn build(node_count: usize, mut arcs: Vec<(NodeId, NodeId, u32, f32, SegmentId)>) -> Adjacency {
        arcs.sort_unstable_by_key(|a| (a.0, a.1));
        let mut first = vec![0u32; node_count + 1];
        for arc in &arcs {
            first[arc.0 as usize + 1] += 1;
        }
        for i in 0..node_count {
            first[i + 1] += first[i];
        }
        Adjacency {
            first,
            other: arcs.iter().map(|a| a.1).collect(),
            millis: arcs.iter().map(|a| a.2).collect(),
            metres: arcs.iter().map(|a| a.3).collect(),
            segment: arcs.iter().map(|a| a.4).collect(),
        }
    }

    fn arcs(&self, node: NodeId) -> std::ops::Range<usize> {
        self.first[node as usize] as usize..self.first[node as usize + 1] as usize
    }
}

/// Both directions of one profile's graph.
#[derive(Debug, Clone, Default)]
struct ProfileGraph {
    forward: Adjacency,
    backward: Adjacency,
    index: Option<RTree<IndexedNode>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct IndexedNode {
    xy: [f64; 2],
    node: NodeId,
}

impl RTreeObject for IndexedNode {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.xy)
    }
}

impl PointDistance for IndexedNode {
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        let (dx, dy) = (self.xy[0] - point[0], self.xy[1] - point[1]);
        dx * dx + dy * dy
    }
}

/// Where a point joins the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    pub node: NodeId,
    /// Straight-line metres from the point to the node.
    pub distance_m: f64,
}

/// The routable road network of a station.
#[derive(Debug, Clone)]
pub struct RoadNetwork {
    coordinates: Vec<Coordinates>,
    driving: ProfileGraph,
    walking: ProfileGraph,
    segment_count: u32,
    /// The two nodes of each segment, by segment id.
    segment_ends: Vec<(NodeId, NodeId)>,
    /// Latitude used for the local metric projection of the snapping index.
    reference_lat: f64,
}

/// Milliseconds to cover `metres` at `metres_per_second` (at least 1).
fn millis(metres: f64, metres_per_second: f64) -> u32 {
    ((metres / metres_per_second) * 1000.0).round().max(1.0) as u32
}

impl RoadNetwork {
    /// Builds the network from ways. Nodes are merged by id; consecutive
    /// nodes of a way form one segment, closable in both directions.
    pub fn build(ways: &[RoadWay]) -> RoadNetwork {
        let mut ids = std::collections::HashMap::new();
        let mut coordinates = Vec::new();
        let mut driving = Vec::new();
        let mut walking = Vec::new();
        let mut segment_count: u32 = 0;
        let mut segment_ends = Vec::new();
        for way in ways {
            let nodes: Vec<NodeId> = way
                .nodes
                .iter()
                .map(|(id, at)| {
                    *ids.entry(*id).or_insert_with(|| {
                        coordinates.push(*at);
                        (coordinates.len() - 1) as NodeId
                    })
                })
                .collect();
            for pair in nodes.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if a == b {
                    continue;
                }
                let metres = coordinates[a as usize].distance_m(coordinates[b as usize]);
                let segment = segment_count;
                segment_count += 1;
                segment_ends.push((a, b));
                if let (Some(kmh), true) = (way.class.driving_speed_kmh(), way.access.driving) {
                    let ms = millis(metres, kmh / 3.6);
                    if way.oneway != Oneway::Backward {
                        driving.push((a, b, ms, metres as f32, segment));
                    }
                    if way.oneway != Oneway::Forward {
                        driving.push((b, a, ms, metres as f32, segment));
                    }
                }
                if way.class.walkable() && way.access.walking {
                    let ms = millis(metres, WALKING_SPEED_M_S);
                    walking.push((a, b, ms, metres as f32, segment));
                    walking.push((b, a, ms, metres as f32, segment));
                }
            }
        }
        let reference_lat = if coordinates.is_empty() {
            0.0
        } else {
            coordinates.iter().map(|c| c.lat()).sum::<f64>() / coordinates.len() as f64
        };
        let mut network = RoadNetwork {
            driving: ProfileGraph::default(),
            walking: ProfileGraph::default(),
            segment_count,
            segment_ends,
            reference_lat,
            coordinates,
        };
        network.driving = network.profile_graph(driving);
        network.walking = network.profile_graph(walking);
        network
    }

    fn profile_graph(&self, arcs: Vec<(NodeId, NodeId, u32, f32, SegmentId)>) -> ProfileGraph {
        let n = self.coordinates.len();
        let reversed = arcs
            .iter()
            .map(|&(a, b, ms, m, s)| (b, a, ms, m, s))
            .collect();
        let forward = Adjacency::build(n, arcs);
        let backward = Adjacency::build(n, reversed);
        // Only nodes a traveller can leave and reach are snap targets.
        let points: Vec<IndexedNode> = (0..n as NodeId)
            .filter(|&v| !forward.arcs(v).is_empty() && !backward.arcs(v).is_empty())
            .map(|v| IndexedNode {
                xy: self.project(self.coordinates[v as usize]),
                node: v,
            })
            .collect();
        ProfileGraph {
            forward,
            backward,
            index: Some(RTree::bulk_load(points)),
        }
    }

    /// Local flat metres around the network's mean latitude.
    fn project(&self, c: Coordinates) -> [f64; 2] {
        let metres_per_degree = 111_320.0;
        [
            c.lon() * metres_per_degree * self.reference_lat.to_radians().cos(),
            c.lat() * metres_per_degree,
        ]
    }

    fn graph(&self, profile: Profile) -> &ProfileGraph {
        match profile {
            Profile::Driving => &self.driving,
            Profile::Walking => &self.walking,
        }
    }

    pub fn node_count(&self) -> usize {
        self.coordinates.len()
    }

    /// Directed arcs of a profile (a two-way street counts twice).
    pub fn arc_count(&self, profile: Profile) -> usize {
        self.graph(profile).forward.other.len()
    }

    pub fn segment_count(&self) -> u32 {
        self.segment_count
    }

    /// The two ends of a segment (for drawing closures), if it exists.
    pub fn segment_line(&self, segment: SegmentId) -> Option<[Coordinates; 2]> {
        let &(a, b) = self.segment_ends.get(segment as usize)?;
        Some([self.coordinates[a as usize], self.coordinates[b as usize]])
    }

    pub fn coordinates(&self, node: NodeId) -> Coordinates {
        self.coordinates[node as usize]
    }

    /// The nearest node a traveller of `profile` can use.
    pub fn snap(&self, profile: Profile, point: Coordinates) -> Option<Snap> {
        let index = self.graph(profile).index.as_ref()?;
        let nearest = index.nearest_neighbor(&self.project(point))?;
        Some(Snap {
            node: nearest.node,
            distance_m: point.distance_m(self.coordinates(nearest.node)),
        })
    }

    /// The segments of arcs leaving `node` in a profile (for closures and tests).
    pub fn segments_at(&self, profile: Profile, node: NodeId) -> Vec<SegmentId> {
        let forward = &self.graph(profile).forward;
        forward.arcs(node).map(|i| forward.segment[i]).collect()
    }

    /// Every directed arc of a profile: (from, to, milliseconds, segment).
    pub fn arcs(
        &self,
        profile: Profile,
    ) -> impl Iterator<Item = (NodeId, NodeId, u32, SegmentId)> + '_ {
        let forward = &self.graph(profile).forward;
        (0..self.coordinates.len() as NodeId).flat_map(move |v| {
            forward
                .arcs(v)
                .map(move |i| (v, forward.other[i], forward.millis[i], forward.segment[i]))
        })
    }
}

/// Closed road segments. Cheap to change: closing takes effect at the next search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closures {
    closed: Vec<bool>,
}

impl Closures {
    pub fn close(&mut self, segment: SegmentId) {
        let i = segment as usize;
        if self.closed.len() <= i {
            self.closed.resize(i + 1, false);
        }
        self.closed[i] = true;
    }

    pub fn reopen(&mut self, segment: SegmentId) {
        if let Some(flag) = self.closed.get_mut(segment as usize) {
            *flag = false;
        }
    }

    pub fn is_closed(&self, segment: SegmentId) -> bool {
        self.closed.get(segment as usize).copied().unwrap_or(false)
    }
}

/// Working memory for searches, reused between them. Entries are valid only
/// when stamped with the current search's generation, so starting a search
/// costs nothing however large the network is.
#[derive(Debug, Default)]
pub struct SearchScratch {
    generation: u32,
    stamp: Vec<u32>,
    settled: Vec<u32>,
    millis: Vec<u32>,
    metres: Vec<f64>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(u32, NodeId)>>,
}

impl SearchScratch {
    fn start(&mut self, nodes: usize) {
        if self.stamp.len() != nodes {
            self.stamp = vec![0; nodes];
            self.settled = vec![0; nodes];
            self.millis = vec![0; nodes];
            self.metres = vec![0.0; nodes];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped after 4 billion searches: clear once, start again.
            self.stamp.fill(0);
            self.settled.fill(0);
            self.generation = 1;
        }
        self.heap.clear();
    }

    /// Records a better time to `node`, if it is one.
    fn improve(&mut self, node: NodeId, millis: u32, metres: f64) {
        let i = node as usize;
        if self.stamp[i] != self.generation || millis < self.millis[i] {
            self.stamp[i] = self.generation;
            self.millis[i] = millis;
            self.metres[i] = metres;
            self.heap.push(std::cmp::Reverse((millis, node)));
        }
    }

    /// Settles `node` popped at `millis`; false if it was already settled
    /// (or this heap entry is stale).
    fn settle(&mut self, node: NodeId, millis: u32) -> bool {
        let i = node as usize;
        if self.settled[i] == self.generation || millis > self.millis[i] {
            return false;
        }
        self.settled[i] = self.generation;
        true
    }
}

/// A path found by [`RoadNetwork::path`].
#[derive(Debug, Clone, PartialEq)]
pub struct RoadPath {
    pub nodes: Vec<NodeId>,
    pub millis: u32,
    pub metres: f64,
}

/// A node reached by a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reached {
    pub node: NodeId,
    /// Travel time from this node to the search's destination.
    pub millis: u32,
    /// Road distance along the path found.
    pub metres: f64,
}

impl RoadNetwork {
    /// Searches outward from `destination` over reversed arcs, settling
    /// nodes in order of their travel time *to* the destination, and hands
    /// each to `visit` until it answers `Break`. Cost grows with how far the
    /// search has to go, not with the size of the network. Allocates its
    /// working memory; repeated searches should use
    /// [`RoadNetwork::search_towards_with`] and keep a [`SearchScratch`].
    pub fn search_towards(
        &self,
        profile: Profile,
        destination: NodeId,
        closures: &Closures,
        visit: impl FnMut(Reached) -> std::ops::ControlFlow<()>,
    ) {
        let mut scratch = SearchScratch::default();
        self.search_towards_with(&mut scratch, profile, destination, closures, visit);
    }

    /// [`RoadNetwork::search_towards`] with reusable working memory.
    pub fn search_towards_with(
        &self,
        scratch: &mut SearchScratch,
        profile: Profile,
        destination: NodeId,
        closures: &Closures,
        mut visit: impl FnMut(Reached) -> std::ops::ControlFlow<()>,
    ) {
        use std::cmp::Reverse;
        let backward = &self.graph(profile).backward;
        if destination as usize >= self.coordinates.len() {
            return;
        }
        scratch.start(self.coordinates.len());
        scratch.improve(destination, 0, 0.0);
        while let Some(Reverse((millis, node))) = scratch.heap.pop() {
            if !scratch.settle(node, millis) {
                continue;
            }
            let metres = scratch.metres[node as usize];
            if visit(Reached {
                node,
                millis,
                metres,
            })
            .is_break()
            {
                return;
            }
            for arc in backward.arcs(node) {
                if closures.is_closed(backward.segment[arc]) {
                    continue;
                }
                let next = backward.other[arc];
                let candidate = millis.saturating_add(backward.millis[arc]);
                scratch.improve(next, candidate, metres + f64::from(backward.metres[arc]));
            }
        }
    }

    /// The quickest path from `from` to `to` avoiding closed segments: its
    /// nodes in order, travel time and road distance. None when `to`
    /// cannot be reached. A forward search that stops at `to`.
    pub fn path(
        &self,
        profile: Profile,
        from: NodeId,
        to: NodeId,
        closures: &Closures,
    ) -> Option<RoadPath> {
        use std::cmp::Reverse;
        use std::collections::HashMap;
        let n = self.coordinates.len();
        if from as usize >= n || to as usize >= n {
            return None;
        }
        let forward = &self.graph(profile).forward;
        // node → (millis, metres, previous node); settled once popped.
        let mut best: HashMap<NodeId, (u32, f64, NodeId)> = HashMap::new();
        let mut settled: std::collections::HashSet<NodeId> = Default::default();
        let mut heap = std::collections::BinaryHeap::new();
        best.insert(from, (0, 0.0, from));
        heap.push(Reverse((0u32, from)));
        while let Some(Reverse((millis, node))) = heap.pop() {
            if !settled.insert(node) {
                continue;
            }
            if node == to {
                let (_, metres, _) = best[&to];
                let mut nodes = vec![to];
                let mut at = to;
                while at != from {
                    at = best[&at].2;
                    nodes.push(at);
                }
                nodes.reverse();
                return Some(RoadPath {
                    nodes,
                    millis,
                    metres,
                });
            }
            let metres = best[&node].1;
            for arc in forward.arcs(node) {
                if closures.is_closed(forward.segment[arc]) {
                    continue;
                }
                let next = forward.other[arc];
                let time = millis.saturating_add(forward.millis[arc]);
                if best.get(&next).is_none_or(|b| time < b.0) {
                    best.insert(next, (time, metres + f64::from(forward.metres[arc]), node));
                    heap.push(Reverse((time, next)));
                }
            }
        }
        None
    }

    /// Travel time from every node to `destination` (None: unreachable):
    /// a plain Dijkstra over the whole graph with dense arrays and no early
    /// stop, on incoming lists built afresh from the forward arcs. Kept
    /// independent of [`RoadNetwork::search_towards`] so it can check it.
    pub fn reference_times_to(
        &self,
        profile: Profile,
        destination: NodeId,
        closures: &Closures,
    ) -> Vec<Option<u32>> {
        use std::cmp::Reverse;
        let n = self.coordinates.len();
        let mut incoming: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        for (from, to, millis, segment) in self.arcs(profile) {
            if !closures.is_closed(segment) {
                incoming[to as usize].push((from, millis));
            }
        }
        let mut distance: Vec<Option<u32>> = vec![None; n];
        let mut heap = std::collections::BinaryHeap::new();
        distance[destination as usize] = Some(0);
        heap.push(Reverse((0u32, destination)));
        while let Some(Reverse((d, v))) = heap.pop() {
            if distance[v as usize].is_some_and(|known| d > known) {
                continue;
            }
            for &(u, millis) in &incoming[v as usize] {
                let candidate = d + millis;
                if distance[u as usize].is_none_or(|known| candidate < known) {
                    distance[u as usize] = Some(candidate);
                    heap.push(Reverse((candidate, u)));
                }
            }
        }
        distance
    }

    /// Nodes a traveller of `profile` can use (they have arcs in and out).
    pub fn usable_node_count(&self, profile: Profile) -> usize {
        self.graph(profile)
            .index
            .as_ref()
            .map_or(0, |index| index.size())
    }
}

/// A square grid of streets, `spacing_m` apart, for tests, benchmarks and
/// the demo: every `oneway_every`-th street (0: none) is one-way, alternating
/// direction; every `arterial_every`-th street is a primary road.
pub fn grid_ways(
    origin: Coordinates,
    rows: usize,
    columns: usize,
    spacing_m: f64,
    oneway_every: usize,
    arterial_every: usize,
) -> Vec<RoadWay> {
    let id = |r: usize, c: usize| (r * columns + c) as i64;
    let at = |r: usize, c: usize| origin.offset_m(c as f64 * spacing_m, r as f64 * spacing_m);
    let class = |i: usize| {
        if arterial_every > 0 && i.is_multiple_of(arterial_every) {
            RoadClass::Primary
        } else {
            RoadClass::Residential
        }
    };
    let oneway = |i: usize| match oneway_every {
        0 => Oneway::No,
        k if i % k == k - 1 => {
            if (i / k).is_multiple_of(2) {
                Oneway::Forward
            } else {
                Oneway::Backward
            }
        }
        _ => Oneway::No,
    };
    let mut ways = Vec::with_capacity(rows + columns);
    for r in 0..rows {
        ways.push(RoadWay {
            nodes: (0..columns).map(|c| (id(r, c), at(r, c))).collect(),
            class: class(r),
            oneway: oneway(r),
            access: Access::ALL,
            name: None,
            local_name: None,
        });
    }
    for c in 0..columns {
        ways.push(RoadWay {
            nodes: (0..rows).map(|r| (id(r, c), at(r, c))).collect(),
            class: class(c),
            oneway: oneway(c),
            access: Access::ALL,
            name: None,
            local_name: None,
        });
    }
    ways
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Coordinates {
        Coordinates::new(28.15, 113.0).unwrap()
    }

    #[test]
    fn one_way_streets_are_respected_when_driving_not_walking() {
        // A single one-way street A → B → C.
        let ways = vec![RoadWay {
            nodes: (0..3)
                .map(|i| (i, origin().offset_m(f64::from(i as i32) * 100.0, 0.0)))
                .collect(),
            class: RoadClass::Residential,
            oneway: Oneway::Forward,
            access: Access::ALL,
            name: None,
            local_name: None,
        }];
        let network = RoadNetwork::build(&ways);
        let open = Closures::default();
        let to_c = network.reference_times_to(Profile::Driving, 2, &open);
        assert!(to_c[0].is_some(), "A can drive to C");
        let to_a = network.reference_times_to(Profile::Driving, 0, &open);
        assert_eq!(
            to_a[2], None,
            "C cannot drive against the one-way street to A"
        );
        let walk_to_a = network.reference_times_to(Profile::Walking, 0, &open);
        assert_eq!(
            walk_to_a[2],
            Some(2 * millis(100.0, WALKING_SPEED_M_S)),
            "walking ignores one-way"
        );
    }

    #[test]
    fn closures_are_respected() {
        let network = RoadNetwork::build(&grid_ways(origin(), 3, 3, 100.0, 0, 0));
        let mut closures = Closures::default();
        let before = network.reference_times_to(Profile::Driving, 0, &closures)[2].unwrap();
        for segment in network.segments_at(Profile::Driving, 1) {
            closures.close(segment);
        }
        let after = network.reference_times_to(Profile::Driving, 0, &closures)[2].unwrap();
        assert!(
            after > before,
            "closing the middle of the top street forces a detour"
        );
        closures.reopen(network.segments_at(Profile::Driving, 1)[0]);
    }

    #[test]
    fn a_path_is_the_reference_times_route_and_avoids_closures() {
        let network = RoadNetwork::build(&grid_ways(origin(), 3, 3, 100.0, 0, 0));
        let mut closures = Closures::default();
        let open = network.path(Profile::Driving, 0, 2, &closures).unwrap();
        let reference = network.reference_times_to(Profile::Driving, 2, &closures)[0].unwrap();
        assert_eq!(open.millis, reference);
        assert_eq!(open.nodes.first(), Some(&0));
        assert_eq!(open.nodes.last(), Some(&2));
        assert!((open.metres - 200.0).abs() < 1.0, "{}", open.metres);
        for segment in network.segments_at(Profile::Driving, 1) {
            closures.close(segment);
        }
        let detour = network.path(Profile::Driving, 0, 2, &closures).unwrap();
        assert!(!detour.nodes.contains(&1), "around the closed junction");
        assert_eq!(
            detour.millis,
            network.reference_times_to(Profile::Driving, 2, &closures)[0].unwrap()
        );
        assert!(detour.metres > open.metres);
    }

    #[test]
    fn segments_are_drawn_between_their_nodes() {
        let network = RoadNetwork::build(&grid_ways(origin(), 3, 3, 100.0, 0, 0));
        for segment in network.segments_at(Profile::Driving, 1) {
            let [a, b] = network.segment_line(segment).unwrap();
            assert!((a.distance_m(b) - 100.0).abs() < 1.0, "{a:?} {b:?}");
            let at_junction = network.coordinates(1);
            assert!(
                a == at_junction || b == at_junction,
                "one end is the junction"
            );
        }
        assert_eq!(network.segment_line(network.segment_count()), None);
    }

    #[test]
    fn footways_are_not_driven() {
        let ways = vec![RoadWay {
            nodes: vec![(1, origin()), (2, origin().offset_m(50.0, 0.0))],
            class: RoadClass::Footway,
            oneway: Oneway::No,
            access: Access::ALL,
            name: None,
            local_name: None,
        }];
        let network = RoadNetwork::build(&ways);
        assert_eq!(network.arc_count(Profile::Driving), 0);
        assert_eq!(network.arc_count(Profile::Walking), 2);
        assert!(network.snap(Profile::Driving, origin()).is_none());
        assert_eq!(
            network.snap(Profile::Walking, origin()).map(|s| s.node),
            Some(0)
        );
    }
}
