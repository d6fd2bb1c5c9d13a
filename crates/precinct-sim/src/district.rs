//! The demo district: a seeded, generated ground resembling the Gaoqiao
//! station's (DOMAIN.md), placed in Changsha's Yuhua district.
//!
//! Fixed by design (so the acceptance stories always find them): two zones,
//! ten communities with Yongding (永定) holding the night-food street
//! 美食七街 and Yiyuan (怡园) holding the north zone's police post, the
//! wholesale market 高桥大市场 with its leather-goods hall 皮具饰品城, the legal
//! service station and the mediation room. Drawn from the seed: where
//! compounds, cameras and most units stand.

use precinct_domain::ground::*;
use precinct_domain::ids::*;
use precinct_domain::unit::{NewUnit, UnitKind, UnitStatus};
use precinct_domain::user::Role;
use precinct_domain::{Coordinates, Polygon};
use precinct_geo::roads::{PointAddress, RoadWay, grid_ways};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Width and height of the ground, metres.
const WIDTH_M: f64 = 4000.0;
const HEIGHT_M: f64 = 3200.0;
const COMMUNITY_WIDTH_M: f64 = WIDTH_M / 5.0;
const ZONE_HEIGHT_M: f64 = HEIGHT_M / 2.0;

/// The south-west corner of the ground (WGS84), near 高桥 in 雨花区, 长沙.
fn south_west() -> Coordinates {
    Coordinates::new(28.1385, 112.9990).expect("valid")
}

/// A point `east` and `north` metres from the south-west corner.
pub fn at(east: f64, north: f64) -> Coordinates {
    south_west().offset_m(east, north)
}

fn rect(east0: f64, north0: f64, east1: f64, north1: f64) -> Polygon {
    Polygon::rectangle(at(east0, north0), at(east1, north1))
}

/// (name, code) of the communities, west to east: north zone then south zone.
const COMMUNITIES: [(&str, &str); 10] = [
    ("合丰社区", "HF"),
    ("永定社区", "YD"),
    ("怡园社区", "YY"),
    ("东升社区", "DS"),
    ("燕岭社区", "YL"),
    ("泉塘社区", "QT"),
    ("高桥社区", "GQ"),
    ("新兴社区", "XX"),
    ("月塘社区", "YT"),
    ("桂花社区", "GH"),
];

/// The eight markets and where they stand (east, north), all in the south zone
/// but the tea market.
const MARKETS: [(&str, PlaceKind, f64, f64); 8] = [
    ("高桥大市场", PlaceKind::WholesaleMarket, 1200.0, 600.0),
    ("高桥皮具饰品城", PlaceKind::Market, 1320.0, 660.0),
    ("高桥茶叶市场", PlaceKind::Market, 2900.0, 2000.0),
    ("高桥酒水市场", PlaceKind::Market, 1500.0, 300.0),
    ("高桥服装城", PlaceKind::Market, 2200.0, 500.0),
    ("高桥副食品市场", PlaceKind::Market, 2600.0, 1100.0),
    ("高桥五金机电市场", PlaceKind::Market, 3300.0, 700.0),
    ("湘绣城", PlaceKind::Market, 500.0, 1000.0),
];

const COMPOUND_SUFFIXES: [&str; 6] = ["小区", "家园", "花园", "新村", "公寓", "雅苑"];
const COMPANY_BRANDS: [&str; 14] = [
    "湘江",
    "岳麓",
    "橘洲",
    "芙蓉",
    "天心",
    "雨花",
    "星沙",
    "麓谷",
    "金霞",
    "洞庭",
    "南湖",
    "浏阳河",
    "圭塘",
    "树木岭",
];
const COMPANY_KINDS: [&str; 4] = ["物业", "物业服务", "物业管理", "置业物业"];

/// An account the demo creates, with the unit it belongs to (by call sign).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoAccount {
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: Role,
    pub unit_call_sign: Option<&'static str>,
    /// The organisation a mediator or company staff member belongs to, by name.
    pub organisation: Option<&'static str>,
}

/// Call sign of the north zone post's team (怡园警务点).
pub const YIYUAN_POST_TEAM: &str = "怡园警务点";
/// Call sign of the night-market volunteer patrol (夜市义警巡逻队).
pub const NIGHT_MARKET_VOLUNTEERS: &str = "夜市义警";

