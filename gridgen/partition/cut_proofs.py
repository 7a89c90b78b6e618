"""Cheap proofs that a connected part of a community has no division into connected grids in
the band, from the units that cut it (where the exhaustive search,
:mod:`gridgen.partition.exact`, may run out of budget).

Removing a cut unit ``a`` (or a pair ``a, b``) leaves pieces. Every grid but those holding
``a`` or ``b`` lies within one piece, so a piece of ``T`` households keeps some ``f`` a
number of grids fits (``k * lo <= f <= k * hi``, or 0) and gives its *share* ``T - f`` to
the grid holding ``a`` or ``b`` next to it. When no choice of shares brings those grids into
the band (a subset-sum over the pieces, on integers used as bit sets: bit ``s`` set when
``s`` households are reachable), there is no division. Both are necessary conditions only
(contiguity within the pieces is not checked), so a proof is exact. Two refinements keep
them necessary and make them stronger: a share that is not 0 holds at least the first unit
with households the grid reaches in that piece (next to its cut unit or across land) and is
the sum of a set of its units (a subset-sum bit set per piece); and with ``stuck`` units a
grid may exceed the band (up to ``cap``) only by taking one, so its share of that piece
holds at least the cheapest path to it (a stuck unit serves one grid: two grids relying on
the pieces next to both take two). With two cut units in two grids, each grid must also
reach its range alone, taking any share of the pieces next to both, and both must reach
the band on one split of those pieces (:func:`_split_fits`).

Walled/make_city/filled bench parts: a 67-unit part whose compound of 285 households cuts
off 445 (the search needs ~30,000 sets, the cut 5 ms); 40-47-unit parts of small buildings
that 1,000,000 sets did not settle, proven by a pair of units in ~50 ms; with the
refinements, make_city parts of 37 and 48 units (rebalance and merge-grids, one or two stuck
units) in 10-20 ms, and a walled merge-grids part of 101 units (a compound of 228 households
cutting off 478 that no set of its units splits into 118-132 and the rest) in 60 ms.

The cut units are found on a plain adjacency (:func:`cut_units`, Hopcroft-Tarjan, and
:func:`pieces`) rather than with networkx, whose import alone took 0.15-0.2 s of every
``partition`` and ``rebalance`` run (every other graph of the engine is a scipy.sparse one).
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.bits import fitting_totals, set_bits, subset_sums

CUT_PROOF = "cut"
"""The part's proof kind (:func:`gridgen.partition.proofs.part_proof`)."""
PAIR_UNITS = 150
"""Largest part (units) whose pairs of units :func:`cut_pair_proof` tries (quadratic)."""
SPLIT_WORK = 200_000
"""Steps :func:`_split_fits` takes at most per pair of cut units (then it assumes a split)."""


class _Piece(NamedTuple):
    """A piece left by the cut units: its households, the fits its kept part must meet
    (None: any, it holds a stuck unit) and the sums of its units' subsets (a bit set)."""

    total: int
    fits: list[bool] | None
    sub: int


def _absorbed(sums: int, piece: _Piece, limit: int, *, least: int = 0, first: int = 0) -> int:
    """Return the households a grid may hold (bit set, up to ``limit``) after taking a share
    of at least ``least`` of a piece of ``total`` households (the piece keeping what some
    number of grids fits; any share when ``fits`` is None: a piece holding a stuck unit),
    a share that is 0 or at least ``first`` (the smallest unit with households it can
    reach first), and one of the sums ``sub`` of the piece's units (a bit set)."""
    total, fits, sub = piece
    grown = 0
    for share in range(least, min(total, limit) + 1):
        if 0 < share < first or not sub >> share & 1:
            continue
        if fits is None or fits[total - share]:
            grown |= sums << share
    return grown & _upto(limit)


def _upto(limit: int) -> int:
    """Return the bit set 0..limit."""
    return (1 << (limit + 1)) - 1


