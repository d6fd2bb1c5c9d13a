//! The base map's vector tiles, built in memory from the station's road
//! network and its extract's water, parks and buildings, so the console
//! draws a city offline with no tile server: Mapbox Vector Tiles (the `mvt`
//! crate encodes them) in Web Mercator, zooms 10 to 16 (MapLibre draws
//! deeper zooms from 16's). Layers: `roads` (`class`, `name`), `water`,
//! `waterways` (`name`), `parks` (`name`) and `buildings`, each from the
//! zoom it starts to matter at.

use mvt::{GeomEncoder, GeomType, Tile};
use pointy::BBox;
use precinct_geo::Coordinates;
use precinct_geo::roads::{AreaKind, MapArea, RoadClass, RoadWay};
use std::collections::HashMap;

/// The zooms tiles are built for.
pub const MIN_ZOOM: u8 = 10;
pub const MAX_ZOOM: u8 = 16;
/// Tile coordinates run 0..EXTENT; features are kept a little past the edge.
const EXTENT: u32 = 4096;
const BUFFER: f64 = 64.0;
/// Points closer than this (tile units) to the last kept one are dropped.
const MIN_STEP: f64 = 2.0;

/// The layers, in drawing order.
const LAYERS: [&str; 5] = ["water", "waterways", "parks", "buildings", "roads"];

/// The zoom a road class appears at.
fn road_zoom(class: RoadClass) -> u8 {
    match class.as_str() {
        "motorway" | "trunk" | "primary" => 10,
        "secondary" | "tertiary" => 12,
        "footway" | "path" | "cycleway" | "steps" | "pedestrian" | "track" => 15,
        _ => 14,
    }
}

/// One thing to draw: its layer, kind of geometry, points in the unit
/// square of Web Mercator, their box, and its tags.
struct Shape {
    layer: usize,
    geom: GeomType,
    points: Vec<(f64, f64)>,
    min: (f64, f64),
    max: (f64, f64),
    zoom: u8,
    class: Option<&'static str>,
    name: Option<String>,
}

/// A point in Web Mercator's unit square (x east, y south).
fn project(c: Coordinates) -> (f64, f64) {
    let lat = c.lat().clamp(-85.051_128, 85.051_128).to_radians();
    let x = (c.lon() + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y)
}

