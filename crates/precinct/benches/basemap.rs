//! The base map at a city's scale (issue 25): a road network of 1,000,000
//! nodes (a 1,000 × 1,000 grid of streets 30 m apart, every tenth an
//! arterial) with 250,000 buildings and 400 parks and lakes, built into the
//! vector tiles of zooms 10–16 that `serve` holds in memory, then 2,000
//! tiles read back at random.
//!
//! Run: `cargo bench -p precinct --bench basemap` (env: BENCH_GRID, default
//! 1000 nodes a side). Goal: built in ≤ 60 s.

use precinct_domain::Coordinates;
use precinct_geo::roads::{AreaKind, MapArea, grid_ways};
use precinct_osm::tiles::TileSet;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn main() {
    let side: usize = std::env::var("BENCH_GRID")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let origin = Coordinates::new(28.05, 112.85).unwrap();
    let spacing = 30.0;
    let ways = grid_ways(origin, side, side, spacing, 0, 10);
    let nodes: usize = ways.iter().map(|w| w.nodes.len()).sum::<usize>() / 2;
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let extent = side as f64 * spacing;
    let square = |at: Coordinates, size: f64| {
        vec![
            at,
            at.offset_m(size, 0.0),
            at.offset_m(size, size),
            at.offset_m(0.0, size),
            at,
        ]
    };
    let mut areas: Vec<MapArea> = (0..side * side / 4)
        .map(|_| MapArea {
            kind: AreaKind::Building,
            points: square(
                origin.offset_m(rng.random_range(0.0..extent), rng.random_range(0.0..extent)),
                12.0,
            ),
            name: None,
        })
        .collect();
    for k in 0..400 {
        areas.push(MapArea {
            kind: if k % 2 == 0 {
                AreaKind::Park
            } else {
                AreaKind::Water
            },
            points: square(
                origin.offset_m(rng.random_range(0.0..extent), rng.random_range(0.0..extent)),
                150.0,
            ),
            name: Some(format!("公园{k}")),
        });
    }
    let started = Instant::now();
    let set = TileSet::build(&ways, &areas);
    let build_s = started.elapsed().as_secs_f64();
    let (count, bytes) = set.size();
    let [west, south, east, north] = set.bounds.unwrap();
    let tile = |lat: f64, lon: f64, z: u8| {
        let n = f64::from(1u32 << z);
        let r = lat.to_radians();
        (
            ((lon + 180.0) / 360.0 * n) as u32,
            ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32,
        )
    };
    let mut reads = Vec::with_capacity(2000);
    let mut found = 0;
    for _ in 0..2000 {
        let z = rng.random_range(10..=16u8);
        let (x, y) = tile(
            rng.random_range(south..north),
            rng.random_range(west..east),
            z,
        );
        let t = Instant::now();
        found += usize::from(set.get(z, x, y).is_some());
        reads.push(t.elapsed());
    }
    reads.sort();
    let p95 = reads[reads.len() * 95 / 100].as_secs_f64() * 1e6;
    println!(
        "basemap: {nodes} road nodes in {} ways, {} areas; {count} tiles ({:.0} MB) built in {build_s:.1} s; tile read p95 {p95:.1} µs, {found} of 2000 found",
        ways.len(),
        areas.len(),
        bytes as f64 / 1e6
    );
    println!(
        "basemap: built in {build_s:.1} s (goal 60 s) = {:.0}% of the goal",
        build_s / 60.0 * 100.0
    );
}
