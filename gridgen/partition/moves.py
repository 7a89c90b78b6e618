"""Minimal-change moves on a unit graph: fill, mend, and balance grids by boundary moves.

Pure arrays, no geometry: ``labels`` gives the grid of each unit (``-1``: none),
``households`` its households, ``nbrs[u]`` its neighbours and ``shared[u]`` the matching
shared boundary lengths (metres).

:func:`balance` brings grids into the band with as few households moved as it can find:
for each grid out of band it searches *ejection chains* — an overfull grid hands a
boundary unit to a neighbour, which, if now overfull, hands one on, and so on (an
underfull grid pulls units the same way) — with a small beam over chains of up to
:data:`MAX_DEPTH` moves, and takes the chain that leaves the fewest grids out of band,
then the least total distance outside the band, then the fewest households moved, then the
longest shared boundary (compact grids). Every grid stays connected and non-empty.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.objective import IntArray, RegionProblem

MAX_DEPTH = 3
"""Longest ejection chain (moves)."""
BEAM = 8
"""Partial chains kept per depth."""
LOOKAHEAD_HOUSEHOLDS = 400
"""Most households moved by excess reductions that have not yet fixed a grid."""
FIX_ONLY = True
"""Take only chains that leave fewer grids out of band (not mere reductions of the excess:
those move households without fixing a grid; measured on the drifted city, see
``bench/rebalance.py``)."""


@dataclass(frozen=True)
class Moves:
    """Adjacency of a unit graph as lists (what the move search walks)."""

    households: IntArray
    nbrs: tuple[tuple[int, ...], ...]
    shared: tuple[tuple[float, ...], ...]
    edges: IntArray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    @classmethod
    def from_edges(
        cls, households: IntArray, edges: IntArray, shared_length: NDArray[np.float64]
    ) -> Moves:
        """Return the adjacency lists of ``edges`` (``(m, 2)``) with their shared lengths."""
        n = len(households)
        nb: list[list[int]] = [[] for _ in range(n)]
        sh: list[list[float]] = [[] for _ in range(n)]
        for (a, b), s in zip(edges.tolist(), shared_length.tolist(), strict=True):
            nb[a].append(b)
            nb[b].append(a)
            sh[a].append(s)
            sh[b].append(s)
        return cls(
            households=np.asarray(households, dtype=np.int64),
            nbrs=tuple(tuple(x) for x in nb),
            shared=tuple(tuple(x) for x in sh),
            edges=np.asarray(edges, dtype=np.int64).reshape(-1, 2),
        )

    @property
    def n(self) -> int:
        """Return the number of units."""
        return len(self.households)


def violation(h: NDArray[np.float64] | IntArray, lo: int, hi: int) -> NDArray[np.float64]:
    """Return households outside the band per grid (0 inside)."""
    h = np.asarray(h, dtype=float)
    return np.asarray(np.maximum(0.0, np.maximum(lo - h, h - hi)), dtype=float)


def pieces(g: Moves, labels: IntArray, label: int) -> list[list[int]]:
    """Return the connected pieces of ``label``'s units (largest households first)."""
    members = set(np.flatnonzero(labels == label).tolist())
    out: list[list[int]] = []
    while members:
        start = members.pop()
        comp = [start]
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in g.nbrs[u]:
                if v in members:
                    members.discard(v)
                    comp.append(v)
                    queue.append(v)
        out.append(sorted(comp))
    out.sort(key=lambda c: (-int(g.households[c].sum()), -len(c), c[0]))
    return out


def make_contiguous(g: Moves, labels: IntArray) -> IntArray:
    """Return labels where every grid keeps only its largest piece (others become -1)."""
    out = labels.copy()
    for lab in np.unique(labels[labels >= 0]).tolist():
        parts = pieces(g, labels, int(lab))
        for extra in parts[1:]:
            out[extra] = -1
    return out