def _sum_set(a: int, b: int, limit: int) -> int:
    """Return the bit set of sums ``x + y`` (``x`` in ``a``, ``y`` in ``b``) up to ``limit``."""
    out = 0
    for x in set_bits(a):
        out |= b << x
    return out & _upto(limit)


class _Cuts:
    """A part's graph, its households and what a grid holding each unit may hold."""

    def __init__(
        self,
        households: NDArray[np.int64],
        edges: NDArray[np.int64],
        *,
        band: tuple[int, int],
        stuck: NDArray[np.bool_] | None,
        cap: int,
    ) -> None:
        self.hh = [int(h) for h in np.asarray(households).tolist()]
        self.units = set(range(len(self.hh)))
        self.adj: list[set[int]] = [set() for _ in self.hh]
        """The units next to each unit."""
        for v, w in np.asarray(edges, dtype=np.int64).reshape(-1, 2).tolist():
            if v != w:
                self.adj[v].add(w)
                self.adj[w].add(v)
        self.lo, self.hi = band
        self.stuck = set() if stuck is None else set(np.flatnonzero(stuck).tolist())
        self.cap = cap
        self.fits = fitting_totals(sum(self.hh), lo=self.lo, hi=self.hi)
        self.sub: dict[frozenset[int], int] = {}
        """Subset sums per piece (:meth:`subset_sums`)."""

    def can_hold(self, cut: set[int], pieces: list[set[int]]) -> bool:
        """Return whether the grid holding the units ``cut`` may hold a stuck unit: one of
        them is stuck, or a piece next to them holds one."""
        return bool(cut & self.stuck) or any(
            p & self.stuck and any(self.near(v, p) for v in cut) for p in pieces
        )

    def limits(self, cut: set[int], held: bool) -> tuple[int, int]:
        """Return the households a grid holding ``cut`` may hold: the band, or (``held``:
        it holds a stuck unit, out of band whatever the plan) up to the cap."""
        if held:
            return 0, max(self.cap, *(self.hh[v] for v in cut))
        return self.lo, self.hi

    def reach(self, cut: set[int], piece: set[int]) -> int:
        """Return the fewest households of a connected set of ``piece`` joining a unit
        next to ``cut`` to a stuck unit (node-weighted shortest path): what a grid holding
        ``cut`` takes from ``piece`` at least to hold its stuck unit."""
        starts = [w for w in piece if self.adj[w] & cut]
        best = {w: self.hh[w] for w in starts}
        todo = sorted((d, w) for w, d in best.items())
        heapq.heapify(todo)
        while todo:
            d, w = heapq.heappop(todo)
            if w in self.stuck:
                return d
            if d > best.get(w, d):
                continue
            for x in self.adj[w] & piece:
                if d + self.hh[x] < best.get(x, 1 << 62):
                    best[x] = d + self.hh[x]
                    heapq.heappush(todo, (best[x], x))
        return 1 << 62

    def sums(
        self, start: int, cut: set[int], pieces: list[set[int]], limit: int
    ) -> tuple[int, int, int]:
        """Return the households (bit sets up to ``limit``) a grid holding ``cut`` (``start``
        households) may hold after taking shares of ``pieces``: any, those where it takes a
        stuck unit from them (at least :meth:`reach` of its piece), and two stuck units
        (for two grids: :func:`_pair_fits`)."""
        anyway, one, two = (1 << start) & _upto(limit), 0, 0
        for piece in pieces:
            info, first = self.piece(piece), self.first(cut, piece)
            before, once = anyway, one
            anyway = _absorbed(anyway, info, limit, first=first)
            one = _absorbed(one, info, limit, first=first)
            two = _absorbed(two, info, limit, first=first)
            if info.fits is None:
                reach = self.reach(cut, piece)
                pair = sorted(self.hh[v] for v in piece & self.stuck)[:2]
                both = max(reach, sum(pair)) if len(pair) == 2 else 1 << 62
                one |= _absorbed(before, info, limit, least=reach)
                two |= _absorbed(once, info, limit, least=reach)
                two |= _absorbed(before, info, limit, least=both)
        return anyway, one, two

    def first(self, cut: set[int], piece: set[int]) -> int:
        """Return the fewest households of a unit of ``piece`` a grid holding ``cut`` can
        take first (next to ``cut``, or across land without households): a share of the
        piece that is not 0 holds at least that many."""
        seen = {w for w in piece if self.adj[w] & cut}
        todo = [w for w in seen if self.hh[w] == 0]
        while todo:
            w = todo.pop()
            for x in self.adj[w]:
                if x in piece and x not in seen:
                    seen.add(x)
                    if self.hh[x] == 0:
                        todo.append(x)
        return min((self.hh[w] for w in seen if self.hh[w] > 0), default=0)

    def subset_sums(self, piece: set[int]) -> int:
        """Return the bit set of the households of the subsets of ``piece`` (a share is
        one of them)."""
        key = frozenset(piece)
        if key not in self.sub:
            self.sub[key] = subset_sums(self.hh[v] for v in piece)
        return self.sub[key]

    def near(self, v: int, piece: set[int]) -> bool:
        """Return whether unit ``v`` touches ``piece``."""
        return not self.adj[v].isdisjoint(piece)

    def piece(self, nodes: set[int], *, loose: bool = False) -> _Piece:
        """Return a piece (``loose``: any share, the rest going to another cut unit)."""
        fits = None if (loose or nodes & self.stuck) else self.fits
        return _Piece(sum(self.hh[v] for v in nodes), fits, self.subset_sums(nodes))


