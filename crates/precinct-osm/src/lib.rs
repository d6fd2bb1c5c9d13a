//! Import of an OpenStreetMap PBF extract into road ways (`osmpbf` parses
//! the format). The caller opens the file: this crate only reads bytes, so
//! it can be tested on any reader. A crate of its own so that the build of
//! everything that uses coordinates and roads (`precinct-geo`) does not wait
//! on the protobuf parser.

use osmpbf::{BlobDecode, BlobReader, Element};
use precinct_geo::Coordinates;
use precinct_geo::roads::{Access, AreaKind, MapArea, Oneway, PointAddress, RoadClass, RoadWay};

pub mod tiles;
use std::collections::HashMap;
use std::io::{Read, Seek};

/// Why an extract could not be read, with where in it the problem is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OsmError {
    #[error("not an OSM PBF file: blob {blob} at byte {offset}: {detail}")]
    Corrupt {
        blob: usize,
        offset: String,
        detail: String,
    },
    #[error("the extract holds no roads (read {nodes} nodes and {ways} ways)")]
    NoRoads { nodes: usize, ways: usize },
}

/// How far an import has got, for progress display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsmProgress {
    pub blobs: usize,
    pub nodes: usize,
    pub ways: usize,
    pub road_ways: usize,
    /// House numbers and named places kept for address search.
    pub addresses: usize,
}

/// What an extract held.
#[derive(Debug, Clone, PartialEq)]
pub struct OsmRoads {
    pub ways: Vec<RoadWay>,
    /// House numbers and named places (points of interest).
    pub addresses: Vec<PointAddress>,
    /// Water, parks and buildings for the base map.
    pub areas: Vec<MapArea>,
    pub progress: OsmProgress,
    /// Way nodes the extract does not contain (ways cut at its border); the
    /// pieces on either side are kept.
    pub missing_nodes: usize,
}

/// A way's name as a Chinese console shows it (`name:zh`, then `name`),
/// and its local `name` when that differs.
fn street_name(tags: &HashMap<String, String>) -> (Option<String>, Option<String>) {
    let shown = ["name:zh", "name:zh-Hans", "name"]
        .iter()
        .filter_map(|k| tags.get(*k))
        .map(|n| n.trim())
        .find(|n| !n.is_empty())
        .map(str::to_owned);
    let local = tags
        .get("name")
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && Some(n) != shown.as_ref());
    (shown, local)
}

/// What a way draws on the base map besides roads, if anything.
fn area_kind<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Option<AreaKind> {
    let mut kind = None;
    for (k, v) in tags {
        let found = match (k, v) {
            ("natural", "water") | ("waterway", "riverbank") => Some(AreaKind::Water),
            ("landuse", "reservoir" | "basin") => Some(AreaKind::Water),
            ("waterway", "river" | "stream" | "canal") => Some(AreaKind::Waterway),
            ("leisure", "park" | "garden" | "pitch" | "playground" | "nature_reserve") => {
                Some(AreaKind::Park)
            }
            ("landuse", "grass" | "forest" | "recreation_ground" | "meadow" | "village_green") => {
                Some(AreaKind::Park)
            }
            ("natural", "wood" | "scrub" | "grassland") => Some(AreaKind::Park),
            ("building", v) if v != "no" => Some(AreaKind::Building),
            ("highway", _) => return None,
            _ => None,
        };
        // Water wins over a park, a park over a building.
        if let Some(found) = found
            && kind.is_none_or(|k: AreaKind| (found as u8) < (k as u8))
        {
            kind = Some(found);
        }
    }
    kind
}

/// The keys that make a named node or area a place a caller may name.
const POI_KEYS: [&str; 14] = [
    "amenity",
    "shop",
    "tourism",
    "office",
    "leisure",
    "healthcare",
    "historic",
    "craft",
    "building",
    "public_transport",
    "railway",
    "aeroway",
    "man_made",
    "landuse",
];

