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

/// Most cells a 300 m search can touch up to 85° of latitude (tested): three
/// rows of three, or of four where the search crosses the antimeridian (the
/// columns do not line up there). Only nearer the poles does the box, wide
/// in degrees of longitude there, cover more.
pub const MAX_CELLS_WITHIN_300_M: usize = 12;

/// The cell a point lies in.
pub fn cell_key(c: Coordinates) -> i64 {
    let row = row_of(c.lat());
    key(row, (c.lon() / column_width(row)).floor() as i64)
}

/// Every cell that holds a point within `radius_m` of `c`. Never empty: at
/// least the cell of `c` itself.
pub fn cell_keys_within(c: Coordinates, radius_m: f64) -> Vec<i64> {
    let (south_west, north_east) = c.bounding_box_m(radius_m);
    let mut keys = Vec::new();
    for row in row_of(south_west.lat())..=row_of(north_east.lat()) {
        let width = column_width(row);
        let column = |lon: f64| (lon / width).floor() as i64;
        let mut span = |west: f64, east: f64| {
            keys.extend((column(west)..=column(east)).map(|col| key(row, col)));
        };
        if south_west.lon() <= north_east.lon() {
            span(south_west.lon(), north_east.lon());
        } else {
            // Longitudes wrap: the box crosses the antimeridian.
            span(south_west.lon(), 180.0);
            span(-180.0, north_east.lon());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the latitude, every point within the radius is in one of the
    /// cells listed, and the list stays small; across the antimeridian too.
    #[test]
    fn neighbours_cover_the_radius() {
        let places = [-85.0, -60.0, -10.0, 0.0, 28.15, 43.73, 59.9, 80.0]
            .into_iter()
            .flat_map(|lat| [(lat, 113.02), (lat, 179.9995), (lat, -179.9995), (lat, 0.0)]);
        for (lat, lon) in places {
            let c = Coordinates::new(lat, lon).unwrap();
            let keys = cell_keys_within(c, 300.0);
            assert!(
                (1..=MAX_CELLS_WITHIN_300_M).contains(&keys.len()),
                "{lat},{lon}: {} cells",
                keys.len()
            );
            assert!(keys.contains(&cell_key(c)), "{lat},{lon}: own cell missed");
            for step in 0..36 {
                let angle = f64::from(step) * 10f64.to_radians();
                let p = c.offset_m(299.0 * angle.cos(), 299.0 * angle.sin());
                assert!(
                    keys.contains(&cell_key(p)),
                    "{lat},{lon}: point at {step}0° missed"
                );
            }
        }
    }
}
