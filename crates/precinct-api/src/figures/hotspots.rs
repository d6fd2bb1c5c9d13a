//! Hotspots over a period (issue 17, first part): incidents counted on a
//! regular lattice, Getis-Ord Gi* with the false-discovery rate, a kernel
//! density surface, and the Knox test of near repeats among thefts and
//! burglaries, computed by `precinct_analysis`.
//!
//! Incidents are placed on a plane by an equirectangular projection around
//! the south-west corner of those counted (at a district's size, under
//! 0.1% from true distances).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use precinct_analysis::{Contiguity, Event, Kernel, Lattice};
use precinct_domain::policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The most cells a lattice may have.
const MAX_CELLS: usize = 250_000;
/// Earth's mean radius, for the projection.
const EARTH_M: f64 = 6_371_008.8;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotspotQuery {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Only incidents of this category code (e.g. `theft`); default all.
    pub category: Option<String>,
    /// The lattice's cell side in metres (50 to 5,000; default 200).
    #[param(minimum = 50, maximum = 5000)]
    pub cell_m: Option<f64>,
    /// Neighbours for Gi*: `queen` (default), `rook` or `distance_band`.
    #[param(schema_with = crate::schema::contiguity)]
    pub contiguity: Option<String>,
    /// The band for `distance_band`, in metres (default three cells).
    #[param(minimum = 1, maximum = 50000)]
    pub band_m: Option<f64>,
    /// `quartic` (default) or `gaussian`.
    #[param(schema_with = crate::schema::kernel)]
    pub kernel: Option<String>,
    /// The kernel's bandwidth in metres; default by Scott's rule.
    #[param(minimum = 1, maximum = 50000)]
    pub bandwidth_m: Option<f64>,
    /// The false-discovery rate (default 0.05).
    #[param(minimum = 0.0001, maximum = 0.5)]
    pub alpha: Option<f64>,
    /// The baseline emerging hotspots are judged against (RFC 3339);
    /// default the period of equal length just before `from`.
    pub baseline_from: Option<DateTime<Utc>>,
    pub baseline_until: Option<DateTime<Utc>>,
}

/// Gi* over the station's grid cells (网格).
#[derive(Debug, Serialize, ToSchema)]
pub struct GridCellHotspotDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub incidents: f64,
    pub z: f64,
    pub p: f64,
    pub significant: bool,
    /// The cell's centre, for labels.
    pub lat: f64,
    pub lon: f64,
}

/// The lattice: cell `i` is column `i % nx`, row `i / nx` (rows north
/// from the south-west corner).
#[derive(Debug, Serialize, ToSchema)]
pub struct LatticeDto {
    pub south: f64,
    pub west: f64,
    /// Degrees per cell northward and eastward.
    pub cell_lat: f64,
    pub cell_lon: f64,
    pub cell_m: f64,
    pub nx: usize,
    pub ny: usize,
}

/// The Knox test of near repeats.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearRepeatDto {
    /// Thefts and burglaries counted.
    pub events: usize,
    pub distance_m: f64,
    pub interval_days: f64,
    /// Pairs close in both space and time, and the mean over 99 shuffles of the times.
    pub observed: u64,
    pub expected: f64,
    /// (1 + shuffles with as many or more) ÷ 100.
    pub p: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotsDto {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Incidents counted (merged duplicates left out).
    pub incidents: usize,
    pub lattice: LatticeDto,
    /// Per cell: incidents, Gi* z-score, one-tailed p-value, and whether
    /// the cell is a hotspot (z > 0) or a cold spot (z < 0) at the
    /// false-discovery rate.
    pub counts: Vec<f64>,
    pub z: Vec<f64>,
    pub p: Vec<f64>,
    pub significant: Vec<bool>,
    pub fdr_threshold: f64,
    /// Incidents per square kilometre (kernel density × incidents).
    pub density_per_km2: Vec<f64>,
    pub bandwidth_m: f64,
    /// Null when fewer than 10 thefts and burglaries.
    pub near_repeat: Option<NearRepeatDto>,
    pub baseline_from: DateTime<Utc>,
    pub baseline_until: DateTime<Utc>,
    /// Per lattice cell, against the baseline: `new` (a significant hotspot
    /// now, not in the baseline), `intensifying` (significant in both, z up
    /// by more than 1), `persistent` (significant in both), `diminishing`
    /// (significant in the baseline only) or `none`.
    #[schema(schema_with = crate::figures::schema::hotspot_trends)]
    pub trend: Vec<String>,
    /// Gi* over the station's grid cells (neighbours: cells whose bounds
    /// touch), most significant first.
    pub grid_cells: Vec<GridCellHotspotDto>,
    pub definition: String,
}

