//! The station as its administrator describes it (a station package: every
//! record by its code, where it came from), the checks a package must pass,
//! and the plan that brings a stored station to it.
//!
//! A package's layers are optional. A layer left out keeps what the station
//! has; a layer given is the whole of it: what it no longer lists is
//! retired, never deleted, so past incidents, disputes and figures keep
//! their names and places. Everything is matched by code (call sign for
//! units, username for people), so importing the same package twice changes
//! nothing the second time.

use crate::DomainError;
use crate::budget::{Budget, Unlimited};
use crate::dispute::OrganisationKind;
use crate::ground::{
    Camera, Community, CompanyKind, GridCell, Jurisdiction, Organisation, Place, PlaceKind, Post,
    PostKind, PropertyCompany, RetiredGround, Zone,
};
use crate::ids::{
    CameraId, CommunityId, GridCellId, OrganisationId, PlaceId, PostId, PropertyCompanyId, UnitId,
    UserId, ZoneId,
};
use crate::incident::{CategoryCode, CategoryDef, CategoryFamily, PhoneNumber, Priority};
use crate::text::string_enum;
use crate::unit::{Capability, Unit, UnitKind};
use crate::user::{Role, User, Username};
use precinct_geo::{Coordinates, IndexedPolygon, Polygon};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A grid cell may stick out of its community (and a community out of its
/// zone) by at most this share of its area: GIS exports rarely share
/// borders exactly.
pub const MAX_SHARE_OUTSIDE: f64 = 0.05;
/// Two communities overlap when they share more than this share of the
/// smaller one's area.
pub const MAX_OVERLAP: f64 = 0.01;
/// At most this many overlapping pairs are listed (then one line says there
/// are more): 3,000 copies of one community are 4.5 million pairs, and
/// measuring them all said nothing the first hundred had not.
pub const MAX_OVERLAPS_LISTED: usize = 100;

/// Where a record came from: the file, the sheet (spreadsheets), the row as
/// numbered in the spreadsheet (the header is row 1) or the feature's index
/// in its layer (from 0).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<u32>,
}

impl Source {
    pub fn file(file: &str) -> Source {
        Source {
            file: file.to_owned(),
            ..Source::default()
        }
    }

    pub fn row(file: &str, sheet: Option<&str>, row: u32) -> Source {
        Source {
            file: file.to_owned(),
            sheet: sheet.map(str::to_owned),
            row: Some(row),
            feature: None,
        }
    }

    pub fn feature(file: &str, index: u32) -> Source {
        Source {
            file: file.to_owned(),
            feature: Some(index),
            ..Source::default()
        }
    }
}

/// One thing wrong with a package, where it is, in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(flatten)]
    pub at: Source,
    /// The column (or property) at fault, by its English key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
    pub message_zh: String,
}

impl Problem {
    pub fn new(at: &Source, column: Option<&str>, message: String, message_zh: String) -> Problem {
        Problem {
            at: at.clone(),
            column: column.map(str::to_owned),
            message,
            message_zh,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.at.file)?;
        if let Some(sheet) = &self.at.sheet {
            write!(f, " [{sheet}]")?;
        }
        if let Some(row) = self.at.row {
            write!(f, " row {row}")?;
        }
        if let Some(feature) = self.at.feature {
            write!(f, " feature {feature}")?;
        }
        if let Some(column) = &self.column {
            write!(f, " column {column}")?;
        }
        write!(f, ": {} / {}", self.message, self.message_zh)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    pub boundary: Polygon,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommunityRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    /// The zone's code.
    pub parent: String,
    pub boundary: Polygon,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GridCellRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    /// The community's code.
    pub parent: String,
    pub boundary: Polygon,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    /// Given, or by its parent: a zone's post, a community's office.
    pub kind: Option<PostKind>,
    /// The code of its zone or community.
    pub parent: String,
    pub location: Coordinates,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    pub kind: PlaceKind,
    pub address: String,
    pub aliases: Vec<String>,
    /// The community's code; found from the location when left out.
    pub parent: Option<String>,
    /// The code of the place it stands in (a shop in a market or street).
    pub parent_place: Option<String>,
    pub location: Coordinates,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CameraRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub direction: Option<f64>,
    pub stream_url: Option<String>,
    pub location: Coordinates,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationRecord {
    pub at: Source,
    pub code: String,
    pub name: String,
    pub kind: OrganisationKind,
    /// Codes of the places it manages.
    pub manages: Vec<String>,
    /// The community it serves (a residents' or owners' committee).
    pub community: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnitRecord {
    pub at: Source,
    pub call_sign: String,
    pub name: String,
    pub kind: UnitKind,
    pub post: Option<String>,
    pub zone: Option<String>,
    /// Empty: what the kind can do by default.
    pub capabilities: Vec<Capability>,
    pub phone: Option<PhoneNumber>,
    /// The company a property-staff unit works for (organisation code).
    pub organisation: Option<String>,
    pub members: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub at: Source,
    pub username: Username,
    pub name: String,
    pub role: Role,
    /// The call sign of a field user's unit.
    pub unit: Option<String>,
    /// The code of a mediator's or company staff member's organisation.
    pub organisation: Option<String>,
    pub phone: Option<PhoneNumber>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRecord {
    pub at: Source,
    pub code: CategoryCode,
    pub name_zh: String,
    pub name_en: String,
    pub family: CategoryFamily,
    pub default_priority: Priority,
}

/// A station package's content. `None` layers were not in the package.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StationPackage {
    pub name: String,
    pub time_zone: String,
    pub zones: Option<Vec<ZoneRecord>>,
    pub communities: Option<Vec<CommunityRecord>>,
    pub grid_cells: Option<Vec<GridCellRecord>>,
    pub posts: Option<Vec<PostRecord>>,
    pub places: Option<Vec<PlaceRecord>>,
    pub cameras: Option<Vec<CameraRecord>>,
    pub organisations: Option<Vec<OrganisationRecord>>,
    pub units: Option<Vec<UnitRecord>>,
    pub people: Option<Vec<PersonRecord>>,
    /// The incident code table.
    pub categories: Option<Vec<CategoryRecord>>,
}

string_enum! {
    /// The parts of a station a package describes, in the order they are built.
    pub enum Layer {
        Zones = "zones",
        Communities = "communities",
        GridCells = "grid_cells",
        Posts = "posts",
        Organisations = "organisations",
        Places = "places",
        Cameras = "cameras",
        Units = "units",
        People = "people",
        Categories = "categories",
    }
}

impl Layer {
    pub fn label_zh(self) -> &'static str {
        match self {
            Layer::Zones => "防区",
            Layer::Communities => "社区",
            Layer::GridCells => "网格",
            Layer::Posts => "警务点",
            Layer::Organisations => "组织",
            Layer::Places => "地点",
            Layer::Cameras => "摄像头",
            Layer::Units => "力量",
            Layer::People => "人员",
            Layer::Categories => "警情类别",
        }
    }
}

/// What an import does to one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerChanges {
    pub layer: Layer,
    pub added: u32,
    pub changed: u32,
    /// Retired (units, ground) or disabled (people).
    pub retired: u32,
    pub unchanged: u32,
}

impl LayerChanges {
    fn new(layer: Layer) -> LayerChanges {
        LayerChanges {
            layer,
            added: 0,
            changed: 0,
            retired: 0,
            unchanged: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.changed == 0 && self.retired == 0
    }

    /// Counts a stored record listed in the package: one that was retired
    /// (or disabled) comes back as added. True when it must be written.
    fn count_stored(&mut self, gone: bool, same: bool) -> bool {
        if gone {
            self.added += 1;
        } else if same {
            self.unchanged += 1;
            return false;
        } else {
            self.changed += 1;
        }
        true
    }
}

impl std::fmt::Display for LayerChanges {
    /// "12 units added, 3 changed, 1 retired".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gone = if self.layer == Layer::People {
            "disabled"
        } else {
            "retired"
        };
        write!(
            f,
            "{} {} added, {} changed, {} {gone}, {} unchanged",
            self.added, self.layer, self.changed, self.retired, self.unchanged
        )
    }
}