/// Every role has an account; field accounts belong to the story-2 units.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "admin",
        display_name: "系统管理员",
        role: Role::Admin,
        unit_call_sign: None,
        organisation: None,
    },
    DemoAccount {
        username: "dispatcher",
        display_name: "指挥室值班员",
        role: Role::Dispatcher,
        unit_call_sign: None,
        organisation: None,
    },
    DemoAccount {
        username: "dispatcher2",
        display_name: "指挥室副班",
        role: Role::Dispatcher,
        unit_call_sign: None,
        organisation: None,
    },
    DemoAccount {
        username: "cc110",
        display_name: "市110指挥中心接口",
        role: Role::Dispatcher,
        unit_call_sign: None,
        organisation: None,
    },
    DemoAccount {
        username: "officer",
        display_name: "怡园警务点民警",
        role: Role::Officer,
        unit_call_sign: Some(YIYUAN_POST_TEAM),
        organisation: None,
    },
    DemoAccount {
        username: "volunteer",
        display_name: "夜市义警队长",
        role: Role::Volunteer,
        unit_call_sign: Some(NIGHT_MARKET_VOLUNTEERS),
        organisation: None,
    },
    DemoAccount {
        username: "mediator",
        display_name: "司法所调解员",
        role: Role::Mediator,
        unit_call_sign: None,
        organisation: Some(JUDICIAL_OFFICE),
    },
    DemoAccount {
        username: "lawyer",
        display_name: "湘楚律所驻站律师",
        role: Role::Mediator,
        unit_call_sign: None,
        organisation: Some(LAW_FIRM),
    },
    DemoAccount {
        username: "market",
        display_name: "皮具饰品城市场管理员",
        role: Role::Mediator,
        unit_call_sign: None,
        organisation: Some(LEATHER_MARKET_COMPANY),
    },
    DemoAccount {
        username: "analyst",
        display_name: "情报研判员",
        role: Role::Analyst,
        unit_call_sign: None,
        organisation: None,
    },
];

/// A generated station: its ground, its streets, its units, and its demo accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    pub ground: Jurisdiction,
    pub roads: Vec<RoadWay>,
    /// House numbers along the streets, as an extract's `addr:*` gives them.
    pub addresses: Vec<PointAddress>,
    pub units: Vec<NewUnit>,
    pub accounts: &'static [DemoAccount],
}

impl District {
    /// The district as a station package: how the demo enters it, through
    /// the same door (`precinct station import`) a real station uses.
    pub fn package(&self) -> precinct_domain::station::StationPackage {
        use precinct_domain::station::{StationPackage, StationState};
        use precinct_domain::unit::Unit;
        use precinct_domain::user::{User, Username};
        let units = self
            .units
            .iter()
            .enumerate()
            .map(|(index, u)| Unit {
                id: UnitId(index as i64 + 1),
                call_sign: u.call_sign.clone(),
                name: u.name.clone(),
                kind: u.kind,
                home_post_id: u.home_post_id,
                zone_id: u.zone_id,
                capabilities: u.capabilities.clone(),
                status: u.status,
                position: u.position,
                position_at: None,
                incident_id: None,
                member_count: u.member_count,
                property_company_id: u.property_company_id,
                phone: u.phone.clone(),
                retired: false,
            })
            .collect::<Vec<_>>();
        let users = self
            .accounts
            .iter()
            .enumerate()
            .map(|(index, a)| User {
                id: UserId(index as i64 + 1),
                username: Username::parse(a.username).expect("demo usernames are valid"),
                display_name: a.display_name.to_owned(),
                role: a.role,
                unit_id: a.unit_call_sign.and_then(|call_sign| {
                    units
                        .iter()
                        .find(|u| u.call_sign == call_sign)
                        .map(|u| u.id)
                }),
                organisation_id: a.organisation.and_then(|name| {
                    self.ground
                        .organisations
                        .iter()
                        .find(|o| o.name == name)
                        .map(|o| o.id)
                }),
                phone: None,
                disabled: false,
                must_change_password: false,
                second_factor: false,
            })
            .collect();
        StationPackage::of_station(&StationState {
            ground: self.ground.clone(),
            units,
            users,
        })
    }
}

