//! Two years of the demo district's past incidents, written as the history
//! file a station would bring (`history.csv`, Chinese headers, local
//! times), so the demo enters them through `precinct history import`'s own
//! code.
//!
//! Daily and weekly rhythms, seasons, persistent hotspots (the night-food
//! street at night, the wholesale market by day, the leather-goods hall)
//! and emerging ones (thefts round the clothing city and the tea market in
//! the last quarter). Last year's levels are set so this year's changes land
//! near the station's reported figures (DOMAIN.md): incidents −6.68%,
//! criminal −32.52%, public order −24.45%, theft −45.17%, dispute-type
//! −5.26%, and police on scene 25% faster (600 s → 480 s mean).

use crate::district::{District, at};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use precinct_domain::Coordinates;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;

/// Per category: the daily mean last year, and this year's factor.
const LEVELS: [(&str, f64, f64); 17] = [
    ("theft", 5.0, THEFT),
    ("burglary", 1.5, THEFT),
    ("fight_assault", 2.0, OTHER_CRIMINAL),
    ("robbery", 0.2, OTHER_CRIMINAL),
    ("fraud", 1.5, OTHER_CRIMINAL),
    ("other_criminal", 0.5, OTHER_CRIMINAL),
    ("public_disturbance", 4.0, PUBLIC_ORDER),
    ("gambling", 0.8, PUBLIC_ORDER),
    ("neighbour_noise_dispute", 3.0, DISPUTE),
    ("commercial_debt_dispute", 2.0, DISPUTE),
    ("family_dispute", 1.5, DISPUTE),
    ("other_dispute", 1.0, DISPUTE),
    ("help_request", 8.0, REST),
    ("domestic_violence", 0.5, REST),
    ("traffic_accident", 4.0, REST),
    ("fire", 0.3, REST),
    ("other", 4.0, REST),
];
const THEFT: f64 = 1.0 - 0.4517;
/// So criminal incidents as a whole change by −32.52%: thefts and
/// burglaries are 6.5 of the 10.7 a day.
const OTHER_CRIMINAL: f64 = (10.7 * (1.0 - 0.3252) - 6.5 * THEFT) / 4.2;
const PUBLIC_ORDER: f64 = 1.0 - 0.2445;
const DISPUTE: f64 = 1.0 - 0.0526;
/// So all incidents change by −6.68% (of 39.8 a day, 16.8 are the rest).
const REST: f64 =
    (39.8 * (1.0 - 0.0668) - 10.7 * (1.0 - 0.3252) - 4.8 * PUBLIC_ORDER - 7.5 * DISPUTE) / 16.8;

/// Share of the day's incidents in each local hour (0–23): quiet before
/// dawn, busy in the afternoon and evening.
const HOURS: [f64; 24] = [
    3.0, 2.2, 1.6, 1.1, 0.8, 0.8, 1.2, 2.2, 3.6, 4.6, 5.0, 5.2, 5.0, 4.9, 5.0, 5.2, 5.4, 5.6, 5.8,
    6.0, 6.2, 6.0, 5.2, 4.1,
];

/// The station's offset (UTC+8).
const LOCAL: i64 = 8;

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    // Knuth's method: means here are below 20.
    let limit = (-mean).exp();
    let (mut k, mut p) = (0, 1.0);
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// Seasons and holidays: summer evenings out, the Spring Festival quiet.
fn season(day: DateTime<Utc>) -> f64 {
    let local = day + Duration::hours(LOCAL);
    let month = match local.month() {
        6..=8 => 1.15,
        12 | 1 => 0.95,
        2 => 0.8,
        _ => 1.0,
    };
    let weekday = match local.weekday().num_days_from_monday() {
        4 => 1.1,
        5 | 6 => 1.15,
        _ => 0.95,
    };
    month * weekday
}

fn hour(rng: &mut ChaCha8Rng) -> u32 {
    let total: f64 = HOURS.iter().sum();
    let mut pick = rng.random::<f64>() * total;
    for (h, w) in HOURS.iter().enumerate() {
        pick -= w;
        if pick <= 0.0 {
            return h as u32;
        }
    }
    23
}

