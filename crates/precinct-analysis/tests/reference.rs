//! The statistics against the reference libraries: `reference/reference.json`
//! was computed once by `reference/make_reference.py` with PySAL esda (Gi*,
//! the false-discovery rate), scikit-learn (Gaussian density), numpy (the
//! quartic density, which scikit-learn lacks; Scott's rule) and scipy (the
//! Knox test's pairs), on the inputs it holds.

use precinct_analysis::*;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("../reference/reference.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn points(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

fn lattice(v: &Value) -> Lattice {
    Lattice {
        x0: 0.0,
        y0: 0.0,
        cell: v["cell"].as_f64().unwrap(),
        nx: v["nx"].as_u64().unwrap() as usize,
        ny: v["ny"].as_u64().unwrap() as usize,
    }
}

fn assert_gi(name: &str, got: &GiStar, want: &Value) {
    let (z, p) = (floats(&want["z"]), floats(&want["p"]));
    assert_eq!(got.z.len(), z.len(), "{name}");
    for i in 0..z.len() {
        assert!(
            (got.z[i] - z[i]).abs() <= 1e-9,
            "{name} z[{i}]: {} vs {}",
            got.z[i],
            z[i]
        );
        assert!(
            (got.p[i] - p[i]).abs() <= 1e-9,
            "{name} p[{i}]: {} vs {}",
            got.p[i],
            p[i]
        );
    }
    let fdr = want["fdr"].as_f64().unwrap();
    assert!(
        (got.fdr_threshold - fdr).abs() <= 1e-12,
        "{name} fdr: {} vs {fdr}",
        got.fdr_threshold
    );
}

#[test]
fn gi_star_equals_esda() {
    let r = reference();
    let l = lattice(&r["lattice"]);
    let counts = l.counts(&points(&r["lattice"]["points"]));
    assert_eq!(counts, floats(&r["lattice"]["counts"]), "the same binning");
    assert_gi(
        "rook",
        &lattice_gi_star(&l, &counts, Contiguity::Rook, 0.05),
        &r["gi_rook"],
    );
    assert_gi(
        "queen",
        &lattice_gi_star(&l, &counts, Contiguity::Queen, 0.05),
        &r["gi_queen"],
    );
    let band = r["gi_band"]["metres"].as_f64().unwrap();
    assert_gi(
        "distance band",
        &lattice_gi_star(&l, &counts, Contiguity::DistanceBand(band), 0.05),
        &r["gi_band"],
    );
    let neighbours: Vec<Vec<usize>> = r["gi_knn"]["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    assert_gi(
        "k nearest (any neighbourhood)",
        &gi_star(&counts, &neighbours, 0.05),
        &r["gi_knn"],
    );
    // The hotspot planted at (1200, 800) is found there.
    let gi = lattice_gi_star(&l, &counts, Contiguity::Queen, 0.05);
    let top = (0..l.len())
        .max_by(|&a, &b| gi.z[a].total_cmp(&gi.z[b]))
        .unwrap();
    let (x, y) = l.centre(top);
    assert!(
        (x - 1200.0).abs() <= 150.0 && (y - 800.0).abs() <= 150.0,
        "{x} {y}"
    );
    assert!(gi.significant[top]);
}

fn assert_close(name: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    let peak = want.iter().cloned().fold(0.0, f64::max);
    for i in 0..want.len() {
        // Relative to the cell's value, or to the peak where it is near zero.
        let scale = want[i].abs().max(peak * 1e-6);
        assert!(
            (got[i] - want[i]).abs() <= 1e-6 * scale,
            "{name}[{i}]: {} vs {}",
            got[i],
            want[i]
        );
    }
}

#[test]
fn density_equals_scikit_learn_and_numpy() {
    let r = &reference()["density"];
    let l = lattice(r);
    let pts = points(&r["points"]);
    let h = r["bandwidth"].as_f64().unwrap();
    assert_close(
        "gaussian",
        &density(&pts, &l, Kernel::Gaussian, h),
        &floats(&r["gaussian"]),
    );
    assert_close(
        "quartic",
        &density(&pts, &l, Kernel::Quartic, h),
        &floats(&r["quartic"]),
    );
    let scott = scott_bandwidth(&pts);
    assert!(
        (scott - r["scott"].as_f64().unwrap()).abs() <= 1e-9,
        "{scott}"
    );
    assert_close(
        "gaussian, Scott's bandwidth",
        &density(&pts, &l, Kernel::Gaussian, scott),
        &floats(&r["gaussian_scott"]),
    );
}

#[test]
fn knox_equals_scipy_pairs_and_the_same_permutations() {
    let r = &reference()["knox"];
    let events: Vec<Event> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Event {
            x: e[0].as_f64().unwrap(),
            y: e[1].as_f64().unwrap(),
            t: e[2].as_f64().unwrap(),
        })
        .collect();
    let permutations: Vec<Vec<usize>> = r["permutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let result = knox(
        &events,
        r["distance"].as_f64().unwrap(),
        r["interval"].as_f64().unwrap(),
        &permutations,
    );
    assert_eq!(result.observed, r["observed"].as_u64().unwrap());
    assert_eq!(result.close_in_space, r["close_in_space"].as_u64().unwrap());
    assert_eq!(result.close_in_time, r["close_in_time"].as_u64().unwrap());
    assert!((result.expected - r["expected"].as_f64().unwrap()).abs() <= 1e-9);
    assert!((result.p - r["p"].as_f64().unwrap()).abs() <= 1e-12);
    assert!(result.p < 0.05, "the planted near repeats are significant");
}