/// How a lattice cell's Gi* moved against the baseline.
pub const TRENDS: [&str; 5] = ["new", "intensifying", "persistent", "diminishing", "none"];

fn trend(now: (bool, f64), before: (bool, f64)) -> &'static str {
    let hot = |(significant, z): (bool, f64)| significant && z > 0.0;
    match (hot(now), hot(before)) {
        (true, false) => "new",
        (true, true) if now.1 > before.1 + 1.0 => "intensifying",
        (true, true) => "persistent",
        (false, true) => "diminishing",
        (false, false) => "none",
    }
}

/// Gi* over a lattice's counts, nothing significant when all are equal.
fn lattice_gi(
    lattice: &Lattice,
    counts: &[f64],
    contiguity: Contiguity,
    alpha: f64,
) -> precinct_analysis::GiStar {
    let flat = counts.len() < 2 || counts.iter().all(|&c| c == counts[0]);
    if flat {
        precinct_analysis::GiStar {
            z: vec![0.0; counts.len()],
            p: vec![1.0; counts.len()],
            fdr_threshold: alpha / counts.len().max(1) as f64,
            significant: vec![false; counts.len()],
        }
    } else {
        precinct_analysis::lattice_gi_star(lattice, counts, contiguity, alpha)
    }
}

/// Gi* over the station's grid cells: incidents counted by the cell they
/// were placed in, neighbours the cells whose bounds touch (within 5 m).
/// Incidents on a metric plane whose origin is their south-west corner:
/// the hotspot lattice's frame.
pub(crate) struct Plane {
    south: f64,
    west: f64,
    per_lat: f64,
    per_lon: f64,
}

impl Plane {
    pub(crate) fn of(incidents: &[precinct_domain::incident::Incident]) -> Plane {
        let fold = |f: fn(&precinct_domain::incident::Incident) -> f64| {
            incidents.iter().map(f).fold(f64::MAX, f64::min)
        };
        let (south, west) = if incidents.is_empty() {
            (0.0, 0.0)
        } else {
            (fold(|i| i.location.lat()), fold(|i| i.location.lon()))
        };
        let per_lat = EARTH_M * std::f64::consts::PI / 180.0;
        Plane {
            south,
            west,
            per_lat,
            per_lon: per_lat * south.to_radians().cos(),
        }
    }

    pub(crate) fn xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            (lon - self.west) * self.per_lon,
            (lat - self.south) * self.per_lat,
        )
    }

    /// A point of the plane as coordinates.
    pub(crate) fn at(&self, (x, y): (f64, f64)) -> Option<precinct_domain::Coordinates> {
        precinct_domain::Coordinates::new(
            self.south + y / self.per_lat,
            self.west + x / self.per_lon,
        )
        .ok()
    }

    /// The lattice of `cell_m` squares from the origin covering `points`.
    pub(crate) fn lattice(&self, points: &[(f64, f64)], cell_m: f64) -> Lattice {
        let mut lattice = Lattice::covering(points, cell_m);
        lattice.x0 = 0.0;
        lattice.y0 = 0.0;
        lattice
    }
}

/// A significant hotspot cell of the map's layer: its middle, incidents
/// and Gi* z-score.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HotCell {
    pub centre: precinct_domain::Coordinates,
    pub incidents: f64,
    pub z: f64,
}

/// The hot cells the console's hotspot layer shows (250 m
/// cells, queen contiguity, false-discovery rate 5%), hottest first; the
/// briefing reports the same. None when the lattice would be too large.
pub(crate) fn map_hot_cells(
    incidents: &[precinct_domain::incident::Incident],
) -> Option<Vec<HotCell>> {
    const CELL_M: f64 = 250.0;
    let on = Plane::of(incidents);
    let points: Vec<(f64, f64)> = incidents
        .iter()
        .map(|i| on.xy(i.location.lat(), i.location.lon()))
        .collect();
    let lattice = on.lattice(&points, CELL_M);
    if lattice.len() > MAX_CELLS {
        return None;
    }
    let counts = lattice.counts(&points);
    let gi = lattice_gi(&lattice, &counts, Contiguity::Queen, 0.05);
    let mut hot: Vec<HotCell> = (0..counts.len())
        .filter(|&k| gi.significant[k] && gi.z[k] > 0.0)
        .filter_map(|k| {
            Some(HotCell {
                centre: on.at(lattice.centre(k))?,
                incidents: counts[k],
                z: gi.z[k],
            })
        })
        .collect();
    hot.sort_by(|a, b| b.z.total_cmp(&a.z));
    Some(hot)
}

