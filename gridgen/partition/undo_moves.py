"""Undoing moves that turned out not to be needed: the last step of a minimal change.

Boundary moves, splits and local redraws fix one grid at a time, so a unit can end up away
from its old grid although the grids would stay in band with it back (a unit handed on
along a chain that a later repair made unnecessary, two units swapped between the same
two grids). :func:`undo_moves` walks the units whose grid changed, largest households
first, and moves each back to its old grid (the new grid matched one-to-one to it by
shared households) when it touches that grid, the move keeps both grids connected (what
only the unit joins goes along, :func:`gridgen.partition.chains.branch`) and no grid ends
further outside the band than before. Each move back lowers the households whose grid
changed; land without households goes back too when it can (the old boundary). Two units
swapped between the same two grids go back together when neither could alone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from gridgen.partition.chains import Moves, branch, cut_units, grid_cuts

IntArray = NDArray[np.int64]
ROUNDS = 3
"""Passes over the changed units (a move back can make another possible)."""


def home_labels(households: IntArray, old: IntArray, labels: IntArray) -> IntArray:
    """Return, per unit, the new grid matched to its old grid (-1: none or no old grid)."""
    has = old >= 0
    if not has.any():
        return np.full(len(labels), -1, dtype=np.int64)
    m = np.zeros((int(old.max()) + 1, int(labels.max()) + 1))
    np.add.at(m, (old[has], labels[has]), households[has] + 1e-3)
    r, c = linear_sum_assignment(m, maximize=True)
    match = np.full(m.shape[0], -1, dtype=np.int64)
    match[r[m[r, c] > 0]] = c[m[r, c] > 0]
    return np.where(has, match[np.maximum(old, 0)], -1).astype(np.int64)


def undo_moves(
    g: Moves,
    labels: IntArray,
    old: IntArray,
    *,
    lo: int,
    hi: int,
    frozen: NDArray[np.bool_] | None = None,
) -> IntArray:
    """Return labels with units moved back to their old grids where nothing gets worse."""
    labels = labels.copy()
    frozen = np.zeros(len(labels), dtype=bool) if frozen is None else frozen
    hh = g.households
    for _ in range(ROUNDS):
        home = home_labels(hh, old, labels)
        away = np.flatnonzero((home >= 0) & (home != labels) & ~frozen)
        if len(away) == 0:
            break
        k = int(labels.max()) + 1
        h = np.bincount(labels, weights=hh, minlength=k).astype(np.int64)
        done = 0
        for u in sorted(away.tolist(), key=lambda x: (-int(hh[x]), x)):
            src, dst = int(labels[u]), int(home[u])
            if src == dst or not any(labels[v] == dst for v in g.nbrs[u]):
                continue
            moving = branch(g, labels, src, u, frozen, cuts=grid_cuts(g, labels, src))
            if moving is None:
                continue
            mv = list(moving)
            if np.any(home[mv] == src):
                continue  # it would carry units now home away from home
            hm = int(hh[mv].sum())
            if not _no_worse(int(h[src]), int(h[src]) - hm, lo, hi) or not _no_worse(
                int(h[dst]), int(h[dst]) + hm, lo, hi
            ):
                continue
            labels[mv] = dst
            h[src] -= hm
            h[dst] += hm
            done += 1
        done += _undo_swaps(g, labels, home, h, lo=lo, hi=hi, frozen=frozen)
        if done == 0:
            break
    return labels


def _undo_swaps(
    g: Moves,
    labels: IntArray,
    home: IntArray,
    h: IntArray,
    *,
    lo: int,
    hi: int,
    frozen: NDArray[np.bool_],
) -> int:
    """Move back pairs of units swapped between two grids (in place); return pairs undone.

    ``u`` sits in ``a`` with home ``b`` and ``v`` in ``b`` with home ``a``: both go home
    when neither holds its grid together, each then touches its home grid, and neither
    grid ends further outside the band.
    """
    hh = g.households
    away = [int(u) for u in np.flatnonzero((home >= 0) & (home != labels) & ~frozen & (hh > 0))]
    by_pair: dict[tuple[int, int], list[int]] = {}
    for u in away:
        by_pair.setdefault((int(labels[u]), int(home[u])), []).append(u)
    done = 0
    for (a, b), us in sorted(by_pair.items()):
        vs = by_pair.get((b, a), [])
        if a > b or not vs:
            continue
        for u in sorted(us, key=lambda x: -int(hh[x])):
            for v in sorted(vs, key=lambda x: abs(int(hh[x]) - int(hh[u]))):
                if labels[u] != a or labels[v] != b:
                    continue
                d = int(hh[u]) - int(hh[v])
                if not (
                    _no_worse(int(h[a]), int(h[a]) - d, lo, hi)
                    and _no_worse(int(h[b]), int(h[b]) + d, lo, hi)
                ):
                    continue
                if u in cut_units(g, labels, a) or v in cut_units(g, labels, b):
                    continue
                labels[u], labels[v] = b, a
                touch_u = any(labels[w] == b and w != u for w in g.nbrs[u])
                touch_v = any(labels[w] == a and w != v for w in g.nbrs[v])
                if not (touch_u and touch_v) or _split(g, labels, a) or _split(g, labels, b):
                    labels[u], labels[v] = a, b
                    continue
                h[a] -= d
                h[b] += d
                done += 1
                break
    return done


def _split(g: Moves, labels: IntArray, grid: int) -> bool:
    """Return whether ``grid``'s units fall apart in the unit graph."""
    members = set(np.flatnonzero(labels == grid).tolist())
    if not members:
        return True
    start = next(iter(members))
    seen = {start}
    stack = [start]
    while stack:
        x = stack.pop()
        for y in g.nbrs[x]:
            if y in members and y not in seen:
                seen.add(y)
                stack.append(y)
    return len(seen) != len(members)


def _no_worse(before: int, after: int, lo: int, hi: int) -> bool:
    """Return whether a grid going from ``before`` to ``after`` households stays in band,
    or (out of band before) gets no further outside it."""
    if lo <= after <= hi:
        return True
    if lo <= before <= hi:
        return False
    return max(lo - after, after - hi) <= max(lo - before, before - hi)
