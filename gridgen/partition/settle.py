"""Settling unit labels into grids that follow the rules: the engine shared by rebalance and
merge (多网合一).

:func:`settle` takes a start (a grid per planning unit, ``-1`` for none) and returns grids
that tile the units: pieces cut off from their grid are mended, land in no grid joins a
neighbour or becomes new grids, grids out of band are fixed by ejection chains of boundary
moves (:mod:`gridgen.partition.moves`) and only where moves cannot by a split or a
dissolve (codes come from :mod:`gridgen.partition.codes`); :func:`band_problems` states
the proof for every grid left out of band.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgen.partition.community import (
    community_rng,
    region_problem,
)
from gridgen.partition.finish import grid_shapes
from gridgen.partition.moves import Moves, balance, fill, make_contiguous, pieces, violation
from gridgen.partition.objective import RegionProblem
from gridgen.partition.plan import Problem
from gridgen.partition.proofs import unbalanceable_units
from gridgen.partition.regions import best_regions
from gridgen.partition.units import UnitGraph
from gridgen.rules import RuleKind

IntArray = NDArray[np.int64]
SCRATCH_FALLBACK = True
"""Redraw a community from scratch when moves, splits and dissolves leave more grids out of
band than a fresh drawing would (the fresh drawing is then kept; codes still follow the
majority of households)."""
SCRATCH_COST_PER_FIX = 800
"""Most households a fresh drawing may move per grid it brings into the band."""


def _scratch_if_better(  # noqa: PLR0917
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    stuck: IntArray,
    target: int,
    band: tuple[int, int],
    seed: int,
) -> IntArray:
    lo, hi = band
    now = _out_key(g, labels, lo, hi, _excused(labels, stuck))
    if now[0] == 0:
        return labels
    fresh = _new_grids(
        units, g, np.full(units.n, -1, dtype=np.int64), target=target, lo=lo, hi=hi, seed=seed
    )
    gain = now[0] - _out_key(g, fresh, lo, hi, _excused(fresh, stuck))[0]
    if gain <= 0 or _changed(units.households, labels, fresh) > gain * SCRATCH_COST_PER_FIX:
        return labels
    return fresh


def _changed(households: IntArray, a: IntArray, b: IntArray) -> int:
    """Return households whose grid differs between labelings, grids matched one-to-one."""
    from scipy.optimize import linear_sum_assignment

    m = np.zeros((int(a.max()) + 1, int(b.max()) + 1))
    np.add.at(m, (a, b), households)
    r, c = linear_sum_assignment(m, maximize=True)
    return int(households.sum() - m[r, c].sum())


def _sub_regions(
    units: UnitGraph, nodes: IntArray, *, target: int, lo: int, hi: int, seed: int
) -> IntArray:
    """Return region labels (0..) for the connected ``nodes`` drawn from scratch."""
    if len(nodes) == 1 or int(units.households[nodes].sum()) <= hi:
        return np.zeros(len(nodes), dtype=np.int64)
    prob = region_problem(units)
    local = np.full(units.n, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    ea, eb = local[prob.edges[:, 0]], local[prob.edges[:, 1]]
    keep = (ea >= 0) & (eb >= 0)
    sub = RegionProblem(
        households=prob.households[nodes],
        edges=np.column_stack([ea[keep], eb[keep]]).astype(np.int64),
        cut_cost=prob.cut_cost[keep],
        xy=prob.xy[nodes],
        area=prob.area[nodes],
    )
    rng = community_rng(seed, f"{units.community_id}/{int(nodes[0])}")
    return best_regions(sub, target=target, lo=lo, hi=hi, rng=rng)


def _new_grids(
    units: UnitGraph, g: Moves, labels: IntArray, *, target: int, lo: int, hi: int, seed: int
) -> IntArray:
    """Return labels where land no grid reaches is drawn into new grids."""
    out = labels.copy()
    todo = np.flatnonzero(out < 0)
    if len(todo) == 0:
        return out
    nxt = int(out.max()) + 1 if (out >= 0).any() else 0
    for part in pieces(g, np.where(out < 0, 1, 0).astype(np.int64), 1):
        nodes = np.asarray(part, dtype=np.int64)
        sub = _sub_regions(units, nodes, target=target, lo=lo, hi=hi, seed=seed)
        out[nodes] = nxt + sub
        nxt += int(sub.max()) + 1
    return out


def _out_key(g: Moves, labels: IntArray, lo: int, hi: int, excused: set[int]) -> tuple[int, float]:
    k = int(labels.max()) + 1
    h = np.bincount(labels, weights=g.households, minlength=k)
    present = np.bincount(labels, minlength=k) > 0
    v = violation(h, lo, hi)
    v[list(excused)] = 0.0
    v[~present] = 0.0
    return int(np.sum(v > 0)), float(v.sum())


def _excused(labels: IntArray, stuck: IntArray) -> set[int]:
    return {int(labels[u]) for u in stuck.tolist()}


def split_or_merge(
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    *,
    stuck: IntArray,
    target: int,
    lo: int,
    hi: int,
    seed: int,
    join_stuck: bool = False,
) -> IntArray:
    """Return labels after splits of overfull / dissolves of underfull grids that help.

    ``join_stuck``: grids out of band for a proven reason may be dissolved too when that
    leaves fewer grids out of band (for fresh plans; a rebalance leaves them as they are).
    """
    failed: set[int] = set()
    for _ in range(int(labels.max()) + 2):
        excused = _excused(labels, stuck)
        k = int(labels.max()) + 1
        h = np.bincount(labels, weights=g.households, minlength=k)
        v = violation(h, lo, hi)
        present = np.bincount(labels, minlength=k) > 0
        # grids out of band for a proven reason are still dissolved when that helps (two
        # stuck neighbours below the band become one grid: one grid out of band, not two)
        todo = [
            int(x)
            for x in np.argsort(-v, kind="stable")
            if v[x] > 0
            and present[x]
            and int(x) not in failed
            and (int(x) not in excused or h[x] > 2 * hi or (join_stuck and h[x] < lo))
        ]
        if not todo:
            break
        grid = todo[0]
        nodes = np.flatnonzero(labels == grid)
        trial = labels.copy()
        if h[grid] > hi:
            sub = _sub_regions(units, nodes, target=target, lo=lo, hi=hi, seed=seed)
            trial[nodes] = np.where(sub == 0, grid, k + sub - 1)
        else:
            trial[nodes] = -1
            trial = fill(g, trial, hi=hi)
            if (trial < 0).any():
                failed.add(grid)
                continue
        trial, _ = balance(g, trial, lo=lo, hi=hi, excused=excused_mask(trial, stuck))
        # fewer grids out of band, then (a grid proven out of band split in two: the part
        # without the proof in band) fewer households outside the band
        after = (
            _out_key(g, trial, lo, hi, set())[0],
            _out_key(g, trial, lo, hi, _excused(trial, stuck)),
            _out_key(g, trial, lo, hi, set())[1],
        )
        now = (
            _out_key(g, labels, lo, hi, set())[0],
            _out_key(g, labels, lo, hi, excused),
            _out_key(g, labels, lo, hi, set())[1],
        )
        # a grid above twice the maximum is split whenever that lowers the households
        # outside the band, even into two grids slightly out (a large compound's buildings)
        huge = h[grid] > 2 * hi and after[2] < now[2]
        if after < now or huge:
            labels = trial
        else:
            failed.add(grid)
    return labels


def excused_mask(labels: IntArray, stuck: IntArray) -> NDArray[np.bool_]:
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.zeros(k, dtype=bool)
    for lab in _excused(labels, stuck):
        if lab >= 0:
            out[lab] = True
    return out


def band_problems(
    units: UnitGraph, labels: IntArray, codes: list[str], *, stuck: IntArray, lo: int, hi: int
) -> list[Problem]:
    h = np.bincount(labels, weights=units.households, minlength=len(codes)).astype(np.int64)
    out: list[Problem] = []
    proof = {int(labels[u]): int(u) for u in stuck.tolist()}
    for lab, code in enumerate(codes):
        if lo <= h[lab] <= hi:
            continue
        side = "below" if h[lab] < lo else "above"
        if lab in proof:
            u = proof[lab]
            reason = (
                f"grid {code} has {h[lab]} households ({side} the band {lo}-{hi}) and cannot be "
                f"in it: unit {units.unit_ids[u]} has {int(units.households[u])} households "
                + (
                    f"and adding any neighbouring unit exceeds {hi}"
                    if units.households[u] < lo
                    else f"above the band maximum {hi}"
                )
            )
            out.append(Problem(RuleKind.UNBALANCEABLE, units.community_id, reason, grid_id=code))
        else:
            reason = (
                f"grid {code} has {h[lab]} households, {side} the band {lo}-{hi}: no boundary "
                "move, split or merge found that brings it in"
            )
            kind = RuleKind.BELOW_BAND if side == "below" else RuleKind.ABOVE_BAND
            out.append(Problem(kind, units.community_id, reason, grid_id=code))
    return out


def stuck_units(units: UnitGraph, *, lo: int, hi: int) -> IntArray:
    """Return units no grid in the band can hold (the proof for grids left out of band)."""
    if int(units.households.sum()) < lo:
        return np.arange(units.n, dtype=np.int64)
    return np.union1d(
        unbalanceable_units(units, lo=lo, hi=hi), np.flatnonzero(units.households > hi)
    ).astype(np.int64)


def settle(
    units: UnitGraph,
    labels: IntArray,
    *,
    target: int,
    band: tuple[int, int],
    budget: float = math.inf,
    seed: int = 0,
    join_stuck: bool = False,
) -> tuple[IntArray, IntArray, int]:
    """Return (labels 0..k-1, stuck units, households moved by balancing) from a start.

    Steps 2-3 of the module doc: mend pieces, fill, draw unreached land, balance by
    ejection chains, then split or dissolve (only without a budget).
    """
    lo, hi = band
    g = Moves.from_edges(units.households, units.edges, units.shared_length)
    labels = fill(g, make_contiguous(g, labels), hi=hi)
    labels = _new_grids(units, g, labels, target=target, lo=lo, hi=hi, seed=seed)
    stuck = stuck_units(units, lo=lo, hi=hi)
    moved = 0
    if units.n:
        excused = excused_mask(labels, stuck)
        labels, moved = balance(g, labels, lo=lo, hi=hi, excused=excused, budget=budget)
        if math.isinf(budget):
            labels = split_or_merge(
                units,
                g,
                labels,
                stuck=stuck,
                target=target,
                lo=lo,
                hi=hi,
                seed=seed,
                join_stuck=join_stuck,
            )
            if SCRATCH_FALLBACK:
                labels = _scratch_if_better(units, g, labels, stuck, target, (lo, hi), seed)
    _, inv = np.unique(labels, return_inverse=True)
    labels = mend_pieces(units, g, inv.astype(np.int64).ravel())
    return labels, stuck, moved


def mend_pieces(units: UnitGraph, g: Moves, labels: IntArray, rounds: int = 3) -> IntArray:
    """Return labels where units cut off from their grid's main polygon join a neighbour.

    Grids are connected in the unit graph, but a union of cells can still fall apart where
    cells meet only at a point or a cell has an island; the units off the largest part join
    the neighbouring grid they share the longest boundary with.
    """
    labels = labels.copy()
    for _ in range(rounds):
        geoms = grid_shapes(units.cells, labels) if units.n else np.empty(0, dtype=object)
        split = [k for k, geom in enumerate(geoms) if geom.geom_type == "MultiPolygon"]
        if not split:
            break
        for k in split:
            parts = shapely.get_parts(geoms[k])
            main = parts[int(np.argmax(shapely.area(parts)))]
            members = np.flatnonzero(labels == k)
            pts = shapely.point_on_surface(units.cells[members])
            for u in members[~shapely.intersects(main, pts)].tolist():
                best, choice = 0.0, -1
                for v, s in zip(g.nbrs[u], g.shared[u], strict=True):
                    if labels[v] != k and s > best:
                        best, choice = s, int(labels[v])
                if choice >= 0:
                    labels[u] = choice
    _, inv = np.unique(labels, return_inverse=True)
    return inv.astype(np.int64).ravel()
