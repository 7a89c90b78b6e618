"""How many households must change grid for a community's grids to reach the band.

The yardstick of a minimal-change rebalance: a lower bound on the households any plan that
keeps whole planning units must move so that every grid not proven impossible is in the
band ``[lo, hi]`` (households counted as changed when their new grid is not the match of
their old grid, old and new grids matched one-to-one).

Per community, with ``h_g`` the households of old grid ``g`` (units labelled by the grid
holding most of their households) and grids holding a proven-stuck unit left out:

- a grid above ``hi`` loses whole units: at least the smallest sum of its units' households
  that is ``>= h_g - hi`` (``E``, summed over such grids);
- a grid below ``lo`` either gains ``>= lo - h_g`` or gives away all ``h_g``: at least
  ``min(lo - h_g, h_g)`` (``D``, summed), less the households no old grid held;
- a changed household leaves one grid and joins one, so it counts towards at most one
  grid's ``E`` and two grids' ``E + D``: at least ``max(E, (E + D) / 2)`` change;
- a community of ``H`` households needs at least ``ceil(H / hi)`` grids; each grid beyond
  the ``k`` it has holds ``>= lo`` households that all changed: at least
  ``(ceil(H / hi) - k) * lo`` (only when no grid of the community is excused).

The bound is the largest of these; it is not always reachable (connectivity and unit
sizes are ignored), so a rebalance at the bound is optimal and one near it nearly so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.bits import subset_sums

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class MoveBound:
    """The lower bound of one community (or a sum of them), with its parts."""

    households: int
    excess: int
    deficit: int
    new_grids: int

    def __add__(self, other: MoveBound) -> MoveBound:
        return MoveBound(
            self.households + other.households,
            self.excess + other.excess,
            self.deficit + other.deficit,
            self.new_grids + other.new_grids,
        )


ZERO = MoveBound(0, 0, 0, 0)


def smallest_sum_at_least(values: IntArray, need: int) -> int:
    """Return the smallest sum of a subset of ``values`` (non-negative) that is ``>= need``.

    Exact (a bitset of reachable sums); ``sum(values)`` when no smaller subset reaches it.
    """
    if need <= 0:
        return 0
    vals = [int(v) for v in values if v > 0]
    total = sum(vals)
    if total <= need:
        return total
    above = subset_sums(vals) >> need
    return need + ((above & -above).bit_length() - 1)


def community_bound(
    households: IntArray, labels: IntArray, *, lo: int, hi: int, stuck: IntArray
) -> MoveBound:
    """Return the lower bound of one community (module doc).

    Parameters
    ----------
    households
        Households of each planning unit.
    labels
        Old grid of each unit (``-1``: in no old grid).
    lo, hi
        The band.
    stuck
        Units no grid in the band can hold: their grids are left out.
    """
    hh = np.asarray(households, dtype=np.int64)
    has = labels >= 0
    gap = int(hh[~has].sum())
    if not has.any():
        return ZERO
    k = int(labels.max()) + 1
    h = np.bincount(labels[has], weights=hh[has], minlength=k).astype(np.int64)
    present = np.bincount(labels[has], minlength=k) > 0
    excused = np.zeros(k, dtype=bool)
    excused[labels[stuck][labels[stuck] >= 0]] = True
    excess = 0
    deficit = 0
    for g in np.flatnonzero(present & ~excused).tolist():
        if h[g] > hi:
            excess += smallest_sum_at_least(hh[labels == g], int(h[g]) - hi)
        elif h[g] < lo:
            deficit += min(lo - int(h[g]), int(h[g]))
    deficit = max(0, deficit - gap)
    new = 0
    if not excused.any():
        new = max(0, math.ceil((int(h.sum()) + gap) / hi) - int(present.sum()))
    bound = max(excess, math.ceil((excess + deficit) / 2), new * lo - gap)
    return MoveBound(int(bound), int(excess), int(deficit), int(new))
