//! The station's ground (辖区): zones, communities, grid cells, posts, places,
//! property companies and cameras, and resolving a point to where it lies.

use crate::category::{Category, CategoryDef};
use crate::ids::{
    CameraId, CommunityId, GridCellId, OrganisationId, PlaceId, PostId, PropertyCompanyId, ZoneId,
};
use crate::text::string_enum;
use precinct_geo::{Coordinates, Polygon};
use serde::{Deserialize, Serialize};

string_enum! {
    /// Bodies that take part in mediation (三所一庭, the property council, …).
    pub enum OrganisationKind {
        PoliceStation = "police_station",
        JudicialOffice = "judicial_office",
        LawFirm = "law_firm",
        Court = "court",
        ResidentsCommittee = "residents_committee",
        PetitionOffice = "petition_office",
        PropertyCompany = "property_company",
        MarketManagement = "market_management",
        OwnersCommittee = "owners_committee",
        Other = "other",
    }
}

/// The whole ground of one station. Loaded once and shared read-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Jurisdiction {
    pub station_name: String,
    pub zones: Vec<Zone>,
    pub communities: Vec<Community>,
    pub grid_cells: Vec<GridCell>,
    pub posts: Vec<Post>,
    pub places: Vec<Place>,
    pub property_companies: Vec<PropertyCompany>,
    pub cameras: Vec<Camera>,
    /// Bodies that take part in mediation (the station itself, the judicial
    /// office, law firms, the court, residents' committees, companies …).
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    /// The station's incident code table; empty means the shipped one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoryDef>,
    /// The station's IANA time zone, as its package gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// What a station package no longer lists: kept, never deleted, so past
    /// incidents, disputes and figures keep their names and places. Not
    /// resolved to, searched or shown on the map.
    #[serde(default, skip_serializing_if = "RetiredGround::is_empty")]
    pub retired: RetiredGround,
}

/// The retired part of the ground, by layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RetiredGround {
    #[serde(default)]
    pub zones: Vec<Zone>,
    #[serde(default)]
    pub communities: Vec<Community>,
    #[serde(default)]
    pub grid_cells: Vec<GridCell>,
    #[serde(default)]
    pub posts: Vec<Post>,
    #[serde(default)]
    pub places: Vec<Place>,
    #[serde(default)]
    pub property_companies: Vec<PropertyCompany>,
    #[serde(default)]
    pub cameras: Vec<Camera>,
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    /// Codes a station no longer uses: past incidents keep their names.
    #[serde(default)]
    pub categories: Vec<CategoryDef>,
}

impl RetiredGround {
    pub fn is_empty(&self) -> bool {
        *self == RetiredGround::default()
    }
}

/// A body that takes part in dispute mediation. Its mediators and staff are
/// users belonging to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrganisationId,
    /// The station's code for it, unique among organisations.
    #[serde(default)]
    pub code: String,
    pub kind: OrganisationKind,
    pub name: String,
    /// The community a residents' committee serves.
    #[serde(default)]
    pub community_id: Option<CommunityId>,
    /// The property or market company this organisation is, if it is one.
    #[serde(default)]
    pub property_company_id: Option<PropertyCompanyId>,
    /// The places it manages (a company's compounds and markets).
    #[serde(default)]
    pub manages: Vec<PlaceId>,
}

/// A defence zone (防区): north or south.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: ZoneId,
    pub code: String,
    pub name: String,
    pub boundary: Polygon,
}

/// A community (社区) inside one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Community {
    pub id: CommunityId,
    #[serde(default)]
    pub code: String,
    pub zone_id: ZoneId,
    pub name: String,
    pub boundary: Polygon,
}

/// A grid cell (网格) inside one community: the grid worker's patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridCell {
    pub id: GridCellId,
    pub community_id: CommunityId,
    pub code: String,
    #[serde(default)]
    pub name: String,
    pub boundary: Polygon,
}

string_enum! {
    pub enum PostKind {
        /// 警务驻点: a zone's police post.
        PolicePost = "police_post",
        /// 社区警务室: a community police office.
        CommunityPoliceOffice = "community_police_office",
    }
}

/// A police post or community police office: a point in its zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    #[serde(default)]
    pub code: String,
    pub zone_id: ZoneId,
    pub community_id: Option<CommunityId>,
    pub kind: PostKind,
    pub name: String,
    pub location: Coordinates,
}