/// A unit's record fields as an import writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitFields {
    pub call_sign: String,
    pub name: String,
    pub kind: UnitKind,
    pub home_post_id: Option<PostId>,
    pub zone_id: Option<ZoneId>,
    pub capabilities: Vec<Capability>,
    pub phone: Option<PhoneNumber>,
    pub member_count: u32,
    pub property_company_id: Option<PropertyCompanyId>,
}

/// What an import does to one unit.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitChange {
    /// A new unit; it starts at its post (at_post), or off duty without a
    /// position when it has none.
    Add {
        fields: UnitFields,
        start_at: Option<Coordinates>,
    },
    /// New record fields (or a retired unit listed again).
    Update {
        id: UnitId,
        fields: UnitFields,
    },
    Retire {
        id: UnitId,
    },
}

/// An account's fields as an import writes them. The unit is named by call
/// sign because a new unit gets its id in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonFields {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub unit_call_sign: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub phone: Option<PhoneNumber>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PersonChange {
    /// A new account: it gets a one-time password.
    Add(PersonFields),
    /// New fields (or a disabled account listed again, enabled).
    Update {
        id: UserId,
        fields: PersonFields,
    },
    Disable {
        id: UserId,
    },
}

/// The stored station an import is planned against.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StationState {
    pub ground: Jurisdiction,
    /// Every unit, retired ones too.
    pub units: Vec<Unit>,
    /// Every account, disabled ones too.
    pub users: Vec<User>,
}

/// Everything an import writes, and its summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StationPlan {
    pub ground: Jurisdiction,
    pub units: Vec<UnitChange>,
    pub people: Vec<PersonChange>,
    pub changes: Vec<LayerChanges>,
}

impl StationPlan {
    /// Usernames of the accounts this import creates.
    pub fn new_usernames(&self) -> Vec<Username> {
        self.people
            .iter()
            .filter_map(|c| match c {
                PersonChange::Add(fields) => Some(fields.username.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(LayerChanges::is_empty)
    }
}

fn bilingual(at: &Source, column: &str, en: String, zh: String) -> Problem {
    Problem::new(at, Some(column), en, zh)
}

/// What a record refers to by code, for the "unknown … code" problem.
struct Refers<'a> {
    column: &'a str,
    what: &'a str,
    what_zh: &'a str,
}

/// Reports `code` (when given) unless it is among `known`.
fn check_reference(
    problems: &mut Vec<Problem>,
    at: &Source,
    refers: Refers<'_>,
    code: Option<&String>,
    known: &HashSet<&str>,
) {
    if let Some(code) = code
        && !known.contains(code.as_str())
    {
        problems.push(unknown_code(
            at,
            refers.column,
            refers.what,
            refers.what_zh,
            code,
        ));
    }
}

fn unknown_code(at: &Source, column: &str, what: &str, what_zh: &str, code: &str) -> Problem {
    bilingual(
        at,
        column,
        format!("unknown {what} code {code:?}"),
        format!("{what_zh}编码 “{code}” 不存在"),
    )
}

impl StationPackage {
    /// The stored station described as a package (every layer given):
    /// what `export` writes, and what a package's missing layers are taken
    /// from.
    pub fn of_station(state: &StationState) -> StationPackage {
        let ground = &state.ground;
        let at = |file: &str| Source::file(file);
        let zone_code = |id: ZoneId| ground.zone(id).map(|z| z.code.clone()).unwrap_or_default();
        let community_code = |id: CommunityId| {
            ground
                .community(id)
                .map(|c| c.code.clone())
                .unwrap_or_default()
        };
        // Lookups by id through maps: a city has tens of thousands of places.
        let place_codes: HashMap<PlaceId, &str> = ground
            .places
            .iter()
            .chain(&ground.retired.places)
            .map(|p| (p.id, p.code.as_str()))
            .collect();
        let place_code = |id: PlaceId| place_codes.get(&id).map(|c| (*c).to_owned());
        let zones = ground
            .zones
            .iter()
            .map(|z| ZoneRecord {
                at: at("zones"),
                code: z.code.clone(),
                name: z.name.clone(),
                boundary: z.boundary.clone(),
            })
            .collect();
        let communities = ground
            .communities
            .iter()
            .map(|c| CommunityRecord {
                at: at("communities"),
                code: c.code.clone(),
                name: c.name.clone(),
                parent: zone_code(c.zone_id),
                boundary: c.boundary.clone(),
            })
            .collect();
        let grid_cells = ground
            .grid_cells
            .iter()
            .map(|g| GridCellRecord {
                at: at("grid_cells"),
                code: g.code.clone(),
                name: g.name.clone(),
                parent: community_code(g.community_id),
                boundary: g.boundary.clone(),
            })
            .collect();
        let posts = ground
            .posts
            .iter()
            .map(|p| PostRecord {
                at: at("posts"),
                code: p.code.clone(),
                name: p.name.clone(),
                kind: Some(p.kind),
                parent: match (p.kind, p.community_id) {
                    (PostKind::CommunityPoliceOffice, Some(c)) => community_code(c),
                    _ => zone_code(p.zone_id),
                },
                location: p.location,
            })
            .collect();
        let places = ground
            .places
            .iter()
            .map(|p| PlaceRecord {
                at: at("places"),
                code: p.code.clone(),
                name: p.name.clone(),
                kind: p.kind,
                address: p.address.clone(),
                aliases: p.aliases.clone(),
                parent: p.community_id.map(community_code),
                parent_place: p.parent_place_id.and_then(place_code),
                location: p.location,
            })
            .collect();
        let cameras = ground
            .cameras
            .iter()
            .map(|c| CameraRecord {
                at: at("cameras"),
                code: c.code.clone(),
                name: c.name.clone(),
                parent: c.community_id.map(community_code),
                direction: c.direction,
                stream_url: c.stream_url.clone(),
                location: c.location,
            })
            .collect();
        let mut managed_places: HashMap<PropertyCompanyId, Vec<PlaceId>> = HashMap::new();
        for place in &ground.places {
            if let Some(company) = place.managed_by {
                managed_places.entry(company).or_default().push(place.id);
            }
        }
        let organisations = ground
            .organisations
            .iter()
            .map(|o| {
                // A company manages what its places say (grounds made before
                // organisations listed their places), else its own list.
                let mut manages: Vec<PlaceId> = o.manages.clone();
                if let Some(company) = o.property_company_id {
                    for place in ground
                        .places
                        .iter()
                        .filter(|p| p.managed_by == Some(company))
                    {
                        if !manages.contains(&place.id) {
                            manages.push(place.id);
                        }
                    }
                }
                OrganisationRecord {
                    at: at("organisations"),
                    code: o.code.clone(),
                    name: o.name.clone(),
                    kind: o.kind,
                    manages: manages.into_iter().filter_map(place_code).collect(),
                    community: o.community_id.map(community_code),
                }
            })
            .collect();
        let organisation_of_company = |company: PropertyCompanyId| {
            ground
                .organisations
                .iter()
                .find(|o| o.property_company_id == Some(company))
                .map(|o| o.code.clone())
        };
        let units = state
            .units
            .iter()
            .filter(|u| !u.retired)
            .map(|u| UnitRecord {
                at: at("units"),
                call_sign: u.call_sign.clone(),
                name: u.name.clone(),
                kind: u.kind,
                post: u
                    .home_post_id
                    .and_then(|p| ground.post(p).map(|p| p.code.clone())),
                zone: u.zone_id.map(zone_code),
                capabilities: u.capabilities.clone(),
                phone: u.phone.clone(),
                organisation: u.property_company_id.and_then(organisation_of_company),
                members: u.member_count,
            })
            .collect();
        let unit_call_sign: HashMap<UnitId, &str> = state
            .units
            .iter()
            .map(|u| (u.id, u.call_sign.as_str()))
            .collect();
        let people = state
            .users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| PersonRecord {
                at: at("people"),
                username: u.username.clone(),
                name: u.display_name.clone(),
                role: u.role,
                unit: u
                    .unit_id
                    .and_then(|id| unit_call_sign.get(&id).map(|c| (*c).to_owned())),
                organisation: u
                    .organisation_id
                    .and_then(|id| ground.organisation(id).map(|o| o.code.clone())),
                phone: u.phone.clone(),
            })
            .collect();
        let categories = ground
            .category_table()
            .iter()
            .map(|c| CategoryRecord {
                at: at("categories"),
                code: c.code.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                family: c.family,
                default_priority: c.default_priority,
            })
            .collect();
        StationPackage {
            name: ground.station_name.clone(),
            time_zone: ground
                .time_zone
                .clone()
                .unwrap_or_else(|| "Asia/Shanghai".to_owned()),
            zones: Some(zones),
            communities: Some(communities),
            grid_cells: Some(grid_cells),
            posts: Some(posts),
            places: Some(places),
            cameras: Some(cameras),
            organisations: Some(organisations),
            units: Some(units),
            people: Some(people),
            categories: Some(categories),
        }
    }

    /// This package with its missing layers taken from `base`.
    pub fn over(&self, base: StationPackage) -> StationPackage {
        StationPackage {
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            zones: self.zones.clone().or(base.zones),
            communities: self.communities.clone().or(base.communities),
            grid_cells: self.grid_cells.clone().or(base.grid_cells),
            posts: self.posts.clone().or(base.posts),
            places: self.places.clone().or(base.places),
            cameras: self.cameras.clone().or(base.cameras),
            organisations: self.organisations.clone().or(base.organisations),
            units: self.units.clone().or(base.units),
            people: self.people.clone().or(base.people),
            categories: self.categories.clone().or(base.categories),
        }
    }
}

/// Finds codes given twice in one layer.
fn duplicates<'a, R: 'a>(
    records: &'a [R],
    key: impl Fn(&R) -> &str,
    at: impl Fn(&R) -> &Source,
    column: &str,
    problems: &mut Vec<Problem>,
) -> HashSet<&'a str> {
    let mut seen: HashMap<&str, &Source> = HashMap::new();
    for record in records {
        let code = key(record);
        if let Some(first) = seen.get(code) {
            let first = first
                .row
                .or(first.feature)
                .map(|n| n.to_string())
                .unwrap_or_default();
            problems.push(bilingual(
                at(record),
                column,
                format!("{column} {code:?} is given twice (first at {first})"),
                format!("“{code}” 重复（首次出现于 {first}）"),
            ));
        } else {
            seen.insert(code, at(record));
        }
    }
    seen.into_keys().collect()
}

