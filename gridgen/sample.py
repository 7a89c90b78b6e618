"""The sample district and the synthetic city generator (deterministic, pure).

The sample sits in Taiyuan 小店区 around lon 112.56, lat 37.80 and is built in UTM 49N
(EPSG:32649) metres, then projected to EPSG:4326.

Layout, top down:

* a lattice of community cells (~480 m) whose interior vertices are jittered, so the
  communities are irregular quadrilaterals that share edges exactly; main roads run
  along every lattice edge and streets are blocks of lattice cells;
* inside a community, lots (compounds, a scattered-building lot, sometimes a park) are
  laid out in rows; the row and lot boundaries are minor roads (a few labelled path);
* positions inside a community are given in its unit square ``(u, v)`` and mapped with
  the bilinear map of its quadrilateral. That map sends lines of constant ``u`` or ``v``
  to straight segments and uses the same floating-point expression on both sides of a
  shared edge, so every road meets the next one at a bit-identical shared vertex (the
  network is noded without any snapping);
* buildings are axis-aligned rectangles (long side east-west, as in northern China)
  inside the largest axis-aligned rectangle of their compound quadrilateral.

Everything random comes from one seeded :class:`numpy.random.Generator`, so the same
arguments always give identical frames.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from gridgen.crs import WGS84
from gridgen.errors import ParameterError
from gridgen.sample_names import (
    community_names,
    company_names,
    compound_names,
    person_names,
    phone_numbers,
    street_names,
)
from gridgen.schema import LAYERS, PROPERTY_MODES

SAMPLE_METRIC_CRS = pyproj.CRS.from_epsg(32649)
"""UTM zone 49N: the metric CRS the generator works in."""
SAMPLE_CENTER_LONLAT = (112.56, 37.80)
"""Centre of the sample district (Taiyuan 小店区), WGS84 lon/lat."""
DEFAULT_DISTRICT_SEED = 20261123
DISTRICT_CODE = "140105"
"""Administrative code of 小店区; street ids are this plus three digits."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ArrayLikeF = FloatArray | list[float] | float

_CELL_M = 480.0  # community lattice spacing (≈3,000 households at urban density)
_JITTER_M = 30.0  # lattice vertex jitter; small enough that every cell stays convex
_SETBACK_M = 10.0  # compound edge to road centreline
_INSET_M = 5.0  # buildings keep this far inside their compound
_MEAN_COMMUNITY_HOUSEHOLDS = 2750.0

# Building types: floors, units (stair cores), households per floor per unit,
# footprint width per unit and depth (metres), and site coverage of the lot.
_BUILDING_TYPES: dict[str, dict[str, tuple[float, ...]]] = {
    "walkup": {"floors": (5, 6, 6, 6, 7), "units": (1, 1, 2, 2, 3), "per_unit": (2,),
               "unit_w": (13.0,), "depth": (11.0,), "coverage": (0.24,)},
    "mid": {"floors": (11,), "units": (1, 2, 2), "per_unit": (2,),
            "unit_w": (15.0,), "depth": (13.0,), "coverage": (0.2,)},
    "tower": {"floors": (18, 26), "units": (2,), "per_unit": (2, 3),
              "unit_w": (16.0,), "depth": (17.0,), "coverage": (0.16,)},
    "scattered": {"floors": (2, 3, 4, 5, 6), "units": (1, 1, 2), "per_unit": (2,),
                  "unit_w": (11.0,), "depth": (9.0,), "coverage": (0.2,)},
}  # fmt: skip


def sample_path() -> Path:
    """Return the repository's ``sample_data/`` directory."""
    return Path(__file__).resolve().parents[1] / "sample_data"


@dataclass(frozen=True)
class _Spec:
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


