//! Hotspot statistics (情报研判): where incidents cluster more than chance
//! allows, and whether they repeat near in space and time.
//!
//! - [`gi_star`]: Getis-Ord Gi* with binary weights that include the area
//!   itself, over any neighbourhood (the station's grid cells) or over a
//!   regular [`Lattice`] ([`lattice_gi_star`]: rook or queen contiguity, or a
//!   distance band), with z-scores, one-tailed normal p-values and the
//!   false-discovery-rate threshold ([`fdr_threshold`]). The same numbers as
//!   PySAL's `esda.G_Local(y, w, transform="B", star=True)` (`Zs`,
//!   `p_norm`) and `esda.fdr`.
//! - [`density`]: a kernel density surface on a lattice's cell centres,
//!   quartic or Gaussian, with a bandwidth given or by Scott's rule
//!   ([`scott_bandwidth`]); the Gaussian one is scikit-learn's
//!   `KernelDensity`.
//! - [`knox`]: the Knox test for near repeats (pairs close in space and in
//!   time) against permutations of the times.
//!
//! Coordinates are planar metres (callers project longitude and latitude
//! first); times are seconds. Pure functions: no I/O, no allocation beyond
//! the results.

use std::f64::consts::PI;

/// A regular grid of square cells: `nx` columns east from `x0`, `ny` rows
/// north from `y0`, each `cell` metres wide. Cell `(col, row)` is index
/// `row * nx + col`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lattice {
    pub x0: f64,
    pub y0: f64,
    pub cell: f64,
    pub nx: usize,
    pub ny: usize,
}