def cut_unit_proof(
    households: NDArray[np.int64],
    edges: NDArray[np.int64],
    *,
    lo: int,
    hi: int,
    stuck: NDArray[np.bool_] | None = None,
    cap: int = 0,
) -> int:
    """Return a cut unit (an articulation point, :func:`cut_units`) proving that a connected part
    has no division into connected grids of ``lo..hi`` households (module doc), or -1.

    ``stuck`` units: their grids may hold up to ``cap`` households, out of band; then the
    proof is that no division has every other grid in the band."""
    part = _Cuts(households, edges, band=(lo, hi), stuck=stuck, cap=cap)
    for a in sorted(cut_units(part.adj, part.units)):
        if not _grid_fits(part, {a}, pieces(part.adj, part.units - {a})):
            return int(a)
    return -1


def _grid_fits(part: _Cuts, cut: set[int], pieces: list[set[int]]) -> bool:
    """Return whether one grid holding the units ``cut`` can take up what ``pieces`` leave
    over: in the band, or (when it may) holding a stuck unit with at most the cap."""
    start = sum(part.hh[v] for v in cut)
    for held in (False, True) if part.can_hold(cut, pieces) else (False,):
        low, high = part.limits(cut, held)
        anyway, got, _ = part.sums(start, cut, pieces, high)
        sums = anyway if (not held or cut & part.stuck) else got
        if sums & ((_upto(high) >> low << low) | (0 if held else 1)):  # or land only
            return True
    return False


def cut_proof(
    households: NDArray[np.int64],
    edges: NDArray[np.int64],
    *,
    band: tuple[int, int],
    stuck: NDArray[np.bool_] | None = None,
    cap: int = 0,
) -> bool:
    """Return whether a cut unit or a pair of them proves there is no division
    (:func:`cut_unit_proof`, :func:`cut_pair_proof`)."""
    lo, hi = band
    return (
        cut_unit_proof(households, edges, lo=lo, hi=hi, stuck=stuck, cap=cap) >= 0
        or cut_pair_proof(households, edges, lo=lo, hi=hi, stuck=stuck, cap=cap) is not None
    )


