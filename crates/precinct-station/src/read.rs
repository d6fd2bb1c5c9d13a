//! Reading a package: `station.toml`, the ground layers (GeoJSON or
//! Shapefile) and the tables (`.xlsx` or `.csv` in UTF-8, UTF-8 with BOM,
//! or GBK/GB18030), into the domain's records. Every problem is collected,
//! not just the first, each with where it is.

use crate::columns::{self, Column, LayerFile, TableFile, split_list};
use crate::sheet::{self, TABLE_LIMITS};
use crate::{MAX_PACKAGE_BYTES, PackageFiles};
use precinct_domain::budget::{Budget, Unlimited};
use precinct_domain::dispute::OrganisationKind;
use precinct_domain::ground::{PlaceKind, PostKind};
use precinct_domain::incident::{CategoryCode, CategoryFamily, PhoneNumber, Priority};
use precinct_domain::station::*;
use precinct_domain::unit::{Capability, UnitKind};
use precinct_domain::user::{Role, Username};
use precinct_geo::{Coordinates, Datum, Polygon};
use std::collections::HashMap;

/// One feature or row: its cells by column key, and where it is.
struct Item {
    at: Source,
    cells: HashMap<&'static str, String>,
    geometry: Option<Geometry>,
}

enum Geometry {
    Point(Coordinates),
    Area(Polygon),
}

/// Reads a whole package. Layers and tables it does not hold are `None`.
pub fn read_package(files: &PackageFiles) -> Result<StationPackage, Vec<Problem>> {
    let (package, problems) = read_package_with_problems(files);
    if problems.is_empty() {
        Ok(package)
    } else {
        Err(problems)
    }
}

/// Reads what can be read of a package, and every problem met. A record
/// with a bad cell is kept with that cell left out (so checks of the whole
/// station can still run and report everything at once); one without its
/// code, name or geometry is left out.
pub fn read_package_with_problems(files: &PackageFiles) -> (StationPackage, Vec<Problem>) {
    match read_package_within(files, &Unlimited) {
        Ok(read) => (read.package, read.problems),
        Err(refused) => (StationPackage::default(), vec![*refused]),
    }
}

/// What reading a package found: the package, its problems, and warnings:
/// files and columns it does not know, which are ignored (a misspelt file
/// name or header would otherwise leave its part out without a word).
#[derive(Debug, Clone, Default)]
pub struct PackageRead {
    pub package: StationPackage,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// As [`read_package_with_problems`], stopping early when `budget` is
/// spent (the caller must then refuse the answer). Spreadsheets count
/// their unpacked size against the package's limit; one beyond its limits
/// refuses the whole package at once (`Err`, naming the file), as a hostile
/// file is not read further.
pub fn read_package_within(
    files: &PackageFiles,
    budget: &dyn Budget,
) -> Result<PackageRead, Box<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = unknown_files(files);
    let mut refused = None;
    let manifest = read_manifest(files, &mut problems);
    let datum = manifest.as_ref().map(|m| m.datum).unwrap_or_default();
    let mut layer = |file: LayerFile| read_layer(files, file, datum, &mut problems, &mut warnings);
    let zones = layer(columns::ZONES);
    let communities = layer(columns::COMMUNITIES);
    let grid_cells = layer(columns::GRID_CELLS);
    let posts = layer(columns::POSTS);
    let places = layer(columns::PLACES);
    let cameras = layer(columns::CAMERAS);
    let mut bytes_left = MAX_PACKAGE_BYTES.saturating_sub(files.unpacked_bytes());
    let mut table = |file: TableFile| {
        let mut reading = Reading {
            files,
            problems: &mut problems,
            warnings: &mut warnings,
            bytes_left: &mut bytes_left,
            refused: &mut refused,
            budget,
        };
        read_table(&mut reading, file)
    };
    let units = table(columns::UNITS);
    let people = table(columns::PEOPLE);
    let organisations = table(columns::ORGANISATIONS);
    let categories = table(columns::CATEGORIES);
    if let Some(refused) = refused {
        return Err(Box::new(refused));
    }

