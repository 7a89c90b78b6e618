"""Repairs of grids boundary moves cannot bring into the band: split, dissolve, or draw a
grid again with its neighbours.

For each grid still out of band (largest excess first), :func:`repair_grids` tries

1. a **split** of an overfull grid (its units drawn into grids by the partitioner,
   ``best_regions``) or a **dissolve** of an underfull one (its units join their
   neighbours, :func:`gridgen.partition.moves.fill`); in a rebalance an overfull grid's
   **peels** too (a unit on its edge starts the new grid, :func:`peel_trials`), and of the
   split and the peels the one that, balanced, leaves fewest grids out of band and then
   changes fewest households (:func:`cheapest_split`);
2. a **local redraw**: the grid and the grids within one, then two, steps of it drawn again
   by the partitioner, the new regions taking the old labels they share most households
   with (``linear_sum_assignment``);

each finished by boundary moves (:func:`gridgen.partition.moves.balance`): splits and
dissolves of every grid first, then local redraws of the grids still out of band (smallest
ring first); a trial is kept when it leaves fewer grids out of band (then fewer households
outside the band). (Trying all three for each grid and keeping the one that changes fewest
households changed 0.5% fewer on the walled city at twice the time.) A grid above
twice the band maximum is split whenever that lowers the households outside the band (a
large compound's buildings). In a rebalance (``join_stuck`` False) a repair must leave
fewer grids out of band, households outside the band aside (a dissolve that turned a grid
219 households below the band into one 380 above it moved 219 households for no grid
brought in; filled city: 12,231 -> 11,124 households changed, the same grids out of band);
a repair that only brings grids nearer the band is kept when a later repair of the same
pass brings one in, else undone (:func:`_repair_pass`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from gridgen.partition.chains import Memo, branch
from gridgen.partition.community import community_rng, region_problem
from gridgen.partition.moves import Moves, balance, fill, violation
from gridgen.partition.objective import subproblem
from gridgen.partition.regions import best_regions
from gridgen.partition.units import UnitGraph

IntArray = NDArray[np.int64]
LOCAL_RINGS = (1, 2)
"""Rings of neighbouring grids drawn again with a grid (:func:`local_trial`)."""
PEELS = 8
"""Most peels of an overfull grid tried besides its split (:func:`peel_trials`)."""
PEEL_UNITS = 20
"""Most units of a grid whose peels are tried: a peel must grow into a grid in the band by
one chain of moves, which units of a few households each do not do (walled city, grids of
34-144 small units: 0.45 s CPU of peels, none taken; the peels taken on the filled, walled
and make_city cities were of grids of 2-19 units)."""


def sub_regions(
    units: UnitGraph, nodes: IntArray, *, target: int, lo: int, hi: int, seed: int
) -> IntArray:
    """Return region labels (0..) for the connected ``nodes`` drawn from scratch."""
    if len(nodes) == 1 or int(units.households[nodes].sum()) <= hi:
        return np.zeros(len(nodes), dtype=np.int64)
    prob = region_problem(units)
    sub = subproblem(prob, nodes)
    rng = community_rng(seed, f"{units.community_id}/{int(nodes[0])}")
    return best_regions(sub, target=target, lo=lo, hi=hi, rng=rng)


def out_key(g: Moves, labels: IntArray, lo: int, hi: int, excused: set[int]) -> tuple[int, float]:
    """Return (grids out of band, households outside the band), ``excused`` grids aside."""
    k = int(labels.max()) + 1
    h = np.bincount(labels, weights=g.households, minlength=k)
    present = np.bincount(labels, minlength=k) > 0
    v = violation(h, lo, hi)
    v[list(excused)] = 0.0
    v[~present] = 0.0
    return int(np.sum(v > 0)), float(v.sum())


def excused_of(labels: IntArray, stuck: IntArray) -> set[int]:
    """Return the grids holding a stuck unit."""
    return {int(labels[u]) for u in stuck.tolist()}


def excused_mask(labels: IntArray, stuck: IntArray) -> NDArray[np.bool_]:
    """Return, per grid, whether it holds a stuck unit."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.zeros(k, dtype=bool)
    for lab in excused_of(labels, stuck):
        if lab >= 0:
            out[lab] = True
    return out