def fill(g: Moves, labels: IntArray, *, hi: int) -> IntArray:
    """Return labels with unlabelled units joined to a neighbouring grid, nearest first.

    A unit joins the neighbouring grid that stays within ``hi`` with the fewest households
    (then the longest shared boundary). Units with no labelled unit in reach stay -1.
    """
    out = labels.copy()
    size = np.zeros(max(int(out.max()) + 1, 1), dtype=np.int64)
    np.add.at(size, out[out >= 0], g.households[out >= 0])
    pending = set(np.flatnonzero(out < 0).tolist())
    while pending:
        frontier = [u for u in sorted(pending) if any(out[v] >= 0 for v in g.nbrs[u])]
        if not frontier:
            break
        for u in sorted(frontier, key=lambda x: -int(g.households[x])):
            best: tuple[int, int, float] | None = None
            choice = -1
            for v, s in zip(g.nbrs[u], g.shared[u], strict=True):
                lab = int(out[v])
                if lab < 0:
                    continue
                after = int(size[lab] + g.households[u])
                key = (int(after > hi), after, -s)
                if best is None or key < best:
                    best, choice = key, lab
            out[u] = choice
            size[choice] += g.households[u]
            pending.discard(u)
    return out


def cut_units(g: Moves, labels: IntArray, lab: int) -> set[int]:
    """Return the units of grid ``lab`` whose removal disconnects or empties it.

    The articulation points of the grid's unit graph (Tarjan's low-link, iteratively),
    plus the unit of a one-unit grid.
    """
    members = np.flatnonzero(labels == lab).tolist()
    if len(members) <= 1:
        return set(members)
    inside = set(members)
    root = members[0]
    disc = {root: 0}
    low = {root: 0}
    out: set[int] = set()
    root_children = 0
    clock = 1
    stack: list[tuple[int, int, Iterator[int]]] = [(root, -1, iter(g.nbrs[root]))]
    while stack:
        u, parent, it = stack[-1]
        pushed = False
        for v in it:
            if v not in inside:
                continue
            if v not in disc:
                disc[v] = low[v] = clock
                clock += 1
                stack.append((v, u, iter(g.nbrs[v])))
                pushed = True
                break
            if v != parent:
                low[u] = min(low[u], disc[v])
        if pushed:
            continue
        stack.pop()
        if not stack:
            break
        p = stack[-1][0]
        low[p] = min(low[p], low[u])
        if p == root:
            root_children += 1
        elif low[u] >= disc[p]:
            out.add(p)
    if root_children > 1:
        out.add(root)
    return out


def _stays_connected(g: Moves, labels: IntArray, lab: int, unit: int) -> bool:
    same = sum(1 for v in g.nbrs[unit] if labels[v] == lab)
    if same == 1:
        return True  # a leaf of its grid: the rest stays connected
    members = set(np.flatnonzero(labels == lab).tolist())
    members.discard(unit)
    if not members:
        return False
    start = next(iter(members))
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in g.nbrs[u]:
            if v in members and v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(members)


@dataclass(frozen=True)
class _Chain:
    labels: IntArray
    delta: dict[int, int]
    moves: tuple[tuple[int, int, int], ...]
    moved: int
    shared: float


def _score(h: list[int], delta: dict[int, int], lo: int, hi: int) -> tuple[int, float]:
    """Return (grids out of band, households outside the band) over the touched grids."""
    count, total = 0, 0.0
    for grid, d in delta.items():
        x = h[grid] + d
        v = lo - x if x < lo else (x - hi if x > hi else 0)
        if v > 0:
            count += 1
            total += v
    return count, total


