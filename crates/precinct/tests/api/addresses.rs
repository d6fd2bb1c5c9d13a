//! Issue 25, item 3: real addresses. Intake search finds the station's
//! places first, then a street and house number, where two streets meet,
//! and the extract's named places and streets, loosely (a part, pinyin
//! initials, one typo); a point on the map is named.

use crate::common::*;
use precinct_domain::Coordinates;
use precinct_domain::address::{self, AddressKind, StreetIndex};
use precinct_domain::ground::Jurisdiction;
use reqwest::StatusCode;

/// A real city's streets, from the shipped OpenStreetMap extract.
fn monaco() -> StreetIndex {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/monaco.osm.pbf");
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("the Monaco extract"));
    let roads = precinct_osm::read_roads(file, |_| {}).expect("a readable extract");
    StreetIndex::build(&roads.ways, &roads.addresses)
}

#[test]
fn a_real_citys_streets_are_found_as_a_caller_says_them() {
    let streets = monaco();
    assert!(streets.len() > 500, "{} named streets", streets.len());
    let ground = Jurisdiction::default();
    let near = Coordinates::new(43.7384, 7.4246).unwrap();
    let first = |q: &str| {
        address::search(&ground, &streets, q, near, 5)
            .into_iter()
            .next()
            .map(|h| h.name)
            .unwrap_or_default()
    };
    for (query, street) in [
        (
            "Boulevard Princesse Charlotte",
            "Boulevard Princesse Charlotte",
        ),
        (
            "boulevard princesse charlotte",
            "Boulevard Princesse Charlotte",
        ),
        (
            "Boulevard Princese Charlotte",
            "Boulevard Princesse Charlotte",
        ),
        ("Princesse Charlotte", "Boulevard Princesse Charlotte"),
        ("Avenue de la Costa", "Avenue de la Costa"),
        ("Avenue de la Cotsa", "Avenue de la Costa"),
        ("Boulevard Albert 1er", "Boulevard Albert 1er"),
    ] {
        assert_eq!(first(query), street, "{query}");
    }
    assert!(address::search(&ground, &streets, "Mannerheimintie", near, 5).is_empty());
    // Houses, named places and crossings, as the extract's tags give them.
    let top = |q: &str| {
        address::search(&ground, &streets, q, near, 5)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{q}: nothing found"))
    };
    for (query, kind, address, (lat, lon)) in [
        (
            "Avenue de Roqueville 11",
            AddressKind::House,
            "11 Avenue de Roqueville",
            (43.73995, 7.42128),
        ),
        (
            "11 avenue de roqueville",
            AddressKind::House,
            "11 Avenue de Roqueville",
            (43.73995, 7.42128),
        ),
        (
            "5b Boulevard Albert 1er",
            AddressKind::House,
            "5b Boulevard Albert 1er",
            (43.73344, 7.42149),
        ),
        (
            "Rue du Gabian, 7",
            AddressKind::House,
            "7 Rue du Gabian",
            (43.72950, 7.41488),
        ),
        (
            "Palais de Justice",
            AddressKind::Poi,
            "5 Rue Colonel Bellando de Castro Palais de Justice",
            (43.73021, 7.42223),
        ),
        (
            "Jardin Japonias",
            AddressKind::Poi,
            "Jardin Japonais",
            (43.74212, 7.43091),
        ),
    ] {
        let hit = top(query);
        assert_eq!((hit.kind, hit.address.as_str()), (kind, address), "{query}");
        let expected = Coordinates::new(lat, lon).unwrap();
        assert!(hit.location.distance_m(expected) < 5.0, "{query}: {hit:?}");
    }
    // A number the street lacks finds the street.
    let street = top("Avenue de Roqueville 999");
    assert_eq!(street.kind, AddressKind::Street, "{street:?}");
    for q in [
        "Rue Grimaldi / Rue Princesse Caroline",
        "Boulevard d'Italie与Boulevard des Moulins交叉口",
    ] {
        let crossing = top(q);
        assert_eq!(
            crossing.kind,
            AddressKind::Intersection,
            "{q}: {crossing:?}"
        );
    }
    // A click beside a house names the house.
    let church = Coordinates::new(43.73995, 7.42128).unwrap();
    let named = address::reverse(&ground, &streets, church.offset_m(6.0, -4.0)).unwrap();
    assert_eq!(named.kind, AddressKind::House, "{named:?}");
    assert_eq!(named.address, "11 Avenue de Roqueville");
    // A point beside a street is named by what stands there (a place on
    // Avenue de la Costa, within 40 m); away from any, by the street (the
    // domain's own tests).
    let on_street = address::search(&ground, &streets, "Avenue de la Costa", near, 1)[0].location;
    let named = address::reverse(&ground, &streets, on_street.offset_m(8.0, 8.0)).unwrap();
    assert_eq!(named.kind, AddressKind::Poi, "{named:?}");
    assert!(named.distance_m < 40.0, "{named:?}");
}