@dataclass
class _Acc:
    """Column accumulators of every layer (metric coordinates)."""

    cols: dict[str, dict[str, list[object]]] = field(default_factory=dict)
    geoms: dict[str, list[NDArray[np.object_]]] = field(default_factory=dict)
    n_compounds: int = 0

    def add(self, layer: str, geoms: NDArray[np.object_] | None, **columns: object) -> None:
        """Append rows (arrays or lists, all of equal length) to ``layer``."""
        store = self.cols.setdefault(layer, {})
        for name, values in columns.items():
            store.setdefault(name, []).append(values)
        if geoms is not None:
            self.geoms.setdefault(layer, []).append(geoms)

    def column(self, layer: str, name: str) -> NDArray[np.object_] | FloatArray:
        """Return the concatenated column ``name`` of ``layer``."""
        parts = self.cols.get(layer, {}).get(name, [])
        if not parts:
            return np.array([], dtype=object)
        return np.concatenate([np.asarray(p) for p in parts])


def _bilinear(quad: FloatArray, u: ArrayLikeF, v: ArrayLikeF) -> FloatArray:
    """Return points ``(n, 2)`` of the bilinear map of ``quad`` (BL, BR, TR, TL) at (u, v).

    The expression is written so that at ``v == 0``/``1`` or ``u == 0``/``1`` it reduces
    bit for bit to ``(1 - t) * A + t * B`` on that edge (see :func:`_edge_points`).
    """
    ua = np.asarray(u, dtype=float)[:, None]
    va = np.asarray(v, dtype=float)[:, None]
    bl, br, tr, tl = quad
    bottom = (1.0 - ua) * bl + ua * br
    top = (1.0 - ua) * tl + ua * tr
    out: FloatArray = (1.0 - va) * bottom + va * top
    return out


def _edge_points(a: FloatArray, b: FloatArray, t: FloatArray) -> FloatArray:
    """Return points ``(1 - t) * a + t * b`` on the segment a-b."""
    tt = t[:, None]
    out: FloatArray = (1.0 - tt) * a + tt * b
    return out


def _breaks(weights: FloatArray, min_share: float) -> FloatArray:
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


def _draw_buildings(kind: str, target: float, rng: np.random.Generator) -> dict[str, FloatArray]:
    """Return the buildings of one lot whose households sum closest to ``target``."""
    spec = _BUILDING_TYPES[kind]
    min_hh = min(spec["floors"]) * min(spec["units"]) * min(spec["per_unit"])
    n = math.ceil(target / min_hh) + 1
    fl = rng.choice(np.asarray(spec["floors"]), n).astype(np.int64)
    units = rng.choice(np.asarray(spec["units"]), n).astype(np.int64)
    per_unit = rng.choice(np.asarray(spec["per_unit"]), n).astype(np.int64)
    hh = fl * units * per_unit
    cum = np.cumsum(hh)
    floor_hh = 50 if kind != "scattered" else 1
    cost = np.abs(cum - target) + np.where(cum < floor_hh, 1e9, 0.0)
    k = int(np.argmin(cost)) + 1
    return {
        "households": hh[:k],
        "floors": fl[:k],
        "width": units[:k] * spec["unit_w"][0] * (1.0 + 0.15 * (per_unit[:k] - 2)),
        "depth": np.full(k, spec["depth"][0]),
        "demand": np.full(
            1, float(np.sum(units[:k] * spec["unit_w"][0] * spec["depth"][0])) / spec["coverage"][0]
        ),
    }


def _compound_targets(target: float, rng: np.random.Generator) -> tuple[FloatArray, float]:
    """Return compound household targets and the scattered households of a community."""
    scattered = max(20.0, target * rng.uniform(0.02, 0.06))
    rest = target - scattered
    sizes: list[float] = []
    if rng.random() < 0.35 and rest > 1500:
        big = rng.uniform(700.0, 1450.0)
        sizes.append(big)
        rest -= big
    n = max(1, round(rest / 240.0))
    w = rng.lognormal(mean=0.0, sigma=0.6, size=n)
    small = np.clip(w / w.sum() * rest, 50.0, 650.0)
    return np.concatenate([np.asarray(sizes), small]), scattered