def changed_households(households: IntArray, a: IntArray, b: IntArray) -> int:
    """Return households whose grid differs between labelings, grids matched one-to-one."""
    m = np.zeros((int(a.max()) + 1, int(b.max()) + 1))
    np.add.at(m, (a, b), households)
    r, c = linear_sum_assignment(m, maximize=True)
    return int(households.sum() - m[r, c].sum())


def grid_neighbours(labels: IntArray, edges: IntArray) -> dict[int, set[int]]:
    """Return the grids next to each grid (sharing a unit-graph edge)."""
    a, b = labels[edges[:, 0]], labels[edges[:, 1]]
    cut = (a != b) & (a >= 0) & (b >= 0)
    out: dict[int, set[int]] = {}
    for x, y in zip(a[cut].tolist(), b[cut].tolist(), strict=True):
        out.setdefault(x, set()).add(y)
        out.setdefault(y, set()).add(x)
    return out


def split_or_dissolve_trial(
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    grid: int,
    *,
    target: int,
    lo: int,
    hi: int,
    seed: int,
) -> IntArray | None:
    """Return labels with overfull ``grid`` split, or underfull ``grid`` dissolved into its
    neighbours (None when its units reach no other grid)."""
    k = int(labels.max()) + 1
    nodes = np.flatnonzero(labels == grid)
    trial = labels.copy()
    if int(g.households[nodes].sum()) > hi:
        sub = sub_regions(units, nodes, target=target, lo=lo, hi=hi, seed=seed)
        trial[nodes] = np.where(sub == 0, grid, k + sub - 1)
        return trial
    trial[nodes] = -1
    trial = fill(g, trial, hi=hi)
    return None if (trial < 0).any() else trial


def peel_trials(g: Moves, labels: IntArray, grid: int, *, most: int = PEELS) -> list[IntArray]:
    """Return labels where a unit of ``grid`` on its boundary (with the pieces it holds
    together, :func:`gridgen.partition.chains.branch`) starts a new grid, one per such
    unit (at most ``most``).

    The partitioner's split of an overfull grid draws two grids of about the target from
    its units, and the boundary moves that follow bring households from its neighbours to
    both; a peel starts the new grid small at the edge, so the moves grow it from the
    neighbours it touches, which may keep more households in their grid (filled city
    Drift(seed=5), a grid of units of 128 and 310 households the split left as it was:
    377 households changed by a local redraw, 295 with the peel).
    """
    k = int(labels.max()) + 1
    frozen = np.zeros(g.n, dtype=bool)
    out: list[IntArray] = []
    seen: set[tuple[int, ...]] = set()
    for u in np.flatnonzero(labels == grid).tolist():
        if len(out) == most:
            break
        if all(labels[v] == grid for v in g.nbrs[u]):
            continue
        moving = branch(g, labels, grid, u, frozen)
        if moving is None or moving in seen:
            continue
        seen.add(moving)
        trial = labels.copy()
        trial[list(moving)] = k
        out.append(trial)
    return out


def local_trial(
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    grid: int,
    *,
    rings: int,
    target: int,
    lo: int,
    hi: int,
    seed: int,
) -> IntArray:
    """Return labels where ``grid`` and the grids within ``rings`` steps were drawn again."""
    k = int(labels.max()) + 1
    cluster = {grid}
    near = grid_neighbours(labels, units.edges)
    for _r in range(rings):
        cluster |= {y for x in cluster for y in near.get(x, ())}
    nodes = np.flatnonzero(np.isin(labels, list(cluster)))
    sub = sub_regions(units, nodes, target=target, lo=lo, hi=hi, seed=seed)
    old = labels[nodes]
    olds = np.unique(old)
    m = np.zeros((len(olds), int(sub.max()) + 1))
    np.add.at(m, (np.searchsorted(olds, old), sub), g.households[nodes] + 1e-3)
    r, c = linear_sum_assignment(m, maximize=True)
    to = np.arange(k, k + m.shape[1], dtype=np.int64)
    to[c] = olds[r]
    trial = labels.copy()
    trial[nodes] = to[sub]
    return trial