    let mut package = StationPackage::default();
    if let Some(manifest) = manifest {
        package.name = manifest.name;
        package.time_zone = manifest.time_zone;
    }
    let p = &mut problems;
    package.zones = zones.map(|items| convert(items, p, zone));
    package.communities = communities.map(|items| convert(items, p, community));
    package.grid_cells = grid_cells.map(|items| convert(items, p, grid_cell));
    package.posts = posts.map(|items| convert(items, p, post));
    package.places = places.map(|items| convert(items, p, place));
    package.cameras = cameras.map(|items| convert(items, p, camera));
    package.units = units.map(|items| convert(items, p, unit));
    package.people = people.map(|items| convert(items, p, person));
    package.organisations = organisations.map(|items| convert(items, p, organisation));
    package.categories = categories.map(|items| convert(items, p, category));
    Ok(PackageRead {
        package,
        problems,
        warnings,
    })
}

/// Files a package may hold: `station.toml`, each layer as GeoJSON or a
/// Shapefile (with the files a Shapefile comes with), each table as `.xlsx`
/// or `.csv`, alone or in parts (`units-north.xlsx`).
fn known_file(name: &str) -> bool {
    const SHAPEFILE_PARTS: [&str; 10] = [
        ".shp", ".dbf", ".shx", ".cpg", ".prj", ".sbn", ".sbx", ".qix", ".shp.xml", ".qmd",
    ];
    if name == "station.toml" {
        return true;
    }
    let layer = columns::LAYERS.iter().any(|layer| {
        [".geojson", ".json", ".zip", ".shp.zip"]
            .iter()
            .chain(SHAPEFILE_PARTS.iter())
            .any(|extension| name == format!("{}{extension}", layer.name))
    });
    let table = columns::TABLES.iter().any(|table| {
        [".xlsx", ".csv"].iter().any(|extension| {
            name.strip_suffix(extension).is_some_and(|stem| {
                stem == table.name
                    || stem
                        .strip_prefix(table.name)
                        .is_some_and(|rest| rest.starts_with(['-', '_']))
            })
        })
    });
    layer || table
}

fn unknown_files(files: &PackageFiles) -> Vec<Problem> {
    files
        .names()
        .filter(|name| !known_file(name))
        .map(|name| {
            file_problem(
                name,
                "not a file of the station package: ignored (check its name against the template)"
                    .into(),
                "不是数据包中的文件，已忽略（请对照模板检查文件名）".into(),
            )
        })
        .collect()
}

/// One warning naming the columns (or properties) of a file nothing reads.
fn unknown_columns(file: &str, unknown: &std::collections::BTreeSet<String>) -> Option<Problem> {
    if unknown.is_empty() {
        return None;
    }
    let list = unknown.iter().cloned().collect::<Vec<_>>().join(", ");
    Some(file_problem(
        file,
        format!("columns not of this table, ignored: {list}"),
        format!("以下列不属于此表，已忽略：{list}"),
    ))
}

fn file_problem(file: &str, en: String, zh: String) -> Problem {
    Problem::new(&Source::file(file), None, en, zh)
}

struct Manifest {
    name: String,
    time_zone: String,
    datum: Datum,
}

fn read_manifest(files: &PackageFiles, problems: &mut Vec<Problem>) -> Option<Manifest> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        name: String,
        time_zone: Option<String>,
        datum: Option<String>,
    }
    const FILE: &str = "station.toml";
    let Some(bytes) = files.get(FILE) else {
        problems.push(file_problem(
            FILE,
            "the package has no station.toml (name, time_zone, datum)".into(),
            "缺少 station.toml（派出所名称、时区、坐标系）".into(),
        ));
        return None;
    };
    let text = decode_text(bytes);
    let raw: Raw = match toml::from_str(&text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|s| text[..s.start].lines().count().max(1));
            problems.push(Problem {
                at: Source {
                    row: line.map(|l| l as u32),
                    ..Source::file(FILE)
                },
                column: None,
                message: format!("not valid: {}", e.message()),
                message_zh: format!("格式错误：{}", e.message()),
            });
            return None;
        }
    };
    let mut ok = true;
    if raw.name.trim().is_empty() {
        ok = false;
        problems.push(Problem::new(
            &Source::file(FILE),
            Some("name"),
            "the station's name is empty".into(),
            "派出所名称为空".into(),
        ));
    }
    let time_zone = raw.time_zone.unwrap_or_else(|| "Asia/Shanghai".into());
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        ok = false;
        problems.push(Problem::new(
            &Source::file(FILE),
            Some("time_zone"),
            format!("unknown time zone {time_zone:?} (an IANA name such as Asia/Shanghai)"),
            format!("未知时区 “{time_zone}”（应为 IANA 名称，如 Asia/Shanghai）"),
        ));
    }
    let datum = match raw.datum.as_deref().map(|d| d.trim().to_ascii_lowercase()) {
        None => Datum::Wgs84,
        // CGCS2000 differs from WGS84 by centimetres: taken as WGS84.
        Some(d) if d == "cgcs2000" => Datum::Wgs84,
        Some(d) => match Datum::parse(&d) {
            Some(datum) => datum,
            None => {
                ok = false;
                problems.push(Problem::new(
                    &Source::file(FILE),
                    Some("datum"),
                    format!("unknown datum {d:?}: use wgs84, cgcs2000 or gcj02"),
                    format!("未知坐标系 “{d}”：应为 wgs84、cgcs2000 或 gcj02"),
                ));
                Datum::Wgs84
            }
        },
    };
    ok.then(|| Manifest {
        name: raw.name.trim().to_owned(),
        time_zone,
        datum,
    })
}

