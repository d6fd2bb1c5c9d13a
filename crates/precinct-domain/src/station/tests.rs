//! The package checks as a table of broken stations, and the plan's
//! matching by code: ids kept, what disappears retired, a second import
//! changing nothing.

use super::*;
use crate::unit::UnitStatus;

fn c(lat: f64, lon: f64) -> Coordinates {
    Coordinates::new(lat, lon).unwrap()
}

fn rect(s: f64, w: f64, n: f64, e: f64) -> Polygon {
    Polygon::rectangle(c(s, w), c(n, e))
}

fn at(file: &str, row: u32) -> Source {
    Source::row(file, None, row)
}

/// Two zones side by side (west N, east S), a community filling each, two
/// grid cells in the first, a post, a place, a company, a unit, a person.
fn package() -> StationPackage {
    StationPackage {
        name: "测试派出所".into(),
        time_zone: "Asia/Shanghai".into(),
        zones: Some(vec![
            ZoneRecord {
                at: at("zones.geojson", 0),
                code: "N".into(),
                name: "北".into(),
                boundary: rect(0.0, 0.0, 1.0, 1.0),
            },
            ZoneRecord {
                at: at("zones.geojson", 1),
                code: "S".into(),
                name: "南".into(),
                boundary: rect(0.0, 1.0, 1.0, 2.0),
            },
        ]),
        communities: Some(vec![
            CommunityRecord {
                at: at("communities.geojson", 0),
                code: "C1".into(),
                name: "永定社区".into(),
                parent: "N".into(),
                boundary: rect(0.0, 0.0, 1.0, 1.0),
            },
            CommunityRecord {
                at: at("communities.geojson", 1),
                code: "C2".into(),
                name: "怡园社区".into(),
                parent: "S".into(),
                boundary: rect(0.0, 1.0, 1.0, 2.0),
            },
        ]),
        grid_cells: Some(vec![
            GridCellRecord {
                at: at("grid_cells.geojson", 0),
                code: "G1".into(),
                name: "一网格".into(),
                parent: "C1".into(),
                boundary: rect(0.0, 0.0, 0.5, 1.0),
            },
            GridCellRecord {
                at: at("grid_cells.geojson", 1),
                code: "G2".into(),
                name: "二网格".into(),
                parent: "C1".into(),
                boundary: rect(0.5, 0.0, 1.0, 1.0),
            },
        ]),
        posts: Some(vec![PostRecord {
            at: at("posts.geojson", 0),
            code: "P1".into(),
            name: "怡园警务点".into(),
            kind: None,
            parent: "N".into(),
            location: c(0.5, 0.5),
        }]),
        places: Some(vec![PlaceRecord {
            at: at("places.geojson", 0),
            code: "PL1".into(),
            name: "高桥大市场".into(),
            kind: PlaceKind::WholesaleMarket,
            address: "高桥".into(),
            aliases: vec!["大市场".into()],
            parent: None,
            parent_place: None,
            location: c(0.5, 1.5),
        }]),
        cameras: Some(Vec::new()),
        organisations: Some(vec![OrganisationRecord {
            at: at("organisations.csv", 2),
            code: "M1".into(),
            name: "市场管理公司".into(),
            kind: OrganisationKind::MarketManagement,
            manages: vec!["PL1".into()],
            community: None,
        }]),
        units: Some(vec![UnitRecord {
            at: at("units.xlsx", 2),
            call_sign: "怡园1".into(),
            name: "怡园驻点".into(),
            kind: UnitKind::PostTeam,
            post: Some("P1".into()),
            zone: None,
            capabilities: Vec::new(),
            phone: Some(PhoneNumber::parse("13800138000").unwrap()),
            organisation: None,
            members: 3,
        }]),
        people: Some(vec![PersonRecord {
            at: at("people.csv", 2),
            username: Username::parse("li.wei").unwrap(),
            name: "李伟".into(),
            role: Role::Officer,
            unit: Some("怡园1".into()),
            organisation: None,
            phone: None,
        }]),
        categories: None,
    }
}

