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
import shapely
from numpy.typing import NDArray

from gridgen.dataset import Dataset
from gridgen.distributed.executor import Executor
from gridgen.distributed.subsets import partition_shards, without_restricted
from gridgen.errors import ParameterError
from gridgen.io.crs import WGS84
from gridgen.io.polygons import frame_valid_polygons, snapped_polygons
from gridgen.partition.cells import seed_spacing
from gridgen.partition.codes import (
    CodeBook,
    CodeScheme,
    new_codes,
    prefixes,
    scheme_for,
    standard_order,
)
from gridgen.partition.drawing import Drawing
from gridgen.partition.lifecycle import first_issue
from gridgen.partition.objective import RegionProblem
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
    detached_parts,
    detached_problems,
    unbalanceable_problems,
)
from gridgen.partition.regions import best_regions, components, cut_costs
from gridgen.partition.units import UnitGraph, build_units
from gridgen.rules import RuleKind

GRID_SMOOTHING = 0.5
"""Tolerance of :func:`smooth_grids`, in seed spacings of the tessellation."""

Progress = Callable[[int, int], None]


def community_rng(seed: int, community_id: str) -> np.random.Generator:
    """Return the generator of one community: a function of the seed and the id only."""
    return np.random.default_rng([int(seed), zlib.crc32(community_id.encode("utf-8"))])


def region_problem(units: UnitGraph) -> RegionProblem:
    """Return the graph data the region search needs for ``units``."""
    comp = np.asarray(units.compound_ids, dtype=object)
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    same = (comp[ea] == comp[eb]) & (comp[ea] != "")
    return RegionProblem(
        households=units.households,
        edges=units.edges,
        cut_cost=cut_costs(units.shared_length, units.road_length, same),
        xy=units.centroids() if units.n else np.empty((0, 2)),
        area=units.areas(),
    )


def draw_grids(
    units: UnitGraph, *, target: int, band: tuple[int, int], rng: np.random.Generator
) -> Drawing:
    """Return grids over ``units``: each connected part is split into balanced regions."""
    lo, hi = band
    prob = region_problem(units)
    comp = components(units.n, units.edges)
    labels = np.full(units.n, -1, dtype=np.int64)
    problems: list[Problem] = []
    notes: list[str] = []
    cid = units.community_id
    next_label = 0
    parts = sorted(set(comp.tolist()), key=lambda c: int(np.flatnonzero(comp == c)[0]))
    for c in parts:
        nodes = np.flatnonzero(comp == c)
        total = int(units.households[nodes].sum())
        if len(nodes) == 1 or total <= hi:
            sub = np.zeros(len(nodes), dtype=np.int64)
        else:
            sub = best_regions(_subproblem(prob, nodes), target=target, lo=lo, hi=hi, rng=rng)
        labels[nodes] = sub + next_label
        next_label += int(sub.max()) + 1
        if total == 0:
            problems.append(
                Problem(
                    RuleKind.NO_HOUSEHOLDS,
                    cid,
                    "the community has no households: it is one empty grid"
                    if len(parts) == 1
                    else "a part of the community without households that touches no "
                    "other part: it is a grid of its own",
                    grid_id="",
                )
            )
        elif total < lo:
            what = "community" if len(parts) == 1 else "separate part of the community"
            note = (
                f"{what} has {total} households, below the band minimum {lo}: it is one grid "
                "(join it with a neighbouring community or lower --band)"
            )
            notes.append(note)
            problems.append(Problem(RuleKind.BELOW_BAND, cid, note))
    big = np.flatnonzero(units.households > hi)
    for u in big:
        if units.kinds[u] in ("subunit", "building") or _single_building(units, int(u)):
            b_id = str(units.building_ids[units.building_unit == u][0])
            note = (
                f"building {b_id} has {int(units.households[u])} households, above the band "
                f"maximum {hi}: its grid cannot be in the band"
            )
            notes.append(note)
            problems.append(Problem(RuleKind.BUILDING_ABOVE_BAND, cid, note, building_id=b_id))
    geoms = grid_geometries(units.cells, labels)
    labels, geoms = _mend_split_grids(units, labels, geoms)
    geoms = smooth_grids(geoms, tolerance=GRID_SMOOTHING * seed_spacing(units.area))
    detached = detached_parts(units, labels, geoms)
    geoms, _ = snapped_polygons(geoms)
    return Drawing(units, labels, geoms, tuple(problems), "; ".join(notes), detached)


def smooth_grids(geoms: NDArray[np.object_], *, tolerance: float) -> NDArray[np.object_]:
    """Return the grids with their shared boundaries simplified as one coverage.

    The lines that split open land between compounds are Voronoi zigzags; simplifying the
    grids together (GEOS coverage simplification) keeps them gap- and overlap-free and the
    outer boundary (the community, or the edge of locked grids) untouched. Falls back to
    the input when any result would not be one valid polygon. On the generated city this
    raises mean Polsby-Popper by ~0.01 and moves no building or compound to another grid.
    """
    if len(geoms) < 2 or tolerance <= 0:
        return geoms
    try:
        out = shapely.coverage_simplify(geoms, tolerance, simplify_boundary=False)
    except shapely.errors.GEOSException:
        return geoms
    ok = shapely.is_valid(out) & (shapely.get_type_id(out) == 3)
    return np.asarray(out, dtype=object) if ok.all() else geoms


