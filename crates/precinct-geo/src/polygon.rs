//! Simple polygons (one outer ring) and point-in-polygon.
//!
//! The ground of a station is a few dozen polygons, so a linear scan with an
//! even-odd ray cast is all it needs; pulling in the `geo` crate for one
//! predicate would add minutes of compile time on our 2-core machines.

use crate::{Coordinates, GeoError};
use serde::{Deserialize, Serialize};

/// A closed ring of WGS84 points; the last point joins back to the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Coordinates>", into = "Vec<Coordinates>")]
pub struct Polygon {
    ring: Vec<Coordinates>,
}

impl TryFrom<Vec<Coordinates>> for Polygon {
    type Error = GeoError;
    fn try_from(mut ring: Vec<Coordinates>) -> Result<Self, GeoError> {
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.len() < 3 {
            return Err(GeoError::DegeneratePolygon(ring.len()));
        }
        Ok(Polygon { ring })
    }
}

impl From<Polygon> for Vec<Coordinates> {
    fn from(p: Polygon) -> Self {
        p.ring
    }
}

impl Polygon {
    /// An axis-aligned rectangle between two corners.
    pub fn rectangle(south_west: Coordinates, north_east: Coordinates) -> Polygon {
        let corner =
            |lat, lon| Coordinates::new(lat, lon).expect("corners of valid points are valid");
        Polygon {
            ring: vec![
                south_west,
                corner(south_west.lat(), north_east.lon()),
                north_east,
                corner(north_east.lat(), south_west.lon()),
            ],
        }
    }

    /// Even-odd rule. Points exactly on an edge may fall either side, which is
    /// why neighbouring areas are resolved in a fixed order by the caller.
    pub fn contains(&self, p: Coordinates) -> bool {
        let (x, y) = (p.lon(), p.lat());
        let mut inside = false;
        let mut j = self.ring.len() - 1;
        for i in 0..self.ring.len() {
            let (xi, yi) = (self.ring[i].lon(), self.ring[i].lat());
            let (xj, yj) = (self.ring[j].lon(), self.ring[j].lat());
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// The vertex average; inside for the convex shapes the ground uses.
    pub fn centroid(&self) -> Coordinates {
        let n = self.ring.len() as f64;
        let lat = self.ring.iter().map(|c| c.lat()).sum::<f64>() / n;
        let lon = self.ring.iter().map(|c| c.lon()).sum::<f64>() / n;
        Coordinates::new(lat, lon).expect("mean of valid points is valid")
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
    fn degenerate_rings_are_rejected() {
        assert_eq!(
            Polygon::try_from(vec![c(0.0, 0.0), c(1.0, 1.0), c(0.0, 0.0)]),
            Err(GeoError::DegeneratePolygon(2))
        );
    }
}