/// Applies a plan the way a store does, so a second plan sees its result.
fn applied(plan: &StationPlan, state: &StationState) -> StationState {
    let mut next = StationState {
        ground: plan.ground.clone(),
        ..state.clone()
    };
    for change in &plan.units {
        match change {
            UnitChange::Add { fields, start_at } => {
                let id = UnitId(next.units.len() as i64 + 1);
                next.units.push(Unit {
                    id,
                    call_sign: fields.call_sign.clone(),
                    name: fields.name.clone(),
                    kind: fields.kind,
                    home_post_id: fields.home_post_id,
                    zone_id: fields.zone_id,
                    capabilities: fields.capabilities.clone(),
                    status: UnitStatus::AtPost,
                    position: *start_at,
                    position_at: None,
                    incident_id: None,
                    member_count: fields.member_count,
                    property_company_id: fields.property_company_id,
                    phone: fields.phone.clone(),
                    retired: false,
                });
            }
            UnitChange::Update { id, fields } => {
                let unit = next.units.iter_mut().find(|u| u.id == *id).unwrap();
                unit.name = fields.name.clone();
                unit.retired = false;
            }
            UnitChange::Retire { id } => {
                next.units.iter_mut().find(|u| u.id == *id).unwrap().retired = true;
            }
        }
    }
    for change in &plan.people {
        match change {
            PersonChange::Add(fields) => next.users.push(User {
                id: UserId(next.users.len() as i64 + 1),
                username: fields.username.clone(),
                display_name: fields.display_name.clone(),
                role: fields.role,
                unit_id: fields
                    .unit_call_sign
                    .as_ref()
                    .map(|c| next.units.iter().find(|u| &u.call_sign == c).unwrap().id),
                organisation_id: fields.organisation_id,
                phone: fields.phone.clone(),
                disabled: false,
                must_change_password: true,
                second_factor: false,
            }),
            PersonChange::Update { id, fields } => {
                let user = next.users.iter_mut().find(|u| u.id == *id).unwrap();
                user.display_name = fields.display_name.clone();
                user.disabled = false;
            }
            PersonChange::Disable { id } => {
                next.users
                    .iter_mut()
                    .find(|u| u.id == *id)
                    .unwrap()
                    .disabled = true;
            }
        }
    }
    next
}

fn counts(plan: &StationPlan, layer: Layer) -> (u32, u32, u32, u32) {
    let c = plan.changes.iter().find(|c| c.layer == layer).unwrap();
    (c.added, c.changed, c.retired, c.unchanged)
}

#[test]
fn a_clean_package_plans_everything_and_a_second_import_changes_nothing() {
    let empty = StationState::default();
    let plan = validate(&package(), &empty).unwrap();
    assert_eq!(counts(&plan, Layer::Zones), (2, 0, 0, 0));
    assert_eq!(counts(&plan, Layer::GridCells), (2, 0, 0, 0));
    assert_eq!(counts(&plan, Layer::Units), (1, 0, 0, 0));
    assert_eq!(counts(&plan, Layer::People), (1, 0, 0, 0));
    assert_eq!(plan.new_usernames(), [Username::parse("li.wei").unwrap()]);
    let ground = &plan.ground;
    assert_eq!(ground.station_name, "测试派出所");
    // The post is the zone's police post, in the community it stands in.
    let post = &ground.posts[0];
    assert_eq!(
        (post.kind, post.community_id),
        (PostKind::PolicePost, Some(CommunityId(1)))
    );
    // The market is managed by its company and found in its community.
    let market = &ground.places[0];
    assert_eq!(market.community_id, Some(CommunityId(2)));
    assert_eq!(
        market.managed_by,
        ground.organisations[0].property_company_id
    );
    assert!(market.managed_by.is_some());
    assert_eq!(
        ground.search_places("大市场", 5).len(),
        1,
        "aliases are searched"
    );
    match &plan.units[0] {
        UnitChange::Add { fields, start_at } => {
            assert_eq!(
                *start_at,
                Some(c(0.5, 0.5)),
                "a new unit starts at its post"
            );
            assert_eq!(fields.zone_id, Some(ZoneId(1)), "its zone is its post's");
            assert_eq!(
                fields.capabilities,
                UnitKind::PostTeam.default_capabilities()
            );
        }
        other => panic!("{other:?}"),
    }

    let state = applied(&plan, &empty);
    let again = validate(&package(), &state).unwrap();
    assert!(again.is_empty(), "{:?}", again.changes);
    assert!(again.units.is_empty() && again.people.is_empty());
    assert_eq!(again.ground, state.ground);
}

