"""Proof that a part has no division into connected grids in the band, by households first.

The exhaustive search (:mod:`gridgen.partition.exact`) grows regions unit by unit, land
included: a part with many units of land (or of tiny buildings) around few compounds holds
thousands of connected sets that differ only by the land they take, and the search runs out
of budget there (walled43's 31-unit part: 8 buildings of 78-210 households and 10 of 1-3
around 13 units of land; 3,000,000 sets settled nothing). Here a grid is chosen by its
households: a set of the units with households, then a set of land that joins them. Land
a grid does not need is left to the rest, where it can only help, and every grid's land
holds one of the joins tried (shortest paths of land, one after another, from what it
joins already to a unit not yet joined). So the grids tried are as many as the sets of
households times their ways to be joined, not the sets of land: walled43's part is proven
in 20 ms.

Units of at most :data:`TINY_SHARE` of the band minimum (all of them together) count as
land and the band's minimum is lowered by their households: every grid of a division of the
part is then a grid of the relaxed part (its other households within ``lo - tiny..hi``), so
"none" there is a proof for the part; a division found there proves nothing (it is not
returned).
"""

from __future__ import annotations

from collections.abc import Iterator

from gridgen.partition.bits import fits_some_count, set_bits

TINY_SHARE = 0.1
"""Units whose households together are at most this share of the band minimum count as land
(the smallest first)."""
LAND_PROOF_STEPS = 20_000
"""Grids (a set of households and its land) tried at most before giving up."""
LAND_PROOF_UNITS = 16
"""Most units with households (tiny ones aside) the proof tries: beyond, the ways to group
them are too many for its steps (walled's 51-unit part, 32 compounds: no proof after
2,000,000 steps), and it is not tried (walled43's part: 8)."""


class _OutOfStepsError(Exception):
    """The proof tried the grids its budget allows."""


class _Grouping:
    """One search: neighbour masks, households, the relaxed band, memo, steps left."""

    def __init__(self, hh: list[int], nbrs: list[int], *, lo: int, hi: int, steps: int) -> None:
        self.hh, self.nbrs, self.lo, self.hi, self.steps = hh, nbrs, lo, hi, steps
        self.failed: set[tuple[int, int]] = set()

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise _OutOfStepsError

    def joined(self, units: int, within: int) -> int:
        """Return the units of ``within`` connected to the lowest unit of ``units``."""
        comp = frontier = units & -units
        while frontier:
            grow = 0
            for v in set_bits(frontier):
                grow |= self.nbrs[v]
            frontier = grow & within & ~comp
            comp |= frontier
        return comp

    def fits(self, people: int, land: int) -> bool:
        """Return whether every group of ``people`` joined through ``land`` fits some count."""
        left = people
        while left:
            comp = self.joined(left, left | land) & left
            if not fits_some_count(sum(self.hh[v] for v in set_bits(comp)), lo=self.lo, hi=self.hi):
                return False
            left &= ~comp
        return True

    def divides(self, people: int, land: int) -> bool:
        """Return whether ``people`` divide into grids in the band, each joined by its own
        land of ``land``."""
        if not people:
            return True
        if (people, land) in self.failed:
            return False
        v = max(set_bits(people), key=lambda u: (self.hh[u], -u))
        for group in self._groups(v, people, land):
            for used in self._joins(group, land):
                self.step()
                rest, free = people & ~group, land & ~used
                if self.fits(rest, free) and self.divides(rest, free):
                    return True
        self.failed.add((people, land))
        return False

    def _groups(self, v: int, people: int, land: int) -> Iterator[int]:
        """Yield the sets of ``people`` holding ``v`` with households in the band, connected
        through ``land``, each once."""
        seen = {1 << v}
        stack = [(1 << v, self.hh[v])]
        while stack:
            group, s = stack.pop()
            if self.lo <= s <= self.hi:
                yield group
            reach = self.joined(group, group | land) | group
            near = 0
            for u in set_bits(reach):
                near |= self.nbrs[u]
            for u in set_bits(near & people & ~group):
                grown = group | 1 << u
                if s + self.hh[u] <= self.hi and grown not in seen:
                    seen.add(grown)
                    stack.append((grown, s + self.hh[u]))

    def _joins(self, group: int, land: int) -> Iterator[int]:
        """Yield sets of ``land`` joining ``group`` into one connected set, such that every
        set of land joining it holds one of them: paths of land, each from the part already
        joined to a unit of the group not yet joined, none touching either but at its ends
        (a shortest path through any joining land is one)."""
        seen = {0}
        stack = [0]
        while stack:
            used = stack.pop()
            self.step()
            comp = self.joined(group, group | used)
            if not group & ~comp:
                yield used
                continue
            for path in self._paths(comp, group & ~comp, land & ~used):
                if used | path not in seen:
                    seen.add(used | path)
                    stack.append(used | path)

    def _paths(self, comp: int, targets: int, land: int) -> Iterator[int]:
        """Yield the units of paths of ``land`` from next to ``comp`` to next to
        ``targets``, chordless: no unit but the first touches ``comp``, none but the last
        touches ``targets``, and no two but consecutive ones touch."""
        nbrs = self.nbrs
        near = 0
        for u in set_bits(comp):
            near |= nbrs[u]
        stack = [(1 << x, x) for x in set_bits(near & land)]
        while stack:
            path, last = stack.pop()
            self.step()
            if nbrs[last] & targets:
                yield path
                continue
            for y in set_bits(nbrs[last] & land & ~path):
                if not nbrs[y] & comp and nbrs[y] & path == 1 << last:
                    stack.append((path | 1 << y, y))


def land_proof(
    hh: list[int], nbrs: list[int], *, lo: int, hi: int, steps: int = LAND_PROOF_STEPS
) -> bool | None:
    """Return True when a connected part (households and neighbour masks per unit) has no
    division into connected grids of ``lo..hi`` households (module doc), None when the
    proof gave up, False when the relaxed part divides (no proof)."""
    order = sorted((v for v in range(len(hh)) if hh[v] > 0), key=lambda v: (hh[v], v))
    tiny, t = 0, 0
    for v in order:
        if t + hh[v] > TINY_SHARE * lo:
            break
        tiny, t = tiny | 1 << v, t + hh[v]
    relaxed = [0 if tiny >> v & 1 else h for v, h in enumerate(hh)]
    people = sum(1 << v for v, h in enumerate(relaxed) if h > 0)
    if people.bit_count() > LAND_PROOF_UNITS:
        return None
    land = ((1 << len(hh)) - 1) & ~people
    search = _Grouping(relaxed, nbrs, lo=lo - t, hi=hi, steps=steps)
    try:
        return not (search.fits(people, land) and search.divides(people, land))
    except _OutOfStepsError:
        return None
