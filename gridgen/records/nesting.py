"""多网合一 as nesting: departments' zones made of the base grids everyone shares.

For each department's layer (zones with a code, like a grid layer) and a base plan:

- a base grid is *cut* when its area is split between zones (the smaller parts above
  :data:`AREA_TOLERANCE_M2` and :data:`SHARE_TOLERANCE` of the grid) or its buildings lie in
  more than one zone (or partly in none); its *home* zone is the one holding most of its
  households (ties: area);
- a zone is a union of base grids when no base grid it meets is cut; otherwise the report
  names the cut grids with the area and households of each zone they reach, and per zone
  the area and households that cross (parts of its own grids outside it, parts of other
  grids inside it);
- the proposal is the smallest change that nests the layer: every cut grid goes wholly to
  its home zone (the department redraws its boundary along the base grid), which changes
  the zone of the fewest households possible grid by grid. Where the parts outside the home
  zone are whole planning units that a neighbouring base grid inside the other zone borders,
  moving those units to that grid (the base grid follows the department) is listed as the
  alternative with the same households.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.partition.plan import Plan

AREA_TOLERANCE_M2 = 10.0
"""Parts of a base grid smaller than this (m²) in a zone are digitising noise."""
SHARE_TOLERANCE = 0.005
"""... and so are parts below this share of the grid's area."""
NO_ZONE = ""
"""The zone of land and buildings a department's layer does not cover."""


@dataclass(frozen=True)
class GridShares:
    """How one base grid is shared among a layer's zones (metric areas, households), and
    the compounds (or lone buildings) of its buildings in each zone."""

    code: str
    area: dict[str, float]
    households: dict[str, int]
    total_area: float
    units: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def home(self) -> str:
        """Return the zone holding most of the grid's households (ties: most area)."""
        zones = set(self.area) | set(self.households)
        return max(sorted(zones), key=lambda z: (self.households.get(z, 0), self.area.get(z, 0.0)))

    def zones(self) -> list[str]:
        """Return the zones holding a part of the grid beyond the tolerances, or households."""
        tol = max(AREA_TOLERANCE_M2, SHARE_TOLERANCE * self.total_area)
        big = {z for z, a in self.area.items() if a > tol}
        people = {z for z, h in self.households.items() if h > 0}
        return sorted(big | people)

    def cut(self) -> bool:
        """Return whether the grid lies in more than one zone (beyond the tolerances)."""
        return len(self.zones()) > 1

    def outside_home(self) -> tuple[float, int]:
        """Return (area m², households) of the grid outside its home zone."""
        home = self.home
        area = sum(a for z, a in self.area.items() if z != home)
        return area, sum(h for z, h in self.households.items() if z != home)


def grid_shares(dataset: Dataset, base: Plan, zones: gpd.GeoDataFrame) -> dict[str, GridShares]:
    """Return per base grid its area and households in each zone of ``zones`` (WGS84,
    ``grid_id`` = the zone's code); land and buildings in no zone count under :data:`NO_ZONE`."""
    crs = dataset.metric_crs
    grids = base.grids.to_crs(crs)
    g_geom = shapely.make_valid(grids.geometry.to_numpy())
    g_code = grids["grid_id"].astype(str).to_numpy()
    z = zones.to_crs(crs)
    z_geom = shapely.make_valid(z.geometry.to_numpy())
    z_code = z["grid_id"].astype(str).to_numpy()
    area: dict[str, dict[str, float]] = defaultdict(dict)
    gi, zi = shapely.STRtree(z_geom).query(g_geom, predicate="intersects")
    inter = shapely.area(shapely.intersection(g_geom[gi], z_geom[zi])) if len(gi) else []
    for g, k, a in zip(gi.tolist(), zi.tolist(), list(inter), strict=True):
        code, zone = str(g_code[g]), str(z_code[k])
        area[code][zone] = area[code].get(zone, 0.0) + float(a)
    totals = shapely.area(g_geom)
    for code, total in zip(g_code.tolist(), totals.tolist(), strict=True):
        covered = sum(area[code].values())
        if total - covered > 0:
            area[code][NO_ZONE] = total - covered
    households, units = _households_by_zone(dataset, base, z_geom, z_code)
    return {
        str(c): GridShares(
            str(c),
            dict(area[str(c)]),
            households.get(str(c), {}),
            float(t),
            {z: frozenset(u) for z, u in units.get(str(c), {}).items()},
        )
        for c, t in zip(g_code.tolist(), totals.tolist(), strict=True)
    }


def _households_by_zone(
    dataset: Dataset, base: Plan, z_geom: np.ndarray, z_code: np.ndarray
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, set[str]]]]:
    """Return per base grid the households of its buildings in each zone (by building point),
    and the units (compound, or the building itself) they belong to there."""
    bld = dataset.metric("buildings")
    pts = shapely.point_on_surface(bld.geometry.to_numpy())
    zone_of = np.full(len(pts), NO_ZONE, dtype=object)
    pi, zi = shapely.STRtree(z_geom).query(pts, predicate="within")
    zone_of[pi] = z_code[zi]
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
    a = base.assignment
    grid_of = dict(zip(a["building_id"].astype(str), a["grid_id"].astype(str), strict=True))
    ids = bld["building_id"].astype(str).tolist()
    comp = bld["compound_id"].astype(object).where(bld["compound_id"].notna(), None).tolist()
    out: dict[str, dict[str, int]] = defaultdict(dict)
    units: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for b, c, z, h in zip(ids, comp, zone_of.tolist(), hh.tolist(), strict=True):
        g = grid_of.get(b)
        if g is not None:
            out[g][str(z)] = out[g].get(str(z), 0) + int(h)
            units[g][str(z)].add(f"compound {c}" if c else f"building {b}")
    return out, units