pub(crate) fn grid_cell_gi(
    ground: &precinct_domain::ground::Jurisdiction,
    incidents: &[precinct_domain::incident::Incident],
    alpha: f64,
) -> Vec<GridCellHotspotDto> {
    let cells = &ground.grid_cells;
    if cells.len() < 2 {
        return Vec::new();
    }
    let index: std::collections::HashMap<i64, usize> =
        cells.iter().enumerate().map(|(i, c)| (c.id.0, i)).collect();
    let mut counts = vec![0.0; cells.len()];
    for i in incidents {
        if let Some(k) = i.resolution.grid_cell_id.and_then(|g| index.get(&g.0)) {
            counts[*k] += 1.0;
        }
    }
    let pad = 5.0 / (EARTH_M * std::f64::consts::PI / 180.0);
    let bounds: Vec<_> = cells.iter().map(|c| c.boundary.bounds()).collect();
    let touch = |a: usize, b: usize| {
        let ((s1, n1), (s2, n2)) = (bounds[a], bounds[b]);
        s1.lat() <= n2.lat() + pad
            && s2.lat() <= n1.lat() + pad
            && s1.lon() <= n2.lon() + pad
            && s2.lon() <= n1.lon() + pad
    };
    let neighbours: Vec<Vec<usize>> = (0..cells.len())
        .map(|a| {
            (0..cells.len())
                .filter(|&b| b != a && touch(a, b))
                .collect()
        })
        .collect();
    let flat = counts.iter().all(|&c| c == counts[0]);
    let gi = if flat {
        precinct_analysis::GiStar {
            z: vec![0.0; counts.len()],
            p: vec![1.0; counts.len()],
            fdr_threshold: alpha / counts.len() as f64,
            significant: vec![false; counts.len()],
        }
    } else {
        precinct_analysis::gi_star(&counts, &neighbours, alpha)
    };
    let mut out: Vec<GridCellHotspotDto> = cells
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let centre = c.boundary.centroid();
            GridCellHotspotDto {
                id: c.id.0,
                code: c.code.clone(),
                name: c.name.clone(),
                incidents: counts[k],
                z: gi.z[k],
                p: gi.p[k],
                significant: gi.significant[k],
                lat: centre.lat(),
                lon: centre.lon(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.z.total_cmp(&a.z));
    out
}

/// How the hotspots are computed, served with them.
pub const DEFINITION: &str = "Incidents reported in [from, until) (merged duplicates left out) are counted on square cells. \
Gi* (Getis-Ord, binary weights including the cell itself; neighbours by queen or rook contiguity or a distance band) gives each cell a z-score: \
positive means more incidents around it than chance allows. p is the one-tailed normal p-value of |z|; a cell is significant when p is at most \
the Benjamini-Hochberg threshold at the false-discovery rate alpha. The density is the quartic or Gaussian kernel sum on the cell centres, \
bandwidth given or by Scott's rule (n^(-1/6) × the pooled standard deviation of the coordinates). Near repeats: the Knox test on thefts \
and burglaries, pairs within 200 m and 7 days against 99 shuffles of their times. Emerging hotspots: Gi* of the baseline (default the period \
of equal length before) on the same cells; trend new, intensifying (z up by more than 1), persistent, diminishing or none. Grid cells: Gi* over \
the station's grid cells, incidents counted by the cell they were placed in, neighbours the cells whose bounds touch.";

fn bad(message: &str, message_zh: &str) -> ApiError {
    ApiError::unprocessable("invalid_field", message, message_zh)
}

#[utoipa::path(
    get, path = "/api/analysis/hotspots", operation_id = "hotspots", tag = "figures",
    params(HotspotQuery),
    responses(
        (status = 200, description = "Gi*, density and near repeats over the period, with their definition", body = HotspotsDto),
        (status = 422, description = "A period longer than 400 days or reversed, an unknown contiguity or kernel, a lattice over 250,000 cells", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn hotspots(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<HotspotQuery>,
) -> Result<Json<HotspotsDto>, ApiError> {
    authed.may(Action::ViewFigures)?;
    crate::figures::response::check_period(&crate::figures::response::PeriodQuery {
        from: query.from,
        until: query.until,
    })?;
    let cell_m = query.cell_m.unwrap_or(200.0);
    if !(50.0..=5000.0).contains(&cell_m) {
        return Err(bad(
            "cell_m: 50 to 5,000 metres",
            "网格边长须在50至5000米之间",
        ));
    }
    let within =
        |value: Option<f64>, low: f64, high: f64| value.is_none_or(|v| (low..=high).contains(&v));
    if !within(query.band_m, 1.0, 50_000.0) || !within(query.bandwidth_m, 1.0, 50_000.0) {
        return Err(bad(
            "band_m and bandwidth_m: 1 to 50,000 metres",
            "距离阈值与带宽须在1至50000米之间",
        ));
    }
    if !within(query.alpha, 0.0001, 0.5) {
        return Err(bad("alpha: 0.0001 to 0.5", "错误发现率须在0.0001至0.5之间"));
    }
    let contiguity = match query.contiguity.as_deref().unwrap_or("queen") {
        "queen" => Contiguity::Queen,
        "rook" => Contiguity::Rook,
        "distance_band" => Contiguity::DistanceBand(query.band_m.unwrap_or(3.0 * cell_m)),
        other => {
            return Err(bad(
                &format!("unknown contiguity {other:?}"),
                "邻接方式无效",
            ));
        }
    };
    let kernel = match query.kernel.as_deref().unwrap_or("quartic") {
        "quartic" => Kernel::Quartic,
        "gaussian" => Kernel::Gaussian,
        other => return Err(bad(&format!("unknown kernel {other:?}"), "核函数无效")),
    };
    let alpha = query.alpha.unwrap_or(0.05);
    let counted = |list: Vec<precinct_domain::incident::Incident>| -> Vec<_> {
        list.into_iter()
            .filter(|i| i.merged_into.is_none())
            .filter(|i| {
                query
                    .category
                    .as_deref()
                    .is_none_or(|c| i.category.as_str() == c)
            })
            .collect()
    };
    let incidents: Vec<_> =
        counted(super::period_incidents(&state, query.from, query.until).await?);
    let (baseline_from, baseline_until) = match (query.baseline_from, query.baseline_until) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => (query.from - (query.until - query.from), query.from),
        _ => {
            return Err(bad(
                "give both baseline_from and baseline_until, or neither",
                "基线时段须同时给出开始和结束",
            ));
        }
    };
    crate::figures::response::check_period(&crate::figures::response::PeriodQuery {
        from: baseline_from,
        until: baseline_until,
    })?;
    let baseline: Vec<_> =
        counted(super::period_incidents(&state, baseline_from, baseline_until).await?);
    let on = Plane::of(&incidents);
    let plane = |lat: f64, lon: f64| on.xy(lat, lon);
    let points: Vec<(f64, f64)> = incidents
        .iter()
        .map(|i| plane(i.location.lat(), i.location.lon()))
        .collect();
    let baseline_points: Vec<(f64, f64)> = baseline
        .iter()
        .map(|i| plane(i.location.lat(), i.location.lon()))
        .filter(|&(x, y)| x >= 0.0 && y >= 0.0)
        .collect();
    let lattice = on.lattice(&points, cell_m);
    if lattice.len() > MAX_CELLS {
        return Err(bad(
            &format!(
                "{} cells: at most {MAX_CELLS}; take larger cells",
                lattice.len()
            ),
            "网格过多,请增大网格边长",
        ));
    }
    let counts = lattice.counts(&points);
    // Gi* needs two cells and some variation; otherwise nothing stands out.
    let gi = lattice_gi(&lattice, &counts, contiguity, alpha);
    // The baseline on the same cells (its incidents beyond them left out).
    let baseline_gi = lattice_gi(
        &lattice,
        &lattice.counts(&baseline_points),
        contiguity,
        alpha,
    );
    let trend = (0..counts.len())
        .map(|k| {
            trend(
                (gi.significant[k], gi.z[k]),
                (baseline_gi.significant[k], baseline_gi.z[k]),
            )
            .to_owned()
        })
        .collect();
    let grid_cells = grid_cell_gi(&state.ground(), &incidents, alpha);
    let bandwidth_m = query
        .bandwidth_m
        .unwrap_or_else(|| precinct_analysis::scott_bandwidth(&points).max(cell_m));
    let n = points.len() as f64;
    let density_per_km2 = precinct_analysis::density(&points, &lattice, kernel, bandwidth_m)
        .into_iter()
        .map(|d| d * n * 1e6)
        .collect();
    let day = 86_400.0;
    let thefts: Vec<Event> = incidents
        .iter()
        .filter(|i| matches!(i.category.as_str(), "theft" | "burglary"))
        .map(|i| {
            let (x, y) = plane(i.location.lat(), i.location.lon());
            Event {
                x,
                y,
                t: (i.reported_at - query.from).num_milliseconds() as f64 / 1000.0,
            }
        })
        .collect();
    let near_repeat = (thefts.len() >= 10).then(|| {
        let shuffles = precinct_analysis::permutations(thefts.len(), 99, 17);
        let k = precinct_analysis::knox(&thefts, 200.0, 7.0 * day, &shuffles);
        NearRepeatDto {
            events: thefts.len(),
            distance_m: 200.0,
            interval_days: 7.0,
            observed: k.observed,
            expected: k.expected,
            p: k.p,
        }
    });
    Ok(Json(HotspotsDto {
        from: query.from,
        until: query.until,
        incidents: incidents.len(),
        lattice: LatticeDto {
            south: on.south,
            west: on.west,
            cell_lat: cell_m / on.per_lat,
            cell_lon: cell_m / on.per_lon,
            cell_m,
            nx: lattice.nx,
            ny: lattice.ny,
        },
        counts,
        z: gi.z,
        p: gi.p,
        significant: gi.significant,
        fdr_threshold: gi.fdr_threshold,
        density_per_km2,
        bandwidth_m,
        near_repeat,
        baseline_from,
        baseline_until,
        trend,
        grid_cells,
        definition: DEFINITION.into(),
    }))
}

/// A box of the map and a period: the incidents a hotspot cell counts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CellQuery {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
    /// Only incidents of this category code, as the hotspots were asked.
    pub category: Option<String>,
}

/// One incident a cell counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellIncidentDto {
    pub id: i64,
    pub category: String,
    pub category_label_zh: String,
    pub reported_at: DateTime<Utc>,
    pub address: String,
    #[schema(schema_with = crate::schema::incident_status)]
    pub status: String,
    #[schema(schema_with = crate::schema::incident_source)]
    pub source: String,
}

