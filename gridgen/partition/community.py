"""Grid partitioning (网格划分): balanced, contiguous, compact grids that tile each community.

The work is a map over communities: :func:`partition_community` is a pure function of
(dataset, community_id, options), so the same call can run in process or on a Dask
cluster, and :func:`gridgen.partition.plan.merge_plans` joins the per-community plans.

Per community: :func:`gridgen.partition.units.build_units` makes the planning units and their cells
(compounds whole, compounds above the band maximum split by buildings, scattered
buildings), :func:`gridgen.partition.regions.best_regions` groups the units of each connected part
into regions, and each grid is the union of its units' cells.

Grid codes come from :mod:`gridgen.partition.codes` (the scheme's prefix and a sequence
numbered west to east, north to south); :func:`partition_dataset` dates the plan.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.distributed.executor import Executor
from gridgen.distributed.subsets import partition_shards, without_restricted
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.io.polygons import frame_valid_polygons
from gridgen.partition.codes import (
    CodeBook,
    CodeScheme,
    new_codes,
    prefixes,
    scheme_for,
    standard_order,
)
from gridgen.partition.drawing import Drawing
from gridgen.partition.finish import finish_grids
from gridgen.partition.ground import ground_cut_costs
from gridgen.partition.lifecycle import first_issue
from gridgen.partition.objective import RegionProblem, subproblem
from gridgen.partition.plan import (
    DEFAULT_BAND,
    DEFAULT_TARGET,
    Plan,
    Problem,
    checked_band,
    merge_plans,
    plan_metrics,
)
from gridgen.partition.proofs import (
    detached_problems,
    fewest_out_problems,
    unbalanceable_problems,
    unbalanceable_units,
    unsplittable_problems,
    unsplittable_reason,
)
from gridgen.partition.regions import fits_band
from gridgen.partition.road_snap import (
    inner_road_pieces,
    piece_groups,
    road_following,
    road_pieces,
    snapped_to_roads,
)
from gridgen.partition.search import (
    BARRIER_PROOFS,
    COUNT_PROOF,
    part_regions,
    searched_parts,
)
from gridgen.partition.units import UnitGraph, build_units
from gridgen.rules import RuleKind

Progress = Callable[[int, int], None]


def community_rng(seed: int, community_id: str) -> np.random.Generator:
    """Return the generator of one community: a function of the seed and the id only."""
    return np.random.default_rng([int(seed), zlib.crc32(community_id.encode("utf-8"))])


def region_problem(units: UnitGraph) -> RegionProblem:
    """Return the graph data the region search needs for ``units``."""
    comp = np.asarray(units.compound_ids, dtype=object)
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    same = (comp[ea] == comp[eb]) & (comp[ea] != "")
    piece = piece_groups(units.n, inner_road_pieces(units))
    return RegionProblem(
        households=units.households,
        edges=units.edges,
        cut_cost=ground_cut_costs(units.edge_kinds, same, same_piece=piece[ea] == piece[eb]),
        xy=units.centroids() if units.n else np.empty((0, 2)),
        area=units.areas(),
    )


def draw_grids(
    dataset: Dataset,
    units: UnitGraph,
    *,
    target: int,
    band: tuple[int, int],
    rng: np.random.Generator,
) -> Drawing:
    """Return grids over ``units``: each connected part is split into balanced regions.

    The labels go through the one finishing step (:func:`gridgen.partition.finish.
    finish_grids`): pieces too small for a grid join the nearest one, every building lies
    inside its grid, and the grids are valid in every output CRS.
    """
    lo, hi = band
    prob = region_problem(units)
    comp = searched_parts(units, lo=lo, hi=hi)
    stuck = unbalanceable_units(units, lo=lo, hi=hi)
    forced = units.households > hi
    forced[stuck] = True
    labels = np.full(units.n, -1, dtype=np.int64)
    pieces = road_pieces(units)
    next_label = 0
    proofs: list[tuple[NDArray[np.int64], str]] = []
    parts = sorted(set(comp.tolist()), key=lambda c: int(np.flatnonzero(comp == c)[0]))
    for c in parts:
        nodes = np.flatnonzero(comp == c)
        total = int(units.households[nodes].sum())
        if len(nodes) == 1 or total <= hi:
            sub = np.zeros(len(nodes), dtype=np.int64)
            proof = COUNT_PROOF if total >= lo and not fits_band(total, lo=lo, hi=hi) else ""
        else:
            part = subproblem(prob, nodes)
            sub, proof = part_regions(part, target=target, band=band, rng=rng, forced=forced[nodes])
            if not proof:
                sub = road_following(
                    part,
                    sub,
                    _local(pieces, nodes, units.n),
                    target=target,
                    band=band,
                    rng=rng,
                    forced=forced[nodes],
                )
        if proof in BARRIER_PROOFS and _has_edge_out(units, nodes):
            proof = BARRIER_PROOFS[proof]  # a river or railway bounds it: grids stay off it
        if proof:
            proofs.append((nodes, proof))
        labels[nodes] = sub + next_label
        next_label += int(sub.max()) + 1
    labels = snapped_to_roads(units, prob, labels, band=band)
    done = finish_grids(dataset, units, labels, band=band)
    problems, notes = _part_problems(units, comp, done.labels, lo=lo, hi=hi, proofs=proofs)
    return Drawing(
        units,
        done.labels,
        done.metric,
        tuple(problems),
        "; ".join(notes),
        stuck,
        done.detached,
        done.wgs84,
        tuple(proofs),
    )


def _has_edge_out(units: UnitGraph, nodes: NDArray[np.int64]) -> bool:
    """Return whether a unit graph edge leaves the part ``nodes`` (a part of
    :func:`gridgen.partition.search.searched_parts` is cut off by a river or railway then)."""
    inside = np.zeros(units.n, dtype=bool)
    inside[nodes] = True
    return bool(np.any(inside[units.edges[:, 0]] != inside[units.edges[:, 1]]))


def _part_problems(
    units: UnitGraph,
    comp: NDArray[np.int64],
    labels: NDArray[np.int64],
    *,
    lo: int,
    hi: int,
    proofs: list[tuple[NDArray[np.int64], str]],
) -> tuple[list[Problem], list[str]]:
    """Return the problems (and notes) of parts that stayed grids of their own and of
    buildings above the band maximum, and the notes of parts proven unsplittable
    (``proofs``: units and proof of each; their problems name the grid once ids are given,
    :func:`gridgen.partition.proofs.unsplittable_problems`)."""
    cid = units.community_id
    problems: list[Problem] = []
    notes: list[str] = []
    n_parts = len(np.unique(comp))
    for c in np.unique(comp).tolist():
        nodes = comp == c
        total = int(units.households[nodes].sum())
        if total >= lo or np.isin(labels[~nodes], labels[nodes]).any():
            continue  # in the band, or joined to a grid of another part (detached_part)
        if total == 0:
            note = (
                "the community has no households: it is one empty grid"
                if int(units.households.sum()) == 0
                else "a piece of the community without households, cut off from the rest, is "
                "an empty grid of its own"
            )
            problems.append(Problem(RuleKind.NO_HOUSEHOLDS, cid, note, grid_id=""))
            continue
        what = "community" if n_parts == 1 else "separate part of the community"
        note = (
            f"{what} has {total} households, below the band minimum {lo}: it is one grid "
            "(join it with a neighbouring community or lower --band)"
        )
        notes.append(note)
        problems.append(Problem(RuleKind.BELOW_BAND, cid, note))
    for nodes, proof in proofs:  # the problems: proofs.unsplittable_problems (grid named)
        total = int(units.households[nodes].sum())
        notes.append(unsplittable_reason(total, len(nodes), proof, lo=lo, hi=hi))
    for u in np.flatnonzero(units.households > hi).tolist():
        if units.kinds[u] in ("subunit", "building") or _single_building(units, int(u)):
            b_id = str(units.building_ids[units.building_unit == u][0])
            note = (
                f"building {b_id} has {int(units.households[u])} households, above the band "
                f"maximum {hi}: its grid cannot be in the band"
            )
            notes.append(note)
            problems.append(Problem(RuleKind.BUILDING_ABOVE_BAND, cid, note, building_id=b_id))
    return problems, notes


def _local(
    pieces: list[NDArray[np.int64]], nodes: NDArray[np.int64], n: int
) -> list[NDArray[np.int64]]:
    """Return the pieces lying in ``nodes``, indexed by position in ``nodes``."""
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    return [local[p] for p in pieces if (local[p] >= 0).all()]


def _single_building(units: UnitGraph, u: int) -> bool:
    return int(np.sum(units.building_unit == u)) == 1


def drawing_frames(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return (grids in EPSG:4326, assignment) for a drawing with ids given in ``order``.

    The grids are the drawing's finished ones (valid in every output CRS).
    """
    units = drawing.units
    id_of_label = np.empty(len(drawing.geoms), dtype=object)
    id_of_label[order] = ids
    grids = gpd.GeoDataFrame(
        {
            "grid_id": list(id_of_label),
            "community_id": [units.community_id] * len(id_of_label),
            "party_org": [False] * len(id_of_label),
            "workers": [1] * len(id_of_label),
        },
        geometry=gpd.GeoSeries(drawing.wgs84, crs=WGS84),
    )
    grids = grids.sort_values("grid_id", kind="stable").reset_index(drop=True)
    unit_grid = id_of_label[drawing.labels] if len(drawing.labels) else np.empty(0, dtype=object)
    assignment = pd.DataFrame(
        {
            "building_id": units.building_ids.astype(str),
            "grid_id": unit_grid[units.building_unit].astype(str)
            if len(units.building_unit)
            else np.empty(0, dtype=str),
        }
    )
    return grids, assignment


