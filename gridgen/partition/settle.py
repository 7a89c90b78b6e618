"""Settling unit labels into grids that follow the rules: the engine shared by rebalance and
merge (多网合一).

:func:`settle` takes a start (a grid per planning unit, ``-1`` for none) and returns grids
that tile the units: pieces cut off from their grid are mended, land in no grid joins a
neighbour or becomes new grids, grids out of band are fixed by ejection chains of boundary
moves (:mod:`gridgen.partition.moves`) and only where moves cannot by the cheapest of a
split, a dissolve or a local redraw (:mod:`gridgen.partition.repairs`), and as a last
resort a fresh drawing of the community or, for a connected part of a few dozen units, the
exhaustive search's division of it (:mod:`gridgen.partition.exact_fixes`; where no division has
every grid in the band, one with fewer grids out of band, :mod:`gridgen.partition.
fewest_out`; codes come from :mod:`gridgen.partition.codes`); :func:`band_problems` states
the proof for every grid left out of band it can (a unit no in-band grid holds; a part no
division brings into the band, by count, cut units (:mod:`gridgen.partition.cut_proofs`)
or exhaustive search; a part where no plan has fewer grids out of band without a grid far
outside it, :func:`gridgen.partition.proofs.fewest_out_proofs`). Moves that turned out not
to be needed are undone last (:mod:`gridgen.partition.undo_moves`). In a rebalance, where
the moves took a grid already out of band further out (fixing a neighbour by pushing
households into an overfull grid that a split then moves again), the repairs are also
made from the plan before the moves, and that taken when it leaves no more grids out of
band and changes fewer households (filled city Drift(seed=3): 575 -> 319 households changed
in one community; make_city Drift(seed=7): 589 -> 353). Every step keeps grids
off rivers and railways as partition does (:mod:`gridgen.partition.river_sides`), unless
nothing else brings a grid into the band.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from gridgen.partition.band_sets import lonely_units
from gridgen.partition.chains import Memo
from gridgen.partition.exact import REPAIR_EXACT_BUDGET
from gridgen.partition.exact_fixes import exact_if_better
from gridgen.partition.finish import grid_shapes
from gridgen.partition.moves import Moves, balance, fill, make_contiguous, pieces, violation
from gridgen.partition.objective import local_edges
from gridgen.partition.plan import Problem
from gridgen.partition.proofs import (
    fewest_out_proofs,
    fewest_reason,
    part_proof,
    proven_part_grid,
    unbalanceable_units,
    unsplittable_reason,
)
from gridgen.partition.regions import components
from gridgen.partition.repairs import (
    changed_households,
    excused_mask,
    excused_of,
    out_key,
    repair_grids,
    sub_regions,
)
from gridgen.partition.river_sides import across_edges, walkable, without_edges
from gridgen.partition.search import BARRIER_PROOFS
from gridgen.partition.undo_moves import undo_moves
from gridgen.partition.units import UnitGraph
from gridgen.rules import RuleKind

IntArray = NDArray[np.int64]
SCRATCH_COST_PER_FIX = 800
"""Most households a fresh drawing of a whole community may move per grid it brings into
the band, in a rebalance (merge-grids takes any fresh drawing that fixes more grids)."""
PUSHED = 0.05
"""How much further out of band (a share of the band minimum) the moves must take a grid
for the repairs to be made from the plan before them too (:func:`_pushed_out`; walled
city: a grid taken from 363 to 366 households, 0.36 s CPU for nothing; filled city
Drift(seed=3): a grid taken from 391 to 191, 31 to 49 outside the band, 575 -> 319
households changed)."""
PROVEN_KINDS = frozenset({RuleKind.UNBALANCEABLE, RuleKind.UNSPLITTABLE})
"""Problems of :func:`band_problems` that prove their grid out of band (a summary's
``unfixable``; the others are ``not_fixed``)."""
MERGE_EXACT_BUDGET = 150_000
"""Connected sets the exhaustive search of a part may examine in merge-grids (rebalance:
:data:`gridgen.partition.exact.REPAIR_EXACT_BUDGET`, to stay no slower than a redraw); walled
city: a 40-unit part whose partition the search from the largest unit finds after ~46,000
sets (a third of the budget)."""


def _scratch_if_better(
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    *,
    stuck: IntArray,
    target: int,
    band: tuple[int, int],
    seed: int,
    cost_per_fix: float,
) -> IntArray:
    """Return a fresh drawing of the community when it leaves fewer grids out of band at
    most ``cost_per_fix`` households moved per grid it fixes, else ``labels``."""
    lo, hi = band
    now = out_key(g, labels, lo, hi, excused_of(labels, stuck))
    if now[0] == 0:
        return labels
    fresh = _new_grids(
        units, g, np.full(units.n, -1, dtype=np.int64), target=target, lo=lo, hi=hi, seed=seed
    )
    gain = now[0] - out_key(g, fresh, lo, hi, excused_of(fresh, stuck))[0]
    if gain <= 0 or changed_households(units.households, labels, fresh) > gain * cost_per_fix:
        return labels
    return fresh


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
        sub = sub_regions(units, nodes, target=target, lo=lo, hi=hi, seed=seed)
        out[nodes] = nxt + sub
        nxt += int(sub.max()) + 1
    return out


def band_problems(
    units: UnitGraph, labels: IntArray, codes: list[str], *, stuck: IntArray, lo: int, hi: int
) -> list[Problem]:
    """Return a problem for every grid out of band: ``unbalanceable`` when it holds a
    ``stuck`` unit, ``unsplittable`` when it is the one grid out of band of a connected part
    no plan divides into in-band grids (:func:`part_proofs`), else ``below_band`` /
    ``above_band`` (not fixed)."""
    h = np.bincount(labels, weights=units.households, minlength=len(codes)).astype(np.int64)
    out: list[Problem] = []
    proof = {int(labels[u]): int(u) for u in stuck.tolist()}
    across = across_edges(units, lo=lo, hi=hi)
    banks = _banked_grids(without_edges(units, across), labels, np.unique(units.edges[across]))
    units = without_edges(units, across)  # proofs for plans kept off rivers, as partition's
    parts = part_proofs(units, labels, stuck=stuck, lo=lo, hi=hi)
    fewest = fewest_out_proofs(units, labels, stuck=stuck, band=(lo, hi), proven=set(parts))
    for lab, code in enumerate(codes):
        if lo <= h[lab] <= hi:
            continue
        side = "below" if h[lab] < lo else "above"
        if lab in fewest and lab not in proof:
            reason = fewest_reason(*fewest[lab], band=(lo, hi), grid=code) + banks.get(lab, "")
            out.append(Problem(RuleKind.UNSPLITTABLE, units.community_id, reason, grid_id=code))
        elif lab in parts and lab not in proof:
            total, n_units, why = parts[lab]
            kept_off = banks.get(lab, "")
            if kept_off and why in BARRIER_PROOFS:
                why, kept_off = BARRIER_PROOFS[why], ""  # its wording says so
            reason = unsplittable_reason(total, n_units, why, lo=lo, hi=hi, grid=code) + kept_off
            out.append(Problem(RuleKind.UNSPLITTABLE, units.community_id, reason, grid_id=code))
        elif lab in proof:
            u = proof[lab]
            reason = (
                f"grid {code} has {h[lab]} households ({side} the band {lo}-{hi}) and cannot be "
                f"in it: unit {units.unit_ids[u]} has {int(units.households[u])} households "
                + (
                    f"and no connected set of units holding it (land without households "
                    f"joins any) has {lo}-{hi} households"
                    if units.households[u] < lo
                    else f"above the band maximum {hi}"
                )
                + banks.get(lab, "")
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


KEPT_OFF = " (for plans that keep grids off the river or railway bounding its part, as partition's)"
"""Said of a proof about a part a river or railway bounds (:func:`band_problems`)."""


def _banked_grids(units: UnitGraph, labels: IntArray, banked: IntArray) -> dict[int, str]:
    """Return :data:`KEPT_OFF` per grid in a connected part of ``units`` (the graph without
    the edges across rivers and railways) that holds a ``banked`` unit (one on such an edge)."""
    if len(banked) == 0:
        return {}
    comp = components(units.n, units.edges)
    grids = np.unique(labels[np.isin(comp, comp[banked])])
    return dict.fromkeys(grids.tolist(), KEPT_OFF)


def part_proofs(
    units: UnitGraph, labels: IntArray, *, stuck: IntArray, lo: int, hi: int
) -> dict[int, tuple[int, int, str]]:
    """Return, per grid (label) proven out of band as the one grid out of band of its
    connected part (:func:`gridgen.partition.proofs.proven_part_grid`,
    :func:`gridgen.partition.proofs.part_proof`): the part's households, units and proof.

    Parts are the connected components of ``units`` as given: :func:`band_problems` gives
    the graph without the edges across rivers and railways that rebalance and merge-grids
    keep grids off (:func:`gridgen.partition.river_sides.walkable`, as the partitioner
    searches the pieces between them apart), and says so in the proofs of such parts."""
    if units.n == 0:
        return {}
    forced = np.zeros(units.n, dtype=bool)
    forced[stuck] = True
    comp = components(units.n, units.edges)
    out: dict[int, tuple[int, int, str]] = {}
    for c in np.unique(comp).tolist():
        nodes = np.flatnonzero(comp == c)
        lab = proven_part_grid(units.households, labels, nodes, lo=lo, hi=hi, forced=forced)
        if lab < 0:
            continue
        e, _ = local_edges(units.edges, nodes, units.n)
        why = part_proof(units.households[nodes], e, lo=lo, hi=hi)
        if why:
            out[lab] = (int(units.households[nodes].sum()), len(nodes), why)
    return out


def stuck_units(units: UnitGraph, g: Moves, *, lo: int, hi: int) -> IntArray:
    """Return units no grid in the band can hold (the proof for grids left out of band):
    units above ``hi``, and units below ``lo`` that no connected set of units in the band
    can hold (:func:`gridgen.partition.band_sets.lonely_units`)."""
    if int(units.households.sum()) < lo:
        return np.arange(units.n, dtype=np.int64)
    return np.union1d(
        np.union1d(
            unbalanceable_units(units, lo=lo, hi=hi),
            lonely_units(g.households, g.nbrs, lo=lo, hi=hi),
        ),
        np.flatnonzero(units.households > hi),
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

    Steps 2-3 of the module doc (:func:`_settled`) on the unit graph without the edges
    across rivers and railways (:func:`gridgen.partition.river_sides.walkable`): grids stay
    off them as partition's do, and a grid of ``labels`` reaching across falls into its
    sides. Only where that leaves grids out of band that neither a stuck unit nor a proof
    excuses (:func:`_unexcused`) is the community settled on the whole graph too, and that
    taken when it leaves fewer such grids: a grid reaches across a river only when nothing
    on its side brings it into the band.
    """
    lo, hi = band
    walk = walkable(units, lo=lo, hi=hi)
    kept_off = _settled(
        walk, labels, target=target, band=band, budget=budget, seed=seed, join_stuck=join_stuck
    )
    if walk is units:
        return kept_off
    left = _unexcused(walk, kept_off[0], kept_off[1], band=band)
    if left == 0:
        return kept_off
    across = _settled(
        units, labels, target=target, band=band, budget=budget, seed=seed, join_stuck=join_stuck
    )
    return across if _unexcused(units, across[0], across[1], band=band) < left else kept_off


