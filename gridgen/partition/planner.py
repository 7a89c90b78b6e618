"""Planner operations on a plan: redraw a community around locked grids, move a compound or
building to another grid (with the rules it breaks); :mod:`gridgen.partition.compare`
compares two plans.

These are pure functions returning new :class:`~gridgen.partition.plan.Plan` values; nothing is
saved (the service stores what the planner accepts).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gridgen.dataset import Dataset
from gridgen.errors import NotFoundError, ParameterError
from gridgen.io.crs import WGS84
from gridgen.partition.community import (
    community_rng,
    draw_grids,
    drawing_frames,
    wgs84_grids,
)
from gridgen.partition.lifecycle import redrawn_codes, successor
from gridgen.partition.move_rules import (
    MoveResult,
    Violation,
    grid_violations,
    recoded_violations,
    split_compound_violations,
)
from gridgen.partition.plan import (
    GRID_COLUMNS,
    Plan,
    Problem,
    checked_band,
    cut_edge_count,
    grid_table,
    plan_metrics,
)
from gridgen.partition.proofs import (
    detached_problems,
    unbalanceable_problems,
    unsplittable_problems,
)
from gridgen.partition.refinish import refinished_community, unit_labels
from gridgen.partition.units import UnitGraph, build_units, community_geometry
from gridgen.rules import RuleKind


def _community_grids(plan: Plan, community_id: str) -> gpd.GeoDataFrame:
    sel = plan.grids[plan.grids["community_id"].astype(str) == community_id]
    if sel.empty:
        msg = f"community {community_id!r} has no grids in this plan: partition it first"
        raise NotFoundError(msg)
    return sel


def _replace_community(
    dataset: Dataset,
    plan: Plan,
    community_id: str,
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    target: int,
    band: tuple[int, int],
    problems: Iterable[Problem],
    infeasible: str | None = None,
) -> Plan:
    """Return ``plan`` with the grids and assignment of one community replaced."""
    old_ids = set(_community_grids(plan, community_id)["grid_id"].astype(str))
    others = plan.grids[plan.grids["community_id"].astype(str) != community_id]
    keep_a = plan.assignment[~plan.assignment["grid_id"].astype(str).isin(old_ids)]
    old_a = plan.assignment[plan.assignment["grid_id"].astype(str).isin(old_ids)]
    table = wgs84_grids(grid_table(dataset, grids, assignment, target=target, band=band))
    all_grids = (
        gpd.GeoDataFrame(
            pd.concat(
                [others[[*GRID_COLUMNS, "geometry"]], table[[*GRID_COLUMNS, "geometry"]]],
                ignore_index=True,
            ),
            geometry="geometry",
            crs=WGS84,
        )
        .sort_values("grid_id", kind="stable")
        .reset_index(drop=True)
    )
    all_a = (
        pd.concat([keep_a, assignment], ignore_index=True)
        .sort_values("building_id", kind="stable")
        .reset_index(drop=True)
    )
    cut = (
        plan.metrics.cut_edges
        - cut_edge_count(dataset, old_a, band_max=band[1])
        + cut_edge_count(dataset, assignment, band_max=band[1])
    )
    notes = dict(plan.metrics.infeasible)
    if infeasible is not None:
        notes.pop(community_id, None)
        if infeasible:
            notes[community_id] = infeasible
    metrics = plan_metrics(
        dataset, all_grids, all_a, target=target, band=band, cut_edges=cut, infeasible=notes
    )
    kept = [p for p in plan.problems if p.community_id != community_id]
    return Plan(
        grids=all_grids,
        assignment=all_a,
        metrics=metrics,
        problems=(*kept, *problems),
        target=target,
        band=band,
        seed=plan.seed,
        codes=plan.codes,
    )


def repartition(
    dataset: Dataset,
    plan: Plan,
    community_id: str,
    *,
    locked: Iterable[str] = (),
    target: int | None = None,
    band: tuple[int, int] | None = None,
    seed: int = 0,
    on: date | None = None,
) -> Plan:
    """Return ``plan`` with one community redrawn around its locked grids.

    Locked grids keep their geometry, id and buildings exactly; the rest of the community
    (its area and buildings) is partitioned again. A new grid keeps the code of the old
    grid whose households it mostly holds; the others take codes never used in the
    community (:mod:`gridgen.partition.codes`), valid from ``on`` (default: today).

    Parameters
    ----------
    dataset
        The dataset the plan was drawn on.
    plan
        The current plan.
    community_id
        The community to redraw.
    locked
        Grid ids to keep (grids of other communities may be listed; they are ignored).
    target, band
        Options (default: the plan's).
    seed
        Random seed.
    """
    target = plan.target if target is None else int(target)
    if band is None and target == plan.target:
        lo, hi = plan.band  # checked when the plan was made
    else:
        lo, hi = checked_band(target, band)
    cgrids = _community_grids(plan, community_id)
    locked_ids = _locked_in_community(plan, cgrids, community_id, locked)
    locked_rows = cgrids[cgrids["grid_id"].astype(str).isin(locked_ids)]
    a = plan.assignment
    locked_a = a[a["grid_id"].astype(str).isin(locked_ids)]
    free_area, free_b = _free_part(dataset, community_id, locked_rows, locked_a)
    if shapely.area(free_area) <= 1.0:
        if free_b:
            msg = (
                f"every grid of {community_id} is locked but buildings {sorted(free_b)[:3]} are not"
            )
            raise ParameterError(msg)
        return plan
    units = build_units(dataset, community_id, band_max=hi, area=free_area, building_ids=free_b)
    rng = community_rng(seed, community_id)
    drawing = draw_grids(dataset, units, target=target, band=(lo, hi), rng=rng)
    new_ids = redrawn_codes(
        dataset,
        plan,
        community_id,
        units=units,
        labels=drawing.labels,
        geoms=drawing.geoms,
        kept_out=locked_ids,
    )
    order = np.arange(len(new_ids), dtype=np.int64)
    new_grids, new_a = drawing_frames(drawing, ids=new_ids, order=order)
    new_grids = wgs84_grids(new_grids)
    grids = gpd.GeoDataFrame(
        pd.concat([locked_rows, new_grids], ignore_index=True), geometry="geometry", crs=WGS84
    )
    assignment = pd.concat([locked_a, new_a], ignore_index=True)
    redrawn = _replace_community(
        dataset,
        plan,
        community_id,
        grids,
        assignment,
        target=target,
        band=(lo, hi),
        problems=[
            *drawing.problems,
            *unbalanceable_problems(drawing, ids=new_ids, order=order, band=(lo, hi)),
            *unsplittable_problems(drawing, ids=new_ids, order=order, band=(lo, hi)),
            *detached_problems(drawing, ids=new_ids, order=order),
        ],
        infeasible=drawing.infeasible,
    )
    return successor(
        redrawn, before=plan, dataset=dataset, on=on or date.today(), communities={community_id}
    )


def _locked_in_community(
    plan: Plan, cgrids: gpd.GeoDataFrame, community_id: str, locked: Iterable[str]
) -> list[str]:
    """Return the ``locked`` grids of the community (``cgrids``), sorted.

    Locked grids of other communities are fine (those communities are not touched); a
    grid the plan does not have raises NotFoundError.
    """
    ids = set(cgrids["grid_id"].astype(str))
    all_ids = set(plan.grids["grid_id"].astype(str))
    asked = {str(g) for g in locked}
    unknown = sorted(asked - all_ids)
    if unknown:
        msg = (
            f"locked grids {', '.join(unknown)} are not in the plan: lock some of "
            f"{', '.join(sorted(ids))} (the grids of {community_id})"
        )
        raise NotFoundError(msg)
    return sorted(asked & ids)


def _free_part(
    dataset: Dataset,
    community_id: str,
    locked_rows: gpd.GeoDataFrame,
    locked_a: pd.DataFrame,
) -> tuple[BaseGeometry, set[str]]:
    """Return the community's area outside its locked grids (metric CRS) and the ids of
    its buildings no locked grid holds."""
    community = community_geometry(dataset, community_id)
    metric_locked = locked_rows.to_crs(dataset.metric_crs).geometry.to_numpy()
    free_area = (
        shapely.difference(community, shapely.union_all(metric_locked))
        if len(metric_locked)
        else community
    )
    bld = dataset.buildings
    in_comm = bld["community_id"].astype(str) == community_id
    free_b = set(bld.loc[in_comm, "building_id"].astype(str)) - set(
        locked_a["building_id"].astype(str)
    )
    return free_area, free_b


REPARTITION_TRIES = 6
"""Seeds :func:`best_repartition` tries before it settles for the most balanced result."""


def _unlocked_out_of_band(
    plan: Plan, community_id: str, *, locked: tuple[str, ...], band: tuple[int, int]
) -> int:
    """Return how many unlocked grids of ``community_id`` are outside ``band``."""
    lo, hi = band
    g = plan.grids[
        (plan.grids["community_id"].astype(str) == community_id)
        & ~plan.grids["grid_id"].astype(str).isin(locked)
    ]
    return int((~g["households"].between(lo, hi)).sum())


def best_repartition(
    dataset: Dataset,
    plan: Plan,
    community_id: str,
    *,
    locked: tuple[str, ...],
    tries: int = REPARTITION_TRIES,
) -> Plan:
    """Return the :func:`repartition` of ``community_id`` with the fewest unlocked grids out
    of band.

    Seeds ``plan.seed + 1`` to ``plan.seed + tries`` are tried in turn, stopping at the first
    whose unlocked grids are all in the band (``plan`` itself when ``tries`` is 0).
    """
    best, best_out = plan, None
    for seed in range(plan.seed + 1, plan.seed + 1 + tries):
        new = repartition(dataset, plan, community_id, locked=locked, seed=seed)
        out = _unlocked_out_of_band(new, community_id, locked=locked, band=plan.band)
        if best_out is None or out < best_out:
            best, best_out = new, out
        if out == 0:
            break
    return best


def move_unit(
    dataset: Dataset,
    plan: Plan,
    *,
    to_grid: str,
    building_id: str | None = None,
    compound_id: str | None = None,
    on: date | None = None,
) -> MoveResult:
    """Return the plan after moving a building or a whole compound to ``to_grid``.

    The community's grids are drawn again from its planning units (buildings of every
    compound apart for a building move) through the one finishing step
    (:mod:`gridgen.partition.refinish`). Nothing is saved; the result lists every rule the
    move breaks (``violations``). Codes follow
    :func:`gridgen.partition.lifecycle.successor` (dated ``on``, default today).
    """
    community_id, what, moving, sources, a = _move_request(
        dataset, plan, to_grid=to_grid, building_id=building_id, compound_id=compound_id
    )
    lo, hi = plan.band
    units = build_units(dataset, community_id, band_max=hi, split_all=building_id is not None)
    # buildings whose footprints overlap are one unit: they move together
    mates = sorted({m for b in moving for m in units.unit_mates(moving).get(b, [b])})
    if mates != moving:
        moving = mates
        mine = a.loc[a["building_id"].isin(set(moving)), "grid_id"]
        sources = sorted(set(mine) - {str(to_grid)})
    cgrids = _community_grids(plan, community_id)
    codes = sorted(cgrids["grid_id"].astype(str))
    before_hh = dict(zip(cgrids["grid_id"].astype(str), cgrids["households"], strict=True))
    new_a = a.copy()
    new_a.loc[new_a["building_id"].isin(moving), "grid_id"] = str(to_grid)
    done = refinished_community(dataset, plan, units, new_a, codes)
    touching = _touches(units, unit_labels(dataset, plan, units, a, codes), moving, codes, to_grid)
    metric = done.rows.to_crs(dataset.metric_crs)
    new_geom: dict[str, BaseGeometry] = {g: shapely.Polygon() for g in codes}
    new_geom.update(zip(metric["grid_id"].astype(str), metric.geometry, strict=True))
    comm_a = new_a[new_a["grid_id"].isin(set(codes))]
    new_plan = _replace_community(
        dataset,
        plan,
        community_id,
        done.rows,
        comm_a,
        target=plan.target,
        band=plan.band,
        problems=[p for p in plan.problems if p.community_id == community_id],
    )
    after_hh = dict(zip(new_plan.grids["grid_id"], new_plan.grids["households"], strict=True))
    violations: list[Violation] = []
    if not touching:
        violations.append(
            Violation(RuleKind.NOT_ADJACENT, str(to_grid), f"{what} does not border grid {to_grid}")
        )
    violations += grid_violations(
        new_geom, [*sources, str(to_grid)], before_hh, after_hh, band=(lo, hi)
    )
    if building_id is not None:
        violations += split_compound_violations(dataset, new_a, building_id, to_grid=to_grid, hi=hi)
    coded = successor(
        new_plan, before=plan, dataset=dataset, on=on or date.today(), communities={community_id}
    )
    return MoveResult(
        plan=coded,
        metrics=coded.metrics,
        violations=recoded_violations(violations, before=new_plan, after=coded),
        moved_buildings=tuple(moving),
        from_grids=tuple(sources),
        to_grid=str(to_grid),
    )


def _touches(
    units: UnitGraph, labels: NDArray[np.int64], moving: list[str], codes: list[str], to_grid: str
) -> bool:
    """Return whether the moving buildings' units border a unit of ``to_grid`` (before)."""
    mine = set(moving)
    moved = np.zeros(units.n, dtype=bool)
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        if str(b) in mine:
            moved[u] = True
    target = (labels == codes.index(str(to_grid))) & ~moved
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    return bool(np.any((moved[ea] & target[eb]) | (moved[eb] & target[ea])))