string_enum! {
    pub enum PlaceKind {
        WholesaleMarket = "wholesale_market",
        Market = "market",
        ResidentialCompound = "residential_compound",
        Street = "street",
        Shop = "shop",
        LegalServiceStation = "legal_service_station",
        MediationRoom = "mediation_room",
        /// Anything else people report at (a school, a park, a bus stop …).
        Other = "other",
    }
}

/// A named place people report incidents at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub id: PlaceId,
    #[serde(default)]
    pub code: String,
    pub kind: PlaceKind,
    pub name: String,
    /// Other names people use for it (searched like the name).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub address: String,
    pub location: Coordinates,
    pub community_id: Option<CommunityId>,
    /// The property or market management company that runs it, if any.
    pub managed_by: Option<PropertyCompanyId>,
    /// For a shop, the street or market it stands in.
    pub parent_place_id: Option<PlaceId>,
}

string_enum! {
    pub enum CompanyKind {
        PropertyManagement = "property_management",
        MarketManagement = "market_management",
    }
}

/// A member of the property council (物业议事会).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyCompany {
    pub id: PropertyCompanyId,
    pub kind: CompanyKind,
    pub name: String,
}

/// A public-facing camera connected to the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub id: CameraId,
    #[serde(default)]
    pub code: String,
    pub name: String,
    pub location: Coordinates,
    #[serde(default)]
    pub community_id: Option<CommunityId>,
    /// Where it looks, degrees clockwise from north.
    #[serde(default)]
    pub direction: Option<f64>,
    /// The video stream's address on the station's network.
    #[serde(default)]
    pub stream_url: Option<String>,
}

/// Where a point lies on the ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub zone_id: Option<ZoneId>,
    pub community_id: Option<CommunityId>,
    pub grid_cell_id: Option<GridCellId>,
}

impl Resolution {
    pub const OUTSIDE: Resolution = Resolution {
        zone_id: None,
        community_id: None,
        grid_cell_id: None,
    };

    /// True when the point is on none of the station's zones.
    pub fn is_outside_ground(&self) -> bool {
        self.zone_id.is_none()
    }
}

impl Jurisdiction {
    /// Resolves a point to its zone, community and grid cell. Areas are tried
    /// in id order, so a point on a shared border always lands the same way.
    pub fn resolve(&self, point: Coordinates) -> Resolution {
        let Some(zone) = self.zones.iter().find(|z| z.boundary.contains(point)) else {
            return Resolution::OUTSIDE;
        };
        let community = self
            .communities
            .iter()
            .filter(|c| c.zone_id == zone.id)
            .find(|c| c.boundary.contains(point));
        let grid_cell = community.and_then(|community| {
            self.grid_cells
                .iter()
                .filter(|g| g.community_id == community.id)
                .find(|g| g.boundary.contains(point))
        });
        Resolution {
            zone_id: Some(zone.id),
            community_id: community.map(|c| c.id),
            grid_cell_id: grid_cell.map(|g| g.id),
        }
    }