def _unexcused(
    units: UnitGraph, labels: IntArray, stuck: IntArray, *, band: tuple[int, int]
) -> int:
    """Return the grids out of band that neither a stuck unit nor :func:`part_proofs`
    excuses."""
    lo, hi = band
    h = np.bincount(labels, weights=units.households)
    out = (h < lo) | (h > hi)
    out[labels[stuck]] = False
    if out.any():
        out[list(part_proofs(units, labels, stuck=stuck, lo=lo, hi=hi))] = False
    return int(out.sum())


def _settled(
    units: UnitGraph,
    labels: IntArray,
    *,
    target: int,
    band: tuple[int, int],
    budget: float = math.inf,
    seed: int = 0,
    join_stuck: bool = False,
) -> tuple[IntArray, IntArray, int]:
    """Return :func:`settle`'s result on the unit graph ``units`` as given: mend pieces,
    fill, draw unreached land, balance by ejection chains, then split or dissolve (only
    without a budget)."""
    lo, hi = band
    g = Moves.from_edges(units.households, units.edges, units.shared_length)
    labels = fill(g, make_contiguous(g, labels), hi=hi)
    labels = _new_grids(units, g, labels, target=target, lo=lo, hi=hi, seed=seed)
    start = labels
    stuck = stuck_units(units, g, lo=lo, hi=hi)
    moved = 0
    if units.n:
        excused = excused_mask(labels, stuck)
        memo = Memo()  # the searches of every balance below, on the one graph ``g``
        labels, moved = balance(g, labels, lo=lo, hi=hi, excused=excused, budget=budget, memo=memo)
        if math.isinf(budget):
            balanced = labels
            labels = repair_grids(
                units,
                g,
                balanced,
                stuck=stuck,
                target=target,
                lo=lo,
                hi=hi,
                seed=seed,
                join_stuck=join_stuck,
                memo=memo,
                home=start,
            )
            if not join_stuck and _pushed_out(g, start, balanced, band=band):
                # the moves took a grid out of band further out, and a split of it then
                # moves its households again: repairs from the start too (module doc)
                fresh = repair_grids(
                    units, g, start, stuck=stuck, target=target, lo=lo, hi=hi, seed=seed, memo=memo
                )
                labels = _cheaper(g, start, labels, fresh, stuck=stuck, band=band)
            labels = _scratch_if_better(
                units,
                g,
                labels,
                stuck=stuck,
                target=target,
                band=(lo, hi),
                seed=seed,
                cost_per_fix=math.inf if join_stuck else SCRATCH_COST_PER_FIX,
            )
            labels = exact_if_better(
                units,
                labels,
                stuck=stuck,
                band=(lo, hi),
                cost_per_fix=math.inf if join_stuck else SCRATCH_COST_PER_FIX,
                budget=MERGE_EXACT_BUDGET if join_stuck else REPAIR_EXACT_BUDGET,
            )
        labels = undo_moves(g, labels, start, lo=lo, hi=hi)
    _, inv = np.unique(labels, return_inverse=True)
    labels = mend_pieces(units, g, inv.astype(np.int64).ravel())
    return labels, stuck, moved


