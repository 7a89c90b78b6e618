"""Geometry of the generated area: community lattice, lot rows and the road network.

Communities are cells of a jittered lattice in UTM 49N metres; positions inside a
community are given in its unit square ``(u, v)`` and mapped with the bilinear map of
its quadrilateral, so roads on shared edges meet at bit-identical vertices. Main roads
run along every lattice edge, split wherever a community's minor road meets them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyproj
from numpy.typing import NDArray

from gridgen.io.crs import WGS84

SAMPLE_METRIC_CRS = pyproj.CRS.from_epsg(32649)
"""UTM zone 49N: the metric CRS the generator works in."""
SAMPLE_CENTER_LONLAT = (112.56, 37.80)
"""Centre of the sample district (Taiyuan 小店区), WGS84 lon/lat."""
DISTRICT_CODE = "140105"
"""Administrative code of 小店区; street ids are this plus three digits."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ArrayLikeF = FloatArray | list[float] | float

CELL_M = 480.0  # community lattice spacing (≈3,000 households at urban density)
_JITTER_M = 30.0  # lattice vertex jitter; small enough that every cell stays convex
SETBACK_M = 10.0  # compound edge to road centreline


@dataclass(frozen=True)
class AreaSpec:
    """Shape of a generated area: lattice, streets and sizes."""

    n_x: int
    n_y: int
    street_cells: tuple[tuple[int, ...], ...]  # lattice cell index j * n_x + i
    street_names: tuple[str, ...]
    community_names: tuple[str, ...]
    community_targets: tuple[float, ...]
    n_micro: int
    n_red_front: int
    n_companies: int
    point_building_share: float = 0.06


def bilinear_points(quad: FloatArray, u: ArrayLikeF, v: ArrayLikeF) -> FloatArray:
    """Return points ``(n, 2)`` of the bilinear map of ``quad`` (BL, BR, TR, TL) at (u, v).

    The expression is written so that at ``v == 0``/``1`` or ``u == 0``/``1`` it reduces
    bit for bit to ``(1 - t) * A + t * B`` on that edge (see :func:`edge_points`).
    """
    ua = np.asarray(u, dtype=float)[:, None]
    va = np.asarray(v, dtype=float)[:, None]
    bl, br, tr, tl = quad
    bottom = (1.0 - ua) * bl + ua * br
    top = (1.0 - ua) * tl + ua * tr
    out: FloatArray = (1.0 - va) * bottom + va * top
    return out


def edge_points(a: FloatArray, b: FloatArray, t: FloatArray) -> FloatArray:
    """Return points ``(1 - t) * a + t * b`` on the segment a-b."""
    tt = t[:, None]
    out: FloatArray = (1.0 - tt) * a + tt * b
    return out


def share_breaks(weights: FloatArray, min_share: float) -> FloatArray:
    """Return cumulative breaks ``[0, ..., 1]`` with shares proportional to ``weights``."""
    share = weights / weights.sum()
    floor = min(min_share, 1.0 / len(share))
    for _ in range(len(share)):  # water-filling: raise small shares, shrink the rest
        low = share < floor - 1e-12
        if not low.any():
            break
        free = ~low & (share > floor)
        share = np.where(low, floor, share)
        excess = share.sum() - 1.0
        share[free] -= excess * share[free] / share[free].sum()
    out = np.concatenate([[0.0], np.cumsum(share)])
    out[-1] = 1.0
    return out


def snapped_breaks(breaks: FloatArray, fixed: FloatArray, tol: float = 0.04) -> FloatArray:
    """Return ``breaks`` with interior values within ``tol`` of a ``fixed`` value moved onto it."""
    out = breaks.copy()
    for k in range(1, len(out) - 1):
        if fixed.size == 0:
            break
        nearest = fixed[int(np.argmin(np.abs(fixed - out[k])))]
        if abs(nearest - out[k]) < tol and out[k - 1] < nearest < out[k + 1]:
            out[k] = nearest
    return out


def lot_rows(demand: FloatArray, rng: np.random.Generator) -> list[list[int]]:
    """Return lot indices per row (south to north), balancing demand (LPT greedy)."""
    n = len(demand)
    n_rows = min(5, max(2, math.ceil(n / 4)))
    cap = math.ceil(n / n_rows)  # at most `cap` lots per row keeps every lot ≥ 60 m wide
    rows: list[list[int]] = [[] for _ in range(n_rows)]
    load = np.zeros(n_rows)
    for idx in np.argsort(-demand, kind="stable"):
        full = np.array([len(row) >= cap for row in rows])
        r = int(np.argmin(np.where(full, np.inf, load)))
        rows[r].append(int(idx))
        load[r] += demand[idx]
    for row in rows:
        rng.shuffle(row)
    return [row for row in rows if row]


@dataclass
class CommunityRoads:
    """Minor roads of one community and where they meet its edges (metric coordinates)."""

    minor: list[FloatArray]  # (2, 2) segments
    minor_kind: list[str]
    splits: dict[str, FloatArray]  # bottom/top/left/right split parameters


def lattice_vertices(spec: AreaSpec, rng: np.random.Generator) -> FloatArray:
    """Return jittered lattice vertices ``(n_x + 1, n_y + 1, 2)`` in UTM 49N metres."""
    to_utm = pyproj.Transformer.from_crs(WGS84, SAMPLE_METRIC_CRS, always_xy=True)
    cx, cy = to_utm.transform(*SAMPLE_CENTER_LONLAT)
    x = cx + (np.arange(spec.n_x + 1) - spec.n_x / 2.0) * CELL_M
    y = cy + (np.arange(spec.n_y + 1) - spec.n_y / 2.0) * CELL_M
    grid = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1)
    jitter = rng.uniform(-_JITTER_M, _JITTER_M, grid.shape)
    out: FloatArray = np.round(grid + jitter, 2)
    return out


def main_road_segments(
    verts: FloatArray, spec: AreaSpec, parts: list[CommunityRoads]
) -> tuple[list[FloatArray], list[str]]:
    """Return the lattice edges split at every minor road that meets them."""
    hsplit: dict[tuple[int, int], list[FloatArray]] = {}
    vsplit: dict[tuple[int, int], list[FloatArray]] = {}
    for c, part in enumerate(parts):
        i, j = c % spec.n_x, c // spec.n_x
        hsplit.setdefault((i, j), []).append(part.splits["bottom"])
        hsplit.setdefault((i, j + 1), []).append(part.splits["top"])
        vsplit.setdefault((i, j), []).append(part.splits["left"])
        vsplit.setdefault((i + 1, j), []).append(part.splits["right"])
    segs: list[FloatArray] = []
    for i in range(spec.n_x):
        for j in range(spec.n_y + 1):
            ts = np.unique(np.concatenate([[0.0, 1.0], *hsplit.get((i, j), [])]))
            pts = edge_points(verts[i, j], verts[i + 1, j], ts)
            segs.extend(np.stack([pts[:-1], pts[1:]], axis=1))
    for i in range(spec.n_x + 1):
        for j in range(spec.n_y):
            ts = np.unique(np.concatenate([[0.0, 1.0], *vsplit.get((i, j), [])]))
            pts = edge_points(verts[i, j], verts[i, j + 1], ts)
            segs.extend(np.stack([pts[:-1], pts[1:]], axis=1))
    return segs, ["main"] * len(segs)