def cut_pair_proof(
    households: NDArray[np.int64],
    edges: NDArray[np.int64],
    *,
    lo: int,
    hi: int,
    stuck: NDArray[np.bool_] | None = None,
    cap: int = 0,
) -> tuple[int, int] | None:
    """Return two units that together (neither alone) cut a connected part and prove it
    has no division into connected grids of ``lo..hi`` households, or None (``stuck``:
    :func:`cut_unit_proof`).

    Either one grid holds both (its households: theirs and the pieces' shares, within
    ``lo..hi``), or two grids do: a piece next to only one of them gives its share to that
    one, a piece next to both to either; then both grids together hold ``2 lo..2 hi``
    households with each at most ``hi`` before the shared pieces.
    """
    if len(households) > PAIR_UNITS:
        return None
    part = _Cuts(households, edges, band=(lo, hi), stuck=stuck, cap=cap)
    cuts = cut_units(part.adj, part.units)
    for a in sorted(part.units - cuts):
        rest = part.units - {a}
        for b in sorted(cut_units(part.adj, rest) - cuts):
            if b > a and not _pair_fits(part, a, b, rest - {b}):
                return a, b
    return None


def _pair_fits(part: _Cuts, a: int, b: int, rest: set[int]) -> bool:
    """Return whether the grids holding cut units ``a`` and ``b`` can take up what the
    pieces of the units ``rest`` leave over (:func:`cut_pair_proof`): one grid holding both,
    or two, each in the band or (when it may) holding a stuck unit with at most the cap."""
    found = pieces(part.adj, rest)
    if _grid_fits(part, {a, b}, found):
        return True
    only_a = [p for p in found if part.near(a, p) and not part.near(b, p)]
    only_b = [p for p in found if part.near(b, p) and not part.near(a, p)]
    shared = [p for p in found if part.near(a, p) and part.near(b, p)]
    modes_a = (False, True) if part.can_hold({a}, only_a + shared) else (False,)
    modes_b = (False, True) if part.can_hold({b}, only_b + shared) else (False,)
    for held_a in modes_a:
        for held_b in modes_b:
            (la, ha), (lb, hb) = part.limits({a}, held_a), part.limits({b}, held_b)
            if not (
                _alone_fits(part, a, only_a, shared, limits=(la, ha))
                and _alone_fits(part, b, only_b, shared, limits=(lb, hb))
            ):
                continue
            options_a = _options(part, a, held_a, part.sums(part.hh[a], {a}, only_a, ha))
            options_b = _options(part, b, held_b, part.sums(part.hh[b], {b}, only_b, hb))
            sc = part.sums(0, {a, b}, shared, ha + hb)
            for xa, via_a in options_a:
                for xb, via_b in options_b:
                    both = _sum_set(_sum_set(xa, xb, ha + hb), sc[via_a + via_b], ha + hb)
                    if not both & (_upto(ha + hb) >> (la + lb) << (la + lb)):
                        continue
                    if held_a or held_b or _split_fits(part, (a, b), (xa, xb), shared):
                        return True
    return False


