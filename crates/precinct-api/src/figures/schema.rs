//! Schemas of the figures' own fixed sets of values (see `crate::schema`).

crate::schema::enum_schemas! {
    hotspot_trend, hotspot_trend_or_null, hotspot_trends => super::hotspots::TRENDS;
    series_interval, series_interval_or_null, series_intervals => super::station::SERIES_INTERVALS;
    breakdown_by, breakdown_by_or_null, breakdown_bys => super::station::BreakdownBy::ALL.iter().map(|v| v.as_str());
}
