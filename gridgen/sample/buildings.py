"""Contents of one generated community: lots, compounds, buildings and stations.

Inside a community, lots (compounds, a scattered-building lot, sometimes a park) are
laid out in rows whose boundaries are minor roads (a few labelled path). Buildings are
axis-aligned rectangles (long side east-west, as in northern China) inside the largest
axis-aligned rectangle of their compound quadrilateral. Stations sit at lot edges: the
centre at the scattered-building lot, micro-stations at the largest compounds, red fronts
at a random compound.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from gridgen.errors import ParameterError
from gridgen.sample.layers import LayerRows
from gridgen.sample.layout import (
    CELL_M,
    SETBACK_M,
    AreaSpec,
    CommunityRoads,
    FloatArray,
    bilinear_points,
    lot_rows,
    share_breaks,
    snapped_breaks,
)

_INSET_M = 5.0  # buildings keep this far inside their compound

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


def add_community(
    acc: LayerRows,
    quad: FloatArray,
    *,
    target: float,
    community_id: str,
    community_name: str,
    spec: AreaSpec,
    n_micro: int,
    red_front: bool,
    west: FloatArray,
    south: FloatArray,
    rng: np.random.Generator,
) -> CommunityRoads:
    """Add the compounds, buildings and stations of one community to ``acc``; return its roads.

    ``west`` and ``south`` are the split parameters the neighbours already put on the
    shared edges; breaks close to them are snapped so roads cross the main road
    instead of leaving slivers of main road a few metres long.
    """
    lots, demand = _community_lots(target, rng)
    rows = lot_rows(demand, rng)
    v_breaks = snapped_breaks(
        share_breaks(np.array([demand[row].sum() for row in rows]), 0.15), west
    )
    layout = _RowLayout()
    for r, row in enumerate(rows):
        below = layout.row_u[r - 1][1:-1] if r > 0 else None
        u_breaks = _row_breaks(demand[row], below=below, south=south, rng=rng)
        layout.row_u.append(u_breaks)
        for k, lot in enumerate(row):
            ua, ub = u_breaks[k], u_breaks[k + 1]
            va, vb = v_breaks[r], v_breaks[r + 1]
            if k > 0:  # lot boundary: a minor road (some are footpaths)
                layout.minor.append(bilinear_points(quad, [ua, ua], [va, vb]))
                layout.minor_kind.append("path" if rng.random() < 0.12 else "minor")
            kind, b = lots[lot]
            layout.anchors.append((lot, _lot_anchors(quad, (ua, ub), (va, vb))))
            if kind == "public":
                continue
            corners = _lot_corners(quad, (ua, ub), (va, vb))
            _add_lot(acc, corners, kind, b, lot=lot, community_id=community_id, spec=spec, rng=rng)
    layout.add_row_roads(quad, v_breaks)
    _stations(
        acc,
        layout.anchors,
        lots,
        community_id=community_id,
        community_name=community_name,
        n_micro=n_micro,
        red_front=red_front,
        rng=rng,
    )
    splits = {
        "bottom": layout.row_u[0][1:-1],
        "top": layout.row_u[-1][1:-1],
        "left": v_breaks[1:-1],
        "right": v_breaks[1:-1],
    }
    return CommunityRoads(minor=layout.minor, minor_kind=layout.minor_kind, splits=splits)


def _community_lots(
    target: float, rng: np.random.Generator
) -> tuple[list[tuple[str, dict[str, FloatArray]]], FloatArray]:
    """Return the lots of a community (kind, buildings) and the area each one demands.

    Compound lots, one scattered-building lot, and half the time a park or school lot
    without homes.
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
    return lots, demand


def _row_breaks(
    demand: FloatArray, *, below: FloatArray | None, south: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """Return the lot breaks (0 to 1 along the row) of one row of lots.

    The first row snaps to the ``south`` neighbour's breaks; a break of a later row close
    to one of the row ``below`` continues it as a crossing.
    """
    u_breaks = share_breaks(demand, 0.18)
    u_breaks[1:-1] += rng.uniform(-0.01, 0.01, len(demand) - 1)  # no exact ties
    if below is None:
        return snapped_breaks(u_breaks, south)
    for k in range(1, len(demand)):
        near = np.abs(below - u_breaks[k]) < 0.03
        if near.any():
            u_breaks[k] = below[int(np.argmax(near))]
    return u_breaks


def _lot_corners(quad: FloatArray, u: tuple[float, float], v: tuple[float, float]) -> FloatArray:
    """Return the corners (BL, BR, TR, TL) of the lot ``u × v`` set back from its roads."""
    (ua, ub), (va, vb) = u, v
    mu = SETBACK_M / CELL_M
    mv = SETBACK_M / CELL_M
    cu = np.array([ua + mu, ub - mu, ub - mu, ua + mu])
    cv = np.array([va + mv, va + mv, vb - mv, vb - mv])
    return bilinear_points(quad, cu, cv)


def _lot_anchors(quad: FloatArray, u: tuple[float, float], v: tuple[float, float]) -> FloatArray:
    """Return the lot's four station anchor points (S, N, W, E), 3 m inside its setback."""
    (ua, ub), (va, vb) = u, v
    mu = SETBACK_M / CELL_M
    mv = SETBACK_M / CELL_M
    d = 3.0 / CELL_M
    um, vm = (ua + ub) / 2.0, (va + vb) / 2.0
    return bilinear_points(
        quad, [um, um, ua + mu + d, ub - mu - d], [va + mv + d, vb - mv - d, vm, vm]
    )


@dataclass
class _RowLayout:
    """What laying out a community's rows of lots makes besides the lots themselves."""

    minor: list[FloatArray] = field(default_factory=list)
    minor_kind: list[str] = field(default_factory=list)
    row_u: list[FloatArray] = field(default_factory=list)
    """Lot breaks of each row."""
    anchors: list[tuple[int, FloatArray]] = field(default_factory=list)
    """(lot index, 4 anchor points S/N/W/E) of each lot."""

    def add_row_roads(self, quad: FloatArray, v_breaks: FloatArray) -> None:
        """Add the minor roads between rows, split where lot boundaries meet them."""
        for r in range(1, len(self.row_u)):
            ts = np.unique(np.concatenate([self.row_u[r - 1], self.row_u[r]]))
            pts = bilinear_points(quad, ts, np.full(len(ts), v_breaks[r]))
            for a, b2 in itertools.pairwise(pts):
                self.minor.append(np.vstack([a, b2]))
                self.minor_kind.append("minor")


def _add_lot(
    acc: LayerRows,
    corners: FloatArray,
    kind: str,
    b: dict[str, FloatArray],
    *,
    lot: int,
    community_id: str,
    spec: AreaSpec,
    rng: np.random.Generator,
) -> None:
    """Add the buildings of one lot, and the compound of a compound lot, to ``acc``."""
    x0, y0, x1, y1 = _place_buildings(corners, b, rng)
    k_b = len(x0)
    if kind == "compound":
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


def _stations(
    acc: LayerRows,
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
