//! Writing a package: `station.toml`, the ground as GeoJSON (WGS84), the
//! tables as `.xlsx` with Chinese headers. What `export` downloads, what the
//! demo's district becomes before it is imported, and the template.

use crate::columns::{self, LayerFile, TableFile};
use crate::{PackageError, PackageFiles};
use precinct_domain::dispute::OrganisationKind;
use precinct_domain::ground::{PlaceKind, PostKind};
use precinct_domain::incident::PhoneNumber;
use precinct_domain::station::*;
use precinct_domain::unit::{Capability, UnitKind};
use precinct_domain::user::{Role, Username};
use precinct_geo::{Coordinates, Polygon};
use serde_json::{Map, Value, json};

/// Writes every layer the package has (a `None` layer writes no file).
pub fn write_package(package: &StationPackage) -> Result<PackageFiles, PackageError> {
    let mut files = PackageFiles::new();
    let manifest = format!(
        "# The station: its name, its time zone, and the datum of the files' coordinates\n\
         # (wgs84, cgcs2000, or gcj02 for points taken from a Chinese map app).\n\
         name = {}\ntime_zone = {}\ndatum = \"wgs84\"\n",
        toml_string(&package.name),
        toml_string(&package.time_zone)
    );
    files.insert("station.toml", manifest.into_bytes());
    let text = |s: &str| Value::String(s.to_owned());
    let opt = |s: &Option<String>| s.as_deref().map(text).unwrap_or(Value::Null);
    if let Some(zones) = &package.zones {
        layer(
            &mut files,
            columns::ZONES,
            zones.iter().map(|r| {
                (
                    area(&r.boundary),
                    props(&[("code", text(&r.code)), ("name", text(&r.name))]),
                )
            }),
        );
    }
    if let Some(communities) = &package.communities {
        layer(
            &mut files,
            columns::COMMUNITIES,
            communities.iter().map(|r| {
                (
                    area(&r.boundary),
                    props(&[
                        ("code", text(&r.code)),
                        ("name", text(&r.name)),
                        ("parent", text(&r.parent)),
                    ]),
                )
            }),
        );
    }
    if let Some(cells) = &package.grid_cells {
        layer(
            &mut files,
            columns::GRID_CELLS,
            cells.iter().map(|r| {
                (
                    area(&r.boundary),
                    props(&[
                        ("code", text(&r.code)),
                        ("name", text(&r.name)),
                        ("parent", text(&r.parent)),
                    ]),
                )
            }),
        );
    }
    if let Some(posts) = &package.posts {
        layer(
            &mut files,
            columns::POSTS,
            posts.iter().map(|r| {
                (
                    point(r.location),
                    props(&[
                        ("code", text(&r.code)),
                        ("name", text(&r.name)),
                        ("parent", text(&r.parent)),
                        (
                            "kind",
                            r.kind.map(|k| text(k.as_str())).unwrap_or(Value::Null),
                        ),
                    ]),
                )
            }),
        );
    }
    if let Some(places) = &package.places {
        layer(
            &mut files,
            columns::PLACES,
            places.iter().map(|r| {
                (
                    point(r.location),
                    props(&[
                        ("code", text(&r.code)),
                        ("name", text(&r.name)),
                        ("kind", text(r.kind.as_str())),
                        ("address", text(&r.address)),
                        (
                            "aliases",
                            if r.aliases.is_empty() {
                                Value::Null
                            } else {
                                text(&r.aliases.join(";"))
                            },
                        ),
                        ("parent", opt(&r.parent)),
                        ("parent_place", opt(&r.parent_place)),
                    ]),
                )
            }),
        );
    }
    if let Some(cameras) = &package.cameras {
        layer(
            &mut files,
            columns::CAMERAS,
            cameras.iter().map(|r| {
                (
                    point(r.location),
                    props(&[
                        ("code", text(&r.code)),
                        ("name", text(&r.name)),
                        ("parent", opt(&r.parent)),
                        (
                            "direction",
                            r.direction.map(|d| json!(d)).unwrap_or(Value::Null),
                        ),
                        ("stream_url", opt(&r.stream_url)),
                    ]),
                )
            }),
        );
    }
    let phone = |p: &Option<PhoneNumber>| {
        p.as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default()
    };
    let or_empty = |s: &Option<String>| s.clone().unwrap_or_default();
    if let Some(units) = &package.units {
        let rows = units.iter().map(|r| {
            vec![
                r.call_sign.clone(),
                r.name.clone(),
                r.kind.as_str().to_owned(),
                or_empty(&r.post),
                or_empty(&r.zone),
                r.capabilities
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
                phone(&r.phone),
                or_empty(&r.organisation),
                r.members.to_string(),
            ]
        });
        table(&mut files, columns::UNITS, rows)?;
    }
    if let Some(people) = &package.people {
        let rows = people.iter().map(|r| {
            vec![
                r.username.as_str().to_owned(),
                r.name.clone(),
                r.role.as_str().to_owned(),
                or_empty(&r.unit),
                or_empty(&r.organisation),
                phone(&r.phone),
            ]
        });
        table(&mut files, columns::PEOPLE, rows)?;
    }
    if let Some(organisations) = &package.organisations {
        let rows = organisations.iter().map(|r| {
            vec![
                r.code.clone(),
                r.name.clone(),
                r.kind.as_str().to_owned(),
                r.manages.join(";"),
                or_empty(&r.community),
            ]
        });
        table(&mut files, columns::ORGANISATIONS, rows)?;
    }
    if let Some(categories) = &package.categories {
        let rows = categories.iter().map(|r| {
            vec![
                r.code.as_str().to_owned(),
                r.name_zh.clone(),
                r.name_en.clone(),
                r.family.as_str().to_owned(),
                r.default_priority.get().to_string(),
            ]
        });
        table(&mut files, columns::CATEGORIES, rows)?;
    }
    Ok(files)
}