fn check_area(at: &Source, area: &Polygon, problems: &mut Vec<Problem>) {
    if let Some(point) = area.self_intersection() {
        problems.push(bilingual(
            at,
            "geometry",
            format!(
                "the polygon crosses itself (near {:.6}, {:.6})",
                point.lat(),
                point.lon()
            ),
            format!(
                "多边形自相交（约在 {:.6}, {:.6} 附近）",
                point.lat(),
                point.lon()
            ),
        ));
    }
}

fn check_inside(
    at: &Source,
    area: &Polygon,
    parent: &Polygon,
    what: &str,
    what_zh: &str,
    problems: &mut Vec<Problem>,
) {
    let outside = 1.0 - area.share_inside(parent);
    if outside > MAX_SHARE_OUTSIDE {
        problems.push(bilingual(
            at,
            "geometry",
            format!(
                "{:.0}% of it lies outside its {what} (at most {:.0}% may)",
                outside * 100.0,
                MAX_SHARE_OUTSIDE * 100.0
            ),
            format!(
                "{:.0}% 的面积在所属{what_zh}之外（最多允许 {:.0}%）",
                outside * 100.0,
                MAX_SHARE_OUTSIDE * 100.0
            ),
        ));
    }
}

fn check_on_ground(
    at: &Source,
    point: Coordinates,
    zones: &[IndexedPolygon],
    problems: &mut Vec<Problem>,
) {
    if !zones.iter().any(|z| z.contains(point)) {
        problems.push(bilingual(
            at,
            "geometry",
            format!(
                "({:.6}, {:.6}) is outside the station's ground",
                point.lat(),
                point.lon()
            ),
            format!("({:.6}, {:.6}) 不在辖区内", point.lat(), point.lon()),
        ));
    }
}