/// What an element's tags say of its address, if anything: (street,
/// house number, point-of-interest name).
fn address_of<'a>(
    tags: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let (mut street, mut number, mut name, mut name_zh, mut poi) = (None, None, None, None, false);
    for (k, v) in tags {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k {
            "addr:street" | "addr:place" if street.is_none() => street = Some(v),
            "addr:housenumber" => number = Some(v),
            "name" => name = Some(v),
            "name:zh" | "name:zh-Hans" => name_zh = Some(v),
            "highway" => return None,
            // A railway is a place where a train stops, not the line.
            "railway" => poi |= matches!(v, "station" | "halt" | "tram_stop"),
            _ if POI_KEYS.contains(&k) && v != "no" => poi = true,
            _ => {}
        }
    }
    let name = if poi { name_zh.or(name) } else { None };
    let number = number.filter(|_| street.is_some());
    if name.is_none() && number.is_none() {
        return None;
    }
    Some((
        street.filter(|_| number.is_some()).map(str::to_owned),
        number.map(str::to_owned),
        name.map(str::to_owned),
    ))
}

fn oneway(class: RoadClass, tags: &HashMap<String, String>) -> Oneway {
    match tags.get("oneway").map(String::as_str) {
        Some("yes" | "true" | "1") => Oneway::Forward,
        Some("-1" | "reverse") => Oneway::Backward,
        Some("no" | "false" | "0") => Oneway::No,
        _ if tags
            .get("junction")
            .is_some_and(|j| j == "roundabout" || j == "circular") =>
        {
            Oneway::Forward
        }
        _ if class == RoadClass::Motorway => Oneway::Forward,
        _ => Oneway::No,
    }
}

/// Who may use a way, from its access tags (the most specific tag wins).
fn access(tags: &HashMap<String, String>) -> Access {
    let denied = |key: &str| {
        tags.get(key)
            .map(|v| matches!(v.as_str(), "no" | "private" | "agricultural" | "forestry"))
    };
    let general = denied("access").unwrap_or(false);
    let vehicle = denied("vehicle").unwrap_or(general);
    let motor = denied("motor_vehicle").unwrap_or(vehicle);
    let car = denied("motorcar").unwrap_or(motor);
    let foot = denied("foot").unwrap_or(general);
    let parking = tags
        .get("service")
        .is_some_and(|s| s == "parking_aisle" || s == "driveway");
    Access {
        driving: !car && !parking,
        walking: !foot,
    }
}