fn toml_string(s: &str) -> String {
    // A TOML basic string is a JSON string for everything a name holds.
    Value::String(s.to_owned()).to_string()
}

fn props(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn position(c: Coordinates) -> Value {
    json!([c.lon(), c.lat()])
}

fn point(c: Coordinates) -> Value {
    json!({"type": "Point", "coordinates": position(c)})
}

/// A polygon as GeoJSON: one ring a Polygon; several as a Polygon whose
/// rings the reader takes by the even-odd rule, as it does any area.
fn area(p: &Polygon) -> Value {
    let rings: Vec<Value> = p
        .rings()
        .iter()
        .map(|ring| {
            let mut points: Vec<Value> = ring.iter().copied().map(position).collect();
            points.push(position(ring[0]));
            Value::Array(points)
        })
        .collect();
    json!({"type": "Polygon", "coordinates": rings})
}

fn layer(
    files: &mut PackageFiles,
    file: LayerFile,
    features: impl Iterator<Item = (Value, Map<String, Value>)>,
) {
    let features: Vec<Value> = features
        .map(|(geometry, properties)| json!({"type": "Feature", "geometry": geometry, "properties": properties}))
        .collect();
    let collection = json!({"type": "FeatureCollection", "features": features});
    files.insert(
        &format!("{}.geojson", file.name),
        collection.to_string().into_bytes(),
    );
}

fn table(
    files: &mut PackageFiles,
    file: TableFile,
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), PackageError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let error = |e: rust_xlsxwriter::XlsxError| PackageError::Write(e.to_string());
    let sheet = workbook.add_worksheet();
    sheet.set_name(file.label_zh).map_err(error)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (column, spec) in file.columns.iter().enumerate() {
        let column = column as u16;
        sheet
            .write_string_with_format(0, column, spec.label_zh, &bold)
            .map_err(error)?;
        sheet.set_column_width(column, 16).map_err(error)?;
    }
    for (index, row) in rows.enumerate() {
        for (column, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet
                    .write_string(index as u32 + 1, column as u16, cell)
                    .map_err(error)?;
            }
        }
    }
    let bytes = workbook.save_to_buffer().map_err(error)?;
    files.insert(&format!("{}.xlsx", file.name), bytes);
    Ok(())
}

