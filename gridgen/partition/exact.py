"""Exhaustive search for in-band partitions of a small part of a community.

The region search (:mod:`gridgen.partition.regions`) is a heuristic: when it leaves a
region out of band, either a better plan exists or none does. For a part of a few dozen
units, :func:`in_band_partition` settles it by exhaustive search: a region holding the
branch unit is chosen among every connected set of units with households in the band, and
the rest, component by component, is searched the same way (the results of components
already seen are remembered). The branch unit is, in turn (:data:`MODES`, each with a share
of the budget), the one the fewest in-band sets hold, the one with the fewest neighbours,
and the largest. A part where some unit has no connected in-band set left is given up at
once (no region can hold that unit), which settles most impossible parts without
branching. Either it returns a partition into connected in-band regions, or it proves
there is none (a proof reported as ``unsplittable``), or it gives up after its budget of
sets (:data:`EXACT_BUDGET` for the partitioner, :data:`REPAIR_EXACT_BUDGET` for rebalance
and merge-grids). Where it gives up, the proof by a piece hung from one unit
(:mod:`gridgen.partition.hung_pieces`, each reduced part searched), then a search with the
room check (:meth:`_Search._needed`) gets :data:`ROOM_SETS` more, its unit checks counted
(uncounted, they cost city31 6 s), then the proof by households first
(:func:`gridgen.partition.land_proofs.land_proof`).

Land without households in a component of its own joins any neighbouring region (that
keeps the region connected and its households unchanged), so it never blocks a partition.

Sets of units are Python integers used as bit sets (one bit per unit): unions, differences
and neighbourhoods are single integer operations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.bits import fitting_totals, neighbour_masks, set_bits, shortfalls
from gridgen.partition.exact_result import SEARCHED, ExactResult, found_result
from gridgen.partition.hung_pieces import hung_proof
from gridgen.partition.land_proofs import LAND_PROOF_STEPS, land_proof

IntArray = NDArray[np.int64]

EXACT_UNITS = 60
"""Largest part (units) searched exhaustively."""
EXACT_BUDGET = 20_000
"""Connected sets the partitioner's search examines before it gives up (~0.1-0.2 s): on
the walled and make_city benches 30,000 changed no grid and cost 0.3-0.5 CPU s."""
REPAIR_EXACT_BUDGET = 30_000
"""The same for rebalance and merge-grids, whose last-resort fix and the proof they report
for a grid left out of band ask the same search (remembered per budget): the third search
order (fewest in-band sets) needs its share of it on make_city."""
PROVEN_KEPT = 256
"""Parts proven to have no partition, and parts the search gave up on (per budget),
remembered (the rebalance asks twice: to fix, then to report the proof)."""
_Key = tuple[tuple[int, ...], bytes, int, int]
_PROVEN: dict[_Key, str] = {}
_GAVE_UP: set[tuple[_Key, int]] = set()
QUICK_SETS = 2_000
"""Sets the first search order examines before the cut proofs are tried (then the whole
search runs): most parts are settled within them."""
MODES = ("fewest sets", "fewest neighbours", "largest")
"""The searches :func:`in_band_partition` runs in turn on one memo, a share of the budget
each: branching on the unit the fewest in-band sets hold, on the unit with the fewest
neighbours (both settle proofs soonest, on different parts), on the largest unit (finds
partitions soonest)."""
ANCHOR_SETS = 8
"""In-band sets counted per unit when choosing the unit to branch on (the one with the
fewest: the smallest search tree)."""
ROOM_SETS = 5_000
"""Sets (those of the unit checks counted too) of the room search (:meth:`_Search._needed`)
run where the plain search gave up: walled's 40-unit part is found in 2,000 (7 ms), city31's
40-unit part around a stuck compound in 3,000."""
HUNG_SETS = 20_000
"""Sets the room search examines per reduced part of a piece hung from one unit
(:mod:`gridgen.partition.hung_pieces`): walled's 51-unit part, four parts of 30-31 units,
needs 870-13,900 each (0.15 s in all)."""
CHECK_SETS = 200
"""Connected sets examined per unit when checking that every unit of a part still has some
in-band region (:meth:`_Search._band_set`; beyond that the unit is assumed to have one)."""


class _OutOfBudgetError(Exception):
    """The search examined the sets its budget allows."""


class _Search:
    """The state of one exhaustive search (neighbour masks, memo, budget)."""

    def __init__(self, hh: list[int], nbrs: list[int], *, lo: int, hi: int, budget: int) -> None:
        self.hh, self.nbrs, self.lo, self.hi = hh, nbrs, lo, hi
        self.budget = budget
        self.mode = "fewest neighbours"
        """How the unit to branch on is chosen (:data:`MODES`)."""
        self.free = 0
        """Units out of band whatever the plan (:func:`in_band_partition`'s ``free``)."""
        self.eh = list(hh)
        """Households counted against ``hi`` (0 for a free unit below ``lo``: its region
        holds up to ``hi`` besides it)."""
        self.memo: dict[int, list[int] | None] = {}
        self.fit = fitting_totals(sum(hh), lo=lo, hi=hi)
        """Per total of households, whether some number of regions fits it."""
        self.short: list[int] = []
        """Per total of households, how many a part of that total must give to a region
        next to it for the rest to fit some number of grids (:meth:`_needed`); empty: the
        plain search, without that check."""

    def total(self, mask: int) -> int:
        return sum(self.hh[v] for v in set_bits(mask))

    def components(self, mask: int) -> Iterator[tuple[int, int]]:
        """Yield the connected components of ``mask`` with their households, lazily."""
        hh, nbrs = self.hh, self.nbrs
        while mask:
            comp = frontier = mask & -mask
            total = 0
            while frontier:
                grow = 0
                while frontier:
                    low = frontier & -frontier
                    v = low.bit_length() - 1
                    frontier ^= low
                    grow |= nbrs[v]
                    total += hh[v]
                frontier = grow & mask & ~comp
                comp |= frontier
            yield comp, total
            mask &= ~comp

    def solve(self, mask: int, total: int) -> list[int] | None:
        """Return regions (bit sets) covering the populated units of ``mask``, or None."""
        if mask in self.memo:
            return self.memo[mask]
        if total == 0:
            return []
        free = mask & self.free
        if not free and not self.fit[total]:
            result = None
        elif total - sum(self.hh[v] - self.eh[v] for v in set_bits(free)) <= self.hi:
            result = [mask]
        elif any(
            not self._band_set(v, mask) for v in set_bits(mask & ~free) if 0 < self.hh[v] < self.lo
        ):
            result = None
        else:
            result = self._branch(mask)
        self.memo[mask] = result
        return result

    def _band_set(self, v: int, mask: int) -> bool:
        """Return whether some connected set of ``mask`` holding ``v`` has ``lo..hi``
        households, or reaches a free unit within ``hi`` (True when :data:`CHECK_SETS` sets
        did not settle it): a unit without one cannot be in any region of ``mask``, so
        ``mask`` has no partition."""
        hh, nbrs, lo, hi, free = self.hh, self.nbrs, self.lo, self.hi, self.free
        start = 1 << v
        seen = {start}
        stack = [(start, hh[v], nbrs[v] & mask)]
        left = CHECK_SETS
        while stack and left:
            region, s, frontier = stack.pop()
            left -= 1
            todo = frontier
            while todo:
                low = todo & -todo
                w = low.bit_length() - 1
                todo ^= low
                if low & free and not self.eh[w]:
                    return True  # its region holds up to hi besides it
                t = s + hh[w]
                if t > hi:
                    continue
                if t >= lo:
                    self.budget -= CHECK_SETS - left if self.short else 0
                    return True
                grown = region | low
                if grown not in seen:
                    seen.add(grown)
                    stack.append((grown, t, (frontier | nbrs[w]) & mask & ~grown))
        # the room search counts these sets: it reaches many more parts per set of its own
        # (city31's 42-unit part: 67,000 checks of up to 200 sets each, 4.9 million sets
        # uncounted, 6.5 s, where the plain search checks 4,000)
        self.budget -= CHECK_SETS - left if self.short else 0
        return bool(stack)

    def _band_sets(self, v: int, mask: int) -> int:
        """Return how many connected sets of ``mask`` holding ``v`` have ``lo..hi``
        households (counting stops at :data:`ANCHOR_SETS`)."""
        hh, nbrs, lo, hi, eh = self.hh, self.nbrs, self.lo, self.hi, self.eh
        start = 1 << v
        seen = {start}
        stack = [(start, eh[v], nbrs[v] & mask)]
        found = 1 if hh[v] >= lo or start & self.free else 0
        pops = 0
        while stack and found < ANCHOR_SETS and pops < 8 * ANCHOR_SETS:
            region, s, frontier = stack.pop()
            pops += 1
            for w in set_bits(frontier):
                t = s + eh[w]
                grown = region | (1 << w)
                if t > hi or grown in seen:
                    continue
                seen.add(grown)
                if t >= lo or grown & self.free:
                    found += 1
                stack.append((grown, t, (frontier | nbrs[w]) & mask & ~grown))
        return found

    def _branch(self, mask: int) -> list[int] | None:
        """Return the regions of ``mask`` with the region of its most constrained unit first."""
        if self.mode == "largest":  # the largest unit: fewest regions hold it
            anchor = min(set_bits(mask), key=lambda v: (-self.hh[v], v))
        elif self.mode == "fewest sets":  # the fewest regions can hold it: dead ends soonest
            anchor = min(
                (v for v in set_bits(mask) if self.hh[v] > 0),
                key=lambda v: (self._band_sets(v, mask), (self.nbrs[v] & mask).bit_count(), v),
            )
        else:  # the fewest neighbours
            anchor = min(
                set_bits(mask),
                key=lambda v: (self.hh[v] == 0, (self.nbrs[v] & mask).bit_count(), v),
            )
        start = 1 << anchor
        seen = {start}
        eh, hh, free = self.eh, self.hh, self.free
        # a region grown last by land (no households) is no candidate of its own: the region
        # before it holds the same households and leaves that land to the rest, where land
        # never stands in the way (it joins any neighbour), so it was tried already and
        # failed; it is still grown, to reach households beyond the land
        stack = [(start, eh[anchor], self.nbrs[anchor] & mask, True)]
        room, room_from = bool(self.short), 2 * self.lo - self.hi
        while stack:
            region, s, frontier, candidate = stack.pop()
            self.budget -= 1
            if self.budget < 0:
                raise _OutOfBudgetError
            # the parts left must fit counts: a region too full to take what they give up
            # ends this branch (checked once it holds 2 lo - hi households: before, what the
            # parts give up rarely exceeds its room, and the check costs a pass over them)
            needed = (
                self._needed(mask & ~region, room=self.hi - s) if room and s >= room_from else 0
            )
            if needed < 0:
                continue
            if candidate and not needed and (s >= self.lo or region & free):
                rest = self._rest(mask & ~region)
                if rest is not None:
                    return [region, *rest]
            todo = frontier
            while todo:
                low = todo & -todo
                v = low.bit_length() - 1
                todo ^= low
                if s + eh[v] > self.hi:
                    continue
                grown = region | low
                if grown not in seen:
                    seen.add(grown)
                    ahead = (frontier | self.nbrs[v]) & mask & ~grown
                    stack.append((grown, s + eh[v], ahead, hh[v] > 0 or bool(low & free)))
        return None

    def _needed(self, mask: int, *, room: int) -> int:
        """Return the households a region next to the parts of ``mask`` must still take
        for every part to fit some number of grids, or -1 when that is more than ``room``.

        A region grown further takes units of the parts, and a part then leaves pieces
        within it, whose totals add up to one some count fits (a sum of such totals is
        one): so a part of ``t`` households gives at least ``t`` minus the largest total up
        to ``t`` some count fits, to this region or one grown from it. Parts holding a free
        unit need nothing (they are not held to a count)."""
        needed = 0
        for comp, total in self.components(mask):
            if not comp & self.free:
                needed += self.short[total]
                if needed > max(room, 0):
                    return -1
        return needed

    def _rest(self, mask: int) -> list[int] | None:
        """Return the regions of every component of ``mask`` (None as soon as one fails)."""
        if mask in self.memo:  # a connected part seen before
            return self.memo[mask]
        out: list[int] = []
        for comp, total in self.components(mask):
            if total and not comp & self.free and not self.fit[total]:
                return None
            found = self.solve(comp, total)
            if found is None:
                return None
            out += found
        return out


def in_band_partition(
    households: IntArray,
    edges: IntArray,
    *,
    lo: int,
    hi: int,
    budget: int = EXACT_BUDGET,
    free: NDArray[np.bool_] | None = None,
) -> ExactResult:
    """Return a partition of a connected part into connected regions of ``lo..hi``
    households, or the proof that none exists (module docstring).

    The first search order runs with :data:`QUICK_SETS`; when that does not settle the
    part, the cut proofs (:mod:`gridgen.partition.cut_proofs`, milliseconds) are tried, then
    the search runs in turn with each of :data:`MODES` on one memo, a third of the budget
    each. Proofs are remembered per part (with what proved them, :attr:`ExactResult.by`).

    ``free``: units proven out of band whatever the plan (above the maximum, or below the
    minimum with no in-band region to join): a region holding one below the minimum needs
    no households beyond it and holds at most ``hi`` besides it; one above the maximum is a
    region of its own. Then the partition found has every other region in the band, and
    "none" is not a proof (a free unit's region holding more might help the others): the
    status is ``"unknown"`` instead.
    """
    if free is not None and np.any(free):
        return _with_free(households, edges, lo=lo, hi=hi, budget=budget, free=free)
    n = len(households)
    hh = [int(h) for h in np.asarray(households).tolist()]
    if any(h > hi for h in hh):
        return ExactResult("none")  # no region holding that unit is in the band
    key = (tuple(hh), np.asarray(edges, dtype=np.int64).tobytes(), lo, hi)
    if key in _PROVEN:
        return ExactResult("none", by=_PROVEN[key])
    if (key, budget) in _GAVE_UP:
        return ExactResult("unknown")
    nbrs = neighbour_masks(n, edges)
    # the first search order with a small budget settles most parts; before the whole
    # search, the cut proofs (milliseconds) settle parts it would give up on or take long
    # to prove (make_city rebalance: parts of 40 and 47 units, 0.1-0.2 s of search each)
    quick = min(QUICK_SETS, budget // len(MODES))  # the same first steps as the whole search
    settled, regions = _searched(hh, nbrs, lo=lo, hi=hi, budget=quick, modes=MODES[:1])
    if not settled and quick < budget // len(MODES):
        from gridgen.partition.cut_proofs import CUT_PROOF, cut_proof

        if cut_proof(np.asarray(hh, dtype=np.int64), edges, band=(lo, hi)):
            _remember_proof(key, CUT_PROOF)
            return ExactResult("none", by=CUT_PROOF)
        settled, regions = _searched(hh, nbrs, lo=lo, hi=hi, budget=budget, modes=MODES)
    if not settled and hung_proof(hh, edges, lo=lo, hi=hi, none=_no_division(lo, hi, budget)):
        settled, regions = True, None  # a piece hung from one unit (walled's 51-unit part)
    if not settled:
        settled, regions = _room_searched(hh, nbrs, lo=lo, hi=hi, budget=min(budget, ROOM_SETS))
    if not settled and land_proof(hh, nbrs, lo=lo, hi=hi, steps=min(budget, LAND_PROOF_STEPS)):
        settled, regions = True, None  # by households first (walled43's 31-unit part)
    if not settled:
        _remember(_GAVE_UP, (key, budget))
        return ExactResult("unknown")
    if regions is None:
        _remember_proof(key, SEARCHED)
        return ExactResult("none")
    return found_result(regions, n, nbrs)


def _searched(
    hh: list[int], nbrs: list[int], *, lo: int, hi: int, budget: int, modes: tuple[str, ...]
) -> tuple[bool, list[int] | None]:
    """Return whether the search in turn with each of ``modes`` (a share of the budget each,
    on one memo) settled the part, and its regions (None: none exists)."""
    search = _Search(hh, nbrs, lo=lo, hi=hi, budget=0)
    everything = (1 << len(hh)) - 1
    for mode in modes:  # proofs come fastest from the first two, partitions the last
        search.mode, search.budget = mode, max(search.budget, 0) + budget // len(modes)
        try:
            return True, search.solve(everything, search.total(everything))
        except _OutOfBudgetError:
            continue
    return False, None


def _room_searched(
    hh: list[int], nbrs: list[int], *, lo: int, hi: int, budget: int
) -> tuple[bool, list[int] | None]:
    """Return :func:`_searched` with the room check (:meth:`_Search._needed`), branching on
    the unit with the fewest neighbours, within ``budget`` sets (the unit checks' sets
    counted): run only where the plain search gave up, so the plans it settles stay."""
    search = _Search(hh, nbrs, lo=lo, hi=hi, budget=budget)
    search.mode, search.short = "fewest neighbours", shortfalls(search.fit)
    try:
        return True, search.solve((1 << len(hh)) - 1, sum(hh))
    except _OutOfBudgetError:
        return False, None


def _no_division(lo: int, hi: int, budget: int) -> Callable[[list[int], IntArray], bool]:
    """Return whether the room search (:func:`_room_searched`) proves that a part given by
    households and local edges has no in-band division within :data:`HUNG_SETS` sets."""

    def proven(hh: list[int], edges: IntArray) -> bool:
        nbrs = neighbour_masks(len(hh), edges)
        sets = min(budget, HUNG_SETS)
        return _room_searched(hh, nbrs, lo=lo, hi=hi, budget=sets) == (True, None)

    return proven


def forget_proofs() -> None:
    """Empty the proofs and give-ups remembered so far (a fresh search answers next)."""
    _PROVEN.clear()
    _GAVE_UP.clear()


def _remember_proof(key: _Key, by: str) -> None:
    """Remember that part ``key`` has no partition, proven ``by`` (emptied first when it
    holds :data:`PROVEN_KEPT` parts)."""
    if len(_PROVEN) >= PROVEN_KEPT:
        _PROVEN.clear()
    _PROVEN[key] = by


def _remember(kept: set[Any], key: Any) -> None:
    """Add ``key`` to ``kept`` (emptied first when it holds :data:`PROVEN_KEPT` keys)."""
    if len(kept) >= PROVEN_KEPT:
        kept.clear()
    kept.add(key)


def _with_free(
    households: IntArray,
    edges: IntArray,
    *,
    lo: int,
    hi: int,
    budget: int,
    free: NDArray[np.bool_],
) -> ExactResult:
    """Return :func:`in_band_partition` with ``free`` units ("none" reported as unknown)."""
    search, nbrs = _free_search(households, edges, lo=lo, hi=hi, free=free)
    everything = (1 << len(nbrs)) - 1
    # the largest unit first, with the whole budget; where that gives up, the other orders
    # with QUICK_SETS each (filled41: a part of 25 units around a compound of 238
    # households that the largest-first order needs 234,000 sets for, the others 24)
    for mode, sets in (("largest", budget), *((m, QUICK_SETS) for m in MODES[:2])):
        search.mode, search.budget = mode, sets
        try:
            regions = search.solve(everything, search.total(everything))
        except _OutOfBudgetError:
            continue
        if regions is None:
            return ExactResult("unknown")
        return found_result(regions, len(nbrs), nbrs)
    # then with the room check, fewest sets first (city31: 40 units around a stuck compound
    # of 180, found in 3,000 sets where the three orders gave up)
    return _free_room_result(search, nbrs, budget=min(budget, ROOM_SETS))


def one_free_partition(
    households: IntArray,
    edges: IntArray,
    *,
    lo: int,
    hi: int,
    free: NDArray[np.bool_],
    budget: int = ROOM_SETS,
) -> ExactResult:
    """Return a partition of a connected part into connected regions in the band but those
    holding a ``free`` unit (as :func:`in_band_partition` with ``free``), by the room search
    alone, the unit the fewest in-band sets hold branched on first, within ``budget`` sets:
    status ``"found"`` or ``"unknown"``.

    The quick try of :func:`gridgen.partition.search.part_regions` on a part proven to have
    no in-band partition where the plan leaves two grids out of band: one unit of a grid out
    made free (walled city, 32 units, 2,424 households: grids of 230 and 224 become one of
    408, found in 3,700 sets, 25 ms, where the other orders need 12,000-100,000 and more).
    """
    search, nbrs = _free_search(households, edges, lo=lo, hi=hi, free=free)
    return _free_room_result(search, nbrs, budget=budget)


def _free_search(
    households: IntArray, edges: IntArray, *, lo: int, hi: int, free: NDArray[np.bool_]
) -> tuple[_Search, list[int]]:
    """Return a search with ``free`` units (no budget yet) and the neighbour masks."""
    n = len(households)
    hh = [int(h) for h in np.asarray(households).tolist()]
    nbrs = neighbour_masks(n, edges)
    search = _Search(hh, nbrs, lo=lo, hi=hi, budget=0)
    search.free = sum(1 << int(v) for v in np.flatnonzero(free).tolist())
    search.eh = [
        0 if f and h < lo else h for f, h in zip(np.asarray(free).tolist(), hh, strict=True)
    ]
    return search, nbrs


def _free_room_result(search: _Search, nbrs: list[int], *, budget: int) -> ExactResult:
    """Return the room search's result (fewest sets first) within ``budget`` sets, "none"
    reported as unknown (a free unit's region holding more might help the others)."""
    search.mode, search.budget = "fewest sets", budget
    search.short = shortfalls(search.fit)
    everything = (1 << len(nbrs)) - 1
    try:
        regions = search.solve(everything, search.total(everything))
    except _OutOfBudgetError:
        return ExactResult("unknown")
    if regions is None:
        return ExactResult("unknown")
    return found_result(regions, len(nbrs), nbrs)
