"""Minimal-change rebalance of existing grids (调整优化网格设置).

Only communities where the audit found something (a gap, an overlap, a grid crossing its
boundary, a split compound, a grid out of band, in several parts or invalid, a building in
no grid) are touched; the others come back exactly as they were (their grids made valid in
every output CRS if they were not). In a touched community:

1. the community's planning units (:mod:`gridgen.partition.units`) take the grid holding
   the majority of their households (whole compounds: split compounds are reunited; a
   compound above the band maximum is split into its buildings' units, as partition
   does), units without households the grid covering most of their cell;
2. pieces of a grid cut off from its main piece, and units in no grid (gaps, land of grids
   attributed to another community) join a neighbouring grid (:func:`moves.fill`); land
   no grid reaches becomes new grids;
3. grids out of band are fixed by ejection chains of branch moves (:func:`moves.balance`,
   :mod:`gridgen.partition.chains`); only where moves cannot, a grid is split, dissolved
   or drawn again with its neighbours (:mod:`gridgen.partition.repairs`), and as a last
   resort the community is drawn afresh when that fixes grids at no more than
   :data:`~gridgen.partition.settle.SCRATCH_COST_PER_FIX` households moved per grid fixed;
   moves that turned out not to be needed are undone (:mod:`gridgen.partition.undo_moves`);
   last, where every grid out of band holds a stuck unit, a mixed integer programme
   relabels the settled grids to keep most households in their old grid
   (:mod:`gridgen.partition.least_change`);
4. a grid keeps its code when it keeps the majority of its households; other grids take
   codes never used in the community; codes no grid keeps are retired
   (:mod:`gridgen.partition.codes`);
5. the community's grids are drawn from the unit cells by the one finishing step
   (:mod:`gridgen.partition.finish`).

Every step moves units on the unit graph without the edges across rivers and railways
(:func:`gridgen.partition.river_sides.walkable`): grids stay off them as partition's do;
only a grid nothing on its side brings into the band reaches across.

Where moves, repairs and a fresh drawing leave grids out of band in a connected part of at
most :data:`gridgen.partition.exact.EXACT_UNITS` units, the exhaustive search
(:mod:`gridgen.partition.exact`) either finds the part's division into grids in the band
(taken at the same cost limit as a fresh drawing) or proves there is none. Grids that
stay out of band are reported with the proof (a unit that no grid in the band can hold,
:mod:`gridgen.partition.band_sets`; or, ``unsplittable``, the one grid out of band of a part
no plan divides into grids in the band) or as not fixed. The summary reports the
households moved against a lower bound: households that must change grid for the old
grids to reach the band (:mod:`gridgen.partition.lower_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.distributed.executor import Executor
from gridgen.distributed.subsets import without_restricted
from gridgen.partition.assemble import Redrawn, assemble, detached_part_problems, finished
from gridgen.partition.audit import Audit, audit_layer
from gridgen.partition.codes import (
    CodeBook,
    prefixes,
    scheme_for,
    unit_codes,
)
from gridgen.partition.existing import GridLayer, building_grids, placed_layer
from gridgen.partition.least_change import least_change, proven_out
from gridgen.partition.lifecycle import dated_grids, layer_codes
from gridgen.partition.lower_bound import ZERO, community_bound
from gridgen.partition.moves import Moves
from gridgen.partition.plan import Plan, checked_band, households_by_building
from gridgen.partition.river_sides import settled_graph
from gridgen.partition.settle import PROVEN_KINDS, band_problems, mend_pieces, settle
from gridgen.partition.units import UnitGraph, build_units

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class RebalanceResult:
    """The new plan, the crosswalk per building and a summary.

    Attributes
    ----------
    plan
        The rebalanced plan.
    crosswalk
        ``building_id, community_id, households, old_grid, new_grid, moved`` per building.
    summary
        ``households_moved``, ``lower_bound`` (households that must change grid for the
        old grids to reach the band, :mod:`gridgen.partition.lower_bound`),
        ``buildings_moved``, ``households_filled``,
        ``grids_changed``, ``codes_kept``, ``codes_new``, ``codes_retired`` (counts),
        ``new_codes``, ``retired_codes`` (lists), ``communities_touched``,
        ``max_moved_reached``, ``audit_before``, ``audit_after`` (audit summaries).
    """

    plan: Plan
    crosswalk: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def dirty_communities(audit: Audit, dataset: Dataset) -> set[str]:
    """Return the communities where the audit found something to fix."""
    out: set[str] = set(audit.gaps["community_id"].astype(str))
    out |= set(audit.overlaps["community_id"].astype(str))
    out |= set(audit.split_compounds.loc[~audit.split_compounds["allowed"], "community_id"])
    t = audit.grids
    bad = t[(~t["in_band"]) | (t["parts"] != 1) | (~t["valid"]) | t["crosses_community"]]
    out |= set(bad["community_id"].astype(str))
    for text in t.loc[t["crosses_community"], "communities"]:
        out |= {c for c in str(text).split(",") if c}
    if audit.unassigned:
        bld = dataset.buildings
        sel = bld["building_id"].astype(str).isin(set(audit.unassigned))
        out |= set(bld.loc[sel, "community_id"].astype(str))
    return {c for c in out if c}


def heaviest_first(dirty: set[str], audit: Audit, dataset: Dataset) -> list[str]:
    """Return the ``dirty`` communities, those likely to take longest first: buildings
    times one more than the grids out of band (then by id).

    Workers that take the long communities first end together (make_city, the times of
    each community's rebalance on two workers: 2.53 s in id order, 2.38 s in this one,
    half their sum 2.38 s); the order changes no result.
    """
    bld = dataset.buildings["community_id"].astype(str).value_counts()
    t = audit.grids
    out = (~t["in_band"].astype(bool)).groupby(t["community_id"].astype(str)).sum()
    cost = {c: int(bld.get(c, 0)) * (1 + int(out.get(c, 0))) for c in dirty}
    return sorted(dirty, key=lambda c: (-cost[c], c))


def kept_households(
    units: UnitGraph, old_code: dict[str, str], b_hh: dict[str, float], local: list[str]
) -> NDArray[np.float64]:
    """Return ``(units, local grids)`` households of each unit that were in each grid."""
    index = {c: i for i, c in enumerate(local)}
    out = np.zeros((units.n, max(len(local), 1)))
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        g = index.get(old_code.get(str(b), ""), -1)
        if g >= 0:
            out[u, g] += b_hh.get(str(b), 0.0)
    return out


def initial_labels(
    units: UnitGraph,
    old_code: dict[str, str],
    b_hh: dict[str, float],
    local: list[str],
    local_geoms: NDArray[np.object_],
) -> IntArray:
    """Return per unit the local grid holding most of its households (-1: none).

    Units without households in a local grid take the grid covering most of their cell.
    """
    index = {c: i for i, c in enumerate(local)}
    k = len(local)
    weight = np.zeros((units.n, max(k, 1)))
    for b, u in zip(units.building_ids.tolist(), units.building_unit.tolist(), strict=True):
        g = index.get(old_code.get(str(b), ""), -1)
        if g >= 0:
            weight[u, g] += b_hh.get(str(b), 0.0) + 1e-3
    labels = np.where(weight.max(axis=1) > 0, weight.argmax(axis=1), -1).astype(np.int64)
    rest = np.flatnonzero(labels < 0)
    if len(rest) and k:
        cells = units.cells[rest]
        ui, gi = shapely.STRtree(local_geoms).query(cells, predicate="intersects")
        area = shapely.area(shapely.intersection(cells[ui], local_geoms[gi]))
        best = np.zeros(len(rest))
        for u, g, a in zip(ui.tolist(), gi.tolist(), area.tolist(), strict=True):
            if a > max(best[u], 1e-6):
                best[u], labels[rest[u]] = a, g
    return labels


def _mended(
    units: UnitGraph, labels: IntArray, settled: IntArray, *, band: tuple[int, int], stuck: IntArray
) -> IntArray:
    """Return ``labels`` with pieces cut off their grid's polygon mended
    (:func:`gridgen.partition.settle.mend_pieces`) when no grid out of band is then not
    excused by a stuck unit, else ``settled``."""
    lo, hi = band
    g = Moves.from_edges(units.households, units.edges, units.shared_length)
    out = mend_pieces(units, g, labels)
    size = np.bincount(out, weights=units.households)
    bad = (size < lo) | (size > hi)
    bad[out[stuck]] = False
    if bad.any():  # a grid out of band in place of a proven one keeps its proof
        bad[proven_out(units, out, stuck=stuck, band=band).grids] = False
    return settled if bad.any() else out


def redraw_community(
    dataset: Dataset,
    community_id: str,
    *,
    layer: GridLayer,
    old_code: dict[str, str],
    b_hh: dict[str, float],
    band: tuple[int, int],
    target: int,
    budget: float = math.inf,
    seed: int = 0,
    book: CodeBook | None = None,
) -> Redrawn:
    """Return one community rebalanced (module doc, steps 1-4)."""
    lo, hi = band
    units = build_units(dataset, community_id, band_max=hi)
    local_idx = np.flatnonzero(layer.community == community_id)
    local = [str(c) for c in layer.codes[local_idx]]
    old = initial_labels(units, old_code, b_hh, local, layer.geoms[local_idx])
    labels, stuck, moved = settle(units, old, target=target, band=band, budget=budget, seed=seed)
    bound = community_bound(units.households, old, lo=lo, hi=hi, stuck=stuck)
    if math.isinf(budget):
        kept = kept_households(units, old_code, b_hh, local)
        walk = settled_graph(units, labels, lo=lo, hi=hi)  # grids stay off rivers
        better = least_change(
            units.households,
            walk.edges,
            labels,
            kept,
            stuck=stuck,
            band=band,
            floor=bound.households,
            proven=lambda: proven_out(units, labels, stuck=stuck, band=band),
        )
        if better is not labels:
            labels = _mended(walk, better, labels, band=band, stuck=stuck)
    done = finished(dataset, units, labels, band=band)
    book = book or CodeBook(scheme_for(dataset.communities))
    codes = unit_codes(
        book.scheme,
        prefixes(dataset.communities, book.scheme)[community_id],
        units=units,
        labels=done.labels,
        geoms=done.metric,
        old_code=old_code,
        households=b_hh,
        old_grids=dict(zip(local, layer.geoms[local_idx], strict=True)),
        used={str(c) for c in layer.codes} | book.retired_in(community_id),
    )
    return Redrawn(
        community_id=community_id,
        units=units,
        old=old,
        labels=done.labels,
        codes=codes,
        problems=[
            *band_problems(units, done.labels, codes, stuck=stuck, lo=lo, hi=hi),
            *detached_part_problems(units, done, codes),
        ],
        moved=moved,
        shapes=done.wgs84,
        bound=bound,
    )


@dataclass(frozen=True, eq=False)
class _Input:
    """What every community's rebalance reads (an executor's payload)."""

    dataset: Dataset
    layer: GridLayer
    old_code: dict[str, str]
    b_hh: dict[str, float]


def _rebalanced(payload: _Input, community_id: str, **options: Any) -> Redrawn:
    """Return :func:`redraw_community` of one community (an executor's task)."""
    return redraw_community(
        payload.dataset,
        community_id,
        layer=payload.layer,
        old_code=payload.old_code,
        b_hh=payload.b_hh,
        **options,
    )


def _old_codes(
    dataset: Dataset, layer: GridLayer, assignment: pd.DataFrame | None
) -> dict[str, str]:
    """Return building → old code (from the assignment, else by footprint majority)."""
    if assignment is not None:
        a = assignment.astype({"building_id": str, "grid_id": str})
        return dict(zip(a["building_id"], a["grid_id"], strict=True))
    raw, _ = building_grids(dataset, layer)
    ids = dataset.buildings["building_id"].astype(str).to_numpy()
    has = raw >= 0
    return dict(zip(ids[has].tolist(), layer.codes[raw[has]].astype(str).tolist(), strict=True))


def rebalance(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    *,
    assignment: pd.DataFrame | None = None,
    target: int = 300,
    band: tuple[int, int] | None = None,
    max_moved: int | None = None,
    seed: int = 0,
    locked: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
    codes: CodeBook | None = None,
    on: date | None = None,
    cut_edges: int | None = None,
    executor: Executor | None = None,
    source: str = "grids",
) -> RebalanceResult:
    """Return existing grids rebalanced with as few households moved as found.

    Parameters
    ----------
    dataset
        A validated dataset.
    grids
        Grid polygons (WGS84) with ``grid_id`` (an imported layer or a plan's grids).
    assignment
        ``building_id → grid_id`` of the current plan (default: by footprint majority).
    target, band
        Households target and band.
    max_moved
        Most households the balancing moves may move (gaps, overlaps and split compounds
        are fixed regardless; no splits or merges are made under a budget).
    seed
        Seed of the from-scratch drawing of land no grid reaches.
    locked
        Grid codes to keep exactly: their communities are left as they are (listed in the
        summary as ``skipped_locked``).
    progress
        Called as ``progress(done, total)`` after each touched community.
    codes, on
        The code book of the plan (scheme, retired codes; default: the dataset's scheme,
        nothing retired) and the date new codes are valid from (default: today).
    cut_edges
        Cut edges of the plan before (its metrics), when known: the new plan's count is
        derived from it (the communities left as they were are not tessellated again);
        default: counted on every community.
    executor
        Where the touched communities are rebalanced (default: in this process; local
        processes or a Dask cluster as for :func:`gridgen.partition.community.
        partition_dataset`); the plan is the same on every executor. Under ``max_moved``
        the communities share one budget and run one after another in this process.
    source
        What ``grids`` are called in the error raised when they do not lie on the dataset
        (:func:`gridgen.partition.existing.check_grid_extent`; a file name, say).
    """
    lo, hi = checked_band(target, band)
    layer = placed_layer(dataset, grids, source=source)
    before = audit_layer(dataset, layer, band=(lo, hi))
    old_code = _old_codes(dataset, layer, assignment)
    by_id = households_by_building(dataset)
    b_hh = dict(zip(by_id.index.tolist(), by_id.tolist(), strict=True))
    dirty = dirty_communities(before, dataset)
    keep = set(map(str, locked))
    held = {str(c) for code, c in zip(layer.codes, layer.community, strict=True) if code in keep}
    skipped = sorted(dirty & held)
    dirty -= held
    budget = math.inf if max_moved is None else float(max_moved)
    book = codes or CodeBook(scheme_for(dataset.communities))
    options: dict[str, Any] = {"band": (lo, hi), "target": target, "seed": seed, "book": book}
    if math.isinf(budget):  # no shared budget: the communities are independent
        run_on = executor if executor is not None else Executor()
        if run_on.kind == "processes":  # each layer projected once, before the processes fork
            for name in dataset.layers:
                dataset.metric(name)
        shipped = without_restricted(dataset) if run_on.distributes else dataset
        payload = _Input(shipped, layer, old_code, b_hh)  # reaches each process once
        ids = heaviest_first(dirty, before, dataset)
        redrawn = run_on.map(_rebalanced, payload, ids, progress=progress, **options)
        redrawn.sort(key=lambda r: r.community_id)
    else:
        payload = _Input(dataset, layer, old_code, b_hh)
        redrawn, budget = _redrawn_in_turn(payload, sorted(dirty), budget, progress, options)
    plan, after = assemble(
        dataset, grids, layer, redrawn, dirty, old_code, target, (lo, hi), cut_before=cut_edges
    )
    prior = layer_codes(layer.codes, layer.community, grids)
    dated, book = dated_grids(plan.grids, before=prior, book=book, on=on or date.today())
    plan = replace(plan, grids=dated, codes=book)
    result = _result(
        dataset, plan, (before, after), old_code, redrawn, max_moved=max_moved, budget=budget
    )
    result.summary["skipped_locked"] = skipped
    return result


def _redrawn_in_turn(
    payload: _Input,
    ids: list[str],
    budget: float,
    progress: Callable[[int, int], None] | None,
    options: dict[str, Any],
) -> tuple[list[Redrawn], float]:
    """Return the communities rebalanced one after another on one shared ``budget`` of
    households, and what is left of it."""
    redrawn = []
    for cid in ids:
        r = _rebalanced(payload, cid, budget=budget, **options)
        budget -= r.moved
        redrawn.append(r)
        if progress is not None:
            progress(len(redrawn), len(ids))
    return redrawn, budget


def _result(
    dataset: Dataset,
    plan: Plan,
    audits: tuple[Audit, Audit],
    old_code: dict[str, str],
    redrawn: list[Redrawn],
    *,
    max_moved: int | None,
    budget: float,
) -> RebalanceResult:
    """Return the result with crosswalk and summary (``audits``: before and after)."""
    before, after = audits
    bld = dataset.buildings
    ids = bld["building_id"].astype(str).to_numpy()
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    new = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    old_g = np.asarray([old_code.get(b, "") for b in ids], dtype=object)
    new_g = np.asarray([new.get(b, "") for b in ids], dtype=object)
    moved = (old_g != "") & (old_g != new_g)
    filled = (old_g == "") & (new_g != "")
    crosswalk = pd.DataFrame(
        {
            "building_id": ids,
            "community_id": bld["community_id"].astype(str).to_numpy(),
            "households": hh,
            "old_grid": old_g.astype(str),
            "new_grid": new_g.astype(str),
            "moved": moved,
        }
    )
    old_codes = set(before.grids["grid_id"].astype(str))
    new_codes = set(plan.grids["grid_id"].astype(str))
    # a grid kept its buildings unless one of them left or joined it
    differ = old_g != new_g
    changed = (set(old_g[differ].tolist()) | set(new_g[differ].tolist())) & old_codes & new_codes
    summary: dict[str, Any] = {
        "households_moved": int(hh[moved].sum()),
        "lower_bound": sum((r.bound for r in redrawn), ZERO).households,
        "buildings_moved": int(moved.sum()),
        "households_filled": int(hh[filled].sum()),
        "grids_before": len(old_codes),
        "grids_after": len(new_codes),
        "grids_changed": len(changed) + len(new_codes - old_codes) + len(old_codes - new_codes),
        "codes_kept": len(old_codes & new_codes),
        "codes_new": len(new_codes - old_codes),
        "codes_retired": len(old_codes - new_codes),
        "new_codes": sorted(new_codes - old_codes),
        "retired_codes": sorted(old_codes - new_codes),
        "communities_touched": sorted(r.community_id for r in redrawn),
        "max_moved": max_moved,
        "max_moved_reached": bool(max_moved is not None and budget <= 0),
        "unfixable": [p.reason for p in plan.problems if p.kind in PROVEN_KINDS],
        "not_fixed": [p.reason for p in plan.problems if p.kind not in PROVEN_KINDS],
        "audit_before": dict(before.summary),
        "audit_after": dict(after.summary),
    }
    return RebalanceResult(plan=plan, crosswalk=crosswalk, summary=summary)
