"""Minimal-change rebalance of existing grids (调整优化网格设置).

Only communities where the audit found something (a gap, an overlap, a grid crossing its
boundary, a split compound, a grid out of band, in several parts or invalid, a building in
no grid) are touched; the others come back exactly as they were. In a touched community:

1. the community's planning units (:mod:`gridgen.partition.units`) take the grid holding
   the majority of their households (whole compounds: split compounds are reunited), units
   without households the grid covering most of their cell;
2. pieces of a grid cut off from its main piece, and units in no grid (gaps, land of grids
   attributed to another community) join a neighbouring grid (:func:`moves.fill`); land
   no grid reaches becomes new grids;
3. grids out of band are fixed by ejection chains of boundary moves (:func:`moves.balance`);
   only where moves cannot, an overfull grid is split or an underfull one dissolved into
   its neighbours (kept only when that leaves fewer grids out of band);
4. a grid keeps its code when it keeps the majority of its households; other grids take
   codes never used in the community; codes no grid keeps are retired
   (:mod:`gridgen.partition.codes`);
5. the community's grids are rebuilt from the unit cells.

Grids that stay out of band are reported with the proof (a unit that no in-band grid can
hold) or as not fixed.
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
from gridgen.io.crs import WGS84
from gridgen.partition.audit import Audit, audit_layer
from gridgen.partition.codes import (
    CodeBook,
    prefixes,
    scheme_for,
    unit_codes,
)
from gridgen.partition.existing import GridLayer, building_grids, grid_layer
from gridgen.partition.finish import FinishedGrids, finish_grids
from gridgen.partition.lifecycle import dated_grids, layer_codes
from gridgen.partition.plan import Plan, Problem, checked_band, grid_table, plan_metrics
from gridgen.partition.settle import band_problems, settle
from gridgen.partition.units import UnitGraph, build_units
from gridgen.partition.valid_everywhere import to_wgs84
from gridgen.rules import RuleKind

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Redrawn:
    """One touched community after the rebalance (metric CRS)."""

    community_id: str
    units: UnitGraph
    old: IntArray
    labels: IntArray
    codes: list[str]
    problems: list[Problem]
    moved: int
    shapes: NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, dtype=object))
    """The finished grids in EPSG:4326 (index = label; :mod:`gridgen.partition.finish`)."""


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
        ``households_moved``, ``buildings_moved``, ``households_filled``,
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
    )


def finished(
    dataset: Dataset, units: UnitGraph, labels: IntArray, *, band: tuple[int, int]
) -> FinishedGrids:
    """Return the finished grids of a settled labelling (the one finishing path)."""
    return finish_grids(dataset, units, labels, band=band)


def detached_part_problems(
    units: UnitGraph, done: FinishedGrids, codes: list[str]
) -> list[Problem]:
    """Return a ``detached_part`` problem for every separate community piece a grid holds."""
    return [
        Problem(
            RuleKind.DETACHED_PART,
            units.community_id,
            f"a separate piece of community {units.community_id} ({d.area_m2:.0f} m²) is too "
            f"small for a grid of its own: it belongs to grid {codes[d.label]}, the nearest, "
            "which is therefore in several parts",
            grid_id=codes[d.label],
        )
        for d in done.detached
    ]


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


def _extra_columns(grids: gpd.GeoDataFrame, codes: list[str]) -> dict[str, list[Any]]:
    """Return party_org / workers of kept codes (defaults for new grids)."""
    out: dict[str, list[Any]] = {}
    for col, default in (("party_org", False), ("workers", 1)):
        if col in grids.columns:
            by = dict(zip(grids["grid_id"].astype(str), grids[col], strict=False))
            out[col] = [by.get(c, default) for c in codes]
        else:
            out[col] = [default] * len(codes)
    return out


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
    """
    lo, hi = checked_band(target, band)
    layer = grid_layer(dataset, grids)
    before = audit_layer(dataset, layer, band=(lo, hi))
    old_code = _old_codes(dataset, layer, assignment)
    bld = dataset.buildings
    b_ids = bld["building_id"].astype(str).to_numpy()
    b_hh_arr = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(dtype=float)
    b_hh = dict(zip(b_ids.tolist(), b_hh_arr.tolist(), strict=True))
    dirty = dirty_communities(before, dataset)
    keep = set(map(str, locked))
    held = {str(c) for code, c in zip(layer.codes, layer.community, strict=True) if code in keep}
    skipped = sorted(dirty & held)
    dirty -= held
    budget = math.inf if max_moved is None else float(max_moved)
    book = codes or CodeBook(scheme_for(dataset.communities))
    redrawn: list[Redrawn] = []
    for cid in sorted(dirty):
        r = redraw_community(
            dataset,
            cid,
            layer=layer,
            old_code=old_code,
            b_hh=b_hh,
            band=(lo, hi),
            target=target,
            budget=budget,
            seed=seed,
            book=book,
        )
        budget -= r.moved
        redrawn.append(r)
        if progress is not None:
            progress(len(redrawn), len(dirty))
    plan, _ = assemble(dataset, grids, layer, redrawn, dirty, old_code, target, (lo, hi))
    prior = layer_codes(layer.codes, layer.community, grids)
    dated, book = dated_grids(plan.grids, before=prior, book=book, on=on or date.today())
    plan = replace(plan, grids=dated, codes=book)
    result = _result(dataset, plan, before, old_code, redrawn, max_moved=max_moved, budget=budget)
    result.summary["skipped_locked"] = skipped
    return result


