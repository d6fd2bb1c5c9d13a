//! Areas (one or more rings: outer boundaries and holes) and the few
//! predicates the ground needs: point-in-area, area, self-intersection, and
//! how much of one area lies inside another.
//!
//! The ground of a station is a few thousand polygons at most, so linear
//! scans with an even-odd ray cast are all it needs; pulling in the `geo`
//! crate for these would add minutes of compile time on our 2-core machines.

use crate::{Coordinates, GeoError};
use serde::{Deserialize, Serialize};
use std::ops::Add;

/// An area: closed rings of WGS84 points (the last point joins back to the
/// first). Rings are read by the even-odd rule, so a hole is a ring inside
/// an outer one and a multi-part area is several outer rings: exactly how
/// GeoJSON Polygons, MultiPolygons and Shapefile polygons are drawn.
///
/// Serialized as one ring (`[[lat, lon]…]`-shaped points) when it has one,
/// else as a list of rings, so grounds stored before holes existed read as
/// they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Rings", into = "Rings")]
pub struct Polygon {
    rings: Vec<Vec<Coordinates>>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Rings {
    One(Vec<Coordinates>),
    Many(Vec<Vec<Coordinates>>),
}

impl TryFrom<Rings> for Polygon {
    type Error = GeoError;
    fn try_from(rings: Rings) -> Result<Self, GeoError> {
        match rings {
            Rings::One(ring) => Polygon::try_from(ring),
            Rings::Many(rings) => Polygon::from_rings(rings),
        }
    }
}

impl From<Polygon> for Rings {
    fn from(mut p: Polygon) -> Self {
        if p.rings.len() == 1 {
            Rings::One(p.rings.pop().expect("one ring"))
        } else {
            Rings::Many(p.rings)
        }
    }
}

impl TryFrom<Vec<Coordinates>> for Polygon {
    type Error = GeoError;
    fn try_from(ring: Vec<Coordinates>) -> Result<Self, GeoError> {
        Polygon::from_rings(vec![ring])
    }
}

fn close_ring(mut ring: Vec<Coordinates>) -> Result<Vec<Coordinates>, GeoError> {
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return Err(GeoError::DegeneratePolygon(ring.len()));
    }
    Ok(ring)
}

/// Twice the signed area of a ring in degrees² (positive when counter-clockwise).
fn signed_area2(ring: &[Coordinates]) -> f64 {
    let mut sum = 0.0;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        sum += (ring[j].lon() - ring[i].lon()) * (ring[j].lat() + ring[i].lat());
        j = i;
    }
    -sum
}

/// True when segments p1-p2 and q1-q2 cross at a point inside both (not at
/// an end, not along a shared line).
fn segments_cross(p1: Coordinates, p2: Coordinates, q1: Coordinates, q2: Coordinates) -> bool {
    let orient = |a: Coordinates, b: Coordinates, c: Coordinates| {
        (b.lon() - a.lon()) * (c.lat() - a.lat()) - (b.lat() - a.lat()) * (c.lon() - a.lon())
    };
    let (d1, d2) = (orient(q1, q2, p1), orient(q1, q2, p2));
    let (d3, d4) = (orient(p1, p2, q1), orient(p1, p2, q2));
    ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
}

/// Parallels [`Polygon::share_inside`] measures along.
const SCANLINES: usize = 256;

