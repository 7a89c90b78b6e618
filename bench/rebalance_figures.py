"""Figures of a plan for ``bench/rebalance.py``: households changed against an old plan,
band compliance, validity in every output CRS, tiling, codes kept by majority.

Every producer (rebalance, redraw, merge-grids; this branch's and main's) is measured by
this same code, from its grids (EPSG:4326) and building assignment only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix

from gridgen.dataset import Dataset
from gridgen.io.crs import frame_from_wgs84, parse_crs

OUTPUT_CRS = ("EPSG:4326", "metric", "gcj02", "bd09", "EPSG:3857", "EPSG:4490")
Reported = tuple[str, str, str, str]
"""A plan's problem as (kind, community_id, grid_id, building_id)."""


def proven_grids(
    problems: list[Reported], new: dict[str, str], grids: pd.DataFrame, below: set[str]
) -> set[str]:
    """Return the grids a problem proves cannot be in the band.

    ``unbalanceable`` names its grid, and so does ``unsplittable`` when the grid is the one
    out of band of a connected part no plan divides into in-band grids;
    ``building_above_band`` its building (whose grid it is); ``below_band`` /
    ``no_households`` *without* a grid name a community (or a separate part of it) too
    small for a grid in the band: its grids below the band (``below``). A ``below_band`` or
    ``above_band`` problem naming a grid only says no fix was found: not a proof.
    """
    ids = grids["grid_id"].astype(str)
    small = grids[ids.isin(below)]
    by_comm = small.groupby(small["community_id"].astype(str))["grid_id"].agg(list).to_dict()
    out: set[str] = set()
    for kind, comm, grid, building in problems:
        if kind in ("unbalanceable", "unsplittable") and grid:
            out.add(grid)
        elif kind == "building_above_band" and building in new:
            out.add(new[building])
        elif kind in ("below_band", "no_households") and not grid:
            out |= {str(g) for g in by_comm.get(comm, [])}
    return out


@dataclass
class Figures:
    """What ``bench/rebalance.py`` reports about one plan."""

    grids: int = 0
    in_band: float = 0.0
    in_band_feasible: float = 0.0
    out_unproven: int = 0
    above_unproven: int = 0
    above_twice: int = 0
    changed: int = 0
    codes_kept: int = 0
    codes_not_majority: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    types: str = ""
    multipart: int = 0
    multipart_unjustified: int = 0
    gap_m2: float = 0.0
    overlap_m2: float = 0.0
    outside_buildings: int = 0
    seconds: float = 0.0


def grid_of(assignment: pd.DataFrame) -> dict[str, str]:
    """Return building → grid of an assignment frame."""
    return dict(
        zip(
            assignment["building_id"].astype(str),
            assignment["grid_id"].astype(str),
            strict=True,
        )
    )


def households_of(ds: Dataset) -> dict[str, float]:
    """Return building → households."""
    bld = ds.buildings
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).astype(float)
    return dict(zip(bld["building_id"].astype(str), hh, strict=True))


def changed_households(hh: dict[str, float], old: dict[str, str], new: dict[str, str]) -> int:
    """Return households whose grid changed, old and new grids matched one-to-one by the
    households they share (``linear_sum_assignment``); buildings in no old grid are not
    counted (they are filled, not moved)."""
    ids = [b for b in old if b in hh]
    w = np.asarray([hh[b] for b in ids], dtype=float)
    o = np.asarray([old[b] for b in ids], dtype=object)
    n = np.asarray([new.get(b, "") for b in ids], dtype=object)
    both = n != ""
    ou, oi = np.unique(o[both].astype(str), return_inverse=True)
    nu, ni = np.unique(n[both].astype(str), return_inverse=True)
    m = coo_matrix((w[both], (oi, ni)), shape=(len(ou), len(nu))).toarray()
    r, c = linear_sum_assignment(m, maximize=True)
    return round(float(w.sum() - m[r, c].sum()))


def majority_codes(
    hh: dict[str, float], old: dict[str, str], new: dict[str, str]
) -> tuple[int, int]:
    """Return (old codes kept by the grid that is that grid by households, codes kept
    otherwise). A grid is an old grid by households when it holds more than half of the
    old grid's households or more than half of its own come from it
    (:func:`gridgen.partition.codes.kept_codes`); codes of old grids without households
    (kept by area) are not counted."""
    of_old: dict[str, float] = {}
    of_new: dict[str, float] = {}
    same: dict[str, float] = {}
    for b, g in old.items():
        w = hh.get(b, 0.0) + 1e-6
        of_old[g] = of_old.get(g, 0.0) + w
        if new.get(b) == g:
            same[g] = same.get(g, 0.0) + w
    for b, g in new.items():
        of_new[g] = of_new.get(g, 0.0) + hh.get(b, 0.0) + 1e-6
    # codes of old grids without households are kept by area (codes.kept_by_area): left out
    kept_codes = {g for g in set(new.values()) & set(of_old) if of_old[g] >= 0.5}
    good = sum(
        1
        for g in kept_codes
        if same.get(g, 0.0) > 0.5 * of_old[g] or same.get(g, 0.0) > 0.5 * of_new[g]
    )
    return good, len(kept_codes) - good