def _successors(
    g: Moves, c: _Chain, cur: int, *, shed: bool, frozen: NDArray[np.bool_]
) -> list[tuple[int, int, int, float]]:
    """Return candidate moves ``(unit, from, to, shared)`` from (shed) or into ``cur``."""
    out: dict[tuple[int, int], float] = {}
    labels = c.labels
    for u in np.flatnonzero(labels == cur).tolist():
        for v, s in zip(g.nbrs[u], g.shared[u], strict=True):
            other = int(labels[v])
            if other < 0 or other == cur or other in c.delta:
                continue
            unit = u if shed else v
            if frozen[unit] or g.households[unit] == 0:
                continue
            key = (unit, other)
            out[key] = out.get(key, 0.0) + s
    if shed:
        return [(u, cur, o, s) for (u, o), s in out.items()]
    return [(v, o, cur, s) for (v, o), s in out.items()]


def best_chain(
    g: Moves,
    labels: IntArray,
    grid: int,
    *,
    lo: int,
    hi: int,
    frozen: NDArray[np.bool_],
    budget: float = np.inf,
    strict: bool = FIX_ONLY,
    h: list[int] | None = None,
) -> _Chain | None:
    """Return the best improving ejection chain starting at out-of-band ``grid``, or None.

    ``strict``: only chains that leave fewer grids out of band; otherwise also chains that
    only lower the households outside the band. ``h``: households per grid, if known.
    """
    if h is None:
        k = int(labels.max()) + 1
        h = np.bincount(labels, weights=g.households, minlength=k).astype(np.int64).tolist()
    hh = g.households
    shed = h[grid] > hi
    beam: list[tuple[_Chain, int]] = [(_Chain(labels, {grid: 0}, (), 0, 0.0), grid)]
    best: _Chain | None = None
    best_key: tuple[int, float, int, float] | None = None
    cuts: dict[tuple[int, int], tuple[IntArray, set[int]]] = {}  # labels kept alive with id
    for _ in range(MAX_DEPTH):
        grown: list[tuple[tuple[int, float, int, float], _Chain, int, int]] = []
        for chain, cur in beam:
            for unit, src, dst, s in _successors(g, chain, cur, shed=shed, frozen=frozen):
                hu = int(hh[unit])
                if chain.moved + hu > budget:
                    continue
                delta = dict(chain.delta)
                delta[src] = delta.get(src, 0) - hu
                delta[dst] = delta.get(dst, 0) + hu
                key = (*_score(h, delta, lo, hi), chain.moved + hu, -(chain.shared + s))
                nxt = _Chain(
                    chain.labels,
                    delta,
                    (*chain.moves, (unit, src, dst)),
                    chain.moved + hu,
                    chain.shared + s,
                )
                grown.append((key, nxt, dst if shed else src, len(grown)))
        grown.sort(key=lambda x: (x[0], x[3]))
        beam = []
        for key, part, nxt_cur, _n in grown:
            unit, src, dst = part.moves[-1]
            ck = (id(part.labels), src)
            if ck not in cuts:
                cuts[ck] = (part.labels, cut_units(g, part.labels, src))
            if unit in cuts[ck][1]:
                continue
            labels2 = part.labels.copy()
            labels2[unit] = dst
            chain = _Chain(labels2, part.delta, part.moves, part.moved, part.shared)
            base = _score(h, {t: 0 for t in part.delta}, lo, hi)
            better = key[0] < base[0] if strict else key[:2] < base
            if better and (best_key is None or key < best_key):
                best, best_key = chain, key
            x = h[nxt_cur] + part.delta.get(nxt_cur, 0)
            if (shed and x > hi) or (not shed and x < lo):
                beam.append((chain, nxt_cur))
            if len(beam) >= BEAM:
                break
        if not beam:
            break
    return best