impl Polygon {
    /// An area from rings (each at least three distinct points).
    pub fn from_rings(rings: Vec<Vec<Coordinates>>) -> Result<Polygon, GeoError> {
        if rings.is_empty() {
            return Err(GeoError::DegeneratePolygon(0));
        }
        let rings = rings
            .into_iter()
            .map(close_ring)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Polygon { rings })
    }

    /// An axis-aligned rectangle between two corners.
    pub fn rectangle(south_west: Coordinates, north_east: Coordinates) -> Polygon {
        let corner =
            |lat, lon| Coordinates::new(lat, lon).expect("corners of valid points are valid");
        Polygon {
            rings: vec![vec![
                south_west,
                corner(south_west.lat(), north_east.lon()),
                north_east,
                corner(north_east.lat(), south_west.lon()),
            ]],
        }
    }

    /// The rings, each without its closing point.
    pub fn rings(&self) -> &[Vec<Coordinates>] {
        &self.rings
    }

    /// Even-odd rule over every ring. Points exactly on an edge may fall
    /// either side, which is why neighbouring areas are resolved in a fixed
    /// order by the caller.
    pub fn contains(&self, p: Coordinates) -> bool {
        let (x, y) = (p.lon(), p.lat());
        let mut inside = false;
        for ring in &self.rings {
            let mut j = ring.len() - 1;
            for i in 0..ring.len() {
                let (xi, yi) = (ring[i].lon(), ring[i].lat());
                let (xj, yj) = (ring[j].lon(), ring[j].lat());
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
                j = i;
            }
        }
        inside
    }

    /// The vertex average of the largest ring; inside for the convex shapes
    /// generated grounds use.
    pub fn centroid(&self) -> Coordinates {
        let ring = self
            .rings
            .iter()
            .max_by(|a, b| signed_area2(a).abs().total_cmp(&signed_area2(b).abs()))
            .expect("at least one ring");
        let n = ring.len() as f64;
        let lat = ring.iter().map(|c| c.lat()).sum::<f64>() / n;
        let lon = ring.iter().map(|c| c.lon()).sum::<f64>() / n;
        Coordinates::new(lat, lon).expect("mean of valid points is valid")
    }

    /// (south-west, north-east) corners of the bounding box.
    pub fn bounds(&self) -> (Coordinates, Coordinates) {
        let points = self.rings.iter().flatten();
        let (mut s, mut w, mut n, mut e) = (90.0f64, 180.0f64, -90.0f64, -180.0f64);
        for p in points {
            s = s.min(p.lat());
            n = n.max(p.lat());
            w = w.min(p.lon());
            e = e.max(p.lon());
        }
        let corner = |lat, lon| Coordinates::new(lat, lon).expect("bounds of valid points");
        (corner(s, w), corner(n, e))
    }

    fn bounds_overlap(&self, other: &Polygon) -> bool {
        let ((s1, n1), (s2, n2)) = (self.bounds(), other.bounds());
        s1.lat() <= n2.lat() && s2.lat() <= n1.lat() && s1.lon() <= n2.lon() && s2.lon() <= n1.lon()
    }

    /// Area in square metres (rings by the even-odd rule: holes subtract),
    /// on a local equirectangular projection, which is exact enough for a
    /// station's ground.
    pub fn area_m2(&self) -> f64 {
        let (sw, ne) = self.bounds();
        let mid_lat = (sw.lat() + ne.lat()) / 2.0;
        let metres_per_degree = 111_320.0;
        let scale = metres_per_degree * metres_per_degree * mid_lat.to_radians().cos();
        // With even-odd rings, a hole's area subtracts from its outer ring's
        // whichever way either is wound.
        let mut total = 0.0;
        for (i, ring) in self.rings.iter().enumerate() {
            let area = signed_area2(ring).abs() / 2.0;
            // A ring inside an odd number of other rings is a hole.
            let probe = ring[0];
            let depth = self
                .rings
                .iter()
                .enumerate()
                .filter(|&(j, other)| {
                    j != i
                        && (Polygon {
                            rings: vec![other.clone()],
                        })
                        .contains(probe)
                })
                .count();
            total += if depth % 2 == 1 { -area } else { area };
        }
        total.abs() * scale
    }

    /// The first place where two edges of the area cross (a ring crossing
    /// itself or another ring), if any. The edges' boxes go into an R-tree,
    /// so only edges whose boxes meet are compared: near-linear for the
    /// shapes real boundaries have, where the pairwise scan took 46 s over
    /// one ring of 200,000 points.
    pub fn self_intersection(&self) -> Option<Coordinates> {
        let edges: Vec<Edge> = self
            .rings
            .iter()
            .flat_map(|ring| (0..ring.len()).map(move |i| (ring[i], ring[(i + 1) % ring.len()])))
            .enumerate()
            .map(|(index, (a, b))| Edge { index, a, b })
            .collect();
        let tree = rstar::RTree::bulk_load(edges.clone());
        for edge in &edges {
            let crossing = tree
                .locate_in_envelope_intersecting(&rstar::RTreeObject::envelope(edge))
                .filter(|other| other.index > edge.index)
                .find(|other| segments_cross(edge.a, edge.b, other.a, other.b));
            if crossing.is_some() {
                return Some(edge.a);
            }
        }
        None
    }

    /// The crossings of the area's edges with `lines` parallels, the first
    /// at `first` and each `step` degrees north of the one before: per
    /// parallel, the longitudes where an edge crosses it, sorted. One pass
    /// over the edges, each visiting only the parallels it spans.
    fn crossings(&self, first: f64, step: f64, lines: usize) -> Vec<Vec<f64>> {
        let mut crossings = vec![Vec::new(); lines];
        if step <= 0.0 || lines == 0 {
            return crossings;
        }
        for ring in &self.rings {
            let mut j = ring.len() - 1;
            for i in 0..ring.len() {
                let (xi, yi) = (ring[i].lon(), ring[i].lat());
                let (xj, yj) = (ring[j].lon(), ring[j].lat());
                j = i;
                let (low, high) = (yi.min(yj), yi.max(yj));
                // Parallels k with low <= lat_k < high, as the ray cast
                // counts; one more each side, as rounding may shift the
                // ends, and the exact test below decides.
                let from = ((low - first) / step).floor().max(0.0);
                let to = ((high - first) / step).ceil().add(1.0).min(lines as f64);
                if from >= to {
                    continue;
                }
                let (from, to) = (from as usize, to as usize);
                for (k, line) in crossings[from..to].iter_mut().enumerate() {
                    let lat = first + (from + k) as f64 * step;
                    if (yi > lat) != (yj > lat) {
                        line.push((xj - xi) * (lat - yi) / (yj - yi) + xi);
                    }
                }
            }
        }
        for line in &mut crossings {
            line.sort_by(f64::total_cmp);
        }
        crossings
    }

    /// The share (0..=1) of this area that lies inside `other`, measured
    /// exactly along 256 parallels across this area: what checks of "more
    /// than 5% outside" or "overlapping" need, in linear time.
    pub fn share_inside(&self, other: &Polygon) -> f64 {
        if !self.bounds_overlap(other) {
            return 0.0;
        }
        let (sw, ne) = self.bounds();
        let step = (ne.lat() - sw.lat()) / SCANLINES as f64;
        let first = sw.lat() + 0.5 * step;
        let (mine, theirs) = (
            self.crossings(first, step, SCANLINES),
            other.crossings(first, step, SCANLINES),
        );
        let (mut inside, mut shared) = (0.0, 0.0);
        for (a, b) in mine.iter().zip(&theirs) {
            // Even-odd: consecutive pairs of crossings bound the inside.
            let a: Vec<(f64, f64)> = a.chunks_exact(2).map(|c| (c[0], c[1])).collect();
            let b: Vec<(f64, f64)> = b.chunks_exact(2).map(|c| (c[0], c[1])).collect();
            inside += a.iter().map(|(w, e)| e - w).sum::<f64>();
            // Both lists are sorted and disjoint: walk them together.
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                let (west, east) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
                if east > west {
                    shared += east - west;
                }
                if a[i].1 < b[j].1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
        }
        if inside == 0.0 { 0.0 } else { shared / inside }
    }
}