#[test]
fn what_disappears_is_retired_with_its_id_kept() {
    let empty = StationState::default();
    let state = applied(&validate(&package(), &empty).unwrap(), &empty);
    let mut smaller = package();
    smaller.grid_cells.as_mut().unwrap().pop();
    smaller.units = Some(Vec::new());
    smaller.people = Some(Vec::new());
    smaller.zones.as_mut().unwrap()[0].name = "北部防区".into();
    let plan = validate(&smaller, &state).unwrap();
    assert_eq!(counts(&plan, Layer::Zones), (0, 1, 0, 1));
    assert_eq!(counts(&plan, Layer::GridCells), (0, 0, 1, 1));
    assert_eq!(counts(&plan, Layer::Units), (0, 0, 1, 0));
    assert_eq!(counts(&plan, Layer::People), (0, 0, 1, 0));
    assert_eq!(plan.ground.grid_cells.len(), 1);
    // The retired cell keeps its id and name for past records.
    let retired = plan.ground.grid_cell(GridCellId(2)).unwrap();
    assert_eq!(retired.code, "G2");
    assert_eq!(plan.ground.retired.grid_cells.len(), 1);
    let state = applied(&plan, &state);

    // Listed again: the same ids come back.
    let plan = validate(&package(), &state).unwrap();
    assert_eq!(counts(&plan, Layer::GridCells), (1, 0, 0, 1));
    assert_eq!(counts(&plan, Layer::Units), (1, 0, 0, 0));
    assert!(matches!(
        plan.units[0],
        UnitChange::Update { id: UnitId(1), .. }
    ));
    assert!(plan.ground.retired.is_empty());
    assert_eq!(plan.ground.grid_cells[1].id, GridCellId(2));
}

#[test]
fn missing_layers_keep_the_stored_station() {
    let empty = StationState::default();
    let state = applied(&validate(&package(), &empty).unwrap(), &empty);
    let units_only = StationPackage {
        name: "测试派出所".into(),
        time_zone: "Asia/Shanghai".into(),
        units: package().units,
        ..StationPackage::default()
    };
    let plan = validate(&units_only, &state).unwrap();
    assert!(plan.is_empty(), "{:?}", plan.changes);
    assert_eq!(plan.ground, state.ground);
}

#[test]
fn administrators_are_never_disabled_by_an_import() {
    let empty = StationState::default();
    let mut state = applied(&validate(&package(), &empty).unwrap(), &empty);
    state.users.push(User {
        id: UserId(9),
        username: Username::parse("admin").unwrap(),
        display_name: "管理员".into(),
        role: Role::Admin,
        unit_id: None,
        organisation_id: None,
        phone: None,
        disabled: false,
        must_change_password: false,
        second_factor: false,
    });
    let mut nobody = package();
    nobody.people = Some(Vec::new());
    let plan = validate(&nobody, &state).unwrap();
    assert_eq!(plan.people, [PersonChange::Disable { id: UserId(1) }]);
}

