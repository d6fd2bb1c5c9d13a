//! Issue 25, item 2: a map a person reads, served by Precinct itself. The
//! base map is built from the road import as vector tiles held in memory:
//! a real city's extract gives its streets with their names, its water,
//! parks and buildings; the demo's streets are served the same way; bad
//! tile addresses get a clear error.

use crate::common::*;
use precinct_domain::Coordinates;
use precinct_osm::tiles::TileSet;
use reqwest::StatusCode;

/// The tile holding a point at zoom z (Web Mercator).
fn tile_of(c: Coordinates, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let lat = c.lat().to_radians();
    let x = (c.lon() + 180.0) / 360.0 * n;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

#[test]
fn a_real_citys_extract_draws_streets_water_parks_and_buildings() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/monaco.osm.pbf");
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("the Monaco extract"));
    let roads = precinct_osm::read_roads(file, |_| {}).expect("a readable extract");
    use precinct_geo::roads::AreaKind;
    for kind in [AreaKind::Water, AreaKind::Park, AreaKind::Building] {
        assert!(
            roads.areas.iter().any(|a| a.kind == kind),
            "the extract's {kind:?}"
        );
    }
    let set = TileSet::build(&roads.ways, &roads.areas);
    let (count, bytes) = set.size();
    assert!(
        count > 50 && bytes > 100_000,
        "{count} tiles, {bytes} bytes"
    );
    // Monaco-Ville at zoom 16: buildings, roads and a street's name.
    let palace = Coordinates::new(43.7312, 7.4197).unwrap();
    let (x, y) = tile_of(palace, 16);
    let tile = String::from_utf8_lossy(set.get(16, x, y).expect("the palace's tile"));
    for text in ["roads", "buildings", "name"] {
        assert!(tile.contains(text), "{text} at zoom 16");
    }
    // The Jardin Exotique's park and the harbour's water at zoom 14.
    let (mut parks, mut water) = (false, false);
    for x in tile_of(palace, 14).0 - 1..=tile_of(palace, 14).0 + 1 {
        for y in tile_of(palace, 14).1 - 1..=tile_of(palace, 14).1 + 1 {
            if let Some(tile) = set.get(14, x, y) {
                let text = String::from_utf8_lossy(tile);
                parks |= text.contains("parks");
                water |= text.contains("water");
            }
        }
    }
    assert!(parks && water, "parks {parks}, water {water}");
}

api_test! {
    async fn the_demo_base_map_is_served_as_vector_tiles(app) {
        let d = app.login("dispatcher").await;
        let (status, config) = app.get(Some(&d), "/api/console/config").await;
        assert_eq!(status, StatusCode::OK);
        let url = config["tiles_url"].as_str().expect("a tile URL for a station with roads").to_owned();
        let bounds = config["tiles_bounds"].as_array().unwrap();
        let middle = Coordinates::new(
            (bounds[1].as_f64().unwrap() + bounds[3].as_f64().unwrap()) / 2.0,
            (bounds[0].as_f64().unwrap() + bounds[2].as_f64().unwrap()) / 2.0,
        )
        .unwrap();
        let (x, y) = tile_of(middle, 15);
        let path = url.replace("{z}", "15").replace("{x}", &x.to_string()).replace("{y}", &y.to_string());
        let response = app.client.get(format!("{}{path}", app.base)).bearer_auth(&d).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/vnd.mapbox-vector-tile");
        let tile = response.bytes().await.unwrap();
        assert!(String::from_utf8_lossy(&tile).contains("roads"));
        // Nothing there: no content. Not a tile: a clear error.
        let response = app.client.get(format!("{}/api/map/tiles/16/0/0", app.base)).bearer_auth(&d).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        for bad in ["20/1/1", "12/5000/1", "12/x/1", "9/1/1"] {
            let (status, body) = app.get(Some(&d), &format!("/api/map/tiles/{bad}")).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_tile")), "{bad}: {body}");
        }
        let (status, _) = app.get(None, &path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "tiles are for signed-in users");
    }
}
