//! The package formats: what is written reads back the same; CSV in GBK,
//! UTF-8 and UTF-8 with BOM; Chinese and English headers; a Shapefile with
//! a GBK `.dbf`; problems named by file, sheet, row and column.

use crate::{PackageFiles, read_package, template, write_package};
use precinct_domain::station::*;

/// A record's place in its file, without the file name noise.
fn without_sources(mut p: StationPackage) -> StationPackage {
    fn clear<R>(records: &mut Option<Vec<R>>, at: fn(&mut R) -> &mut Source) {
        for r in records.iter_mut().flatten() {
            *at(r) = Source::default();
        }
    }
    clear(&mut p.zones, |r| &mut r.at);
    clear(&mut p.communities, |r| &mut r.at);
    clear(&mut p.grid_cells, |r| &mut r.at);
    clear(&mut p.posts, |r| &mut r.at);
    clear(&mut p.places, |r| &mut r.at);
    clear(&mut p.cameras, |r| &mut r.at);
    clear(&mut p.organisations, |r| &mut r.at);
    clear(&mut p.units, |r| &mut r.at);
    clear(&mut p.people, |r| &mut r.at);
    p
}

#[test]
fn the_template_reads_back_and_round_trips_through_a_zip() {
    let files = template().unwrap();
    for name in [
        "station.toml",
        "zones.geojson",
        "units.xlsx",
        "people.xlsx",
        "organisations.xlsx",
    ] {
        assert!(files.get(name).is_some(), "{name}");
    }
    let package = read_package(&files).unwrap();
    assert_eq!(package.name, "示例派出所");
    let units = package.units.as_ref().unwrap();
    assert_eq!(units[0].call_sign, "怡园1");
    // Row 2: the first under the header.
    assert_eq!(units[0].at.row, Some(2));
    assert_eq!(units[0].at.sheet.as_deref(), Some("力量"));
    assert_eq!(package.places.as_ref().unwrap()[0].aliases, ["夜宵街"]);

    let zipped = PackageFiles::from_zip(&files.to_zip().unwrap()).unwrap();
    assert_eq!(zipped, files);
    let rewritten = write_package(&package).unwrap();
    assert_eq!(
        without_sources(read_package(&rewritten).unwrap()),
        without_sources(package)
    );
}

fn with_station(name: &str, bytes: Vec<u8>) -> PackageFiles {
    let mut files = PackageFiles::new();
    files.insert(
        "station.toml",
        "name = \"测试所\"\ntime_zone = \"Asia/Shanghai\"\n".into(),
    );
    files.insert(name, bytes);
    files
}

#[test]
fn csv_in_every_encoding_office_software_writes() {
    let chinese = "用户名,姓名,角色,所属力量,电话\nli.wei,李伟,officer,怡园1,138 0013 8000\n";
    let english = "username,name,role,unit,phone\nli.wei,李伟,officer,怡园1,138 0013 8000\n";
    let gbk = encoding_rs::GBK.encode(chinese).0.into_owned();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(chinese.as_bytes());
    for (label, bytes) in [
        ("utf-8", chinese.as_bytes().to_vec()),
        ("utf-8 with BOM", bom),
        ("gbk", gbk),
        ("english headers", english.as_bytes().to_vec()),
    ] {
        let package = read_package(&with_station("people.csv", bytes))
            .unwrap_or_else(|e| panic!("{label}: {e:?}"));
        let person = &package.people.unwrap()[0];
        assert_eq!(person.name, "李伟", "{label}");
        assert_eq!(person.unit.as_deref(), Some("怡园1"), "{label}");
        assert_eq!(person.phone.as_ref().unwrap().as_str(), "13800138000");
        assert_eq!(person.at.row, Some(2), "{label}");
    }
}

