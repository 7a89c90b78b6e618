"""多网合一: merge several departments' grid layers into one plan that follows every rule.

Per community:

1. every input layer labels the planning units (majority of households, else of area); a
   compound above the band maximum is split into its buildings' units, as partition does
   (大小区单独建), so no input cell can keep it whole;
2. units that share a grid in *every* layer (and touch) form a piece: the common
   refinement of the inputs, whose edges are boundaries present in some input; units touch
   only on one side of a river or railway (:func:`gridgen.partition.river_sides.walkable`,
   as partition keeps grids off them), so an input grid reaching across one is cut there;
3. pieces below the band minimum are joined to the neighbouring piece they share a grid
   with in the most layers (then the one that leaves the pair closest to the target),
   never above the band maximum; so compounds grouped together in every input stay
   together, and new boundaries are only drawn where some input has one;
4. what is still out of band is fixed as in :mod:`gridgen.partition.rebalance` (boundary
   moves, splits, dissolves, local redraws, :mod:`gridgen.partition.settle`; a fresh
   drawing of the community whenever it leaves fewer grids out of band), and the grids are
   drawn by the one finishing step (:mod:`gridgen.partition.finish`): valid in every
   output CRS, in several parts only where the community is.

Codes: a grid keeps the code of the first layer's grid whose majority of households it
holds; others take codes never used in the community (:mod:`gridgen.partition.codes`).
With ``recode`` every grid takes a new code of the city's scheme, numbered in the
standard's order, and the department codes are retired (:mod:`gridgen.partition.merge_codes`).
The crosswalk gives, for every grid of every input layer, the new grids it overlaps and the
share of its households in each (of its land, for a grid that holds no building; a grid on
no merged grid is listed with none), so no department code vanishes without a trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgen.dataset import Dataset
from gridgen.partition.assemble import Redrawn, assemble, detached_part_problems, finished
from gridgen.partition.codes import (
    CodeScheme,
    prefixes,
    scheme_for,
    unit_codes,
)
from gridgen.partition.existing import GridLayer, building_grids, placed_layer
from gridgen.partition.merge_codes import dated_merge, recoded, require_room
from gridgen.partition.moves import Moves, pieces
from gridgen.partition.plan import Plan, checked_band, households_by_building
from gridgen.partition.rebalance import IntArray, initial_labels
from gridgen.partition.river_sides import walkable
from gridgen.partition.settle import PROVEN_KINDS, band_problems, settle
from gridgen.partition.units import UnitGraph, build_units


@dataclass(frozen=True, eq=False)
class MergeResult:
    """The merged plan, the crosswalk to every input layer and a summary.

    ``crosswalk`` has ``layer, input_grid, new_grid, households, share, by``: every grid of
    every input layer, with the share of its households in each new grid (of its land for a
    grid without buildings, ``by`` says which); the shares add up to 1 per input grid
    (:func:`merge_crosswalk`).
    """

    plan: Plan
    crosswalk: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _codes_of(dataset: Dataset, layer: GridLayer) -> dict[str, str]:
    raw, _ = building_grids(dataset, layer)
    ids = dataset.buildings["building_id"].astype(str).to_numpy()
    has = raw >= 0
    return dict(zip(ids[has].tolist(), layer.codes[raw[has]].astype(str).tolist(), strict=True))


def refinement(units: UnitGraph, keys: IntArray) -> IntArray:
    """Return piece labels: connected units with the same label in every layer (``keys``)."""
    g = Moves.from_edges(units.households, units.edges, units.shared_length)
    out = np.full(units.n, -1, dtype=np.int64)
    _, key_id = np.unique(keys, axis=0, return_inverse=True)
    key_id = key_id.ravel().astype(np.int64)
    nxt = 0
    for k in np.unique(key_id).tolist():
        for part in pieces(g, key_id, int(k)):
            out[part] = nxt
            nxt += 1
    return out


def agglomerate(
    units: UnitGraph, labels: IntArray, keys: IntArray, *, target: int, lo: int, hi: int
) -> IntArray:
    """Return labels where pieces below ``lo`` joined the neighbour they agree with most."""
    labels = labels.copy()
    ea, eb = units.edges[:, 0], units.edges[:, 1]
    failed: set[int] = set()
    for _ in range(int(labels.max()) + 1 if len(labels) else 0):
        k = int(labels.max()) + 1
        h = np.bincount(labels, weights=units.households, minlength=k)
        present = np.bincount(labels, minlength=k) > 0
        small = [
            int(p)
            for p in np.argsort(h, kind="stable")
            if present[p] and h[p] < lo and p not in failed
        ]
        if not small:
            break
        p = small[0]
        cross = ((labels[ea] == p) & (labels[eb] != p)) | ((labels[eb] == p) & (labels[ea] != p))
        best: tuple[int, float, float] | None = None
        choice = -1
        for a, b in zip(ea[cross].tolist(), eb[cross].tolist(), strict=True):
            mine, other = (a, b) if labels[a] == p else (b, a)
            q = int(labels[other])
            if h[p] + h[q] > hi:
                continue
            agree = int(np.sum((keys[mine] == keys[other]) & (keys[mine] >= 0)))
            key = (-agree, abs(h[p] + h[q] - target), float(q))
            if best is None or key < best:
                best, choice = key, q
        if choice < 0:
            failed.add(p)
            continue
        labels[labels == p] = choice
    _, inv = np.unique(labels, return_inverse=True)
    return inv.astype(np.int64).ravel()


def merge_layers(
    dataset: Dataset,
    layers: list[gpd.GeoDataFrame],
    *,
    names: list[str] | None = None,
    target: int = 300,
    band: tuple[int, int] | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    scheme: CodeScheme | None = None,
    on: date | None = None,
    recode: bool = False,
) -> MergeResult:
    """Return one plan merged from grid layers (WGS84 frames with ``grid_id``).

    Parameters
    ----------
    dataset
        A validated dataset.
    layers
        Two or more grid layers; the first one's codes are kept where a grid keeps the
        majority of its households.
    names
        Layer names for the crosswalk (default ``layer1``, ``layer2``...).
    target, band, seed
        As for partitioning.
    progress
        Called as ``progress(done, total)`` after each community.
    scheme, on
        Code scheme of new codes (default: the dataset's) and the date they are valid
        from (default: today); the first layer's codes that no grid keeps are retired.
    recode
        Give every grid a new code of ``scheme`` (standard order, valid from ``on``)
        instead of keeping the first layer's; every first-layer code, and the other
        layers' codes that spell codes of the scheme, are retired
        (:mod:`gridgen.partition.merge_codes`).
    """
    lo, hi = checked_band(target, band)
    scheme = scheme or scheme_for(dataset.communities)
    prefix = prefixes(dataset.communities, scheme)
    names = names or [f"layer{i + 1}" for i in range(len(layers))]
    placed = []
    for name, frame in zip(names, layers, strict=True):
        placed.append(placed_layer(dataset, frame, source=name))
    codes_of = [_codes_of(dataset, lay) for lay in placed]
    by_id = households_by_building(dataset)
    b_hh = dict(zip(by_id.index.tolist(), by_id.tolist(), strict=True))
    taken = {str(c) for lay in placed for c in lay.codes}
    redrawn: list[Redrawn] = []
    succession: dict[str, str] = {}
    all_ids = sorted(dataset.communities["community_id"].astype(str))
    for done, cid in enumerate(all_ids, start=1):
        if progress is not None:
            progress(done - 1, len(all_ids))
        merged = _merged_community(
            dataset,
            cid,
            placed,
            codes_of,
            b_hh=b_hh,
            scheme=scheme,
            prefix=prefix,
            used=taken,
            target=target,
            band=(lo, hi),
            seed=seed,
            recode=recode,
        )
        if merged is not None:
            taken |= set(merged[0].codes)
            redrawn.append(merged[0])
            succession.update(merged[1])
    if progress is not None:
        progress(len(all_ids), len(all_ids))
    every = {r.community_id for r in redrawn} | set(placed[0].community.astype(str))
    plan, after = assemble(
        dataset, layers[0], placed[0], redrawn, every, codes_of[0], target, (lo, hi)
    )
    plan, codes = dated_merge(
        plan,
        layers[0],
        placed,
        scheme=scheme,
        prefix=prefix,
        succession=succession if recode else None,
        on=on,
    )
    crosswalk = merge_crosswalk(dataset, plan, names, codes_of, placed)
    summary = {
        "layers": names,
        "grids_in": [len(lay.codes) for lay in placed],
        "grids": len(plan.grids),
        "audit": dict(after.summary),
        "codes": codes,
        "unfixable": [p.reason for p in plan.problems if p.kind in PROVEN_KINDS],
        "not_fixed": [p.reason for p in plan.problems if p.kind not in PROVEN_KINDS],
    }
    return MergeResult(plan=plan, crosswalk=crosswalk, summary=summary)


def _merged_community(
    dataset: Dataset,
    community_id: str,
    placed: list[GridLayer],
    codes_of: list[dict[str, str]],
    *,
    b_hh: dict[str, float],
    scheme: CodeScheme,
    prefix: dict[str, str],
    used: set[str],
    target: int,
    band: tuple[int, int],
    seed: int,
    recode: bool = False,
) -> tuple[Redrawn, dict[str, str]] | None:
    """Return one community's grids merged from every layer's (None when it has no units),
    and ``{new code: first-layer code}`` of the grids renumbered by ``recode``.

    Units sharing a grid in every layer start together; the grids are balanced, and take
    the first layer's codes by household majority, new codes avoiding ``used`` (with
    ``recode``: new codes only, :func:`gridgen.partition.merge_codes.recoded`).
    """
    lo, hi = band
    units = build_units(dataset, community_id, band_max=hi)
    if units.n == 0:
        return None
    keys = np.column_stack(
        [
            initial_labels(
                units,
                codes,
                b_hh,
                [str(c) for c in lay.codes[lay.community == community_id]],
                lay.geoms[lay.community == community_id],
            )
            for lay, codes in zip(placed, codes_of, strict=True)
        ]
    )
    walk = walkable(units, lo=lo, hi=hi)  # pieces and joins on one side of a river
    start = agglomerate(walk, refinement(walk, keys), keys, target=target, lo=lo, hi=hi)
    labels, stuck, _ = settle(
        units, start, target=target, band=(lo, hi), seed=seed, join_stuck=True
    )
    first = placed[0]
    mine = first.community == community_id
    shaped = finished(dataset, units, labels, band=(lo, hi))
    labels = shaped.labels
    old_grids = dict(zip(first.codes[mine].astype(str), first.geoms[mine], strict=True))
    if recode:  # before unit_codes, whose new codes could run out first
        k = int(labels.max()) + 1
        require_room(scheme, prefix[community_id], k, used=used, community_id=community_id)
    codes = unit_codes(
        scheme,
        prefix[community_id],
        units=units,
        labels=labels,
        geoms=shaped.metric,
        old_code=codes_of[0],
        households=b_hh,
        old_grids=old_grids,
        used=used,
    )
    succession: dict[str, str] = {}
    if recode:
        codes, succession = recoded(
            scheme,
            prefix[community_id],
            community_id=community_id,
            kept=codes,
            first_codes=old_grids,
            geoms=shaped.metric,
            area=units.area,
            used=used,
        )
    return Redrawn(
        community_id=community_id,
        units=units,
        old=keys[:, 0],
        labels=labels,
        codes=codes,
        problems=[
            *band_problems(units, labels, codes, stuck=stuck, lo=lo, hi=hi),
            *detached_part_problems(units, shaped, codes),
        ],
        moved=0,
        shapes=shaped.wgs84,
    ), succession


def merge_crosswalk(
    dataset: Dataset,
    plan: Plan,
    names: list[str],
    codes_of: list[dict[str, str]],
    placed: list[GridLayer],
) -> pd.DataFrame:
    """Return ``layer, input_grid, new_grid, households, share, by`` rows: every grid of
    every input layer, its shares summing to 1 (0 for a grid on no merged grid).

    ``by`` says what the share measures: ``households`` (of the input grid's buildings),
    ``buildings`` (its buildings hold no household), ``area`` (it holds no building: the
    share of its land inside the merged grids), ``none`` (its land is on no merged grid:
    one row with an empty ``new_grid``).
    """
    by_id = households_by_building(dataset)
    ids, hh = by_id.index.to_numpy(), by_id.to_numpy()
    new = dict(zip(plan.assignment["building_id"], plan.assignment["grid_id"], strict=True))
    merged = plan.grids  # projected once some input grid holds no building (by area)
    frames = []
    for name, codes, lay in zip(names, codes_of, placed, strict=True):
        f = pd.DataFrame(
            {
                "input_grid": [codes.get(b, "") for b in ids],
                "new_grid": [new.get(b, "") for b in ids],
                "households": hh,
                "buildings": 1.0,
            }
        )
        f = f[(f["input_grid"] != "") & (f["new_grid"] != "")]
        g = f.groupby(["input_grid", "new_grid"], as_index=False)[["households", "buildings"]].sum()
        tot = g.groupby("input_grid")[["households", "buildings"]].transform("sum")
        by_households = tot["households"] > 0
        g["share"] = np.where(
            by_households,
            g["households"] / tot["households"].where(by_households, 1.0),
            g["buildings"] / tot["buildings"],
        )
        g["by"] = np.where(by_households, "households", "buildings")
        listed = set(g["input_grid"])
        empty = [k for k, c in enumerate(lay.codes) if str(c) not in listed]
        if empty and merged.crs != dataset.metric_crs:
            merged = merged.to_crs(dataset.metric_crs)
        land = _land_rows(lay, empty, merged)
        g.insert(0, "layer", name)
        land.insert(0, "layer", name)
        frames += [g.drop(columns="buildings"), land]
    out = pd.concat([f for f in frames if len(f)], ignore_index=True)
    out["households"] = out["households"].astype(np.int64)
    return out.sort_values(["layer", "input_grid", "new_grid"], kind="stable").reset_index(
        drop=True
    )


LAND_SHARE_MIN = 1e-6
"""Share of an input grid's area below which its overlap with a merged grid is a sliver
(boundaries drawn by different hands never coincide exactly) and not a crosswalk row."""


def _land_rows(layer: GridLayer, rows: list[int], merged: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return crosswalk rows of the input grids ``rows`` (no building) by the area they share
    with the merged grids (metric CRS); a grid sharing none gets one row ``by="none"``."""
    out: list[tuple[str, str, float, float, str]] = []
    if not rows:
        return pd.DataFrame(out, columns=["input_grid", "new_grid", "households", "share", "by"])
    geoms = merged.geometry.to_numpy()
    new_codes = merged["grid_id"].astype(str).to_numpy()
    tree = shapely.STRtree(geoms)
    for k in rows:
        code, geom = str(layer.codes[k]), layer.geoms[k]
        hits = tree.query(geom, predicate="intersects")
        area = np.asarray(shapely.area(shapely.intersection(geom, geoms[hits])), dtype=float)
        keep = area > LAND_SHARE_MIN * max(float(shapely.area(geom)), 1e-12)
        if not keep.any():
            out.append((code, "", 0.0, 0.0, "none"))
            continue
        for j, a in zip(hits[keep].tolist(), area[keep].tolist(), strict=True):
            out.append((code, str(new_codes[j]), 0.0, a / float(area[keep].sum()), "area"))
    return pd.DataFrame(out, columns=["input_grid", "new_grid", "households", "share", "by"])