/// The district's streets: a 100 m grid over the whole ground, every fourth
/// street one-way (alternating direction), every fifth a primary road.
pub fn streets() -> Vec<RoadWay> {
    let rows = (HEIGHT_M / 100.0) as usize + 1;
    let columns = (WIDTH_M / 100.0) as usize + 1;
    let mut ways = grid_ways(south_west(), rows, columns, 100.0, 4, 5);
    // Named as a Changsha district's are: the primary roads after places,
    // the others numbered; the row through the night-food street is
    // 美食七街 (2,400 m north of the south-west corner).
    const EAST_WEST: [&str; 8] = [
        "高桥大道",
        "远大路",
        "人民东路",
        "东二环",
        "万家丽路",
        "浏阳河大道",
        "湘府路",
        "朝晖路",
    ];
    const NORTH_SOUTH: [&str; 8] = [
        "高桥北路",
        "东屯渡路",
        "曙光路",
        "马王堆路",
        "合平路",
        "鸿源路",
        "杉木冲路",
        "石马铺路",
    ];
    // Between two primary roads, the lanes take the southern (western)
    // one's name: 远大路一巷 … 远大路四巷.
    let numbers = ["一", "二", "三", "四"];
    let name = |i: usize, primaries: &[&str; 8]| {
        let primary = primaries[(i / 5) % primaries.len()];
        match i % 5 {
            0 => primary.to_owned(),
            lane => format!("{primary}{}巷", numbers[lane - 1]),
        }
    };
    for (i, way) in ways.iter_mut().enumerate() {
        way.name = Some(match i {
            24 => "美食七街".to_owned(),
            i if i < rows => name(i, &EAST_WEST),
            i => name(i - rows, &NORTH_SOUTH),
        });
    }
    ways
}

/// House numbers every 25 m along each named street, odd on its left and
/// even on its right, 15 m off the road: 1号, 2号, 3号…
fn house_numbers(ways: &[RoadWay]) -> Vec<PointAddress> {
    const EVERY_M: f64 = 25.0;
    const SET_BACK_M: f64 = 15.0;
    let mut out = Vec::new();
    // Numbers run on along every piece of a street of the same name.
    let mut next: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for way in ways {
        let Some(name) = &way.name else { continue };
        let number = next.entry(name.as_str()).or_insert(1);
        for pair in way.nodes.windows(2) {
            let (a, b) = (pair[0].1, pair[1].1);
            let length = a.distance_m(b);
            if length < 1.0 {
                continue;
            }
            // Along the road by interpolation, then off it along the normal
            // (a probe of a metre east and north gives the scale).
            let (de, dn) = (
                a.offset_m(1.0, 0.0).lon() - a.lon(),
                a.offset_m(0.0, 1.0).lat() - a.lat(),
            );
            let (ue, un) = (
                (b.lon() - a.lon()) / de / length,
                (b.lat() - a.lat()) / dn / length,
            );
            let mut along = EVERY_M / 2.0;
            while along < length {
                let t = along / length;
                let on = Coordinates::new(
                    a.lat() + (b.lat() - a.lat()) * t,
                    a.lon() + (b.lon() - a.lon()) * t,
                )
                .unwrap_or(a);
                for side in [1.0, -1.0] {
                    let at = on.offset_m(-un * SET_BACK_M * side, ue * SET_BACK_M * side);
                    out.push(PointAddress {
                        location: at,
                        street: Some(name.clone()),
                        housenumber: Some(number.to_string()),
                        name: None,
                    });
                    *number += 1;
                }
                along += EVERY_M;
            }
        }
    }
    out
}

struct Builder {
    rng: ChaCha8Rng,
    ground: Jurisdiction,
    units: Vec<NewUnit>,
}

impl Builder {
    fn place(
        &mut self,
        kind: PlaceKind,
        name: String,
        address: String,
        location: Coordinates,
        managed_by: Option<PropertyCompanyId>,
        parent: Option<PlaceId>,
    ) -> PlaceId {
        let id = PlaceId(self.ground.places.len() as i64 + 1);
        let community_id = self.ground.resolve(location).community_id;
        self.ground.places.push(Place {
            id,
            code: format!("PL{:04}", id.0),
            kind,
            aliases: Vec::new(),
            name,
            address,
            location,
            community_id,
            managed_by,
            parent_place_id: parent,
        });
        id
    }