/// Reads every road (`highway=*` of a known class, not `area=yes`) of an
/// extract. `progress` is called after each blob.
pub fn read_roads<R: Read + Seek + Send>(
    reader: R,
    mut progress: impl FnMut(OsmProgress),
) -> Result<OsmRoads, OsmError> {
    let corrupt =
        |blob: usize, offset: Option<osmpbf::ByteOffset>, detail: String| OsmError::Corrupt {
            blob,
            offset: offset.map_or_else(|| "?".to_owned(), |o| o.0.to_string()),
            detail,
        };
    let blobs = BlobReader::new_seekable(reader)
        .map_err(|e| corrupt(0, Some(osmpbf::ByteOffset(0)), e.to_string()))?;
    let mut nodes: HashMap<i64, (f64, f64)> = HashMap::new();
    type RawWay = (
        Vec<i64>,
        RoadClass,
        Oneway,
        Access,
        (Option<String>, Option<String>),
    );
    let mut raw_ways: Vec<RawWay> = Vec::new();
    let mut addresses: Vec<PointAddress> = Vec::new();
    type Outlined = (Vec<i64>, (Option<String>, Option<String>, Option<String>));
    let mut outlined: Vec<Outlined> = Vec::new();
    let mut raw_areas: Vec<(Vec<i64>, AreaKind, Option<String>)> = Vec::new();
    let point = |lat: f64, lon: f64, (street, housenumber, name)| {
        Coordinates::new(lat, lon)
            .ok()
            .map(|location| PointAddress {
                location,
                street,
                housenumber,
                name,
            })
    };
    let mut count = OsmProgress::default();
    for (index, blob) in blobs.enumerate() {
        let blob = blob.map_err(|e| corrupt(index, None, e.to_string()))?;
        let offset = blob.offset();
        let decoded = blob
            .decode()
            .map_err(|e| corrupt(index, offset, e.to_string()))?;
        if let BlobDecode::OsmData(block) = decoded {
            block.for_each_element(|element| match element {
                Element::Node(n) => {
                    nodes.insert(n.id(), (n.lat(), n.lon()));
                    count.nodes += 1;
                    if let Some(a) = address_of(n.tags()).and_then(|a| point(n.lat(), n.lon(), a)) {
                        addresses.push(a);
                    }
                }
                Element::DenseNode(n) => {
                    nodes.insert(n.id(), (n.lat(), n.lon()));
                    count.nodes += 1;
                    if let Some(a) = address_of(n.tags()).and_then(|a| point(n.lat(), n.lon(), a)) {
                        addresses.push(a);
                    }
                }
                Element::Way(way) => {
                    count.ways += 1;
                    if let Some(a) = address_of(way.tags()) {
                        outlined.push((way.refs().collect(), a));
                    }
                    if let Some(kind) = area_kind(way.tags()) {
                        let name = way
                            .tags()
                            .find(|(k, _)| *k == "name:zh")
                            .or_else(|| way.tags().find(|(k, _)| *k == "name"))
                            .map(|(_, v)| v.to_owned());
                        raw_areas.push((way.refs().collect(), kind, name));
                    }
                    let tags: HashMap<String, String> = way
                        .tags()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    let class = tags.get("highway").and_then(|h| RoadClass::from_osm(h));
                    let area = tags.get("area").is_some_and(|a| a == "yes");
                    if let (Some(class), false) = (class, area) {
                        raw_ways.push((
                            way.refs().collect(),
                            class,
                            oneway(class, &tags),
                            access(&tags),
                            street_name(&tags),
                        ));
                        count.road_ways += 1;
                    }
                }
                Element::Relation(_) => {}
            });
        }
        count.blobs = index + 1;
        count.addresses = addresses.len() + outlined.len();
        progress(count);
    }
    // Outlines (closed, three points or more) and waterways as points.
    let mut areas = Vec::with_capacity(raw_areas.len());
    for (refs, kind, name) in raw_areas {
        let points: Vec<Coordinates> = refs
            .iter()
            .filter_map(|id| nodes.get(id))
            .filter_map(|&(lat, lon)| Coordinates::new(lat, lon).ok())
            .collect();
        let closed = refs.len() >= 4 && refs.first() == refs.last() && points.len() == refs.len();
        if (kind == AreaKind::Waterway && points.len() >= 2) || closed {
            areas.push(MapArea { kind, points, name });
        }
    }
    // A building's or area's address at the middle of its outline's nodes.
    for (refs, a) in outlined {
        let at: Vec<(f64, f64)> = refs
            .iter()
            .filter_map(|id| nodes.get(id))
            .copied()
            .collect();
        if at.is_empty() {
            continue;
        }
        let n = at.len() as f64;
        let (lat, lon) = at.iter().fold((0.0, 0.0), |(a, b), (y, x)| (a + y, b + x));
        if let Some(a) = point(lat / n, lon / n, a) {
            addresses.push(a);
        }
    }
    let mut ways = Vec::with_capacity(raw_ways.len());
    let mut missing_nodes = 0;
    for (refs, class, oneway, access, (name, local_name)) in raw_ways {
        // Split a way where it leaves the extract; keep every piece of two or more nodes.
        let mut piece: Vec<(i64, Coordinates)> = Vec::new();
        for id in refs {
            match nodes
                .get(&id)
                .and_then(|&(lat, lon)| Coordinates::new(lat, lon).ok())
            {
                Some(at) => piece.push((id, at)),
                None => {
                    missing_nodes += 1;
                    if piece.len() >= 2 {
                        ways.push(RoadWay {
                            nodes: std::mem::take(&mut piece),
                            class,
                            oneway,
                            access,
                            name: name.clone(),
                            local_name: local_name.clone(),
                        });
                    }
                    piece.clear();
                }
            }
        }
        if piece.len() >= 2 {
            ways.push(RoadWay {
                nodes: piece,
                class,
                oneway,
                access,
                name,
                local_name,
            });
        }
    }
    if ways.is_empty() {
        return Err(OsmError::NoRoads {
            nodes: count.nodes,
            ways: count.ways,
        });
    }
    Ok(OsmRoads {
        ways,
        addresses,
        areas,
        progress: count,
        missing_nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_its_place() {
        let garbage = std::io::Cursor::new(vec![0u8, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8]);
        let error = read_roads(garbage, |_| {}).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("not an OSM PBF file: blob 0"), "{text}");
    }

    #[test]
    fn an_empty_file_has_no_roads() {
        let error = read_roads(std::io::Cursor::new(Vec::new()), |_| {}).unwrap_err();
        assert_eq!(error, OsmError::NoRoads { nodes: 0, ways: 0 });
    }

    #[test]
    fn addresses_and_places() {
        let of = |pairs: &[(&'static str, &'static str)]| address_of(pairs.iter().copied());
        assert_eq!(
            of(&[
                ("addr:street", "Boulevard des Moulins"),
                ("addr:housenumber", "12")
            ]),
            Some((
                Some("Boulevard des Moulins".into()),
                Some("12".into()),
                None
            ))
        );
        assert_eq!(
            of(&[
                ("amenity", "pharmacy"),
                ("name", "Pharmacie"),
                ("name:zh", "药房")
            ]),
            Some((None, None, Some("药房".into()))),
            "a Chinese name first"
        );
        assert_eq!(
            of(&[("name", "Somewhere")]),
            None,
            "a name alone is no place"
        );
        assert_eq!(
            of(&[("addr:housenumber", "3")]),
            None,
            "a number needs its street"
        );
        assert_eq!(
            of(&[("highway", "bus_stop"), ("name", "Casino")]),
            None,
            "roads and stops are streets' business"
        );
        assert_eq!(
            of(&[("landuse", "residential"), ("name", "远大小区")]),
            Some((None, None, Some("远大小区".into()))),
            "a named housing estate is a place callers name"
        );
    }

    #[test]
    fn a_chinese_name_is_shown_and_the_local_one_kept() {
        let tags = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            street_name(&tags(&[("name", "Yonge Street"), ("name:zh", "央街")])),
            (Some("央街".into()), Some("Yonge Street".into()))
        );
        assert_eq!(
            street_name(&tags(&[("name", "Rue Grimaldi")])),
            (Some("Rue Grimaldi".into()), None)
        );
        assert_eq!(street_name(&tags(&[])), (None, None));
    }

    #[test]
    fn areas_by_their_tags() {
        let kind = |pairs: &[(&'static str, &'static str)]| area_kind(pairs.iter().copied());
        assert_eq!(kind(&[("natural", "water")]), Some(AreaKind::Water));
        assert_eq!(kind(&[("waterway", "river")]), Some(AreaKind::Waterway));
        assert_eq!(
            kind(&[("leisure", "park"), ("name", "Parc")]),
            Some(AreaKind::Park)
        );
        assert_eq!(kind(&[("building", "yes")]), Some(AreaKind::Building));
        assert_eq!(
            kind(&[("building", "yes"), ("leisure", "park")]),
            Some(AreaKind::Park)
        );
        assert_eq!(kind(&[("highway", "pedestrian"), ("area", "yes")]), None);
        assert_eq!(kind(&[("building", "no")]), None);
    }

    #[test]
    fn access_tags() {
        let tags = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let cases = [
            (tags(&[]), true, true),
            (tags(&[("access", "private")]), false, false),
            (tags(&[("access", "private"), ("foot", "yes")]), false, true),
            (tags(&[("motor_vehicle", "no")]), false, true),
            (tags(&[("access", "no"), ("motorcar", "yes")]), true, false),
            (tags(&[("service", "parking_aisle")]), false, true),
        ];
        for (tags, driving, walking) in cases {
            assert_eq!(access(&tags), Access { driving, walking }, "{tags:?}");
        }
    }

    #[test]
    fn oneway_tags() {
        let tags = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let cases = [
            (RoadClass::Residential, tags(&[]), Oneway::No),
            (
                RoadClass::Residential,
                tags(&[("oneway", "yes")]),
                Oneway::Forward,
            ),
            (
                RoadClass::Residential,
                tags(&[("oneway", "-1")]),
                Oneway::Backward,
            ),
            (
                RoadClass::Primary,
                tags(&[("junction", "roundabout")]),
                Oneway::Forward,
            ),
            (RoadClass::Motorway, tags(&[]), Oneway::Forward),
            (RoadClass::Motorway, tags(&[("oneway", "no")]), Oneway::No),
        ];
        for (class, tags, expected) in cases {
            assert_eq!(oneway(class, &tags), expected, "{class:?} {tags:?}");
        }
    }
}
