"""The fewest grids out of band a connected part of a community can have: exhaustive search.

:func:`gridgen.partition.exact.in_band_partition` asks whether a part divides into
connected grids that are all in the band. Where it cannot (or where some units are out of
band whatever the plan: ``stuck``, a unit above the maximum or one below the minimum that
no in-band set can hold), a plan may still leave more grids out of band than it must.
:func:`fewest_out_partition` asks: is there a division into connected regions where

- every region is in the band, or
- holds a stuck unit (its grid is out of band whatever the plan) and at most ``cap``
  households (twice the band maximum: no grid of rebalance or merge-grids holds more;
  a stuck unit above ``cap`` is a region of its own), or
- is one of at most ``most`` other regions out of band (at most ``cap`` households)?

It returns such a division (a plan with fewer grids out of band than the one given, when
``most`` is one fewer), or proves there is none: then every plan whose grids hold at most
``cap`` households leaves at least ``most + 1`` grids out of band besides those holding a
stuck unit, and a plan with exactly that many is as good as any (the proof rebalance and
merge-grids report, kind ``unsplittable``), or gives up after ``budget`` sets.

The search is the one of :mod:`gridgen.partition.exact` (a region holding the branch unit
among every connected set of units, the rest component by component, results remembered
per component and number of regions allowed out of band), with regions up to ``cap``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.bits import fits_some_count, neighbour_masks, set_bits
from gridgen.partition.exact_result import ExactResult, land_joined

IntArray = NDArray[np.int64]
FEWEST_OUT_BUDGET = 30_000
"""Connected sets one search examines before it gives up (rebalance and merge-grids)."""
FEWEST_OUT_UNITS = 32
"""Largest part (units) searched."""


class _OutOfBudgetError(Exception):
    """The search examined the sets its budget allows."""


class _Search:
    """One search: neighbour masks, stuck units, memo per (component, regions allowed out)."""

    def __init__(
        self,
        hh: list[int],
        nbrs: list[int],
        stuck: int,
        *,
        band: tuple[int, int],
        window: tuple[int, int],
    ) -> None:
        self.hh, self.nbrs, self.stuck = hh, nbrs, stuck
        self.lo, self.hi = band
        self.floor, self.cap = window
        self.budget = 0
        self.memo: dict[tuple[int, int], tuple[list[int], int] | None] = {}

    def components(self, mask: int) -> list[tuple[int, int]]:
        """Return the connected components of ``mask`` with their households."""
        hh, nbrs = self.hh, self.nbrs
        out = []
        while mask:
            comp = frontier = mask & -mask
            total = 0
            while frontier:
                grow = 0
                for v in set_bits(frontier):
                    grow |= nbrs[v]
                    total += hh[v]
                frontier = grow & mask & ~comp
                comp |= frontier
            out.append((comp, total))
            mask &= ~comp
        return out

    def solve(self, mask: int, total: int, most: int) -> tuple[list[int], int] | None:
        """Return regions covering ``mask`` (connected, ``total`` households) with at most
        ``most`` out of band besides those holding a stuck unit, and how many are, or None."""
        key = (mask, most)
        if key in self.memo:
            return self.memo[key]
        free = mask & self.stuck
        result: tuple[list[int], int] | None
        if total == 0:
            result = ([], 0)
        elif self.lo <= total <= self.hi or (free and total <= self.cap):
            result = ([mask], 0)
        elif not free and most == 0 and not fits_some_count(total, lo=self.lo, hi=self.hi):
            result = None
        elif most > 0 and not free and self.floor <= total <= self.cap:
            result = ([mask], 1)
        else:
            result = self._branch(mask, most)
        self.memo[key] = result
        return result

    def _anchor(self, mask: int) -> int:
        """Return the unit to branch on: the largest stuck unit, else the largest unit (the
        fewest regions hold it)."""
        pool = set_bits(mask & self.stuck) or set_bits(mask)
        return min(pool, key=lambda v: (-self.hh[v], v))

    def _branch(self, mask: int, most: int) -> tuple[list[int], int] | None:
        """Return the regions of ``mask``, the region of :meth:`_anchor` chosen first."""
        anchor = self._anchor(mask)
        grow_to = self.cap if (mask & self.stuck or most > 0) else self.hi
        start = 1 << anchor
        seen = {start}
        stack = [(start, self.hh[anchor], self.nbrs[anchor] & mask)]
        while stack:
            region, s, frontier = stack.pop()
            self.budget -= 1
            if self.budget < 0:
                raise _OutOfBudgetError
            out = 0 if (region & self.stuck or self.lo <= s <= self.hi) else 1
            if out <= most and (out == 0 or s >= self.floor):
                rest = self._rest(mask & ~region, most - out)
                if rest is not None:
                    return [region, *rest[0]], rest[1] + out
            for v in set_bits(frontier):
                if s + self.hh[v] > grow_to:
                    continue
                grown = region | (1 << v)
                if grown not in seen:
                    seen.add(grown)
                    stack.append((grown, s + self.hh[v], (frontier | self.nbrs[v]) & mask & ~grown))
        return None

    def _rest(self, mask: int, most: int) -> tuple[list[int], int] | None:
        """Return the regions of every component of ``mask``, at most ``most`` out of band
        in all (each component takes the fewest it needs), and how many are."""
        comps = self.components(mask)
        need = [
            0 if comp & self.stuck or fits_some_count(total, lo=self.lo, hi=self.hi) else 1
            for comp, total in comps
        ]
        if sum(need) > most:
            return None  # components no number of grids fits need one out of band each
        out: list[int] = []
        used = 0
        for (comp, total), least in zip(comps, need, strict=True):
            for allowed in range(least, most - used + 1):
                found = self.solve(comp, total, allowed)
                if found is not None:
                    break
            else:
                return None
            out += found[0]
            used += found[1]
        return out, used


def fewest_out_partition(
    households: IntArray,
    edges: IntArray,
    *,
    stuck: NDArray[np.bool_],
    band: tuple[int, int],
    most: int,
    window: tuple[int, int],
    budget: int = FEWEST_OUT_BUDGET,
) -> ExactResult:
    """Return a division of a connected part (``edges`` local to it) into connected regions
    with at most ``most`` out of band besides those holding a ``stuck`` unit (module doc):
    status ``"found"`` with the labels, ``"none"`` (proven: every such division has more)
    or ``"unknown"`` (gave up).

    ``window`` (``floor``, ``cap``): a region out of band holds ``floor..cap`` households,
    one holding a stuck unit at most ``cap`` (a stuck unit above it is a region of its own).
    A narrow window first finds the division whose grids are least out of band; ``"none"``
    is the proof only with ``floor`` 1 (below the band, any size) and ``cap`` the most any
    grid may hold (twice the band maximum).
    """
    n = len(households)
    hh = [int(h) for h in np.asarray(households).tolist()]
    nbrs = neighbour_masks(n, edges)
    stuck_mask = sum(1 << int(v) for v in np.flatnonzero(stuck).tolist())
    if any(h > window[1] for v, h in enumerate(hh) if not stuck_mask >> v & 1):
        return ExactResult("none")  # a unit above the cap: no region holds it
    search = _Search(hh, nbrs, stuck_mask, band=band, window=window)
    search.budget = budget
    everything = (1 << n) - 1
    try:
        regions = search._rest(everything, most)
    except _OutOfBudgetError:
        return ExactResult("unknown")
    if regions is None:
        return ExactResult("none")
    labels = np.full(n, -1, dtype=np.int64)
    for r, region in enumerate(regions[0]):
        labels[set_bits(region)] = r
    return ExactResult("found", land_joined(labels, nbrs))