/// An area prepared for many point-in-area questions: its box, and its
/// edges sorted into bands of latitude, so a question reads only the edges
/// of its band (a ground of a few large polygons asked about thousands of
/// points stays linear).
#[derive(Debug, Clone)]
pub struct IndexedPolygon {
    south: f64,
    north: f64,
    west: f64,
    east: f64,
    band_height: f64,
    /// Per band, the edges (x1, y1, x2, y2) whose latitudes meet it.
    bands: Vec<Vec<[f64; 4]>>,
}

impl IndexedPolygon {
    pub fn new(area: &Polygon) -> IndexedPolygon {
        let (sw, ne) = area.bounds();
        let edges: usize = area.rings.iter().map(Vec::len).sum();
        let count = (edges as f64).sqrt().ceil().clamp(1.0, 4096.0) as usize;
        let band_height = ((ne.lat() - sw.lat()) / count as f64).max(f64::MIN_POSITIVE);
        let mut bands = vec![Vec::new(); count];
        for ring in &area.rings {
            let mut j = ring.len() - 1;
            for i in 0..ring.len() {
                let (a, b) = (ring[i], ring[j]);
                j = i;
                let (low, high) = (a.lat().min(b.lat()), a.lat().max(b.lat()));
                let from =
                    (((low - sw.lat()) / band_height).floor().max(0.0) as usize).min(count - 1);
                let to =
                    (((high - sw.lat()) / band_height).floor().max(0.0) as usize).min(count - 1);
                for band in &mut bands[from..=to] {
                    band.push([a.lon(), a.lat(), b.lon(), b.lat()]);
                }
            }
        }
        IndexedPolygon {
            south: sw.lat(),
            north: ne.lat(),
            west: sw.lon(),
            east: ne.lon(),
            band_height,
            bands,
        }
    }

