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

SEARCH_LIMIT = 20_000
"""Most sets examined per unit before giving up (then the unit is not reported)."""


def near_units(households: IntArray, nbrs: Sequence[Sequence[int]]) -> list[set[int]]:
    """Return, per unit with households, the units with households it is near."""
    out: list[set[int]] = [set() for _ in range(len(households))]
    for u in np.flatnonzero(households > 0).tolist():
        seen = {u}
        queue = deque([u])
        while queue:
            x = queue.popleft()
            for v in nbrs[x]:
                if v in seen:
                    continue
                seen.add(v)
                if households[v] > 0:
                    out[u].add(v)
                else:
                    queue.append(v)
    return out


def lonely_units(
    households: IntArray, nbrs: Sequence[Sequence[int]], *, lo: int, hi: int
) -> IntArray:
    """Return the units (below ``lo``, with households) no grid in the band can hold."""
    hh = np.asarray(households, dtype=np.int64)
    small = np.flatnonzero((hh > 0) & (hh < lo))
    if len(small) == 0:
        return np.zeros(0, dtype=np.int64)
    near = near_units(hh, nbrs)
    out = [u for u in small.tolist() if not _band_set_exists(u, hh, near, lo=lo, hi=hi)]
    return np.asarray(out, dtype=np.int64)


def _band_set_exists(u: int, hh: IntArray, near: list[set[int]], *, lo: int, hi: int) -> bool:
    """Return whether some connected set holding ``u`` has ``lo..hi`` households (True
    when the search gives up)."""
    budget = [SEARCH_LIMIT]
    stack: list[tuple[int, frozenset[int], frozenset[int], frozenset[int]]] = [
        (int(hh[u]), frozenset({u}), frozenset(near[u]), frozenset({u}))
    ]
    while stack:
        total, chosen, frontier, banned = stack.pop()
        if total >= lo:
            return True
        budget[0] -= 1
        if budget[0] < 0:
            return True
        banned_here = set(banned)
        for v in sorted(frontier):
            if v in banned_here:
                continue
            banned_here.add(v)
            if total + hh[v] > hi:
                continue
            grown = chosen | {v}
            stack.append(
                (
                    total + int(hh[v]),
                    grown,
                    frozenset((frontier | near[v]) - grown),
                    frozenset(banned_here),
                )
            )
    return False