    fn company(&mut self, kind: CompanyKind, name: String) -> PropertyCompanyId {
        let id = PropertyCompanyId(self.ground.property_companies.len() as i64 + 1);
        self.ground
            .property_companies
            .push(PropertyCompany { id, kind, name });
        id
    }

    /// A random point inside a community's rectangle, away from its edges.
    fn point_in_community(&mut self, index: usize) -> Coordinates {
        let (east0, north0) = community_origin(index);
        let east = east0 + self.rng.random_range(60.0..COMMUNITY_WIDTH_M - 60.0);
        let north = north0 + self.rng.random_range(60.0..ZONE_HEIGHT_M - 60.0);
        at(east, north)
    }

    fn near(&mut self, point: Coordinates, radius_m: f64) -> Coordinates {
        let east = self.rng.random_range(-radius_m..radius_m);
        let north = self.rng.random_range(-radius_m..radius_m);
        point.offset_m(east, north)
    }

    #[allow(clippy::too_many_arguments)]
    fn unit(
        &mut self,
        call_sign: String,
        name: String,
        kind: UnitKind,
        post: Option<PostId>,
        zone: Option<ZoneId>,
        status: UnitStatus,
        position: Coordinates,
        members: u32,
        company: Option<PropertyCompanyId>,
    ) {
        self.units.push(NewUnit {
            call_sign,
            name,
            kind,
            home_post_id: post,
            zone_id: zone,
            capabilities: kind.default_capabilities(),
            status,
            position: Some(position),
            member_count: members,
            property_company_id: company,
            phone: None,
        });
    }
}

/// South-west corner (east, north) of community `index` (0..10).
fn community_origin(index: usize) -> (f64, f64) {
    let column = (index % 5) as f64;
    let north = if index < 5 { ZONE_HEIGHT_M } else { 0.0 };
    (column * COMMUNITY_WIDTH_M, north)
}

fn zone_of(index: usize) -> ZoneId {
    if index < 5 { ZoneId(1) } else { ZoneId(2) }
}

