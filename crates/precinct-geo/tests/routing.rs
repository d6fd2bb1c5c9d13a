//! The outward search gives exactly the travel times of a plain Dijkstra
//! over the same graph: on random graphs (property test), on a generated
//! street grid, and on the real Monaco extract.

use precinct_geo::Coordinates;
use precinct_geo::roads::{
    Access, Closures, NodeId, Oneway, Profile, RoadClass, RoadNetwork, RoadWay, grid_ways,
};
use proptest::prelude::*;
use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<precinct_geo::roads::SearchScratch> = RefCell::default();
}
use std::ops::ControlFlow;

/// Every node's travel time to `destination` by the outward search, run to
/// the end. One scratch is reused by every search of the test thread (across
/// networks and destinations): leftovers of one search would show as
/// differences from the reference.
fn fast_times(
    network: &RoadNetwork,
    profile: Profile,
    destination: NodeId,
    closures: &Closures,
) -> Vec<Option<u32>> {
    let mut times = vec![None; network.node_count()];
    SCRATCH.with(|scratch| {
        network.search_towards_with(
            &mut scratch.borrow_mut(),
            profile,
            destination,
            closures,
            |reached| {
                times[reached.node as usize] = Some(reached.millis);
                ControlFlow::Continue(())
            },
        );
    });
    times
}