/// The incidents in a cell, newest first (at most 200), and how many in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellIncidentsDto {
    pub count: usize,
    pub incidents: Vec<CellIncidentDto>,
}

#[utoipa::path(
    get, path = "/api/analysis/cell-incidents", operation_id = "cell_incidents", tag = "figures",
    params(CellQuery),
    responses(
        (status = 200, description = "The period's incidents (merged duplicates left out) inside the box, as a hotspot cell counts them: newest first, at most 200, and the count", body = CellIncidentsDto),
        (status = 422, description = "A bad period, or a box whose south is not below its north or west not left of its east (`invalid_field`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cell_incidents(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<CellQuery>,
) -> Result<Json<CellIncidentsDto>, ApiError> {
    authed.may(Action::ViewFigures)?;
    crate::figures::response::check_period(&crate::figures::response::PeriodQuery {
        from: query.from,
        until: query.until,
    })?;
    let finite = [query.south, query.west, query.north, query.east]
        .iter()
        .all(|v| v.is_finite());
    if !finite || query.south >= query.north || query.west >= query.east {
        return Err(bad(
            "the box needs south < north and west < east",
            "范围无效:南须小于北,西须小于东",
        ));
    }
    let ground = state.ground();
    let mut inside: Vec<_> = super::period_incidents(&state, query.from, query.until)
        .await?
        .into_iter()
        .filter(|i| i.merged_into.is_none())
        .filter(|i| {
            query
                .category
                .as_deref()
                .is_none_or(|c| i.category.as_str() == c)
        })
        .filter(|i| {
            let (lat, lon) = (i.location.lat(), i.location.lon());
            lat >= query.south && lat < query.north && lon >= query.west && lon < query.east
        })
        .collect();
    inside.sort_by_key(|i| std::cmp::Reverse(i.reported_at));
    Ok(Json(CellIncidentsDto {
        count: inside.len(),
        incidents: inside
            .iter()
            .take(200)
            .map(|i| CellIncidentDto {
                id: i.id.0,
                category: i.category.as_str().to_owned(),
                category_label_zh: ground
                    .category_def(i.category.as_str())
                    .map(|d| d.name_zh)
                    .unwrap_or_default(),
                reported_at: i.reported_at,
                address: i.address.clone(),
                status: i.status.as_str().to_owned(),
                source: i.source.as_str().to_owned(),
            })
            .collect(),
    }))
}