/// Generates the demo district for `seed`.
pub fn generate(seed: u64) -> District {
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(seed),
        ground: Jurisdiction::default(),
        units: Vec::new(),
    };
    b.ground.station_name = "高桥派出所".into();
    b.ground.zones = vec![
        Zone {
            id: ZoneId(1),
            code: "N".into(),
            name: "北部警务防区".into(),
            boundary: rect(0.0, ZONE_HEIGHT_M, WIDTH_M, HEIGHT_M),
        },
        Zone {
            id: ZoneId(2),
            code: "S".into(),
            name: "南部警务防区".into(),
            boundary: rect(0.0, 0.0, WIDTH_M, ZONE_HEIGHT_M),
        },
    ];
    for (index, (name, code)) in COMMUNITIES.iter().enumerate() {
        let community_id = CommunityId(index as i64 + 1);
        let (east0, north0) = community_origin(index);
        b.ground.communities.push(Community {
            id: community_id,
            code: (*code).into(),
            zone_id: zone_of(index),
            name: (*name).into(),
            boundary: rect(
                east0,
                north0,
                east0 + COMMUNITY_WIDTH_M,
                north0 + ZONE_HEIGHT_M,
            ),
        });
        // Four grid cells per community, 2 × 2.
        for cell in 0..4 {
            let (dx, dy) = (
                (cell % 2) as f64 * COMMUNITY_WIDTH_M / 2.0,
                (cell / 2) as f64 * ZONE_HEIGHT_M / 2.0,
            );
            b.ground.grid_cells.push(GridCell {
                id: GridCellId(b.ground.grid_cells.len() as i64 + 1),
                community_id,
                code: format!("{code}-{}", cell + 1),
                name: format!("{name}第{}网格", cell + 1),
                boundary: rect(
                    east0 + dx,
                    north0 + dy,
                    east0 + dx + COMMUNITY_WIDTH_M / 2.0,
                    north0 + dy + ZONE_HEIGHT_M / 2.0,
                ),
            });
        }
    }

    // Posts: the two zones' police posts, then a community police office per community.
    b.ground.posts.push(Post {
        id: PostId(1),
        code: "P-N".into(),
        zone_id: ZoneId(1),
        community_id: Some(CommunityId(3)),
        kind: PostKind::PolicePost,
        name: "怡园警务点".into(),
        location: at(1700.0, 2300.0),
    });
    b.ground.posts.push(Post {
        id: PostId(2),
        code: "P-S".into(),
        zone_id: ZoneId(2),
        community_id: Some(CommunityId(7)),
        kind: PostKind::PolicePost,
        name: "高桥警务点".into(),
        location: at(1250.0, 900.0),
    });
    for (index, (name, code)) in COMMUNITIES.iter().enumerate() {
        let (east0, north0) = community_origin(index);
        let location = at(
            east0 + COMMUNITY_WIDTH_M / 2.0 + 40.0,
            north0 + ZONE_HEIGHT_M / 2.0 - 40.0,
        );
        b.ground.posts.push(Post {
            id: PostId(index as i64 + 3),
            code: format!("P-{code}"),
            zone_id: zone_of(index),
            community_id: Some(CommunityId(index as i64 + 1)),
            kind: PostKind::CommunityPoliceOffice,
            name: format!("{name}警务室"),
            location,
        });
    }

    // Markets, each run by its market management company.
    let mut market_ids = Vec::new();
    for (name, kind, east, north) in MARKETS {
        let company = b.company(
            CompanyKind::MarketManagement,
            format!("{name}市场管理有限公司"),
        );
        let id = b.place(
            kind,
            name.into(),
            format!("雨花区高桥街道{name}"),
            at(east, north),
            Some(company),
            None,
        );
        market_ids.push(id);
    }
    let leather_hall = market_ids[1];
    b.place(
        PlaceKind::Shop,
        "周记皮具店".into(),
        "高桥皮具饰品城A区128号".into(),
        at(1330.0, 668.0),
        Some(PropertyCompanyId(2)),
        Some(leather_hall),
    );
    b.place(
        PlaceKind::Shop,
        "汪氏箱包批发".into(),
        "高桥皮具饰品城B区036号".into(),
        at(1310.0, 650.0),
        Some(PropertyCompanyId(2)),
        Some(leather_hall),
    );

    // The night-food street in Yongding and its shops.
    let food_street = b.place(
        PlaceKind::Street,
        "美食七街".into(),
        "永定社区美食七街".into(),
        at(1200.0, 2400.0),
        None,
        None,
    );
    for (number, shop) in [
        (3, "老长沙口味虾"),
        (7, "夜宵店·烧烤大排档"),
        (12, "湘味粉面馆"),
        (18, "糖油粑粑"),
    ] {
        let location = at(1000.0 + f64::from(number) * 20.0, 2402.0);
        b.place(
            PlaceKind::Shop,
            shop.into(),
            format!("永定社区美食七街{number}号"),
            location,
            None,
            Some(food_street),
        );
    }

    b.place(
        PlaceKind::LegalServiceStation,
        "法治高桥服务站".into(),
        "高桥街道法治高桥服务站".into(),
        at(1100.0, 820.0),
        None,
        None,
    );
    b.place(
        PlaceKind::MediationRoom,
        "三所一庭调解室".into(),
        "高桥派出所三所一庭调解室".into(),
        at(2000.0, 1650.0),
        None,
        None,
    );

    // Residential compounds, each managed by its own property company (56 + 8 markets = 64 companies).
    let mut compound_count = 0;
    for (index, (community, _)) in COMMUNITIES.iter().enumerate() {
        let per_community = if index < 6 { 6 } else { 5 };
        for suffix in COMPOUND_SUFFIXES.iter().take(per_community) {
            let brand = COMPANY_BRANDS[compound_count % COMPANY_BRANDS.len()];
            let kind = COMPANY_KINDS[compound_count / COMPANY_BRANDS.len()];
            let company = b.company(
                CompanyKind::PropertyManagement,
                format!("{brand}{kind}有限公司"),
            );
            let short = community.trim_end_matches("社区");
            let name = format!("{short}{suffix}");
            let location = b.point_in_community(index);
            b.place(
                PlaceKind::ResidentialCompound,
                name.clone(),
                format!("{community}{name}"),
                location,
                Some(company),
                None,
            );
            compound_count += 1;
        }
    }

    // Cameras on public-facing spots.
    for n in 0..120 {
        let community = n % 10;
        let location = b.point_in_community(community);
        b.ground.cameras.push(Camera {
            id: CameraId(n as i64 + 1),
            code: format!("CAM{:03}", n + 1),
            name: format!("{}视频点{:02}", COMMUNITIES[community].0, n / 10 + 1),
            location,
            community_id: Some(CommunityId(community as i64 + 1)),
            direction: None,
            stream_url: None,
        });
    }

    generate_organisations(&mut b);
    generate_units(&mut b);
    let roads = streets();
    District {
        ground: b.ground,
        addresses: house_numbers(&roads),
        roads,
        units: b.units,
        accounts: DEMO_ACCOUNTS,
    }
}