def _compound_kind(size: float, rng: np.random.Generator) -> str:
    """Return the building type of a compound of ``size`` households."""
    if size < 200:
        return "walkup"
    if size < 600:
        return "walkup" if rng.random() < 0.6 else "mid"
    return "tower" if rng.random() < 0.8 else "mid"


def _place_buildings(
    corners: FloatArray, b: dict[str, FloatArray], rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return building boxes (xmin, ymin, xmax, ymax) inside the quad ``corners``.

    Boxes sit in a slot grid inside the largest axis-aligned rectangle of the quad
    (BL, BR, TR, TL), so each is inside the quad whatever the jitter.
    """
    bl, br, tr, tl = corners
    x0 = max(bl[0], tl[0]) + _INSET_M
    x1 = min(br[0], tr[0]) - _INSET_M
    y0 = max(bl[1], br[1]) + _INSET_M
    y1 = min(tl[1], tr[1]) - _INSET_M
    if x1 - x0 < 4.0 or y1 - y0 < 4.0:  # pragma: no cover - layout keeps lots ≥ 50 m
        msg = f"generator bug: lot too small for buildings ({x1 - x0:.1f} x {y1 - y0:.1f} m)"
        raise ParameterError(msg)
    width, height = x1 - x0, y1 - y0
    bw, bd = b["width"], b["depth"]
    k = len(bw)
    cols = np.arange(1, k + 1)
    rows = np.ceil(k / cols)
    sw, sh = width / cols, height / rows
    score = np.minimum(sw / (bw.max() * 1.3), sh / (bd.max() * 2.0))
    best = int(np.argmax(score))
    c, slot_w, slot_h = int(cols[best]), float(sw[best]), float(sh[best])
    scale = min(1.0, float(score[best]) * 1.2)
    i = np.arange(k)
    hw, hd = bw * scale / 2.0, np.minimum(bd * scale, slot_h * 0.9) / 2.0
    hw = np.minimum(hw, slot_w * 0.45)
    cx = x0 + (i % c + 0.5) * slot_w + rng.uniform(-0.4, 0.4, k) * (slot_w / 2.0 - hw)
    cy = y1 - (i // c + 0.5) * slot_h + rng.uniform(-0.4, 0.4, k) * (slot_h / 2.0 - hd)
    return cx - hw, cy - hd, cx + hw, cy + hd


def _snapped(breaks: FloatArray, fixed: FloatArray, tol: float = 0.04) -> FloatArray:
    """Return ``breaks`` with interior values within ``tol`` of a ``fixed`` value moved onto it."""
    out = breaks.copy()
    for k in range(1, len(out) - 1):
        if fixed.size == 0:
            break
        nearest = fixed[int(np.argmin(np.abs(fixed - out[k])))]
        if abs(nearest - out[k]) < tol and out[k - 1] < nearest < out[k + 1]:
            out[k] = nearest
    return out


def _layout_rows(demand: FloatArray, rng: np.random.Generator) -> list[list[int]]:
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
class _Community:
    """Roads, lots and anchors of one community (metric coordinates)."""

    minor: list[FloatArray]  # (2, 2) segments
    minor_kind: list[str]
    splits: dict[str, FloatArray]  # bottom/top/left/right split parameters


def _community(
    acc: _Acc,
    quad: FloatArray,
    *,
    target: float,
    community_id: str,
    community_name: str,
    spec: _Spec,
    n_micro: int,
    red_front: bool,
    west: FloatArray,
    south: FloatArray,
    rng: np.random.Generator,
) -> _Community:
    """Generate the compounds, buildings, stations and minor roads of one community.

    ``west`` and ``south`` are the split parameters the neighbours already put on the
    shared edges; breaks close to them are snapped so roads cross the main road
    instead of leaving slivers of main road a few metres long.
    """
    sizes, scattered_hh = _compound_targets(target, rng)
    lots: list[tuple[str, dict[str, FloatArray]]] = []
    for size in sizes:
        lots.append(("compound", _draw_buildings(_compound_kind(size, rng), size, rng)))
    lots.append(("scattered", _draw_buildings("scattered", scattered_hh, rng)))
    demand = np.array([b["demand"][0] for _, b in lots])
    if rng.random() < 0.5:  # a park or school lot without homes
        lots.append(("public", {"demand": np.array([demand.sum() * 0.08])}))
        demand = np.append(demand, demand.sum() * 0.08)

    rows = _layout_rows(demand, rng)
    v_breaks = _snapped(_breaks(np.array([demand[row].sum() for row in rows]), 0.15), west)
    mu = _SETBACK_M / _CELL_M
    mv = _SETBACK_M / _CELL_M
    minor: list[FloatArray] = []
    minor_kind: list[str] = []
    row_u: list[FloatArray] = []
    anchors: list[tuple[int, FloatArray]] = []  # (lot index, 4 anchor points S/N/W/E)
    compound_rows: list[int] = []
    for r, row in enumerate(rows):
        u_breaks = _breaks(demand[row], 0.18)
        u_breaks[1:-1] += rng.uniform(-0.01, 0.01, len(row) - 1)  # no exact ties
        if r == 0:
            u_breaks = _snapped(u_breaks, south)
        else:  # a break close to one of the row below continues it as a crossing
            below = row_u[r - 1][1:-1]
            for k in range(1, len(row)):
                near = np.abs(below - u_breaks[k]) < 0.03
                if near.any():
                    u_breaks[k] = below[int(np.argmax(near))]
        row_u.append(u_breaks)
        va, vb = v_breaks[r], v_breaks[r + 1]
        for k, lot in enumerate(row):
            ua, ub = u_breaks[k], u_breaks[k + 1]
            if k > 0:  # lot boundary: a minor road (some are footpaths)
                seg = _bilinear(quad, [ua, ua], [va, vb])
                minor.append(seg)
                minor_kind.append("path" if rng.random() < 0.12 else "minor")
            kind, b = lots[lot]
            cu = np.array([ua + mu, ub - mu, ub - mu, ua + mu])
            cv = np.array([va + mv, va + mv, vb - mv, vb - mv])
            corners = _bilinear(quad, cu, cv)
            d = 3.0 / _CELL_M
            um, vm = (ua + ub) / 2.0, (va + vb) / 2.0
            anchors.append(
                (
                    lot,
                    _bilinear(
                        quad, [um, um, ua + mu + d, ub - mu - d], [va + mv + d, vb - mv - d, vm, vm]
                    ),
                )
            )
            if kind == "public":
                continue
            x0, y0, x1, y1 = _place_buildings(corners, b, rng)
            k_b = len(x0)
            if kind == "compound":
                compound_rows.append(lot)
                acc.n_compounds += 1
                cid = f"XQ{acc.n_compounds:05d}"
                ring = np.vstack([corners, corners[:1]])
                acc.add(
                    "compounds",
                    np.array([shapely.polygons(ring)], dtype=object),
                    compound_id=[cid],
                    community_id=[community_id],
                    households=[int(b["households"].sum())],
                    lot=[lot],
                )
                comp_col: list[object] = [cid] * k_b
                geoms = shapely.box(x0, y0, x1, y1)
            else:
                comp_col = [None] * k_b
                geoms = shapely.box(x0, y0, x1, y1)
                as_point = rng.random(k_b) < spec.point_building_share
                geoms[as_point] = shapely.centroid(geoms[as_point])
            acc.add(
                "buildings",
                geoms,
                compound_id=comp_col,
                households=b["households"],
                floors=b["floors"],
            )
    # horizontal minor roads between rows, split where lot boundaries meet them
    for r in range(1, len(rows)):
        ts = np.unique(np.concatenate([row_u[r - 1], row_u[r]]))
        pts = _bilinear(quad, ts, np.full(len(ts), v_breaks[r]))
        for a, b2 in itertools.pairwise(pts):
            minor.append(np.vstack([a, b2]))
            minor_kind.append("minor")

    _stations(
        acc,
        anchors,
        lots,
        community_id=community_id,
        community_name=community_name,
        n_micro=n_micro,
        red_front=red_front,
        rng=rng,
    )
    splits = {
        "bottom": row_u[0][1:-1],
        "top": row_u[-1][1:-1],
        "left": v_breaks[1:-1],
        "right": v_breaks[1:-1],
    }
    return _Community(minor=minor, minor_kind=minor_kind, splits=splits)


def _stations(
    acc: _Acc,
    anchors: list[tuple[int, FloatArray]],
    lots: list[tuple[str, dict[str, FloatArray]]],
    *,
    community_id: str,
    community_name: str,
    n_micro: int,
    red_front: bool,
    rng: np.random.Generator,
) -> None:
    """Add the centre, micro-stations and red fronts of one community."""
    by_lot = dict(anchors)
    scattered = next(i for i, (kind, _) in enumerate(lots) if kind == "scattered")
    compounds = [i for i, (kind, _) in enumerate(lots) if kind == "compound"]
    compounds.sort(key=lambda i: -float(lots[i][1]["households"].sum()))
    points = [by_lot[scattered][0]]
    kinds = ["center"]
    names = [f"{community_name}党群服务中心"]
    caps = [3000]
    for m in range(n_micro):
        lot = compounds[m % len(compounds)]
        points.append(by_lot[lot][(m // len(compounds)) % 4])
        kinds.append("micro")
        names.append(f"{community_name}第{m + 1}网格党群服务微站")
        caps.append(int(rng.integers(6, 17)) * 50)
    if red_front:
        lot = compounds[int(rng.integers(len(compounds)))]
        points.append(by_lot[lot][2])
        kinds.append("red_front")
        names.append(f"{community_name}红色阵地")
        caps.append(300)
    xy = np.vstack(points)
    acc.add(
        "stations",
        np.asarray(shapely.points(xy), dtype=object),
        kind=kinds,
        name=names,
        capacity_households=caps,
        community_id=[community_id] * len(kinds),
    )


def _lattice(spec: _Spec, rng: np.random.Generator) -> FloatArray:
    """Return jittered lattice vertices ``(n_x + 1, n_y + 1, 2)`` in UTM 49N metres."""
    to_utm = pyproj.Transformer.from_crs(WGS84, SAMPLE_METRIC_CRS, always_xy=True)
    cx, cy = to_utm.transform(*SAMPLE_CENTER_LONLAT)
    x = cx + (np.arange(spec.n_x + 1) - spec.n_x / 2.0) * _CELL_M
    y = cy + (np.arange(spec.n_y + 1) - spec.n_y / 2.0) * _CELL_M
    grid = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1)
    jitter = rng.uniform(-_JITTER_M, _JITTER_M, grid.shape)
    out: FloatArray = np.round(grid + jitter, 2)
    return out


def _main_roads(
    verts: FloatArray, spec: _Spec, parts: list[_Community]
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
            pts = _edge_points(verts[i, j], verts[i + 1, j], ts)
            segs.extend(np.stack([pts[:-1], pts[1:]], axis=1))
    for i in range(spec.n_x + 1):
        for j in range(spec.n_y):
            ts = np.unique(np.concatenate([[0.0, 1.0], *vsplit.get((i, j), [])]))
            pts = _edge_points(verts[i, j], verts[i, j + 1], ts)
            segs.extend(np.stack([pts[:-1], pts[1:]], axis=1))
    return segs, ["main"] * len(segs)


def _generate(spec: _Spec, rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    """Return all layers of the area described by ``spec`` (EPSG:4326)."""
    verts = _lattice(spec, rng)
    acc = _Acc()
    n_comm = spec.n_x * spec.n_y
    street_of = np.empty(n_comm, dtype=np.int64)
    for s, cells in enumerate(spec.street_cells):
        street_of[list(cells)] = s
    targets = np.asarray(spec.community_targets)
    micro = _largest_remainder(targets / targets.sum() * spec.n_micro)
    red = np.zeros(n_comm, dtype=bool)
    red[rng.choice(n_comm, size=min(spec.n_red_front, n_comm), replace=False)] = True

    quads = np.stack(
        [verts[:-1, :-1], verts[1:, :-1], verts[1:, 1:], verts[:-1, 1:]], axis=2
    )  # (n_x, n_y, 4, 2)
    seq_in_street = np.zeros(len(spec.street_cells), dtype=np.int64)
    parts: list[_Community] = []
    community_ids: list[str] = []
    for c in range(n_comm):
        i, j = c % spec.n_x, c // spec.n_x
        s = int(street_of[c])
        seq_in_street[s] += 1
        cid = f"{DISTRICT_CODE}{s + 1:03d}{seq_in_street[s]:03d}"
        community_ids.append(cid)
        quad = quads[i, j]
        ring = np.vstack([quad, quad[:1]])
        acc.add(
            "communities",
            np.array([shapely.polygons(ring)], dtype=object),
            community_id=[cid],
            name=[spec.community_names[c]],
            street_id=[f"{DISTRICT_CODE}{s + 1:03d}"],
        )
        parts.append(
            _community(
                acc,
                quad,
                target=float(targets[c]),
                community_id=cid,
                community_name=spec.community_names[c],
                spec=spec,
                n_micro=int(micro[c]),
                red_front=bool(red[c]),
                west=parts[c - 1].splits["right"] if i > 0 else np.empty(0),
                south=parts[c - spec.n_x].splits["top"] if j > 0 else np.empty(0),
                rng=rng,
            )
        )

    main, main_kind = _main_roads(verts, spec, parts)
    minor = [seg for p in parts for seg in p.minor]
    minor_kind = [k for p in parts for k in p.minor_kind]
    acc.add(
        "roads",
        np.asarray(shapely.linestrings(np.stack(main + minor)), dtype=object),
        kind=main_kind + minor_kind,
    )
    return _frames(acc, spec, community_ids, street_of, rng)


def _largest_remainder(quota: FloatArray) -> IntArray:
    """Return integers summing to ``round(quota.sum())``, each floor or ceil of its quota."""
    base = np.floor(quota).astype(np.int64)
    extra = round(float(quota.sum())) - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:extra]] += 1
    return base


def _streets(acc: _Acc, spec: _Spec, street_of: IntArray) -> gpd.GeoDataFrame:
    """Return the streets: unions of their communities (exact, shared lattice edges)."""
    comm = np.concatenate(acc.geoms["communities"])
    geoms = [shapely.union_all(comm[street_of == s]) for s in range(len(spec.street_cells))]
    ids = [f"{DISTRICT_CODE}{s + 1:03d}" for s in range(len(spec.street_cells))]
    return gpd.GeoDataFrame(
        {"street_id": pd.array(ids, dtype="str"), "name": pd.array(spec.street_names, dtype="str")},
        geometry=geoms,
        crs=SAMPLE_METRIC_CRS,
    )


def _frames(
    acc: _Acc,
    spec: _Spec,
    community_ids: list[str],
    street_of: IntArray,
    rng: np.random.Generator,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the finished layers with schema columns, string ids, EPSG:4326."""
    crs = SAMPLE_METRIC_CRS
    out: dict[str, gpd.GeoDataFrame] = {"streets": _streets(acc, spec, street_of)}
    out["communities"] = gpd.GeoDataFrame(
        {
            "community_id": _str(acc.column("communities", "community_id")),
            "name": _str(acc.column("communities", "name")),
            "street_id": _str(acc.column("communities", "street_id")),
        },
        geometry=np.concatenate(acc.geoms["communities"]),
        crs=crs,
    )

    companies = _companies(spec.n_companies, rng)
    comp_hh = acc.column("compounds", "households").astype(np.int64)
    n_comp = len(comp_hh)
    modes = _property_modes(comp_hh, rng)
    weights = 1.0 / np.arange(1, spec.n_companies + 1) ** 0.8
    company_of = rng.choice(companies["company_id"].to_numpy(), n_comp, p=weights / weights.sum())
    company_col = np.where(modes == "company", company_of, np.array(None, dtype=object))
    branch = rng.random(n_comp) < np.where(comp_hh >= 400, 0.7, 0.25)
    comp_names = compound_names(n_comp, rng)
    out["compounds"] = gpd.GeoDataFrame(
        {
            "compound_id": _str(acc.column("compounds", "compound_id")),
            "name": _str(comp_names),
            "community_id": _str(acc.column("compounds", "community_id")),
            "property_mode": _str(modes),
            "property_company_id": _str(company_col),
            "party_branch": branch,
        },
        geometry=np.concatenate(acc.geoms["compounds"]),
        crs=crs,
    )

    hh = acc.column("buildings", "households").astype(np.int64)
    n_b = len(hh)
    residents = np.round(hh * rng.uniform(2.3, 3.0, n_b)).astype(np.int64)
    out["buildings"] = gpd.GeoDataFrame(
        {
            "building_id": _str([f"LD{k:06d}" for k in range(1, n_b + 1)]),
            "compound_id": _str(acc.column("buildings", "compound_id")),
            "households": hh,
            "residents": residents,
            "floors": acc.column("buildings", "floors").astype(np.int64),
            "leader_name": _str(person_names(n_b, rng)),
            "leader_phone": _str(phone_numbers(n_b, rng)),
            "key_persons": rng.poisson(hh * 0.015).astype(np.int64),
            "party_members": rng.binomial(residents, 0.05).astype(np.int64),
        },
        geometry=np.concatenate(acc.geoms["buildings"]),
        crs=crs,
    )

    kinds = acc.column("stations", "kind")
    out["stations"] = gpd.GeoDataFrame(
        {
            "station_id": _str([f"ZD{k:04d}" for k in range(1, len(kinds) + 1)]),
            "kind": _str(kinds),
            "name": _str(acc.column("stations", "name")),
            "capacity_households": acc.column("stations", "capacity_households").astype(np.int64),
        },
        geometry=np.concatenate(acc.geoms["stations"]),
        crs=crs,
    )

    road_kind = acc.column("roads", "kind")
    out["roads"] = gpd.GeoDataFrame(
        {
            "road_id": _str([f"DL{k:06d}" for k in range(1, len(road_kind) + 1)]),
            "kind": _str(road_kind),
            "walkable": np.ones(len(road_kind), dtype=bool),
        },
        geometry=np.concatenate(acc.geoms["roads"]),
        crs=crs,
    )
    for name in ("streets", "communities", "compounds", "buildings", "stations", "roads"):
        frame = out[name].to_crs(WGS84)
        cols = [*LAYERS[name].column_names, "geometry"]
        out[name] = frame[cols]
    out["property_companies"] = companies
    return out


def _str(values: object) -> pd.Series:
    """Return ``values`` as a pandas string column (``None`` becomes NA)."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _property_modes(households: IntArray, rng: np.random.Generator) -> NDArray[np.str_]:
    """Return a property mode per compound; bigger compounds more often have a company."""
    big = np.array([0.85, 0.07, 0.03, 0.02, 0.01, 0.02])
    small = np.array([0.68, 0.07, 0.05, 0.05, 0.06, 0.09])
    u = rng.random(len(households))
    cum = np.where((households >= 400)[:, None], np.cumsum(big), np.cumsum(small))
    idx = np.minimum((u[:, None] > cum).sum(axis=1), len(PROPERTY_MODES) - 1)
    modes = np.asarray(PROPERTY_MODES)[idx]
    # every mode present: give a missing mode to a random small company compound
    for mode in PROPERTY_MODES:
        if len(modes) >= len(PROPERTY_MODES) and not (modes == mode).any():
            counts = {m: int((modes == m).sum()) for m in PROPERTY_MODES}
            donor = max(counts, key=lambda m: counts[m])
            candidates = np.flatnonzero(modes == donor)
            modes[int(rng.choice(candidates))] = mode
    return modes


def _companies(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return ``n`` property companies, with and without a party organisation."""
    names = company_names(n, rng)
    party = rng.random(n) < 0.6
    if n >= 2:
        party[0], party[-1] = True, False
    return gpd.GeoDataFrame(
        {
            "company_id": _str([f"WY{k:04d}" for k in range(1, n + 1)]),
            "name": _str(names),
            "has_party_org": party,
        }
    )


def make_district(*, seed: int = DEFAULT_DISTRICT_SEED) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of the sample district (Taiyuan 小店区, EPSG:4326).

    Three streets (坞城, 龙城, 黄陵街道) of 4, 4 and 2 communities; about 90
    compounds, 1,000 buildings and 28,000 households; a centre per community, 25
    micro-stations, 3 red fronts; a noded road network; 15 property companies.

    Parameters
    ----------
    seed
        Seed of the random generator; the default gives the committed sample.

    Returns
    -------
    dict of GeoDataFrame
        One frame per name of :data:`gridgen.schema.DATASET_LAYERS` with exactly the
        schema columns (``property_companies`` has no geometry).
    """
    rng = np.random.default_rng(seed)
    n_x, n_y = 5, 2
    cells = tuple(
        tuple(j * n_x + i for j in range(n_y) for i in cols) for cols in ((0, 1), (2, 3), (4,))
    )
    names = tuple(community_names(n_x * n_y, rng))
    spec = _Spec(
        n_x=n_x,
        n_y=n_y,
        street_cells=cells,
        street_names=("坞城街道", "龙城街道", "黄陵街道"),
        community_names=names,
        community_targets=tuple(rng.uniform(2000.0, 3500.0, n_x * n_y)),
        n_micro=25,
        n_red_front=3,
        n_companies=15,
    )
    return _generate(spec, rng)


def make_city(*, households: int = 300_000, seed: int = 1) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers of a synthetic city of about ``households`` households.

    The sample district's generator, scaled: communities of ~2,750 households on a
    square lattice, streets of up to 4 x 3 communities, about one station per 300
    households (a centre per community, red fronts in a third of them, the rest
    micro-stations), one property company per ~8 company-managed compounds.

    Parameters
    ----------
    households
        Total households requested (≥ 2,000); the result is within a few tenths of a
        percent of it.
    seed
        Seed of the random generator.

    Raises
    ------
    ParameterError
        When ``households`` is below 2,000 (one community).
    """
    if households < 2000:
        msg = f"households={households} is too small for a city: give at least 2000"
        raise ParameterError(msg)
    rng = np.random.default_rng(seed)
    n_comm = max(1, round(households / _MEAN_COMMUNITY_HOUSEHOLDS))
    n_x = math.ceil(math.sqrt(n_comm))
    n_y = math.ceil(n_comm / n_x)
    n_comm = n_x * n_y
    targets = rng.uniform(2000.0, 3500.0, n_comm)
    targets = targets / targets.sum() * households
    cells: list[tuple[int, ...]] = []
    for sy in range(0, n_y, 3):
        for sx in range(0, n_x, 4):
            cells.append(
                tuple(
                    j * n_x + i
                    for j in range(sy, min(sy + 3, n_y))
                    for i in range(sx, min(sx + 4, n_x))
                )
            )
    streets = tuple(street_names(len(cells)))
    comm_names = community_names(n_comm, rng)
    n_red = max(1, n_comm // 3)
    n_micro = max(n_comm, round(households / 300) - n_comm - n_red)
    spec = _Spec(
        n_x=n_x,
        n_y=n_y,
        street_cells=tuple(cells),
        street_names=streets,
        community_names=tuple(comm_names),
        community_targets=tuple(targets),
        n_micro=n_micro,
        n_red_front=n_red,
        n_companies=max(15, round(households / 2750 * 0.9)),
    )
    return _generate(spec, rng)