/// Pairs of communities that overlap, each pair once with the later one
/// named: boxes swept west to east, so only communities whose boxes meet
/// are measured, and at most [`MAX_OVERLAPS_LISTED`] are listed.
fn check_overlaps(
    communities: &[CommunityRecord],
    budget: &dyn Budget,
    problems: &mut Vec<Problem>,
) {
    let boxes: Vec<(Coordinates, Coordinates)> =
        communities.iter().map(|c| c.boundary.bounds()).collect();
    let mut by_west: Vec<usize> = (0..communities.len()).collect();
    by_west.sort_by(|&a, &b| boxes[a].0.lon().total_cmp(&boxes[b].0.lon()));
    let mut listed = 0;
    for (k, &a) in by_west.iter().enumerate() {
        if budget.exhausted() {
            return;
        }
        for &b in &by_west[k + 1..] {
            if boxes[b].0.lon() > boxes[a].1.lon() {
                break;
            }
            if boxes[b].0.lat() > boxes[a].1.lat() || boxes[a].0.lat() > boxes[b].1.lat() {
                continue;
            }
            let (earlier, later) = (&communities[a.min(b)], &communities[a.max(b)]);
            let shared = later
                .boundary
                .share_inside(&earlier.boundary)
                .max(earlier.boundary.share_inside(&later.boundary));
            if shared <= MAX_OVERLAP {
                continue;
            }
            if listed == MAX_OVERLAPS_LISTED {
                problems.push(bilingual(
                    &later.at,
                    "geometry",
                    format!(
                        "more communities overlap; only the first {MAX_OVERLAPS_LISTED} pairs are listed"
                    ),
                    format!("还有更多社区相互重叠，仅列出前 {MAX_OVERLAPS_LISTED} 对"),
                ));
                return;
            }
            listed += 1;
            problems.push(bilingual(
                &later.at,
                "geometry",
                format!(
                    "community {:?} overlaps community {:?} ({:.0}% of the smaller one)",
                    later.code,
                    earlier.code,
                    shared * 100.0
                ),
                format!(
                    "社区 “{}” 与社区 “{}” 重叠（占较小者面积的 {:.0}%）",
                    later.code,
                    earlier.code,
                    shared * 100.0
                ),
            ));
        }
    }
}

/// A camera's stream is fetched by the console or the server: only the
/// schemes media servers speak, never `javascript:` or `file:`.
pub fn stream_url_allowed(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["http://", "https://", "rtsp://", "rtmp://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
}

/// How much [`check`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// Codes and references: cheap, and all a plan needs to be made.
    References,
    /// References and shapes: self-intersection, containment, overlap,
    /// points on the ground.
    All,
}

/// Checks a whole station (a package over the stored station, so every
/// layer is given): codes unique, references known, shapes sound and in
/// place. Returns every problem found, in layer order.
pub fn check(station: &StationPackage, checks: Checks) -> Vec<Problem> {
    check_within(station, checks, &Unlimited)
}

/// As [`check`], stopping early (with what it found so far) when `budget`
/// is spent; the caller must then not take the answer as complete.
pub fn check_within(station: &StationPackage, checks: Checks, budget: &dyn Budget) -> Vec<Problem> {
    let shapes = checks == Checks::All;
    let mut problems = Vec::new();
    let empty = Vec::new();
    let zones = station.zones.as_ref().unwrap_or(&empty);
    let communities = station.communities.as_deref().unwrap_or_default();
    let grid_cells = station.grid_cells.as_deref().unwrap_or_default();
    let posts = station.posts.as_deref().unwrap_or_default();
    let places = station.places.as_deref().unwrap_or_default();
    let cameras = station.cameras.as_deref().unwrap_or_default();
    let organisations = station.organisations.as_deref().unwrap_or_default();
    let units = station.units.as_deref().unwrap_or_default();
    let people = station.people.as_deref().unwrap_or_default();

    let zone_codes = duplicates(zones, |r| &r.code, |r| &r.at, "code", &mut problems);
    let community_codes = duplicates(communities, |r| &r.code, |r| &r.at, "code", &mut problems);
    duplicates(grid_cells, |r| &r.code, |r| &r.at, "code", &mut problems);
    let post_codes = duplicates(posts, |r| &r.code, |r| &r.at, "code", &mut problems);
    let place_codes = duplicates(places, |r| &r.code, |r| &r.at, "code", &mut problems);
    duplicates(cameras, |r| &r.code, |r| &r.at, "code", &mut problems);
    let organisation_codes =
        duplicates(organisations, |r| &r.code, |r| &r.at, "code", &mut problems);
    let call_signs = duplicates(
        units,
        |r| &r.call_sign,
        |r| &r.at,
        "call_sign",
        &mut problems,
    );
    let categories = station.categories.as_deref().unwrap_or_default();
    duplicates(
        categories,
        |r| r.code.as_str(),
        |r| &r.at,
        "code",
        &mut problems,
    );
    if station.categories.as_ref().is_some_and(Vec::is_empty) {
        problems.push(bilingual(
            &Source::file("categories"),
            "code",
            "the incident code table is empty".into(),
            "警情类别表为空".into(),
        ));
    }
    duplicates(
        people,
        |r| r.username.as_str(),
        |r| &r.at,
        "username",
        &mut problems,
    );

    let zone_area: HashMap<&str, &Polygon> = zones
        .iter()
        .map(|z| (z.code.as_str(), &z.boundary))
        .collect();
    let community_area: HashMap<&str, &Polygon> = communities
        .iter()
        .map(|c| (c.code.as_str(), &c.boundary))
        .collect();

    for zone in zones {
        if shapes {
            check_area(&zone.at, &zone.boundary, &mut problems);
        }
    }
    for community in communities {
        if budget.exhausted() {
            return problems;
        }
        if shapes {
            check_area(&community.at, &community.boundary, &mut problems);
        }
        match zone_area.get(community.parent.as_str()) {
            None => problems.push(unknown_code(
                &community.at,
                "parent",
                "zone",
                "防区",
                &community.parent,
            )),
            Some(zone) if shapes => check_inside(
                &community.at,
                &community.boundary,
                zone,
                "zone",
                "防区",
                &mut problems,
            ),
            Some(_) => {}
        }
    }
    if shapes {
        check_overlaps(communities, budget, &mut problems);
    }
    let ground: Vec<IndexedPolygon> = if shapes {
        zones
            .iter()
            .map(|z| IndexedPolygon::new(&z.boundary))
            .collect()
    } else {
        Vec::new()
    };
    for cell in grid_cells {
        if budget.exhausted() {
            return problems;
        }
        if shapes {
            check_area(&cell.at, &cell.boundary, &mut problems);
        }
        match community_area.get(cell.parent.as_str()) {
            None => problems.push(unknown_code(
                &cell.at,
                "parent",
                "community",
                "社区",
                &cell.parent,
            )),
            Some(community) if shapes => check_inside(
                &cell.at,
                &cell.boundary,
                community,
                "community",
                "社区",
                &mut problems,
            ),
            Some(_) => {}
        }
    }
    for post in posts {
        if !zone_codes.contains(post.parent.as_str())
            && !community_codes.contains(post.parent.as_str())
        {
            problems.push(unknown_code(
                &post.at,
                "parent",
                "zone or community",
                "防区或社区",
                &post.parent,
            ));
        }
        if shapes {
            check_on_ground(&post.at, post.location, &ground, &mut problems);
        }
    }
    for place in places {
        if budget.exhausted() {
            return problems;
        }
        let community = Refers {
            column: "parent",
            what: "community",
            what_zh: "社区",
        };
        check_reference(
            &mut problems,
            &place.at,
            community,
            place.parent.as_ref(),
            &community_codes,
        );
        if let Some(parent) = &place.parent_place
            && (!place_codes.contains(parent.as_str()) || *parent == place.code)
        {
            problems.push(unknown_code(
                &place.at,
                "parent_place",
                "place",
                "地点",
                parent,
            ));
        }
        if shapes {
            check_on_ground(&place.at, place.location, &ground, &mut problems);
        }
    }
    for camera in cameras {
        let community = Refers {
            column: "parent",
            what: "community",
            what_zh: "社区",
        };
        check_reference(
            &mut problems,
            &camera.at,
            community,
            camera.parent.as_ref(),
            &community_codes,
        );
        if let Some(url) = &camera.stream_url
            && !stream_url_allowed(url)
        {
            problems.push(bilingual(
                &camera.at,
                "stream_url",
                format!("stream_url {url:?} must start with http://, https://, rtsp:// or rtmp://"),
                format!("视频流地址 “{url}” 须以 http://、https://、rtsp:// 或 rtmp:// 开头"),
            ));
        }
        if let Some(direction) = camera.direction
            && !(0.0..=360.0).contains(&direction)
        {
            problems.push(bilingual(
                &camera.at,
                "direction",
                format!("direction {direction} is not 0 to 360 degrees"),
                format!("朝向 {direction} 不在 0 到 360 度之间"),
            ));
        }
    }
    for organisation in organisations {
        for place in &organisation.manages {
            let managed = Refers {
                column: "manages",
                what: "place",
                what_zh: "地点",
            };
            check_reference(
                &mut problems,
                &organisation.at,
                managed,
                Some(place),
                &place_codes,
            );
        }
        let community = Refers {
            column: "community",
            what: "community",
            what_zh: "社区",
        };
        check_reference(
            &mut problems,
            &organisation.at,
            community,
            organisation.community.as_ref(),
            &community_codes,
        );
    }
    // Two companies cannot both manage one place.
    let mut manager: HashMap<&str, &str> = HashMap::new();
    for organisation in organisations {
        for place in &organisation.manages {
            if let Some(other) = manager.insert(place.as_str(), organisation.code.as_str())
                && other != organisation.code
            {
                problems.push(bilingual(
                    &organisation.at,
                    "manages",
                    format!("place {place:?} is already managed by {other:?}"),
                    format!("地点 “{place}” 已由 “{other}” 管理"),
                ));
            }
        }
    }
    let organisation_kind: HashMap<&str, OrganisationKind> = organisations
        .iter()
        .map(|o| (o.code.as_str(), o.kind))
        .collect();
    for unit in units {
        check_reference(
            &mut problems,
            &unit.at,
            Refers {
                column: "post",
                what: "post",
                what_zh: "警务点",
            },
            unit.post.as_ref(),
            &post_codes,
        );
        check_reference(
            &mut problems,
            &unit.at,
            Refers {
                column: "zone",
                what: "zone",
                what_zh: "防区",
            },
            unit.zone.as_ref(),
            &zone_codes,
        );
        if let Some(organisation) = &unit.organisation {
            match organisation_kind.get(organisation.as_str()) {
                None => problems.push(unknown_code(
                    &unit.at,
                    "organisation",
                    "organisation",
                    "组织",
                    organisation,
                )),
                Some(kind) if company_kind(*kind).is_none() => problems.push(bilingual(
                    &unit.at,
                    "organisation",
                    format!("organisation {organisation:?} is not a property or market company"),
                    format!("组织 “{organisation}” 不是物业或市场管理公司"),
                )),
                Some(_) => {}
            }
        }
    }
    for person in people {
        let unit = Refers {
            column: "unit",
            what: "unit call sign",
            what_zh: "力量呼号",
        };
        check_reference(
            &mut problems,
            &person.at,
            unit,
            person.unit.as_ref(),
            &call_signs,
        );
        let organisation = Refers {
            column: "organisation",
            what: "organisation",
            what_zh: "组织",
        };
        check_reference(
            &mut problems,
            &person.at,
            organisation,
            person.organisation.as_ref(),
            &organisation_codes,
        );
    }
    problems
}