/// The management company of the leather-goods market (story 3).
pub const LEATHER_MARKET_COMPANY: &str = "高桥皮具饰品城市场管理有限公司";
/// The judicial office of the street (司法所), for demo accounts and tests.
pub const JUDICIAL_OFFICE: &str = "高桥街道司法所";
/// The law firm on duty at the legal service station.
pub const LAW_FIRM: &str = "湘楚律师事务所";

/// The bodies that mediate disputes: the station itself, 三所一庭 (judicial
/// office, law firm, court) with the petition office, a residents'
/// committee per community, an owners' committee, and every property or
/// market company (the property council, 物业议事会).
fn generate_organisations(b: &mut Builder) {
    use precinct_domain::dispute::OrganisationKind as Kind;
    use precinct_domain::ground::Organisation;
    use precinct_domain::ids::OrganisationId;
    let add = |b: &mut Builder, kind, name: String, community_id, property_company_id| {
        let id = OrganisationId(b.ground.organisations.len() as i64 + 1);
        b.ground.organisations.push(Organisation {
            id,
            code: format!("ORG{:03}", id.0),
            kind,
            manages: Vec::new(),
            name,
            community_id,
            property_company_id,
        });
    };
    add(b, Kind::PoliceStation, "高桥派出所".into(), None, None);
    add(b, Kind::JudicialOffice, JUDICIAL_OFFICE.into(), None, None);
    add(b, Kind::LawFirm, LAW_FIRM.into(), None, None);
    add(
        b,
        Kind::Court,
        "雨花区人民法院高桥人民法庭".into(),
        None,
        None,
    );
    add(b, Kind::PetitionOffice, "高桥街道信访办".into(), None, None);
    for (index, (name, _)) in COMMUNITIES.iter().enumerate() {
        let community = CommunityId(index as i64 + 1);
        add(
            b,
            Kind::ResidentsCommittee,
            format!("{name}居委会"),
            Some(community),
            None,
        );
    }
    add(
        b,
        Kind::OwnersCommittee,
        "怡园社区业主委员会".into(),
        Some(CommunityId(3)),
        None,
    );
    let companies = b.ground.property_companies.clone();
    for company in companies {
        let kind = match company.kind {
            precinct_domain::ground::CompanyKind::PropertyManagement => Kind::PropertyCompany,
            precinct_domain::ground::CompanyKind::MarketManagement => Kind::MarketManagement,
        };
        add(b, kind, company.name.clone(), None, Some(company.id));
    }
}