impl Lattice {
    /// The smallest lattice of `cell`-metre cells covering every point.
    pub fn covering(points: &[(f64, f64)], cell: f64) -> Lattice {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in points {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        if points.is_empty() {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        Lattice {
            x0,
            y0,
            cell,
            nx: (((x1 - x0) / cell).floor() as usize + 1).max(1),
            ny: (((y1 - y0) / cell).floor() as usize + 1).max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.nx * self.ny
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell a point falls in, if it is on the lattice.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        let col = ((x - self.x0) / self.cell).floor();
        let row = ((y - self.y0) / self.cell).floor();
        if col < 0.0 || row < 0.0 || col >= self.nx as f64 || row >= self.ny as f64 {
            return None;
        }
        Some(row as usize * self.nx + col as usize)
    }

    /// A cell's centre.
    pub fn centre(&self, index: usize) -> (f64, f64) {
        let (col, row) = (index % self.nx, index / self.nx);
        (
            self.x0 + (col as f64 + 0.5) * self.cell,
            self.y0 + (row as f64 + 0.5) * self.cell,
        )
    }

    /// How many points fall in each cell (points off the lattice are left
    /// out). Many points are split over the machine's cores.
    pub fn counts(&self, points: &[(f64, f64)]) -> Vec<f64> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = points.len().div_ceil(threads).max(200_000);
        let parts: Vec<Vec<u32>> = if points.len() <= chunk {
            vec![self.count_part(points)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = points
                    .chunks(chunk)
                    .map(|part| scope.spawn(move || self.count_part(part)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a counting thread"))
                    .collect()
            })
        };
        let mut counts = vec![0.0; self.len()];
        for part in parts {
            for (total, n) in counts.iter_mut().zip(part) {
                *total += f64::from(n);
            }
        }
        counts
    }

    fn count_part(&self, points: &[(f64, f64)]) -> Vec<u32> {
        let mut counts = vec![0u32; self.len()];
        let inverse = 1.0 / self.cell;
        let (nx, ny) = (self.nx as f64, self.ny as f64);
        for &(x, y) in points {
            let col = (x - self.x0) * inverse;
            let row = (y - self.y0) * inverse;
            // Non-negative here, so the cast is the floor.
            if col >= 0.0 && row >= 0.0 && col < nx && row < ny {
                counts[row as usize * self.nx + col as usize] += 1;
            }
        }
        counts
    }
}

/// Which cells of a lattice are neighbours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Contiguity {
    /// Sharing an edge.
    Rook,
    /// Sharing an edge or a corner.
    Queen,
    /// Centres within this many metres.
    DistanceBand(f64),
}

/// Gi* of each area, with what decides whether it is a hotspot.
#[derive(Debug, Clone, PartialEq)]
pub struct GiStar {
    /// Positive: more than chance around this area (a hotspot); negative: a cold spot.
    pub z: Vec<f64>,
    /// One-tailed normal p-value of |z| (esda's `p_norm`).
    pub p: Vec<f64>,
    /// The largest p-value significant at the false-discovery rate `alpha`
    /// (Benjamini-Hochberg, as `esda.fdr`).
    pub fdr_threshold: f64,
    /// `p <= fdr_threshold`.
    pub significant: Vec<bool>,
}

/// The one-tailed normal p-value: P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// The largest p-value that is significant at false-discovery rate `alpha`
/// among `p` (Benjamini-Hochberg), or `alpha / n` when none is (the
/// Bonferroni bound), exactly as `esda.fdr`.
pub fn fdr_threshold(p: &[f64], alpha: f64) -> f64 {
    let n = p.len();
    if n == 0 {
        return alpha;
    }
    // Only a p-value below alpha can pass its bound (each bound is at most
    // alpha), and among all n in descending order the m-th smallest has the
    // bound m·alpha/n: so sort just those, ascending, and take the largest
    // m that passes.
    let mut small: Vec<f64> = p.iter().copied().filter(|&v| v < alpha).collect();
    small.sort_by(f64::total_cmp);
    for (index, &value) in small.iter().enumerate().rev() {
        let bound = (index + 1) as f64 * alpha / n as f64;
        if value < bound {
            return bound;
        }
    }
    alpha / n as f64
}

/// Gi* from each area's sum over its neighbourhood (itself included) and
/// the neighbourhood's size: esda's analytical moments with binary weights.
fn gi_from_sums(values: &[f64], sums: &[f64], cardinality: &[f64], alpha: f64) -> GiStar {
    let n = values.len() as f64;
    let total: f64 = values.iter().sum();
    let squares: f64 = values.iter().map(|v| v * v).sum();
    let mean = total / n;
    let variance = squares / n - mean * mean;
    let z: Vec<f64> = sums
        .iter()
        .zip(cardinality)
        .map(|(&sum, &c)| {
            let g = sum / total;
            let expected = c / n;
            let v = c * (n - c) / (n - 1.0) / (n * n) * (variance / (mean * mean));
            (g - expected) / v.sqrt()
        })
        .collect();
    let p: Vec<f64> = z.iter().map(|z| normal_sf(z.abs())).collect();
    let fdr_threshold = fdr_threshold(&p, alpha);
    let significant = p.iter().map(|&p| p <= fdr_threshold).collect();
    GiStar {
        z,
        p,
        fdr_threshold,
        significant,
    }
}

/// Gi* of `values` (e.g. incidents per grid cell), where `neighbours[i]`
/// lists area `i`'s neighbours (without `i`: Gi* adds each area to its own
/// neighbourhood with weight 1). `alpha` is the false-discovery rate.
pub fn gi_star(values: &[f64], neighbours: &[Vec<usize>], alpha: f64) -> GiStar {
    let sums: Vec<f64> = neighbours
        .iter()
        .enumerate()
        .map(|(i, around)| values[i] + around.iter().map(|&j| values[j]).sum::<f64>())
        .collect();
    let cardinality: Vec<f64> = neighbours.iter().map(|a| a.len() as f64 + 1.0).collect();
    gi_from_sums(values, &sums, &cardinality, alpha)
}

/// The cell offsets within a contiguity (itself included).
fn window(lattice: &Lattice, contiguity: Contiguity) -> Vec<(isize, isize)> {
    match contiguity {
        Contiguity::Rook => vec![(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
        Contiguity::Queen => (-1..=1)
            .flat_map(|dy| (-1..=1).map(move |dx| (dx, dy)))
            .collect(),
        Contiguity::DistanceBand(metres) => {
            let reach = (metres / lattice.cell).floor() as isize;
            let band = metres / lattice.cell;
            (-reach..=reach)
                .flat_map(|dy| (-reach..=reach).map(move |dx| (dx, dy)))
                .filter(|&(dx, dy)| ((dx * dx + dy * dy) as f64).sqrt() <= band)
                .collect()
        }
    }
}

/// Gi* over a lattice: `values[i]` of cell `i` (e.g. [`Lattice::counts`]),
/// neighbours by `contiguity`; cells on the edge have fewer.
pub fn lattice_gi_star(
    lattice: &Lattice,
    values: &[f64],
    contiguity: Contiguity,
    alpha: f64,
) -> GiStar {
    if contiguity == Contiguity::Queen {
        return queen_gi_star(lattice, values, alpha);
    }
    let offsets = window(lattice, contiguity);
    let (nx, ny) = (lattice.nx as isize, lattice.ny as isize);
    let mut sums = vec![0.0; values.len()];
    let mut cardinality = vec![0.0; values.len()];
    for row in 0..ny {
        for col in 0..nx {
            let (mut sum, mut count) = (0.0, 0.0);
            for &(dx, dy) in &offsets {
                let (c, r) = (col + dx, row + dy);
                if c >= 0 && r >= 0 && c < nx && r < ny {
                    sum += values[(r * nx + c) as usize];
                    count += 1.0;
                }
            }
            let i = (row * nx + col) as usize;
            sums[i] = sum;
            cardinality[i] = count;
        }
    }
    gi_from_sums(values, &sums, &cardinality, alpha)
}

/// Queen contiguity is a 3 × 3 box: sums along rows, then along columns.
fn queen_gi_star(lattice: &Lattice, values: &[f64], alpha: f64) -> GiStar {
    let (nx, ny) = (lattice.nx, lattice.ny);
    let mut across = vec![0.0; values.len()];
    for r in 0..ny {
        let row = &values[r * nx..(r + 1) * nx];
        let out = &mut across[r * nx..(r + 1) * nx];
        for c in 0..nx {
            let mut s = row[c];
            if c > 0 {
                s += row[c - 1];
            }
            if c + 1 < nx {
                s += row[c + 1];
            }
            out[c] = s;
        }
    }
    let mut sums = vec![0.0; values.len()];
    let mut cardinality = vec![0.0; values.len()];
    let span =
        |i: usize, n: usize| 1.0 + f64::from(u8::from(i > 0)) + f64::from(u8::from(i + 1 < n));
    for r in 0..ny {
        let rows = span(r, ny);
        for c in 0..nx {
            let i = r * nx + c;
            let mut s = across[i];
            if r > 0 {
                s += across[i - nx];
            }
            if r + 1 < ny {
                s += across[i + nx];
            }
            sums[i] = s;
            cardinality[i] = rows * span(c, nx);
        }
    }
    gi_from_sums(values, &sums, &cardinality, alpha)
}

/// A kernel's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `3 / (π h²) · (1 − d²/h²)²` within the bandwidth, nothing beyond.
    Quartic,
    /// `1 / (2π h²) · exp(−d² / 2h²)`; `h` is the standard deviation.
    Gaussian,
}

/// Scott's rule in two dimensions for an isotropic kernel: `n^(−1/6)`
/// times the standard deviation of the coordinates (x and y pooled:
/// `sqrt((var x + var y) / 2)`, sample variances).
pub fn scott_bandwidth(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (vx, vy) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + (x - mx).powi(2), b + (y - my).powi(2))
    });
    let sd = ((vx / (n - 1.0) + vy / (n - 1.0)) / 2.0).sqrt();
    n.powf(-1.0 / 6.0) * sd
}