    /// As [`Polygon::contains`] (the same even-odd ray cast over the same
    /// edges), reading one band.
    pub fn contains(&self, p: Coordinates) -> bool {
        let (x, y) = (p.lon(), p.lat());
        if y < self.south || y > self.north || x < self.west || x > self.east {
            return false;
        }
        let band =
            (((y - self.south) / self.band_height).floor() as usize).min(self.bands.len() - 1);
        let mut inside = false;
        for &[xi, yi, xj, yj] in &self.bands[band] {
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside
    }
}

/// One edge of an area, in the R-tree [`Polygon::self_intersection`] uses.
#[derive(Debug, Clone, Copy)]
struct Edge {
    index: usize,
    a: Coordinates,
    b: Coordinates,
}

impl rstar::RTreeObject for Edge {
    type Envelope = rstar::AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        rstar::AABB::from_corners([self.a.lon(), self.a.lat()], [self.b.lon(), self.b.lat()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(lat: f64, lon: f64) -> Coordinates {
        Coordinates::new(lat, lon).unwrap()
    }

    #[test]
    fn contains_table() {
        // An L-shaped (concave) polygon.
        let l = Polygon::try_from(vec![
            c(0.0, 0.0),
            c(0.0, 2.0),
            c(1.0, 2.0),
            c(1.0, 1.0),
            c(2.0, 1.0),
            c(2.0, 0.0),
        ])
        .unwrap();
        let cases = [
            (c(0.5, 0.5), true),
            (c(0.5, 1.5), true),
            (c(1.5, 0.5), true),
            (c(1.5, 1.5), false),
            (c(-0.1, 0.5), false),
            (c(0.5, 2.1), false),
        ];
        for (p, expected) in cases {
            assert_eq!(l.contains(p), expected, "{p:?}");
        }
    }

    #[test]
    fn holes_and_parts() {
        let outer = vec![c(0.0, 0.0), c(0.0, 4.0), c(4.0, 4.0), c(4.0, 0.0)];
        let hole = vec![c(1.0, 1.0), c(1.0, 3.0), c(3.0, 3.0), c(3.0, 1.0)];
        let far = vec![c(10.0, 10.0), c(10.0, 11.0), c(11.0, 11.0), c(11.0, 10.0)];
        let area = Polygon::from_rings(vec![outer, hole, far]).unwrap();
        assert!(area.contains(c(0.5, 0.5)));
        assert!(!area.contains(c(2.0, 2.0)), "in the hole");
        assert!(area.contains(c(10.5, 10.5)), "in the second part");
        assert!(area.self_intersection().is_none());
        // 16 - 4 + 1 square degrees, in m², near the equator.
        let expected = 13.0 * 111_320.0 * 111_320.0 * (5.5f64).to_radians().cos();
        assert!((area.area_m2() / expected - 1.0).abs() < 1e-9);
        // The stored form reads back, and a one-ring area keeps the old form.
        let json = serde_json::to_string(&area).unwrap();
        assert_eq!(serde_json::from_str::<Polygon>(&json).unwrap(), area);
        let square = Polygon::rectangle(c(0.0, 0.0), c(1.0, 1.0));
        let json = serde_json::to_string(&square).unwrap();
        assert!(json.starts_with("[{"), "{json}");
        assert_eq!(serde_json::from_str::<Polygon>(&json).unwrap(), square);
    }

    #[test]
    fn a_bow_tie_crosses_itself() {
        let bow_tie =
            Polygon::try_from(vec![c(0.0, 0.0), c(1.0, 1.0), c(1.0, 0.0), c(0.0, 1.0)]).unwrap();
        assert!(bow_tie.self_intersection().is_some());
        let square = Polygon::rectangle(c(0.0, 0.0), c(1.0, 1.0));
        assert!(square.self_intersection().is_none());
    }

    #[test]
    fn share_inside_table() {
        let community = Polygon::rectangle(c(0.0, 0.0), c(1.0, 1.0));
        let cases = [
            (Polygon::rectangle(c(0.2, 0.2), c(0.8, 0.8)), 1.0),
            (Polygon::rectangle(c(0.0, 0.9), c(1.0, 1.1)), 0.5),
            (Polygon::rectangle(c(0.0, 0.5), c(1.0, 1.5)), 0.5),
            (Polygon::rectangle(c(2.0, 2.0), c(3.0, 3.0)), 0.0),
        ];
        for (cell, expected) in cases {
            let share = cell.share_inside(&community);
            assert!((share - expected).abs() < 1e-9, "{share} vs {expected}");
        }
    }

    /// A ring of `n` points around (0, 0), its radius in 50 smooth lobes
    /// so that it is concave in many places, as a real boundary is.
    fn star(n: usize) -> Polygon {
        let ring: Vec<Coordinates> = (0..n)
            .map(|i| {
                let angle = i as f64 / n as f64 * std::f64::consts::TAU;
                let radius = 0.01 * (1.0 + 0.1 * (angle * 50.0).sin());
                c(radius * angle.sin(), radius * angle.cos())
            })
            .collect();
        Polygon::try_from(ring).unwrap()
    }

    #[test]
    fn the_indexed_area_answers_as_the_area_does() {
        let area = Polygon::from_rings(vec![
            star(997).rings[0].clone(),
            star(31).rings[0]
                .iter()
                .map(|p| c(p.lat() * 0.3, p.lon() * 0.3))
                .collect(),
        ])
        .unwrap();
        let indexed = IndexedPolygon::new(&area);
        let mut inside = 0;
        for i in 0..200 {
            for j in 0..200 {
                let p = c(-0.014 + i as f64 * 0.00014, -0.014 + j as f64 * 0.00014);
                assert_eq!(indexed.contains(p), area.contains(p), "{p:?}");
                inside += usize::from(area.contains(p));
            }
        }
        assert!(inside > 10_000, "the probe covers the area: {inside}");
    }

    #[test]
    fn a_large_ring_is_checked_in_near_linear_time() {
        // Regression: 200,000 points took 46 s pairwise. Correctness here,
        // the time in the station check's test and bench.
        let big = star(200_000);
        assert!(big.self_intersection().is_none());
        let mut crossed = big.rings[0].clone();
        // A point pulled across the middle: its two edges cross the far side.
        crossed[1_000] = c(-crossed[1_000].lat(), -crossed[1_000].lon());
        let crossed = Polygon::try_from(crossed).unwrap();
        assert!(crossed.self_intersection().is_some());
        assert!((big.share_inside(&big) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_rings_are_rejected() {
        assert_eq!(
            Polygon::try_from(vec![c(0.0, 0.0), c(1.0, 1.0), c(0.0, 0.0)]),
            Err(GeoError::DegeneratePolygon(2))
        );
    }
}
