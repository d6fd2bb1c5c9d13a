//! Hotspot statistics at city size (issue 17), each timed as the median of
//! several runs: Gi* on a 200 × 200 lattice from 1,000,000 points (binning
//! included), and a density surface of 100,000 points on a 256 × 256 grid,
//! quartic and Gaussian; and the Knox test of 5,000 burglaries with 99
//! permutations. The reference libraries' times on this machine are in
//! `bench/README.md`.
//!
//! Run: `cargo bench -p precinct-analysis --bench hotspots`.

use precinct_analysis::*;
use std::time::{Duration, Instant};

/// A xorshift stream in [0, 1).
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Clustered points on a square of `side` metres: half uniform, half
    /// around 20 centres.
    fn points(&mut self, n: usize, side: f64) -> Vec<(f64, f64)> {
        let centres: Vec<(f64, f64)> = (0..20)
            .map(|_| (self.next() * side, self.next() * side))
            .collect();
        (0..n)
            .map(|k| {
                if k % 2 == 0 {
                    (self.next() * side, self.next() * side)
                } else {
                    let (cx, cy) = centres[k % 20];
                    let (r, a) = (
                        self.next() * side / 40.0,
                        self.next() * std::f64::consts::TAU,
                    );
                    (
                        (cx + r * a.cos()).clamp(0.0, side - 1e-6),
                        (cy + r * a.sin()).clamp(0.0, side - 1e-6),
                    )
                }
            })
            .collect()
    }
}

fn median(runs: usize, mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let mut random = Random(20261130);
    let side = 20_000.0;

    let points = random.points(1_000_000, side);
    let lattice = Lattice {
        x0: 0.0,
        y0: 0.0,
        cell: side / 200.0,
        nx: 200,
        ny: 200,
    };
    let gi = median(11, || {
        let counts = lattice.counts(&points);
        std::hint::black_box(lattice_gi_star(&lattice, &counts, Contiguity::Queen, 0.05));
    });
    let counts = lattice.counts(&points);
    let gi_only = median(11, || {
        std::hint::black_box(lattice_gi_star(&lattice, &counts, Contiguity::Queen, 0.05));
    });

    let points = random.points(100_000, side);
    let grid = Lattice {
        x0: 0.0,
        y0: 0.0,
        cell: side / 256.0,
        nx: 256,
        ny: 256,
    };
    let h = scott_bandwidth(&points);
    let quartic = median(5, || {
        std::hint::black_box(density(&points, &grid, Kernel::Quartic, 2.0 * h));
    });
    let gaussian = median(5, || {
        std::hint::black_box(density(&points, &grid, Kernel::Gaussian, h));
    });

    let burglaries: Vec<Event> = random
        .points(5_000, side)
        .into_iter()
        .map(|(x, y)| Event {
            x,
            y,
            t: random.next() * 365.0 * 86_400.0,
        })
        .collect();
    let shuffles = permutations(burglaries.len(), 99, 7);
    let knox_time = median(3, || {
        std::hint::black_box(knox(&burglaries, 200.0, 7.0 * 86_400.0, &shuffles));
    });

    println!("| statistic | median ms |");
    println!("|---|---|");
    println!(
        "| Gi* 200×200 queen, from 1,000,000 points (binning included) | {:.2} |",
        gi.as_secs_f64() * 1e3
    );
    println!(
        "| Gi* 200×200 queen, from the counts | {:.2} |",
        gi_only.as_secs_f64() * 1e3
    );
    println!(
        "| density 256×256, 100,000 points, quartic (h = {:.0} m) | {:.1} |",
        2.0 * h,
        quartic.as_secs_f64() * 1e3
    );
    println!(
        "| density 256×256, 100,000 points, Gaussian (h = {h:.0} m, Scott) | {:.1} |",
        gaussian.as_secs_f64() * 1e3
    );
    println!(
        "| Knox, 5,000 events, 200 m / 7 days, 99 permutations | {:.1} |",
        knox_time.as_secs_f64() * 1e3
    );
}
