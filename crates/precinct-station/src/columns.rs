//! The package's files and their columns, each with its English key and its
//! Chinese label (either may head a column). Written once: the reader, the
//! writer, the template and the README's table come from here.

/// A column (table) or property (layer): its key and its Chinese label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub key: &'static str,
    pub label_zh: &'static str,
    pub required: bool,
}

const fn required(key: &'static str, label_zh: &'static str) -> Column {
    Column {
        key,
        label_zh,
        required: true,
    }
}

const fn optional(key: &'static str, label_zh: &'static str) -> Column {
    Column {
        key,
        label_zh,
        required: false,
    }
}

/// A ground layer: GeoJSON, a zipped Shapefile, or a bare Shapefile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerFile {
    pub name: &'static str,
    pub label_zh: &'static str,
    /// Polygons (areas) or points.
    pub areas: bool,
    pub columns: &'static [Column],
}

/// A table: `.xlsx` or `.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFile {
    pub name: &'static str,
    pub label_zh: &'static str,
    pub columns: &'static [Column],
}

pub const CODE: Column = required("code", "编码");
pub const NAME: Column = required("name", "名称");

pub const ZONES: LayerFile = LayerFile {
    name: "zones",
    label_zh: "防区",
    areas: true,
    columns: &[CODE, NAME],
};
pub const COMMUNITIES: LayerFile = LayerFile {
    name: "communities",
    label_zh: "社区",
    areas: true,
    columns: &[CODE, NAME, required("parent", "上级")],
};
pub const GRID_CELLS: LayerFile = LayerFile {
    name: "grid_cells",
    label_zh: "网格",
    areas: true,
    columns: &[CODE, optional("name", "名称"), required("parent", "上级")],
};
pub const POSTS: LayerFile = LayerFile {
    name: "posts",
    label_zh: "警务点",
    areas: false,
    columns: &[
        CODE,
        NAME,
        required("parent", "上级"),
        optional("kind", "类型"),
    ],
};
pub const PLACES: LayerFile = LayerFile {
    name: "places",
    label_zh: "地点",
    areas: false,
    columns: &[
        CODE,
        NAME,
        optional("parent", "上级"),
        optional("kind", "类型"),
        optional("address", "地址"),
        optional("aliases", "别名"),
        optional("parent_place", "所在地点"),
    ],
};
pub const CAMERAS: LayerFile = LayerFile {
    name: "cameras",
    label_zh: "摄像头",
    areas: false,
    columns: &[
        CODE,
        NAME,
        optional("parent", "上级"),
        optional("direction", "朝向"),
        optional("stream_url", "视频流地址"),
    ],
};

pub const LAYERS: [LayerFile; 6] = [ZONES, COMMUNITIES, GRID_CELLS, POSTS, PLACES, CAMERAS];

pub const UNITS: TableFile = TableFile {
    name: "units",
    label_zh: "力量",
    columns: &[
        required("call_sign", "呼号"),
        NAME,
        required("kind", "类型"),
        optional("post", "警务点"),
        optional("zone", "防区"),
        optional("capabilities", "能力"),
        optional("phone", "电话"),
        optional("organisation", "所属组织"),
        optional("members", "人数"),
    ],
};
pub const PEOPLE: TableFile = TableFile {
    name: "people",
    label_zh: "人员",
    columns: &[
        required("username", "用户名"),
        required("name", "姓名"),
        required("role", "角色"),
        optional("unit", "所属力量"),
        optional("organisation", "所属组织"),
        optional("phone", "电话"),
    ],
};
pub const ORGANISATIONS: TableFile = TableFile {
    name: "organisations",
    label_zh: "组织",
    columns: &[
        CODE,
        NAME,
        required("kind", "类型"),
        optional("manages", "管理地点"),
        optional("community", "所属社区"),
    ],
};

pub const CATEGORIES: TableFile = TableFile {
    name: "categories",
    label_zh: "警情类别",
    columns: &[
        CODE,
        required("name_zh", "中文名称"),
        optional("name_en", "英文名称"),
        required("family", "类别"),
        optional("default_priority", "默认优先级"),
    ],
};

pub const TABLES: [TableFile; 4] = [UNITS, PEOPLE, ORGANISATIONS, CATEGORIES];

impl TableFile {
    /// The column a header names (its key or Chinese label, any case).
    pub fn column(&self, header: &str) -> Option<&'static Column> {
        find_column(self.columns, header)
    }
}

impl LayerFile {
    pub fn column(&self, header: &str) -> Option<&'static Column> {
        find_column(self.columns, header)
    }
}

fn find_column(columns: &'static [Column], header: &str) -> Option<&'static Column> {
    let header = header.trim().trim_start_matches('\u{feff}');
    columns
        .iter()
        .find(|c| c.key.eq_ignore_ascii_case(header) || c.label_zh == header)
}

/// The Chinese label of a column key, for messages ("kind" → 类型).
pub fn label_zh(key: &str) -> &str {
    LAYERS
        .iter()
        .flat_map(|l| l.columns)
        .chain(TABLES.iter().flat_map(|t| t.columns))
        .find(|c| c.key == key)
        .map_or(key, |c| c.label_zh)
}

/// Splits a cell holding a list: `;`, `；`, `、`, `,` or `，` between items.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', '；', '、', ',', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_either_language() {
        assert_eq!(UNITS.column("呼号").unwrap().key, "call_sign");
        assert_eq!(UNITS.column(" Call_Sign ").unwrap().key, "call_sign");
        assert_eq!(UNITS.column("\u{feff}呼号").unwrap().key, "call_sign");
        assert_eq!(UNITS.column("callsign"), None);
        assert_eq!(PEOPLE.column("姓名").unwrap().key, "name");
    }

    #[test]
    fn lists() {
        assert_eq!(split_list("patrol;vehicle"), ["patrol", "vehicle"]);
        assert_eq!(
            split_list("巡逻；车辆、调解，x, y"),
            ["巡逻", "车辆", "调解", "x", "y"]
        );
        assert!(split_list(" ; ").is_empty());
    }
}