def _split_fits(
    part: _Cuts, cut: tuple[int, int], own: tuple[int, int], shared: list[set[int]]
) -> bool:
    """Return whether the two grids holding cut units ``cut`` (in the band, with the
    households ``own``, bit sets, from the pieces next to one of them) can each reach the
    band splitting the pieces next to both: a piece keeps what some number of grids fits
    and gives one share to each grid, each 0 or at least the first unit that grid reaches
    there, and a sum of the piece's units (True as well when that takes over
    :data:`SPLIT_WORK` steps).

    The totals alone (:func:`_pair_fits`) miss where one grid has no room: city31's
    42-unit part, a compound of 308 households and a building of 90 cutting off 126
    households of small buildings; the 308's grid takes at most 52 of them, and the 90's
    grid either none of the other side (216 at most) or a compound of 246 or more (above
    360 with the 74 left)."""
    (a, b), lo, hi = cut, part.lo, part.hi
    rows = [0] * (hi + 1)  # per households of a's grid, those b's grid may have (bit set)
    for x in set_bits(own[0]):
        rows[x] = own[1]
    work = 0
    for piece in shared:
        info = part.piece(piece)
        fa, fb = part.first({a}, piece), part.first({b}, piece)
        valid_a = _share_bits(info.sub, fa, min(info.total, hi))
        valid_b = _share_bits(info.sub, fb, min(info.total, hi))
        gives = sum(
            1 << g for g in range(info.total + 1) if info.fits is None or info.fits[info.total - g]
        )
        grown = [0] * (hi + 1)
        for ta in set_bits(valid_a):
            tb = (gives >> ta) & valid_b
            if not tb:
                continue
            for xa in range(hi + 1 - ta):
                if rows[xa]:
                    fewer, more = sorted((rows[xa], tb), key=int.bit_count)
                    work += fewer.bit_count()
                    grown[xa + ta] |= _sum_set(fewer, more, hi)
            if work > SPLIT_WORK:
                return True
        rows = grown
    band = _upto(hi) >> lo << lo
    return any(rows[x] & band for x in range(lo, hi + 1))


def _share_bits(sub: int, first: int, limit: int) -> int:
    """Return the shares a grid may take of a piece (bit set up to ``limit``): 0, or a sum
    of its units (``sub``) of at least ``first``."""
    return 1 | (sub & _upto(limit)) >> first << first


def _alone_fits(
    part: _Cuts, v: int, own: list[set[int]], shared: list[set[int]], *, limits: tuple[int, int]
) -> bool:
    """Return whether the grid holding cut unit ``v`` can have ``limits`` households
    taking shares of its own pieces and any share of the pieces it shares with the other
    cut unit (each 0 or at least the first unit it reaches there)."""
    low, high = limits
    sums = part.sums(part.hh[v], {v}, own, high)[0]
    for piece in shared:
        sums = _absorbed(sums, part.piece(piece, loose=True), high, first=part.first({v}, piece))
    return bool(sums & (_upto(high) >> low << low))


def _options(part: _Cuts, v: int, held: bool, sums: tuple[int, int, int]) -> list[tuple[int, int]]:
    """Return the households a grid holding cut unit ``v`` takes from its own pieces, each
    with the stuck units (0 or 1) it must take from the pieces next to both cut units."""
    anyway, got, _ = sums
    if not held or v in part.stuck:
        return [(anyway, 0)]
    return [(got, 0), (anyway, 1)]


def pieces(adj: list[set[int]], units: set[int]) -> list[set[int]]:
    """Return the connected pieces of the graph ``adj`` restricted to ``units``."""
    seen: set[int] = set()
    out: list[set[int]] = []
    for start in sorted(units):
        if start in seen:
            continue
        piece, todo = {start}, [start]
        while todo:
            for w in adj[todo.pop()] & units:
                if w not in piece:
                    piece.add(w)
                    todo.append(w)
        seen |= piece
        out.append(piece)
    return out


def cut_units(adj: list[set[int]], units: set[int]) -> set[int]:
    """Return the articulation points of the graph ``adj`` restricted to ``units``: the units
    whose removal leaves more pieces (Hopcroft-Tarjan, an iterative depth-first search)."""
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    out: set[int] = set()
    for root in sorted(units):
        if root in order:
            continue
        order[root] = low[root] = len(order)
        children = 0
        stack = [(root, iter(sorted(adj[root] & units)))]
        while stack:
            v, nbrs = stack[-1]
            for w in nbrs:
                if w not in order:
                    order[w] = low[w] = len(order)
                    stack.append((w, iter(sorted(adj[w] & units))))
                    break
                low[v] = min(low[v], order[w])
            else:
                stack.pop()
                if not stack:
                    continue
                u = stack[-1][0]
                low[u] = min(low[u], low[v])
                if u == root:
                    children += 1
                elif low[v] >= order[u]:
                    out.add(u)
        if children > 1:
            out.add(root)
    return out
