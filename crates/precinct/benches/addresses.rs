//! Address search at a city's scale (issue 25): a million addresses (a
//! fifth street names, the rest house numbers on them, four a street),
//! searched as callers say them (a whole name, a part, pinyin initials, a
//! name with one typo, a street and house number), through
//! `precinct_domain::address::search` (the character-pair index), against
//! a plain `LIKE '%…%'` scan of the same addresses in SQLite, in the same
//! run.
//!
//! Run: `cargo bench -p precinct --bench addresses` (env: BENCH_ADDRESSES,
//! default 1,000,000; BENCH_QUERIES, default 400).

use precinct_domain::Coordinates;
use precinct_domain::address::{self, StreetIndex};
use precinct_domain::ground::Jurisdiction;
use precinct_geo::roads::{Access, Oneway, PointAddress, RoadClass, RoadWay};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Characters street names are made of (common in Chinese place names).
const CHARS: &str = "东西南北中新老大小长高明光华兴隆安平和福寿康宁丰泰顺昌盛德仁义礼智信文武建国民生胜利解放人民友谊团结幸福金银铜铁山水河湖江海林森松柏桃李杏梅兰竹菊春夏秋冬晨阳月星云龙凤鹤鹏天地";
const SUFFIXES: [&str; 6] = ["路", "街", "巷", "大道", "大街", "里"];

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let k = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[k].as_secs_f64() * 1000.0
}

fn main() {
    let n = env("BENCH_ADDRESSES", 1_000_000);
    const HOUSES: usize = 4;
    let street_count = n / (HOUSES + 1);
    let queries = env("BENCH_QUERIES", 400);
    let chars: Vec<char> = CHARS.chars().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let origin = Coordinates::new(28.2, 113.0).unwrap();
    // Distinct names: three characters, a suffix, and a number past the
    // first combinations (城东新大道2…).
    let mut names = Vec::with_capacity(street_count);
    let mut seen = std::collections::HashSet::with_capacity(street_count);
    while names.len() < street_count {
        let mut name: String = (0..3)
            .map(|_| chars[rng.random_range(0..chars.len())])
            .collect();
        name.push_str(SUFFIXES[rng.random_range(0..SUFFIXES.len())]);
        if !seen.insert(name.clone()) {
            name.push_str(&rng.random_range(1..100).to_string());
            if !seen.insert(name.clone()) {
                continue;
            }
        }
        names.push(name);
    }
    let ways: Vec<RoadWay> = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let at = origin.offset_m((k % 1000) as f64 * 30.0, (k / 1000) as f64 * 30.0);
            RoadWay {
                nodes: vec![
                    (2 * k as i64, at),
                    (2 * k as i64 + 1, at.offset_m(25.0, 0.0)),
                ],
                class: RoadClass::Residential,
                oneway: Oneway::No,
                access: Access::ALL,
                name: Some(name.clone()),
                local_name: None,
            }
        })
        .collect();
    let houses: Vec<PointAddress> = ways
        .iter()
        .flat_map(|w| {
            (1..=HOUSES).map(move |h| PointAddress {
                location: w.nodes[0].1.offset_m(h as f64 * 5.0, 10.0),
                street: w.name.clone(),
                housenumber: Some((h * 2).to_string()),
                name: None,
            })
        })
        .collect();
    let started = Instant::now();
    let index = StreetIndex::build(&ways, &houses);
    let build_s = started.elapsed().as_secs_f64();
    drop(ways);

    // What callers say: a whole name, a two-character part, the initials,
    // a name with two neighbours swapped, a house on a street.
    let asked: Vec<(String, &str)> = (0..queries)
        .map(|k| {
            let name = &names[rng.random_range(0..names.len())];
            let c: Vec<char> = name.chars().collect();
            match k % 5 {
                0 => (name.clone(), "name"),
                4 => (format!("{name}{}号", 2 * (1 + k % HOUSES)), "house"),
                1 => (c[1..3].iter().collect(), "part"),
                2 => (
                    address::initials(&c[..4].iter().collect::<String>()),
                    "initials",
                ),
                _ => {
                    let mut swapped = c.clone();
                    swapped.swap(1, 2);
                    (swapped.into_iter().collect(), "typo")
                }
            }
        })
        .collect();

    let ground = Jurisdiction::default();
    let mut ours = Vec::with_capacity(queries);
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut found = 0;
    for (q, kind) in &asked {
        let t = Instant::now();
        let hits = address::search(&ground, &index, q, origin, 10);
        let took = t.elapsed();
        ours.push(took);
        by_kind.entry(kind).or_default().push(took);
        found += usize::from(!hits.is_empty());
    }

    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE streets (name TEXT NOT NULL)")
        .unwrap();
    {
        let tx = conn.unchecked_transaction().unwrap();
        let mut insert = tx
            .prepare("INSERT INTO streets (name) VALUES (?1)")
            .unwrap();
        for name in &names {
            insert.execute([name]).unwrap();
        }
        for house in &houses {
            let (street, number) = (house.street.as_deref(), house.housenumber.as_deref());
            insert
                .execute([address::house_address(street.unwrap(), number.unwrap())])
                .unwrap();
        }
        drop(insert);
        tx.commit().unwrap();
    }
    let mut like = conn
        .prepare("SELECT name FROM streets WHERE name LIKE ?1 LIMIT 10")
        .unwrap();
    let mut scans = Vec::with_capacity(queries);
    let mut scan_found = 0;
    for (q, _) in &asked {
        let t = Instant::now();
        let rows: Vec<String> = like
            .query_map([format!("%{q}%")], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        scans.push(t.elapsed());
        scan_found += usize::from(!rows.is_empty());
    }
    let (p50, p95) = (percentile(&mut ours, 0.5), percentile(&mut ours, 0.95));
    let (s50, s95) = (percentile(&mut scans, 0.5), percentile(&mut scans, 0.95));
    println!(
        "addresses: {} street names and {} house numbers, index built in {build_s:.1} s, {queries} queries (name, part, initials, one typo, house)",
        names.len(),
        houses.len()
    );
    println!("  index search: p50 {p50:.2} ms, p95 {p95:.2} ms, found {found} of {queries}");
    for (kind, times) in &mut by_kind {
        println!(
            "    {kind}: p50 {:.2} ms, p95 {:.2} ms",
            percentile(times, 0.5),
            percentile(times, 0.95)
        );
    }
    println!(
        "  LIKE scan:    p50 {s50:.2} ms, p95 {s95:.2} ms, found {scan_found} of {queries} (no initials, no typos)"
    );
    println!(
        "addresses: p95 {p95:.2} ms = {:.1}% of the LIKE scan's {s95:.2} ms",
        p95 / s95 * 100.0
    );
}
