//! A coarse spatial cell key, so a database index can find "points near here"
//! without a spatial extension: rows of `CELL_DEGREES` latitude, each cut into
//! columns about as wide as the row is tall at that latitude.

use crate::Coordinates;

/// Cell height in degrees of latitude (~333 m): a little over the 300 m
/// duplicate radius, so a radius search touches at most 3 × 3 cells.
const CELL_DEGREES: f64 = 0.003;

fn row_of(lat: f64) -> i64 {
    (lat / CELL_DEGREES).floor() as i64
}

/// Width in degrees of longitude of the cells in `row`.
fn column_width(row: i64) -> f64 {
    let centre_lat = (row as f64 + 0.5) * CELL_DEGREES;
    CELL_DEGREES / centre_lat.to_radians().cos().max(0.01)
}

fn key(row: i64, column: i64) -> i64 {
    (row << 32) ^ (column & 0xffff_ffff)
}

/// The cell a point lies in.
pub fn cell_key(c: Coordinates) -> i64 {
    let row = row_of(c.lat());
    key(row, (c.lon() / column_width(row)).floor() as i64)
}

/// Every cell that holds a point within `radius_m` of `c`.
pub fn cell_keys_within(c: Coordinates, radius_m: f64) -> Vec<i64> {
    let (south_west, north_east) = c.bounding_box_m(radius_m);
    let mut keys = Vec::new();
    for row in row_of(south_west.lat())..=row_of(north_east.lat()) {
        let width = column_width(row);
        let first = (south_west.lon() / width).floor() as i64;
        let last = (north_east.lon() / width).floor() as i64;
        keys.extend((first..=last).map(|column| key(row, column)));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the latitude, every point within the radius is in one of the
    /// cells listed, and the list stays small.
    #[test]
    fn neighbours_cover_the_radius() {
        for lat in [-60.0, -10.0, 0.0, 28.15, 43.73, 59.9] {
            let c = Coordinates::new(lat, 113.02).unwrap();
            let keys = cell_keys_within(c, 300.0);
            assert!(keys.len() <= 9, "{lat}: {} cells", keys.len());
            for step in 0..36 {
                let angle = f64::from(step) * 10f64.to_radians();
                let p = c.offset_m(299.0 * angle.cos(), 299.0 * angle.sin());
                assert!(
                    keys.contains(&cell_key(p)),
                    "{lat}: point at {step}0° missed"
                );
            }
        }
    }
}
