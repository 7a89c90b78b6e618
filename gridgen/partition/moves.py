"""Minimal-change moves on a unit graph: fill, mend, and balance grids by boundary moves.

Pure arrays, no geometry: ``labels`` gives the grid of each unit (``-1``: none),
``households`` its households, ``nbrs[u]`` its neighbours and ``shared[u]`` the matching
shared boundary lengths (metres).

:func:`balance` brings grids into the band with as few households moved as it can find:
for each grid out of band it searches *ejection chains* (:mod:`gridgen.partition.chains`)
— an overfull grid hands a boundary unit (with whatever only it joins to its grid) to a
neighbour, which, if now overfull, hands one on, and so on (an underfull grid pulls units
the same way) — with a small beam over chains of up to :data:`~chains.MAX_DEPTH` moves
(then :data:`~chains.DEEP` for grids that shorter chains cannot fix), and takes the chain
that leaves the fewest grids out of band, then the least total distance outside the band,
then the fewest households moved, then the longest shared boundary (compact grids). Every
grid stays connected and non-empty.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gridgen.partition.chains import (
    DEEP,
    MAX_DEPTH,
    Chain,
    GridCuts,
    Memo,
    best_chain,
    connected_parts,
    score,
)
from gridgen.partition.objective import IntArray, RegionProblem

PHASES: tuple[tuple[bool, int], ...] = ((True, MAX_DEPTH), (True, DEEP), (False, MAX_DEPTH))
"""Searches tried in turn for a grid: (only chains that fix a grid, longest chain); the
last, mere reductions of the excess kept when a later chain fixes a grid (the partitioner's
:func:`chain_moves`)."""
FIX_PHASES = PHASES[:2]
"""The searches of a rebalance and merge-grids (:func:`balance`'s default): chains that fix a
grid only (filled city after a year of drift: without the reductions 10,807 households
changed instead of 11,124, the same 32 grids out of band; ``bench/rebalance.py``)."""
CHEAPEST = True
"""Default of :func:`balance`: of the grids out of band, take the chain that moves the fewest
households per grid it brings into the band (not the first grid's, largest excess first:
filled city 10,807 -> 10,459 households changed, the same grids out of band)."""
LOOKAHEAD_HOUSEHOLDS = 400
"""Most households moved by excess reductions that have not yet fixed a grid."""


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
    out = [sorted(part) for part in connected_parts(g.nbrs, members)]
    out.sort(key=lambda c: (-int(g.households[c].sum()), -len(c), c[0]))
    return out


def make_contiguous(g: Moves, labels: IntArray) -> IntArray:
    """Return labels where every grid is one piece of the unit graph.

    A piece of a grid cut off from its main piece (largest households) first tries to
    join it again across land without households of other grids (the shortest such path
    takes the grid's label, when no grid falls apart for it: a grid drawn as one polygon
    whose connecting open land is now labelled by area to a neighbour); pieces that
    cannot become -1.
    """
    out = labels.copy()
    for lab in np.unique(labels[labels >= 0]).tolist():
        parts = pieces(g, out, int(lab))
        if len(parts) < 2:
            continue
        main = set(parts[0])
        for extra in parts[1:]:
            if not _joined_across_open_land(g, out, int(lab), extra, main):
                out[extra] = -1
            else:
                main |= set(extra)
    return out


def _joined_across_open_land(
    g: Moves, labels: IntArray, lab: int, piece: list[int], main: set[int]
) -> bool:
    """Relabel (in place) the shortest path of units without households from ``piece`` to
    ``main`` to ``lab``; return whether it was found and taken."""
    start = set(piece)
    prev: dict[int, int] = {}
    queue = deque(start)
    seen = set(start)
    end = -1
    while queue and end < 0:
        u = queue.popleft()
        for v in g.nbrs[u]:
            if v in seen:
                continue
            if v in main:
                end = u
                break
            if g.households[v] == 0 and labels[v] != lab and labels[v] >= 0:
                seen.add(v)
                prev[v] = u
                queue.append(v)
    if end < 0:
        return False
    path = []
    while end not in start:
        path.append(end)
        end = prev[end]
    saved = labels[path].copy()
    labels[path] = lab
    for other in set(saved.tolist()):
        if len(pieces(g, labels, int(other))) > 1 or not (labels == other).any():
            labels[path] = saved
            return False
    return True


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


def balance(
    g: Moves,
    labels: IntArray,
    *,
    lo: int,
    hi: int,
    excused: NDArray[np.bool_] | None = None,
    frozen: NDArray[np.bool_] | None = None,
    budget: float = np.inf,
    phases: tuple[tuple[bool, int], ...] = FIX_PHASES,
    cheapest: bool = CHEAPEST,
    memo: Memo | None = None,
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
    phases
        The searches tried in turn (:data:`PHASES`; default :data:`FIX_PHASES`).
    cheapest
        Take, among the grids out of band, the chain that moves the fewest households
        (else the first grid's, largest excess first).
    memo
        Earlier searches on the graph ``g`` (:class:`gridgen.partition.chains.Memo`).
    """
    labels = labels.copy()
    k = int(labels.max()) + 1 if len(labels) else 0
    excused = np.zeros(k, dtype=bool) if excused is None else excused
    frozen = np.zeros(g.n, dtype=bool) if frozen is None else frozen
    moved = 0
    trial: tuple[IntArray, int, int] | None = None  # (labels, moved, out count) to return to
    failed: set[tuple[int, int]] = set()  # (grid, phase) with no chain since last change
    cuts: dict[int, GridCuts] = {}  # what each grid's units hold together, for ``labels``
    memo = Memo() if memo is None else memo  # searches repeat: same graph, same result
    for _ in range(6 * k + 10):
        h = np.bincount(labels, weights=g.households, minlength=k)
        v = violation(h, lo, hi)
        todo = [int(x) for x in np.argsort(-v, kind="stable") if v[x] > 0 and not excused[x]]
        count = int(np.sum(v > 0))
        h_list = h.astype(np.int64).tolist()
        if trial is not None and count < trial[2]:
            trial = None  # the lookahead paid off
        chain, strict = None, True
        for phase, (strict, depth) in enumerate(phases):
            found: list[Chain] = []
            for grid in todo:
                if (grid, phase) in failed:
                    continue
                one = best_chain(
                    g,
                    labels,
                    grid,
                    lo=lo,
                    hi=hi,
                    frozen=frozen,
                    budget=budget - moved,
                    strict=strict,
                    h=h_list,
                    depth=depth,
                    cuts=cuts,
                    memo=memo,
                )
                if one is None:
                    failed.add((grid, phase))
                    continue
                found.append(one)
                if not cheapest:
                    break
            if found:
                chain = min(found, key=lambda c: _cost(c, h_list, lo, hi)) if cheapest else found[0]
                break
        if chain is None:
            break
        if not strict and trial is None:
            trial = (labels, moved, count)
        if trial is not None and len(chain.moves) and _looped(trial, moved):
            break
        labels = chain.labels
        moved += chain.moved
        for m in chain.moves:
            cuts.pop(m[1], None)
            cuts.pop(m[2], None)
        if failed:
            near = _grids_near(g, labels, {m[1] for m in chain.moves} | {m[2] for m in chain.moves})
            failed = {f for f in failed if f[0] not in near}
    if trial is not None:  # reductions that fixed no grid are undone
        labels, moved = trial[0], trial[1]
    return labels, moved


def _cost(chain: Chain, h: list[int], lo: int, hi: int) -> float:
    """Return the households a chain moves per grid it brings into the band."""
    fixed = score(h, dict.fromkeys(chain.delta, 0), lo, hi)[0] - score(h, chain.delta, lo, hi)[0]
    return chain.moved / max(fixed, 1)


def _grids_near(g: Moves, labels: IntArray, touched: set[int]) -> set[int]:
    """Return grids within DEEP grid-steps of ``touched`` (whose chains may change)."""
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
    for _ in range(DEEP):
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
    out, _ = balance(g, labels, lo=math.ceil(lo), hi=math.floor(hi), phases=PHASES, cheapest=False)
    return out