def invalid_per_crs(ds: Dataset, grids: gpd.GeoDataFrame) -> dict[str, int]:
    """Return, per output CRS, how many grids are invalid for GEOS after the conversion
    the writers make (``frame_from_wgs84``)."""
    out: dict[str, int] = {}
    for name in OUTPUT_CRS:
        if name == "EPSG:4326":
            geoms = grids.geometry
        elif name == "metric":
            geoms = grids.to_crs(ds.metric_crs).geometry
        else:
            geoms = frame_from_wgs84(grids, parse_crs(name)).geometry
        out[name] = int((~geoms.is_valid).sum())
    return out


def tiling(ds: Dataset, grids: gpd.GeoDataFrame) -> tuple[float, float]:
    """Return (m² of the communities no grid covers, m² covered by two grids)."""
    g = grids.to_crs(ds.metric_crs)
    comms = ds.metric("communities")
    area = shapely.union_all(comms.geometry.to_numpy())
    geoms = g.geometry.to_numpy()
    union = shapely.union_all(geoms)
    gap = float(shapely.area(shapely.difference(area, union)))
    overlap = float(shapely.area(geoms).sum() - shapely.area(union))
    return gap, max(overlap, 0.0)


OUTSIDE_M2 = 0.1
"""Footprint area outside its grid that counts (m²): the grids are measured after a round
trip through EPSG:4326, whose rounding leaves up to a few hundredths of a m² outside."""


def outside_buildings(ds: Dataset, grids: gpd.GeoDataFrame, new: dict[str, str]) -> int:
    """Return buildings whose footprint lies more than :data:`OUTSIDE_M2` outside its grid."""
    g = grids.to_crs(ds.metric_crs)
    geom_of = dict(zip(g["grid_id"].astype(str), g.geometry, strict=True))
    bld = ds.metric("buildings")
    ids = bld["building_id"].astype(str).tolist()
    fps = bld.geometry.to_numpy()
    grid = np.asarray([geom_of.get(new.get(b, ""), shapely.Polygon()) for b in ids], dtype=object)
    poly = np.isin(shapely.get_type_id(fps), (3, 6))
    left = np.zeros(len(ids))
    left[poly] = shapely.area(shapely.difference(fps[poly], grid[poly]))
    pts = ~poly
    left[pts] = np.where(shapely.intersects(fps[pts], grid[pts]), 0.0, 1.0)
    return int(np.sum(left > OUTSIDE_M2))


def figures(
    ds: Dataset,
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    problems: list[Reported],
    *,
    band: tuple[int, int],
    old: dict[str, str] | None = None,
    seconds: float = 0.0,
) -> Figures:
    """Return the figures of one plan (grids in EPSG:4326)."""
    lo, hi = band
    hh = households_of(ds)
    new = grid_of(assignment)
    per = pd.Series(hh).groupby(pd.Series(new)).sum()
    h = np.asarray([per.get(c, 0.0) for c in grids["grid_id"].astype(str)], dtype=float)
    inb = (h >= lo) & (h <= hi)
    proven = proven_grids(problems, new, grids, set(grids["grid_id"].astype(str)[h < lo]))
    multi_ok = {g for k, _c, g, _b in problems if k == "detached_part" and g}
    ids = grids["grid_id"].astype(str).to_numpy()
    feasible = ~np.isin(ids, list(proven)) | inb
    # in several parts (a MultiPolygon layer promotes one-part grids too: not counted)
    multi = shapely.get_num_geometries(grids.geometry.to_numpy()) > 1
    # a grid holding several buildings may be out of band only with a proof
    unproven = ~inb & ~np.isin(ids, list(proven))
    f = Figures(
        grids=len(grids),
        in_band=float(inb.mean()) if len(inb) else 1.0,
        in_band_feasible=float(inb[feasible].mean()) if feasible.any() else 1.0,
        out_unproven=int(unproven.sum()),
        above_unproven=int((unproven & (h > hi)).sum()),
        above_twice=int((unproven & (h > 2 * hi)).sum()),
        invalid=invalid_per_crs(ds, grids),
        types=",".join(sorted(set(grids.geometry.geom_type))),
        multipart=int(multi.sum()),
        multipart_unjustified=int((multi & ~np.isin(ids, list(multi_ok))).sum()),
        seconds=seconds,
    )
    f.gap_m2, f.overlap_m2 = tiling(ds, grids)
    f.outside_buildings = outside_buildings(ds, grids, new)
    if old is not None:
        f.changed = changed_households(hh, old, new)
        f.codes_kept, f.codes_not_majority = majority_codes(hh, old, new)
    return f