fn generate_units(b: &mut Builder) {
    use UnitKind::*;
    let posts = b.ground.posts.clone();
    // Post teams at their posts.
    for post in posts.iter().filter(|p| p.kind == PostKind::PolicePost) {
        b.unit(
            post.name.clone(),
            format!("{}驻点民警", post.name),
            PostTeam,
            Some(post.id),
            Some(post.zone_id),
            UnitStatus::AtPost,
            post.location,
            3,
            None,
        );
    }
    // Patrol cars and foot patrols, two of each per zone, out on patrol in
    // the zone's eastern communities (the posts cover the west).
    for (zone, post) in [(ZoneId(1), PostId(1)), (ZoneId(2), PostId(2))] {
        let zone_code = if zone == ZoneId(1) { "北" } else { "南" };
        let base = if zone == ZoneId(1) { 0 } else { 5 };
        for n in 1..=2 {
            let position = b.point_in_community(base + 2 + n);
            b.unit(
                format!("{zone_code}巡{n}"),
                format!("{zone_code}区巡逻车{n}"),
                PatrolCar,
                Some(post),
                Some(zone),
                UnitStatus::OnPatrol,
                position,
                2,
                None,
            );
            let position = b.point_in_community(base + 2 + n);
            b.unit(
                format!("{zone_code}步{n}"),
                format!("{zone_code}区徒步巡逻{n}"),
                FootPatrol,
                Some(post),
                Some(zone),
                UnitStatus::OnPatrol,
                position,
                2,
                None,
            );
        }
    }
    // A 1+N+N community police team at every community office.
    for post in posts
        .iter()
        .filter(|p| p.kind == PostKind::CommunityPoliceOffice)
    {
        let name = post.name.trim_end_matches("警务室").to_owned();
        b.unit(
            format!("{name}警务队"),
            format!("{name}1+N+N社区警务团队"),
            CommunityPoliceTeam,
            Some(post.id),
            Some(post.zone_id),
            UnitStatus::AtPost,
            post.location,
            4,
            None,
        );
    }
    // 60 volunteer-police teams; the first is the night-market patrol on the food street.
    let food_street = b
        .ground
        .place_by_name("美食七街")
        .expect("generated")
        .location;
    let position = b.near(food_street, 60.0);
    b.unit(
        NIGHT_MARKET_VOLUNTEERS.into(),
        "夜市义警巡逻队".into(),
        VolunteerPoliceTeam,
        Some(PostId(1)),
        Some(ZoneId(1)),
        UnitStatus::OnPatrol,
        position,
        6,
        None,
    );
    for n in 2..=60 {
        let community = n % 10;
        let position = b.point_in_community(community);
        let post = PostId(community as i64 + 3);
        b.unit(
            format!("义警{n:02}"),
            format!("高桥雷锋义警第{n}队"),
            VolunteerPoliceTeam,
            Some(post),
            Some(zone_of(community)),
            UnitStatus::OnPatrol,
            position,
            5,
            None,
        );
    }
    // 100 security-force members in ten teams; the night-food association's
    // patrols the far end of the food street (the volunteers stay nearest the
    // stalls, as in story 2, whatever the seed).
    let position = b.near(food_street.offset_m(180.0, 0.0), 40.0);
    b.unit(
        "夜宵协会治保队".into(),
        "夜宵协会治保队".into(),
        SecurityForceTeam,
        Some(PostId(1)),
        Some(ZoneId(1)),
        UnitStatus::OnPatrol,
        position,
        10,
        None,
    );
    for (community, (name, _)) in COMMUNITIES.iter().enumerate().skip(1) {
        let position = b.point_in_community(community);
        let name = name.trim_end_matches("社区");
        b.unit(
            format!("{name}治保队"),
            format!("{name}治保力量"),
            SecurityForceTeam,
            Some(PostId(community as i64 + 3)),
            Some(zone_of(community)),
            UnitStatus::OnPatrol,
            position,
            10,
            None,
        );
    }
    // 410 grid workers and volunteers spread over the 40 grid cells.
    let cells = b.ground.grid_cells.clone();
    for n in 0..410 {
        let cell = &cells[n % cells.len()];
        let community = (cell.community_id.0 - 1) as usize;
        let centre = cell.boundary.centroid();
        let position = b.near(centre, 150.0);
        b.unit(
            format!("网格{}-{:02}", cell.code, n / cells.len() + 1),
            format!("{}网格员", cell.code),
            GridWorker,
            Some(PostId(community as i64 + 3)),
            Some(zone_of(community)),
            UnitStatus::OnPatrol,
            position,
            1,
            None,
        );
    }
    // One on-call staff unit per property or market company, at what it manages.
    let managed: Vec<(PropertyCompanyId, String, Coordinates)> = b
        .ground
        .property_companies
        .iter()
        .filter_map(|c| {
            let place = b
                .ground
                .places
                .iter()
                .find(|p| p.managed_by == Some(c.id) && p.parent_place_id.is_none())?;
            Some((c.id, c.name.clone(), place.location))
        })
        .collect();
    for (company, name, location) in managed {
        let zone = b.ground.resolve(location).zone_id;
        let short: String = name.chars().take(8).collect();
        b.unit(
            format!("物业{:02}", company.0),
            format!("{short}值班人员"),
            PropertyStaff,
            None,
            zone,
            UnitStatus::OnPatrol,
            location,
            2,
            Some(company),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use precinct_domain::unit::UnitKind;

    #[test]
    fn same_seed_same_district_other_seed_other_positions() {
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7).units, generate(8).units);
    }

    #[test]
    fn resembles_the_station() {
        let d = generate(42);
        let g = &d.ground;
        assert_eq!(g.zones.len(), 2);
        assert_eq!(g.communities.len(), 10);
        assert_eq!(g.grid_cells.len(), 40);
        let markets = g
            .places
            .iter()
            .filter(|p| matches!(p.kind, PlaceKind::Market | PlaceKind::WholesaleMarket))
            .count();
        assert_eq!(markets, 8);
        assert_eq!(
            g.places
                .iter()
                .filter(|p| p.kind == PlaceKind::WholesaleMarket)
                .count(),
            1
        );
        assert_eq!(g.property_companies.len(), 64);
        assert_eq!(
            g.posts
                .iter()
                .filter(|p| p.kind == PostKind::PolicePost)
                .count(),
            2
        );
        assert_eq!(
            g.posts
                .iter()
                .filter(|p| p.kind == PostKind::CommunityPoliceOffice)
                .count(),
            10
        );
        let count = |kind| d.units.iter().filter(|u| u.kind == kind).count();
        assert_eq!(count(UnitKind::VolunteerPoliceTeam), 60);
        assert_eq!(count(UnitKind::GridWorker), 410);
        assert_eq!(count(UnitKind::PropertyStaff), 64);
        assert_eq!(count(UnitKind::PatrolCar), 4);
        assert_eq!(count(UnitKind::FootPatrol), 4);
        let security: u32 = d
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::SecurityForceTeam)
            .map(|u| u.member_count)
            .sum();
        assert_eq!(security, 100);
        let mut call_signs: Vec<_> = d.units.iter().map(|u| &u.call_sign).collect();
        call_signs.sort();
        call_signs.dedup();
        assert_eq!(call_signs.len(), d.units.len(), "call signs are unique");
    }

    #[test]
    fn the_streets_reach_every_place() {
        use precinct_geo::roads::{Profile, RoadNetwork};
        let d = generate(42);
        let network = RoadNetwork::build(&d.roads);
        for place in &d.ground.places {
            let snap = network
                .snap(Profile::Driving, place.location)
                .expect("snaps");
            assert!(
                snap.distance_m < 80.0,
                "{} is {} m from a street",
                place.name,
                snap.distance_m
            );
        }
    }

    #[test]
    fn every_place_and_unit_is_on_the_ground() {
        let d = generate(42);
        for place in &d.ground.places {
            let r = d.ground.resolve(place.location);
            assert!(
                r.grid_cell_id.is_some(),
                "{} resolves to a grid cell",
                place.name
            );
            assert_eq!(r.community_id, place.community_id, "{}", place.name);
        }
        for unit in &d.units {
            assert!(
                !d.ground.resolve(unit.position.unwrap()).is_outside_ground(),
                "{}",
                unit.call_sign
            );
        }
        for compound in d
            .ground
            .places
            .iter()
            .filter(|p| p.kind == PlaceKind::ResidentialCompound)
        {
            assert!(
                compound.managed_by.is_some(),
                "{} has a property company",
                compound.name
            );
        }
    }

    #[test]
    fn story_places_are_where_the_article_puts_them() {
        let d = generate(1);
        let g = &d.ground;
        let shop = g
            .places
            .iter()
            .find(|p| p.address == "永定社区美食七街7号")
            .expect("Food Street 7");
        let r = g.resolve(shop.location);
        assert_eq!(
            g.community(r.community_id.unwrap()).unwrap().name,
            "永定社区"
        );
        assert_eq!(g.zone(r.zone_id.unwrap()).unwrap().code, "N");
        let post = g.posts.iter().find(|p| p.name == "怡园警务点").unwrap();
        assert_eq!(
            post.zone_id,
            r.zone_id.unwrap(),
            "the Yiyuan post serves the food street's zone"
        );
        assert!(post.location.distance_m(shop.location) < 1000.0);
        let volunteers = d
            .units
            .iter()
            .find(|u| u.call_sign == NIGHT_MARKET_VOLUNTEERS)
            .unwrap();
        assert!(volunteers.position.unwrap().distance_m(shop.location) < 200.0);
        assert_eq!(
            g.search_places("皮具", 10).len(),
            3,
            "the leather hall and its two shops"
        );
        assert!(!g.search_places("美食七街", 10).is_empty());
    }
}
