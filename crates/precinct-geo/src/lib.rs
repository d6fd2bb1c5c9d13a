//! Coordinates, datums (WGS84 and China's GCJ-02), distances and polygons.
//!
//! Everything here is pure arithmetic: no I/O, no allocation beyond polygon
//! rings. Inside Precinct every coordinate is WGS84; GCJ-02 exists only at the
//! edge, where Chinese map apps hand it to us, and is converted on the way in.

mod cell;
mod gcj02;
pub mod hierarchy;
mod polygon;
pub mod roads;

pub use cell::{MAX_CELLS_WITHIN_300_M, cell_key, cell_keys_within};
pub use gcj02::{gcj02_to_wgs84, wgs84_to_gcj02};
pub use polygon::{IndexedPolygon, Polygon};

use serde::{Deserialize, Serialize};

/// Mean Earth radius used for great-circle distances, in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Why a pair of numbers is not a usable coordinate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude {0} is outside -90..=90")]
    LatitudeOutOfRange(f64),
    #[error("longitude {0} is outside -180..=180")]
    LongitudeOutOfRange(f64),
    #[error("a coordinate is not a finite number")]
    NotFinite,
    #[error("a polygon needs at least three distinct points, got {0}")]
    DegeneratePolygon(usize),
}

/// The geodetic datum a coordinate was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// GPS, OpenStreetMap, and everything inside Precinct.
    #[default]
    Wgs84,
    /// The obfuscated datum ("Mars coordinates") of Chinese map apps (Gaode, Tencent).
    Gcj02,
}

impl Datum {
    pub fn parse(text: &str) -> Option<Datum> {
        match text.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" => Some(Datum::Wgs84),
            "gcj02" | "gcj-02" => Some(Datum::Gcj02),
            _ => None,
        }
    }
}

/// A WGS84 point. Constructed only through [`Coordinates::new`], so a value of
/// this type always has a finite latitude in -90..=90 and longitude in -180..=180.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

impl Coordinates {
    pub fn new(lat: f64, lon: f64) -> Result<Coordinates, GeoError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(GeoError::NotFinite);
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::LatitudeOutOfRange(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::LongitudeOutOfRange(lon));
        }
        Ok(Coordinates { lat, lon })
    }

    /// Parses a coordinate given in `datum` and returns it in WGS84.
    pub fn from_datum(lat: f64, lon: f64, datum: Datum) -> Result<Coordinates, GeoError> {
        let given = Coordinates::new(lat, lon)?;
        Ok(match datum {
            Datum::Wgs84 => given,
            Datum::Gcj02 => gcj02_to_wgs84(given),
        })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle (haversine) distance in metres.
    pub fn distance_m(self, other: Coordinates) -> f64 {
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_phi = phi2 - phi1;
        let d_lambda = (other.lon - self.lon).to_radians();
        let a =
            (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// The point `east_m` metres east and `north_m` metres north of this one,
    /// on a local flat approximation (good to centimetres over a district).
    pub fn offset_m(self, east_m: f64, north_m: f64) -> Coordinates {
        let lat = self.lat + (north_m / EARTH_RADIUS_M).to_degrees();
        let lon = self.lon + (east_m / (EARTH_RADIUS_M * self.lat.to_radians().cos())).to_degrees();
        Coordinates {
            lat: lat.clamp(-90.0, 90.0),
            lon: ((lon + 540.0) % 360.0) - 180.0,
        }
    }

    /// The (south-west, north-east) corners of a box that contains every
    /// point within `radius_m` of this one (a cheap prefilter for queries).
    /// Longitudes wrap: across the antimeridian the west corner's longitude
    /// is greater than the east one's.
    pub fn bounding_box_m(self, radius_m: f64) -> (Coordinates, Coordinates) {
        // A little slack so rounding never drops a point exactly on the radius.
        let r = radius_m * 1.01;
        (self.offset_m(-r, -r), self.offset_m(r, r))
    }

    /// Moves `metres` from this point straight towards `target`, stopping at it.
    pub fn step_towards(self, target: Coordinates, metres: f64) -> Coordinates {
        let total = self.distance_m(target);
        if total <= metres || total == 0.0 {
            return target;
        }
        let f = metres / total;
        Coordinates {
            lat: self.lat + (target.lat - self.lat) * f,
            lon: self.lon + (target.lon - self.lon) * f,
        }
    }
}

impl<'de> Deserialize<'de> for Coordinates {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            lat: f64,
            lon: f64,
        }
        let raw = Raw::deserialize(deserializer)?;
        Coordinates::new(raw.lat, raw.lon).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_non_finite() {
        let cases: &[(f64, f64, Option<GeoError>)] = &[
            (28.15, 113.02, None),
            (90.0, 180.0, None),
            (-90.0, -180.0, None),
            (90.0001, 0.0, Some(GeoError::LatitudeOutOfRange(90.0001))),
            (0.0, -180.5, Some(GeoError::LongitudeOutOfRange(-180.5))),
            (f64::NAN, 0.0, Some(GeoError::NotFinite)),
            (0.0, f64::INFINITY, Some(GeoError::NotFinite)),
        ];
        for (lat, lon, expected) in cases {
            assert_eq!(
                Coordinates::new(*lat, *lon).err(),
                *expected,
                "({lat}, {lon})"
            );
        }
    }

    #[test]
    fn haversine_matches_known_distance() {
        // One degree of latitude is about 111.2 km everywhere.
        let a = Coordinates::new(28.0, 113.0).unwrap();
        let b = Coordinates::new(29.0, 113.0).unwrap();
        let d = a.distance_m(b);
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
    }

    #[test]
    fn offset_round_trips_through_distance() {
        let origin = Coordinates::new(28.15, 113.02).unwrap();
        let moved = origin.offset_m(300.0, 400.0);
        assert!((origin.distance_m(moved) - 500.0).abs() < 0.5);
    }

    #[test]
    fn bounding_box_contains_the_radius() {
        let c = Coordinates::new(28.15, 113.02).unwrap();
        let (sw, ne) = c.bounding_box_m(300.0);
        for (east, north) in [
            (300.0, 0.0),
            (-300.0, 0.0),
            (0.0, 300.0),
            (0.0, -300.0),
            (212.0, 212.0),
        ] {
            let p = c.offset_m(east, north);
            assert!(
                (sw.lat()..=ne.lat()).contains(&p.lat())
                    && (sw.lon()..=ne.lon()).contains(&p.lon()),
                "{east},{north}"
            );
        }
    }

    #[test]
    fn step_towards_stops_at_target() {
        let a = Coordinates::new(28.15, 113.02).unwrap();
        let b = a.offset_m(100.0, 0.0);
        assert_eq!(a.step_towards(b, 500.0), b);
        let half = a.step_towards(b, 50.0);
        assert!((a.distance_m(half) - 50.0).abs() < 0.1);
    }
}
