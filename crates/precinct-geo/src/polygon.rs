//! Areas (one or more rings: outer boundaries and holes) and the few
//! predicates the ground needs: point-in-area, area, self-intersection, and
//! how much of one area lies inside another.
//!
//! The ground of a station is a few thousand polygons at most, so linear
//! scans with an even-odd ray cast are all it needs; pulling in the `geo`
//! crate for these would add minutes of compile time on our 2-core machines.

use crate::{Coordinates, GeoError};
use serde::{Deserialize, Serialize};

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
    /// itself or another ring), if any.
    pub fn self_intersection(&self) -> Option<Coordinates> {
        let edges: Vec<(Coordinates, Coordinates)> = self
            .rings
            .iter()
            .flat_map(|ring| (0..ring.len()).map(move |i| (ring[i], ring[(i + 1) % ring.len()])))
            .collect();
        for (i, &(a1, a2)) in edges.iter().enumerate() {
            let (a_lo, a_hi) = (a1.lon().min(a2.lon()), a1.lon().max(a2.lon()));
            for &(b1, b2) in &edges[i + 1..] {
                if b1.lon().max(b2.lon()) < a_lo || b1.lon().min(b2.lon()) > a_hi {
                    continue;
                }
                if segments_cross(a1, a2, b1, b2) {
                    return Some(a1);
                }
            }
        }
        None
    }

    /// Where the horizontal line at `lat` is inside the area (even-odd), as
    /// sorted [west, east] longitude intervals.
    fn intervals_at(&self, lat: f64) -> Vec<(f64, f64)> {
        let mut crossings = Vec::new();
        for ring in &self.rings {
            let mut j = ring.len() - 1;
            for i in 0..ring.len() {
                let (xi, yi) = (ring[i].lon(), ring[i].lat());
                let (xj, yj) = (ring[j].lon(), ring[j].lat());
                if (yi > lat) != (yj > lat) {
                    crossings.push((xj - xi) * (lat - yi) / (yj - yi) + xi);
                }
                j = i;
            }
        }
        crossings.sort_by(f64::total_cmp);
        crossings.chunks_exact(2).map(|c| (c[0], c[1])).collect()
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
        let (mut mine, mut shared) = (0.0, 0.0);
        for line in 0..SCANLINES {
            let lat = sw.lat() + (line as f64 + 0.5) * step;
            let (a, b) = (self.intervals_at(lat), other.intervals_at(lat));
            mine += a.iter().map(|(w, e)| e - w).sum::<f64>();
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
        if mine == 0.0 { 0.0 } else { shared / mine }
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

    #[test]
    fn degenerate_rings_are_rejected() {
        assert_eq!(
            Polygon::try_from(vec![c(0.0, 0.0), c(1.0, 1.0), c(0.0, 0.0)]),
            Err(GeoError::DegeneratePolygon(2))
        );
    }
}