def repair_grids(
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
    memo: Memo | None = None,
    home: IntArray | None = None,
) -> IntArray:
    """Return labels where grids still out of band were split, dissolved or drawn again
    with their neighbours, the cheapest repair first (module doc).

    ``join_stuck``: grids out of band for a proven reason may be dissolved too when that
    leaves fewer grids out of band (for fresh plans; a rebalance leaves them as they are).
    ``memo``: the boundary moves' searches on the unit graph ``g`` so far
    (:class:`gridgen.partition.chains.Memo`; the same result, sooner). ``home``: the labels
    households changed grid from (default ``labels``), by which :func:`cheapest_split`
    counts.
    """
    for steps in ((0,), tuple(range(1, 1 + len(LOCAL_RINGS)))):
        labels = _repair_pass(
            units,
            g,
            labels,
            steps,
            stuck=stuck,
            target=target,
            lo=lo,
            hi=hi,
            seed=seed,
            join_stuck=join_stuck,
            memo=memo,
            home=labels if home is None else home,
        )
    return labels


def _repair_pass(
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    steps: tuple[int, ...],
    *,
    stuck: IntArray,
    target: int,
    lo: int,
    hi: int,
    seed: int,
    join_stuck: bool,
    memo: Memo | None = None,
    home: IntArray | None = None,
) -> IntArray:
    """Return labels after one pass of repairs ``steps`` (0: split or dissolve; i: local
    redraw of ``LOCAL_RINGS[i - 1]`` rings) over the grids out of band."""
    failed: set[int] = set()
    saved: tuple[IntArray, tuple[int, tuple[int, float], float]] | None = None
    for _ in range(2 * int(labels.max()) + 4 if len(labels) else 0):
        excused = excused_of(labels, stuck)
        k = int(labels.max()) + 1
        h = np.bincount(labels, weights=g.households, minlength=k)
        v = violation(h, lo, hi)
        present = np.bincount(labels, minlength=k) > 0
        todo = [  # a grid without households is land: dissolved, never redrawn
            int(x)
            for x in np.argsort(-v, kind="stable")
            if v[x] > 0
            and present[x]
            and (h[x] > 0 or steps == (0,))
            and int(x) not in failed
            and (int(x) not in excused or h[x] > 2 * hi or (join_stuck and h[x] < lo))
        ]
        if not todo:
            break
        grid = todo[0]
        best = _best_trial(
            units,
            g,
            labels,
            grid,
            steps,
            stuck=stuck,
            target=target,
            lo=lo,
            hi=hi,
            seed=seed,
            fixes_only=not join_stuck,
            memo=memo,
            home=home,
        )
        if best is None:
            failed.add(grid)
            continue
        if not best[1] and saved is None:  # a step nearer the band: kept if a fix follows
            saved = (labels, _counts(_rank(g, labels, stuck, lo, hi)))
        labels = best[0]
        failed.clear()  # grids changed: what failed may now work
        if saved is not None and _counts(_rank(g, labels, stuck, lo, hi)) < saved[1]:
            saved = None
    return labels if saved is None else saved[0]


