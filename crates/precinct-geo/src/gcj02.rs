//! WGS84 ⇄ GCJ-02 conversion.
//!
//! GCJ-02 is WGS84 shifted by a published, deterministic polynomial (the
//! "Krasovsky 1940" formula every Chinese map SDK uses). The forward direction
//! is exact by definition; the inverse has no closed form, so it is solved by
//! fixed-point iteration to well under a centimetre. Outside mainland China the
//! datums coincide.

use crate::Coordinates;
use std::f64::consts::PI;

const SEMI_MAJOR_AXIS: f64 = 6_378_245.0;
const ECCENTRICITY_SQUARED: f64 = 0.006_693_421_622_965_943;

fn outside_china(c: Coordinates) -> bool {
    !(72.004..=137.8347).contains(&c.lon()) || !(0.8293..=55.8271).contains(&c.lat())
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 offset (d_lat, d_lon) in degrees at a WGS84 point.
fn offset(c: Coordinates) -> (f64, f64) {
    let (x, y) = (c.lon() - 105.0, c.lat() - 35.0);
    let rad_lat = c.lat() / 180.0 * PI;
    let magic = 1.0 - ECCENTRICITY_SQUARED * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat = (transform_lat(x, y) * 180.0)
        / ((SEMI_MAJOR_AXIS * (1.0 - ECCENTRICITY_SQUARED)) / (magic * sqrt_magic) * PI);
    let d_lon = (transform_lon(x, y) * 180.0) / (SEMI_MAJOR_AXIS / sqrt_magic * rad_lat.cos() * PI);
    (d_lat, d_lon)
}

fn clamped(lat: f64, lon: f64) -> Coordinates {
    // The offset is a few hundred metres at most, so a valid input stays valid
    // except at the poles and antimeridian, which are outside China anyway.
    Coordinates::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0))
        .expect("clamped finite coordinates are valid")
}

/// Converts a WGS84 point to GCJ-02 (what a Chinese map app would show).
pub fn wgs84_to_gcj02(wgs: Coordinates) -> Coordinates {
    if outside_china(wgs) {
        return wgs;
    }
    let (d_lat, d_lon) = offset(wgs);
    clamped(wgs.lat() + d_lat, wgs.lon() + d_lon)
}

/// Converts a GCJ-02 point back to WGS84, iterating until the forward
/// transform of the answer lands within ~1e-9 degrees of the input.
pub fn gcj02_to_wgs84(gcj: Coordinates) -> Coordinates {
    if outside_china(gcj) {
        return gcj;
    }
    let mut guess = gcj;
    for _ in 0..30 {
        let forward = wgs84_to_gcj02(guess);
        let (e_lat, e_lon) = (forward.lat() - gcj.lat(), forward.lon() - gcj.lon());
        if e_lat.abs() < 1e-9 && e_lon.abs() < 1e-9 {
            break;
        }
        guess = clamped(guess.lat() - e_lat, guess.lon() - e_lon);
    }
    guess
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_shift_in_changsha_is_a_few_hundred_metres() {
        let wgs = Coordinates::new(28.1550, 113.0150).unwrap();
        let gcj = wgs84_to_gcj02(wgs);
        let shift = wgs.distance_m(gcj);
        assert!((200.0..800.0).contains(&shift), "shift {shift} m");
    }

    #[test]
    fn inverse_round_trips_to_sub_centimetre() {
        for (lat, lon) in [(28.155, 113.015), (39.9087, 116.3975), (22.5431, 114.0579)] {
            let wgs = Coordinates::new(lat, lon).unwrap();
            let back = gcj02_to_wgs84(wgs84_to_gcj02(wgs));
            assert!(
                wgs.distance_m(back) < 0.01,
                "({lat},{lon}) off by {} m",
                wgs.distance_m(back)
            );
        }
    }

    #[test]
    fn identity_outside_china() {
        let monaco = Coordinates::new(43.73, 7.42).unwrap();
        assert_eq!(wgs84_to_gcj02(monaco), monaco);
        assert_eq!(gcj02_to_wgs84(monaco), monaco);
    }
}