#[test]
fn a_shapefile_with_a_gbk_dbf_and_no_cpg() {
    use shapefile::dbase::{self, FieldValue, Record, TableWriterBuilder};
    let dir = tempfile::tempdir().unwrap();
    {
        let shp = std::fs::File::create(dir.path().join("c.shp")).unwrap();
        let shx = std::fs::File::create(dir.path().join("c.shx")).unwrap();
        let dbf = std::fs::File::create(dir.path().join("c.dbf")).unwrap();
        let table =
            TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::GBK))
                .add_character_field("code".try_into().unwrap(), 10)
                .add_character_field("name".try_into().unwrap(), 20)
                .add_character_field("parent".try_into().unwrap(), 10)
                .build_with_dest(dbf);
        let mut writer = shapefile::Writer::new(shapefile::ShapeWriter::with_shx(shp, shx), table);
        let ring = |w: f64, s: f64| {
            shapefile::PolygonRing::Outer(vec![
                shapefile::Point::new(w, s),
                shapefile::Point::new(w, s + 0.01),
                shapefile::Point::new(w + 0.01, s + 0.01),
                shapefile::Point::new(w + 0.01, s),
                shapefile::Point::new(w, s),
            ])
        };
        for (code, name, w) in [("YD", "永定社区", 113.0), ("YY", "怡园社区", 113.01)] {
            let mut record = Record::default();
            record.insert("code".into(), FieldValue::Character(Some(code.into())));
            record.insert("name".into(), FieldValue::Character(Some(name.into())));
            record.insert("parent".into(), FieldValue::Character(Some("N".into())));
            writer
                .write_shape_and_record(&shapefile::Polygon::new(ring(w, 28.15)), &record)
                .unwrap();
        }
    }
    // The .dbf really is GBK: its bytes are not UTF-8.
    let dbf = std::fs::read(dir.path().join("c.dbf")).unwrap();
    assert!(std::str::from_utf8(&dbf).is_err());
    let mut inner = PackageFiles::new();
    for extension in ["shp", "shx", "dbf"] {
        let bytes = std::fs::read(dir.path().join(format!("c.{extension}"))).unwrap();
        inner.insert(&format!("communities.{extension}"), bytes);
    }
    let package = read_package(&with_station("communities.zip", inner.to_zip().unwrap())).unwrap();
    let communities = package.communities.unwrap();
    assert_eq!(communities.len(), 2);
    assert_eq!(communities[0].name, "永定社区");
    assert_eq!(communities[1].name, "怡园社区");
    assert_eq!(communities[1].at.feature, Some(1));
    assert!(
        communities[0]
            .boundary
            .contains(precinct_geo::Coordinates::new(28.155, 113.005).unwrap())
    );
}

#[test]
fn gcj02_packages_are_converted_to_wgs84() {
    let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "geometry":{"type":"Point","coordinates":[113.0,28.15]},
        "properties":{"编码":"P1","名称":"怡园警务点","上级":"N"}}]}"#;
    let mut files = with_station("posts.geojson", point.into());
    let wgs = read_package(&files).unwrap().posts.unwrap()[0].location;
    assert_eq!((wgs.lat(), wgs.lon()), (28.15, 113.0));
    files.insert(
        "station.toml",
        "name = \"测试所\"\ndatum = \"gcj02\"\n".into(),
    );
    let converted = read_package(&files).unwrap().posts.unwrap()[0].location;
    let expected = precinct_geo::gcj02_to_wgs84(wgs);
    assert_eq!(converted, expected);
    assert!(
        wgs.distance_m(converted) > 100.0,
        "GCJ-02 is offset by hundreds of metres"
    );
}