def _best_trial(
    units: UnitGraph,
    g: Moves,
    labels: IntArray,
    grid: int,
    steps: tuple[int, ...],
    *,
    stuck: IntArray,
    target: int,
    lo: int,
    hi: int,
    seed: int,
    fixes_only: bool = False,
    memo: Memo | None = None,
    home: IntArray | None = None,
) -> tuple[IntArray, bool] | None:
    """Return the first repair of ``grid`` that helps (module doc) and whether it leaves
    fewer grids out of band, or None.

    ``fixes_only`` (a rebalance): the first of the ``steps`` whose repair leaves fewer grids
    out of band; only when none does, the first that brings grids nearer the band (the
    caller undoes it unless a fix follows: alone it moves households for no grid brought
    in).
    """
    opts = {"target": target, "lo": lo, "hi": hi, "seed": seed}
    h_grid = int(g.households[labels == grid].sum())
    now = _rank(g, labels, stuck, lo, hi)
    nearer: IntArray | None = None
    for step in steps:
        if step == 0:
            drawn = split_or_dissolve_trial(units, g, labels, grid, **opts)
        else:
            drawn = local_trial(units, g, labels, grid, rings=LOCAL_RINGS[step - 1], **opts)
        if drawn is None:
            continue
        trial, _ = balance(g, drawn, lo=lo, hi=hi, excused=excused_mask(drawn, stuck), memo=memo)
        if step == 0 and fixes_only and h_grid > hi:
            trial = cheapest_split(
                g, labels, grid, trial, stuck=stuck, lo=lo, hi=hi, memo=memo, home=home
            )
        after = _rank(g, trial, stuck, lo, hi)
        big = h_grid > 2 * hi and after[2] < now[2]
        # a split or dissolve: fewer grids out of band, proven ones included; a local
        # redraw: fewer grids out of band, proven ones aside (then, unless ``fixes_only``,
        # fewer households outside the band)
        ok = (after < now or big) if step == 0 else after[1] < now[1]
        if ok and not fixes_only:
            return trial, True
        a, b = _counts(after), _counts(now)
        if (a < b or big) if step == 0 else a[1] < b[1]:
            return trial, True
        if ok and nearer is None:
            nearer = trial
    return None if nearer is None else (nearer, False)


def cheapest_split(
    g: Moves,
    labels: IntArray,
    grid: int,
    split: IntArray,
    *,
    stuck: IntArray,
    lo: int,
    hi: int,
    memo: Memo | None = None,
    home: IntArray | None = None,
) -> IntArray:
    """Return, of overfull ``grid``'s balanced ``split`` and its balanced peels
    (:func:`peel_trials`), the one leaving fewest grids out of band (households outside
    the band aside), then changing fewest households from ``home`` (the labels before
    the moves, default ``labels``); the split when no peel leaves fewer grids out of band
    than ``labels`` (no peels of a grid of more than :data:`PEEL_UNITS` units)."""
    home = labels if home is None else home
    now = _counts(_rank(g, labels, stuck, lo, hi))
    best = (_counts(_rank(g, split, stuck, lo, hi)), 0, split)
    if best[0] < now:
        best = (best[0], changed_households(g.households, home, split), split)
    if int(np.count_nonzero(labels == grid)) > PEEL_UNITS:
        return best[2]
    for drawn in peel_trials(g, labels, grid):
        trial, _ = balance(g, drawn, lo=lo, hi=hi, excused=excused_mask(drawn, stuck), memo=memo)
        after = _counts(_rank(g, trial, stuck, lo, hi))
        if not after < now:
            continue
        key = (after, changed_households(g.households, home, trial))
        if not best[0] < now or key < best[:2]:
            best = (*key, trial)
    return best[2]


def _counts(
    rank: tuple[int, tuple[int, float], float],
) -> tuple[int, tuple[int, float], float]:
    """Return ``rank`` (:func:`_rank`) with the households outside the band left out."""
    return rank[0], (rank[1][0], 0.0), 0.0


def _rank(
    g: Moves, labels: IntArray, stuck: IntArray, lo: int, hi: int
) -> tuple[int, tuple[int, float], float]:
    """Return (grids out of band, the same with proven ones aside, households outside)."""
    every = out_key(g, labels, lo, hi, set())
    return every[0], out_key(g, labels, lo, hi, excused_of(labels, stuck)), every[1]