def layer_nesting(
    dataset: Dataset, base: Plan, zones: gpd.GeoDataFrame, *, name: str = "layer"
) -> dict[str, Any]:
    """Return the nesting report of one department's layer in the base plan (module doc)."""
    shares = grid_shares(dataset, base, zones)
    cut = {c: s for c, s in shares.items() if s.cut()}
    zone_ids = sorted(zones["grid_id"].astype(str).unique())
    reports = []
    for zone in zone_ids:
        mine = {c: s for c, s in cut.items() if zone in s.area or zone in s.households}
        area = hh = 0.0
        for s in mine.values():
            if s.home == zone:
                a, h = s.outside_home()
            else:
                a, h = s.area.get(zone, 0.0), s.households.get(zone, 0)
            area, hh = area + a, hh + h
        member = sorted(c for c, s in shares.items() if s.home == zone and not s.cut())
        reports.append(
            {
                "zone": zone,
                "union_of_grids": not mine,
                "grids": member,
                "cut_grids": sorted(mine),
                "area_crossing_m2": round(area, 1),
                "households_crossing": int(hh),
            }
        )
    near = _neighbours(dataset, base, sorted(cut))
    changes = [
        _change(s, shares, near.get(s.code, [])) for s in sorted(cut.values(), key=lambda s: s.code)
    ]
    bad = [r for r in reports if not r["union_of_grids"]]
    return {
        "layer": name,
        "zones": len(zone_ids),
        "nested": not bad,
        "zones_not_unions": len(bad),
        "cut_grids": [_cut_entry(s) for s in sorted(cut.values(), key=lambda s: s.code)],
        "zones_report": bad,
        "proposal": {
            "method": "redraw the department's zones along the base grids: each cut grid goes "
            "wholly to the zone holding most of its households",
            "households_rezoned": sum(c["households"] for c in changes),
            "area_rezoned_m2": round(sum(c["area_m2"] for c in changes), 1),
            "changes": changes,
        },
    }


def _cut_entry(s: GridShares) -> dict[str, Any]:
    zones = s.zones()
    return {
        "code": s.code,
        "home_zone": s.home or None,
        "zones": [
            {
                "zone": z or None,
                "area_m2": round(s.area.get(z, 0.0), 1),
                "households": int(s.households.get(z, 0)),
            }
            for z in zones
        ],
    }


def _neighbours(dataset: Dataset, base: Plan, codes: list[str]) -> dict[str, list[str]]:
    """Return per code of ``codes`` the base grids sharing a boundary with it."""
    if not codes:
        return {}
    grids = base.grids.to_crs(dataset.metric_crs)
    geom = shapely.make_valid(grids.geometry.to_numpy())
    all_codes = grids["grid_id"].astype(str).to_numpy()
    index = {c: i for i, c in enumerate(all_codes.tolist())}
    sel = np.asarray([index[c] for c in codes], dtype=np.int64)
    a, b = shapely.STRtree(geom).query(geom[sel], predicate="intersects")
    out: dict[str, list[str]] = defaultdict(list)
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        if sel[i] != j and shapely.length(shapely.intersection(geom[sel[i]], geom[j])) > 1.0:
            out[codes[i]].append(str(all_codes[j]))
    return out


def _move_units(
    s: GridShares, shares: dict[str, GridShares], near: list[str]
) -> dict[str, Any] | None:
    """Return the alternative that moves the units outside the home zone to a neighbouring
    base grid lying wholly in their zone (None when a unit straddles zones or no such grid)."""
    home = s.home
    to: dict[str, str] = {}
    for zone, units in s.units.items():
        if zone in (home, NO_ZONE) or not units:
            continue
        if any(units & other for z, other in s.units.items() if z != zone):
            return None  # a compound on both sides of the department's boundary
        whole = [n for n in near if not shares[n].cut() and shares[n].home == zone]
        if not whole:
            return None
        to[zone] = sorted(whole)[0]
    if not to:
        return None
    moving = sorted(u for z in to for u in s.units[z])
    return {"method": "move_units", "units": moving, "to_grids": to}


def _change(s: GridShares, shares: dict[str, GridShares], near: list[str]) -> dict[str, Any]:
    area, hh = s.outside_home()
    return {
        "grid": s.code,
        "to_zone": s.home or None,
        "from_zones": [z or None for z in s.zones() if z != s.home],
        "households": int(hh),
        "area_m2": round(area, 1),
        "alternative": _move_units(s, shares, near),
    }


def nesting_report(
    dataset: Dataset, base: Plan, layers: list[tuple[str, gpd.GeoDataFrame]]
) -> dict[str, Any]:
    """Return the nesting of every department's layer in the base plan."""
    out = [layer_nesting(dataset, base, frame, name=name) for name, frame in layers]
    return {
        "base_grids": len(base.grids),
        "nested": all(r["nested"] for r in out),
        "layers": out,
    }


__all__ = ["GridShares", "grid_shares", "layer_nesting", "nesting_report"]