/// The density of `points` at each cell centre of `lattice`: the mean of
/// the kernel over the points (a probability density per square metre;
/// multiply by the number of points for incidents per square metre).
/// Gaussian kernels are summed out to 6 bandwidths, where what is left of a
/// point's kernel is below 1.6e-8 of its peak. The points are split over the
/// machine's cores.
pub fn density(
    points: &[(f64, f64)],
    lattice: &Lattice,
    kernel: Kernel,
    bandwidth: f64,
) -> Vec<f64> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = points.len().div_ceil(threads).max(10_000);
    if points.len() <= chunk {
        return density_part(points, points.len(), lattice, kernel, bandwidth);
    }
    let parts: Vec<Vec<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = points
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || density_part(part, points.len(), lattice, kernel, bandwidth))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a density thread"))
            .collect()
    });
    let mut surface = vec![0.0; lattice.len()];
    for part in parts {
        for (cell, value) in surface.iter_mut().zip(part) {
            *cell += value;
        }
    }
    surface
}

/// The kernels of `points` (of `total` in all) summed on the lattice.
fn density_part(
    points: &[(f64, f64)],
    total: usize,
    lattice: &Lattice,
    kernel: Kernel,
    bandwidth: f64,
) -> Vec<f64> {
    let mut surface = vec![0.0; lattice.len()];
    if points.is_empty() || bandwidth <= 0.0 {
        return surface;
    }
    let h = bandwidth;
    let reach = match kernel {
        Kernel::Quartic => h,
        Kernel::Gaussian => 6.0 * h,
    };
    let norm = match kernel {
        Kernel::Quartic => 3.0 / (PI * h * h),
        Kernel::Gaussian => 1.0 / (2.0 * PI * h * h),
    } / total as f64;
    let (nx, ny) = (lattice.nx as isize, lattice.ny as isize);
    let span = |from: f64, to: f64, origin: f64, count: isize| {
        // Cells whose centre lies within [from, to].
        let first = ((from - origin) / lattice.cell - 0.5).ceil().max(0.0) as isize;
        let last = (((to - origin) / lattice.cell - 0.5).floor() as isize).min(count - 1);
        (first, last)
    };
    let mut wx: Vec<f64> = Vec::new();
    let mut dx2: Vec<f64> = Vec::new();
    for &(x, y) in points {
        let (c0, c1) = span(x - reach, x + reach, lattice.x0, nx);
        let (r0, r1) = span(y - reach, y + reach, lattice.y0, ny);
        if c0 > c1 || r0 > r1 {
            continue;
        }
        dx2.clear();
        wx.clear();
        for c in c0..=c1 {
            let d = lattice.x0 + (c as f64 + 0.5) * lattice.cell - x;
            dx2.push(d * d);
            if kernel == Kernel::Gaussian {
                wx.push((-d * d / (2.0 * h * h)).exp());
            }
        }
        for r in r0..=r1 {
            let d = lattice.y0 + (r as f64 + 0.5) * lattice.cell - y;
            let dy2 = d * d;
            let row = &mut surface[(r * nx + c0) as usize..=(r * nx + c1) as usize];
            match kernel {
                Kernel::Gaussian => {
                    let wy = (-dy2 / (2.0 * h * h)).exp() * norm;
                    for (cell, w) in row.iter_mut().zip(&wx) {
                        *cell += w * wy;
                    }
                }
                Kernel::Quartic => {
                    for (cell, &d2) in row.iter_mut().zip(&dx2) {
                        let u = (d2 + dy2) / (h * h);
                        if u < 1.0 {
                            *cell += norm * (1.0 - u) * (1.0 - u);
                        }
                    }
                }
            }
        }
    }
    surface
}