/// Where an incident of `category` happens at local `hour`, `days_ago`.
fn place(
    rng: &mut ChaCha8Rng,
    district: &District,
    category: &str,
    hour: u32,
    days_ago: i64,
) -> (Coordinates, String) {
    let named = |name: &str| {
        district
            .ground
            .places
            .iter()
            .find(|p| p.name.contains(name))
            .map(|p| (p.location, p.address.clone()))
    };
    let around = |rng: &mut ChaCha8Rng, (c, address): (Coordinates, String), radius: f64| {
        let (e, n) = (
            rng.random_range(-radius..radius),
            rng.random_range(-radius..radius),
        );
        (c.offset_m(e, n), address)
    };
    let thefts = matches!(category, "theft" | "burglary" | "fraud");
    let roll = rng.random::<f64>();
    // Persistent: the night-food street at night (fights, disturbances,
    // thefts), the wholesale market and the leather-goods hall by day.
    if !(3..20).contains(&hour)
        && roll < 0.3
        && let Some(p) = named("美食七街")
    {
        return around(rng, p, 120.0);
    }
    if thefts && (9..19).contains(&hour) && roll < 0.35 {
        let market = if roll < 0.2 {
            "高桥大市场"
        } else {
            "皮具饰品城"
        };
        if let Some(p) = named(market) {
            return around(rng, p, 150.0);
        }
    }
    // Emerging in the last quarter: thefts round the clothing city and the
    // tea market.
    if thefts && days_ago < 90 && roll > 0.6 {
        let market = if roll > 0.85 {
            "茶叶市场"
        } else {
            "服装城"
        };
        if let Some(p) = named(market) {
            return around(rng, p, 100.0);
        }
    }
    let (e, n) = (
        rng.random_range(30.0..3970.0),
        rng.random_range(30.0..3170.0),
    );
    let point = at(e, n);
    let address = district
        .ground
        .places
        .iter()
        .min_by(|a, b| {
            a.location
                .distance_m(point)
                .total_cmp(&b.location.distance_m(point))
        })
        .map(|p| format!("{}附近", p.name))
        .unwrap_or_default();
    (point, address)
}

fn disposition(rng: &mut ChaCha8Rng, category: &str) -> &'static str {
    let roll = rng.random::<f64>();
    if roll < 0.3 {
        return "resolved_on_scene";
    }
    match category {
        c if c.ends_with("_dispute") && roll < 0.7 => "referred_to_mediation",
        "theft" | "burglary" | "fight_assault" | "robbery" | "fraud" | "other_criminal"
            if roll < 0.8 =>
        {
            "criminal_case_opened"
        }
        "public_disturbance" | "gambling" if roll < 0.8 => "public_order_case_opened",
        _ if roll < 0.9 => "no_action_needed",
        _ => "transferred_to_agency",
    }
}

/// The demo's history file: two years before `until` (UTC), as CSV text.
pub fn history_csv(district: &District, until: DateTime<Utc>, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4849_5354);
    let mut out =
        String::from("警情编号,报警时间,警情类别,纬度,经度,地址,处置结果,派警时间,到场时间\n");
    // Whole local days, the last one ending before `until`.
    let local_midnight = |t: DateTime<Utc>| {
        let l = t + Duration::hours(LOCAL);
        Utc.with_ymd_and_hms(l.year(), l.month(), l.day(), 0, 0, 0)
            .single()
            .unwrap_or(t)
            - Duration::hours(LOCAL)
    };
    let last_day = local_midnight(until);
    let mut n = 0u32;
    for days_ago in (1..=730).rev() {
        let day = last_day - Duration::days(days_ago);
        let this_year = days_ago <= 365;
        for (category, daily, factor) in LEVELS {
            let mean = daily * season(day) * if this_year { factor } else { 1.0 };
            for _ in 0..poisson(&mut rng, mean) {
                let h = hour(&mut rng);
                let at = day
                    + Duration::hours(i64::from(h))
                    + Duration::seconds(rng.random_range(0..3600));
                if at >= until {
                    continue;
                }
                n += 1;
                let (point, address) = place(&mut rng, district, category, h, days_ago);
                let local =
                    |t: DateTime<Utc>| (t + Duration::hours(LOCAL)).format("%Y-%m-%d %H:%M:%S");
                let dispatched = at + Duration::seconds(rng.random_range(40..200));
                // Police on scene: a mean of 600 s last year, 480 s this.
                let mean_s = if this_year { 480.0 } else { 600.0 };
                let arrived = (rng.random::<f64>() < 0.9).then(|| {
                    dispatched
                        + Duration::seconds((mean_s * rng.random_range(0.5..1.5)) as i64 - 120)
                });
                let _ = writeln!(
                    out,
                    "GQ{}{:06},{},{},{:.6},{:.6},{},{},{},{}",
                    (day + Duration::hours(LOCAL)).format("%Y%m%d"),
                    n,
                    local(at),
                    category,
                    point.lat(),
                    point.lon(),
                    address.replace(',', " "),
                    disposition(&mut rng, category),
                    local(dispatched),
                    arrived.map(|t| local(t).to_string()).unwrap_or_default(),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_years_at_the_seed_levels() {
        let district = crate::generate(1);
        let until = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let csv = history_csv(&district, until, 1);
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        // About 40 a day over two years.
        assert!(rows.len() > 25_000 && rows.len() < 32_000, "{}", rows.len());
        let year_ago = (until - Duration::days(365) + Duration::hours(LOCAL))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let count = |this: bool, pick: &dyn Fn(&str) -> bool| {
            rows.iter()
                .filter(|r| {
                    let cells: Vec<&str> = r.split(',').collect();
                    (cells[1] >= year_ago.as_str()) == this && pick(cells[2])
                })
                .count() as f64
        };
        let change = |pick: &dyn Fn(&str) -> bool| count(true, pick) / count(false, pick) - 1.0;
        let theft = change(&|c| c == "theft" || c == "burglary");
        assert!((theft + 0.4517).abs() < 0.05, "theft {theft}");
        let all = change(&|_| true);
        assert!((all + 0.0668).abs() < 0.03, "all {all}");
        assert!(csv.lines().nth(1).unwrap().starts_with("GQ"));
    }
}