/// Text in UTF-8 (a BOM is dropped) or, when it is not valid UTF-8, in
/// GB18030 (a superset of GBK and GB2312), as Chinese office software
/// saves it.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

fn point(lon: f64, lat: f64, datum: Datum) -> Result<Coordinates, String> {
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(format!(
            "({lon}, {lat}) is not a longitude and latitude; export in geographic WGS84 or CGCS2000"
        ));
    }
    Coordinates::from_datum(lat, lon, datum).map_err(|e| e.to_string())
}

fn geometry_problem(at: &Source, message: String) -> Problem {
    Problem::new(
        at,
        Some("geometry"),
        message.clone(),
        format!("几何图形无效：{message}"),
    )
}

fn read_layer(
    files: &PackageFiles,
    layer: LayerFile,
    datum: Datum,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<Vec<Item>> {
    for extension in ["geojson", "json"] {
        let name = format!("{}.{extension}", layer.name);
        if let Some(bytes) = files.get(&name) {
            return read_geojson(&name, bytes, layer, datum, problems, warnings);
        }
    }
    for name in [
        format!("{}.zip", layer.name),
        format!("{}.shp.zip", layer.name),
    ] {
        if let Some(bytes) = files.get(&name) {
            let inner = match PackageFiles::from_zip(bytes) {
                Ok(inner) => inner,
                Err(e) => {
                    problems.push(file_problem(
                        &name,
                        e.to_string(),
                        format!("无法读取压缩包：{e}"),
                    ));
                    return Some(Vec::new());
                }
            };
            return read_shapefile(&name, &inner, layer, datum, problems, warnings);
        }
    }
    let shp = format!("{}.shp", layer.name);
    files
        .get(&shp)
        .is_some()
        .then(|| read_shapefile(&shp, files, layer, datum, problems, warnings))
        .flatten()
}

fn read_geojson(
    file: &str,
    bytes: &[u8],
    layer: LayerFile,
    datum: Datum,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<Vec<Item>> {
    let text = decode_text(bytes);
    let collection: geojson::FeatureCollection = match text.parse() {
        Ok(c) => c,
        Err(e) => {
            problems.push(file_problem(
                file,
                format!("not a GeoJSON FeatureCollection: {e}"),
                format!("不是有效的 GeoJSON FeatureCollection：{e}"),
            ));
            return Some(Vec::new());
        }
    };
    let mut items = Vec::new();
    let mut unknown = std::collections::BTreeSet::new();
    for (index, feature) in collection.features.into_iter().enumerate() {
        let at = Source::feature(file, index as u32);
        let mut cells = HashMap::new();
        for (key, value) in feature.properties.into_iter().flatten() {
            if layer.column(&key).is_none() && unknown.len() < 100 {
                unknown.insert(key.clone());
            }
            if let Some(column) = layer.column(&key) {
                let text = match value {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(";"),
                    other => other.to_string(),
                };
                cells.insert(column.key, text);
            }
        }
        let geometry = match feature.geometry.map(|g| g.value) {
            None => Err("the feature has no geometry".to_owned()),
            Some(value) => geojson_geometry(value, layer.areas, datum),
        };
        match geometry {
            Ok(geometry) => items.push(Item {
                at,
                cells,
                geometry: Some(geometry),
            }),
            Err(message) => problems.push(geometry_problem(&at, message)),
        }
    }
    warnings.extend(unknown_columns(file, &unknown));
    Some(items)
}

fn ring(points: &[geojson::Position], datum: Datum) -> Result<Vec<Coordinates>, String> {
    points
        .iter()
        .map(|p| match p.as_slice() {
            [lon, lat, ..] => point(*lon, *lat, datum),
            _ => Err("a position has fewer than two numbers".to_owned()),
        })
        .collect()
}

fn geojson_geometry(
    value: geojson::GeometryValue,
    areas: bool,
    datum: Datum,
) -> Result<Geometry, String> {
    use geojson::GeometryValue as G;
    let rings = match (value, areas) {
        (G::Point { coordinates }, false) => {
            return match coordinates.as_slice() {
                [lon, lat, ..] => point(*lon, *lat, datum).map(Geometry::Point),
                _ => Err("a position has fewer than two numbers".to_owned()),
            };
        }
        (G::Polygon { coordinates }, true) => coordinates,
        (G::MultiPolygon { coordinates }, true) => coordinates.into_iter().flatten().collect(),
        (other, true) => {
            return Err(format!(
                "expected a Polygon or MultiPolygon, got {}",
                other.type_name()
            ));
        }
        (other, false) => return Err(format!("expected a Point, got {}", other.type_name())),
    };
    let rings = rings
        .iter()
        .map(|r| ring(r, datum))
        .collect::<Result<Vec<_>, _>>()?;
    Polygon::from_rings(rings)
        .map(Geometry::Area)
        .map_err(|e| e.to_string())
}

fn read_shapefile(
    file: &str,
    inner: &PackageFiles,
    layer: LayerFile,
    datum: Datum,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<Vec<Item>> {
    use shapefile::dbase;
    let with_extension = |extension: &str| {
        inner
            .names()
            .find(|n| {
                n.ends_with(extension) && (n.starts_with(layer.name) || !file.ends_with(".shp"))
            })
            .and_then(|n| inner.get(n))
    };
    let (Some(shp), Some(dbf)) = (with_extension(".shp"), with_extension(".dbf")) else {
        problems.push(file_problem(
            file,
            "a Shapefile needs its .shp and .dbf files".into(),
            "Shapefile 缺少 .shp 或 .dbf 文件".into(),
        ));
        return Some(Vec::new());
    };
    // The .dbf text is in the code page its .cpg names, GBK when none does
    // (what Chinese GIS software writes).
    let encoding = with_extension(".cpg")
        .and_then(|cpg| dbase::encoding::DynEncoding::from_name(&decode_text(cpg)))
        .unwrap_or_else(|| dbase::encoding::EncodingRs::from(encoding_rs::GBK).into());
    let shapes = shapefile::ShapeReader::new(std::io::Cursor::new(shp));
    let records = dbase::ReaderBuilder::new()
        .with_encoding(encoding)
        .build(std::io::Cursor::new(dbf));
    let (shapes, records) = match (shapes, records) {
        (Ok(shapes), Ok(records)) => (shapes, records),
        (Err(e), _) => {
            problems.push(file_problem(
                file,
                format!("unreadable .shp: {e}"),
                format!("无法读取 .shp：{e}"),
            ));
            return Some(Vec::new());
        }
        (_, Err(e)) => {
            problems.push(file_problem(
                file,
                format!("unreadable .dbf: {e}"),
                format!("无法读取 .dbf：{e}"),
            ));
            return Some(Vec::new());
        }
    };
    let mut reader = shapefile::Reader::new(shapes, records);
    let mut items = Vec::new();
    let mut unknown = std::collections::BTreeSet::new();
    for (index, result) in reader.iter_shapes_and_records().enumerate() {
        let at = Source::feature(file, index as u32);
        let (shape, record) = match result {
            Ok(pair) => pair,
            Err(e) => {
                problems.push(file_problem(
                    file,
                    format!("unreadable record {index}: {e}"),
                    format!("第 {index} 条记录无法读取：{e}"),
                ));
                break;
            }
        };
        let mut cells = HashMap::new();
        for (key, value) in record {
            let Some(column) = layer.column(&key) else {
                if unknown.len() < 100 {
                    unknown.insert(key);
                }
                continue;
            };
            let text = match value {
                dbase::FieldValue::Character(Some(s)) | dbase::FieldValue::Memo(s) => s,
                dbase::FieldValue::Numeric(Some(n)) => number_text(n),
                dbase::FieldValue::Float(Some(n)) => number_text(f64::from(n)),
                dbase::FieldValue::Double(n) | dbase::FieldValue::Currency(n) => number_text(n),
                dbase::FieldValue::Integer(n) => n.to_string(),
                _ => continue,
            };
            let text = text.trim().to_owned();
            if !text.is_empty() {
                cells.insert(column.key, text);
            }
        }
        let geometry = shape_geometry(shape, layer.areas, datum);
        match geometry {
            Ok(geometry) => items.push(Item {
                at,
                cells,
                geometry: Some(geometry),
            }),
            Err(message) => problems.push(geometry_problem(&at, message)),
        }
    }
    warnings.extend(unknown_columns(file, &unknown));
    Some(items)
}

pub(crate) fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn shape_geometry(shape: shapefile::Shape, areas: bool, datum: Datum) -> Result<Geometry, String> {
    use shapefile::Shape as S;
    fn rings<P>(
        polygon: shapefile::record::polygon::GenericPolygon<P>,
        xy: impl Fn(&P) -> (f64, f64),
        datum: Datum,
    ) -> Result<Vec<Vec<Coordinates>>, String> {
        polygon
            .rings()
            .iter()
            .map(|r| {
                r.points()
                    .iter()
                    .map(|p| {
                        let (x, y) = xy(p);
                        point(x, y, datum)
                    })
                    .collect()
            })
            .collect()
    }
    let area = |rings: Result<Vec<Vec<Coordinates>>, String>| {
        Polygon::from_rings(rings?)
            .map(Geometry::Area)
            .map_err(|e| e.to_string())
    };
    match (shape, areas) {
        (S::Point(p), false) => point(p.x, p.y, datum).map(Geometry::Point),
        (S::PointM(p), false) => point(p.x, p.y, datum).map(Geometry::Point),
        (S::PointZ(p), false) => point(p.x, p.y, datum).map(Geometry::Point),
        (S::Polygon(p), true) => area(rings(p, |p| (p.x, p.y), datum)),
        (S::PolygonM(p), true) => area(rings(p, |p| (p.x, p.y), datum)),
        (S::PolygonZ(p), true) => area(rings(p, |p| (p.x, p.y), datum)),
        (other, true) => Err(format!("expected a polygon, got {}", other.shapetype())),
        (other, false) => Err(format!("expected a point, got {}", other.shapetype())),
    }
}

/// A table may come in several files: `units.xlsx`, and `units-*.csv` or
/// `units_*.xlsx` beside it (a station keeps a roster per force). Their
/// rows are taken together, in file-name order.
/// What reading the package's tables shares.
struct Reading<'a> {
    files: &'a PackageFiles,
    problems: &'a mut Vec<Problem>,
    warnings: &'a mut Vec<Problem>,
    /// What is left of the package's unpacked size.
    bytes_left: &'a mut u64,
    /// A file refused as beyond its limits: nothing more is read.
    refused: &'a mut Option<Problem>,
    budget: &'a dyn Budget,
}

fn read_table(reading: &mut Reading<'_>, table: TableFile) -> Option<Vec<Item>> {
    let files = reading.files;
    let names: Vec<&str> = files
        .names()
        .filter(|name| {
            let Some(stem) = name
                .strip_suffix(".xlsx")
                .or_else(|| name.strip_suffix(".csv"))
            else {
                return false;
            };
            stem == table.name
                || stem
                    .strip_prefix(table.name)
                    .is_some_and(|rest| rest.starts_with(['-', '_']))
        })
        .collect();
    if names.is_empty() {
        return None;
    }
    let mut items = Vec::new();
    for name in names {
        items.extend(read_table_file(reading, name, table));
    }
    Some(items)
}

fn read_table_file(reading: &mut Reading<'_>, file: &str, table: TableFile) -> Vec<Item> {
    if reading.refused.is_some() {
        return Vec::new();
    }
    let bytes = reading.files.get(file).unwrap_or_default();
    let file = file.to_owned();
    let read = if file.ends_with(".xlsx") {
        sheet::xlsx_rows(bytes, &TABLE_LIMITS, *reading.bytes_left, reading.budget).map(
            |(sheet, rows, unpacked)| {
                *reading.bytes_left = reading.bytes_left.saturating_sub(unpacked);
                (Some(sheet), rows)
            },
        )
    } else {
        sheet::csv_rows(bytes, &TABLE_LIMITS, reading.budget).map(|rows| (None, rows))
    };
    let problems = &mut *reading.problems;
    let (sheet, rows) = match read {
        Ok(read) => read,
        Err(e) if e.too_large => {
            *reading.refused = Some(file_problem(&file, e.message, e.message_zh));
            return Vec::new();
        }
        Err(e) => {
            problems.push(file_problem(&file, e.message, e.message_zh));
            return Vec::new();
        }
    };
    // rows[i] is spreadsheet row i + 1; the first is the header.
    let Some(header) = rows.first() else {
        return Vec::new();
    };
    let mut columns: Vec<Option<&'static Column>> = Vec::new();
    let mut unknown = std::collections::BTreeSet::new();
    for cell in header {
        let column = table.column(cell);
        if column.is_none() && !cell.trim().is_empty() && unknown.len() < 100 {
            unknown.insert(cell.trim().to_owned());
        }
        columns.push(column);
    }
    reading.warnings.extend(unknown_columns(&file, &unknown));
    let header_at = Source::row(&file, sheet.as_deref(), 1);
    let mut missing = false;
    for column in table.columns.iter().filter(|c| c.required) {
        if !columns.iter().flatten().any(|c| c.key == column.key) {
            missing = true;
            problems.push(Problem::new(
                &header_at,
                Some(column.key),
                format!(
                    "the header has no column {} ({})",
                    column.key, column.label_zh
                ),
                format!("表头缺少 “{}”（{}）列", column.label_zh, column.key),
            ));
        }
    }
    if missing {
        return Vec::new();
    }
    let mut items = Vec::new();
    for (index, row) in rows.iter().enumerate().skip(1) {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut cells = HashMap::new();
        for (cell, column) in row.iter().zip(&columns) {
            if let Some(column) = column {
                let cell = cell.trim();
                if !cell.is_empty() {
                    cells.insert(column.key, cell.to_owned());
                }
            }
        }
        items.push(Item {
            at: Source::row(&file, sheet.as_deref(), index as u32 + 1),
            cells,
            geometry: None,
        });
    }
    items
}

/// Reads one item's cells, collecting problems.
struct Cells<'a> {
    item: &'a Item,
    problems: &'a mut Vec<Problem>,
    /// A required cell was empty: the record is left out.
    incomplete: bool,
}

impl Cells<'_> {
    fn fail(&mut self, column: &str, en: String, zh: String) {
        self.problems
            .push(Problem::new(&self.item.at, Some(column), en, zh));
    }

    fn optional(&self, key: &str) -> Option<String> {
        self.item.cells.get(key).cloned()
    }

    fn required(&mut self, key: &str) -> String {
        match self.optional(key) {
            Some(value) => value,
            None => {
                self.incomplete = true;
                self.fail(
                    key,
                    format!("{key} is empty"),
                    format!("“{}” 不能为空", columns::label_zh(key)),
                );
                String::new()
            }
        }
    }

    fn parsed<T>(
        &mut self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        all: &[T],
        text_of: fn(&T) -> &'static str,
    ) -> Option<T> {
        let value = self.optional(key)?;
        let parsed = parse(value.trim());
        if parsed.is_none() {
            let allowed: Vec<&str> = all.iter().map(text_of).collect();
            self.fail(
                key,
                format!("unknown {key} {value:?}; use one of {}", allowed.join(", ")),
                format!(
                    "未知的{} “{value}”，可用值：{}",
                    columns::label_zh(key),
                    allowed.join("、")
                ),
            );
        }
        parsed
    }

    fn phone(&mut self) -> Option<PhoneNumber> {
        let text = self.optional("phone")?;
        match PhoneNumber::parse(&text) {
            Ok(phone) => Some(phone),
            Err(e) => {
                self.fail(
                    "phone",
                    format!("malformed phone number {text:?}: {e}"),
                    format!("电话号码 “{text}” 格式错误"),
                );
                None
            }
        }
    }

    fn number(&mut self, key: &str) -> Option<f64> {
        let text = self.optional(key)?;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.fail(
                    key,
                    format!("{key} {text:?} is not a number"),
                    format!("“{}” 的值 “{text}” 不是数字", columns::label_zh(key)),
                );
                None
            }
        }
    }

    fn area(&mut self) -> Option<Polygon> {
        match &self.item.geometry {
            Some(Geometry::Area(area)) => Some(area.clone()),
            _ => None,
        }
    }

    fn point(&mut self) -> Option<Coordinates> {
        match &self.item.geometry {
            Some(Geometry::Point(point)) => Some(*point),
            _ => None,
        }
    }
}