/// An event for the Knox test: where and when (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub x: f64,
    pub y: f64,
    pub t: f64,
}

/// The Knox test's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Knox {
    /// Pairs within `distance` metres and `interval` seconds of each other.
    pub observed: u64,
    /// Pairs close in space, and pairs close in time (each alone).
    pub close_in_space: u64,
    pub close_in_time: u64,
    /// The mean count over the permutations.
    pub expected: f64,
    /// `(1 + permutations counting at least as many) / (1 + permutations)`.
    pub p: f64,
}

/// Pairs of events close in space, by a grid of `distance`-wide buckets.
fn close_pairs(events: &[Event], distance: f64) -> Vec<(u32, u32)> {
    let mut buckets: std::collections::HashMap<(i64, i64), Vec<u32>> =
        std::collections::HashMap::new();
    let key = |e: &Event| {
        (
            (e.x / distance).floor() as i64,
            (e.y / distance).floor() as i64,
        )
    };
    for (i, e) in events.iter().enumerate() {
        buckets.entry(key(e)).or_default().push(i as u32);
    }
    let mut pairs = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let (bx, by) = key(e);
        for dx in -1..=1 {
            for dy in -1..=1 {
                let Some(bucket) = buckets.get(&(bx + dx, by + dy)) else {
                    continue;
                };
                for &j in bucket {
                    if (j as usize) <= i {
                        continue;
                    }
                    let f = &events[j as usize];
                    if (e.x - f.x).hypot(e.y - f.y) <= distance {
                        pairs.push((i as u32, j));
                    }
                }
            }
        }
    }
    pairs
}

