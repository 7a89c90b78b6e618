"""Proof that a unit can never lie in a grid in the band: no connected set of units holding
it has between ``lo`` and ``hi`` households.

A grid is a connected set of planning units; land without households joins any grid, so
two units with households are *near* when they touch or are joined by a path of units
without households. A unit below the band minimum is *lonely* when every connected (by
nearness) set of units containing it with at most ``hi`` households has fewer than ``lo``:
whatever grid holds it is out of band. The search enumerates those sets once each (the
exclusion rule of connected-subgraph enumeration: after a unit is tried it is left out of
the branches that follow), stops at the first set in the band, and gives up (no proof) after
:data:`SEARCH_LIMIT` sets, so a proof is exact and the cost bounded.

This is stronger than :func:`gridgen.partition.proofs.unbalanceable_units` (a single
neighbour is never enough) and used for the grids rebalance and merge-grids leave out of
band; every grid reported as impossible has such a unit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]

SEARCH_LIMIT = 5_000
"""Most sets examined per unit before giving up (then the unit is not reported)."""


def near_units(households: IntArray, nbrs: Sequence[Sequence[int]]) -> list[set[int]]:
    """Return, per unit with households, the units with households it is near.

    The units without households are grouped into connected pieces of land first, and each
    piece's bordering units are listed once: a breadth-first walk per unit would cross the
    same land again for every unit around it (0.28 s of a 0.66 s rebalance of Helsinki)."""
    hh = np.asarray(households)
    land = _land_pieces(hh, nbrs)
    border: dict[int, set[int]] = {}
    for x in np.flatnonzero(land >= 0).tolist():
        border.setdefault(int(land[x]), set()).update(v for v in nbrs[x] if hh[v] > 0)
    out: list[set[int]] = [set() for _ in range(len(hh))]
    for u in np.flatnonzero(hh > 0).tolist():
        mine = out[u]
        for v in nbrs[u]:
            if hh[v] > 0:
                mine.add(v)
            else:
                mine |= border[int(land[v])]
        mine.discard(u)
    return out


def _land_pieces(hh: IntArray, nbrs: Sequence[Sequence[int]]) -> IntArray:
    """Return, per unit without households, its connected piece of such units (-1 for the
    others)."""
    piece = np.full(len(hh), -1, dtype=np.int64)
    k = 0
    for start in np.flatnonzero(hh <= 0).tolist():
        if piece[start] >= 0:
            continue
        piece[start] = k
        queue = deque([start])
        while queue:
            x = queue.popleft()
            for v in nbrs[x]:
                if hh[v] <= 0 and piece[v] < 0:
                    piece[v] = k
                    queue.append(v)
        k += 1
    return piece


def lonely_units(
    households: IntArray, nbrs: Sequence[Sequence[int]], *, lo: int, hi: int
) -> IntArray:
    """Return the units (below ``lo``, with households) no grid in the band can hold."""
    hh = np.asarray(households, dtype=np.int64)
    small = np.flatnonzero((hh > 0) & (hh < lo))
    if len(small) == 0:
        return np.zeros(0, dtype=np.int64)
    near = near_units(hh, nbrs)
    out = [
        u
        for u in small.tolist()
        if not _greedy_band_set(u, hh, near, lo=lo, hi=hi)
        and not _band_set_exists(u, hh, near, lo=lo, hi=hi)
    ]
    return np.asarray(out, dtype=np.int64)


def _greedy_band_set(u: int, hh: IntArray, near: list[set[int]], *, lo: int, hi: int) -> bool:
    """Return True when growing a set from ``u`` (largest unit that fits first, then
    smallest first) reaches the band: the usual, cheap way to rule a proof out."""
    for largest in (True, False):
        chosen, total, frontier = {u}, int(hh[u]), set(near[u])
        while True:
            fits = [v for v in frontier if total + hh[v] <= hi]
            if not fits:
                break
            if any(total + hh[v] >= lo for v in fits):
                return True
            v = (
                max(fits, key=lambda x: (hh[x], -x))
                if largest
                else min(fits, key=lambda x: (hh[x], x))
            )
            chosen.add(v)
            total += int(hh[v])
            frontier = (frontier | near[v]) - chosen
    return False


def _band_set_exists(u: int, hh: IntArray, near: list[set[int]], *, lo: int, hi: int) -> bool:
    """Return whether some connected set holding ``u`` has ``lo..hi`` households (True
    when the search gives up after :data:`SEARCH_LIMIT` sets)."""
    budget = [SEARCH_LIMIT]

    def grow(
        total: int, chosen: frozenset[int], frontier: frozenset[int], banned: set[int]
    ) -> bool:
        if total >= lo:
            return True
        budget[0] -= 1
        if budget[0] < 0:
            return True
        tried = set(banned)
        for v in sorted(frontier - tried, key=lambda x: (-hh[x], x)):
            tried.add(v)
            if total + hh[v] > hi:
                continue
            grown = chosen | {v}
            if grow(total + int(hh[v]), grown, (frontier | near[v]) - grown, tried):
                return True
        return False

    return grow(int(hh[u]), frozenset({u}), frozenset(near[u]), {u})