/// The company an organisation of this kind is, if it is one.
fn company_kind(kind: OrganisationKind) -> Option<CompanyKind> {
    match kind {
        OrganisationKind::PropertyCompany => Some(CompanyKind::PropertyManagement),
        OrganisationKind::MarketManagement => Some(CompanyKind::MarketManagement),
        _ => None,
    }
}

/// Ids by code for one layer: the stored ones kept (active or retired),
/// new codes numbered after the highest id ever given.
fn assign_ids<'a>(
    stored: impl Iterator<Item = (&'a str, i64)>,
    codes: impl Iterator<Item = &'a str>,
) -> HashMap<String, i64> {
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut next = 1;
    for (code, id) in stored {
        next = next.max(id + 1);
        if !code.is_empty() {
            ids.entry(code.to_owned()).or_insert(id);
        }
    }
    for code in codes {
        if !ids.contains_key(code) {
            ids.insert(code.to_owned(), next);
            next += 1;
        }
    }
    ids
}

/// Splits a layer into its new active items and what is retired (what was
/// retired stays so unless listed again), and counts the changes.
fn merge_layer<T: Clone + PartialEq>(
    layer: Layer,
    new: Vec<T>,
    active: &[T],
    retired: &[T],
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Vec<T>, LayerChanges) {
    let mut changes = LayerChanges::new(layer);
    let new_ids: HashSet<i64> = new.iter().map(&id).collect();
    let active_by_id: HashMap<i64, &T> = active.iter().map(|a| (id(a), a)).collect();
    for item in &new {
        match active_by_id.get(&id(item)) {
            Some(old) if *old == item => changes.unchanged += 1,
            Some(_) => changes.changed += 1,
            None => changes.added += 1,
        }
    }
    let mut still_retired: Vec<T> = retired
        .iter()
        .filter(|r| !new_ids.contains(&id(r)))
        .cloned()
        .collect();
    for old in active.iter().filter(|a| !new_ids.contains(&id(a))) {
        changes.retired += 1;
        still_retired.push(old.clone());
    }
    (new, still_retired, changes)
}