def _mend_split_grids(
    units: UnitGraph, labels: NDArray[np.int64], geoms: NDArray[np.object_], rounds: int = 3
) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Return labels and grids where units cut off from their grid's main piece moved over.

    A safety net: the unit graph keeps grids connected, but if a union still falls apart
    (cells meeting only at a point), the units of the smaller pieces join the neighbouring
    grid they share the longest boundary with.
    """
    labels = labels.copy()
    for _ in range(rounds):
        split = [g for g, geom in enumerate(geoms) if geom.geom_type != "Polygon"]
        if not split:
            break
        touched: set[int] = set()
        for g in split:
            parts = shapely.get_parts(geoms[g])
            main = parts[int(np.argmax(shapely.area(parts)))]
            members = np.flatnonzero(labels == g)
            pts = shapely.point_on_surface(units.cells[members])
            stray = members[~shapely.intersects(main, pts)]
            for u in stray.tolist():
                ea, eb = units.edges[:, 0], units.edges[:, 1]
                sel = (ea == u) | (eb == u)
                other = np.where(ea[sel] == u, eb[sel], ea[sel])
                lens = units.shared_length[sel]
                ok = labels[other] != g
                if not ok.any():
                    continue
                best = int(labels[other[ok][np.argmax(lens[ok])]])
                labels[u] = best
                touched.update({g, best})
        if not touched:
            break
        for g in sorted(touched):
            part = units.cells[labels == g]
            geoms[g] = shapely.union_all(part) if len(part) else shapely.Polygon()
    keep = np.asarray([not shapely.is_empty(x) for x in geoms])
    if not keep.all():
        remap = np.cumsum(keep) - 1
        labels = remap[labels].astype(np.int64)
        geoms = geoms[keep]
    return labels, geoms


def _single_building(units: UnitGraph, u: int) -> bool:
    return int(np.sum(units.building_unit == u)) == 1


def _subproblem(prob: RegionProblem, nodes: NDArray[np.int64]) -> RegionProblem:
    local = np.full(prob.n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    ea, eb = local[prob.edges[:, 0]], local[prob.edges[:, 1]]
    keep = (ea >= 0) & (eb >= 0)
    return RegionProblem(
        households=prob.households[nodes],
        edges=np.column_stack([ea[keep], eb[keep]]).astype(np.int64),
        cut_cost=prob.cut_cost[keep],
        xy=prob.xy[nodes],
        area=prob.area[nodes],
    )


def grid_geometries(cells: NDArray[np.object_], labels: NDArray[np.int64]) -> NDArray[np.object_]:
    """Return the union of the cells of each label (index = label; an empty polygon for a
    label no cell has, as when mending moved every unit of a grid away)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.empty(k, dtype=object)
    for g in range(k):
        part = cells[labels == g]
        out[g] = shapely.union_all(part) if len(part) != 1 else part[0]
    return out


def drawing_frames(
    drawing: Drawing, *, ids: list[str], order: NDArray[np.int64]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return (grids in the metric CRS, assignment) for a drawing with ids given in ``order``.

    Grids stay in the metric CRS until the plan is finished (:func:`finish_plan` converts
    them to EPSG:4326 once, and makes them valid after that conversion).
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
        geometry=gpd.GeoSeries(drawing.geoms, crs=units.crs),
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
    """Return the unit-graph edges between different grids of the drawing."""
    e = drawing.units.edges
    return int(np.sum(drawing.labels[e[:, 0]] != drawing.labels[e[:, 1]]))


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
    drawing = draw_grids(units, target=target, band=(lo, hi), rng=community_rng(seed, community_id))
    scheme = scheme or scheme_for(dataset.communities)
    order = standard_order(drawing.geoms, units.area)
    prefix = prefixes(dataset.communities, scheme)[community_id]
    ids = new_codes(scheme, prefix, len(order), whole=len(order) == 1)
    grids, assignment = drawing_frames(drawing, ids=ids, order=order)
    stuck = unbalanceable_problems(drawing, ids=ids, order=order, band=(lo, hi))
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
) -> Plan:
    """Return a :class:`Plan` with grid metric columns, metrics and geometry problems.

    ``grids`` may be in any CRS (the metric one saves two conversions); the plan's grids
    are converted to EPSG:4326 once, at the end, and are one valid Polygon each after it.
    """
    from gridgen.partition.plan import grid_table

    table = grid_table(dataset, grids, assignment, target=target, band=band)
    metrics = plan_metrics(
        dataset,
        table,
        assignment,
        target=target,
        band=band,
        cut_edges=cut_edges,
        infeasible=infeasible,
        measured=True,
    )
    found = list(problems)
    for row in table.itertuples(index=False):
        geom = row.geometry
        if geom is None or geom.geom_type != "Polygon":
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
                    f"{band[0]}-{band[1]}: the units around it (whole compounds) cannot be "
                    "combined into grids inside the band",
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