/// Each broken package, with the problems it must get (file, row or
/// feature, column, and a word of the English message).
#[test]
fn every_problem_is_named_where_it_is() {
    type Breakage = fn(&mut StationPackage);
    /// (file, row or feature, column, part of the English message).
    type Expected = (&'static str, u32, &'static str, &'static str);
    let cases: &[(&str, Breakage, &[Expected])] = &[
        (
            "unknown parent zone",
            |p| p.communities.as_mut().unwrap()[1].parent = "X".into(),
            &[(
                "communities.geojson",
                1,
                "parent",
                "unknown zone code \"X\"",
            )],
        ),
        (
            "duplicate code",
            |p| p.grid_cells.as_mut().unwrap()[1].code = "G1".into(),
            &[("grid_cells.geojson", 1, "code", "given twice")],
        ),
        (
            "duplicate call sign",
            |p| {
                let units = p.units.as_mut().unwrap();
                let mut twin = units[0].clone();
                twin.at = at("units.xlsx", 3);
                units.push(twin);
            },
            &[("units.xlsx", 3, "call_sign", "given twice")],
        ),
        (
            "unknown post",
            |p| p.units.as_mut().unwrap()[0].post = Some("P9".into()),
            &[("units.xlsx", 2, "post", "unknown post code \"P9\"")],
        ),
        (
            "grid cell outside its community",
            |p| p.grid_cells.as_mut().unwrap()[1].boundary = rect(0.5, 0.9, 1.0, 1.5),
            &[("grid_cells.geojson", 1, "geometry", "outside its community")],
        ),
        (
            "self-intersecting polygon",
            |p| {
                p.grid_cells.as_mut().unwrap()[0].boundary =
                    Polygon::try_from(vec![c(0.0, 0.0), c(0.5, 1.0), c(0.5, 0.0), c(0.0, 1.0)])
                        .unwrap()
            },
            &[("grid_cells.geojson", 0, "geometry", "crosses itself")],
        ),
        (
            "overlapping communities",
            |p| p.communities.as_mut().unwrap()[1].boundary = rect(0.0, 0.8, 1.0, 2.0),
            &[
                ("communities.geojson", 1, "geometry", "outside its zone"),
                (
                    "communities.geojson",
                    1,
                    "geometry",
                    "overlaps community \"C1\"",
                ),
            ],
        ),
        (
            "post outside the ground",
            |p| p.posts.as_mut().unwrap()[0].location = c(5.0, 5.0),
            &[(
                "posts.geojson",
                0,
                "geometry",
                "outside the station's ground",
            )],
        ),
        (
            "place outside the ground",
            |p| p.places.as_mut().unwrap()[0].location = c(-1.0, 0.5),
            &[(
                "places.geojson",
                0,
                "geometry",
                "outside the station's ground",
            )],
        ),
        (
            "unknown unit of a person",
            |p| p.people.as_mut().unwrap()[0].unit = Some("夜市".into()),
            &[("people.csv", 2, "unit", "unknown unit call sign")],
        ),
        (
            "unknown managed place",
            |p| {
                p.organisations.as_mut().unwrap()[0]
                    .manages
                    .push("PL9".into())
            },
            &[(
                "organisations.csv",
                2,
                "manages",
                "unknown place code \"PL9\"",
            )],
        ),
    ];
    for (name, breakage, expected) in cases {
        let mut broken = package();
        breakage(&mut broken);
        let problems = validate(&broken, &StationState::default()).unwrap_err();
        let found: Vec<(&str, u32, &str, &str)> = problems
            .iter()
            .map(|p| {
                (
                    p.at.file.as_str(),
                    p.at.row.or(p.at.feature).unwrap(),
                    p.column.as_deref().unwrap(),
                    p.message.as_str(),
                )
            })
            .collect();
        assert_eq!(found.len(), expected.len(), "{name}: {problems:#?}");
        for ((file, row, column, message), want) in found.iter().zip(expected.iter()) {
            assert_eq!((*file, *row, *column), (want.0, want.1, want.2), "{name}");
            assert!(
                message.contains(want.3),
                "{name}: {message:?} lacks {:?}",
                want.3
            );
        }
        assert!(problems.iter().all(|p| !p.message_zh.is_empty()));
    }
}

#[test]
fn the_station_code_table_replaces_the_shipped_one() {
    use crate::incident::{CategoryCode, CategoryFamily, Priority};
    let code = |c: &str| CategoryCode::parse(c).unwrap();
    let record = |c: &str, name: &str, family, priority| CategoryRecord {
        at: at("categories.csv", 2),
        code: code(c),
        name_zh: name.into(),
        name_en: c.into(),
        family,
        default_priority: Priority::new(priority).unwrap(),
    };
    let empty = StationState::default();
    assert!(
        empty.ground.category("theft").is_some(),
        "the shipped table until a package gives one"
    );
    let mut package = package();
    package.categories = Some(vec![
        record("theft", "盗窃案件", CategoryFamily::Criminal, 2),
        record("dian-dong-che", "电动车被盗", CategoryFamily::Criminal, 2),
        record("ye-xiao", "夜宵摊纠纷", CategoryFamily::Dispute, 3),
    ]);
    let plan = validate(&package, &empty).unwrap();
    assert_eq!(counts(&plan, Layer::Categories), (2, 1, 16, 0));
    let ground = &plan.ground;
    assert_eq!(
        ground.category("ye-xiao").unwrap().family(),
        CategoryFamily::Dispute
    );
    assert!(
        ground.category("fire").is_none(),
        "a code left out is no longer taken in"
    );
    assert_eq!(
        ground.category_def("fire").unwrap().name_zh,
        "火情",
        "but keeps its name"
    );
    assert_eq!(ground.category_def("theft").unwrap().name_zh, "盗窃案件");

    // Listed again, a retired code comes back; a code twice is a problem.
    let state = applied(&plan, &empty);
    let mut again = package.clone();
    again
        .categories
        .as_mut()
        .unwrap()
        .push(record("fire", "火情", CategoryFamily::Fire, 1));
    let plan = validate(&again, &state).unwrap();
    assert_eq!(counts(&plan, Layer::Categories), (1, 0, 0, 3));
    assert!(plan.ground.category("fire").is_some());
    let mut twice = package;
    twice
        .categories
        .as_mut()
        .unwrap()
        .push(record("theft", "x", CategoryFamily::Criminal, 1));
    let problems = validate(&twice, &state).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("given twice"));
}

#[test]
fn camera_streams_only_by_media_schemes() {
    for (url, allowed) in [
        ("http://10.0.0.5/live/cam1.m3u8", true),
        ("https://media.local/cam.flv", true),
        ("RTSP://10.0.0.5:554/ch1", true),
        ("rtmp://10.0.0.5/live/cam1", true),
        ("javascript:alert(1)", false),
        ("file:///etc/passwd", false),
        ("ftp://x/y", false),
        ("http://", false),
        ("", false),
    ] {
        assert_eq!(stream_url_allowed(url), allowed, "{url}");
    }
}