def cut_edge_total(drawing: Drawing) -> int:
    """Return the unit-graph edges between different grids of the drawing.

    Only edges between units holding buildings count (land without buildings has no
    assignment, so :func:`gridgen.partition.plan.cut_edge_count` cannot place it).
    """
    units = drawing.units
    e = units.edges
    built = np.bincount(units.building_unit, minlength=units.n) > 0
    both = built[e[:, 0]] & built[e[:, 1]]
    return int(np.sum(both & (drawing.labels[e[:, 0]] != drawing.labels[e[:, 1]])))


def partition_community(
    dataset: Dataset,
    community_id: str,
    *,
    target: int = DEFAULT_TARGET,
    band: tuple[int, int] = DEFAULT_BAND,
    seed: int = 0,
    scheme: CodeScheme | None = None,
) -> Plan:
    """Return the grid plan of one community.

    Parameters
    ----------
    dataset
        A validated dataset.
    community_id
        The community to partition.
    target
        Target households per grid.
    band
        ``(min, max)`` households per grid, already checked against ``target`` by the
        entry point (:func:`gridgen.partition.plan.default_band`, as
        :func:`partition_dataset` does); the default is the band of the default target.
    seed
        Random seed; the plan is a function of (dataset, community_id, options).
    scheme
        Code scheme (default: :func:`gridgen.partition.codes.scheme_for` the dataset).

    Returns
    -------
    Plan
        Grids tiling the community, the building assignment, metrics and problems.
    """
    lo, hi = band
    units = build_units(dataset, community_id, band_max=hi)
    rng = community_rng(seed, community_id)
    drawing = draw_grids(dataset, units, target=target, band=(lo, hi), rng=rng)
    scheme = scheme or scheme_for(dataset.communities)
    order = standard_order(drawing.geoms, units.area)
    prefix = prefixes(dataset.communities, scheme)[community_id]
    ids = new_codes(scheme, prefix, len(order), whole=len(order) == 1)
    grids, assignment = drawing_frames(drawing, ids=ids, order=order)
    id_of_label = np.empty(len(drawing.geoms), dtype=object)
    id_of_label[order] = ids
    by_row = np.argsort(id_of_label.astype(str), kind="stable")  # the rows' order (grid_id)
    same = np.array_equal(grids["grid_id"].astype(str).to_numpy(), id_of_label[by_row].astype(str))
    stuck = unbalanceable_problems(drawing, ids=ids, order=order, band=(lo, hi))
    stuck += unsplittable_problems(drawing, ids=ids, order=order, band=(lo, hi))
    named = {p.grid_id for p in stuck}
    stuck += fewest_out_problems(drawing, ids=ids, order=order, band=(lo, hi), named=named)
    detached = detached_problems(drawing, ids=ids, order=order)
    plan = finish_plan(
        dataset,
        grids,
        assignment,
        target=target,
        band=(lo, hi),
        seed=seed,
        problems=[*drawing.problems, *stuck, *detached],
        cut_edges=cut_edge_total(drawing),
        infeasible={community_id: drawing.infeasible} if drawing.infeasible else {},
        metric=drawing.geoms[by_row] if same else None,
    )
    return replace(plan, codes=CodeBook(scheme))