def _move_request(
    dataset: Dataset,
    plan: Plan,
    *,
    to_grid: str,
    building_id: str | None,
    compound_id: str | None,
) -> tuple[str, str, list[str], list[str], pd.DataFrame]:
    """Check a move and return (community, what moves, its buildings, source grids, assignment)."""
    if (building_id is None) == (compound_id is None):
        msg = "move_unit needs exactly one of building_id and compound_id"
        raise ParameterError(msg)
    grids = plan.grids
    hit = grids[grids["grid_id"].astype(str) == str(to_grid)]
    if hit.empty:
        msg = f"grid {to_grid!r} is not in the plan: give one of its grid_id values"
        raise NotFoundError(msg)
    community_id = str(hit["community_id"].iloc[0])
    bld = dataset.buildings
    if building_id is not None:
        sel = bld["building_id"].astype(str) == str(building_id)
        what = f"building {building_id}"
    else:
        sel = bld["compound_id"].astype(str) == str(compound_id)
        what = f"compound {compound_id}"
    moving = sorted(bld.loc[sel, "building_id"].astype(str))
    if not moving:
        msg = f"{what} is not in the dataset (or has no buildings): check the id"
        raise NotFoundError(msg)
    comm_of = set(bld.loc[sel, "community_id"].astype(str))
    if comm_of != {community_id}:
        msg = (
            f"{what} lies in community {', '.join(sorted(comm_of))} but grid {to_grid} belongs "
            f"to {community_id}: move it to a grid of its own community"
        )
        raise ParameterError(msg)
    a = plan.assignment.astype({"building_id": str, "grid_id": str})
    grid_of = dict(zip(a["building_id"], a["grid_id"], strict=True))
    sources = sorted({grid_of[b] for b in moving if b in grid_of} - {str(to_grid)})
    if not sources:
        msg = f"{what} is already in grid {to_grid}: nothing to move"
        raise ParameterError(msg)
    return community_id, what, moving, sources, a


__all__ = [
    "Violation",
    "move_unit",
    "repartition",
]
