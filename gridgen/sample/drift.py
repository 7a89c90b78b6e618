"""A year of population drift on a city's raw layers (deterministic), for rebalance tests.

The drift the rebalance benchmarks and tests use (issue 24): households grow by 30% in
10% of the residential places and fall by 50% in another 3%, where a place is a compound
or a building outside any compound (on a city without compounds, such as the OSM one,
every place is a building). Optionally a few new compounds are built on empty land.
Nothing else changes: outlines, roads, building ids and footprints stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84

NEW_COMPOUND_SIDE_M = 90.0
"""Side of a new compound (metres); it holds four buildings of 60-110 households."""


@dataclass(frozen=True)
class Drift:
    """How a city drifts: shares of places that grow / shrink and by how much."""

    grow_share: float = 0.10
    grow_factor: float = 1.30
    shrink_share: float = 0.03
    shrink_factor: float = 0.50
    new_compounds: int = 0
    seed: int = 7


def drifted(
    raw: dict[str, gpd.GeoDataFrame], drift: Drift | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Return the raw layers after the ``drift`` (default: +30% in 10%, -50% in 3%).

    Parameters
    ----------
    raw
        Raw layers of a city (``buildings`` with ``building_id``, ``compound_id``,
        ``households``; ``compounds``; ``communities``), EPSG:4326.
    drift
        The drift; places are drawn with its seed (same seed, same result).

    Raises
    ------
    ParameterError
        When a share is outside [0, 1] or both shares add up to more than 1.
    """
    d = drift or Drift()
    if not (0 <= d.grow_share <= 1 and 0 <= d.shrink_share <= 1) or (
        d.grow_share + d.shrink_share > 1
    ):
        msg = (
            f"drift shares grow_share={d.grow_share}, shrink_share={d.shrink_share}: give "
            "shares between 0 and 1 that add up to at most 1"
        )
        raise ParameterError(msg)
    rng = np.random.default_rng(d.seed)
    bld = raw["buildings"].copy()
    place = _places(bld)
    ids = np.unique(place)
    pick = rng.permutation(len(ids))
    n_up = round(len(ids) * d.grow_share)
    n_down = round(len(ids) * d.shrink_share)
    up = np.isin(place, ids[pick[:n_up]])
    down = np.isin(place, ids[pick[n_up : n_up + n_down]])
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(dtype=float)
    hh = np.where(up, np.round(hh * d.grow_factor), hh)
    hh = np.where(down, np.round(hh * d.shrink_factor), hh)
    bld["households"] = hh.astype(np.int64)
    out = dict(raw)
    out["buildings"] = bld
    if d.new_compounds:
        out = _with_new_compounds(out, n=d.new_compounds, rng=rng)
    return out


def _places(bld: gpd.GeoDataFrame) -> np.ndarray:
    """Return the place of every building: its compound, else the building itself."""
    comp = bld["compound_id"] if "compound_id" in bld.columns else pd.Series(None, index=bld.index)
    has = comp.notna() & (comp.astype(str) != "")
    keys = [
        f"c:{c}" if h else f"b:{b}"
        for c, b, h in zip(comp.astype(str), bld["building_id"].astype(str), has, strict=True)
    ]
    return np.asarray(keys, dtype=str)


def _with_new_compounds(
    raw: dict[str, gpd.GeoDataFrame], *, n: int, rng: np.random.Generator
) -> dict[str, gpd.GeoDataFrame]:
    """Return the layers with ``n`` new compounds on empty land (away from everything)."""
    comp, bld = raw["compounds"], raw["buildings"]
    metric = raw["communities"].estimate_utm_crs()
    comms = raw["communities"].to_crs(metric)
    taken = shapely.union_all(
        np.concatenate(
            [
                comp.to_crs(metric).geometry.buffer(5).to_numpy(),
                bld.to_crs(metric).geometry.buffer(5).to_numpy(),
            ]
        )
    )
    half = NEW_COMPOUND_SIDE_M / 2
    new_comp: list[dict[str, object]] = []
    new_bld: list[dict[str, object]] = []
    for _ in range(20_000):
        if len(new_comp) >= n:
            break
        k = int(rng.integers(len(comms)))
        row = comms.iloc[k]
        x0, y0, x1, y1 = row.geometry.bounds
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        sq = shapely.box(x - half, y - half, x + half, y + half)
        if not row.geometry.contains(sq) or sq.intersects(taken):
            continue
        taken = shapely.union(taken, sq.buffer(5))
        cid = f"NEW{len(new_comp):03d}"
        new_comp.append(
            {
                "compound_id": cid,
                "name": f"新小区{len(new_comp)}",
                "community_id": row["community_id"],
                "property_mode": "company",
                "geometry": sq,
            }
        )
        for j, (dx, dy) in enumerate(((-20, -20), (20, -20), (-20, 20), (20, 20))):
            new_bld.append(
                {
                    "building_id": f"{cid}B{j}",
                    "compound_id": cid,
                    "community_id": row["community_id"],
                    "households": int(rng.integers(60, 110)),
                    "geometry": shapely.box(x + dx - 10, y + dy - 10, x + dx + 10, y + dy + 10),
                }
            )
    out = dict(raw)
    for name, rows, old in (("compounds", new_comp, comp), ("buildings", new_bld, bld)):
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric).to_crs(WGS84)
        frame = frame[[c for c in frame.columns if c in old.columns]]
        out[name] = gpd.GeoDataFrame(
            pd.concat([old, frame], ignore_index=True), geometry="geometry", crs=WGS84
        )
    return out