def finish_plan(
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    target: int,
    band: tuple[int, int],
    seed: int,
    problems: Iterable[Problem],
    cut_edges: int | None,
    infeasible: dict[str, str],
    metric: NDArray[np.object_] | None = None,
) -> Plan:
    """Return a :class:`Plan` with grid metric columns, metrics and geometry problems.

    ``grids`` are finished grids (:mod:`gridgen.partition.finish`) in any CRS; a grid in
    several parts is reported unless its parts are separate pieces of the community
    (reported as ``detached_part``). ``metric``: the grids in the metric CRS (row order),
    when the caller has them.
    """
    from gridgen.partition.plan import grid_table

    table = grid_table(dataset, grids, assignment, target=target, band=band, metric=metric)
    metrics = plan_metrics(
        dataset,
        table,
        assignment,
        target=target,
        band=band,
        cut_edges=cut_edges,
        infeasible=infeasible,
        measured=True,
        metric=metric,
    )
    found = list(problems)
    apart = {p.grid_id for p in found if p.kind == RuleKind.DETACHED_PART}
    for row in table.itertuples(index=False):
        geom = row.geometry
        if geom is None or (geom.geom_type != "Polygon" and row.grid_id not in apart):
            found.append(
                Problem(
                    RuleKind.MULTIPART,
                    str(row.community_id),
                    f"grid {row.grid_id} is not one polygon",
                    grid_id=str(row.grid_id),
                )
            )
        elif not row.in_band and not any(p.grid_id == row.grid_id for p in found):
            below = row.households < band[0]
            side = "below" if below else "above"
            found.append(
                Problem(
                    RuleKind.BELOW_BAND if below else RuleKind.ABOVE_BAND,
                    str(row.community_id),
                    f"grid {row.grid_id} has {row.households} households, {side} the band "
                    f"{band[0]}-{band[1]}: the search found no division of the units around "
                    "it (whole compounds) with every grid in the band, but did not prove that "
                    "none exists; move a compound in the editor or widen --band",
                    grid_id=str(row.grid_id),
                )
            )
    return Plan(
        grids=wgs84_grids(table),
        assignment=assignment.sort_values("building_id", kind="stable").reset_index(drop=True),
        metrics=metrics,
        problems=tuple(found),
        target=int(target),
        band=(int(band[0]), int(band[1])),
        seed=int(seed),
    )


