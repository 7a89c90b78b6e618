"""Cheap proofs that a connected part of a community has no division into connected grids
in the band, from the units that cut it (where the exhaustive search,
:mod:`gridgen.partition.exact`, may run out of budget).

Removing a cut unit ``a`` (or a pair ``a, b``) leaves pieces. Every grid but those holding
``a`` or ``b`` lies within one piece, so a piece of ``T`` households keeps some ``f`` a
number of grids fits (``k * lo <= f <= k * hi``, or 0) and gives its *share* ``T - f`` to
the grid holding ``a`` or ``b`` next to it. When no choice of shares brings those grids
into the band (a subset-sum over the pieces, on integers used as bit sets: bit ``s`` set
when ``s`` households are reachable), there is no division. Both are necessary conditions
only (contiguity within the pieces is not checked), so a proof is exact.

Walled/make_city/filled bench parts: a 67-unit part whose compound of 285 households cuts
off 445 (the search needs ~30,000 sets, the cut 5 ms); 40-47-unit parts of small buildings
that 1,000,000 sets did not settle, proven by a pair of units in ~50 ms.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from gridgen.partition.exact import fits_some_count, set_bits

CUT_PROOF = "cut"
"""The part's proof kind (:func:`gridgen.partition.proofs.part_proof`)."""
PAIR_UNITS = 150
"""Largest part (units) whose pairs of units :func:`cut_pair_proof` tries (quadratic)."""


def _absorbed(sums: int, total: int, fits: list[bool] | None, limit: int) -> int:
    """Return the households a grid may hold (bit set, up to ``limit``) after taking a share
    of a piece of ``total`` households (the piece keeping what some number of grids fits;
    any share when ``fits`` is None: a piece holding a stuck unit)."""
    grown = 0
    for share in range(min(total, limit) + 1):
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
        self.graph = nx.Graph()
        self.graph.add_nodes_from(range(len(self.hh)))
        self.graph.add_edges_from(np.asarray(edges).tolist())
        self.lo, self.hi = band
        self.stuck = set() if stuck is None else set(np.flatnonzero(stuck).tolist())
        self.cap = cap
        self.fits = [fits_some_count(t, lo=self.lo, hi=self.hi) for t in range(sum(self.hh) + 1)]

    def limits(self, v: int, pieces: list[set[int]]) -> tuple[int, int]:
        """Return the households a grid holding cut unit ``v`` may hold: the band, or up to
        the cap when it is stuck or may take a stuck unit from one of ``pieces`` next to it
        (out of band whatever the plan)."""
        if v in self.stuck or any(p & self.stuck for p in pieces if self.near(v, p)):
            return 0, max(self.cap, self.hh[v])
        return self.lo, self.hi

    def near(self, v: int, piece: set[int]) -> bool:
        """Return whether unit ``v`` touches ``piece``."""
        return any(self.graph.has_edge(v, w) for w in piece)

    def piece(self, nodes: set[int]) -> tuple[int, list[bool] | None]:
        """Return a piece's households and the fits its kept part must meet (None: any)."""
        return sum(self.hh[v] for v in nodes), (None if nodes & self.stuck else self.fits)


def cut_unit_proof(
    households: NDArray[np.int64],
    edges: NDArray[np.int64],
    *,
    lo: int,
    hi: int,
    stuck: NDArray[np.bool_] | None = None,
    cap: int = 0,
) -> int:
    """Return a cut unit (networkx ``articulation_points``) proving that a connected part
    has no division into connected grids of ``lo..hi`` households (module doc), or -1.

    ``stuck`` units: their grids may hold up to ``cap`` households, out of band; then the
    proof is that no division has every other grid in the band."""
    part = _Cuts(households, edges, band=(lo, hi), stuck=stuck, cap=cap)
    graph = part.graph
    for a in sorted(nx.articulation_points(graph)):
        pieces = list(nx.connected_components(graph.subgraph(v for v in graph if v != a)))
        low, high = part.limits(a, pieces)
        sums = (1 << part.hh[a]) & _upto(high)
        for piece in pieces:
            sums = _absorbed(sums, *part.piece(piece), high)
        if not sums & ((_upto(high) >> low << low) | 1):  # in its range, or land only
            return int(a)
    return -1


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
    graph = part.graph
    cuts = set(nx.articulation_points(graph))
    for a in sorted(set(graph) - cuts):
        rest = graph.subgraph(v for v in graph if v != a)
        for b in sorted(set(nx.articulation_points(rest)) - cuts):
            if b > a and not _pair_fits(part, a, b, rest.subgraph(v for v in rest if v != b)):
                return a, b
    return None


def _pair_fits(part: _Cuts, a: int, b: int, rest: nx.Graph) -> bool:
    """Return whether the grids holding cut units ``a`` and ``b`` can take up what the
    pieces of ``rest`` leave over (:func:`cut_pair_proof`)."""
    pieces = list(nx.connected_components(rest))
    (la, ha), (lb, hb) = part.limits(a, pieces), part.limits(b, pieces)
    one = (0, max(ha, hb)) if (la == 0 or lb == 0) else (part.lo, part.hi)  # a grid of both
    same, sa, sb, sc = 1 << (part.hh[a] + part.hh[b]), 1 << part.hh[a], 1 << part.hh[b], 1
    for piece in pieces:
        total, fits = part.piece(piece)
        near_a, near_b = part.near(a, piece), part.near(b, piece)
        same = _absorbed(same, total, fits, one[1])
        if near_a and near_b:
            sc = _absorbed(sc, total, fits, ha + hb)
        elif near_a:
            sa = _absorbed(sa, total, fits, ha)
        else:
            sb = _absorbed(sb, total, fits, hb)
    if same & (_upto(one[1]) >> one[0] << one[0]):
        return True
    both = _sum_set(_sum_set(sa, sb, ha + hb), sc, ha + hb)
    return bool(both & (_upto(ha + hb) >> (la + lb) << (la + lb)))