/// Plans bringing the stored station `state` to `station` (a package laid
/// over the stored station, so every layer is given). The station must
/// have passed [`check`]; references are then known.
fn plan(station: &StationPackage, state: &StationState) -> StationPlan {
    let current = &state.ground;
    let zones: Vec<ZoneRecord> = station.zones.clone().unwrap_or_default();
    let communities: Vec<CommunityRecord> = station.communities.clone().unwrap_or_default();
    let grid_cells: Vec<GridCellRecord> = station.grid_cells.clone().unwrap_or_default();
    let posts: Vec<PostRecord> = station.posts.clone().unwrap_or_default();
    let places: Vec<PlaceRecord> = station.places.clone().unwrap_or_default();
    let cameras: Vec<CameraRecord> = station.cameras.clone().unwrap_or_default();
    let organisations: Vec<OrganisationRecord> = station.organisations.clone().unwrap_or_default();

    let retired = &current.retired;
    // Ids by code for each layer, from every stored item, retired ones too.
    macro_rules! ids {
        ($field:ident, $records:expr) => {
            assign_ids(
                current
                    .$field
                    .iter()
                    .chain(&retired.$field)
                    .map(|x| (x.code.as_str(), x.id.0)),
                $records.iter().map(|r| r.code.as_str()),
            )
        };
    }
    let zone_ids = ids!(zones, zones);
    let community_ids = ids!(communities, communities);
    let cell_ids = ids!(grid_cells, grid_cells);
    let post_ids = ids!(posts, posts);
    let place_ids = ids!(places, places);
    let camera_ids = ids!(cameras, cameras);
    let organisation_ids = ids!(organisations, organisations);
    // A company organisation keeps the company it had; new ones are numbered on.
    let mut next_company = current
        .property_companies
        .iter()
        .chain(&retired.property_companies)
        .map(|c| c.id.0 + 1)
        .max()
        .unwrap_or(1);
    let stored_company: HashMap<i64, PropertyCompanyId> = current
        .organisations
        .iter()
        .chain(&retired.organisations)
        .filter_map(|o| o.property_company_id.map(|c| (o.id.0, c)))
        .collect();
    let mut company_of: HashMap<&str, PropertyCompanyId> = HashMap::new();
    for organisation in organisations
        .iter()
        .filter(|o| company_kind(o.kind).is_some())
    {
        let id = organisation_ids[&organisation.code];
        let company = stored_company.get(&id).copied().unwrap_or_else(|| {
            next_company += 1;
            PropertyCompanyId(next_company - 1)
        });
        company_of.insert(organisation.code.as_str(), company);
    }

    let zone_id = |code: &str| ZoneId(zone_ids[code]);
    let community_id = |code: &str| CommunityId(community_ids[code]);
    let community_zone: HashMap<&str, ZoneId> = communities
        .iter()
        .map(|c| (c.code.as_str(), zone_id(&c.parent)))
        .collect();
    let community_areas: Vec<(CommunityId, &Polygon)> = communities
        .iter()
        .map(|c| (community_id(&c.code), &c.boundary))
        .collect();
    let community_at = |point: Coordinates| {
        community_areas
            .iter()
            .find(|(_, area)| area.contains(point))
            .map(|(id, _)| *id)
    };

    let new_zones: Vec<Zone> = zones
        .iter()
        .map(|r| Zone {
            id: zone_id(&r.code),
            code: r.code.clone(),
            name: r.name.clone(),
            boundary: r.boundary.clone(),
        })
        .collect();
    let new_communities: Vec<Community> = communities
        .iter()
        .map(|r| Community {
            id: community_id(&r.code),
            code: r.code.clone(),
            zone_id: zone_id(&r.parent),
            name: r.name.clone(),
            boundary: r.boundary.clone(),
        })
        .collect();
    let new_cells: Vec<GridCell> = grid_cells
        .iter()
        .map(|r| GridCell {
            id: GridCellId(cell_ids[&r.code]),
            community_id: community_id(&r.parent),
            code: r.code.clone(),
            name: r.name.clone(),
            boundary: r.boundary.clone(),
        })
        .collect();
    let new_posts: Vec<Post> = posts
        .iter()
        .map(|r| {
            let in_community =
                community_ids.contains_key(&r.parent) && !zone_ids.contains_key(&r.parent);
            let (zone, community) = if in_community {
                (
                    community_zone[r.parent.as_str()],
                    Some(community_id(&r.parent)),
                )
            } else {
                (zone_id(&r.parent), community_at(r.location))
            };
            let kind = r.kind.unwrap_or(if in_community {
                PostKind::CommunityPoliceOffice
            } else {
                PostKind::PolicePost
            });
            Post {
                id: PostId(post_ids[&r.code]),
                code: r.code.clone(),
                zone_id: zone,
                community_id: community,
                kind,
                name: r.name.clone(),
                location: r.location,
            }
        })
        .collect();
    let manager_of: HashMap<&str, &OrganisationRecord> = organisations
        .iter()
        .flat_map(|o| o.manages.iter().map(move |p| (p.as_str(), o)))
        .collect();
    let new_places: Vec<Place> = places
        .iter()
        .map(|r| Place {
            id: PlaceId(place_ids[&r.code]),
            code: r.code.clone(),
            kind: r.kind,
            name: r.name.clone(),
            aliases: r.aliases.clone(),
            address: r.address.clone(),
            location: r.location,
            community_id: match &r.parent {
                Some(code) => Some(community_id(code)),
                None => community_at(r.location),
            },
            managed_by: manager_of
                .get(r.code.as_str())
                .and_then(|o| company_of.get(o.code.as_str()).copied()),
            parent_place_id: r.parent_place.as_ref().map(|p| PlaceId(place_ids[p])),
        })
        .collect();
    let new_cameras: Vec<Camera> = cameras
        .iter()
        .map(|r| Camera {
            id: CameraId(camera_ids[&r.code]),
            code: r.code.clone(),
            name: r.name.clone(),
            location: r.location,
            community_id: match &r.parent {
                Some(code) => Some(community_id(code)),
                None => community_at(r.location),
            },
            direction: r.direction,
            stream_url: r.stream_url.clone(),
        })
        .collect();
    let new_organisations: Vec<Organisation> = organisations
        .iter()
        .map(|r| Organisation {
            id: OrganisationId(organisation_ids[&r.code]),
            code: r.code.clone(),
            kind: r.kind,
            name: r.name.clone(),
            community_id: r.community.as_deref().map(community_id),
            property_company_id: company_of.get(r.code.as_str()).copied(),
            manages: r.manages.iter().map(|p| PlaceId(place_ids[p])).collect(),
        })
        .collect();
    let new_companies: Vec<PropertyCompany> = organisations
        .iter()
        .filter_map(|r| {
            Some(PropertyCompany {
                id: *company_of.get(r.code.as_str())?,
                kind: company_kind(r.kind)?,
                name: r.name.clone(),
            })
        })
        .collect();

    let mut changes = Vec::new();
    let mut ground = Jurisdiction {
        station_name: station.name.clone(),
        time_zone: Some(station.time_zone.clone()),
        ..Jurisdiction::default()
    };
    let mut retired_ground = RetiredGround::default();
    macro_rules! merge {
        ($layer:expr, $field:ident, $new:expr) => {{
            let (active, gone, counted) =
                merge_layer($layer, $new, &current.$field, &retired.$field, |x| x.id.0);
            ground.$field = active;
            retired_ground.$field = gone;
            counted
        }};
    }
    changes.push(merge!(Layer::Zones, zones, new_zones));
    changes.push(merge!(Layer::Communities, communities, new_communities));
    changes.push(merge!(Layer::GridCells, grid_cells, new_cells));
    changes.push(merge!(Layer::Posts, posts, new_posts));
    changes.push(merge!(
        Layer::Organisations,
        organisations,
        new_organisations
    ));
    changes.push(merge!(Layer::Places, places, new_places));
    changes.push(merge!(Layer::Cameras, cameras, new_cameras));
    // Companies follow their organisations; their count is the organisations'.
    let _ = merge!(Layer::Organisations, property_companies, new_companies);
    changes.push(merge_categories(
        station,
        current,
        &mut ground,
        &mut retired_ground,
    ));
    ground.retired = retired_ground;

    let (units, unit_changes) = plan_units(station, state, &ground);
    changes.push(unit_changes);
    let (people, people_changes) = plan_people(station, state, &ground);
    changes.push(people_changes);
    StationPlan {
        ground,
        units,
        people,
        changes,
    }
}

