//! Schemas of the ground as `get_jurisdiction` and `search_places` send it
//! (the domain's own types, serialized as they are), and of the road map's
//! GeoJSON: for the document only, never built. Their fields follow
//! `precinct_domain::ground` one for one.
#![allow(dead_code)]

use crate::dto::Point;
use utoipa::ToSchema;

/// A polygon: one ring of points, or (with holes or several parts) a list
/// of rings, read even-odd.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = GroundPolygon)]
pub enum PolygonSchema {
    Ring(Vec<Point>),
    Rings(Vec<Vec<Point>>),
}

#[derive(Debug, ToSchema)]
#[schema(as = Zone)]
pub struct ZoneSchema {
    id: i64,
    code: String,
    name: String,
    boundary: PolygonSchema,
}

#[derive(Debug, ToSchema)]
#[schema(as = Community)]
pub struct CommunitySchema {
    id: i64,
    code: String,
    zone_id: i64,
    name: String,
    boundary: PolygonSchema,
}

#[derive(Debug, ToSchema)]
#[schema(as = GridCell)]
pub struct GridCellSchema {
    id: i64,
    community_id: i64,
    code: String,
    name: String,
    boundary: PolygonSchema,
}

#[derive(Debug, ToSchema)]
#[schema(as = Post)]
pub struct PostSchema {
    id: i64,
    code: String,
    zone_id: i64,
    community_id: Option<i64>,
    /// police_post or community_police_office
    kind: String,
    name: String,
    location: Point,
}

/// A place of the ground (market, compound, street, shop …).
#[derive(Debug, ToSchema)]
#[schema(as = Place)]
pub struct PlaceSchema {
    id: i64,
    code: String,
    /// wholesale_market, market, residential_compound, street, shop,
    /// legal_service_station, mediation_room or other
    kind: String,
    name: String,
    aliases: Vec<String>,
    address: String,
    location: Point,
    community_id: Option<i64>,
    managed_by: Option<i64>,
    parent_place_id: Option<i64>,
}

#[derive(Debug, ToSchema)]
#[schema(as = PropertyCompany)]
pub struct PropertyCompanySchema {
    id: i64,
    /// property_management or market_management
    kind: String,
    name: String,
}

#[derive(Debug, ToSchema)]
#[schema(as = Camera)]
pub struct CameraSchema {
    id: i64,
    code: String,
    name: String,
    location: Point,
    community_id: Option<i64>,
    /// Degrees from north it looks toward.
    direction: Option<f64>,
    stream_url: Option<String>,
}

#[derive(Debug, ToSchema)]
#[schema(as = Organisation)]
pub struct OrganisationSchema {
    id: i64,
    code: String,
    #[schema(schema_with = crate::schema::organisation_kind)]
    kind: String,
    name: String,
    community_id: Option<i64>,
    property_company_id: Option<i64>,
    /// Places it manages.
    manages: Vec<i64>,
}

/// One entry of the station's incident code table.
#[derive(Debug, ToSchema)]
#[schema(as = CategoryDef)]
pub struct CategorySchema {
    code: String,
    name_zh: String,
    name_en: String,
    #[schema(schema_with = crate::schema::family)]
    family: String,
    /// 1 (most urgent) to 4.
    #[schema(minimum = 1, maximum = 4)]
    default_priority: u8,
}

/// What a station package no longer lists, kept so old records still
/// find their names.
#[derive(Debug, ToSchema)]
#[schema(as = RetiredGround)]
pub struct RetiredGroundSchema {
    zones: Vec<ZoneSchema>,
    communities: Vec<CommunitySchema>,
    grid_cells: Vec<GridCellSchema>,
    posts: Vec<PostSchema>,
    places: Vec<PlaceSchema>,
    property_companies: Vec<PropertyCompanySchema>,
    cameras: Vec<CameraSchema>,
    organisations: Vec<OrganisationSchema>,
    categories: Vec<CategorySchema>,
}

/// The station's ground.
#[derive(Debug, ToSchema)]
#[schema(as = Ground)]
pub struct GroundSchema {
    station_name: String,
    zones: Vec<ZoneSchema>,
    communities: Vec<CommunitySchema>,
    grid_cells: Vec<GridCellSchema>,
    posts: Vec<PostSchema>,
    places: Vec<PlaceSchema>,
    property_companies: Vec<PropertyCompanySchema>,
    cameras: Vec<CameraSchema>,
    organisations: Vec<OrganisationSchema>,
    /// The code table in force (the shipped one unless the station gave its own).
    categories: Vec<CategorySchema>,
    /// The station's IANA time zone, when its package gives one.
    #[schema(required = false)]
    time_zone: Option<String>,
    /// Present when something was retired.
    #[schema(required = false)]
    retired: Option<RetiredGroundSchema>,
}

/// A road of the map: a GeoJSON Feature with a LineString of [lon, lat].
#[derive(Debug, ToSchema)]
#[schema(as = RoadFeature)]
pub struct RoadFeatureSchema {
    /// Always `Feature`.
    r#type: String,
    properties: RoadPropertiesSchema,
    geometry: LineStringSchema,
}

#[derive(Debug, ToSchema)]
#[schema(as = RoadProperties)]
pub struct RoadPropertiesSchema {
    /// The road's class (OpenStreetMap highway value).
    class: String,
    /// The street's name, where the road network knows it.
    name: Option<String>,
}

#[derive(Debug, ToSchema)]
#[schema(as = LineString)]
pub struct LineStringSchema {
    /// Always `LineString`.
    r#type: String,
    /// [lon, lat] pairs.
    coordinates: Vec<[f64; 2]>,
}

/// The station's road network as a GeoJSON FeatureCollection.
#[derive(Debug, ToSchema)]
#[schema(as = RoadMap)]
pub struct RoadMapSchema {
    /// Always `FeatureCollection`.
    r#type: String,
    features: Vec<RoadFeatureSchema>,
}
