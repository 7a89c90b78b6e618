"""One community's grids rebuilt after an edit, through the one finishing step.

The editor's assign and move change which grid a building belongs to; the community's grids
are then drawn again from its planning units by :func:`gridgen.partition.finish.
finish_grids`, exactly as partition, rebalance and merge-grids draw theirs. Units are
labelled from the edited assignment (a unit goes with the grid of most of its households;
a unit without households keeps the grid that covered most of its cell), and the planner's
labels are kept as they are (``mend=False``): a grid the edit leaves in several pieces
stays in pieces, so that the edit can be refused or reported, never silently changed. When
the edit sends buildings of one unit to different grids (one building of a compound), the
community's units are drawn building by building (``split_all``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.io.crs import WGS84
from gridgen.partition.finish import finish_grids
from gridgen.partition.plan import Plan
from gridgen.partition.units import UnitGraph, build_units

IntArray = np.ndarray


@dataclass(frozen=True, eq=False)
class Refinished:
    """The community's grid rows after an edit (EPSG:4326) and what came apart.

    Attributes
    ----------
    rows
        ``grid_id, community_id, party_org, workers, geometry`` per grid still holding land.
    removed
        Grids of the community left without any unit.
    pieces
        Grid id → number of pieces, for grids in several pieces that are not separate
        pieces of the community.
    """

    rows: gpd.GeoDataFrame
    removed: tuple[str, ...]
    pieces: dict[str, int]


def unit_labels(
    dataset: Dataset, plan: Plan, units: UnitGraph, assignment: pd.DataFrame, codes: list[str]
) -> IntArray:
    """Return the index in ``codes`` of every unit's grid under ``assignment``.

    A unit takes the grid holding most of its households (ties: most buildings, then the
    lowest code); a unit without buildings in the assignment keeps the grid of ``plan``
    that covers most of its cell (``-1`` when none does).
    """
    index = {c: i for i, c in enumerate(codes)}
    a = assignment.astype({"building_id": str, "grid_id": str})
    grid_of = dict(zip(a["building_id"], a["grid_id"], strict=True))
    bld = dataset.buildings
    hh = dict(
        zip(
            bld["building_id"].astype(str),
            pd.to_numeric(bld["households"], errors="coerce").fillna(0).astype(float),
            strict=True,
        )
    )
    weight = np.zeros((units.n, max(len(codes), 1)))
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        g = index.get(grid_of.get(str(b), ""), -1)
        if g >= 0:
            weight[u, g] += hh.get(str(b), 0.0) + 1e-3
    labels = np.where(weight.max(axis=1) > 0, weight.argmax(axis=1), -1).astype(np.int64)
    rest = np.flatnonzero(labels < 0)
    cg = plan.grids[plan.grids["community_id"].astype(str) == units.community_id]
    if len(rest) and len(cg):
        metric = cg.to_crs(dataset.metric_crs)
        geoms = metric.geometry.to_numpy()
        ids = metric["grid_id"].astype(str).to_numpy()
        for u in rest.tolist():
            share = shapely.area(shapely.intersection(geoms, units.cells[u]))
            if share.max() > 0 and str(ids[int(np.argmax(share))]) in index:
                labels[u] = index[str(ids[int(np.argmax(share))])]
    return labels


def refinished_community(
    dataset: Dataset, plan: Plan, units: UnitGraph, assignment: pd.DataFrame, codes: list[str]
) -> Refinished:
    """Return the community's grids drawn again for an edited ``assignment``.

    Parameters
    ----------
    dataset, plan
        The dataset and the plan before the edit.
    units
        The community's planning units (as the plan was drawn on).
    assignment
        The community's edited ``building_id → grid_id``.
    codes
        Every grid code of the community after the edit (new grids included).
    """
    if _units_split_by(units, assignment):
        # buildings of one unit now in different grids: draw from buildings' own cells
        units = build_units(dataset, units.community_id, band_max=plan.band[1], split_all=True)
    labels = unit_labels(dataset, plan, units, assignment, codes)
    orphan = labels < 0
    if orphan.any():  # land no grid covered: the nearest labelled unit's grid
        have = np.flatnonzero(~orphan)
        tree = shapely.STRtree(units.cells[have])
        for u in np.flatnonzero(orphan).tolist():
            labels[u] = labels[have[int(tree.query_nearest(units.cells[u])[0])]]
    done = finish_grids(dataset, units, labels, band=plan.band, mend=False)
    present = np.bincount(labels, minlength=len(codes)) > 0
    cg = plan.grids[plan.grids["community_id"].astype(str) == units.community_id]
    keep = [i for i in range(len(codes)) if present[i]]
    rows = gpd.GeoDataFrame(
        {
            "grid_id": [codes[i] for i in keep],
            "community_id": units.community_id,
            "party_org": [_attr(cg, codes[i], "party_org", False) for i in keep],
            "workers": [_attr(cg, codes[i], "workers", 1) for i in keep],
        },
        geometry=gpd.GeoSeries([done.wgs84[i] for i in keep], crs=WGS84),
        crs=WGS84,
    )
    detached = {d.label for d in done.detached if _separate_piece(units, done.metric[d.label])}
    pieces = {
        codes[i]: int(shapely.get_num_geometries(done.metric[i]))
        for i in keep
        if shapely.get_num_geometries(done.metric[i]) > 1 and i not in detached
    }
    removed = tuple(
        sorted(str(c) for c in cg["grid_id"].astype(str) if c not in rows["grid_id"].tolist())
    )
    return Refinished(rows=rows, removed=removed, pieces=pieces)


def _units_split_by(units: UnitGraph, assignment: pd.DataFrame) -> bool:
    """Return whether ``assignment`` puts the buildings of one unit in different grids."""
    a = assignment.astype({"building_id": str, "grid_id": str})
    grid_of = dict(zip(a["building_id"], a["grid_id"], strict=True))
    seen: dict[int, str] = {}
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        g = grid_of.get(str(b))
        if g is None:
            continue
        if seen.setdefault(int(u), g) != g:
            return True
    return False


def _separate_piece(units: UnitGraph, geom: Any) -> bool:
    """Return whether every part of ``geom`` lies in its own piece of the community."""
    pieces = shapely.get_parts(units.area)
    if len(pieces) < 2:
        return False
    parts = shapely.get_parts(geom)
    homes = [int(np.argmax(shapely.area(shapely.intersection(pieces, p)))) for p in parts]
    return len(set(homes)) == len(homes)


def _attr(frame: pd.DataFrame, gid: str, col: str, default: Any) -> Any:
    if col not in frame.columns:
        return default
    hit = frame.loc[frame["grid_id"].astype(str) == gid, col]
    return default if hit.empty or pd.isna(hit.iloc[0]) else hit.iloc[0]
