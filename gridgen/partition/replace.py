"""Replace one community of a plan and update the plan's metrics without measuring it all.

An edit of one community (:func:`gridgen.partition.assign.assign_units`) measures that
community again; the rest of the plan keeps its measured columns, so a save costs the same
on a district and on a city of a million households.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.io.crs import WGS84
from gridgen.partition.plan import GRID_COLUMNS, Plan, PlanMetrics, grid_table
from gridgen.partition.tiling import OVERLAP_TOLERANCE, TILING_AREA_TOLERANCE, tiling_errors
from gridgen.partition.units import UnitGraph

POLYGON = 3
"""Shapely's type id of a Polygon (``shapely.get_type_id``)."""


def _pairs(frame: pd.DataFrame, key: str, value: str) -> dict[str, str]:
    """Return ``{key: value}`` of two columns as text (fast: no pandas iteration)."""
    keys = frame[key].astype(str).to_numpy().tolist()
    values = frame[value].astype(str).to_numpy().tolist()
    return dict(zip(keys, values, strict=True))


def _cut_edges(units: UnitGraph, assignment: pd.DataFrame) -> int:
    """Return the unit-graph edges of a community cut by ``assignment`` (as plan metrics do)."""
    grid_of = _pairs(assignment, "building_id", "grid_id")
    unit_grid = np.full(units.n, "", dtype=object)
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        unit_grid[u] = grid_of.get(str(b), "")
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    known = (unit_grid[ea] != "") & (unit_grid[eb] != "")
    return int(np.sum(known & (unit_grid[ea] != unit_grid[eb])))


def replace_community(
    dataset: Dataset,
    plan: Plan,
    units: UnitGraph,
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
) -> Plan:
    """Return ``plan`` with one community's grids and assignment replaced, metrics updated.

    Only the community is measured again: other grids keep their measured columns, the cut
    edges change by the community's difference, and the tiling error is the larger of the
    plan's and the community's (untouched grids keep their exact geometry).
    """
    cid = units.community_id
    lo, hi = plan.band
    a = plan.assignment.astype({"building_id": str, "grid_id": str})
    old_ids = set(plan.grids.loc[plan.grids["community_id"].astype(str) == cid, "grid_id"])
    old_a = a[a["grid_id"].isin(old_ids)]
    table = grid_table(dataset, grids, assignment, target=plan.target, band=(lo, hi))
    others = plan.grids[plan.grids["community_id"].astype(str) != cid]
    cols = [c for c in table.columns if c in others.columns or c in GRID_COLUMNS]
    all_grids = gpd.GeoDataFrame(
        pd.concat([others[cols], table[cols]], ignore_index=True), geometry="geometry", crs=WGS84
    )
    all_grids = all_grids.sort_values("grid_id", kind="stable").reset_index(drop=True)
    all_a = (
        pd.concat([a[~a["grid_id"].isin(old_ids)], assignment], ignore_index=True)
        .sort_values("building_id", kind="stable")
        .reset_index(drop=True)
    )
    err, ov = tiling_errors(dataset, table).get(cid, (0.0, 0.0))
    max_err = max(float(plan.metrics.max_tiling_error), err)
    max_ov = max(float(plan.metrics.max_overlap_m2), ov)
    cut = plan.metrics.cut_edges - _cut_edges(units, old_a) + _cut_edges(units, assignment)
    n = len(all_grids)
    geoms = np.asarray(all_grids.geometry.array, dtype=object)
    single = (shapely.get_type_id(geoms) == POLYGON) & ~shapely.is_empty(geoms)
    hh = all_grids["households"].astype(float)
    metrics = PlanMetrics(
        n_grids=n,
        households=int(hh.sum()),
        band_compliance=float(((hh >= lo) & (hh <= hi)).mean()) if n else 0.0,
        mean_polsby_popper=float(all_grids["polsby_popper"].astype(float).mean()) if n else 0.0,
        max_abs_deviation=float(np.abs(hh / plan.target - 1).max()) if n else 0.0,
        cut_edges=int(cut),
        main_road_crossings=int((all_grids["main_road_crossings"].astype(float) > 0).sum()),
        contiguous_share=float(single.mean()) if n else 1.0,
        tiling_ok=bool(max_err <= TILING_AREA_TOLERANCE and max_ov <= OVERLAP_TOLERANCE),
        max_tiling_error=max_err,
        max_overlap_m2=max_ov,
        infeasible=dict(plan.metrics.infeasible),
    )
    return Plan(
        grids=all_grids,
        assignment=all_a,
        metrics=metrics,
        problems=plan.problems,
        target=plan.target,
        band=plan.band,
        seed=plan.seed,
        codes=plan.codes,
    )


__all__ = ["replace_community"]