/// Each broken file with the problem it must get: file, sheet, row or
/// feature, column, and a word of the message.
#[test]
fn problems_are_named_where_they_are() {
    /// (label, file, content).
    type Case = (&'static str, &'static str, &'static [u8]);
    /// (sheet, row or feature, column, part of the message).
    type Expected = (
        Option<&'static str>,
        u32,
        Option<&'static str>,
        &'static str,
    );
    let cases: &[(Case, Expected)] = &[
        (
            ("units", "units.csv", b"call_sign,name,kind\nA1,a,tank\n"),
            (None, 2, Some("kind"), "unknown kind \"tank\""),
        ),
        (
            ("people", "people.csv", b"username,name,role\nli.wei,li,chief\n"),
            (None, 2, Some("role"), "unknown role \"chief\""),
        ),
        (
            ("people", "people.csv", b"username,name,role,phone\n\nli.wei,li,officer,12ab\n"),
            (None, 3, Some("phone"), "malformed phone"),
        ),
        (
            ("people", "people.csv", b"username,name\nli.wei,li\n"),
            (None, 1, Some("role"), "no column role"),
        ),
        (
            (
                "categories",
                "categories.csv",
                "code,name_zh,family,default_priority\nqiang-jie,抢劫,alien,1\n".as_bytes(),
            ),
            (None, 2, Some("family"), "unknown family \"alien\""),
        ),
        (
            (
                "categories",
                "categories.csv",
                "编码,中文名称,类别,默认优先级\nqiang-jie,抢劫,criminal,7\n".as_bytes(),
            ),
            (None, 2, Some("default_priority"), "not 1 (highest) to 4"),
        ),
        (
            ("units", "units.csv", b"call_sign,name,kind,capabilities\nA1,a,patrol_car,patrol;flying\n"),
            (None, 2, Some("capabilities"), "unknown capability \"flying\""),
        ),
        (
            (
                "zones",
                "zones.geojson",
                br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"code":"N","name":"n"}}]}"#,
            ),
            (None, 0, Some("geometry"), "expected a Polygon"),
        ),
        (
            (
                "posts",
                "posts.geojson",
                br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[400000,3100000]},"properties":{"code":"P","name":"p","parent":"N"}}]}"#,
            ),
            (None, 0, Some("geometry"), "not a longitude and latitude"),
        ),
    ];
    for ((label, file, bytes), (sheet, row, column, message)) in cases {
        let problems = read_package(&with_station(file, bytes.to_vec())).expect_err(label);
        assert_eq!(problems.len(), 1, "{label}: {problems:#?}");
        let p = &problems[0];
        assert_eq!(p.at.file, *file, "{label}");
        assert_eq!(p.at.sheet.as_deref(), *sheet, "{label}");
        assert_eq!(p.at.row.or(p.at.feature), Some(*row), "{label}");
        assert_eq!(p.column.as_deref(), *column, "{label}");
        assert!(p.message.contains(message), "{label}: {:?}", p.message);
        assert!(!p.message_zh.is_empty());
    }
}

#[test]
fn a_package_without_station_toml_or_with_a_wrong_zone_is_refused() {
    let mut files = PackageFiles::new();
    files.insert("units.csv", b"call_sign,name,kind\n".to_vec());
    let problems = read_package(&files).unwrap_err();
    assert_eq!(problems[0].at.file, "station.toml");
    files.insert(
        "station.toml",
        b"name = \"x\"\ntime_zone = \"Mars/Olympus\"\n".to_vec(),
    );
    let problems = read_package(&files).unwrap_err();
    assert_eq!(problems[0].column.as_deref(), Some("time_zone"));
}

#[test]
fn a_zip_bomb_is_refused() {
    let mut files = PackageFiles::new();
    files.insert("station.toml", vec![b' '; 1024 * 1024]);
    let zip = files.to_zip().unwrap();
    assert!(zip.len() < 16 * 1024, "a megabyte of spaces packs small");
    assert!(PackageFiles::from_zip(&zip).is_ok());
    assert!(matches!(
        PackageFiles::from_zip_within(&zip, 64 * 1024),
        Err(crate::PackageError::TooLarge)
    ));
    assert!(matches!(
        PackageFiles::from_zip(b"not a zip"),
        Err(crate::PackageError::Zip(_))
    ));
}

#[test]
fn package_text_is_cleaned_of_control_characters_and_bounded() {
    let long = "长".repeat(crate::read::MAX_CELL_CHARS + 1);
    let csv = format!("username,name,role\nli.wei,李\u{0}伟\u{1b},officer\nwang,{long},officer\n");
    let (package, problems) =
        crate::read_package_with_problems(&with_station("people.csv", csv.into_bytes()));
    let people = package.people.unwrap();
    assert_eq!(people.len(), 1, "the row with a too-long name is left out");
    assert_eq!(people[0].name, "李伟", "control characters removed");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].at.row, Some(3));
    assert_eq!(problems[0].column.as_deref(), Some("name"));
}

#[test]
fn the_template_and_an_export_hold_nothing_unknown() {
    let template = crate::template().unwrap();
    let read = crate::read_package_within(&template, &precinct_domain::budget::Unlimited).unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let exported = crate::write_package(&read.package).unwrap();
    let read = crate::read_package_within(&exported, &precinct_domain::budget::Unlimited).unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}