fn shape(
    layer: usize,
    geom: GeomType,
    points: &[Coordinates],
    zoom: u8,
    tags: (Option<&'static str>, Option<String>),
) -> Option<Shape> {
    let points: Vec<(f64, f64)> = points.iter().copied().map(project).collect();
    let first = *points.first()?;
    let (min, max) = points.iter().fold((first, first), |(lo, hi), &(x, y)| {
        ((lo.0.min(x), lo.1.min(y)), (hi.0.max(x), hi.1.max(y)))
    });
    Some(Shape {
        layer,
        geom,
        points,
        min,
        max,
        zoom,
        class: tags.0,
        name: tags.1,
    })
}

/// The base map's tiles, encoded, by (zoom, x, y).
#[derive(Debug, Default)]
pub struct TileSet {
    tiles: HashMap<(u8, u32, u32), Vec<u8>>,
    /// West, south, east, north of everything drawn.
    pub bounds: Option<[f64; 4]>,
}

impl TileSet {
    /// Builds every tile of zooms 10–16 that has something on it.
    pub fn build(ways: &[RoadWay], areas: &[MapArea]) -> TileSet {
        let mut shapes = Vec::with_capacity(ways.len() + areas.len());
        for way in ways {
            let points: Vec<Coordinates> = way.nodes.iter().map(|(_, c)| *c).collect();
            shapes.extend(shape(
                4,
                GeomType::Linestring,
                &points,
                road_zoom(way.class),
                (Some(way.class.as_str()), way.name.clone()),
            ));
        }
        for area in areas {
            let (layer, geom, zoom) = match area.kind {
                AreaKind::Water => (0, GeomType::Polygon, 10),
                AreaKind::Waterway => (1, GeomType::Linestring, 12),
                AreaKind::Park => (2, GeomType::Polygon, 12),
                AreaKind::Building => (3, GeomType::Polygon, 15),
            };
            shapes.extend(shape(
                layer,
                geom,
                &area.points,
                zoom,
                (None, area.name.clone()),
            ));
        }
        let mut set = TileSet::default();
        if let Some(first) = shapes.first() {
            let (mut lo, mut hi) = (first.min, first.max);
            for s in &shapes {
                lo = (lo.0.min(s.min.0), lo.1.min(s.min.1));
                hi = (hi.0.max(s.max.0), hi.1.max(s.max.1));
            }
            let lon = |x: f64| x * 360.0 - 180.0;
            let lat = |y: f64| {
                (std::f64::consts::PI * (1.0 - 2.0 * y))
                    .sinh()
                    .atan()
                    .to_degrees()
            };
            set.bounds = Some([lon(lo.0), lat(hi.1), lon(hi.0), lat(lo.1)]);
        }
        for z in MIN_ZOOM..=MAX_ZOOM {
            let n = f64::from(1u32 << z);
            let pad = BUFFER / f64::from(EXTENT);
            let last = (1u32 << z) - 1;
            let mut on: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
            for (k, s) in shapes.iter().enumerate() {
                if s.zoom > z {
                    continue;
                }
                let tile = |v: f64| ((v * n - pad).floor().max(0.0) as u32).min(last);
                let tile_hi = |v: f64| ((v * n + pad).floor().max(0.0) as u32).min(last);
                for x in tile(s.min.0)..=tile_hi(s.max.0) {
                    for y in tile(s.min.1)..=tile_hi(s.max.1) {
                        on.entry((x, y)).or_default().push(k as u32);
                    }
                }
            }
            for ((x, y), members) in on {
                if let Some(bytes) = encode(&shapes, &members, z, x, y) {
                    set.tiles.insert((z, x, y), bytes);
                }
            }
        }
        set
    }

    /// A tile's bytes, if it has anything on it.
    pub fn get(&self, z: u8, x: u32, y: u32) -> Option<&[u8]> {
        self.tiles.get(&(z, x, y)).map(Vec::as_slice)
    }

    /// How many tiles, and their bytes in all.
    pub fn size(&self) -> (usize, usize) {
        (self.tiles.len(), self.tiles.values().map(Vec::len).sum())
    }
}

/// One tile's layers, or None when nothing on it draws.
fn encode(shapes: &[Shape], members: &[u32], z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
    let n = f64::from(1u32 << z);
    let extent = f64::from(EXTENT);
    let clip = BBox::new([(-BUFFER, -BUFFER), (extent + BUFFER, extent + BUFFER)]);
    let mut tile = Tile::new(EXTENT);
    for (index, name) in LAYERS.iter().enumerate() {
        let mut layer = tile.create_layer(name);
        for &k in members {
            let s = &shapes[k as usize];
            if s.layer != index {
                continue;
            }
            // Into tile units, dropping points too close to draw apart.
            let mut points: Vec<(f64, f64)> = Vec::with_capacity(s.points.len());
            for &(px, py) in &s.points {
                let p = (
                    (px * n - f64::from(x)) * extent,
                    (py * n - f64::from(y)) * extent,
                );
                match points.last() {
                    Some(&(lx, ly)) if (lx - p.0).abs() + (ly - p.1).abs() < MIN_STEP => {}
                    _ => points.push(p),
                }
            }
            if s.geom == GeomType::Polygon {
                // A ring without its closing point, its area positive in
                // tile units (y down) as the format's exterior rings are.
                if points.len() > 1 && points.first() == points.last() {
                    points.pop();
                }
                if points.len() < 3 {
                    continue;
                }
                let doubled: f64 = points
                    .iter()
                    .zip(points.iter().cycle().skip(1))
                    .map(|(a, b)| a.0 * b.1 - b.0 * a.1)
                    .sum();
                if doubled < 0.0 {
                    points.reverse();
                }
            } else if points.len() < 2 {
                continue;
            }
            let mut encoder = GeomEncoder::new(s.geom).bbox(clip);
            if points
                .iter()
                .try_for_each(|&(px, py)| encoder.add_point(px, py))
                .is_err()
            {
                continue;
            }
            let Ok(data) = encoder.encode() else { continue };
            if data.is_empty() {
                continue;
            }
            let mut feature = layer.into_feature(data);
            if let Some(class) = s.class {
                feature.add_tag_string("class", class);
            }
            if let Some(name) = &s.name {
                feature.add_tag_string("name", name);
            }
            layer = feature.into_layer();
        }
        if layer.num_features() > 0 {
            tile.add_layer(layer).ok()?;
        }
    }
    if tile.num_layers() == 0 {
        return None;
    }
    tile.to_bytes().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use precinct_geo::roads::{Access, Oneway};

    fn origin() -> Coordinates {
        Coordinates::new(43.7384, 7.4246).unwrap()
    }

    /// The tile holding a point at zoom z.
    fn tile_of(c: Coordinates, z: u8) -> (u32, u32) {
        let (x, y) = project(c);
        let n = f64::from(1u32 << z);
        ((x * n) as u32, (y * n) as u32)
    }

    #[test]
    fn roads_water_and_buildings_are_on_their_tiles_from_their_zooms() {
        let street = RoadWay {
            nodes: vec![(1, origin()), (2, origin().offset_m(300.0, 0.0))],
            class: RoadClass::Residential,
            oneway: Oneway::No,
            access: Access::ALL,
            name: Some("Rue Grimaldi".into()),
            local_name: None,
        };
        let square = |e: f64, n: f64, size: f64| {
            let a = origin().offset_m(e, n);
            vec![
                a,
                a.offset_m(size, 0.0),
                a.offset_m(size, size),
                a.offset_m(0.0, size),
                a,
            ]
        };
        let areas = vec![
            MapArea {
                kind: AreaKind::Water,
                points: square(-500.0, -500.0, 200.0),
                name: Some("Port".into()),
            },
            MapArea {
                kind: AreaKind::Building,
                points: square(50.0, 20.0, 20.0),
                name: None,
            },
        ];
        let set = TileSet::build(&[street], &areas);
        let (count, bytes) = set.size();
        assert!(count > 0 && bytes > 0);
        let bounds = set.bounds.unwrap();
        assert!(bounds[0] < 7.4246 && bounds[2] > 7.4246, "{bounds:?}");
        let (x, y) = tile_of(origin(), 16);
        let tile = set.get(16, x, y).expect("the street's tile at zoom 16");
        let text = String::from_utf8_lossy(tile);
        for layer in ["roads", "buildings", "Rue Grimaldi", "residential"] {
            assert!(text.contains(layer), "{layer} in the tile");
        }
        // A residential street is not drawn at zoom 10; the water is.
        let (x, y) = tile_of(origin(), 10);
        let low = String::from_utf8_lossy(set.get(10, x, y).expect("the water at zoom 10"));
        assert!(low.contains("water") && !low.contains("Rue Grimaldi"));
        assert!(set.get(16, 0, 0).is_none(), "nothing far away");
        assert!(TileSet::build(&[], &[]).size().0 == 0);
    }
}