/// The code table: matched by code, what a given table no longer lists
/// retired (past incidents keep their names).
fn merge_categories(
    station: &StationPackage,
    current: &Jurisdiction,
    ground: &mut Jurisdiction,
    retired: &mut RetiredGround,
) -> LayerChanges {
    let mut changes = LayerChanges::new(Layer::Categories);
    let active = current.category_table();
    let new: Vec<CategoryDef> = station
        .categories
        .iter()
        .flatten()
        .map(|r| CategoryDef {
            code: r.code.clone(),
            name_zh: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            family: r.family,
            default_priority: r.default_priority,
        })
        .collect();
    for def in &new {
        match active.iter().find(|a| a.code == def.code) {
            Some(old) if old == def => changes.unchanged += 1,
            Some(_) => changes.changed += 1,
            None => changes.added += 1,
        }
    }
    let listed = |code: &CategoryCode| new.iter().any(|d| d.code == *code);
    retired.categories = current
        .retired
        .categories
        .iter()
        .filter(|c| !listed(&c.code))
        .cloned()
        .collect();
    for old in active.iter().filter(|a| !listed(&a.code)) {
        changes.retired += 1;
        retired.categories.push(old.clone());
    }
    // The shipped table stays implicit while the station uses it unchanged.
    ground.categories = if new == CategoryDef::shipped() {
        Vec::new()
    } else {
        new
    };
    changes
}

fn plan_units(
    station: &StationPackage,
    state: &StationState,
    ground: &Jurisdiction,
) -> (Vec<UnitChange>, LayerChanges) {
    let mut changes = LayerChanges::new(Layer::Units);
    let mut plan = Vec::new();
    let records = station.units.as_deref().unwrap_or_default();
    let post_by_code: HashMap<&str, &Post> =
        ground.posts.iter().map(|p| (p.code.as_str(), p)).collect();
    let zone_by_code: HashMap<&str, ZoneId> = ground
        .zones
        .iter()
        .map(|z| (z.code.as_str(), z.id))
        .collect();
    let company_by_code: HashMap<&str, PropertyCompanyId> = ground
        .organisations
        .iter()
        .filter_map(|o| Some((o.code.as_str(), o.property_company_id?)))
        .collect();
    let stored: HashMap<&str, &Unit> = state
        .units
        .iter()
        .map(|u| (u.call_sign.as_str(), u))
        .collect();
    let listed: HashSet<&str> = records.iter().map(|r| r.call_sign.as_str()).collect();
    for record in records {
        let post = record
            .post
            .as_deref()
            .and_then(|p| post_by_code.get(p).copied());
        let fields = UnitFields {
            call_sign: record.call_sign.clone(),
            name: record.name.clone(),
            kind: record.kind,
            home_post_id: post.map(|p| p.id),
            zone_id: record
                .zone
                .as_deref()
                .and_then(|z| zone_by_code.get(z).copied())
                .or(post.map(|p| p.zone_id)),
            capabilities: if record.capabilities.is_empty() {
                record.kind.default_capabilities()
            } else {
                record.capabilities.clone()
            },
            phone: record.phone.clone(),
            member_count: record.members.max(1),
            property_company_id: record
                .organisation
                .as_deref()
                .and_then(|o| company_by_code.get(o).copied()),
        };
        match stored.get(record.call_sign.as_str()) {
            None => {
                changes.added += 1;
                plan.push(UnitChange::Add {
                    fields,
                    start_at: post.map(|p| p.location),
                });
            }
            Some(unit) => {
                let same = unit.name == fields.name
                    && unit.kind == fields.kind
                    && unit.home_post_id == fields.home_post_id
                    && unit.zone_id == fields.zone_id
                    && unit.capabilities == fields.capabilities
                    && unit.phone == fields.phone
                    && unit.member_count == fields.member_count
                    && unit.property_company_id == fields.property_company_id;
                if changes.count_stored(unit.retired, same) {
                    plan.push(UnitChange::Update {
                        id: unit.id,
                        fields,
                    });
                }
            }
        }
    }
    for unit in state
        .units
        .iter()
        .filter(|u| !u.retired && !listed.contains(u.call_sign.as_str()))
    {
        changes.retired += 1;
        plan.push(UnitChange::Retire { id: unit.id });
    }
    (plan, changes)
}

fn plan_people(
    station: &StationPackage,
    state: &StationState,
    ground: &Jurisdiction,
) -> (Vec<PersonChange>, LayerChanges) {
    let mut changes = LayerChanges::new(Layer::People);
    let mut plan = Vec::new();
    let records = station.people.as_deref().unwrap_or_default();
    let organisation_by_code: HashMap<&str, OrganisationId> = ground
        .organisations
        .iter()
        .map(|o| (o.code.as_str(), o.id))
        .collect();
    let call_sign: HashMap<UnitId, &str> = state
        .units
        .iter()
        .map(|u| (u.id, u.call_sign.as_str()))
        .collect();
    let stored: HashMap<&str, &User> = state
        .users
        .iter()
        .map(|u| (u.username.as_str(), u))
        .collect();
    let listed: HashSet<&str> = records.iter().map(|r| r.username.as_str()).collect();
    for record in records {
        let fields = PersonFields {
            username: record.username.clone(),
            display_name: record.name.clone(),
            role: record.role,
            unit_call_sign: record.unit.clone(),
            organisation_id: record
                .organisation
                .as_deref()
                .and_then(|o| organisation_by_code.get(o).copied()),
            phone: record.phone.clone(),
        };
        match stored.get(record.username.as_str()) {
            None => {
                changes.added += 1;
                plan.push(PersonChange::Add(fields));
            }
            Some(user) => {
                let same = user.display_name == fields.display_name
                    && user.role == fields.role
                    && user.unit_id.and_then(|u| call_sign.get(&u).copied())
                        == fields.unit_call_sign.as_deref()
                    && user.organisation_id == fields.organisation_id
                    && user.phone == fields.phone;
                if changes.count_stored(user.disabled, same) {
                    plan.push(PersonChange::Update {
                        id: user.id,
                        fields,
                    });
                }
            }
        }
    }
    // Administrators are never disabled by an import: the roster a station
    // keeps in Excel rarely lists them, and a package must not lock out the
    // person importing it.
    for user in state
        .users
        .iter()
        .filter(|u| !u.disabled && u.role != Role::Admin && !listed.contains(u.username.as_str()))
    {
        changes.retired += 1;
        plan.push(PersonChange::Disable { id: user.id });
    }
    (plan, changes)
}

/// One administrator's edit of one record (an account or a unit), planned
/// as a package of that layer over the station as the writer sees it, so
/// edits and imports have one write path and a concurrent one is never
/// undone.
#[derive(Debug, Clone, PartialEq)]
pub enum StationEdit {
    Person { id: UserId, edit: PersonEdit },
    Unit { id: UnitId, edit: UnitEdit },
}

/// What an edit of an account changes; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PersonEdit {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)`: no unit.
    pub unit_call_sign: Option<Option<String>>,
    pub phone: Option<Option<PhoneNumber>>,
    /// Disable (true) or enable again (false).
    pub disabled: Option<bool>,
}