/// An example package: one of everything, in a small square of Changsha,
/// with an `.xlsx` per table under Chinese headers. A station's
/// administrator fills it in (or exports from its GIS in the same shape).
pub fn template() -> Result<PackageFiles, PackageError> {
    let c = |lat, lon| Coordinates::new(lat, lon).expect("valid");
    let square = |s, w, n, e| Polygon::rectangle(c(s, w), c(n, e));
    let at = |file: &str| Source::file(file);
    let package = StationPackage {
        name: "示例派出所".into(),
        time_zone: "Asia/Shanghai".into(),
        zones: Some(vec![ZoneRecord {
            at: at("zones"),
            code: "N".into(),
            name: "北部警务防区".into(),
            boundary: square(28.150, 113.000, 28.160, 113.020),
        }]),
        communities: Some(vec![CommunityRecord {
            at: at("communities"),
            code: "YD".into(),
            name: "永定社区".into(),
            parent: "N".into(),
            boundary: square(28.150, 113.000, 28.160, 113.020),
        }]),
        grid_cells: Some(vec![GridCellRecord {
            at: at("grid_cells"),
            code: "YD-01".into(),
            name: "永定社区第一网格".into(),
            parent: "YD".into(),
            boundary: square(28.150, 113.000, 28.155, 113.010),
        }]),
        posts: Some(vec![PostRecord {
            at: at("posts"),
            code: "P-YY".into(),
            name: "怡园警务点".into(),
            kind: Some(PostKind::PolicePost),
            parent: "N".into(),
            location: c(28.155, 113.010),
        }]),
        places: Some(vec![PlaceRecord {
            at: at("places"),
            code: "PL-0001".into(),
            name: "美食七街".into(),
            kind: PlaceKind::Street,
            address: "永定社区美食七街".into(),
            aliases: vec!["夜宵街".into()],
            parent: Some("YD".into()),
            parent_place: None,
            location: c(28.156, 113.012),
        }]),
        cameras: Some(vec![CameraRecord {
            at: at("cameras"),
            code: "CAM-001".into(),
            name: "美食七街口".into(),
            parent: Some("YD".into()),
            direction: Some(90.0),
            stream_url: Some("rtsp://video.station.internal/cam001".into()),
            location: c(28.156, 113.011),
        }]),
        organisations: Some(vec![OrganisationRecord {
            at: at("organisations"),
            code: "ORG-01".into(),
            name: "永定物业服务有限公司".into(),
            kind: OrganisationKind::PropertyCompany,
            manages: vec!["PL-0001".into()],
            community: Some("YD".into()),
        }]),
        units: Some(vec![UnitRecord {
            at: at("units"),
            call_sign: "怡园1".into(),
            name: "怡园警务点驻点民警".into(),
            kind: UnitKind::PostTeam,
            post: Some("P-YY".into()),
            zone: Some("N".into()),
            capabilities: vec![
                Capability::LawEnforcement,
                Capability::Patrol,
                Capability::Vehicle,
            ],
            phone: PhoneNumber::parse("0731-84000000").ok(),
            organisation: None,
            members: 3,
        }]),
        people: Some(vec![PersonRecord {
            at: at("people"),
            username: Username::parse("zhang.san").expect("valid"),
            name: "张三".into(),
            role: Role::Officer,
            unit: Some("怡园1".into()),
            organisation: None,
            phone: PhoneNumber::parse("13800138000").ok(),
        }]),
        // The shipped code table, to edit: a station keeps the codes it uses.
        categories: Some(
            precinct_domain::incident::CategoryDef::shipped()
                .into_iter()
                .map(|c| CategoryRecord {
                    at: at("categories"),
                    code: c.code,
                    name_zh: c.name_zh,
                    name_en: c.name_en,
                    family: c.family,
                    default_priority: c.default_priority,
                })
                .collect(),
        ),
    };
    write_package(&package)
}