def balance(
    g: Moves,
    labels: IntArray,
    *,
    lo: int,
    hi: int,
    excused: NDArray[np.bool_] | None = None,
    frozen: NDArray[np.bool_] | None = None,
    budget: float = np.inf,
) -> tuple[IntArray, int]:
    """Return labels with out-of-band grids fixed by ejection chains, and households moved.

    Parameters
    ----------
    g
        The unit graph.
    labels
        Grid per unit (every unit labelled).
    lo, hi
        The band.
    excused
        Per grid: out of band for a proven reason (skipped as a start, may still take part).
    frozen
        Per unit: may not move.
    budget
        Most households the moves may move in all.
    """
    labels = labels.copy()
    k = int(labels.max()) + 1 if len(labels) else 0
    excused = np.zeros(k, dtype=bool) if excused is None else excused
    frozen = np.zeros(g.n, dtype=bool) if frozen is None else frozen
    moved = 0
    trial: tuple[IntArray, int, int] | None = None  # (labels, moved, out count) to return to
    failed: set[tuple[int, bool]] = set()  # (grid, strict) with no chain since last change
    for _ in range(6 * k + 10):
        h = np.bincount(labels, weights=g.households, minlength=k)
        v = violation(h, lo, hi)
        todo = [int(x) for x in np.argsort(-v, kind="stable") if v[x] > 0 and not excused[x]]
        count = int(np.sum(v > 0))
        h_list = h.astype(np.int64).tolist()
        if trial is not None and count < trial[2]:
            trial = None  # the lookahead paid off
        chain = None
        for strict in (True, False) if FIX_ONLY else (False,):
            for grid in todo:
                if (grid, strict) in failed:
                    continue
                chain = best_chain(
                    g,
                    labels,
                    grid,
                    lo=lo,
                    hi=hi,
                    frozen=frozen,
                    budget=budget - moved,
                    strict=strict,
                    h=h_list,
                )
                if chain is not None:
                    break
                failed.add((grid, strict))
            if chain is not None:
                if not strict and trial is None:
                    trial = (labels, moved, count)
                break
        if chain is None or (trial is not None and len(chain.moves) and _looped(trial, moved)):
            break
        labels = chain.labels
        moved += chain.moved
        if failed:
            near = _grids_near(g, labels, {m[1] for m in chain.moves} | {m[2] for m in chain.moves})
            failed = {f for f in failed if f[0] not in near}
    if trial is not None:  # reductions that fixed no grid are undone
        labels, moved = trial[0], trial[1]
    return labels, moved


def _grids_near(g: Moves, labels: IntArray, touched: set[int]) -> set[int]:
    """Return grids within MAX_DEPTH grid-steps of ``touched`` (whose chains may change)."""
    if len(g.edges) == 0:
        return set(range(int(labels.max()) + 1))
    a, b = labels[g.edges[:, 0]], labels[g.edges[:, 1]]
    cut = a != b
    adj: dict[int, set[int]] = {}
    for x, y in zip(a[cut].tolist(), b[cut].tolist(), strict=True):
        adj.setdefault(x, set()).add(y)
        adj.setdefault(y, set()).add(x)
    seen = set(touched)
    frontier = set(touched)
    for _ in range(MAX_DEPTH):
        frontier = {y for x in frontier for y in adj.get(x, ())} - seen
        seen |= frontier
    return seen


def _looped(trial: tuple[IntArray, int, int], moved: int) -> bool:
    """Return whether a lookahead of excess reductions went on too long (LOOKAHEAD moves)."""
    return moved - trial[1] > LOOKAHEAD_HOUSEHOLDS


def chain_moves(
    labels: NDArray[np.int64], prob: RegionProblem, *, lo: float, hi: float
) -> NDArray[np.int64]:
    """Return ``labels`` with regions still out of band fixed by ejection chains of moves.

    The engine of :mod:`gridgen.partition.moves` (shared with the rebalance of existing
    grids): an out-of-band region hands boundary units to, or pulls them from, its
    neighbours along chains of up to three moves; every region stays connected, and only
    chains that leave fewer regions out of band are taken.
    """
    h = np.bincount(labels, weights=prob.households)
    if np.all((h >= lo) & (h <= hi)):
        return labels
    shared = np.maximum(prob.cut_cost, 0.0)
    g = Moves.from_edges(prob.households, prob.edges, shared)
    out, _ = balance(g, labels, lo=math.ceil(lo), hi=math.floor(hi))
    return out