/// What an edit of a unit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitEdit {
    pub name: Option<String>,
    pub kind: Option<UnitKind>,
    /// `Some(None)`: no post.
    pub post: Option<Option<String>>,
    pub capabilities: Option<Vec<Capability>>,
    pub phone: Option<Option<PhoneNumber>>,
}

fn invalid_record(field: &str, message: &str, message_zh: &str) -> DomainError {
    DomainError::InvalidRecord {
        field: field.to_owned(),
        message: message.to_owned(),
        message_zh: message_zh.to_owned(),
    }
}

/// The package that makes `edit` by `editor`: the units and people layers
/// as stored, the one record changed. `None` when the record is not there
/// (a retired unit counts as not there).
pub fn edited_package(
    state: &StationState,
    edit: &StationEdit,
    editor: &User,
) -> Option<Result<StationPackage, DomainError>> {
    let whole = StationPackage::of_station(state);
    let mut package = StationPackage {
        name: whole.name,
        time_zone: whole.time_zone,
        units: whole.units,
        people: whole.people,
        ..StationPackage::default()
    };
    match edit {
        StationEdit::Person { id, edit } => {
            let user = state.users.iter().find(|u| u.id == *id)?;
            if edit.disabled == Some(true) && !crate::policy::may_disable_account(editor, user) {
                return Some(Err(if user.id == editor.id {
                    invalid_record(
                        "disabled",
                        "you cannot disable your own account",
                        "不能停用自己的账号",
                    )
                } else {
                    invalid_record(
                        "disabled",
                        "an administrator's account is not disabled from the console",
                        "管理员账号不能在控制台停用",
                    )
                }));
            }
            let people = package.people.get_or_insert_with(Vec::new);
            // A disabled account is not in the roster: it comes back to be enabled.
            let mut record = match people.iter().position(|p| p.username == user.username) {
                Some(index) => people.remove(index),
                None => StationPackage::of_station(&StationState {
                    users: vec![User {
                        disabled: false,
                        ..user.clone()
                    }],
                    ..state.clone()
                })
                .people
                .into_iter()
                .flatten()
                .next()?,
            };
            if let Some(name) = &edit.display_name {
                record.name = name.clone();
            }
            if let Some(role) = edit.role {
                record.role = role;
            }
            if let Some(unit) = &edit.unit_call_sign {
                record.unit = unit.clone();
            }
            if let Some(phone) = &edit.phone {
                record.phone = phone.clone();
            }
            if edit.disabled != Some(true) {
                people.push(record);
            }
        }
        StationEdit::Unit { id, edit } => {
            let unit = state.units.iter().find(|u| u.id == *id && !u.retired)?;
            let record = package
                .units
                .get_or_insert_with(Vec::new)
                .iter_mut()
                .find(|r| r.call_sign == unit.call_sign)?;
            if let Some(name) = &edit.name {
                record.name = name.clone();
            }
            if let Some(kind) = edit.kind {
                record.kind = kind;
            }
            if let Some(post) = &edit.post {
                record.post = post.clone();
            }
            if let Some(capabilities) = &edit.capabilities {
                record.capabilities = capabilities.clone();
            }
            if let Some(phone) = &edit.phone {
                record.phone = phone.clone();
            }
        }
    }
    Some(Ok(package))
}

/// Plans an edit against the station as it stands: the plan, or why the
/// edit is refused (the first problem it would make, as an invalid field).
/// `None` when the record is not there.
pub fn edit_plan(
    state: &StationState,
    edit: &StationEdit,
    editor: &User,
) -> Option<Result<StationPlan, DomainError>> {
    let package = match edited_package(state, edit, editor)? {
        Ok(package) => package,
        Err(refused) => return Some(Err(refused)),
    };
    Some(
        checked_plan(&package, state, Checks::References).map_err(|problems| {
            let first = &problems[0];
            DomainError::InvalidRecord {
                field: first.column.clone().unwrap_or_default(),
                message: first.message.clone(),
                message_zh: first.message_zh.clone(),
            }
        }),
    )
}

/// Checks a package against the stored station and plans it: the plan, or
/// every problem found.
pub fn validate(
    package: &StationPackage,
    state: &StationState,
) -> Result<StationPlan, Vec<Problem>> {
    checked_plan(package, state, Checks::All)
}

/// As [`validate`], stopping early when `budget` is spent (the answer is
/// then incomplete, and the caller must refuse it).
pub fn validate_within(
    package: &StationPackage,
    state: &StationState,
    budget: &dyn Budget,
) -> Result<StationPlan, Vec<Problem>> {
    checked_plan_within(package, state, Checks::All, budget)
}

/// Lays the package over the stored station once, checks the whole as far
/// as `checks` says, and plans it.
pub fn checked_plan(
    package: &StationPackage,
    state: &StationState,
    checks: Checks,
) -> Result<StationPlan, Vec<Problem>> {
    checked_plan_within(package, state, checks, &Unlimited)
}

fn checked_plan_within(
    package: &StationPackage,
    state: &StationState,
    checks: Checks,
    budget: &dyn Budget,
) -> Result<StationPlan, Vec<Problem>> {
    let station = package.over(StationPackage::of_station(state));
    let problems = check_within(&station, checks, budget);
    if !problems.is_empty() {
        return Err(problems);
    }
    let plan = plan(&station, state);
    match administrator_lost(&station, state, &plan.people) {
        None => Ok(plan),
        Some(problem) => Err(vec![problem]),
    }
}

/// The station keeps an active administrator: a package (or an edit, which
/// is a package of one record) may not demote or disable the last one, as
/// only the command line could then let anyone in again. A station with no
/// administrator yet (a first import before `precinct user add`) is not
/// held to it. The problem, when the plan would lose the last one.
fn administrator_lost(
    station: &StationPackage,
    state: &StationState,
    people: &[PersonChange],
) -> Option<Problem> {
    let is_admin = |u: &User| u.role == Role::Admin && !u.disabled;
    if !state.users.iter().any(is_admin) {
        return None;
    }
    let mut after: HashMap<UserId, bool> =
        state.users.iter().map(|u| (u.id, is_admin(u))).collect();
    let mut added = 0;
    for change in people {
        match change {
            PersonChange::Add(fields) => added += usize::from(fields.role == Role::Admin),
            PersonChange::Update { id, fields } => {
                after.insert(*id, fields.role == Role::Admin);
            }
            PersonChange::Disable { id } => {
                after.insert(*id, false);
            }
        }
    }
    if added + after.values().filter(|a| **a).count() > 0 {
        return None;
    }
    // Name the row that took the last administrator away.
    let demoted = state.users.iter().filter(|u| is_admin(u)).find_map(|u| {
        station
            .people
            .iter()
            .flatten()
            .find(|p| p.username == u.username)
    });
    let at = demoted.map_or_else(|| Source::file("people"), |p| p.at.clone());
    Some(bilingual(
        &at,
        "role",
        "this would leave the station without an active administrator; keep at least one account with the role admin".into(),
        "导入后将没有可用的管理员账号：请至少保留一个角色为 admin 的账号".into(),
    ))
}

#[cfg(test)]
mod tests;
