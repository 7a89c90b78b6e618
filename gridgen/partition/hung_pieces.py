"""Proofs that a part has no in-band division, by a piece hung from one unit.

Where the exhaustive search (:mod:`gridgen.partition.exact`) gives up, a part is often a
few large compounds around land with a block of small buildings hung from one land unit:
the walled city's 51-unit part of 3,432 households has twelve buildings of 35 households
whose only way out is one piece of land. The search tries thousands of shapes of that
block that differ in nothing the rest can see. Here the part is first reduced, soundly
(every division into connected in-band grids of the part is one of the reduced part):

- an edge between two units that together exceed the maximum is dropped (no grid holds
  both, so no grid is connected through it);
- a unit below the minimum with one neighbour left shares its grid with it: the two
  become one unit; land with one neighbour or none is dropped (it joins any grid);

then a piece ``P`` hung from a cut unit ``c`` (the units of one component of the part
without ``c``) is replaced by what ``c``'s grid may take from it: the grid holding ``c``
meets ``P`` in a set ``S`` (``P`` reaches the rest only through ``c``, so the other grids
meeting ``P`` lie inside it), and the rest of ``P`` is divided into in-band grids of its
own, so it holds a total some number of grids fits. For every such total ``r`` of ``S``
(0 included), the part without ``P`` and with ``r`` more households on ``c`` is one
reduced part (:func:`hung_instances`); when none of them has an in-band division, the part
has none (:func:`gridgen.partition.exact.in_band_partition` asks the search of each).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.bits import fitting_totals, set_bits, subset_sums
from gridgen.partition.cut_proofs import cut_units, pieces

IntArray = NDArray[np.int64]
Graph = dict[int, set[int]]

PIECE_UNITS = 16
"""Largest piece (units) replaced by the totals the cut unit's grid may take from it."""
MOST_INSTANCES = 8
"""Most reduced parts (distinct totals taken from the piece) searched."""
NO_DIVISION: list[tuple[list[int], IntArray]] = []
"""What :func:`hung_instances` returns when the reductions alone prove there is no
division (a unit above the maximum, or one below the minimum left without a neighbour)."""


def hung_instances(
    households: list[int], edges: IntArray, *, lo: int, hi: int
) -> list[tuple[list[int], IntArray]] | None:
    """Return the reduced parts (households, local edges) that all have no in-band division
    when the part has none (module doc), ``[]`` when the reductions alone prove it has none,
    or None when no piece is hung from a cut unit within the limits."""
    hh = {u: int(h) for u, h in enumerate(households)}
    adj: Graph = {u: set() for u in hh}
    for a, b in np.asarray(edges).tolist():
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    fit = fitting_totals(sum(hh.values()), lo=lo, hi=hi)
    if not _reduce(hh, adj, lo=lo, hi=hi):
        return NO_DIVISION
    piece = _hung_piece(adj, hh)
    if piece is None:
        return None
    cut, nodes = piece
    takes = _takes(hh, cut, nodes, fit=fit, hi=hi)
    if len(takes) > MOST_INSTANCES:
        return None
    out: list[tuple[list[int], IntArray]] = []
    for r in sorted(takes):
        h2 = {u: h for u, h in hh.items() if u not in nodes}
        h2[cut] += r
        a2 = {u: adj[u] - nodes for u in h2}
        if _reduce(h2, a2, lo=lo, hi=hi):
            out.append(_arrays(h2, a2))
    return out


def hung_proof(
    households: list[int],
    edges: IntArray,
    *,
    lo: int,
    hi: int,
    none: Callable[[list[int], IntArray], bool],
) -> bool:
    """Return whether the part has no in-band division: the reductions prove it, or
    ``none`` (a search: whether a part has no in-band division) holds of every reduced part
    of a piece hung from one unit (:func:`hung_instances`)."""
    parts = hung_instances(households, edges, lo=lo, hi=hi)
    return parts is not None and all(none(h, e) for h, e in parts)


def _reduce(hh: dict[int, int], adj: Graph, *, lo: int, hi: int) -> bool:
    """Reduce the graph in place (module doc); return False when it proves that no division
    exists (a unit above the maximum, or a unit below the minimum without a neighbour)."""
    changed = True
    while changed:
        changed = False
        for u in list(adj):
            if u not in adj:
                continue  # contracted into a neighbour in this pass
            if hh[u] > hi:
                return False
            over = [w for w in adj[u] if hh[u] + hh[w] > hi]
            for w in over:
                adj[u].discard(w)
                adj[w].discard(u)
            degree = len(adj[u])
            if degree == 0 and 0 < hh[u] < lo:
                return False  # below the minimum, and no grid can hold more
            if degree == 0 or (degree == 1 and hh[u] == 0):
                _drop(hh, adj, u)  # a grid of its own, or land that joins any grid
            elif degree == 1 and hh[u] < lo:  # shares its grid with its one neighbour
                (w,) = adj[u]
                hh[w] += hh[u]
                _drop(hh, adj, u)
            elif not over:
                continue
            changed = True
    return True


def _drop(hh: dict[int, int], adj: Graph, u: int) -> None:
    """Remove unit ``u`` from the graph."""
    for w in adj.pop(u):
        adj[w].discard(u)
    del hh[u]


def _hung_piece(adj: Graph, hh: dict[int, int]) -> tuple[int, set[int]] | None:
    """Return a cut unit and the largest piece hung from it (2..:data:`PIECE_UNITS` units
    holding households), or None."""
    if not adj:
        return None
    graph = [adj.get(u, set()) for u in range(max(adj) + 1)]
    units = set(adj)
    best: tuple[int, int, set[int]] | None = None
    for c in sorted(cut_units(graph, units)):
        for piece in pieces(graph, units - {c}):
            size = len(piece)
            larger = best is None or size > best[0]
            if larger and 2 <= size <= PIECE_UNITS and any(hh[u] for u in piece):
                best = (size, c, piece)
    return None if best is None else (best[1], best[2])


def _takes(hh: dict[int, int], cut: int, nodes: set[int], *, fit: list[bool], hi: int) -> set[int]:
    """Return totals that include every total the grid of ``cut`` may take from the piece
    ``nodes``: the sums of its units' households (any subset, by bits) that the cut unit's
    grid can hold and that leave a rest some number of grids fits (the rest of the piece is
    divided into in-band grids). Connected sets would give fewer; this is as sound, and the
    walled city's block of 35s gives the same four totals, for a fraction of the time."""
    total = sum(hh[u] for u in nodes)
    sums = subset_sums((hh[u] for u in nodes), limit=hi - hh[cut])
    return {r for r in set_bits(sums) if fit[total - r]}


def _arrays(hh: dict[int, int], adj: Graph) -> tuple[list[int], IntArray]:
    """Return households and local edges of a graph given by dicts."""
    ids = sorted(hh)
    loc = {u: i for i, u in enumerate(ids)}
    pairs = sorted({(loc[u], loc[w]) for u in ids for w in adj[u] if u < w})
    return [hh[u] for u in ids], np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