def _pushed_out(g: Moves, start: IntArray, labels: IntArray, *, band: tuple[int, int]) -> bool:
    """Return whether the moves from ``start`` to ``labels`` took a grid out of band
    further out of it, by :data:`PUSHED` of the band minimum or more."""
    lo, hi = band
    k = int(max(start.max(), labels.max())) + 1
    before = violation(np.bincount(start, weights=g.households, minlength=k), lo, hi)
    after = violation(np.bincount(labels, weights=g.households, minlength=k), lo, hi)
    return bool(((before > 0) & (after >= before + PUSHED * lo)).any())


def _cheaper(
    g: Moves,
    start: IntArray,
    a: IntArray,
    b: IntArray,
    *,
    stuck: IntArray,
    band: tuple[int, int],
) -> IntArray:
    """Return ``b`` when it leaves no more grids out of band than ``a`` (a stuck unit's
    aside) and changes fewer households from ``start``, else ``a``."""
    lo, hi = band

    def key(labels: IntArray) -> tuple[int, int]:
        out = out_key(g, labels, lo, hi, excused_of(labels, stuck))[0]
        return out, changed_households(g.households, start, labels)

    (out_a, moved_a), (out_b, moved_b) = key(a), key(b)
    return b if out_b <= out_a and moved_b < moved_a else a


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