api_test! {
    async fn the_demo_districts_streets_places_and_crossings_are_found(app) {
        let d = app.login("dispatcher").await;
        let search = |q: &str| {
            let (app, d, q) = (&app, d.clone(), q.to_owned());
            async move {
                let (status, body) = app.get(Some(&d), &format!("/api/addresses?q={}&limit=8", urlencoding(&q))).await;
                assert_eq!(status, StatusCode::OK, "{q}: {body}");
                body.as_array().unwrap().clone()
            }
        };
        // The station's own places come first.
        let hits = search("美食七街").await;
        assert_eq!(hits[0]["kind"], "place", "{hits:?}");
        assert!(hits[0]["place_id"].is_i64());
        assert!(hits.iter().any(|h| h["kind"] == "street" && h["name"] == "美食七街"), "{hits:?}");
        // Streets by name, by a part, by pinyin initials.
        for (q, street) in [("远大路", "远大路"), ("马王堆", "马王堆路"), ("mwdl", "马王堆路")] {
            let hits = search(q).await;
            assert!(hits.iter().any(|h| h["kind"] == "street" && h["name"] == street), "{q}: {hits:?}");
        }
        // Where two streets meet.
        for q in ["美食七街与高桥北路交叉口", "高桥北路 / 美食七街"] {
            let hits = search(q).await;
            let crossing = hits.iter().find(|h| h["kind"] == "intersection").unwrap_or_else(|| panic!("{q}: {hits:?}"));
            assert_eq!(crossing["place_id"], serde_json::Value::Null);
            assert!(crossing["name"].as_str().unwrap().contains("交叉口"));
        }
        // A found street is a location intake takes.
        let hits = search("远大路").await;
        let street = hits.iter().find(|h| h["kind"] == "street").unwrap();
        let (status, body) = app.post(Some(&d), "/api/incidents", serde_json::json!({
            "source": "phone", "category": "theft", "priority": 3, "summary": "路边被盗",
            "location": street["location"], "address": street["address"],
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["incident"]["address"], "远大路");

        // A click by the night-food street's shops names the shop; one in a
        // street away from any place names the house there, and searching
        // that house finds it.
        let shop = app.place(&d, "美食七街7号").await;
        let (lat, lon) = near(&shop, 5.0, 3.0);
        let (status, named) = app.get(Some(&d), &format!("/api/addresses/reverse?lat={lat}&lon={lon}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(named["address"]["kind"], "place", "{named}");
        let crossing = &search("美食七街与高桥北路交叉口").await[0];
        let at = crossing["location"].clone();
        let (lat, lon) = (at["lat"].as_f64().unwrap() + 0.0003, at["lon"].as_f64().unwrap());
        let (_, named) = app.get(Some(&d), &format!("/api/addresses/reverse?lat={lat}&lon={lon}")).await;
        assert_eq!(named["address"]["kind"], "house", "{named}");
        let house = named["address"]["address"].as_str().unwrap().to_owned();
        assert!(house.starts_with("高桥北路") && house.ends_with('号'), "{named}");
        let found = &search(&house).await[0];
        assert_eq!((&found["kind"], &found["address"]), (&named["address"]["kind"], &named["address"]["address"]));
        assert_eq!(found["location"], named["address"]["location"]);

        // Bad input.
        let (status, body) = app.get(Some(&d), "/api/addresses?q=x&limit=0").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit")));
        let (status, body) = app.get(Some(&d), "/api/addresses/reverse?lat=91&lon=0").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("coordinates_out_of_range")));
        let (status, _) = app.get(Some(&d), "/api/addresses/reverse?lat=north&lon=0").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