    /// The station's incident code table (the shipped one until a package
    /// gives its own).
    pub fn category_table(&self) -> std::borrow::Cow<'_, [CategoryDef]> {
        if self.categories.is_empty() {
            std::borrow::Cow::Owned(CategoryDef::shipped())
        } else {
            std::borrow::Cow::Borrowed(&self.categories)
        }
    }

    /// A category the station takes in now (`None`: unknown or retired).
    pub fn category(&self, code: &str) -> Option<Category> {
        self.category_table()
            .iter()
            .find(|c| c.code.as_str() == code)
            .map(CategoryDef::category)
    }

    /// A category's entry, retired ones too (for past incidents' names).
    pub fn category_def(&self, code: &str) -> Option<CategoryDef> {
        self.category_table()
            .iter()
            .chain(&self.retired.categories)
            .find(|c| c.code.as_str() == code)
            .cloned()
    }

    // Lookups by id also find what was retired: past records keep their names.

    /// How far a point is from the station's zones (0 inside their bounding
    /// boxes), in metres; `None` for a station without zones.
    pub fn distance_from_ground_m(&self, point: Coordinates) -> Option<f64> {
        self.zones
            .iter()
            .map(|z| {
                let (south_west, north_east) = z.boundary.bounds();
                let nearest = Coordinates::new(
                    point.lat().clamp(south_west.lat(), north_east.lat()),
                    point.lon().clamp(south_west.lon(), north_east.lon()),
                )
                .expect("a point clamped between valid points is valid");
                point.distance_m(nearest)
            })
            .min_by(f64::total_cmp)
    }

    pub fn organisation(&self, id: OrganisationId) -> Option<&Organisation> {
        self.organisations
            .iter()
            .chain(&self.retired.organisations)
            .find(|o| o.id == id)
    }

    pub fn zone(&self, id: ZoneId) -> Option<&Zone> {
        self.zones
            .iter()
            .chain(&self.retired.zones)
            .find(|z| z.id == id)
    }

    pub fn community(&self, id: CommunityId) -> Option<&Community> {
        self.communities
            .iter()
            .chain(&self.retired.communities)
            .find(|c| c.id == id)
    }

    pub fn grid_cell(&self, id: GridCellId) -> Option<&GridCell> {
        self.grid_cells
            .iter()
            .chain(&self.retired.grid_cells)
            .find(|g| g.id == id)
    }

    pub fn post(&self, id: PostId) -> Option<&Post> {
        self.posts
            .iter()
            .chain(&self.retired.posts)
            .find(|p| p.id == id)
    }

    pub fn place(&self, id: PlaceId) -> Option<&Place> {
        self.places
            .iter()
            .chain(&self.retired.places)
            .find(|p| p.id == id)
    }

    pub fn property_company(&self, id: PropertyCompanyId) -> Option<&PropertyCompany> {
        self.property_companies
            .iter()
            .chain(&self.retired.property_companies)
            .find(|p| p.id == id)
    }

    pub fn place_by_name(&self, name: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.name == name)
    }

    /// Places whose name or address contains every whitespace-separated term.
    pub fn search_places(&self, query: &str, limit: usize) -> Vec<&Place> {
        let terms: Vec<&str> = query.split_whitespace().collect();
        if terms.is_empty() {
            return Vec::new();
        }
        self.places
            .iter()
            .filter(|p| {
                terms.iter().all(|t| {
                    p.name.contains(t)
                        || p.address.contains(t)
                        || p.aliases.iter().any(|a| a.contains(t))
                })
            })
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(lat: f64, lon: f64) -> Coordinates {
        Coordinates::new(lat, lon).unwrap()
    }

    fn two_zone_ground() -> Jurisdiction {
        let north = Polygon::rectangle(c(1.0, 0.0), c(2.0, 2.0));
        let south = Polygon::rectangle(c(0.0, 0.0), c(1.0, 2.0));
        Jurisdiction {
            station_name: "test".into(),
            zones: vec![
                Zone {
                    id: ZoneId(1),
                    code: "N".into(),
                    name: "north".into(),
                    boundary: north.clone(),
                },
                Zone {
                    id: ZoneId(2),
                    code: "S".into(),
                    name: "south".into(),
                    boundary: south,
                },
            ],
            communities: vec![Community {
                id: CommunityId(10),
                code: "C".into(),
                zone_id: ZoneId(1),
                name: "c".into(),
                boundary: north,
            }],
            grid_cells: vec![GridCell {
                id: GridCellId(100),
                community_id: CommunityId(10),
                code: "g".into(),
                name: "g".into(),
                boundary: Polygon::rectangle(c(1.0, 0.0), c(2.0, 1.0)),
            }],
            ..Jurisdiction::default()
        }
    }

    #[test]
    fn resolve_table() {
        let ground = two_zone_ground();
        let cases = [
            (c(1.5, 0.5), Some(1), Some(10), Some(100)),
            (c(1.5, 1.5), Some(1), Some(10), None),
            (c(0.5, 0.5), Some(2), None, None),
            (c(5.0, 5.0), None, None, None),
        ];
        for (p, zone, community, cell) in cases {
            let r = ground.resolve(p);
            assert_eq!(r.zone_id.map(|z| z.0), zone, "{p:?}");
            assert_eq!(r.community_id.map(|z| z.0), community, "{p:?}");
            assert_eq!(r.grid_cell_id.map(|z| z.0), cell, "{p:?}");
            assert_eq!(r.is_outside_ground(), zone.is_none());
        }
    }
}