/// The longest text a package's cell may hold (a name, an address, a list
/// of aliases): a 5-million-character name made every unit list 15 MB.
pub const MAX_CELL_CHARS: usize = 1_000;

/// Removes control characters (NUL, escapes, line breaks) from an item's
/// cells, as none belongs in a name or code; returns the columns whose text
/// is still too long.
fn clean_cells(item: &mut Item) -> Vec<&'static str> {
    let mut too_long = Vec::new();
    for (key, value) in &mut item.cells {
        if value.chars().any(char::is_control) {
            *value = value
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
                .trim()
                .to_owned();
        }
        if value.chars().count() > MAX_CELL_CHARS {
            too_long.push(*key);
        }
    }
    too_long.sort_unstable();
    too_long
}

fn convert<R>(
    items: Vec<Item>,
    problems: &mut Vec<Problem>,
    make: fn(&mut Cells<'_>) -> Option<R>,
) -> Vec<R> {
    let mut records = Vec::with_capacity(items.len());
    for mut item in items {
        let too_long = clean_cells(&mut item);
        for key in &too_long {
            problems.push(Problem::new(
                &item.at,
                Some(key),
                format!("{key} is longer than {MAX_CELL_CHARS} characters"),
                format!("“{}” 超过 {MAX_CELL_CHARS} 个字符", columns::label_zh(key)),
            ));
        }
        if !too_long.is_empty() {
            continue;
        }
        let mut cells = Cells {
            item: &item,
            problems,
            incomplete: false,
        };
        let record = make(&mut cells);
        if !cells.incomplete {
            records.extend(record);
        }
    }
    records
}

fn zone(c: &mut Cells<'_>) -> Option<ZoneRecord> {
    Some(ZoneRecord {
        at: c.item.at.clone(),
        code: c.required("code"),
        name: c.required("name"),
        boundary: c.area()?,
    })
}

fn community(c: &mut Cells<'_>) -> Option<CommunityRecord> {
    Some(CommunityRecord {
        at: c.item.at.clone(),
        code: c.required("code"),
        name: c.required("name"),
        parent: c.required("parent"),
        boundary: c.area()?,
    })
}

fn grid_cell(c: &mut Cells<'_>) -> Option<GridCellRecord> {
    let code = c.required("code");
    Some(GridCellRecord {
        at: c.item.at.clone(),
        name: c.optional("name").unwrap_or_else(|| code.clone()),
        code,
        parent: c.required("parent"),
        boundary: c.area()?,
    })
}

fn post(c: &mut Cells<'_>) -> Option<PostRecord> {
    Some(PostRecord {
        at: c.item.at.clone(),
        code: c.required("code"),
        name: c.required("name"),
        kind: c.parsed("kind", PostKind::parse, PostKind::ALL, |k| k.as_str()),
        parent: c.required("parent"),
        location: c.point()?,
    })
}

fn place(c: &mut Cells<'_>) -> Option<PlaceRecord> {
    Some(PlaceRecord {
        at: c.item.at.clone(),
        code: c.required("code"),
        name: c.required("name"),
        kind: c
            .parsed("kind", PlaceKind::parse, PlaceKind::ALL, |k| k.as_str())
            .unwrap_or(PlaceKind::Other),
        address: c.optional("address").unwrap_or_default(),
        aliases: c
            .optional("aliases")
            .map(|a| split_list(&a))
            .unwrap_or_default(),
        parent: c.optional("parent"),
        parent_place: c.optional("parent_place"),
        location: c.point()?,
    })
}

fn camera(c: &mut Cells<'_>) -> Option<CameraRecord> {
    Some(CameraRecord {
        at: c.item.at.clone(),
        code: c.required("code"),
        name: c.required("name"),
        parent: c.optional("parent"),
        direction: c.number("direction"),
        stream_url: c.optional("stream_url"),
        location: c.point()?,
    })
}

fn unit(c: &mut Cells<'_>) -> Option<UnitRecord> {
    let call_sign = c.required("call_sign");
    let name = c.required("name");
    let kind = match c.parsed("kind", UnitKind::parse, UnitKind::ALL, |k| k.as_str()) {
        Some(kind) => kind,
        None => {
            if c.optional("kind").is_none() {
                c.required("kind");
            }
            UnitKind::PatrolCar
        }
    };
    let mut capabilities = Vec::new();
    for text in c
        .optional("capabilities")
        .map(|t| split_list(&t))
        .unwrap_or_default()
    {
        match Capability::parse(&text) {
            Some(capability) => capabilities.push(capability),
            None => {
                let allowed: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                c.fail(
                    "capabilities",
                    format!("unknown capability {text:?}; use {}", allowed.join(", ")),
                    format!("未知能力 “{text}”，可用值：{}", allowed.join("、")),
                );
            }
        }
    }
    let members = match c.number("members") {
        Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 10_000.0 => n as u32,
        Some(n) => {
            c.fail(
                "members",
                format!("members {n} is not a whole number from 1"),
                format!("人数 {n} 不是正整数"),
            );
            1
        }
        None => 1,
    };
    Some(UnitRecord {
        at: c.item.at.clone(),
        call_sign,
        name,
        kind,
        post: c.optional("post"),
        zone: c.optional("zone"),
        capabilities,
        phone: c.phone(),
        organisation: c.optional("organisation"),
        members,
    })
}

fn person(c: &mut Cells<'_>) -> Option<PersonRecord> {
    let text = c.required("username");
    let username = match Username::parse(&text) {
        Ok(username) => Some(username),
        Err(e) => {
            if !text.is_empty() {
                c.fail(
                    "username",
                    format!("username {text:?}: {e}"),
                    format!("用户名 “{text}” 无效：3 到 32 个字符，只能用 a-z、0-9、. _ -"),
                );
            }
            None
        }
    };
    let name = c.required("name");
    let role = c.parsed("role", Role::parse, Role::ALL, |r| r.as_str());
    if c.optional("role").is_none() {
        c.required("role");
    }
    Some(PersonRecord {
        at: c.item.at.clone(),
        username: username?,
        name,
        role: role?,
        unit: c.optional("unit"),
        organisation: c.optional("organisation"),
        phone: c.phone(),
    })
}

fn organisation(c: &mut Cells<'_>) -> Option<OrganisationRecord> {
    let code = c.required("code");
    let name = c.required("name");
    let kind = c.parsed(
        "kind",
        OrganisationKind::parse,
        OrganisationKind::ALL,
        |k| k.as_str(),
    );
    if c.optional("kind").is_none() {
        c.required("kind");
    }
    Some(OrganisationRecord {
        at: c.item.at.clone(),
        code,
        name,
        // Kept with an unknown kind (already reported), so what refers to
        // it is not reported as well.
        kind: kind.unwrap_or(OrganisationKind::Other),
        manages: c
            .optional("manages")
            .map(|m| split_list(&m))
            .unwrap_or_default(),
        community: c.optional("community"),
    })
}

fn category(c: &mut Cells<'_>) -> Option<CategoryRecord> {
    let text = c.required("code");
    let code = match CategoryCode::parse(&text) {
        Ok(code) => Some(code),
        Err(_) => {
            if !text.is_empty() {
                c.fail(
                    "code",
                    format!("category code {text:?}: use 1 to 40 of a-z, 0-9, _, - and ."),
                    format!("类别编码 “{text}” 无效：只能用 1 到 40 个 a-z、0-9、_、-、."),
                );
            }
            None
        }
    };
    let name_zh = c.required("name_zh");
    let family = c.parsed("family", CategoryFamily::parse, CategoryFamily::ALL, |f| {
        f.as_str()
    });
    if c.optional("family").is_none() {
        c.required("family");
    }
    let default_priority = match c.number("default_priority") {
        None => Priority::new(3).ok(),
        Some(n) => match Priority::new(n as i64).ok().filter(|_| n.fract() == 0.0) {
            Some(p) => Some(p),
            None => {
                c.fail(
                    "default_priority",
                    format!("default_priority {n} is not 1 (highest) to 4"),
                    format!("默认优先级 {n} 须为 1（最高）到 4"),
                );
                None
            }
        },
    };
    Some(CategoryRecord {
        at: c.item.at.clone(),
        code: code?,
        name_en: c.optional("name_en").unwrap_or_else(|| name_zh.clone()),
        name_zh,
        family: family?,
        default_priority: default_priority?,
    })
}