def wgs84_grids(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``grids`` in EPSG:4326, one valid Polygon each after the conversion."""
    return frame_valid_polygons(grids.to_crs(WGS84))


SHIP_MODES: tuple[str, ...] = ("dataset", "street")
"""How a Dask executor receives the input: whole on every worker, or one street per worker."""


def partition_dataset(
    dataset: Dataset,
    *,
    target: int = DEFAULT_TARGET,
    band: tuple[int, int] | None = None,
    seed: int = 0,
    communities: Iterable[str] | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    ship: str = "street",
    scheme: CodeScheme | None = None,
    on: date | None = None,
) -> Plan:
    """Return the grid plan of every community (or of ``communities``), merged.

    Each community is partitioned by :func:`partition_community` on ``executor`` (default:
    in this process; or a local process pool, or a Dask cluster); the plan is the same
    on every executor. ``progress(done, total)`` is called after each community.

    ``ship`` only matters on a Dask cluster: ``"street"`` (default) sends each street's
    subset (its communities' buildings, compounds and roads,
    :func:`gridgen.distributed.subsets.partition_shards`) to one worker, so the network
    carries the dataset about once in all (bench/RESULTS.md); ``"dataset"`` sends the
    whole dataset to every worker. Restricted columns never leave this process.

    ``band`` is checked here, once (target ±20% when None), unless it is a
    :class:`gridgen.partition.plan.Band` an entry point (CLI command, API route) already
    checked; the communities get the checked band as is.
    """
    if ship not in SHIP_MODES:
        msg = f"unknown ship {ship!r}: choose one of {', '.join(SHIP_MODES)}"
        raise ParameterError(msg)
    lo_hi = checked_band(target, band)
    scheme = scheme or scheme_for(dataset.communities)
    ids = (
        sorted(dataset.communities["community_id"].astype(str))
        if communities is None
        else [str(c) for c in communities]
    )
    run_on = executor if executor is not None else Executor()
    payload: object = dataset
    if run_on.distributes:
        shipped = without_restricted(dataset)
        payload = partition_shards(shipped, ids) if ship == "street" else shipped
    plans = run_on.map(
        partition_community,
        payload,
        ids,
        progress=progress,
        target=target,
        band=lo_hi,
        seed=seed,
        scheme=scheme,
    )
    plan = merge_plans(plans, target=target, band=lo_hi, seed=seed)
    return first_issue(plan, on=on or date.today(), scheme=scheme)
