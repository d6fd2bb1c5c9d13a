"""Reference outputs for precinct-analysis, computed once with the field's
reference libraries and committed beside this script:

- Gi*: PySAL esda.G_Local(y, w, transform="B", star=True) (Zs, p_norm) and
  esda.fdr, with libpysal weights (lat2W rook and queen, DistanceBand, KNN);
- density: scikit-learn KernelDensity (Gaussian); the quartic kernel, which
  scikit-learn does not have, summed point by point with numpy;
- Knox: pairs by scipy.spatial.cKDTree, permutations from numpy, written out
  so the Rust side counts the same permutations.

Run (needs numpy scipy scikit-learn esda libpysal):
    python3 make_reference.py   # writes reference.json here
"""

import json
import warnings

import numpy as np
from esda import G_Local, fdr
from libpysal.weights import KNN, DistanceBand, lat2W
from scipy.spatial import cKDTree
from sklearn.neighbors import KernelDensity

warnings.filterwarnings("ignore")
rng = np.random.default_rng(20261130)
out = {}

# ---- Gi* on a 30 x 20 lattice of 100 m cells: a background, a hotspot, a cold corner.
nx, ny, cell = 30, 20, 100.0
background = rng.uniform([0, 0], [nx * cell, ny * cell], size=(3000, 2))
hotspot = rng.normal([1200, 800], 120, size=(600, 2))
points = np.vstack([background, hotspot])
points = points[(points[:, 0] >= 0) & (points[:, 1] >= 0) & (points[:, 0] < nx * cell) & (points[:, 1] < ny * cell)]
cols = np.floor(points[:, 0] / cell).astype(int)
rows = np.floor(points[:, 1] / cell).astype(int)
counts = np.zeros(nx * ny)
np.add.at(counts, rows * nx + cols, 1)
out["lattice"] = {"nx": nx, "ny": ny, "cell": cell, "points": points.tolist(), "counts": counts.tolist()}


def gi(y, w):
    g = G_Local(y, w, transform="B", star=True, permutations=0)
    return {"z": g.Zs.tolist(), "p": g.p_norm.tolist(), "fdr": float(fdr(g.p_norm, 0.05))}


# lat2W numbers cell (row, col) as row * ncols + col, as the Rust lattice does.
out["gi_rook"] = gi(counts, lat2W(ny, nx, rook=True))
out["gi_queen"] = gi(counts, lat2W(ny, nx, rook=False))
centres = np.array([[(i % nx + 0.5) * cell, (i // nx + 0.5) * cell] for i in range(nx * ny)])
out["gi_band"] = {"metres": 250.0, **gi(counts, DistanceBand(centres, threshold=250.0, binary=True, silence_warnings=True))}
knn = KNN(centres + rng.normal(0, 1, size=centres.shape), k=5)
out["gi_knn"] = {"neighbours": [list(map(int, knn.neighbors[i])) for i in range(nx * ny)], **gi(counts, knn)}

# ---- Density on a 40 x 30 lattice of 50 m cells.
dens_points = np.vstack([rng.normal([600, 700], 150, size=(700, 2)), rng.uniform(0, 2000, size=(300, 2))])
gx, gy, gcell = 40, 30, 50.0
grid = np.array([[(i % gx + 0.5) * gcell, (i // gx + 0.5) * gcell] for i in range(gx * gy)])
n = len(dens_points)
scott = n ** (-1 / 6) * np.sqrt((dens_points[:, 0].var(ddof=1) + dens_points[:, 1].var(ddof=1)) / 2)
h = 120.0
gauss = np.exp(KernelDensity(kernel="gaussian", bandwidth=h).fit(dens_points).score_samples(grid))
d2 = ((grid[:, None, :] - dens_points[None, :, :]) ** 2).sum(-1)
u = d2 / h**2
quartic = (np.where(u < 1, 3 / (np.pi * h**2) * (1 - u) ** 2, 0.0)).sum(1) / n
gauss_scott = np.exp(KernelDensity(kernel="gaussian", bandwidth=scott).fit(dens_points).score_samples(grid))
out["density"] = {
    "nx": gx, "ny": gy, "cell": gcell, "points": dens_points.tolist(), "bandwidth": h,
    "gaussian": gauss.tolist(), "quartic": quartic.tolist(),
    "scott": float(scott), "gaussian_scott": gauss_scott.tolist(),
}

# ---- Knox: burglaries with a near-repeat cluster, 99 permutations.
m = 400
xy = rng.uniform(0, 3000, size=(m, 2))
t = rng.uniform(0, 365 * 86400, size=m)
seeds = rng.integers(0, m, size=40)
xy[:40] = xy[seeds] + rng.normal(0, 40, size=(40, 2))
t[:40] = t[seeds] + rng.uniform(0, 5 * 86400, size=40)
distance, interval = 200.0, 7 * 86400.0
pairs = np.array(sorted(cKDTree(xy).query_pairs(r=distance)))


def close(times):
    return int((np.abs(times[pairs[:, 0]] - times[pairs[:, 1]]) <= interval).sum())


observed = close(t)
perms = [rng.permutation(m) for _ in range(99)]
counts_perm = [close(t[p]) for p in perms]
tt = np.abs(t[:, None] - t[None, :]) <= interval
out["knox"] = {
    "events": [[float(a), float(b), float(c)] for (a, b), c in zip(xy, t)],
    "distance": distance, "interval": interval,
    "permutations": [list(map(int, p)) for p in perms],
    "observed": observed, "close_in_space": int(len(pairs)),
    "close_in_time": int((tt.sum() - m) // 2),
    "expected": float(np.mean(counts_perm)),
    "p": (1 + sum(c >= observed for c in counts_perm)) / (1 + len(perms)),
}

with open("reference.json", "w") as f:
    json.dump(out, f)
print("observed", observed, "expected", np.mean(counts_perm), "scott", scott)