def assemble(  # noqa: PLR0917
    dataset: Dataset,
    grids: gpd.GeoDataFrame,
    layer: GridLayer,
    redrawn: list[Redrawn],
    dirty: set[str],
    old_code: dict[str, str],
    target: int,
    band: tuple[int, int],
) -> tuple[Plan, int]:
    """Return the plan joining untouched grids and the redrawn communities, and cut edges."""
    from gridgen.partition.plan import cut_edge_count

    keep = np.asarray([c not in dirty and c != "" for c in layer.community], dtype=bool)
    codes = [str(c) for c in layer.codes[keep]]
    comms = [str(c) for c in layer.community[keep]]
    geoms = list(to_wgs84(layer.geoms[keep], dataset.metric_crs))
    kept_codes = set(codes)
    bld = dataset.buildings
    comm_of = bld["community_id"].astype(str).to_numpy()
    clean_a = [
        (b, old_code[b])
        for b, c in zip(bld["building_id"].astype(str).tolist(), comm_of.tolist(), strict=True)
        if c not in dirty and old_code.get(b) in kept_codes
    ]
    rows: list[tuple[str, str]] = list(clean_a)
    cut = 0
    for r in redrawn:
        if r.units.n == 0:
            continue
        codes.extend(r.codes)
        comms.extend([r.community_id] * len(r.codes))
        geoms.extend(list(r.shapes))
        unit_code = np.asarray(r.codes, dtype=object)[r.labels]
        rows.extend(
            zip(
                [str(b) for b in r.units.building_ids],
                unit_code[r.units.building_unit].tolist(),
                strict=True,
            )
        )
        e = r.units.edges
        cut += int(np.sum(r.labels[e[:, 0]] != r.labels[e[:, 1]]))
    assignment = pd.DataFrame(rows, columns=["building_id", "grid_id"]).astype(str)
    clean_frame = pd.DataFrame(clean_a, columns=["building_id", "grid_id"]).astype(str)
    if len(clean_frame):
        cut += cut_edge_count(dataset, clean_frame, band_max=band[1])
    frame = gpd.GeoDataFrame(
        {"grid_id": codes, "community_id": comms, **_extra_columns(grids, codes)},
        geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=WGS84),
    )
    # untouched grids keep their geometry exactly as given (no round trip through metres)
    given = grids.assign(grid_id=grids["grid_id"].astype(str)).drop_duplicates(
        "grid_id", keep=False
    )
    given_geom = dict(zip(given["grid_id"], given.geometry, strict=True))
    n_clean = int(keep.sum())
    frame.iloc[:n_clean, frame.columns.get_loc("geometry")] = [
        given_geom.get(c, g) for c, g in zip(codes[:n_clean], frame.geometry[:n_clean], strict=True)
    ]
    bad = ~frame.geometry.is_valid  # only untouched grids as given can be invalid
    if bad.any():
        frame.loc[bad, "geometry"] = [valid_polygon(x) for x in frame.geometry[bad]]
    table = grid_table(dataset, frame, assignment, target=target, band=band)
    table = table.sort_values("grid_id", kind="stable").reset_index(drop=True)
    metrics = plan_metrics(
        dataset, table, assignment, target=target, band=band, cut_edges=cut, measured=True
    )
    plan = Plan(
        grids=table,
        assignment=assignment.sort_values("building_id", kind="stable").reset_index(drop=True),
        metrics=metrics,
        problems=tuple(p for r in redrawn for p in r.problems),
        target=int(target),
        band=band,
        seed=0,
    )
    return plan, cut


def valid_polygon(geom: Any) -> Any:
    """Return ``geom`` made valid, without the zero-area slivers make_valid can leave."""
    fixed = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    total = sum(p.area for p in parts)
    keep = [p for p in parts if p.area > 1e-9 * total]
    return shapely.union_all(keep) if keep else fixed


def _result(
    dataset: Dataset,
    plan: Plan,
    before: Audit,
    old_code: dict[str, str],
    redrawn: list[Redrawn],
    *,
    max_moved: int | None,
    budget: float,
) -> RebalanceResult:
    """Return the result with crosswalk and summary."""
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
    members_old = crosswalk[crosswalk["old_grid"] != ""].groupby("old_grid")["building_id"]
    members_new = crosswalk[crosswalk["new_grid"] != ""].groupby("new_grid")["building_id"]
    sets_old = {k: frozenset(v) for k, v in members_old}
    sets_new = {k: frozenset(v) for k, v in members_new}
    changed = {
        c
        for c in old_codes & new_codes
        if sets_old.get(c, frozenset()) != sets_new.get(c, frozenset())
    }
    after = audit_layer(dataset, grid_layer(dataset, plan.grids), band=plan.band)
    summary: dict[str, Any] = {
        "households_moved": int(hh[moved].sum()),
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
        "unfixable": [p.reason for p in plan.problems if p.kind == RuleKind.UNBALANCEABLE],
        "not_fixed": [p.reason for p in plan.problems if p.kind != RuleKind.UNBALANCEABLE],
        "audit_before": dict(before.summary),
        "audit_after": dict(after.summary),
    }
    return RebalanceResult(plan=plan, crosswalk=crosswalk, summary=summary)
