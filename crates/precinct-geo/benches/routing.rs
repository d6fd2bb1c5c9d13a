//! Routing benchmark (issue 4), side by side in one run:
//! on a generated 500 × 500 street grid (250k nodes) with 500 units spread
//! over it, and on the Monaco extract:
//! - the 5 nearest units by the outward search (no preprocessing);
//! - the full travel-time table to all 500 units (the search run until every
//!   unit is reached);
//! - a plain Dijkstra over the whole graph, for comparison;
//! - 500 point-to-point queries of `fast_paths` (contraction hierarchies,
//!   after its preparation);
//! - closing 100 segments;
//! - importing the Monaco extract.
//!
//! Run: `cargo bench -p precinct-geo --bench routing` (BENCH_QUERIES=200).

use precinct_geo::Coordinates;
use precinct_geo::roads::{Closures, NodeId, Profile, RoadNetwork, SearchScratch, grid_ways};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A deterministic pseudo-random sequence (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

struct Case {
    name: &'static str,
    network: RoadNetwork,
}

fn units_on(network: &RoadNetwork, count: usize, rng: &mut Rng) -> Vec<NodeId> {
    let usable: Vec<NodeId> = (0..network.node_count() as NodeId)
        .filter(|&v| !network.segments_at(Profile::Driving, v).is_empty())
        .collect();
    (0..count)
        .map(|_| usable[rng.below(usable.len())])
        .collect()
}

fn run(case: &Case, queries: usize) {
    let network = &case.network;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let units = units_on(network, 500, &mut rng);
    let mut is_unit = vec![0u16; network.node_count()];
    for &u in &units {
        is_unit[u as usize] += 1;
    }
    let destinations: Vec<NodeId> = units_on(network, queries, &mut rng);
    let open = Closures::default();

    let mut scratch = SearchScratch::default();
    let mut nearest = Vec::with_capacity(queries);
    let mut table = Vec::with_capacity(queries);
    for &destination in &destinations {
        let started = Instant::now();
        let mut found = 0;
        network.search_towards_with(
            &mut scratch,
            Profile::Driving,
            destination,
            &open,
            |reached| {
                found += usize::from(is_unit[reached.node as usize]);
                if found >= 5 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        nearest.push(started.elapsed());

        let started = Instant::now();
        let mut found = 0;
        network.search_towards_with(
            &mut scratch,
            Profile::Driving,
            destination,
            &open,
            |reached| {
                found += usize::from(is_unit[reached.node as usize]);
                if found >= units.len() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        table.push(started.elapsed());
    }

    let plain_runs = queries.min(20);
    let mut plain = Vec::with_capacity(plain_runs);
    for &destination in destinations.iter().take(plain_runs) {
        let started = Instant::now();
        let times = network.reference_times_to(Profile::Driving, destination, &open);
        std::hint::black_box(&times);
        plain.push(started.elapsed());
    }

    // fast_paths: its own graph from our driving arcs, prepared once.
    let mut input = fast_paths::InputGraph::new();
    for (from, to, millis, _) in network.arcs(Profile::Driving) {
        input.add_edge(from as usize, to as usize, millis as usize);
    }
    input.freeze();
    let started = Instant::now();
    let prepared = fast_paths::prepare(&input);
    let preparation = started.elapsed();
    let mut calculator = fast_paths::create_calculator(&prepared);
    let ch_runs = queries.min(20);
    let mut ch = Vec::with_capacity(ch_runs);
    for &destination in destinations.iter().take(ch_runs) {
        let started = Instant::now();
        for &unit in &units {
            std::hint::black_box(calculator.calc_path(
                &prepared,
                unit as usize,
                destination as usize,
            ));
        }
        ch.push(started.elapsed());
    }

    // The same table from a contraction hierarchy (PHAST sweep).
    let started = Instant::now();
    let hierarchy = precinct_geo::hierarchy::Hierarchy::build(network, Profile::Driving);
    let hierarchy_build = started.elapsed();
    let mut table_scratch = precinct_geo::hierarchy::TableScratch::default();
    let mut phast = Vec::with_capacity(queries);
    for &destination in &destinations {
        let started = Instant::now();
        let times = hierarchy.times_to(destination, &mut table_scratch);
        let etas: u64 = units
            .iter()
            .map(|&u| u64::from(times[u as usize].min(u32::MAX - 1)))
            .sum();
        std::hint::black_box(etas);
        phast.push(started.elapsed());
    }

    let mut closures = Closures::default();
    let started = Instant::now();
    for segment in 0..100 {
        closures.close(segment * 7);
    }
    let closing = started.elapsed();

    let (n5, tb, pl, c5) = (
        percentile(&mut nearest, 0.95),
        percentile(&mut table, 0.95),
        percentile(&mut plain, 0.95),
        percentile(&mut ch, 0.95),
    );
    let ph = percentile(&mut phast, 0.95);
    println!(
        "| {} | {} | {:.3} | {:.2} | {:.2} ({:.1} s build) | {:.2} | {:.2} ({:.1} s prep) | {:.1}× | {:.1}× | {:.3} |",
        case.name,
        network.usable_node_count(Profile::Driving),
        ms(n5),
        ms(tb),
        ms(ph),
        hierarchy_build.as_secs_f64(),
        ms(pl),
        ms(c5),
        preparation.as_secs_f64(),
        pl.as_secs_f64() / ph.as_secs_f64(),
        c5.as_secs_f64() / ph.as_secs_f64(),
        ms(closing),
    );
}

fn main() {
    let queries = std::env::var("BENCH_QUERIES")
        .ok()
        .and_then(|q| q.parse().ok())
        .unwrap_or(200);
    let monaco_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/monaco.osm.pbf");
    let started = Instant::now();
    let file = std::fs::File::open(&monaco_path).expect("the Monaco extract ships in testdata/");
    let roads =
        precinct_osm::read_roads(std::io::BufReader::new(file), |_| {}).expect("Monaco imports");
    let monaco = RoadNetwork::build(&roads.ways);
    let import = started.elapsed();

    let origin = Coordinates::new(28.0, 113.0).unwrap();
    let grid = RoadNetwork::build(&grid_ways(origin, 500, 500, 50.0, 4, 10));

    println!("Routing, {queries} queries per case, driving profile, p95 in ms");
    println!();
    println!(
        "| network | nodes | 5 nearest | table, outward search | table, hierarchy (PHAST) | plain Dijkstra (whole graph) | fast_paths 500 queries | plain ÷ PHAST | fast_paths ÷ PHAST | close 100 segments |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    run(
        &Case {
            name: "grid 500×500",
            network: grid,
        },
        queries,
    );
    run(
        &Case {
            name: "Monaco",
            network: monaco,
        },
        queries,
    );
    println!();
    println!(
        "Monaco import (read PBF + build): {:.2} s",
        import.as_secs_f64()
    );
}
