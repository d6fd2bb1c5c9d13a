//! The station's figures against the same period last year (同比) and the
//! period just before (环比), and their breakdowns (issue 17), answered
//! from the rollups (`precinct_storage::rollups`): any period, exactly,
//! without reading its incidents.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::figures::response::PeriodQuery;
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Offset, TimeZone, Utc};
use precinct_domain::figures::{
    CHANGE_DEFINITION, DisputeFigures, FigureSums, StationFigureKey, is_theft, relative_change,
};
use precinct_domain::ground::Jurisdiction;
use precinct_domain::ids::{CommunityId, GridCellId, ZoneId};
use precinct_domain::incident::CategoryFamily;
use precinct_domain::policy::Action;
use precinct_storage::rollups::{Grain, Measures, RollupDim, RollupQuery, RollupRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The three periods a figure is compared over: this one, the same a year
/// earlier, and the one of equal length just before.
pub(crate) struct Compared {
    pub this: (DateTime<Utc>, DateTime<Utc>),
    pub last_year: (DateTime<Utc>, DateTime<Utc>),
    pub previous: (DateTime<Utc>, DateTime<Utc>),
}

impl Compared {
    pub fn of(period: &PeriodQuery) -> Compared {
        let year = chrono::Months::new(12);
        let back = |t: DateTime<Utc>| t.checked_sub_months(year).unwrap_or(t);
        let length = period.until - period.from;
        Compared {
            this: (period.from, period.until),
            last_year: (back(period.from), back(period.until)),
            previous: (period.from - length, period.from),
        }
    }

    fn all(&self) -> [(DateTime<Utc>, DateTime<Utc>); 3] {
        [self.this, self.last_year, self.previous]
    }
}

/// A period of any length, from 1900 on (history reaches that far).
pub(crate) fn check_any_period(period: &PeriodQuery) -> Result<(), ApiError> {
    let earliest = precinct_domain::history::earliest_time();
    let latest = DateTime::<Utc>::from_timestamp(7_258_118_400, 0).unwrap_or_default();
    if period.from >= period.until || period.from < earliest || period.until > latest {
        return Err(ApiError::unprocessable(
            "invalid_period",
            "from must be before until, both between 1900 and 2200",
            "统计时段无效:开始须早于结束,且在1900年至2200年之间",
        ));
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StationFigureDto {
    #[schema(schema_with = crate::schema::station_figure_key)]
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// `count`, `seconds` or `rate` (a fraction: 0.9613 is 96.13%).
    #[schema(schema_with = crate::schema::figure_unit)]
    pub unit: String,
    /// True when a rise is good news (rates); false for counts and times.
    pub higher_is_better: bool,
    /// Over the period; null when not defined (a mean or rate over nothing).
    pub value: Option<f64>,
    /// The same figure over the same period a year earlier (同比).
    pub last_year: Option<f64>,
    /// (value − last_year) ÷ last_year, a fraction; null when the base is 0 or null.
    pub yoy_change: Option<f64>,
    /// Over the period of equal length just before (环比).
    pub previous: Option<f64>,
    /// (value − previous) ÷ previous, a fraction; null when the base is 0 or null.
    pub pop_change: Option<f64>,
    pub definition: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StationFiguresDto {
    pub from: DateTime<Utc>,
    /// The period's end, or now when it is still running: a running period
    /// is compared like for like (last year's and the previous period's
    /// same length of days).
    pub until: DateTime<Utc>,
    pub last_year_from: DateTime<Utc>,
    pub last_year_until: DateTime<Utc>,
    pub previous_from: DateTime<Utc>,
    pub previous_until: DateTime<Utc>,
    pub figures: Vec<StationFigureDto>,
    /// How values are compared (同比, 环比).
    pub comparison: String,
}

/// The sums of one period, from its family and category rollups.
fn sums_of(families: &[RollupRow], categories: &[RollupRow]) -> FigureSums {
    let mut s = FigureSums::default();
    for r in families {
        let m = &r.measures;
        s.incidents += m.n;
        s.police_n += m.police_n;
        s.police_seconds += m.police_seconds;
        s.helper_n += m.helper_n;
        s.helper_seconds += m.helper_seconds;
        s.closed += m.closed;
        s.on_scene += m.on_scene;
        match CategoryFamily::parse(&r.key) {
            Some(CategoryFamily::Criminal) => s.criminal += m.n,
            Some(CategoryFamily::PublicOrder) => s.public_order += m.n,
            Some(CategoryFamily::Dispute) => s.dispute += m.n,
            _ => {}
        }
    }
    s.theft = categories
        .iter()
        .filter(|r| is_theft(&r.key))
        .map(|r| r.measures.n)
        .sum();
    s
}

#[utoipa::path(
    get, path = "/api/figures/station", operation_id = "station_figures", tag = "figures",
    params(PeriodQuery),
    responses(
        (status = 200, description = "The station's figures over [from, until) of any length, each with the same period a year earlier (同比) and the period of equal length just before (环比), and its definition (also in the README): incidents (警情总量), criminal, public_order, theft, dispute (纠纷类), police_response_seconds (出警速度), first_response_seconds, on_scene_resolution_rate, dispute_resolution_rate. Answered from rollups kept in the same transaction as every change.", body = StationFiguresDto),
        (status = 422, description = "from is not before until, or outside 1900–2200", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn station_figures(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(period): QueryParams<PeriodQuery>,
) -> Result<Json<StationFiguresDto>, ApiError> {
    authed.may(Action::ViewFigures)?;
    check_any_period(&period)?;
    Ok(Json(figures_of(&state, &period).await?))
}

/// The rollup reads the station's figures over a period take: family and
/// category, for the period, the same period a year earlier and the one
/// before (the benchmark times exactly these).
pub fn figure_queries(period: &PeriodQuery) -> Vec<RollupQuery> {
    Compared::of(period)
        .all()
        .into_iter()
        .flat_map(|(from, until)| {
            [RollupDim::Family, RollupDim::Category].map(|dim| RollupQuery {
                dim,
                from,
                until,
                grain: Grain::Total,
            })
        })
        .collect()
}

/// A period still running compared like for like: up to now, against the
/// same days a year earlier and the same length before (a month seven days
/// old against last year's first seven days, not its whole month).
pub(crate) fn so_far(period: &PeriodQuery, now: DateTime<Utc>) -> PeriodQuery {
    PeriodQuery {
        from: period.from,
        until: if period.from < now && now < period.until {
            now
        } else {
            period.until
        },
    }
}

/// The station's figures over a checked period.
pub(crate) async fn figures_of(
    state: &AppState,
    period: &PeriodQuery,
) -> Result<StationFiguresDto, ApiError> {
    let period = &so_far(period, state.clock.now());
    let compared = Compared::of(period);
    let answers = state.store.figure_rollups(figure_queries(period)).await?;
    let disputes = state.store.list_disputes().await?;
    let sums: Vec<FigureSums> = compared
        .all()
        .iter()
        .zip(answers.chunks(2))
        .map(|((from, until), pair)| {
            let mut s = sums_of(&pair[0], &pair[1]);
            let d = DisputeFigures::of(&disputes, *from, *until);
            s.disputes_resolved = d.all.resolved as i64;
            s.disputes_unresolved = d.all.unresolved as i64;
            s
        })
        .collect();
    let figures = StationFigureKey::ALL
        .iter()
        .map(|&key| {
            let [value, last_year, previous] = [0, 1, 2].map(|i| sums[i].value(key));
            StationFigureDto {
                key: key.as_str().into(),
                label_zh: key.label_zh().into(),
                label_en: key.label_en().into(),
                unit: key.unit().as_str().into(),
                higher_is_better: key.higher_is_better(),
                value,
                last_year,
                yoy_change: relative_change(value, last_year),
                previous,
                pop_change: relative_change(value, previous),
                definition: key.definition().into(),
            }
        })
        .collect();
    Ok(StationFiguresDto {
        from: compared.this.0,
        until: compared.this.1,
        last_year_from: compared.last_year.0,
        last_year_until: compared.last_year.1,
        previous_from: compared.previous.0,
        previous_until: compared.previous.1,
        figures,
        comparison: CHANGE_DEFINITION.into(),
    })
}

/// What a breakdown is by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakdownBy {
    Zone,
    Community,
    GridCell,
    Category,
    HourWeekday,
}

impl BreakdownBy {
    pub const ALL: [BreakdownBy; 5] = [
        BreakdownBy::Zone,
        BreakdownBy::Community,
        BreakdownBy::GridCell,
        BreakdownBy::Category,
        BreakdownBy::HourWeekday,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BreakdownBy::Zone => "zone",
            BreakdownBy::Community => "community",
            BreakdownBy::GridCell => "grid_cell",
            BreakdownBy::Category => "category",
            BreakdownBy::HourWeekday => "hour_weekday",
        }
    }

    fn dim(self) -> RollupDim {
        match self {
            BreakdownBy::Zone => RollupDim::Zone,
            BreakdownBy::Community => RollupDim::Community,
            BreakdownBy::GridCell => RollupDim::GridCell,
            BreakdownBy::Category => RollupDim::Category,
            BreakdownBy::HourWeekday => RollupDim::HourOfWeek,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BreakdownQuery {
    /// Start of the period (RFC 3339, inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (RFC 3339, exclusive).
    pub until: DateTime<Utc>,
    /// `zone`, `community`, `grid_cell`, `category` (the default) or `hour_weekday`.
    #[param(schema_with = crate::figures::schema::breakdown_by)]
    pub by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownRowDto {
    /// The zone, community or grid cell id, the category code, or
    /// `weekday-hour` (e.g. `1-08`, Monday 08:00–09:00 in the station's
    /// time zone); an empty key is outside any zone, community or cell.
    pub key: String,
    /// The name as the station's ground or code table gives it.
    pub name: Option<String>,
    /// For `hour_weekday`: 1 (Monday) to 7 (Sunday), and the hour 0–23.
    pub weekday: Option<u32>,
    pub hour: Option<u32>,
    pub incidents: i64,
    /// Incidents over the same period a year earlier, and the change.
    pub last_year: i64,
    pub yoy_change: Option<f64>,
    pub dispatched: i64,
    pub police_response_seconds: Option<f64>,
    pub first_response_seconds: Option<f64>,
    pub on_scene_resolution_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresBreakdownDto {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[schema(schema_with = crate::figures::schema::breakdown_by)]
    pub by: String,
    pub rows: Vec<BreakdownRowDto>,
    pub definition: String,
}

const BREAKDOWN_DEFINITION: &str = "Per row: incidents reported in the period (merged duplicates counted once) in that zone, community, grid cell (by where the incident was placed when taken in), category, or hour of the week in the station's time zone; last_year the same over the same period a year earlier and yoy_change = (incidents − last_year) ÷ last_year; dispatched; police_response_seconds and first_response_seconds the mean seconds from report to the first police unit or helper on scene; on_scene_resolution_rate = closed as resolved on scene ÷ closed with a disposition (null when none records one). hour_weekday lists all 168 hours, zeros included; other breakdowns list the keys with incidents in either period, most incidents first.";

/// Where an hour of the week (UTC) of rows starting at `start` falls in
/// the station's time zone: (weekday 1–7, hour 0–23).
fn local_hour(tz: chrono_tz::Tz, start: DateTime<Utc>, utc_how: i64) -> (u32, u32) {
    let offset_h = i64::from(
        tz.offset_from_utc_datetime(&start.naive_utc())
            .fix()
            .local_minus_utc(),
    )
    .div_euclid(3600);
    let local = (utc_how + offset_h).rem_euclid(168);
    ((local / 24) as u32 + 1, (local % 24) as u32)
}

fn name_of(ground: &Jurisdiction, by: BreakdownBy, key: &str) -> Option<String> {
    let id = || key.parse::<i64>().ok();
    match by {
        BreakdownBy::Zone => id().and_then(|i| ground.zone(ZoneId(i)).map(|z| z.name.clone())),
        BreakdownBy::Community => {
            id().and_then(|i| ground.community(CommunityId(i)).map(|c| c.name.clone()))
        }
        BreakdownBy::GridCell => {
            id().and_then(|i| ground.grid_cell(GridCellId(i)).map(|g| g.name.clone()))
        }
        BreakdownBy::Category => ground.category_def(key).map(|c| c.name_zh),
        BreakdownBy::HourWeekday => None,
    }
}

#[utoipa::path(
    get, path = "/api/figures/breakdown", operation_id = "figures_breakdown", tag = "figures",
    params(BreakdownQuery),
    responses(
        (status = 200, description = "Incidents over [from, until) of any length broken down by zone, community, grid cell, category, or hour of day × weekday, each with the same period a year earlier and response figures; definition in the `definition` field. From the rollups.", body = FiguresBreakdownDto),
        (status = 422, description = "An unknown `by`, or from is not before until, or outside 1900–2200", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn figures_breakdown(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<BreakdownQuery>,
) -> Result<Json<FiguresBreakdownDto>, ApiError> {
    authed.may(Action::ViewFigures)?;
    let by = BreakdownBy::ALL
        .into_iter()
        .find(|b| b.as_str() == query.by.as_deref().unwrap_or("category"))
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_breakdown",
                "by must be zone, community, grid_cell, category or hour_weekday",
                "分组方式无效:应为 zone、community、grid_cell、category 或 hour_weekday",
            )
        })?;
    let period = PeriodQuery {
        from: query.from,
        until: query.until,
    };
    check_any_period(&period)?;
    Ok(Json(breakdown_of(&state, &period, by).await?))
}

/// A breakdown over a checked period.
pub(crate) async fn breakdown_of(
    state: &AppState,
    period: &PeriodQuery,
    by: BreakdownBy,
) -> Result<FiguresBreakdownDto, ApiError> {
    let period = &so_far(period, state.clock.now());
    let compared = Compared::of(period);
    let grain = if by == BreakdownBy::HourWeekday {
        Grain::Pieces
    } else {
        Grain::Total
    };
    let queries = [compared.this, compared.last_year]
        .into_iter()
        .map(|(from, until)| RollupQuery {
            dim: by.dim(),
            from,
            until,
            grain,
        })
        .collect();
    let answers = state.store.figure_rollups(queries).await?;
    let tz = state.tz();
    let key_of = |r: &RollupRow| -> String {
        if by == BreakdownBy::HourWeekday {
            let (weekday, hour) = local_hour(tz, r.start, r.key.parse().unwrap_or(0));
            format!("{weekday}-{hour:02}")
        } else {
            r.key.clone()
        }
    };
    let mut this: BTreeMap<String, Measures> = BTreeMap::new();
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for r in &answers[0] {
        this.entry(key_of(r)).or_default().add(&r.measures);
    }
    for r in &answers[1] {
        *last.entry(key_of(r)).or_default() += r.measures.n;
    }
    let mut keys: Vec<String> = if by == BreakdownBy::HourWeekday {
        (1..=7)
            .flat_map(|d| (0..24).map(move |h| format!("{d}-{h:02}")))
            .collect()
    } else {
        let mut k: Vec<String> = this.keys().chain(last.keys()).cloned().collect();
        k.sort();
        k.dedup();
        k
    };
    if by != BreakdownBy::HourWeekday {
        keys.sort_by_key(|k| std::cmp::Reverse(this.get(k).map_or(0, |m| m.n)));
    }
    let ground = state.ground();
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    let rows = keys
        .into_iter()
        .map(|key| {
            let m = this.get(&key).copied().unwrap_or_default();
            let before = last.get(&key).copied().unwrap_or(0);
            let (weekday, hour) = match key.split_once('-') {
                Some((d, h)) if by == BreakdownBy::HourWeekday => (d.parse().ok(), h.parse().ok()),
                _ => (None, None),
            };
            BreakdownRowDto {
                name: name_of(&ground, by, &key),
                key,
                weekday,
                hour,
                incidents: m.n,
                last_year: before,
                yoy_change: relative_change(Some(m.n as f64), Some(before as f64)),
                dispatched: m.dispatched,
                police_response_seconds: ratio(m.police_seconds, m.police_n),
                first_response_seconds: ratio(m.helper_seconds, m.helper_n),
                on_scene_resolution_rate: ratio(m.on_scene, m.closed),
            }
        })
        .collect();
    Ok(FiguresBreakdownDto {
        from: period.from,
        until: period.until,
        by: by.as_str().into(),
        rows,
        definition: BREAKDOWN_DEFINITION.into(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Start of the period (RFC 3339, inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (RFC 3339, exclusive).
    pub until: DateTime<Utc>,
    /// `day`, `week` (from Monday) or `month`, in the station's time zone;
    /// default day up to 92 days, week up to two years, else month.
    #[param(schema_with = crate::figures::schema::series_interval)]
    pub interval: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPointDto {
    /// The bucket's start (the first one starts at `from`) and end.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub incidents: i64,
    pub criminal: i64,
    pub public_order: i64,
    pub theft: i64,
    pub dispute: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresSeriesDto {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[schema(schema_with = crate::figures::schema::series_interval)]
    pub interval: String,
    pub points: Vec<SeriesPointDto>,
    pub definition: String,
}

/// The most points one series has.
const MAX_POINTS: usize = 400;
pub const SERIES_INTERVALS: [&str; 3] = ["day", "week", "month"];

/// The local calendar boundaries after `from` up to `until`.
fn boundaries(
    tz: chrono_tz::Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    interval: &str,
) -> Vec<DateTime<Utc>> {
    use chrono::{Datelike, NaiveTime};
    let local = from.with_timezone(&tz).date_naive();
    let mut date = match interval {
        "week" => local - chrono::Duration::days(i64::from(local.weekday().num_days_from_monday())),
        "month" => local.with_day(1).unwrap_or(local),
        _ => local,
    };
    let mut out = vec![from];
    loop {
        date = match interval {
            "week" => date + chrono::Duration::days(7),
            "month" => date
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(date),
            _ => date + chrono::Duration::days(1),
        };
        let at = tz
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc));
        match at {
            Some(at) if at < until => {
                if at > from {
                    out.push(at);
                }
            }
            _ => break,
        }
        if out.len() > MAX_POINTS + 1 {
            break;
        }
    }
    out.push(until);
    out
}

#[utoipa::path(
    get, path = "/api/figures/series", operation_id = "figures_series", tag = "figures",
    params(SeriesQuery),
    responses(
        (status = 200, description = "Incidents (all, criminal, public order, theft, dispute-type; as station_figures defines them) per day, week or month of the station's calendar over [from, until), from the rollups.", body = FiguresSeriesDto),
        (status = 422, description = "An unknown interval, more than 400 points, or a bad period", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn figures_series(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<SeriesQuery>,
) -> Result<Json<FiguresSeriesDto>, ApiError> {
    authed.may(Action::ViewFigures)?;
    let period = PeriodQuery {
        from: query.from,
        until: query.until,
    };
    check_any_period(&period)?;
    let days = (period.until - period.from).num_days();
    let interval = match query.interval.as_deref() {
        Some(i) if SERIES_INTERVALS.contains(&i) => i,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_interval",
                "interval must be day, week or month",
                "时间粒度无效:应为 day、week 或 month",
            ));
        }
        None if days <= 92 => "day",
        None if days <= 731 => "week",
        None => "month",
    };
    let edges = boundaries(state.tz(), period.from, period.until, interval);
    if edges.len() > MAX_POINTS + 1 {
        return Err(ApiError::unprocessable(
            "too_many_points",
            format!("more than {MAX_POINTS} points: take a longer interval"),
            format!("数据点超过{MAX_POINTS}个,请选用更长的时间粒度"),
        ));
    }
    let queries = edges
        .windows(2)
        .flat_map(|w| {
            [RollupDim::Family, RollupDim::Category].map(|dim| RollupQuery {
                dim,
                from: w[0],
                until: w[1],
                grain: Grain::Total,
            })
        })
        .collect();
    let answers = state.store.figure_rollups(queries).await?;
    let points = edges
        .windows(2)
        .zip(answers.chunks(2))
        .map(|(w, pair)| {
            let s = sums_of(&pair[0], &pair[1]);
            SeriesPointDto {
                start: w[0],
                end: w[1],
                incidents: s.incidents,
                criminal: s.criminal,
                public_order: s.public_order,
                theft: s.theft,
                dispute: s.dispute,
            }
        })
        .collect();
    Ok(Json(FiguresSeriesDto {
        from: period.from,
        until: period.until,
        interval: interval.into(),
        points,
        definition: "Per bucket of the station's calendar (days from local midnight, weeks from Monday, months from the 1st; the first and last buckets cut at from and until): the counts station_figures defines, by the time of the report.".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_of_the_week_move_into_the_station_zone() {
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        // Monday 00:00 UTC is Monday 08:00 in Shanghai.
        assert_eq!(local_hour(chrono_tz::Asia::Shanghai, start, 0), (1, 8));
        // Sunday 20:00 UTC is Monday 04:00 in Shanghai.
        assert_eq!(local_hour(chrono_tz::Asia::Shanghai, start, 164), (1, 4));
        assert_eq!(local_hour(chrono_tz::UTC, start, 167), (7, 23));
    }

    #[test]
    fn series_buckets_follow_the_local_calendar() {
        let tz = chrono_tz::Asia::Shanghai;
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let edges = boundaries(
            tz,
            at("2026-01-30T12:00:00+08:00"),
            at("2026-03-02T00:00:00+08:00"),
            "month",
        );
        assert_eq!(
            edges,
            [
                at("2026-01-30T12:00:00+08:00"),
                at("2026-02-01T00:00:00+08:00"),
                at("2026-03-01T00:00:00+08:00"),
                at("2026-03-02T00:00:00+08:00")
            ]
        );
        let weeks = boundaries(
            tz,
            at("2026-11-04T00:00:00+08:00"),
            at("2026-11-17T00:00:00+08:00"),
            "week",
        );
        // 2026-11-09 and 2026-11-16 are Mondays.
        assert_eq!(weeks[1], at("2026-11-09T00:00:00+08:00"));
        assert_eq!(weeks.len(), 4);
        assert_eq!(
            boundaries(
                tz,
                at("2026-11-04T00:00:00+08:00"),
                at("2026-11-05T00:00:00+08:00"),
                "day"
            )
            .len(),
            2
        );
    }
}