/// The Knox test: how many pairs of events are close in both space
/// (`distance` metres) and time (`interval` seconds), against the same
/// count with the times shuffled among the events: `permutations[k][i]` is
/// the event whose time event `i` takes in permutation `k`.
pub fn knox(events: &[Event], distance: f64, interval: f64, permutations: &[Vec<usize>]) -> Knox {
    let pairs = close_pairs(events, distance);
    let near = |a: f64, b: f64| (a - b).abs() <= interval;
    let count = |time: &dyn Fn(usize) -> f64| {
        pairs
            .iter()
            .filter(|&&(i, j)| near(time(i as usize), time(j as usize)))
            .count() as u64
    };
    let observed = count(&|i| events[i].t);
    let mut times: Vec<f64> = events.iter().map(|e| e.t).collect();
    times.sort_by(f64::total_cmp);
    let mut close_in_time = 0u64;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] > interval {
            start += 1;
        }
        close_in_time += (end - start) as u64;
    }
    let mut at_least = 0u64;
    let mut total = 0u64;
    for permutation in permutations {
        let c = count(&|i| events[permutation[i]].t);
        total += c;
        at_least += u64::from(c >= observed);
    }
    let k = permutations.len() as f64;
    Knox {
        observed,
        close_in_space: pairs.len() as u64,
        close_in_time,
        expected: if permutations.is_empty() {
            0.0
        } else {
            total as f64 / k
        },
        p: (1.0 + at_least as f64) / (1.0 + k),
    }
}

/// `count` permutations of `n` events from a seed (xorshift and
/// Fisher-Yates: the same seed gives the same permutations everywhere).
pub fn permutations(n: usize, count: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut state = seed.max(1);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = (next() % (i as u64 + 1)) as usize;
                p.swap(i, j);
            }
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail_is_exact_enough() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-16);
        // scipy.stats.norm.sf(1.96), (3.0), (8.0)
        assert!((normal_sf(1.96) - 0.024997895148220435).abs() < 1e-15);
        assert!((normal_sf(3.0) - 0.0013498980316300946).abs() < 1e-16);
        assert!((normal_sf(8.0) / 6.22096057427178e-16 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_lattice_puts_points_in_cells() {
        let lattice = Lattice::covering(&[(0.0, 0.0), (250.0, 99.0)], 100.0);
        assert_eq!((lattice.nx, lattice.ny), (3, 1));
        assert_eq!(
            lattice.counts(&[(10.0, 10.0), (260.0, 5.0), (-5.0, 0.0)]),
            [1.0, 0.0, 1.0]
        );
        assert_eq!(lattice.centre(2), (250.0, 50.0));
    }

    #[test]
    fn a_hotspot_stands_out() {
        let lattice = Lattice {
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            nx: 9,
            ny: 9,
        };
        let mut values = vec![1.0; 81];
        for i in [39, 40, 41, 31, 49] {
            values[i] = 20.0;
        }
        let gi = lattice_gi_star(&lattice, &values, Contiguity::Queen, 0.05);
        let top = (0..81)
            .max_by(|&a, &b| gi.z[a].total_cmp(&gi.z[b]))
            .unwrap();
        assert_eq!(top, 40);
        assert!(gi.significant[40] && !gi.significant[0]);
    }

    #[test]
    fn knox_counts_pairs_close_in_both() {
        let events = [
            Event {
                x: 0.0,
                y: 0.0,
                t: 0.0,
            },
            Event {
                x: 10.0,
                y: 0.0,
                t: 5.0,
            },
            Event {
                x: 500.0,
                y: 0.0,
                t: 6.0,
            },
            Event {
                x: 505.0,
                y: 0.0,
                t: 1000.0,
            },
        ];
        let result = knox(&events, 50.0, 10.0, &permutations(4, 99, 7));
        assert_eq!(
            (result.observed, result.close_in_space, result.close_in_time),
            (1, 2, 3)
        );
        assert!(result.p > 0.0 && result.p <= 1.0);
    }
}