/// The `k` nearest of `units` (nodes) by the outward search, stopping early.
fn nearest(
    network: &RoadNetwork,
    profile: Profile,
    destination: NodeId,
    units: &[NodeId],
    k: usize,
) -> Vec<u32> {
    let mut found = Vec::new();
    network.search_towards(profile, destination, &Closures::default(), |reached| {
        for _ in units.iter().filter(|&&u| u == reached.node) {
            found.push(reached.millis);
        }
        if found.len() >= k {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found.truncate(k);
    found
}

fn assert_same_times(
    network: &RoadNetwork,
    profile: Profile,
    destination: NodeId,
    closures: &Closures,
) {
    assert_eq!(
        fast_times(network, profile, destination, closures),
        network.reference_times_to(profile, destination, closures),
        "{profile:?} times to node {destination}"
    );
}

const CLASSES: [RoadClass; 5] = [
    RoadClass::Primary,
    RoadClass::Residential,
    RoadClass::Service,
    RoadClass::Footway,
    RoadClass::Motorway,
];
const ONEWAYS: [Oneway; 3] = [Oneway::No, Oneway::Forward, Oneway::Backward];

fn random_network() -> impl Strategy<Value = (RoadNetwork, Vec<NodeId>, NodeId, Vec<u32>)> {
    (3usize..40).prop_flat_map(|nodes| {
        let positions = proptest::collection::vec((0.0..2000.0f64, 0.0..2000.0f64), nodes);
        let ways = proptest::collection::vec(
            (0..nodes, 0..nodes, 0..CLASSES.len(), 0..ONEWAYS.len()),
            1..nodes * 3,
        );
        let units = proptest::collection::vec(0..nodes as NodeId, 1..10);
        let closed = proptest::collection::vec(0u32..200, 0..5);
        (positions, ways, units, 0..nodes as NodeId, closed).prop_map(
            |(positions, ways, units, destination, closed)| {
                let origin = Coordinates::new(28.15, 113.0).unwrap();
                let at = |i: usize| origin.offset_m(positions[i].0, positions[i].1);
                let ways: Vec<RoadWay> = ways
                    .into_iter()
                    .map(|(a, b, class, oneway)| RoadWay {
                        nodes: vec![(a as i64, at(a)), (b as i64, at(b))],
                        class: CLASSES[class],
                        oneway: ONEWAYS[oneway],
                        access: Access::ALL,
                        name: None,
                        local_name: None,
                    })
                    .collect();
                let network = RoadNetwork::build(&ways);
                let count = network.node_count().max(1) as NodeId;
                (
                    network,
                    units.into_iter().map(|u| u % count).collect(),
                    destination % count,
                    closed,
                )
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn outward_search_equals_reference_dijkstra((network, units, destination, closed) in random_network()) {
        prop_assume!(network.node_count() > 0);
        let mut closures = Closures::default();
        for segment in closed {
            closures.close(segment);
        }
        for profile in Profile::ALL {
            let fast = fast_times(&network, profile, destination, &closures);
            let reference = network.reference_times_to(profile, destination, &closures);
            prop_assert_eq!(&fast, &reference);
            // Stopping early after k units still gives the k smallest times.
            let mut expected: Vec<u32> = units.iter().filter_map(|&u| reference[u as usize]).collect();
            expected.sort_unstable();
            let k = 3.min(expected.len());
            if closures == Closures::default() {
                prop_assert_eq!(nearest(&network, profile, destination, &units, k), expected[..k].to_vec());
            }
        }
    }
}

#[test]
fn generated_grid_equals_reference() {
    let origin = Coordinates::new(28.1385, 112.999).unwrap();
    let network = RoadNetwork::build(&grid_ways(origin, 33, 41, 100.0, 4, 5));
    assert_eq!(network.node_count(), 33 * 41);
    for destination in [0, 700, 33 * 41 - 1] {
        for profile in Profile::ALL {
            assert_same_times(&network, profile, destination, &Closures::default());
        }
    }
}

fn monaco() -> RoadNetwork {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/monaco.osm.pbf");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        panic!(
            "the Monaco extract is missing at {} ({e}); it ships in testdata/",
            path.display()
        )
    });
    let roads =
        precinct_osm::read_roads(std::io::BufReader::new(file), |_| {}).expect("Monaco imports");
    RoadNetwork::build(&roads.ways)
}

#[test]
fn monaco_imports_and_equals_reference() {
    let network = monaco();
    let driving = network.usable_node_count(Profile::Driving);
    assert!(
        (12_000..16_000).contains(&driving),
        "Monaco's driving graph has about 13,400 nodes, got {driving}"
    );
    assert!(
        network.usable_node_count(Profile::Walking) > driving,
        "more is walkable than drivable"
    );
    // Casino de Monte-Carlo, and a point in the harbour (snaps to the quay).
    let casino = Coordinates::new(43.7396, 7.4276).unwrap();
    let snap = network.snap(Profile::Driving, casino).expect("snaps");
    assert!(
        snap.distance_m < 100.0,
        "snapped {} m away",
        snap.distance_m
    );
    for profile in Profile::ALL {
        let destination = network.snap(profile, casino).unwrap().node;
        assert_same_times(&network, profile, destination, &Closures::default());
        assert_eq!(
            table(&network, profile, destination),
            network.reference_times_to(profile, destination, &Closures::default()),
            "the hierarchy's table on Monaco, {profile:?}"
        );
    }
}

/// The hierarchy's all-to-one table as `Option`s, for comparison.
fn table(network: &RoadNetwork, profile: Profile, destination: NodeId) -> Vec<Option<u32>> {
    let hierarchy = precinct_geo::hierarchy::Hierarchy::build(network, profile);
    let mut scratch = precinct_geo::hierarchy::TableScratch::default();
    hierarchy
        .times_to(destination, &mut scratch)
        .iter()
        .map(|&m| (m != u32::MAX).then_some(m))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hierarchy_table_equals_reference_dijkstra((network, _units, destination, _closed) in random_network()) {
        prop_assume!(network.node_count() > 0);
        for profile in Profile::ALL {
            prop_assert_eq!(table(&network, profile, destination), network.reference_times_to(profile, destination, &Closures::default()));
        }
    }
}

#[test]
fn hierarchy_table_on_the_grid_equals_reference() {
    let origin = Coordinates::new(28.1385, 112.999).unwrap();
    let network = RoadNetwork::build(&grid_ways(origin, 20, 25, 100.0, 4, 5));
    for destination in [0, 137, 499] {
        assert_eq!(
            table(&network, Profile::Driving, destination),
            network.reference_times_to(Profile::Driving, destination, &Closures::default())
        );
    }
}
